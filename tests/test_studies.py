"""``ntkverify study``: the runner (executor, cache), the folder it writes, the command line and its exit codes,
and the report rendered in a real headless browser. The studies' statistical behaviour (controls and planted
alternatives rejected, the engine supported) is the quality tier's job: ``tests/quality/test_studies.py``."""

from __future__ import annotations

import csv
import dataclasses
import json
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from ntkverify.properties import all_properties, get_property
from ntkverify.properties.listing import select
from ntkverify.properties.subjects import SUBJECTS
from ntkverify.registry import STATEMENTS, Kind
from ntkverify.shell.cli import main
from ntkverify.studies import Plan, all_studies, evaluate, exit_code, get_study, run_studies, run_study
from ntkverify.studies.core import VERDICTS, register

TINY = 0.001  # a thousandth of the default budget: the smallest grids, seconds per study
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
    "--disable-component-update --disable-sync"
).split()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One tiny run of ``convergence-rate`` through the command line."""
    out = tmp_path_factory.mktemp("study")
    code = main(["study", "convergence-rate", "--budget", str(2 * TINY), "--output", str(out), "--device", "cpu"])
    assert code in (0, 1)
    return out


def test_registry_names_and_designs():
    names = [s.name for s in all_studies()]
    assert names[:2] == ["lambda-min-scaling", "convergence-rate"]
    for s in all_studies():
        for word in ("Statistic", "Decision", "Power", "Grid"):
            assert word in s.design, f"{s.name}: its design does not state its {word.lower()}"


def test_studies_and_properties_are_records_of_one_registry():
    studies, properties = all_studies(), all_properties()
    assert {s.name for s in studies} | {p.name for p in properties} == {item.name for item in STATEMENTS}
    assert all(s.kind is Kind.STUDY for s in studies) and all(p.kind is not Kind.STUDY for p in properties)
    assert all(set(s.subjects) <= set(SUBJECTS) for s in studies)
    with pytest.raises(ValueError, match="already registered"):  # one namespace
        register(dataclasses.replace(studies[0], name=properties[0].name))
    with pytest.raises(ValueError, match="unknown property"):  # each reads only its own kinds
        get_property(studies[0].name)
    with pytest.raises(ValueError, match="unknown study"):
        get_study(properties[0].name)
    assert [e.name for e in select(kind="STUDY")] == [s.name for s in studies]  # `ntkverify list` reads it too


#: (study, design parameter, its largest value at the default budget on a CPU, on a GPU)
DEVICE_GRIDS = [
    ("lambda-min-scaling", "N", 4096, 32768),
    ("convergence-rate", "m", 4096, 16384),
    ("wide-layer", "N", 1024, 1024),
    ("generalization", "n", 400, 1600),
]


@pytest.mark.parametrize("name, parameter, cpu, cuda", DEVICE_GRIDS)
def test_grids_grow_to_their_device_sizes(name, parameter, cpu, cuda):
    study = get_study(name)
    on_cpu, on_gpu = study.grid(Plan(1.0, "cpu")), study.grid(Plan(1.0, "cuda"))
    assert max(p[parameter] for p in on_cpu) == cpu and max(p[parameter] for p in on_gpu) == cuda
    assert len(on_gpu) >= len(on_cpu) and all(p.device == "cuda" for p in on_gpu)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here; the GPU grids are checked on CPU")
def test_a_study_runs_on_cuda(tmp_path):
    run = run_study(get_study("lambda-min-scaling"), Plan(TINY, "cuda"), tmp_path)
    assert run.decision.verdict == "supported" and run.decision.controls_ok


def test_run_studies_returns_the_verdicts_and_writes_the_folder(tmp_path):
    lines = []
    study = get_study("convergence-rate")
    runs = run_studies([study.name], tmp_path, budget=TINY * study.default_minutes, echo=lines.append)
    assert [r.study.name for r in runs] == [study.name] and runs[0].decision.verdict in VERDICTS
    assert runs[0].plan.scale == pytest.approx(TINY)
    record = json.loads((tmp_path / "study.json").read_text())
    assert record["exit_code"] == exit_code(runs) and (tmp_path / "index.html").exists()
    assert len(lines) == 1 and lines[0].startswith(f"{study.name}: {runs[0].decision.verdict}")


def test_points_are_picklable_and_evaluated_by_a_top_level_function():
    study = get_study("convergence-rate")
    p = study.grid(Plan(TINY))[0]
    again = pickle.loads(pickle.dumps(p))
    assert again == p and again.key() == p.key()
    assert set(pickle.loads(pickle.dumps(evaluate))(p)["values"]) == {"error", "error_factor_2"}


def test_keys_depend_on_the_point_not_the_device():
    study = get_study("convergence-rate")
    points = study.grid(Plan(TINY))
    assert len({p.key() for p in points}) == len(points)
    cpu, other = points[0], study.grid(Plan(TINY, device="cuda"))[0]
    assert cpu.key() == other.key()


def test_runner_uses_the_executor_and_the_cache(tmp_path):
    calls = []

    def executor(fn, points):
        points = list(points)
        calls.append(len(points))
        return map(fn, points)

    study = get_study("convergence-rate")
    first = run_study(study, Plan(TINY), tmp_path, executor=executor)
    second = run_study(study, Plan(TINY), tmp_path, executor=executor)
    assert calls == [len(first.records), 0]
    assert first.cached == 0 and second.cached == len(second.records)
    assert second.decision == first.decision


def test_folder_holds_json_table_plots_and_html(folder):
    record = json.loads((folder / "study.json").read_text(), parse_constant=pytest.fail)  # strict JSON: no NaN
    assert record["schema_version"] == 1
    (study,) = record["studies"]
    assert study["name"] == "convergence-rate" and study["verdict"] in ("supported", "rejected", "inconclusive")
    assert {"alpha", "power", "power_against", "controls", "constants", "series", "design"} <= set(study)
    assert all(c["expected"] == "rejected" for c in study["controls"]) and study["controls"]
    rows = list(csv.DictReader((folder / "table.csv").open()))
    assert len(rows) == study["points"] and {"study", "arm", "seed", "m", "error"} <= set(rows[0])
    for plot in study["plots"]:
        assert (folder / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'id="convergence-rate"' in (folder / "index.html").read_text()


def test_list_prints_every_study(capsys):
    assert main(["study", "--list"]) == 0
    out = capsys.readouterr().out
    for s in all_studies():
        assert s.name in out and s.citation in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["study", "no-such-study"], "unknown study"),
        (["study", "convergence-rate", "--budget", "0"], "--budget"),
        (["study", "convergence-rate", "--kernel", "no_such_module:fn", "--depth", "2"], "cannot import"),
        (["study", "convergence-rate", "--kernel", "tests/quality/planted_studies.py:nngp_for_ntk"], "depth"),
        (
            [
                "study",
                "convergence-rate",
                "--kernel",
                "tests/quality/planted_studies.py:nngp_for_ntk",
                "--claim",
                "two-layer-h",
            ],
            "cannot be studied",
        ),
    ],
)
def test_usage_errors_are_one_line_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing spent before the input was validated


def test_planted_kernel_exits_1(tmp_path, capsys):
    argv = ["study", "convergence-rate", "--kernel", "tests/quality/planted_studies.py:nngp_for_ntk", "--depth", "2"]
    assert main([*argv, "--budget", str(2 * TINY), "--output", str(tmp_path)]) == 1
    assert "convergence-rate: rejected" in capsys.readouterr().out


def _chromium() -> str | None:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def test_report_renders_in_headless_chromium(folder, tmp_path):
    """The report opened in a real browser: every theorem has its section and every image loads (a probe script,
    added to a copy of the page, writes each image's decoded width into the DOM that Chromium dumps)."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium: .ci/run installs Debian's chromium with apt-get; it could not be installed here")
    probe = folder / "probe.html"
    probe.write_text(
        (folder / "index.html")
        .read_text()
        .replace(
            "</body>",
            "<script>window.addEventListener('load', () => document.querySelectorAll('img')"
            ".forEach(i => i.setAttribute('data-width', i.naturalWidth)))</script></body>",
        )
    )
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path}", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    record = json.loads((folder / "study.json").read_text())
    for study in record["studies"]:
        assert f'<section class="theorem" id="{study["name"]}">' in dom
        assert study["statement"].split(":")[0][:40] in dom
        for plot in study["plots"]:
            assert f'src="{plot}"' in dom
    assert 'data-width="0"' not in dom and dom.count("data-width=") == sum(len(s["plots"]) for s in record["studies"])
