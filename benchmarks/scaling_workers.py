"""The pairs of ``ntkverify run`` on 1, 2, … local Dask workers: wall time of the pairs and CPU seconds used.

    python benchmarks/scaling_workers.py [--workers 1 2] [--property NAME ...] [--profile dev]

For each worker count it starts a ``LocalCluster`` (not timed), runs the selected pairs once to warm the
workers (imports, first torch calls; not timed), then times :meth:`Executor.map` over the pairs: the wall time,
the CPU seconds the workers used (``psutil``), and the speed-up over one worker. On a loaded machine the
speed-up is bounded by the CPU share the workers get: CPU seconds over wall seconds says how many cores they
had. Results in ``docs/distributed.md#measured``.
"""

from __future__ import annotations

import argparse
import time

from ntkverify.properties.core import select
from ntkverify.properties.runner import builtin_pairs
from ntkverify.reports.executor import open_executor
from ntkverify.reports.job import PairTask
from ntkverify.shell.profiles import load_profile


def _cpu_seconds() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system


def measure(workers: int, pairs) -> tuple[float, float]:
    """(wall seconds, worker CPU seconds) of one map of the pairs on ``workers`` local workers."""
    with open_executor(workers=workers) as executor:
        task = PairTask()
        executor.map(task, pairs)  # warm-up
        before = sum(executor.client.run(_cpu_seconds).values())
        start = time.perf_counter()
        executor.map(task, pairs)
        wall = time.perf_counter() - start
        cpu = sum(executor.client.run(_cpu_seconds).values()) - before
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--property", action="append")
    parser.add_argument("--profile", default="dev")
    args = parser.parse_args()
    load_profile(args.profile)
    pairs = builtin_pairs(select(args.property, None))
    print(f"{len(pairs)} pairs, profile {args.profile}")
    first = None
    for k in args.workers:
        wall, cpu = measure(k, pairs)
        first = first or wall
        print(
            f"{k} workers: {wall:7.1f} s wall, {cpu:7.1f} CPU s ({cpu / wall:.2f} cores busy), "
            f"speed-up {first / wall:.2f}x"
        )


if __name__ == "__main__":
    main()
