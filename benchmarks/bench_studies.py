"""Study throughput: grid points per minute through :func:`ntkverify.studies.evaluate`, one CPU thread per point.

* analytic path: the points of ``lambda-min-scaling`` at the default budget's sizes (the limiting NTK and its
  eigendecomposition, N = 128 … 1024 here; a point costs O(N³), so N = 4096 is 64 times an N = 1024 point);
* empirical path: the points of ``convergence-rate`` (a network's normalised empirical NTK at widths 128 … 1024).

Run: ``pytest benchmarks/bench_studies.py --benchmark-only -s`` (points per minute are printed and stored in
``extra_info``).
"""

from __future__ import annotations

import pytest

from ntkverify.studies import Plan, evaluate, get_study

MAX = {"lambda-min-scaling": ("N", 1024), "convergence-rate": ("m", 1024)}


def _points(name: str):
    key, top = MAX[name]
    return [p for p in get_study(name).grid(Plan()) if p[key] <= top and p.arm == "main"][::4]


@pytest.mark.benchmark
@pytest.mark.parametrize("name", sorted(MAX))
def test_study_throughput(benchmark, name):
    points = _points(name)
    benchmark.pedantic(lambda: [evaluate(p) for p in points], rounds=1, iterations=1)
    rate = 60 * len(points) / benchmark.stats.stats.min
    benchmark.extra_info["points_per_minute"] = rate
    print(f"\n{name}: {len(points)} points, {rate:.0f} points per minute")
