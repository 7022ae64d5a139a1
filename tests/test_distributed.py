"""Runs on Dask and failures shared through Redis, with real components started here: a ``LocalCluster`` of two
worker processes reached through its scheduler address, and a ``redis-server`` on a free port of 127.0.0.1
without persistence. A cluster run gives the same results as the in-process run; a worker killed in the middle
of a pair loses nothing (the pair is retried and recorded once); a failure that a worker stores in Redis is
replayed first by the next night, on a fresh output folder in another process; a scheduler or Redis server
that cannot be reached is a one-line error before any work (exit status 3), a malformed address a usage error
(2)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from hypothesis import settings as Settings

from ntkverify.properties.budget import search_budget
from ntkverify.properties.core import Verdict, select
from ntkverify.properties.runner import builtin_pairs
from ntkverify.reports import database as databases
from ntkverify.reports import executor as executors
from ntkverify.reports import job, nightly
from ntkverify.reports.summary import result_record
from ntkverify.shell import cli
from ntkverify.shell.profiles import BUDGETS, load_profile
from ntkverify.studies import Plan, Point, Study, get_study, run_study
from ntkverify.studies.core import Decision, point, register
from ntkverify.studies.output import write_table
from tests.test_nightly import at_most, integer_property

distributed = pytest.importorskip("distributed", reason="Dask is not installed (pip install ntkverify[distributed])")

SLOW_EXAMPLE_S = 0.15  # the planted slow pair runs 20 examples: about 3 s, long enough to be killed mid-pair


@pytest.fixture(autouse=True)
def _restore_profile():
    previous = Settings.get_current_profile_name()
    yield
    load_profile(previous)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of two worker processes (one thread each), closed after the module."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": executors.RETRIES}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
    with cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def redis_url():
    """A redis-server on a free port of 127.0.0.1, no persistence, stopped after the module."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (.ci/run installs the Debian package redis-server)")
    pytest.importorskip("redis", reason="the redis package is not installed (pip install ntkverify[distributed])")
    import redis

    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start within 5 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _records(run_folder: Path) -> list[dict]:
    """The per-pair records of a run's summary.json, without the timings."""
    summary = json.loads(next(run_folder.glob("run-*/summary.json")).read_text())
    return [{k: v for k, v in p.items() if k != "elapsed_s"} for p in summary["properties"]]


# ---------------------------------------------------------------------------------------------------------
# Same answers


@pytest.fixture
def one_thread():
    """This process on one torch thread, as a Dask worker: a product's rounding depends on its thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _command(*args: str) -> subprocess.CompletedProcess:
    """``ntkverify ARGS`` in a fresh process on one torch thread, as a user runs it: the process then loads the
    same modules as the workers (Hypothesis seeds part of its draws from the constants of the loaded local
    modules, so a pytest process that has loaded test modules would draw differently from its workers)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NTKVERIFY_DEVICE": "cpu"}
    return subprocess.run([sys.executable, "-m", "ntkverify.shell.cli", *args], capture_output=True, text=True, env=env)


def test_run_on_the_cluster_gives_the_same_summary(tmp_path, scheduler):
    args = ["run", "--property", "psd"]  # limiting, NNGP, H∞, standard and empirical kernels: 6 pairs
    here = _command(*args, "--output", str(tmp_path / "here"))
    there = _command(*args, "--output", str(tmp_path / "there"), "--scheduler", scheduler)
    assert here.returncode == there.returncode == 0, here.stderr + there.stderr
    assert "0 retried, 0 lost" in there.stdout
    here, there = _records(tmp_path / "here"), _records(tmp_path / "there")
    assert len(here) >= 6 and here == there  # every margin, case and verdict to the last digit


def _profile_here(_) -> tuple:
    return Settings.get_current_profile_name(), Settings().max_examples, search_budget()


def test_a_worker_runs_under_the_clients_profile_and_budget(scheduler):
    """A worker is a fresh process: each unit of work brings the client's profile and case sizes with it."""
    load_profile("nightly")
    with executors.open_executor(scheduler=scheduler) as executor:
        assert executor.map(_profile_here, [0, 1]) == [("nightly", 1000, BUDGETS["nightly"])] * 2


def test_night_on_the_cluster_gives_the_same_records(tmp_path, scheduler, one_thread):
    load_profile("dev")  # the dev sizes on both sides (each worker runs under this process's profile): seconds
    base = Settings(Settings.get_profile("nightly"), max_examples=10, derandomize=True, database=None)
    pairs = builtin_pairs(select(["diagonal-identity"]))
    here = nightly.search(pairs, tmp_path / "here", base=base, database=None, log=str)
    with executors.open_executor(scheduler=scheduler) as executor:
        there = nightly.search(pairs, tmp_path / "there", base=base, database=None, log=str, executor=executor)
        assert executor.accounting.count("done") == len(pairs)

    def strip(entries):
        return [{k: v for k, v in result_record(e).items() if k != "elapsed_s"} for e in entries]

    assert strip(here) == strip(there) and all(r.status == "passed" for r in there)


def test_night_slice_gets_the_time_left_over_the_pairs_left():
    load_profile("nightly")
    base = Settings(Settings.get_profile("nightly"), database=None)
    task = nightly.NightSlice(base, None, target=7, pairs=4, workers=2, ends_at=time.time() - 1)
    assert [task.share(i, 60.0) for i in range(4)] == [30.0, 40.0, 60.0, 60.0] and task.share(0, -1.0) == 0
    fast = integer_property("planted:fast", at_most(10**6))
    assert task((0, (fast, None))).status == "not-reached"  # started after the night's end
    unbudgeted = nightly.NightSlice(base, None, target=7, pairs=4, workers=2)((3, (fast, None)))
    assert unbudgeted.status == "passed" and unbudgeted.result.examples == 7 and unbudgeted.rounds == 1


# ---------------------------------------------------------------------------------------------------------
# Faults


def test_an_item_that_keeps_raising_is_lost_with_its_reason(scheduler, capsys):
    with executors.open_executor(scheduler=scheduler) as executor:
        results = executor.map(int, ["1", "x", "3"])
    assert results[0] == 1 and results[2] == 3 and isinstance(results[1], executors.Lost)
    lost = executor.accounting.lost
    assert [a.index for a in lost] == [1] and lost[0].attempts == executors.RETRIES + 1
    assert "ValueError: invalid literal" in lost[0].reason
    assert executors.report_accounting(executor, ["one", "x", "three"], "job") == 3  # incomplete: exit 3
    out = capsys.readouterr().out
    assert "3 items on the scheduler at" in out and "1 lost" in out
    assert f"lost x after {executors.RETRIES + 1} attempts" in out
    in_process = executors.InProcess()
    assert in_process.map(int, ["1", "x"])[1] == results[1] and in_process.accounting.count("lost") == 1


def test_scheduler_errors_are_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "reports"
    closed = f"tcp://127.0.0.1:{_free_port()}"
    for args, code in (
        (["--scheduler", closed], 3),
        (["--scheduler", "tcp://host:port"], 2),
        (["--scheduler", "carrier-pigeon://host:1"], 2),
        (["--workers", "0"], 2),
    ):
        assert cli.main(["run", "--property", "psd", "--output", str(out), *args]) == code
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err and ("usage" if code == 2 else "environment") in err
    assert not out.exists()  # no work started


# ---------------------------------------------------------------------------------------------------------
# Redis


def _night_config(tmp_path: Path, name: str, db: str) -> nightly.NightConfig:
    return nightly.NightConfig(output=tmp_path / name / "out", db=db, history=tmp_path / name / "history.jsonl")


def test_a_failure_a_worker_stored_in_redis_is_replayed_first_by_the_next_night(tmp_path, redis_url, scheduler):
    load_profile("nightly")
    base = Settings(Settings.get_profile("nightly"), max_examples=200)
    seen: list[int] = []
    failing = integer_property("planted:redis-replay", at_most(999), seen)
    with executors.open_executor(scheduler=scheduler) as executor:  # found and stored by a worker
        first = nightly.run_night(
            [(failing, None)], _night_config(tmp_path, "first", redis_url), base=base, log=str, executor=executor
        )
    assert first.document["properties"][0]["status"] == "failed" and first.document["database"] == redis_url
    assert not seen  # the search ran on the worker
    second = nightly.run_night([(failing, None)], _night_config(tmp_path, "second", redis_url), base=base, log=str)
    assert second.document["properties"][0]["status"] == "failed" and seen[0] == 1000  # replayed first
    assert not (tmp_path / "second" / "hypothesis-db").exists()  # nothing stored on this machine


def test_redis_database_travels_as_its_url_and_errors_are_one_line(redis_url, capsys):
    db = databases.open_database(redis_url)
    copy = pickle.loads(pickle.dumps(db))
    db.save(b"key", b"value")
    assert list(copy.fetch(b"key")) == [b"value"]
    assert databases.describe("redis://:secret@example.org:6379/0") == "redis://:***@example.org:6379/0"
    closed = f"redis://127.0.0.1:{_free_port()}/0"
    for url, code in ((closed, 3), ("redis://127.0.0.1:x/0", 2), ("redis://127.0.0.1:1/zero", 2)):
        with pytest.raises(databases.DatabaseError) as info:
            databases.open_database(url)
        assert info.value.exit_code == code
    assert nightly.main(["--db", closed, "--no-benchmarks", "--property", "psd"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("ntkverify nightly: environment error: cannot reach Redis") and "\n" not in err


# ---------------------------------------------------------------------------------------------------------
# A killed worker (last: its replacement would make the next test wait for its start)


def slow_at_most_a_million(x: int) -> Verdict:
    time.sleep(SLOW_EXAMPLE_S)
    return at_most(10**6)(x)


SLOW = integer_property("planted:slow", slow_at_most_a_million)  # travels to the workers by cloudpickle


def _kill_first_attempt(
    address: str, index: int, since: int, killed: list[int], *, pause_s: float = 0.0, release: str | None = None
) -> None:
    """Kill the worker process that starts item ``index`` (its attempt event, logged after ``since`` events)
    ``pause_s`` seconds into the attempt, then set the Dask event ``release``, if any."""
    with distributed.Client(address, set_as_default=False) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for _, msg in client.get_events(executors.TOPIC)[since:]:
                if msg["index"] == index:
                    time.sleep(pause_s)
                    os.kill(msg["pid"], signal.SIGKILL)
                    killed.append(msg["pid"])
                    if release is not None:
                        distributed.Event(release, client=client).set()
                    return
            time.sleep(0.05)


def test_a_worker_killed_mid_pair_loses_nothing(tmp_path, scheduler):
    load_profile("dev")
    pairs = [(SLOW, None), *builtin_pairs(select(["symmetric"]))[:3]]
    with executors.open_executor(scheduler=scheduler) as executor:
        since = len(executor.client.get_events(executors.TOPIC))
        killed: list[int] = []
        pause = {"pause_s": 2 * SLOW_EXAMPLE_S}  # a couple of examples into the pair
        killer = threading.Thread(target=_kill_first_attempt, args=(scheduler, 0, since, killed), kwargs=pause)
        killer.start()
        outcome = job.run_pairs(pairs, tmp_path, profile="dev", command="test", plots=False, executor=executor)
        killer.join()
        accounting = executor.accounting
    assert killed, "the slow pair never started"
    slow = accounting.accounts[0]
    assert slow.status == "retried" and slow.attempts == 2
    assert [a.status for a in accounting.accounts[1:]] == ["done"] * 3
    records = _records(outcome.folder.parent)
    assert [r["label"] for r in records] == [p.name if s is None else f"{p.name}[{s.name}]" for p, s in pairs]
    assert all(r["status"] == "passed" for r in records) and records[0]["examples"] == 20  # recorded once


def test_study_on_the_cluster_gives_the_same_table(tmp_path, scheduler, one_thread):
    """Issue of record: a study's grid points on the cluster give the table of the in-process run, digit for digit
    (same seeds, same grid, one torch thread on both sides)."""
    from ntkverify.studies import Plan, get_study, run_study

    study, plan = get_study("convergence-rate"), Plan(0.002)
    here = run_study(study, plan, tmp_path / "here")
    with executors.open_executor(scheduler=scheduler) as executor:
        there = run_study(study, plan, tmp_path / "there", executor=executor.map)
        assert executor.accounting.count("done") == len(there.records) > 0
    assert repr(here.records) == repr(there.records)  # repr: NaN values compare equal as text
    assert repr(here.decision) == repr(there.decision)


def test_a_nights_studies_run_on_the_cluster_as_they_do_here(tmp_path, scheduler, one_thread):
    """The night's studies send their grid points to the night's cluster; the records are the in-process ones."""
    from ntkverify.studies.night import NightStudies

    stage = NightStudies([get_study("convergence-rate")])
    here = stage(tmp_path / "here", 0.12, str)  # 0.002 of a minute: the smallest grid
    with executors.open_executor(scheduler=scheduler) as executor:
        there = stage(tmp_path / "there", 0.12, str, executor)
        assert executor.accounting.count("done") == there[0]["examples"] > 0
    assert [{**r, "elapsed_s": 0} for r in here] == [{**r, "elapsed_s": 0} for r in there] and not stage.lost


# A test-only study whose gated point, on a worker, waits on a Dask event that is set only once the worker running
# it has been killed: the kill always lands during the point, however fast the point itself is.

GATE = "ntkverify-test-study-gate"
GATED_SEED = 1


def _gated_grid(plan: Plan) -> list[Point]:
    return [point("test:gated", "main", seed, plan, n=5) for seed in plan.seeds(4)]


def _gated_measure(p: Point) -> dict[str, float]:
    try:
        distributed.get_worker()
    except ValueError:  # in-process: nothing to wait for
        pass
    else:
        if p.seed == GATED_SEED:
            assert distributed.Event(GATE).wait(timeout=60), "the gate was never opened"
    X = torch.randn(p["n"], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(p.seed))
    return {"lambda_min": float(torch.linalg.eigvalsh(X @ X.T)[0]), "trace": float((X * X).sum())}


def _gated_decide(records, plan: Plan) -> Decision:
    return Decision("supported", "a test design: no decision rule", 0.0, 1.0, "none", (), ())


GATED = Study(
    name="test:gated",
    statement="none",
    citation="none",
    design="four seeds of a 5 × 3 Gram matrix",
    default_minutes=0.0,
    grid=_gated_grid,
    measure=_gated_measure,
    decide=_gated_decide,
    plot=lambda records, decision, folder: [],
)


class RegisterGatedStudy(distributed.WorkerPlugin):
    """Registers the test study on every worker of the cluster, a replacement for a killed one included."""

    name = "ntkverify-test-gated-study"

    def setup(self, worker):
        try:
            get_study(GATED.name)
        except ValueError:
            register(GATED)


@pytest.fixture
def gated_study(monkeypatch):
    """The test study, registered in this process for this test only (other tests list and run every study)."""
    from ntkverify.registry import STATEMENTS

    get_study("convergence-rate")  # the built-in studies first, in their order
    monkeypatch.setitem(STATEMENTS._items, GATED.name, GATED)
    return GATED


def test_a_worker_killed_during_a_study_loses_no_point(tmp_path, scheduler, gated_study):
    """Issue of record: the worker running a grid point is killed mid-point; the point is retried on another
    worker process and recorded once, every point is accounted for, and the table is the in-process run's."""
    study, plan = gated_study, Plan()
    here = run_study(study, plan, tmp_path / "here")
    with executors.open_executor(scheduler=scheduler) as executor:
        client = executor.client
        client.register_plugin(RegisterGatedStudy())
        distributed.Event(GATE, client=client).clear()
        since, killed = len(client.get_events(executors.TOPIC)), []
        gated = [p.seed for p in study.grid(plan)].index(GATED_SEED)
        release = {"release": GATE}
        killer = threading.Thread(target=_kill_first_attempt, args=(scheduler, gated, since, killed), kwargs=release)
        killer.start()
        there = run_study(study, plan, tmp_path / "there", executor=executor.map)
        killer.join()
        accounting = executor.accounting
        attempts = [m["pid"] for _, m in client.get_events(executors.TOPIC)[since:] if m["index"] == gated]
        client.unregister_worker_plugin(RegisterGatedStudy.name)
    assert killed and attempts[0] == killed[0] != attempts[1] and len(attempts) == 2  # retried in another process
    assert [(a.index, a.status, a.attempts) for a in accounting.accounts] == [
        (i, "retried", 2) if i == gated else (i, "done", 1) for i in range(len(there.records))
    ]
    assert len(list((tmp_path / "there" / "points").glob("*.json"))) == len(there.records) == 4  # recorded once
    assert [r.point for r in there.records] == study.grid(plan) and there.cached == 0
    tables = [write_table(tmp_path / side, [run]).read_bytes() for side, run in (("here", here), ("there", there))]
    assert tables[0] == tables[1]
