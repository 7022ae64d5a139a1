"""Cost of the certified-spectrum paths on a limiting NTK (sphere data, d = 50, L = 3).

Run with ``pytest benchmarks/bench_spectra.py --benchmark-only -k "1000"`` (N = 4000 takes ~10 s per
round on two cores: about 0.5 s for the Cholesky certificate against 2.7 s for ``eigvalsh``; the
shift-and-invert Lanczos path costs two Cholesky factorisations plus ~180 triangular solves, ~2.4 s)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ntkverify import analytic, spectra


def _kernel(N: int) -> torch.Tensor:
    X = np.random.default_rng(0).standard_normal((N, 50))
    X *= math.sqrt(50) / np.linalg.norm(X, axis=1, keepdims=True)
    return analytic.limiting_ntk(torch.from_numpy(X), 3, device="cpu")


@pytest.mark.benchmark
@pytest.mark.parametrize("N", [1000, 4000])
@pytest.mark.parametrize("path", ["eigvalsh", "cholesky_certificate", "lanczos"])
def test_lambda_min_paths(benchmark, N, path):
    K = _kernel(N)
    run = {
        "eigvalsh": lambda: spectra.lambda_min(K, method="dense"),
        "cholesky_certificate": lambda: spectra.certify_lambda_min_ge(K, 1.0),
        "lanczos": lambda: spectra.lambda_min(K, method="iterative"),
    }[path]
    benchmark.pedantic(run, rounds=1, iterations=1)
