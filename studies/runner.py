"""Running a study: its grid through a ``map``-like executor, each point cached by its content hash.

``executor(fn, points)`` must return the results of ``fn`` on ``points`` in order (the builtin ``map``, a
process pool's ``map``, a cluster client's map-and-gather). Each finished point is written to
``<output>/points/<key>.json`` as soon as it arrives, so an interrupted or repeated study reuses it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ntkverify.reports.executor import Lost
from ntkverify.reports.exits import EnvironmentFailure
from ntkverify.studies.core import Decision, Plan, Point, Record, Study, evaluate

Executor = Callable[[Callable, Iterable], Iterable]
POINTS = "points"


@dataclass(frozen=True)
class StudyRun:
    """A finished study: its records, decision, plot files, and how many points came from the cache."""

    study: Study
    plan: Plan
    records: list[Record]
    decision: Decision
    plots: list[str]
    cached: int
    seconds: float


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # absent or half-written by an interrupted run: measure again


def run_study(study: Study, plan: Plan, output: Path, executor: Executor = map) -> StudyRun:
    """Measure every point of ``study.grid(plan)`` not yet in ``output``'s cache, then decide and plot."""
    start = time.perf_counter()
    output = Path(output)
    cache = output / POINTS
    cache.mkdir(parents=True, exist_ok=True)
    points = study.grid(plan)
    identity = plan.kernel.identity() if plan.kernel is not None else None
    paths = {p: cache / f"{p.key(identity)}.json" for p in points}
    results = {p: _read(paths[p]) for p in points}
    todo: list[Point] = [p for p in points if results[p] is None]
    for p, result in zip(todo, executor(evaluate, todo)):
        if isinstance(result, Lost):  # the finished points are cached: a rerun measures only what was lost
            raise EnvironmentFailure(f"{study.name}: grid point {p.as_dict()} was lost: {result.reason}")
        paths[p].write_text(json.dumps({"point": p.as_dict(), "study": p.study, **result}))
        results[p] = result
    records = [Record(p, results[p]["values"]) for p in points]
    decision = study.decide(records, plan)
    plots = study.plot(records, decision, output)
    return StudyRun(study, plan, records, decision, plots, len(points) - len(todo), time.perf_counter() - start)
