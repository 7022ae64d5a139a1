"""Empirical-NTK benchmarks (pytest-benchmark; not part of the default test run).

The network of the peer table (:mod:`benchmarks.workloads`): three hidden ReLU layers of width w, d = 100,
standard parameterisation with σ_w = 1 and σ_b = 0.1, float64, on the CPU:

* layer-wise Gram products against the torch.func Jacobian contraction at N = 256, w = 512 (the contraction
  stores N × P numbers, P ≈ 5.8·10⁵, ≈ 1.2 GB; at w = 2048, P ≈ 8.6·10⁶ and N = 1024 it would need ≈ 70 GB);
* the layer-wise path alone at N = 1024, w = 2048, with its peak resident memory, against a "roofline": the
  same number of floating-point operations done as one square matrix product.

Every test records its first call's peak RSS in ``extra_info`` (:func:`benchmarks.measure.first_call`; a lower
bound when an earlier test of the same process left freed memory resident).

Run: ``pytest benchmarks/bench_empirical.py --benchmark-only -s`` (the summary table is printed at the end).
"""

from __future__ import annotations

import math
import time

import pytest
import torch

from benchmarks import measure
from benchmarks import workloads as wl
from benchmarks.side_ntkverify import network
from ntkverify.empirical import agreement_tolerance, empirical_ntk

RESULTS: dict[str, float] = {}


def setup(n: int, width: int):
    model = network(wl.Workload("empirical", "fast", n, width))
    return model.architecture, model, torch.from_numpy(wl.gaussian_data(n))


def layerwise_flops(n: int, sizes: tuple[int, ...]) -> int:
    """Multiply–adds × 2 of the layer-wise path (one block): forward Σ_l N n_{l−1} n_l, backward
    Σ_{l≥2} N n_l n_{l−1} (B_{l−1} = B_l W_lᵀ), Gram products Σ_l N² (n_{l−1} + n_l) (F Fᵀ and B Bᵀ)."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    forward = sum(n * a * b for a, b in pairs)
    backward = sum(n * a * b for a, b in pairs[1:])
    gram = sum(n * n * (a + b) for a, b in pairs)
    return 2 * (forward + backward + gram)


@pytest.fixture(scope="module", autouse=True)
def summary():
    yield
    if not RESULTS:
        return
    rows = [f"| {k} | {v:.4g} |" for k, v in RESULTS.items()]
    print("\n| quantity | value |\n|---|---|\n" + "\n".join(rows))


@pytest.fixture(scope="module")
def small():
    return setup(256, 512)


def test_layerwise_n256_w512(benchmark, small):
    _, model, X = small
    _, memory = measure.first_call(lambda: empirical_ntk(model, X))
    benchmark.pedantic(empirical_ntk, args=(model, X, "layerwise"), rounds=5, iterations=1, warmup_rounds=1)
    RESULTS["layer-wise, N=256, w=512 (s, min)"] = benchmark.stats.stats.min
    benchmark.extra_info["peak_rss_bytes"] = memory["workload_peak_bytes"]


def test_jacobian_contraction_n256_w512(benchmark, small):
    arch, model, X = small
    _, memory = measure.first_call(lambda: empirical_ntk(model, X, "jacobian"))
    K = benchmark.pedantic(empirical_ntk, args=(model, X, "jacobian"), rounds=1, iterations=1)
    RESULTS["torch.func Jacobian contraction, N=256, w=512 (s)"] = benchmark.stats.stats.min
    benchmark.extra_info["peak_rss_bytes"] = memory["workload_peak_bytes"]
    reference = empirical_ntk(model, X, "layerwise")
    assert float((K - reference).abs().max()) <= agreement_tolerance(arch, ("layerwise", "jacobian"), (K, reference))
    if "layer-wise, N=256, w=512 (s, min)" in RESULTS:
        RESULTS["speed-up layer-wise vs contraction (target >= 50)"] = (
            benchmark.stats.stats.min / RESULTS["layer-wise, N=256, w=512 (s, min)"]
        )


def test_layerwise_n1024_w2048_and_roofline(benchmark):
    arch, model, X = setup(1024, 2048)
    flops = layerwise_flops(1024, arch.layer_sizes)
    _, memory = measure.first_call(lambda: empirical_ntk(model, X))
    peak = memory["workload_peak_bytes"]
    benchmark.pedantic(empirical_ntk, args=(model, X, "layerwise"), rounds=3, iterations=1, warmup_rounds=1)
    t = benchmark.stats.stats.min
    RESULTS["layer-wise, N=1024, w=2048 (s, min)"] = t
    RESULTS["  GFLOP counted (forward + backward + Gram)"] = flops / 1e9
    benchmark.extra_info["peak_rss_bytes"] = peak
    if peak is not None:
        RESULTS["  peak RSS above the model and data (MB)"] = peak / 1e6
    side = round((flops / 2) ** (1 / 3))
    A = torch.randn(side, side, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    B = torch.randn(side, side, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    A @ B
    times = []
    for _ in range(3):
        start = time.perf_counter()
        A @ B
        times.append(time.perf_counter() - start)
    matmul = min(times) * flops / (2 * side**3)
    RESULTS[f"  one {side}x{side} matmul, same flops (s, min of 3)"] = matmul
    RESULTS["  ratio layer-wise / matmul (target <= 1.5)"] = t / matmul
    RESULTS["  GFLOP/s layer-wise"] = flops / t / 1e9
    RESULTS["  N x N result (MB)"] = 1024 * 1024 * 8 / 1e6
    assert math.isfinite(t)
