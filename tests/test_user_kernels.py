"""Users' kernels: the per-call time limit, the diagnosis, and the reports that say what is wrong."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from ntkverify import analytic
from ntkverify.properties.diagnosis import diagnose, factor_causes
from ntkverify.properties.subjects import CallClock, Claim, KernelTimeout, Subject
from ntkverify.properties.timeout import CallExpired, deadline
from ntkverify.reports import validate
from ntkverify.shell.cli import main
from tests.quality.planted import PLANTED, textbook_ntk

PLANTED_FILE = Path(__file__).with_name("quality") / "planted.py"


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_deadline_interrupts_a_python_loop_and_restores_the_alarm():
    before = signal.getsignal(signal.SIGALRM)
    start = time.perf_counter()
    with pytest.raises(CallExpired):
        with deadline(0.05):
            _spin(5)
    assert time.perf_counter() - start < 1
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with deadline(1.0):
        _spin(0.01)  # in time: nothing raised


def test_deadline_off_the_main_thread_uses_a_watchdog_that_does_not_linger():
    outcome = []

    def work():
        try:
            with deadline(0.05):
                _spin(5)
            outcome.append("returned")
        except CallExpired:
            outcome.append("expired")

    threads_before = threading.active_count()
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(3)
    assert outcome == ["expired"]
    assert threading.active_count() == threads_before


def test_a_hanging_call_is_a_kernel_timeout_and_later_limits_shrink():
    calls = []

    def sometimes_hangs(X):
        calls.append(X.shape[0])
        if X.shape[0] == 3:
            _spin(10)
        return X @ X.T

    subject = Subject("sometimes_hangs", sometimes_hangs, Claim("relu-ntk", 2), clock=CallClock(0.2))
    subject(torch.ones(2, 2, dtype=torch.float64), 2)
    with pytest.raises(KernelTimeout, match="did not return within 0.2 s"):
        subject(torch.ones(3, 2, dtype=torch.float64), 2)
    assert subject.clock.limit() == pytest.approx(0.02)  # max(timeout/10, 10 × the slowest call), at most 0.2


@pytest.mark.parametrize(
    ("factor", "phrase"),
    [(0.25, "the factor 2 per layer"), (4.0, "too many"), (1 / 3, "1/d = 1/3"), (0.5, "½"), (3.0, "d = 3")],
)
def test_factor_causes(factor, phrase):
    assert any(phrase in cause for cause in factor_causes(factor, 3, 3))


def test_diagnosis_names_another_parameterisation():
    subject = Subject("jgh", lambda X: analytic.standard_ntk(X, 3, sigma_w=1.2, sigma_b=0.3), Claim("relu-ntk", 3))
    (finding,) = diagnose(subject)
    assert "σ_w = 1.2, σ_b = 0.3" in finding and "--sigma-w 1.2 --sigma-b 0.3" in finding
    assert diagnose(Subject("ok", lambda X: textbook_ntk(X, 3), Claim("relu-ntk", 3))) == []


def test_check_report_shows_the_numbers(tmp_path, capsys):
    bug = next(b for b in PLANTED if b.name == "missing_factor_two")
    root = tmp_path / "reports"
    code = main(
        ["check", f"{PLANTED_FILE}:{bug.name}", "--depth", "3", "--property", "diagonal-identity",
         "--profile", "ci", "--report-dir", str(root)]  # fmt: skip
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "accuracy: off-diagonal" in out and "diagnosis: K = 0.25 × K_ref" in out
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    md = (folder / "report.md").read_text()
    for text in ("## What is wrong", "### X (the data", "### K (the kernel", "### K_ref (the reference)",
                 "entrywise relative error", "but K_ref[0,0] =", "the float64 budget there is",
                 "K⁽ᴸ⁾_ii = L‖x_i‖² = 3‖x_i‖²", "diagnosis: K = 0.25 × K_ref"):  # fmt: skip
        assert text in md, text
    assert "- depth:" not in md.split("## Minimisation")[1] and "- widths:" not in md
    record = json.loads((folder / "report.json").read_text())
    validate(record, "counterexample")
    assert record["explanation"]["worst"]["index"] == [0, 0] and record["accuracy"]["diagonal"]["digits"] < 1
    summary = json.loads((root / "summary.json").read_text())
    validate(summary, "summary")
    assert bug.name in summary["accuracy"] and "accuracy" in (root / "index.html").read_text()
