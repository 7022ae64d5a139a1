"""The nightly job: planted regressions between two nights are flagged, unchanged nights are not, the history
survives an interrupted run, and the example database replays a stored failure first."""

from __future__ import annotations

import copy
import json
import math
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from ntkverify import analytic
from ntkverify.properties.core import Kind, Property, Verdict, get_property
from ntkverify.properties.subjects import BUILTIN_SUBJECTS, Subject
from ntkverify.reports import nightly, nightly_compare, nightly_output
from ntkverify.reports.store import append_jsonl, decode_number
from ntkverify.shell.profiles import load_profile

EXAMPLES = 20  # per pair and night: enough to exercise the search, cheap enough for the whole file to run in seconds


@pytest.fixture
def base():
    """The nightly profile with few examples; the profile in force is restored afterwards (``main`` loads it)."""
    previous = Settings.get_current_profile_name()
    load_profile("nightly")
    yield Settings(Settings.get_profile("nightly"), max_examples=EXAMPLES)
    load_profile(previous)


def config(tmp_path: Path, **kw) -> nightly.NightConfig:
    return nightly.NightConfig(output=tmp_path / "out", db=tmp_path / "db", history=tmp_path / "history.jsonl", **kw)


def pair(name: str, subject: str | None = None):
    return get_property(name), None if subject is None else BUILTIN_SUBJECTS[subject]


def integer_property(name: str, check, seen: list | None = None) -> Property:
    """A throwaway DET property on integers in [0, 10⁶]; ``seen`` records the examples in order."""

    def recorded(subject, x):
        if seen is not None:
            seen.append(x)
        return check(x)

    return Property(
        name=name,
        statement="test property",
        citation="none",
        kind=Kind.DET,
        subjects=(),
        tolerance_rule="exact",
        check=recorded,
        strategy=lambda subject: st.integers(0, 10**6),
    )


def coin_property() -> Property:
    """A throwaway PROB property: each trial draws u ~ U(0, 1) and violates when u < 0.01 (claimed δ = 0.05)."""

    def trial(subject, rng):
        return Verdict.inequality(0.01, rng.uniform(), 0.0, scale=1.0)

    return Property(
        name="planted:coin",
        statement="test property",
        citation="none",
        kind=Kind.PROB,
        subjects=(),
        tolerance_rule="exact",
        trial=trial,
        delta=0.05,
        trials=5,
    )


def at_most(limit: int):
    return lambda x: Verdict.inequality(x, limit, 0.0, scale=max(limit, 1))


# ---------------------------------------------------------------------------------------------------------
# Planted regressions between two consecutive nights


def test_kernel_made_slightly_wrong_is_flagged_and_not_promoted(tmp_path, base):
    good = BUILTIN_SUBJECTS["limiting-ntk"]
    # the same kernel, scaled by 1 + 1e-6: far above the float64 entry budget (~1e-13 relative), far below
    # anything a glance at the matrix would show
    wrong = Subject(good.name, lambda X, L: analytic.limiting_ntk(X, L) * (1 + 1e-6), good.claim, good.reference)
    prop = get_property("reference-agreement")
    baseline = tmp_path / "baseline.json"
    night1 = nightly.run_night([(prop, good)], config(tmp_path, baseline=baseline, promote=True), base=base, log=str)
    assert night1.exit_code == 0 and night1.promoted and baseline.exists()
    night2 = nightly.run_night([(prop, wrong)], config(tmp_path, baseline=baseline, promote=True), base=base, log=str)
    assert night2.exit_code == 1 and not night2.promoted
    (reg,) = night2.document["comparison"]["regressions"]
    assert (reg["kind"], reg["name"], reg["before"], reg["after"]) == (
        "new-failure",
        "reference-agreement[limiting-ntk]",
        "passed",
        "failed",
    )
    assert json.loads(baseline.read_text())["run_id"] == night1.document["run_id"]  # baseline kept
    junit = ET.parse(night2.files["junit"]).getroot()
    assert junit.get("failures") == "1" and junit.find("testcase/failure") is not None
    assert "new-failure" in night2.files["md"].read_text()
    html = night2.files["html"].read_text()
    assert "1 REGRESSION" in html and "data:image/png;base64," in html and "<script" not in html


def test_tighter_case_is_flagged(tmp_path, base):
    """Night 2's property finds a case far closer to its bound (margin ≤ 0.01 against ≥ 0.9): a margin drop."""
    loose = integer_property("planted:margin", lambda x: Verdict.inequality(x % 100, 1000, 0.0, scale=1000))
    tight = integer_property("planted:margin", lambda x: Verdict.inequality(990 + x % 10, 1000, 0.0, scale=1000))
    baseline = tmp_path / "baseline.json"
    night1 = nightly.run_night([(loose, None)], config(tmp_path, baseline=baseline, promote=True), base=base, log=str)
    assert night1.exit_code == 0 and night1.promoted
    night2 = nightly.run_night([(tight, None)], config(tmp_path, baseline=baseline), base=base, log=str)
    (reg,) = night2.document["comparison"]["regressions"]
    assert reg["kind"] == "margin-drop" and reg["name"] == "planted:margin" and night2.exit_code == 1


def test_tighter_case_injected_into_the_document():
    doc = _document([_entry("psd[nngp]", margin=0.97)])
    later = copy.deepcopy(doc)
    later["properties"][0]["tightest_margin"] = 0.97 - nightly_compare.MARGIN_DROP - 0.01
    (reg,) = nightly_compare.compare(doc, later)[0]
    assert reg.kind == "margin-drop"
    # a drop smaller than the threshold, a margin above 1, or one within rounding of 0 is not a regression
    for before, after in ((0.97, 0.97 - nightly_compare.MARGIN_DROP + 0.01), ("inf", 1.0), (1e-7, -3e-15)):
        doc["properties"][0]["tightest_margin"], later["properties"][0]["tightest_margin"] = before, after
        assert nightly_compare.compare(doc, later)[0] == []
    # many more examples tonight: a lower minimum is expected, so it is noted, not flagged
    doc["properties"][0]["tightest_margin"] = 0.97
    later["properties"][0].update(tightest_margin=0.1, examples=100 * doc["properties"][0]["examples"])
    regressions, notes = nightly_compare.compare(doc, later)
    assert regressions == [] and any("not compared" in n for n in notes)


def test_allowance_margins_are_compared_on_the_share_of_the_allowance_used():
    """An agreement check's margin is the share of its rounding allowance left: the night-to-night spread of
    reference-agreement (0.9 vs 0.4) is not flagged, though the slack rule would flag it; a check that used at
    most 1 % of its allowance and now uses half of it (more than 40-fold: 1.6 digits lost) is flagged."""
    label = "reference-agreement[limiting-ntk]"
    doc = _document([{**_entry(label), "margin_unit": "allowance"}])
    later = copy.deepcopy(doc)
    for before, after, flagged in ((0.9, 0.4, False), (0.4, 0.9, False), (0.995, 0.7, False), (0.999, 0.5, True)):
        doc["properties"][0]["tightest_margin"], later["properties"][0]["tightest_margin"] = before, after
        assert [r.kind for r in nightly_compare.compare(doc, later)[0]] == ["margin-drop"] * flagged
    assert nightly_compare.margin_fell("slack", 0.9, 0.4) and not nightly_compare.margin_fell("allowance", 0.9, 0.4)
    assert nightly_compare.margin_fell("allowance", 1.0, 0.55)  # exact agreement one night: the floor, not infinity


def bench_json(mins: dict[str, float], cpu: str = "Test CPU") -> dict:
    """A pytest-benchmark JSON document with the given minimum times."""
    return {
        "machine_info": {"cpu": {"brand_raw": cpu}, "machine": "x86_64", "system": "Linux"},
        "benchmarks": [
            {
                "name": name.split("::")[-1],
                "fullname": name,
                "group": None,
                "stats": {"min": m, "median": 1.1 * m, "mean": 1.2 * m, "rounds": 5},
            }
            for name, m in mins.items()
        ],
    }


def test_benchmark_slowed_is_flagged():
    names = ("a.py::test_fast", "a.py::test_slowed", "a.py::test_microseconds")
    before = bench_json(dict(zip(names, (0.1, 0.5, 1e-5))))
    # +10% (within the threshold), +30% (beyond it), +100% but only 10 µs (below the absolute floor)
    after = bench_json(dict(zip(names, (0.11, 0.65, 2e-5))))
    doc_before = _document([], bench=nightly.benchmark_section(before))
    doc_after = _document([], bench=nightly.benchmark_section(after))
    (reg,) = nightly_compare.compare(doc_before, doc_after)[0]
    assert (reg.kind, reg.name) == ("benchmark-slower", "a.py::test_slowed")
    # timings from another CPU are not compared
    other = _document([], bench=nightly.benchmark_section(bench_json(dict(zip(names, (1.0, 5.0, 1.0))), "Other")))
    regressions, notes = nightly_compare.compare(doc_before, other)
    assert regressions == [] and any("not compared" in n for n in notes)


def _entry(label: str, *, status: str = "passed", margin=0.5, examples: int = 100, kind: str = "DET") -> dict:
    """A result record (``ntkverify.reports.summary.result_record``) as a night lists it."""
    return {
        "label": label,
        "property": label.split("[")[0],
        "subject": None,
        "kind": kind,
        "statement": "",
        "citation": "",
        "status": status,
        "examples": examples,
        "failures": int(status in nightly_compare.FAILING),
        "tightest_margin": margin,
        "margins": {"count": 0, "min": None, "p05": None, "median": None, "max": None},
        "tightest": None,
        "judgement": None,
        "elapsed_s": 1.0,
        "skipped": None,
        "error": None,
        "report": None,
        "rounds": 1,
        "detail": None,
    }


def _document(entries: list[dict], *, bench: dict | None = None, selection: dict | None = None) -> dict:
    return {
        "schema": nightly.SCHEMA,
        "schema_version": nightly.SCHEMA_VERSION,
        "run_id": "test",
        "properties": entries,
        "selection": selection or {"properties": None, "kinds": None},
        "benchmarks": {"status": "ran", "filter": None, **(bench or {"machine": None, "results": []})},
    }


def test_stopped_running_is_flagged_within_the_selection_only():
    baseline = _document([_entry("removed[nngp]"), _entry("unreached"), _entry("kept")])
    tonight = _document([_entry("unreached", status="not-reached", margin="nan"), _entry("kept")])
    regressions = nightly_compare.compare(baseline, tonight)[0]
    assert {(r.kind, r.name, r.after) for r in regressions} == {
        ("stopped-running", "removed[nngp]", "absent"),
        ("stopped-running", "unreached", "not-reached"),
    }
    # a night restricted with --property kept: the others are outside its selection, not stopped
    tonight["selection"] = {"properties": ["kept"], "kinds": None}
    regressions, notes = nightly_compare.compare(baseline, tonight)
    assert regressions == [] and any("outside tonight's selection" in n for n in notes)


def test_failures_without_a_baseline_and_persistent_failures():
    tonight = _document([_entry("a", status="failed"), _entry("b")])
    assert [r.kind for r in nightly_compare.compare(None, tonight)[0]] == ["new-failure"]
    regressions, notes = nightly_compare.compare(_document([_entry("a", status="failed")]), tonight)
    assert regressions == [] and "still failed: a" in notes


# ---------------------------------------------------------------------------------------------------------
# No false alarms


def test_unchanged_nights_raise_no_alarm(tmp_path, base):
    """Three nights of the same code, each promoted as the next one's baseline. The searches differ (the number
    of examples changes each night, and so does every search that depends on it) while staying reproducible
    (derandomised); the tightest margins move as they do between real nights, and nothing is flagged."""
    # reference-agreement's tightest margin spans 0.4–0.9 with the number of examples under the per-entry float64
    # budgets (rounding luck): its alarm compares the share of the allowance used (nightly_compare's docstring)
    pairs = [
        pair("reference-agreement", "limiting-ntk"),
        pair("permutation-equivariance", "limiting-ntk"),
        pair("rotation-invariance", "nngp"),
        pair("bound:psd"),
    ]
    load_profile("dev")  # the dev profile's case sizes (the fixture restores the profile): seconds, not minutes
    baseline = tmp_path / "baseline.json"
    margins = []
    for examples in (15, 30, 60):
        night = nightly.run_night(
            pairs,
            config(tmp_path, baseline=baseline, promote=True, max_examples=examples),
            base=Settings(base, derandomize=True, database=None),
            log=str,
        )
        assert night.document["comparison"]["regressions"] == [], night.document["comparison"]
        assert night.promoted
        margins.append([p["tightest_margin"] for p in night.document["properties"]])
    assert len({tuple(m) for m in margins}) > 1  # the nights did differ
    assert len(nightly_output.read_history(tmp_path / "history.jsonl")) == 3


def test_benchmark_noise_raises_no_alarm():
    """Fifty nights whose benchmark minima wander by up to ±10% (a seeded generator; shared CI runners vary by
    about that much) against a 25% threshold: no alarm."""
    rng = np.random.default_rng(8)
    names = [f"b.py::test_{i}" for i in range(6)]
    truth = dict(zip(names, rng.uniform(0.01, 2.0, len(names))))
    previous = None
    for _ in range(50):
        mins = {k: v * rng.uniform(0.9, 1.1) for k, v in truth.items()}
        doc = _document([], bench=nightly.benchmark_section(bench_json(mins)))
        if previous is not None:
            assert nightly_compare.compare(previous, doc)[0] == []
        previous = doc


# ---------------------------------------------------------------------------------------------------------
# History, database, budget, benchmarks, schema, command line


def _night(i: int) -> dict:
    return {"run_id": f"night-{i}", "started": f"2025-01-0{i}T00:00:00+00:00", "elapsed_s": 1.0, "regressions": 0,
            "properties": {"p": {"status": "passed", "examples": 1, "margin": 0.5, "elapsed_s": 0.1}},
            "benchmarks": {}}  # fmt: skip


def test_history_survives_an_interrupted_run(tmp_path):
    path = tmp_path / "history.jsonl"
    append_jsonl(path, _night(1))
    append_jsonl(path, _night(2))
    with open(path, "ab") as f:  # a run killed in the middle of its line
        f.write(json.dumps(_night(3)).encode()[:40])
    assert [n["run_id"] for n in nightly_output.read_history(path)] == ["night-1", "night-2"]
    append_jsonl(path, _night(4))
    assert [n["run_id"] for n in nightly_output.read_history(path)] == ["night-1", "night-2", "night-4"]
    assert path.read_bytes().endswith(b"\n")


def test_history_line_is_one_append_write(tmp_path, monkeypatch):
    writes = []
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: writes.append(data) or real_write(fd, data))
    append_jsonl(tmp_path / "h.jsonl", _night(1))
    assert len(writes) == 1 and writes[0].endswith(b"\n") and writes[0].count(b"\n") == 1


def test_database_replays_the_stored_failure_first(tmp_path, base):
    db = DirectoryBasedExampleDatabase(str(tmp_path / "db"))
    seen: list[int] = []
    failing = integer_property("planted:replay", at_most(999), seen)
    run = dict(base=Settings(base, max_examples=200), database=db, log=str)
    (first,) = nightly.search([(failing, None)], tmp_path / "first", **run)
    assert first.status == "failed" and first.result.counterexample.case == 1000  # shrunk to the boundary
    # another pair sharing the database passes, and must not delete the stored failure of the first
    other = integer_property("planted:other", at_most(10**6))
    assert nightly.search([(other, None)], tmp_path / "other", **run)[0].status == "passed"
    seen.clear()
    (second,) = nightly.search([(failing, None)], tmp_path / "second", **run)
    assert second.status == "failed" and seen[0] == 1000


def test_time_budget_is_shared_and_unreached_pairs_are_listed(tmp_path, base):
    def slow(x):
        time.sleep(0.005)
        return Verdict.inequality(0, 1, 0.0)

    pairs = [(integer_property(f"planted:slow{i}", slow), None) for i in range(3)]
    start = time.perf_counter()
    entries = nightly.search(
        pairs, tmp_path / "a", base=Settings(base, max_examples=10**4), database=None, budget_s=1.5, log=str
    )
    elapsed = time.perf_counter() - start
    # each pair gets about a third: rounds are sized for SAFETY x the measured time per example, so the run
    # ends within the budget plus at most one example's overrun per round
    assert elapsed < 1.5 + 0.5
    assert all(e.status == "passed" and e.result.examples >= nightly.PROBE_EXAMPLES and e.rounds >= 2 for e in entries)
    assert all(e.result.elapsed < 1.5 for e in entries)
    spent = nightly.search(pairs, tmp_path / "b", base=base, database=None, budget_s=1e-9, log=str)
    assert [e.status for e in spent] == ["not-reached"] * 3


def test_round_sizes():
    assert nightly.examples_for_round(0, 1000, 0.0, 60.0) == nightly.PROBE_EXAMPLES
    assert nightly.examples_for_round(10, 1000, 1.0, 60.0) == 40  # limited by ROUND_GROWTH
    assert nightly.examples_for_round(8, 1000, 2.0, 3.0) == 8  # 3 s / (1.5 x 0.25 s)
    assert nightly.examples_for_round(10, 15, 0.1, 60.0) == 5  # the target
    assert nightly.examples_for_round(10, 1000, 1.0, -1.0) == 0  # out of time


def test_benchmarks_run_in_a_subprocess_with_a_filter(tmp_path):
    bench = tmp_path / "bench_tiny.py"
    bench.write_text(
        "def test_kept(benchmark):\n    benchmark.pedantic(sum, args=(range(100),), rounds=3)\n\n"
        "def test_filtered_out(benchmark):\n    benchmark.pedantic(sum, args=(range(100),), rounds=3)\n"
    )
    options = nightly.BenchmarkOptions((str(tmp_path),), "kept")  # a folder: its bench_*.py files are run
    section = nightly.run_benchmarks(options, tmp_path / "b.json", timeout_s=120)
    assert section["status"] == "ran", section.get("error")
    (result,) = section["results"]
    assert result["name"] == "test_kept" and result["rounds"] == 3 and 0 < result["min"] <= result["median"]
    missing = nightly.run_benchmarks(nightly.BenchmarkOptions(("no-such-dir",)), tmp_path / "c.json", None)
    assert missing["status"] == "missing"


def test_document_validates_against_the_schema(tmp_path, base):
    jsonschema = pytest.importorskip("jsonschema")
    from ntkverify.reports import validate

    failing = integer_property("planted:schema", at_most(999))
    night = nightly.run_night(
        [pair("psd", "h-infinity"), (coin_property(), None), (failing, None)],
        config(tmp_path),
        base=base,
        log=str,
    )
    doc = json.loads(night.files["json"].read_text())
    validate(doc, "nightly")
    statuses = {p["label"]: p["status"] for p in doc["properties"]}
    assert statuses == {"psd[h-infinity]": "passed", "planted:coin": "passed", "planted:schema": "failed"}
    assert math.isfinite(decode_number(doc["properties"][0]["tightest_margin"]))
    bad = copy.deepcopy(doc)
    bad["properties"][0]["status"] = "green"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad, "nightly")


def test_command_line(tmp_path, base):
    out = tmp_path / "night" / "nightly"
    args = ["--output", str(out), "--property", "diagonal-identity", "--max-examples", "5", "--no-benchmarks"]
    assert nightly.main([*args, "--baseline", str(tmp_path / "base.json"), "--promote"]) == 0
    assert {p.name for p in out.iterdir()} >= {"nightly.json", "nightly.md", "nightly.junit.xml", "nightly.html"}
    assert (tmp_path / "night" / "hypothesis-db").is_dir() and (tmp_path / "night" / "history.jsonl").exists()
    assert (tmp_path / "base.json").exists()
    assert nightly.main([*args, "--promote"]) == 2  # --promote needs --baseline
    assert nightly.main([*args, "--time-budget", "0"]) == 2
    assert nightly.main(["--property", "no-such-property", "--no-benchmarks"]) == 2


# ---------------------------------------------------------------------------------------------------------
# Files of earlier versions, a user's kernel, replayable failures

DATA = Path(__file__).parent / "data"


def test_version_1_baseline_and_history_still_load(tmp_path, base):
    """A baseline and a history written before the one pipeline (schema version 1) are read, compared with and
    drawn: the baseline through its upgrade, the history lines as they are."""
    old = nightly.load_document(DATA / "nightly-v1.json")
    assert old["schema_version"] == nightly.SCHEMA_VERSION
    statuses = {p["label"]: p["status"] for p in old["properties"]}
    assert statuses == {"psd[nngp]": "passed", "planted:v1": "failed", "bound:psd": "passed"}
    assert "observed 1000" in next(p["detail"] for p in old["properties"] if p["label"] == "planted:v1")
    assert len(nightly_output.scan_history(DATA / "history-v1.jsonl")[0]) == 1
    history = tmp_path / "history.jsonl"
    history.write_bytes((DATA / "history-v1.jsonl").read_bytes())
    load_profile("dev")  # the dev profile's case sizes (the fixture restores the profile): seconds, not minutes
    cfg = nightly.NightConfig(output=tmp_path / "out", db=None, history=history, baseline=DATA / "nightly-v1.json")
    pairs = [pair("psd", "nngp"), pair("bound:psd")]
    night = nightly.run_night(pairs, cfg, base=Settings(base, max_examples=5), log=str)
    regressions = {(r["kind"], r["name"]) for r in night.document["comparison"]["regressions"]}
    assert regressions == {("stopped-running", "planted:v1")}  # the two that ran again compared as passing
    assert "Trends over 2 nights" in night.files["html"].read_text()


WRONG_KERNEL = """
from ntkverify import analytic


def wrong(X):  # the limiting NTK of depth 2 scaled by 1 + 1e-6: far beyond its float64 entry budget
    return analytic.limiting_ntk(X, 2) * (1 + 1e-6)
"""


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "team_kernels.py"
    path.write_text(WRONG_KERNEL)
    return path


def test_a_night_on_a_users_kernel_writes_failures_that_repro_replays(tmp_path, base, source, monkeypatch):
    from ntkverify.shell import cli

    monkeypatch.setenv("NTKVERIFY_DEVICE", "cpu")  # repro sets it; restored afterwards
    out = tmp_path / "night" / "nightly"
    args = ["--output", str(out), "--kernel", f"{source}:wrong", "--depth", "2", "--no-benchmarks"]
    assert nightly.main([*args, "--property", "reference-agreement", "--max-examples", "20"]) == 1
    doc = json.loads((out / "nightly.json").read_text())
    (record,) = doc["properties"]
    assert (record["label"], record["status"]) == ("reference-agreement[wrong]", "failed")
    assert doc["kernel"]["origin"] == f"{source}:wrong" and (out / record["report"] / "report.json").is_file()
    assert [json.loads(line)["status"] for line in (out / "results.jsonl").read_text().splitlines()] == ["failed"]
    assert "replay: ntkverify repro" in (out / "nightly.junit.xml").read_text()
    assert cli.main(["repro", str(out / record["report"])]) == 1  # the night's failure, replayed


def test_kernel_flags_are_checked_before_the_night(tmp_path, source, capsys):
    out = tmp_path / "out"
    for args in (
        ["--depth", "2"],  # a claim flag without --kernel
        ["--kernel", "no_such_module_xyz:kernel", "--depth", "2"],
        ["--kernel", f"{source}:wrong", "--claim", "no-such-claim"],
        ["--kernel", f"{source}:wrong"],  # relu-ntk needs a depth
        ["--kernel", f"{source}:wrong", "--depth", "2", "--property", "lipschitz-scaling"],  # not for a kernel
    ):
        assert nightly.main(["--output", str(out), "--no-benchmarks", *args]) == 2, args
        err = capsys.readouterr().err.strip()
        assert "usage error" in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()  # no budget spent, nothing written
