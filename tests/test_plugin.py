"""The pytest plugin, run as a user would run it: a fresh pytest process outside the repository (so the markers
and options can only come from the plugin), on the installed suite and on a planted-bug kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from ntkverify.device import cuda_available
from tests.test_reports import planted_subject

MARKED = """
import os

import pytest


@pytest.mark.slow
@pytest.mark.nightly
def test_marked():
    assert os.environ["NTKVERIFY_DEVICE"] == "cpu"


@pytest.mark.gpu
def test_needs_cuda():
    import torch

    assert torch.cuda.is_available()
"""


def pytest_in(folder, *args):
    """pytest in a fresh process under the ``dev`` profile (20 examples), whatever profile this run uses."""
    drop = ("NTKVERIFY_DEVICE", "PYTEST_ADDOPTS", "CI", "NTKVERIFY_PROFILE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
    )


def test_markers_and_device_option_outside_the_repository(tmp_path):
    (tmp_path / "test_marked.py").write_text(MARKED)
    proc = pytest_in(tmp_path, "--strict-markers", "--ntk-device", "cpu", "-rs", "test_marked.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = "2 passed" if cuda_available() else "1 passed, 1 skipped"
    assert expected in proc.stdout
    if not cuda_available():
        assert "needs a CUDA device" in proc.stdout
        bad = pytest_in(tmp_path, "--ntk-device", "cuda", "test_marked.py")
        assert bad.returncode == 4 and "--ntk-device" in bad.stderr  # pytest's usage-error exit code


def test_user_kernel_items_reports_junit_and_summary(tmp_path):
    subject = planted_subject(tmp_path)
    reports, junit = tmp_path / "reports", tmp_path / "junit.xml"
    proc = pytest_in(
        tmp_path,
        "--pyargs",
        "ntkverify.properties",
        "-k",
        "reference-agreement and (h-infinity or kernel)",
        f"--ntk-kernel={subject.origin}",
        "--ntk-claim=two-layer-h",
        f"--ntk-report-dir={reports}",
        f"--junitxml={junit}",
    )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "1 failed, 1 passed" in out
    assert "FAILED" in out and "test_user_kernel[reference-agreement[kernel]]" in out

    (folder,) = [p for p in reports.iterdir() if p.is_dir()]
    assert f"report: {folder}" in out  # in the assertion message and in the summary table

    summary = out[out.index("ntkverify properties") :]
    rows = {line.split()[0]: line.split() for line in summary.splitlines()[2:] if line.startswith("reference")}
    assert rows["reference-agreement[h-infinity]"][1:5] == ["DET", "passed", "20", "0"]
    assert rows["reference-agreement[kernel]"][2] == "failed"

    cases = {tc.get("name"): tc for tc in ET.parse(junit).getroot().iter("testcase")}
    props = {
        p.get("name"): p.get("value") for p in cases["test_property[reference-agreement[h-infinity]]"].iter("property")
    }
    assert props["ntk_kind"] == "DET" and props["ntk_examples"] == "20" and props["ntk_failures"] == "0"
    assert 0 <= float(props["ntk_tightest_margin"]) <= 1
    user = {
        p.get("name"): p.get("value") for p in cases["test_user_kernel[reference-agreement[kernel]]"].iter("property")
    }
    assert user["ntk_status"] == "failed" and user["ntk_report"] == str(folder)
