"""Seconds of one grid point of a λ_min study on one single-threaded worker: draw X (sphere law), the limiting
NTK (seed normalisation) and its certified λ_min, for growing N. The inputs of the cost model in
``docs/distributed.md#cost-model``.

    python benchmarks/point_times.py [--n 1000 2000 4000] [--d 100] [--depth 3] [--threads 1]

Each row is the minimum over ``--repeat`` runs of the wall time and of the CPU time of this process
(``time.process_time``); on a machine shared with other jobs the CPU time is the better estimate of what an
idle core would take.
"""

from __future__ import annotations

import argparse
import time

import torch

from ntkverify import analytic, spectra
from ntkverify.distributions import get_distribution


def point(n: int, d: int, depth: int, seed: int) -> tuple[float, float, float, float]:
    """(kernel wall, kernel CPU, λ_min wall, λ_min CPU) seconds of one point."""
    X = get_distribution("sphere").sample(n, d, torch.Generator().manual_seed(seed))
    w0, c0 = time.perf_counter(), time.process_time()
    K = analytic.limiting_ntk(X, depth)
    w1, c1 = time.perf_counter(), time.process_time()
    spectra.lambda_min(K)
    w2, c2 = time.perf_counter(), time.process_time()
    return w1 - w0, c1 - c0, w2 - w1, c2 - c1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"d={args.d}, depth={args.depth}, {args.threads} thread(s); seconds: min over {args.repeat} runs")
    print("N, kernel wall, kernel CPU, lambda_min wall, lambda_min CPU")
    for n in args.n:
        runs = [point(n, args.d, args.depth, seed) for seed in range(args.repeat)]
        print(n, *(f"{min(r[i] for r in runs):.3f}" for i in range(4)), sep=", ")


if __name__ == "__main__":
    main()
