"""The command line: ``ntkverify run`` (the main job), ``check`` writing reports, ``repro`` exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from hypothesis import settings

from ntkverify.device import cuda_available
from ntkverify.reports import validate
from ntkverify.reports.job import Progress
from ntkverify.reports.summary import Entry
from ntkverify.shell.cli import main
from tests.test_reports import FIXED, planted_subject


@pytest.fixture(autouse=True)
def _restore_process_state(monkeypatch):
    """The commands load a Hypothesis profile and set NTKVERIFY_DEVICE for the process: undo both."""
    monkeypatch.setenv("NTKVERIFY_DEVICE", "cpu")
    previous = settings.get_current_profile_name()
    yield
    settings.load_profile(previous)


def test_run_subset_writes_every_file_and_passes(tmp_path, capsys):
    code = main(["run", "--property", "reference-agreement", "--property", "well-formed", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    for name in ("summary.md", "summary.json", "index.html"):
        assert (folder / name).is_file()
    summary = json.loads((folder / "summary.json").read_text())
    validate(summary, "summary")
    labels = {p["label"] for p in summary["properties"]}
    assert "reference-agreement[limiting-ntk]" in labels and "well-formed-symmetric[nngp]" in labels
    assert all(p["status"] == "passed" for p in summary["properties"]) and summary["exit_code"] == 0
    assert str(folder / "index.html") in out
    # not a terminal: plain lines, one per property, no carriage returns or escape sequences
    assert "\r" not in out and "\x1b" not in out
    progress = [line for line in out.splitlines() if line.startswith("[")]
    assert len(progress) == len(summary["properties"]) and all(" ex/s " in line for line in progress)


def test_run_selects_by_kind(tmp_path, capsys):
    assert main(["run", "--kind", "CONJ", "--property", "no-such-property", "--output", str(tmp_path)]) == 2
    assert "no property matches" in capsys.readouterr().err


@pytest.mark.skipif(cuda_available(), reason="CUDA is present: --device cuda is valid here")
def test_run_device_without_cuda_is_an_environment_failure(tmp_path, capsys):
    assert main(["run", "--device", "cuda", "--output", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "CUDA" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_run_searches_a_users_kernel_with_the_claim_flags_of_check(tmp_path, capsys):
    """``run --kernel`` takes the flags of ``check`` and runs the selected properties that apply to the claim; a
    kernel or flag that cannot be used is a usage error before anything is written."""
    source = tmp_path / "team.py"
    source.write_text("from ntkverify import analytic\n\n\ndef good(X):\n    return analytic.limiting_ntk(X, 2)\n")
    out = tmp_path / "out"
    args = ["run", "--output", str(out), "--property", "diagonal-identity", "--property", "bound:gershgorin_lower"]
    assert main([*args, "--kernel", f"{source}:good", "--depth", "2"]) == 0
    summary = json.loads(next(out.glob("run-*/summary.json")).read_text())
    assert {p["label"] for p in summary["properties"]} == {"diagonal-identity[good]", "bound:gershgorin_lower[good]"}
    capsys.readouterr()
    for bad in (["--depth", "2"], ["--kernel", f"{source}:good"], ["--kernel", f"{source}:missing", "--depth", "2"]):
        assert main([*args[:2], str(tmp_path / "none"), *args[3:], *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert "usage error" in err and "\n" not in err
    assert not (tmp_path / "none").exists()


def test_progress_on_a_terminal_rewrites_one_line(tmp_path):
    from ntkverify.properties.core import get_property
    from ntkverify.properties.runner import PropertyResult
    from ntkverify.properties.subjects import BUILTIN_SUBJECTS

    stream = io.StringIO()
    progress = Progress(1, stream, tty=True)
    result = PropertyResult(get_property("psd"), BUILTIN_SUBJECTS["nngp"], examples=10, elapsed=0.5)
    progress.begin(result.label)
    progress.end(Entry(result))
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 2 and text.endswith("\n") and "20.0 ex/s" in text


def test_check_writes_reports_and_repro_follows_the_fix(tmp_path, capsys):
    subject = planted_subject(tmp_path)
    reports = tmp_path / "reports"
    code = main(
        [
            "check",
            subject.origin,
            "--claim",
            "two-layer-h",
            "--property",
            "reference-agreement",
            "--report-dir",
            str(reports),
        ]  # fmt: skip
    )
    out = capsys.readouterr().out
    assert code == 1
    (folder,) = [p for p in reports.iterdir() if p.is_dir()]
    assert f"counterexample report: {folder}" in out
    assert json.loads((folder / "report.json").read_text())["minimisation"]["one_minimal"]

    # the real command line, in a fresh process: exit 1 while the bug is there
    command = [sys.executable, "-m", "ntkverify.shell.cli", "repro", str(folder)]
    proc = subprocess.run(command, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "FAILS" in proc.stdout and "bit-for-bit identical" in proc.stdout

    planted_subject(tmp_path, FIXED)
    assert main(["repro", str(folder)]) == 2  # the kernel's source changed: refused unless allowed
    assert "--allow-changed-kernel" in capsys.readouterr().err
    assert main(["repro", str(folder), "--allow-changed-kernel"]) == 0
    assert "PASSES (fixed: the kernel source differs from the recorded one)" in capsys.readouterr().out


def test_repro_of_a_missing_report_is_a_usage_error(tmp_path, capsys):
    assert main(["repro", str(tmp_path)]) == 2
    assert "cannot replay" in capsys.readouterr().err
