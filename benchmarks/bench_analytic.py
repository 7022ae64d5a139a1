"""Analytic NTK: depth 3, d = 100, float64, CPU; ntkverify against a straightforward numpy recursion.

Run with ``tox -e bench`` (or ``pytest benchmarks/bench_analytic.py -p no:xdist --benchmark-only``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ntkverify.analytic import limiting_ntk


def numpy_recursion(X: np.ndarray, depth: int) -> np.ndarray:
    """The textbook recursion of spec §4.1 with arccos angles on full matrices (no tiling, no symmetry)."""
    G = X @ X.T
    K = G.copy()
    for _ in range(2, depth + 1):
        g = np.sqrt(np.diag(G))
        outer = np.outer(g, g)
        theta = np.arccos(np.clip(G / outer, -1.0, 1.0))
        Gdot = (np.pi - theta) / np.pi
        G = outer * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        K = K * Gdot + G
    return K


@pytest.fixture(params=[1000, 4000], ids=lambda n: f"N={n}")
def data(request):
    return np.random.default_rng(0).standard_normal((request.param, 100))


@pytest.mark.benchmark(group="analytic-ntk")
def test_ntkverify(benchmark, data):
    X = torch.from_numpy(data)
    benchmark.pedantic(limiting_ntk, args=(X, 3), kwargs={"device": "cpu"}, rounds=5, warmup_rounds=1)


@pytest.mark.benchmark(group="analytic-ntk")
def test_numpy_reference(benchmark, data):
    benchmark.pedantic(numpy_recursion, args=(data, 3), rounds=3, warmup_rounds=1)


@pytest.mark.gpu
@pytest.mark.benchmark(group="analytic-ntk-gpu")
def test_ntkverify_cuda_20000(benchmark):
    X = torch.randn(20000, 100, dtype=torch.float64, device="cuda")

    def run():
        K = limiting_ntk(X, 3, device="cuda")
        torch.cuda.synchronize()
        return K

    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
