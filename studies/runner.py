"""Running studies: each grid through a ``map``-like executor, each point cached by its content hash.

``executor(fn, points)`` must return the results of ``fn`` on ``points`` in order (the builtin ``map``, a
process pool's ``map``, a cluster client's map-and-gather). Each finished point is written to
``<output>/points/<key>.json`` as soon as it arrives, so an interrupted or repeated study reuses it.

:func:`run_studies` is the one entry point for a set of studies (``ntkverify study`` and any other command
that runs them): it shares the budget, runs each study, writes the folder and returns the runs, whose
``decision.verdict`` and ``decision.controls_ok`` are the verdicts; :func:`exit_code` reads them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ntkverify.reports.executor import Lost
from ntkverify.reports.exits import EnvironmentFailure
from ntkverify.studies.core import Decision, KernelSpec, Plan, Point, Record, Study, evaluate, get_study

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


def run_studies(
    studies: Iterable[Study | str],
    output: Path,
    *,
    budget: float | None = None,
    device: str = "cpu",
    kernel: KernelSpec | None = None,
    executor: Executor = map,
    first_seed: int = 0,
    command: str = "",
    echo: Callable[[str], None] | None = None,
) -> list[StudyRun]:
    """Run ``studies`` (objects or names) into ``output`` and return their runs, in order.

    ``budget`` is the minutes for them together on 2 CPU cores (None: the sum of their defaults); each study's
    grid scales with budget / sum of the defaults. ``device`` is ``"cpu"`` or ``"cuda"`` (the grids grow to
    their device sizes); ``kernel`` a user's kernel; ``first_seed`` repeats the studies on fresh draws.
    Writes ``study.json`` (with ``command`` and the :func:`exit_code`), ``table.csv``, the plots and
    ``index.html``; ``echo`` receives one line per finished study. A lost grid point raises
    :class:`~ntkverify.reports.exits.EnvironmentFailure` after the finished points are cached."""
    from ntkverify.studies.output import write_html, write_json, write_table

    studies = [get_study(s) if isinstance(s, str) else s for s in studies]
    default = sum(s.default_minutes for s in studies)
    plan = Plan((budget or default) / default, device, kernel, first_seed)
    runs = []
    for study in studies:
        run = run_study(study, plan, output, executor=executor)
        if echo is not None:
            echo(summary(run))
        runs.append(run)
    write_json(output, runs, command, exit_code(runs))
    write_table(output, runs)
    write_html(output, runs, command)
    return runs


def summary(run: StudyRun) -> str:
    """One line: the verdict and its reason, the controls' verdicts, the points and the time."""
    d = run.decision
    controls = ", ".join(f"{c.name}: {c.verdict}" for c in d.controls)
    return (
        f"{run.study.name}: {d.verdict} ({d.reason}); controls {controls}; "
        f"{len(run.records)} points ({run.cached} cached) in {run.seconds:.1f} s"
    )


def exit_code(runs: Iterable[StudyRun]) -> int:
    """0 when every study is supported with every control rejected, else 1 (docs/studies.md#verdicts-and-exit-codes)."""
    return 0 if all(r.decision.verdict == "supported" and r.decision.controls_ok for r in runs) else 1
