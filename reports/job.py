"""The main job, ``ntkverify run``: every registered property on the built-in kernels, one report folder.

For each (property, subject) pair of :func:`ntkverify.properties.runner.builtin_pairs` it runs the property
under the Hypothesis profile in force, shows progress, writes a counterexample report for each failure or
finding (``<run>/counterexamples/``), appends the property's record to ``results.jsonl`` as soon as it has
finished, and at the end writes ``summary.json``, ``summary.md`` and ``index.html``
(:mod:`ntkverify.reports.summary`). The exit status follows :func:`ntkverify.reports.summary.exit_code`.

Nothing finished is lost: an interrupt (SIGINT, or SIGTERM under :func:`ntkverify.reports.exits.run_command`)
while the properties run writes a *partial* summary of those that finished (without plots), listing those that
did not, and is raised again; ``results.jsonl`` holds every finished property whatever happens after it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ntkverify.properties.runner import PropertyResult, run_property
from ntkverify.reports.counterexample import write_result_report
from ntkverify.reports.executor import Executor, Lost, import_all
from ntkverify.reports.exits import check_interrupt, interrupts_deferred
from ntkverify.reports.store import append_jsonl, new_run_folder
from ntkverify.reports.summary import Entry, result_record, write_summary

COUNTEREXAMPLES = "counterexamples"
RESULTS = "results.jsonl"


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:d}:{seconds:02d}"


class Progress:
    """Property-by-property progress: on a terminal one status line rewritten in place while a property runs
    and kept when it ends; elsewhere (CI logs, pipes) one plain line per finished property."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None):
        self.total, self.stream, self.done = total, stream or sys.stdout, 0
        self.tty = self.stream.isatty() if tty is None else tty
        self.start = time.perf_counter()

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def begin(self, label: str) -> None:
        if self.tty:
            elapsed = _clock(time.perf_counter() - self.start)
            self._write(f"\r\x1b[K[{self.done + 1}/{self.total}] {label} … (elapsed {elapsed})")

    def end(self, entry: Entry) -> None:
        self.done += 1
        r = entry.result
        rate = r.examples / r.elapsed if r.elapsed > 0 else 0.0
        width = len(str(self.total))
        line = (
            f"[{self.done:{width}d}/{self.total}] {entry.status:8s} {r.label:48s} {r.examples:5d} ex "
            f"{rate:8.1f} ex/s {r.elapsed:7.2f} s  elapsed {_clock(time.perf_counter() - self.start)}"
        )
        if entry.report is not None:
            line += f"\n      counterexample: {entry.report}"
        self._write(("\r\x1b[K" if self.tty else "") + line + "\n")


def run_entry(prop, subject, runner: Callable[..., PropertyResult] = run_property) -> Entry:
    """One pair's entry; a property that cannot run at all is reported (status ``error``) and fails the run."""
    try:
        return Entry(runner(prop, subject))
    except Exception as exc:
        return Entry.from_exception(PropertyResult(prop, subject), exc)


@dataclass(frozen=True)
class PairTask:
    """:func:`run_entry` on a Dask worker (``docs/distributed.md``). The executor runs it under this process's
    Hypothesis profile and case sizes; under a derandomised profile each pair has its own fixed seed, so a
    worker finds exactly what this process would."""

    runner: Callable[..., PropertyResult] = run_property

    def __call__(self, pair: tuple[Any, Any]) -> Entry:
        return run_entry(*pair, runner=self.runner)


@dataclass
class RunOutcome:
    folder: Path
    entries: list[Entry]
    record: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return self.record["exit_code"]


def run_pairs(
    pairs: list[tuple[Any, Any]],
    output: str | Path,
    *,
    profile: str,
    command: str,
    stream: TextIO | None = None,
    tty: bool | None = None,
    runner: Callable[..., PropertyResult] = run_property,
    plots: bool = True,
    executor: Executor | None = None,
) -> RunOutcome:
    """Run ``pairs`` and write ``output/run-<UTC time>/`` (the Hypothesis profile must already be loaded). With a
    distributed ``executor`` the pairs run on its workers and this process, once it has their results, writes
    every file; a pair the executor lost is an entry with status ``error`` and the reason."""
    folder = new_run_folder(Path(output), "run")
    progress = Progress(len(pairs), stream, tty)
    labels = [prop.name if subject is None else f"{prop.name}[{subject.name}]" for prop, subject in pairs]
    entries: list[Entry] = []
    summary = dict(profile=profile, command=command)
    import_all()  # the same Hypothesis local constants here and on any worker
    try:
        remote = iter(executor.map(PairTask(runner), pairs)) if executor and executor.distributed else None
        for (prop, subject), label in zip(pairs, labels):
            check_interrupt()
            progress.begin(label)
            entry = run_entry(prop, subject, runner) if remote is None else next(remote)
            if isinstance(entry, Lost):
                entry = Entry(PropertyResult(prop, subject), error=f"lost by the executor: {entry.reason}")
            if entry.result.counterexample is not None:
                written = write_result_report(entry.result, folder / COUNTEREXAMPLES, found_by=command)
                entry.report = written.path
            with interrupts_deferred():  # the record and the entry list agree, whenever an interrupt comes
                append_jsonl(folder / RESULTS, result_record(entry, folder))
                entries.append(entry)
            progress.end(entry)
    except KeyboardInterrupt as exc:
        not_run = labels[len(entries) :]
        elapsed = time.perf_counter() - progress.start
        write_summary(folder, entries, elapsed=elapsed, plots_enabled=False, not_run=not_run, **summary)
        raise KeyboardInterrupt(
            f"{exc or 'SIGINT'}; partial report of {len(entries)} finished property runs in {folder}"
        ) from None
    record = write_summary(
        folder, entries, elapsed=time.perf_counter() - progress.start, plots_enabled=plots, **summary
    )
    return RunOutcome(folder, entries, record)
