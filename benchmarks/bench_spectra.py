"""Cost of the certified-spectrum paths on the limiting NTK of the peer table's λ_min workload (sphere data,
d = 100, three hidden ReLU layers; :mod:`benchmarks.workloads`); each test records its peak memory in
``extra_info`` (:func:`benchmarks.measure.first_call`; a lower bound when an earlier test of the same process
left freed memory resident: the peer table measures each workload in a fresh process).

Run with ``pytest benchmarks/bench_spectra.py --benchmark-only -k "1000"`` (N = 4000 takes several seconds
per round on two cores; the shift-and-invert Lanczos path costs two Cholesky factorisations plus ~180
triangular solves).
"""

from __future__ import annotations

import pytest
import torch

from benchmarks import measure
from benchmarks import workloads as wl
from ntkverify import analytic, spectra


def _kernel(N: int) -> torch.Tensor:
    return analytic.limiting_ntk(torch.from_numpy(wl.sphere_data(N)), wl.DEPTH, device="cpu")


@pytest.mark.benchmark
@pytest.mark.parametrize("N", [1000, 4000])
@pytest.mark.parametrize("path", ["eigvalsh", "cholesky_certificate", "lanczos"])
def test_lambda_min_paths(benchmark, N, path):
    K = _kernel(N)
    run = {
        "eigvalsh": lambda: spectra.lambda_min(K, method="dense"),
        "cholesky_certificate": lambda: spectra.certify_lambda_min_ge(K, wl.THRESHOLD),
        "lanczos": lambda: spectra.lambda_min(K, method="iterative"),
    }[path]
    _, memory = measure.first_call(run)
    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["peak_rss_bytes"] = memory["workload_peak_bytes"]
