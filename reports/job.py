"""The one runner of every job (docs/pipeline.md) and the main job, ``ntkverify run``, on top of it.

:func:`run_entries` takes (property, subject) pairs and a *schedule* that runs them and yields each pair's
:class:`~ntkverify.reports.summary.Entry` once it is final. For each it writes a counterexample folder for a
failure or finding (``<folder>/counterexamples/``, replayable with ``ntkverify repro``), appends its record to
``results.jsonl`` (:func:`ntkverify.reports.store.append_jsonl`: locked, one write) and shows progress. The run's
schedule (:class:`EachOnce`) runs each pair once, here or on a Dask cluster; the nightly job's shares a time
budget (:mod:`ntkverify.reports.nightly`).

``ntkverify run`` (:func:`run_pairs`) runs the pairs of :func:`ntkverify.properties.runner.builtin_pairs` (or of
a user's kernel) under the Hypothesis profile in force and at the end writes ``summary.json``, ``summary.md``
and ``index.html`` (:mod:`ntkverify.reports.summary`). The exit status follows
:func:`ntkverify.reports.summary.exit_code`.

Nothing finished is lost: an interrupt (SIGINT, or SIGTERM under :func:`ntkverify.reports.exits.run_command`)
while the properties run writes a *partial* summary of those that finished (without plots), listing those that
did not, and is raised again; ``results.jsonl`` holds every finished property whatever happens after it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
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

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None, *, log=None):
        """``log``: a function taking each finished line instead of a stream (the nightly job's log)."""
        self.total, self.stream, self.done, self.log = total, stream or sys.stdout, 0, log
        self.tty = log is None and (self.stream.isatty() if tty is None else tty)
        self.start = time.perf_counter()

    def _write(self, text: str) -> None:
        if self.log is not None:
            self.log(text.rstrip("\n"))
            return
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


def label_of(prop, subject) -> str:
    return prop.name if subject is None else f"{prop.name}[{subject.name}]"


def collected(pair: tuple[Any, Any], outcome: Entry | Lost) -> Entry:
    """An executor's entry, or for a pair it lost an entry with status ``error`` and the reason."""
    if isinstance(outcome, Lost):
        return Entry(PropertyResult(*pair), error=f"lost by the executor: {outcome.reason}")
    return outcome


Pairs = Sequence[tuple[Any, Any]]
#: runs pairs and yields ``(index, entry)`` for each pair once its entry is final; ``begin(label)`` announces a pair
Schedule = Callable[[Pairs, Callable[[str], None]], Iterator[tuple[int, Entry]]]


@dataclass(frozen=True)
class PairTask:
    """:func:`run_entry` on a Dask worker (``docs/distributed.md``). The executor runs it under this process's
    Hypothesis profile and case sizes; under a derandomised profile each pair has its own fixed seed, so a
    worker finds exactly what this process would."""

    runner: Callable[..., PropertyResult] = run_property

    def __call__(self, pair: tuple[Any, Any]) -> Entry:
        return run_entry(*pair, runner=self.runner)


@dataclass(frozen=True)
class EachOnce:
    """The run's schedule: every pair once, in order, here or (with a distributed ``executor``) on its workers."""

    runner: Callable[..., PropertyResult] = run_property
    executor: Executor | None = None

    def __call__(self, pairs: Pairs, begin: Callable[[str], None]) -> Iterator[tuple[int, Entry]]:
        distributed = self.executor is not None and self.executor.distributed
        remote = iter(self.executor.map(PairTask(self.runner), pairs)) if distributed else None
        for index, pair in enumerate(pairs):
            check_interrupt()
            begin(label_of(*pair))
            yield index, run_entry(*pair, self.runner) if remote is None else collected(pair, next(remote))


class Interrupted(KeyboardInterrupt):
    """An interrupt while the pairs ran; ``finished`` holds the entries recorded before it, by pair index."""

    def __init__(self, finished: dict[int, Entry], why: str = ""):
        super().__init__(why)
        self.finished = finished


def run_entries(pairs: Pairs, schedule: Schedule, folder: Path, *, command: str, progress: Progress) -> list[Entry]:
    """Run ``pairs`` by ``schedule`` and write each entry as it becomes final (module docstring): its
    counterexample folder, then its line of ``results.jsonl``. Returns the entries in the order of ``pairs``;
    an interrupt raises :class:`Interrupted` with those written so far."""
    finished: dict[int, Entry] = {}
    import_all()  # the same Hypothesis local constants here and on any worker
    try:
        for index, entry in schedule(pairs, progress.begin):
            if entry.result.counterexample is not None and entry.report is None:
                entry.report = write_result_report(entry.result, folder / COUNTEREXAMPLES, found_by=command).path
            with interrupts_deferred():  # the record and the entry list agree, whenever an interrupt comes
                append_jsonl(folder / RESULTS, result_record(entry, folder))
                finished[index] = entry
            progress.end(entry)
    except KeyboardInterrupt as exc:
        raise Interrupted(finished, str(exc)) from None
    return [finished[i] for i in range(len(pairs))]


@dataclass
class RunOutcome:
    folder: Path
    entries: list[Entry]
    record: dict[str, Any]

    @property
    def exit_code(self) -> int:
        return self.record["exit_code"]


def run_pairs(
    pairs: Pairs,
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
    summary = dict(profile=profile, command=command)
    try:
        entries = run_entries(pairs, EachOnce(runner, executor), folder, command=command, progress=progress)
    except Interrupted as exc:
        entries = [exc.finished[i] for i in sorted(exc.finished)]
        not_run = [label_of(*pair) for i, pair in enumerate(pairs) if i not in exc.finished]
        elapsed = time.perf_counter() - progress.start
        write_summary(folder, entries, elapsed=elapsed, plots_enabled=False, not_run=not_run, **summary)
        raise KeyboardInterrupt(
            f"{exc or 'SIGINT'}; partial report of {len(entries)} finished property runs in {folder}"
        ) from None
    record = write_summary(
        folder, entries, elapsed=time.perf_counter() - progress.start, plots_enabled=plots, **summary
    )
    return RunOutcome(folder, entries, record)
