"""Analytic NTK: d = 100, three hidden ReLU layers (L = 4), float64, CPU; ntkverify against a straightforward
numpy recursion (the textbook arccos recursion on full matrices of :mod:`ntkverify.properties.oracle`). The
workload of the peer table (:mod:`benchmarks.workloads`); each test also records its peak memory in
``extra_info`` (:func:`benchmarks.measure.first_call`; in one pytest process this is a lower bound when an
earlier test left freed memory resident: the peer table measures each workload in a fresh process).

Run with ``tox -e bench`` (or ``pytest benchmarks/bench_analytic.py -p no:xdist --benchmark-only``).
"""

from __future__ import annotations

import pytest
import torch

from benchmarks import measure
from benchmarks import workloads as wl
from ntkverify.analytic import limiting_ntk
from ntkverify.properties.oracle import textbook_ntk


@pytest.fixture(params=[1000, 4000], ids=lambda n: f"N={n}")
def data(request):
    return wl.gaussian_data(request.param)


@pytest.mark.benchmark(group="analytic-ntk")
def test_ntkverify(benchmark, data):
    X = torch.from_numpy(data)
    run = lambda: limiting_ntk(X, wl.DEPTH, device="cpu")  # noqa: E731
    _, memory = measure.first_call(run)
    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    benchmark.extra_info["peak_rss_bytes"] = memory["workload_peak_bytes"]


@pytest.mark.benchmark(group="analytic-ntk")
def test_numpy_reference(benchmark, data):
    run = lambda: textbook_ntk(data, wl.DEPTH)  # noqa: E731
    _, memory = measure.first_call(run)
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    benchmark.extra_info["peak_rss_bytes"] = memory["workload_peak_bytes"]


@pytest.mark.gpu
@pytest.mark.benchmark(group="analytic-ntk-gpu")
def test_ntkverify_cuda_20000(benchmark):
    X = torch.randn(20000, wl.D, dtype=torch.float64, device="cuda")

    def run():
        K = limiting_ntk(X, wl.DEPTH, device="cuda")
        torch.cuda.synchronize()
        return K

    torch.cuda.reset_peak_memory_stats()
    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    benchmark.extra_info["cuda_max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated()
