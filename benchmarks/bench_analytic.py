"""Analytic NTK: depth 3, d = 100, float64, CPU; ntkverify against a straightforward numpy recursion (the
textbook arccos recursion on full matrices of :mod:`ntkverify.properties.oracle`).

Run with ``tox -e bench`` (or ``pytest benchmarks/bench_analytic.py -p no:xdist --benchmark-only``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ntkverify.analytic import limiting_ntk
from ntkverify.properties.oracle import textbook_ntk


@pytest.fixture(params=[1000, 4000], ids=lambda n: f"N={n}")
def data(request):
    return np.random.default_rng(0).standard_normal((request.param, 100))


@pytest.mark.benchmark(group="analytic-ntk")
def test_ntkverify(benchmark, data):
    X = torch.from_numpy(data)
    benchmark.pedantic(limiting_ntk, args=(X, 3), kwargs={"device": "cpu"}, rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="analytic-ntk")
def test_numpy_reference(benchmark, data):
    benchmark.pedantic(textbook_ntk, args=(data, 3), rounds=3, warmup_rounds=1)


@pytest.mark.gpu
@pytest.mark.benchmark(group="analytic-ntk-gpu")
def test_ntkverify_cuda_20000(benchmark):
    X = torch.randn(20000, 100, dtype=torch.float64, device="cuda")

    def run():
        K = limiting_ntk(X, 3, device="cuda")
        torch.cuda.synchronize()
        return K

    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
