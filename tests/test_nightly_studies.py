"""Studies in a night (``ntkverify.studies.night``, docs/studies.md#studies-in-a-night): selected like the
properties, one result record each, judged by the night's regression rules. The planted alternative: a study
whose verdict turns from supported to rejected between two nights must be a regression (exit 1); the control: the
same study left supported is none (exit 0)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import jsonschema
import pytest
from hypothesis import settings

from ntkverify.registry import STATEMENTS
from ntkverify.reports import nightly
from ntkverify.reports.schema import load_schema, validate
from ntkverify.shell.cli import main
from ntkverify.studies import Plan, Point, Study, get_study
from ntkverify.studies.core import Decision, point
from ntkverify.studies.night import NightStudies, night_studies
from tests.test_nightly import at_most, config, integer_property

#: what the test study decides tonight (a test sets it between nights)
TONIGHT = {"verdict": "supported"}


def _grid(plan: Plan) -> list[Point]:
    return [point("test:night", "main", seed, plan, n=3) for seed in plan.seeds(2)]


def _decide(records, plan: Plan) -> Decision:
    return Decision(TONIGHT["verdict"], "as the test set it", 0.05, 0.9, "none", (), ())


def _measure(p: Point) -> dict[str, float]:
    if TONIGHT["verdict"] == "raise":
        raise RuntimeError("planted failure of a grid point")
    return {"seed": float(p.seed)}


NIGHT_STUDY = Study(
    name="test:night",
    statement="a test study",
    citation="none",
    design="two seeds of nothing",
    default_minutes=1.0,
    grid=_grid,
    measure=_measure,
    decide=_decide,
    plot=lambda records, decision, folder: [],
    claims=("relu-ntk",),
)


@pytest.fixture
def night_study(monkeypatch):
    """The test study, registered for this test only, and its verdict reset."""
    get_study("convergence-rate")  # the built-in studies first, in their order
    monkeypatch.setitem(STATEMENTS._items, NIGHT_STUDY.name, NIGHT_STUDY)
    monkeypatch.setitem(TONIGHT, "verdict", "supported")
    return NIGHT_STUDY


STUDY_ALONE = ("--kind", "STUDY", "--property", "test:night")


def _night(tmp_path: Path, *extra: str, selection=STUDY_ALONE) -> tuple[int, dict]:
    out = tmp_path / "night"
    code = main(["nightly", "--output", str(out), "--no-benchmarks", *selection, "--db", str(tmp_path / "db"), *extra])
    doc = json.loads((out / "nightly.json").read_text())
    validate(doc, "nightly")
    return code, doc


def test_a_study_that_turns_rejected_is_a_regression_and_one_left_supported_is_none(tmp_path, night_study):
    baseline = tmp_path / "baseline.json"
    code, doc = _night(tmp_path, "--baseline", str(baseline), "--promote")
    (record,) = doc["properties"]
    assert code == 0 and record["kind"] == "STUDY" and record["status"] == "passed" and record["examples"] == 2
    assert "ntkverify study test:night" in record["detail"] and baseline.exists()
    assert (tmp_path / "night" / "studies" / "test:night" / "index.html").is_file()
    assert '<a href="studies/test:night/index.html">study</a>' in (tmp_path / "night" / "nightly.html").read_text()

    code, doc = _night(tmp_path, "--baseline", str(baseline))  # the control: nothing changed
    assert code == 0 and doc["comparison"]["regressions"] == []

    TONIGHT["verdict"] = "rejected"  # the planted alternative
    code, doc = _night(tmp_path, "--baseline", str(baseline))
    (regression,) = doc["comparison"]["regressions"]
    assert code == 1 and regression["kind"] == "new-failure" and regression["name"] == "test:night"

    TONIGHT["verdict"] = "inconclusive"  # lost its power: it stopped giving a verdict
    code, doc = _night(tmp_path, "--baseline", str(baseline))
    (regression,) = doc["comparison"]["regressions"]
    assert code == 1 and regression["kind"] == "stopped-running" and regression["after"] == "skipped"
    assert doc["properties"][0]["skipped"].startswith("inconclusive: as the test set it")


def test_a_study_that_raises_is_an_error_record_and_the_night_goes_on(tmp_path, night_study):
    TONIGHT["verdict"] = "raise"
    selection = ("--property", "test:night", "--property", "diagonal-identity", "--max-examples", "5")
    code, doc = _night(tmp_path, selection=selection)
    labels = {r["label"]: r for r in doc["properties"]}
    assert code == 1 and labels["test:night"]["status"] == "error"
    assert "planted failure of a grid point" in labels["test:night"]["error"]
    assert [r["status"] for r in doc["properties"] if r["kind"] != "STUDY"] == ["passed"] * (len(labels) - 1)


def test_a_study_out_of_time_is_not_reached(tmp_path, night_study):
    """A 50 ms night whose one pair takes 200 ms an example: the study is listed as not reached."""
    slow = integer_property("test:slow", lambda x: time.sleep(0.2) or at_most(10**7)(x))
    stage, base = NightStudies([night_study]), settings(max_examples=5, deadline=None, database=None)
    night = nightly.run_night([(slow, None)], config(tmp_path, budget_s=0.05, studies=stage), base=base, log=str)
    study = {r["label"]: r for r in night.document["properties"]}["test:night"]
    assert "test:night" in night.document["not_reached"] and study["status"] == "not-reached"
    assert not (tmp_path / "out" / "studies").exists()


def test_an_interrupt_during_the_studies_keeps_the_pairs_and_the_finished_studies(tmp_path, night_study, monkeypatch):
    """Two studies; the second's grid point is interrupted: the night is written, partial, with the pair, the
    first study's verdict and the second study not reached; no history line."""
    interrupted = dataclasses.replace(night_study, name="test:interrupted", grid=_one_point, measure=_interrupt)
    monkeypatch.setitem(STATEMENTS._items, interrupted.name, interrupted)
    stage, base = NightStudies([night_study, interrupted]), settings(max_examples=5, deadline=None, database=None)
    pair = (integer_property("test:fast", at_most(10**7)), None)
    with pytest.raises(KeyboardInterrupt, match="partial night"):
        nightly.run_night([pair], config(tmp_path, studies=stage), base=base, log=str)
    doc = json.loads((tmp_path / "out" / "nightly.json").read_text())
    statuses = {r["label"]: r["status"] for r in doc["properties"]}
    assert doc["partial"] and statuses == {
        "test:fast": "passed",
        "test:night": "passed",
        "test:interrupted": "not-reached",
    }
    assert doc["not_reached"] == ["test:interrupted"] and not (tmp_path / "history.jsonl").exists()


def _one_point(plan: Plan) -> list[Point]:
    return [point("test:interrupted", "main", 0, plan, n=3)]


def _interrupt(p: Point) -> dict[str, float]:
    raise KeyboardInterrupt


def _args(*argv: str) -> argparse.Namespace:
    from ntkverify.reports.nightly import build_parser

    return build_parser().parse_args(list(argv))


def test_studies_are_selected_like_properties(night_study):
    assert [s.name for s in night_studies(_args("--property", "test:night")).studies] == ["test:night"]
    assert night_studies(_args("--kind", "DET")) is None
    assert night_studies(_args("--no-studies")) is None
    assert "lambda-min-scaling" in [s.name for s in night_studies(_args()).studies]  # a plain night runs them all
    on_kernel = night_studies(_args("--kernel", "m:f", "--claim", "relu-ntk"))
    assert {s.name for s in on_kernel.studies} >= {"lambda-min-scaling", "convergence-rate", "test:night"}
    assert all("relu-ntk" in s.claims for s in on_kernel.studies) and on_kernel.kernel.origin == "m:f"
    assert night_studies(_args("--kernel", "m:f", "--sigma-w", "1", "--sigma-b", "0")) is None


def test_a_built_in_study_in_a_night_writes_its_folder_and_a_valid_record(tmp_path):
    """convergence-rate at a thousandth of its default budget: a real study, seconds long."""
    stage = NightStudies([get_study("convergence-rate")])
    (record,) = stage(tmp_path, 60 * 0.002, log=str)
    defs = load_schema("summary")["$defs"]
    jsonschema.validate(record, {"$defs": defs, "$ref": "#/$defs/result"})  # the record of every job
    assert record["kind"] == "STUDY" and record["status"] in ("passed", "failed", "skipped") and not stage.lost
    assert (tmp_path / "studies" / "convergence-rate" / "study.json").is_file()


def test_run_still_refuses_a_selection_of_studies_alone(capsys):
    assert main(["run", "--kind", "STUDY"]) == 2
    assert "no property matches" in (err := capsys.readouterr().err) and "ntkverify study NAME" in err
