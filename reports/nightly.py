"""The nightly job: the suite under the ``nightly`` profile, within a time budget, compared with the last night.

``ntkverify nightly`` (:func:`main`) runs every selected (property, kernel) pair of the built-in suite — or, with
``--kernel MODULE:CALLABLE`` and its claim flags (:mod:`ntkverify.reports.users_kernel`), of a user's kernel —
under the ``nightly`` Hypothesis profile (random exploration, many examples; the device is the policy's,
:mod:`ntkverify.device`), with a persistent example database so that every stored failure is replayed first
on the next night, then the selected studies (each one result record of kind ``STUDY``, its verdict as its
status; they are selected and run by :mod:`ntkverify.studies.night`, the floor above, which the command line
passes to :func:`main`), then the pytest-benchmark benchmarks. The pairs run through the one runner of every job
(:func:`ntkverify.reports.job.run_entries`, docs/pipeline.md) with this module's scheduler
(:class:`TimeSlices`): every failure writes a counterexample folder under ``OUTPUT/counterexamples/`` that
``ntkverify repro`` replays, and every finished pair a line of ``OUTPUT/results.jsonl``. The night is compared
with a baseline (a previous ``nightly.json``, rules in :mod:`ntkverify.reports.nightly_compare`), written as
``nightly.json``, ``nightly.md``, ``nightly.junit.xml`` and ``nightly.html`` (:mod:`ntkverify.reports.nightly_output`,
with the result records and renderers of :mod:`ntkverify.reports.summary`), appended to ``history.jsonl``,
and the command exits under the contract of :mod:`ntkverify.reports.exits`: 1 on any regression, 0
otherwise, 2 on a usage or input error, 3 on an environment failure or an interrupt.

Inputs and outputs are checked before the budget is spent (:func:`prepare`): numbers finite and in range, the
baseline readable and valid against ``nightly.schema.json``, the output folder, the history, the example
database and (with ``--promote``) the baseline writable, the state not in use by another night (a lock in the
output folder). Malformed history lines are skipped and listed in the night's notes.

Promotion merges: a night that ran a selection (``--property``, ``--kind``) replaces the baseline's entries of
what it ran and keeps the others (:func:`promoted_document`), so a filtered night never shrinks the baseline.

An interrupt (SIGINT, or SIGTERM under :func:`ntkverify.reports.exits.run_command`) while the pairs run writes
a *partial* night (``"partial": true``) of the pairs that finished: its files, never the history or the baseline.

Database keys: the runner gives every (property, kernel) pair its own namespace in the example database
(:class:`ntkverify.properties.runner.NamespacedDatabase`), so a stored failure is replayed first by its own
pair on the next night.

Time budget. Hypothesis cannot be interrupted between examples, so a search runs in rounds, each an independent
random search whose records are merged. Coverage comes first: every pair runs a short probe round
(:data:`PROBE_EXAMPLES`; PROB properties run their fixed number of trials, times the budget's ``trial_factor``,
in one go), which measures its seconds per example. Then the time left is shared by the pairs still
searching: each gets the time left over the number of pairs left (so time a fast pair leaves unused goes to the
ones after it), in rounds sized from the measured seconds per example with a :data:`SAFETY` factor and growing
at most :data:`ROUND_GROWTH`-fold, so that a slow tail is re-measured early. The studies get
:data:`STUDY_SHARE` of the budget and what the pairs left, the benchmarks :data:`BENCH_SHARE`. Pairs and
studies the budget did not reach, and benchmarks that did not finish in their share, are listed as not reached.

On a Dask cluster (``--workers N`` or ``--scheduler ADDRESS``, :mod:`ntkverify.reports.executor`) each pair is
one task with its slice of the budget (:class:`NightSlice`); the example database may then be shared through
Redis (``--db redis://HOST:PORT/N``, :mod:`ntkverify.reports.database`). This process still writes every file.

Sizes: the ``nightly`` profile's budget (``ntkverify.shell.profiles.BUDGETS``) affords larger cases than CI (n in the
thousands, d up to 1024, depth up to 6; ``docs/search.md``), so a night explores larger cases as well as more.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import settings as Settings
from hypothesis.database import ExampleDatabase

from ntkverify.properties.core import Kind, Property
from ntkverify.properties.runner import PropertyResult, run_property
from ntkverify.reports import database as databases
from ntkverify.reports import executor as executors
from ntkverify.reports import nightly_output, users_kernel
from ntkverify.reports.counterexample import environment, subject_record
from ntkverify.reports.exits import (
    HELP,
    EnvironmentFailure,
    InputError,
    check_interrupt,
    checked_device,
    run_command,
    writable_file,
    writable_folder,
)
from ntkverify.reports.job import RESULTS, Interrupted, Progress, collected, label_of, run_entries
from ntkverify.reports.nightly_compare import BENCH_THRESHOLD, MARGIN_DROP, compare, in_selection
from ntkverify.reports.schema import read_document
from ntkverify.reports.store import dumps, write_text_atomic
from ntkverify.reports.summary import ATTENTION, Entry, entry_images, result_record

SCHEMA = "ntkverify-nightly"
SCHEMA_VERSION = 2  # 2: properties are the result records of every job (summary.result_record); reads 1
PROBE_EXAMPLES = 5  # first round of a budgeted search: enough examples to measure the seconds per example
ROUND_GROWTH = 4  # a round runs at most this many times the examples run so far
SAFETY = 1.5  # rounds are sized for SAFETY x the measured seconds per example (later examples are larger)
BENCH_SHARE = 0.2  # share of --time-budget given to the benchmarks when they run
STUDY_SHARE = 0.3  # share of --time-budget given to the studies when they run (with the time the pairs left)

Log = Callable[[str], None]


def examples_for_round(done: int, target: int, seconds: float, left: float) -> int:
    """Examples of the next round of a budgeted search (module docstring): the measured seconds per example
    (``seconds`` over ``done``), times :data:`SAFETY`, must fit in ``left`` seconds; at most ``target - done``
    and :data:`ROUND_GROWTH` x ``done``. ``done == 0`` gives the probe round."""
    if done == 0:
        return min(PROBE_EXAMPLES, target)
    per_example = max(seconds, 1e-9) / done
    fit = int(left / (SAFETY * per_example)) if left > 0 else 0
    return max(0, min(target - done, ROUND_GROWTH * done, fit))


def _add_round(entry: Entry, result: PropertyResult) -> None:
    entry.result.add_round(result)
    entry.rounds += 1


def _advance(
    entry: Entry,
    *,
    base: Settings,
    database: ExampleDatabase | None,
    target: int,
    deadline: float | None,
    max_rounds: int | None = None,
) -> bool:
    """Run more rounds of a pair: until ``target`` examples, ``deadline`` (``time.perf_counter()``; ``None``:
    one round of ``target`` examples), a failure, an exhausted strategy or ``max_rounds``. PROB pairs run
    their trials once. An exception that is not a verdict (a bug in a property, a Hypothesis health error) is
    recorded as status ``error``. Returns whether the pair is done (no further round would help)."""
    prop, subject = entry.result.property, entry.result.subject
    rounds = 0
    check_interrupt()
    try:
        if prop.kind is Kind.PROB:
            _add_round(entry, run_property(prop, subject, settings=base))
            return True
        while max_rounds is None or rounds < max_rounds:
            check_interrupt()
            left = math.inf if deadline is None else deadline - time.perf_counter()
            done = entry.result.examples
            n = target if deadline is None else examples_for_round(done, target, entry.result.elapsed, left)
            if n < 1:
                return False
            _add_round(entry, run_property(prop, subject, settings=Settings(base, max_examples=n, database=database)))
            rounds += 1
            # done after a failure (or skip), at the target, or when Hypothesis ran short of the examples asked
            # (it exhausted the strategy's cases: more rounds would repeat them)
            if entry.status != "passed" or entry.result.examples >= target or entry.result.examples - done < n:
                return True
    except Exception as exc:  # noqa: BLE001 — one broken property must not end the night
        entry.error = Entry.from_exception(entry.result, exc).error
        return True
    return False


def _unreached(pair: tuple[Property, Any]) -> Entry:
    return Entry(PropertyResult(*pair), rounds=0)


@dataclass(frozen=True)
class NightSlice:
    """One pair's share of a night, run on a Dask worker (``docs/distributed.md#nights``).

    Without a budget (``ends_at`` None) the pair runs its ``target`` examples in one round. With one, the pair
    that starts ``index``-th of ``pairs`` gets the time left until ``ends_at`` (wall clock, ``time.time()``,
    so clocks of the machines must agree) times ``workers`` over the pairs not yet started, capped at the time
    left: the in-process rule of the time left over the pairs left, with ``workers`` pairs running at once.
    Within its share it runs a probe round then search rounds (:func:`_advance`). A pair that starts after
    ``ends_at`` is not reached."""

    base: Settings
    database: ExampleDatabase | None
    target: int
    pairs: int
    workers: int
    ends_at: float | None = None

    def __call__(self, item: tuple[int, tuple[Property, Any]]) -> Entry:
        index, pair = item
        entry = _unreached(pair)
        run = dict(base=self.base, database=self.database, target=self.target)
        if self.ends_at is None:
            _advance(entry, deadline=None, **run)
            return entry
        share = self.share(index, self.ends_at - time.time())
        if share > 0:
            _advance(entry, deadline=time.perf_counter() + share, **run)
        return entry

    def share(self, index: int, left: float) -> float:
        """Seconds for the ``index``-th pair when ``left`` seconds of the night are left (0: not reached)."""
        return max(0.0, min(left, left * self.workers / (self.pairs - index)))


@dataclass
class TimeSlices:
    """The night's schedule for :func:`ntkverify.reports.job.run_entries` (module docstring): without a budget
    each pair runs ``target`` examples in one round; with one, coverage comes first — every pair runs a probe
    round (PROB pairs: their trials) in order — then the time left is shared by the pairs still searching, each
    getting the time left over the number of pairs left. Pairs the budget did not reach are entries with no
    round (status ``not-reached``). With a distributed ``executor`` each pair is one :class:`NightSlice` on its
    workers. ``entries`` holds every pair's entry, finished or not (an interrupted night writes them)."""

    base: Settings
    database: ExampleDatabase | None
    target: int
    budget_s: float | None = None
    executor: executors.Executor | None = None
    log: Log = print
    entries: list[Entry] = field(default_factory=list)

    def __call__(self, pairs, begin: Callable[[str], None]) -> Iterator[tuple[int, Entry]]:
        self.entries = [_unreached(pair) for pair in pairs]
        run = dict(base=self.base, database=self.database, target=self.target)
        if self.executor is not None and self.executor.distributed:
            ends_at = None if self.budget_s is None else time.time() + self.budget_s
            task = NightSlice(self.base, self.database, self.target, len(pairs), self.executor.workers, ends_at)
            for i, outcome in enumerate(self.executor.map(task, enumerate(pairs))):
                self.entries[i] = collected(pairs[i], outcome)
                yield i, self.entries[i]
            return
        if self.budget_s is None:
            for i, entry in enumerate(self.entries):
                begin(entry.label)
                _advance(entry, deadline=None, **run)
                yield i, entry
            return
        deadline, searching, final = time.perf_counter() + self.budget_s, [], set()
        for i, entry in enumerate(self.entries):
            if time.perf_counter() >= deadline:
                self.log(f"budget spent: {len(self.entries) - i} pairs not reached")
                break
            begin(entry.label)
            if _advance(entry, deadline=deadline, max_rounds=1, **run):
                final.add(i)
                yield i, entry
            else:
                searching.append(i)
        for k, i in enumerate(searching):
            now = time.perf_counter()
            if now < deadline:
                begin(self.entries[i].label)
                _advance(self.entries[i], deadline=now + (deadline - now) / (len(searching) - k), **run)
            final.add(i)
            yield i, self.entries[i]
        for i, entry in enumerate(self.entries):
            if i not in final:
                yield i, entry


def search(
    pairs: Sequence[tuple[Property, Any]],
    folder: Path,
    *,
    base: Settings,
    database: ExampleDatabase | None,
    budget_s: float | None = None,
    max_examples: int | None = None,
    log: Log = print,
    executor: executors.Executor | None = None,
    command: str = "ntkverify nightly",
) -> list[Entry]:
    """Every pair, sharing ``budget_s`` seconds fairly (:class:`TimeSlices`; without a budget each pair runs its
    ``max_examples``, default the profile's), through the one runner: each failure's counterexample folder
    under ``folder/counterexamples``, each entry's line in ``folder/results.jsonl``. An interrupt raises
    :class:`NightInterrupted` with every pair's entry as far as it got."""
    schedule = TimeSlices(base, database, max_examples or base.max_examples, budget_s, executor, log)
    try:
        return run_entries(pairs, schedule, Path(folder), command=command, progress=Progress(len(pairs), log=log))
    except Interrupted as exc:
        raise NightInterrupted(schedule.entries or [_unreached(pair) for pair in pairs], str(exc)) from None


class NightInterrupted(KeyboardInterrupt):
    """An interrupt while the pairs ran; ``entries`` holds every pair's entry as far as it got."""

    def __init__(self, entries: list[Entry], why: str = ""):
        super().__init__(why)
        self.entries = entries


# ---------------------------------------------------------------------------------------------------------
# Benchmarks


@dataclass(frozen=True)
class BenchmarkOptions:
    """pytest-benchmark run: the benchmark files or folders, a ``-k`` expression, the JSON it writes."""

    paths: tuple[str, ...] = ("benchmarks",)
    keyword: str | None = None


def run_benchmarks(options: BenchmarkOptions, json_path: Path, timeout_s: float | None) -> dict[str, Any]:
    """Run pytest-benchmark in a subprocess (``--benchmark-only --benchmark-json``, no xdist, which would
    distort timings) and return the ``benchmarks`` section of ``nightly.json``: status (``ran``, ``failed``,
    ``not-reached``, ``missing``), the ``-k`` filter, the machine and each benchmark's min/median/mean/rounds."""
    section: dict[str, Any] = {"status": "missing", "filter": options.keyword, "machine": None, "results": []}
    missing = [p for p in options.paths if not Path(p).exists()]
    if missing:
        section["error"] = f"benchmark paths not found: {missing}"
        return section
    if timeout_s is not None and timeout_s <= 0:
        section["status"] = "not-reached"
        return section
    # folders are expanded to their bench_*.py files: pytest collects only test_*.py from a folder
    files = [str(f) for p in map(Path, options.paths) for f in (sorted(p.glob("bench_*.py")) if p.is_dir() else [p])]
    cmd = [sys.executable, "-m", "pytest", *files, "-p", "no:xdist", "-p", "no:cacheprovider"]
    cmd += ["--benchmark-only", f"--benchmark-json={json_path}", "-q", "--no-header"]
    if options.keyword:
        cmd += ["-k", options.keyword]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=_bench_environment())
    except subprocess.TimeoutExpired:
        section["status"], section["error"] = "not-reached", f"timed out after {timeout_s:.0f} s"
        return section
    # pytest exit code 5: the filter selected nothing — not a failure of the benchmarks
    if proc.returncode not in (0, 5) or (proc.returncode == 0 and not json_path.exists()):
        section["status"] = "failed"
        section["error"] = (proc.stdout[-2000:] + proc.stderr[-2000:]).strip()
        return section
    section["status"] = "ran"
    if proc.returncode == 5:
        section["error"] = "no benchmark matched the filter"
        return section
    data = json.loads(json_path.read_text())
    return {**section, **benchmark_section(data)}


def _bench_environment() -> dict[str, str]:
    """This process' environment without the variables of a pytest-xdist worker, which would make pytest-benchmark
    believe it runs under xdist and refuse to time anything (when the job itself runs inside a test)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST_", "PYTEST_CURRENT_TEST"))}


def benchmark_section(data: dict[str, Any]) -> dict[str, Any]:
    """The machine and per-benchmark statistics (seconds) of a pytest-benchmark JSON document."""
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {}) if isinstance(info.get("cpu"), dict) else {}
    machine = f"{cpu.get('brand_raw', '?')} / {info.get('machine', '?')} / {info.get('system', '?')}"
    results = [
        {
            "name": b["name"],
            "fullname": b["fullname"],
            "group": b.get("group"),
            "min": b["stats"]["min"],
            "median": b["stats"]["median"],
            "mean": b["stats"]["mean"],
            "rounds": b["stats"]["rounds"],
        }
        for b in data.get("benchmarks", [])
    ]
    return {"machine": machine, "results": results}


# ---------------------------------------------------------------------------------------------------------
# The night


@dataclass
class NightConfig:
    """Where a night writes and what it compares with (see :func:`main` for the command-line defaults)."""

    output: Path
    db: Path | str | None  # a folder, or a redis:// URL (ntkverify.reports.database)
    history: Path
    baseline: Path | None = None
    promote: bool = False
    budget_s: float | None = None
    max_examples: int | None = None
    benchmarks: BenchmarkOptions | None = None
    selection: dict[str, Any] = field(default_factory=lambda: {"properties": None, "kinds": None})
    margin_drop: float = MARGIN_DROP
    bench_threshold: float = BENCH_THRESHOLD
    kernel: Any = None  # a user's kernel subject (--kernel): recorded in the document, null for the built-ins
    #: the night's studies (``ntkverify.studies.night.NightStudies``: called with the output folder, the seconds
    #: they may take, the log and the executor, it returns their result records); None runs none
    studies: Any = None


@dataclass
class Night:
    document: dict[str, Any]
    files: dict[str, Path]
    promoted: bool

    @property
    def regressed(self) -> bool:
        return bool(self.document["comparison"]["regressions"])

    @property
    def exit_code(self) -> int:
        return 1 if self.regressed else 0


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _record_v1(p: dict[str, Any]) -> dict[str, Any]:
    """A version-1 property entry as a result record: what it did not keep (statement, margin statistics, the
    tightest verdict, the judgement's numbers) is empty; its text of what happened becomes ``detail``."""
    status, error = p["status"], p["error"]
    return {
        **{k: p[k] for k in ("label", "property", "subject", "kind", "citation", "status", "examples", "failures")},
        "statement": "",
        "tightest_margin": p["tightest_margin"],
        "margins": {"count": 0, "min": None, "p05": None, "median": None, "max": None},
        "tightest": None if p["tightest_case"] is None else {"case": p["tightest_case"], "verdict": None},
        "judgement": None,
        "elapsed_s": p["elapsed_s"],
        "skipped": error if status == "skipped" else None,
        "error": error if status == "error" else None,
        "report": None,
        "rounds": p["rounds"],
        "detail": p["counterexample"] or p["judgement"] or error,
    }


def upgrade_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """A version-1 ``nightly.json`` (baselines written before the one pipeline) as version 2."""
    return {**doc, "schema_version": SCHEMA_VERSION, "properties": [_record_v1(p) for p in doc["properties"]]}


def load_document(path: Path) -> dict[str, Any]:
    """A ``nightly.json`` document (version 2, or 1 through :func:`upgrade_v1`), checked to be JSON following
    ``nightly.schema.json`` (:class:`~ntkverify.reports.exits.InputError` naming the first problem otherwise)."""
    return read_document(
        path, "nightly", schema=SCHEMA, version=SCHEMA_VERSION, what=f"baseline {path}", upgrades={1: upgrade_v1}
    )


@dataclass
class Prepared:
    """What :func:`prepare` checked and read: the baseline (None if absent), notes, the state lock."""

    baseline: dict[str, Any] | None
    notes: list[str]
    lock: int

    def release(self) -> None:
        os.close(self.lock)


def _lock_state(output: Path) -> int:
    """An exclusive lock on ``output/.nightly.lock`` held for the night (released when its descriptor closes,
    also when the process dies); a second night on the same state fails at once."""
    fd = os.open(output / ".nightly.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        lock = output / ".nightly.lock"
        raise EnvironmentFailure(f"another night is running on {output} (it holds {lock})") from None
    return fd


def prepare(config: NightConfig) -> Prepared:
    """Check every input and output of a night before any budget is spent (module docstring); the state lock
    is taken last, so that a night refused for its inputs leaves nothing behind but the folders it checked."""
    if config.budget_s is not None and not (math.isfinite(config.budget_s) and config.budget_s > 0):
        raise InputError(f"--time-budget must be a finite number > 0, got {config.budget_s / 60:g} minutes")
    if config.max_examples is not None and config.max_examples < 1:
        raise InputError(f"--max-examples must be >= 1, got {config.max_examples}")
    if not (math.isfinite(config.margin_drop) and 0 < config.margin_drop <= 1):
        raise InputError(f"--margin-drop must be in (0, 1], got {config.margin_drop}")
    if not (math.isfinite(config.bench_threshold) and config.bench_threshold > 0):
        raise InputError(f"--bench-threshold must be a finite number > 0, got {config.bench_threshold}")
    baseline, notes = None, []
    if config.baseline is not None:
        if config.baseline.is_dir():
            raise InputError(f"baseline {config.baseline} is a folder, expected a nightly.json file")
        if config.baseline.exists():
            baseline = load_document(config.baseline)
        else:
            notes.append(f"baseline {config.baseline} does not exist yet (first night)")
        if config.promote:
            writable_file(config.baseline, "baseline")
    writable_folder(config.output, "output folder")
    writable_file(config.history, "history")
    _, skipped = nightly_output.scan_history(config.history)
    if skipped:
        notes.append(nightly_output.skipped_note(config.history, skipped))
    if config.db is not None and not databases.is_redis(config.db):
        writable_folder(config.db, "example database")
    if config.benchmarks is not None:
        missing = [p for p in config.benchmarks.paths if not Path(p).exists()]
        if missing and config.benchmarks.paths != BenchmarkOptions().paths:
            raise InputError(f"benchmark paths not found: {missing}")
    return Prepared(baseline, notes, _lock_state(config.output))


def promoted_document(baseline: dict[str, Any] | None, document: dict[str, Any]) -> dict[str, Any]:
    """The new baseline after ``document`` is promoted: the night itself, or — when it ran a selection — the
    baseline with the entries of what it ran replaced, those outside its selection kept, and benchmark results
    merged by name when both nights ran on the same machine."""
    selection = document["selection"]
    if baseline is None or not (selection.get("properties") or selection.get("kinds")):
        return document
    ran = {p["label"] for p in document["properties"]}
    kept = [
        p
        for p in baseline["properties"]
        if p["label"] not in ran and not in_selection(p["property"], p["kind"], selection)
    ]
    merged = {**document, "selection": baseline["selection"], "properties": kept + document["properties"]}
    old_b, new_b = baseline["benchmarks"], document["benchmarks"]
    if not new_b["results"]:
        merged["benchmarks"] = old_b
    elif old_b["results"] and old_b["machine"] == new_b["machine"]:
        by_name = {b["fullname"]: b for b in old_b["results"]} | {b["fullname"]: b for b in new_b["results"]}
        merged["benchmarks"] = {**new_b, "filter": old_b["filter"], "results": list(by_name.values())}
    return merged


def run_night(
    pairs: Sequence[tuple[Property, Any]],
    config: NightConfig,
    *,
    base: Settings,
    log: Log = print,
    executor: executors.Executor | None = None,
) -> Night:
    """Check the inputs, run the pairs (on ``executor``'s workers if it is distributed) and the benchmarks (here),
    compare with the baseline, write every output; module docstring. A Redis ``config.db`` that cannot be reached
    raises :class:`ntkverify.reports.database.DatabaseError` before any pair runs."""
    prepared = prepare(config)
    try:
        return _night(pairs, config, prepared, base=base, log=log, executor=executor)
    finally:
        prepared.release()


def _night(pairs, config: NightConfig, prepared: Prepared, *, base: Settings, log: Log, executor) -> Night:
    started, t0 = _now(), time.perf_counter()
    database = None if config.db is None else databases.open_database(config.db)
    bench_s = 0.0 if config.budget_s is None or config.benchmarks is None else BENCH_SHARE * config.budget_s
    study_s = 0.0 if config.budget_s is None or config.studies is None else STUDY_SHARE * config.budget_s
    prop_budget = None if config.budget_s is None else config.budget_s - bench_s - study_s
    interrupted = None
    (config.output / RESULTS).unlink(missing_ok=True)  # tonight's records only
    try:
        entries = search(
            pairs,
            config.output,
            base=base,
            database=database,
            budget_s=prop_budget,
            max_examples=config.max_examples,
            log=log,
            executor=executor,
        )
    except NightInterrupted as exc:
        entries, interrupted = exc.entries, exc
    accounting = getattr(executor, "accounting", None)  # the pairs' (the studies' maps come after)
    studies: list[dict[str, Any]] = []
    if config.studies is not None:
        left = None if config.budget_s is None else config.budget_s - bench_s - (time.perf_counter() - t0)
        if interrupted is not None or (left is not None and left <= 0):
            studies = config.studies.not_reached()
        else:
            try:
                check_interrupt()
                studies = config.studies(config.output, left, log, executor)
            except KeyboardInterrupt as exc:  # the pairs and the finished studies are kept, as a partial night
                interrupted, studies = exc, getattr(exc, "records", None) or config.studies.not_reached()
        if executor is not None:
            executor.accounting = accounting
    bench: dict[str, Any] = {"status": "skipped", "filter": None, "machine": None, "results": []}
    if config.benchmarks is not None and interrupted is None:
        left = None if config.budget_s is None else config.budget_s - (time.perf_counter() - t0)
        try:
            check_interrupt()
            bench = run_benchmarks(config.benchmarks, config.output / "benchmarks.json", left)
        except KeyboardInterrupt as exc:  # the pairs have finished: keep them, as a partial night
            interrupted = exc
            bench = {**bench, "status": "not-reached", "error": "interrupted"}
        log(f"benchmarks: {bench['status']}, {len(bench['results'])} results")
    document = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "run_id": started.replace(":", "").replace("+0000", "Z"),
        "started": started,
        "finished": _now(),
        "elapsed_s": round(time.perf_counter() - t0, 3),
        "time_budget_s": config.budget_s,
        "profile": {"max_examples": config.max_examples or base.max_examples, "derandomize": base.derandomize},
        "database": None if config.db is None else databases.describe(config.db),
        "environment": environment(),
        "selection": config.selection,
        "kernel": None if config.kernel is None else subject_record(config.kernel),
        "partial": interrupted is not None,
        "properties": [result_record(e, config.output) for e in entries] + studies,
        "not_reached": [e.label for e in entries if e.status == "not-reached"]
        + [r["label"] for r in studies if r["status"] == "not-reached"]
        + (["benchmarks"] if bench["status"] == "not-reached" else []),
        "benchmarks": bench,
    }
    baseline, notes = prepared.baseline, list(prepared.notes)
    regressions, compare_notes = compare(
        baseline, document, margin_drop=config.margin_drop, bench_threshold=config.bench_threshold
    )
    if interrupted is not None:  # pairs the interrupt kept from running did not stop running
        regressions = [r for r in regressions if not (r.kind == "stopped-running" and r.after == "not-reached")]
        notes.append(
            f"PARTIAL: interrupted after {sum(e.rounds > 0 for e in entries)} of {len(entries)} pairs; "
            "not appended to the history, not promoted"
        )
    document["comparison"] = {
        "baseline": None if config.baseline is None else str(config.baseline),
        "baseline_run_id": None if baseline is None else baseline["run_id"],
        "margin_drop": config.margin_drop,
        "bench_threshold": config.bench_threshold,
        "regressions": [r.as_dict() for r in regressions],
        "notes": notes + compare_notes,
    }
    images = entry_images(entries, only=ATTENTION) if interrupted is None else {}
    files = nightly_output.write_all(document, config.output, config.history, images, history=interrupted is None)
    if interrupted is not None:
        raise KeyboardInterrupt(f"{interrupted or 'SIGINT'}; partial night written to {files['json']}")
    promoted = False
    if config.promote and config.baseline is not None and not regressions:
        write_text_atomic(config.baseline, dumps(promoted_document(baseline, document)))
        promoted = True
    return Night(document, files, promoted)


# ---------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ntkverify nightly",
        description="The nightly job: the suite under the nightly profile within a time budget, with benchmarks, "
        "compared with a baseline night. Exit 1 on any regression. Every input and output is checked before "
        "the budget is spent.",
        epilog=HELP,
    )
    parser.add_argument("--output", type=Path, default=Path("ntk-reports/nightly"), help="folder of tonight's files")
    parser.add_argument(
        "--db",
        type=databases.location,
        default=None,
        help="example database: a folder (default: OUTPUT/../hypothesis-db) or redis://HOST:PORT/N",
    )
    parser.add_argument("--history", type=Path, default=None, help="history file (default: OUTPUT/../history.jsonl)")
    parser.add_argument("--baseline", type=Path, default=None, help="a previous night's nightly.json")
    parser.add_argument(
        "--promote",
        action="store_true",
        help="make tonight the --baseline if no regression (a filtered night updates only what it ran)",
    )
    parser.add_argument("--time-budget", type=float, default=None, metavar="MINUTES", help="bound on the whole run")
    parser.add_argument("--max-examples", type=int, default=None, help="examples per property (default: profile's)")
    parser.add_argument("--benchmarks", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--benchmark-path", action="append", help="benchmark file or folder (default: benchmarks)")
    parser.add_argument("-k", dest="benchmark_filter", default=None, help="pytest -k expression for the benchmarks")
    parser.add_argument("--margin-drop", type=float, default=MARGIN_DROP, help="clipped-margin drop flagged")
    parser.add_argument("--bench-threshold", type=float, default=BENCH_THRESHOLD, help="relative slowdown flagged")
    parser.add_argument(
        "--studies",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the selected studies after the pairs (--property and --kind select them too; --kind STUDY: "
        "the studies alone)",
    )
    users_kernel.add_selection_arguments(parser)
    executors.add_arguments(parser)
    return parser


def config_from_args(args: argparse.Namespace) -> NightConfig:
    if args.promote and args.baseline is None:
        raise InputError("--promote needs --baseline PATH (where tonight's result becomes the baseline)")
    parent = args.output.parent
    return NightConfig(
        output=args.output,
        db=args.db or parent / "hypothesis-db",
        history=args.history or parent / "history.jsonl",
        baseline=args.baseline,
        promote=args.promote,
        budget_s=None if args.time_budget is None else 60 * args.time_budget,
        max_examples=args.max_examples,
        benchmarks=BenchmarkOptions(tuple(args.benchmark_path or ("benchmarks",)), args.benchmark_filter)
        if args.benchmarks
        else None,
        selection={"properties": args.property, "kinds": args.kind},
        margin_drop=args.margin_drop,
        bench_threshold=args.bench_threshold,
    )


def main(argv: list[str] | None = None, *, studies: Callable[[argparse.Namespace], Any] | None = None) -> int:
    """``ntkverify nightly`` under the exit-code contract (module docstring): 0 no regression, 1 regression, 2 usage
    error, 3 environment failure (a Dask scheduler or Redis server that cannot be reached, a pair or a study's
    grid point lost by the executor). ``studies`` selects the night's studies from its arguments (the command
    line passes :func:`ntkverify.studies.night.night_studies`, which sits on the floor above; None: no studies)."""
    return run_command("ntkverify nightly", _main, argv, studies)


def _main(argv: list[str] | None, studies: Callable[[argparse.Namespace], Any] | None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    config.studies = None if studies is None else studies(args)
    # a kernel that cannot be checked, or a selection of nothing: exit 2 now
    pairs, config.kernel = users_kernel.selected_pairs(args, others=config.studies is not None)
    checked_device(None)
    Settings.load_profile("nightly")  # registered, with its budget, by the command line and the pytest plugin
    databases.open_database(config.db)  # a Redis server is checked before the cluster starts
    with executors.from_arguments(args) as executor:
        night = run_night(pairs, config, base=Settings.get_profile("nightly"), executor=executor)
    doc = night.document
    for r in doc["comparison"]["regressions"]:
        print(f"REGRESSION {r['kind']}: {r['name']}: {r['before']} -> {r['after']} ({r['detail'][:200]})")
    print(f"{len(doc['comparison']['regressions'])} regressions; report: {night.files['html']}")
    if night.promoted:
        print(f"promoted to baseline: {config.baseline}")
    lost = executors.report_accounting(executor, [label_of(*pair) for pair in pairs], "ntkverify nightly")
    for why in [] if config.studies is None else config.studies.lost:
        print(f"ntkverify nightly: {why}")
        lost = 3
    return lost or night.exit_code
