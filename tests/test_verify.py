"""The property framework: verdicts, statistics, the runner's shrinking, verify() and its usage errors."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from ntkverify import analytic
from ntkverify.properties import Kind, Property, Verdict, run_property, verify
from ntkverify.properties.statistics import alpha_share, judge
from ntkverify.properties.verify import UsageError, load_callable


def test_verdict_inequality_sides_and_tolerance():
    v = Verdict.inequality(1.0, 2.0, 0.0)
    assert v.holds and v.margin == pytest.approx(0.5)
    assert not Verdict.inequality(2.0, 1.0, 0.5).holds
    assert Verdict.inequality(1.0 + 1e-12, 1.0, 1e-11).holds
    assert Verdict.inequality(3.0, 2.0, 0.0, side="lower").holds
    assert not Verdict.inequality(math.nan, 1.0, 1.0).holds
    with pytest.raises(ValueError, match="side must be"):
        Verdict.inequality(1.0, 2.0, 0.0, side="left")


def test_binomial_judgement():
    """Exact one-sided tail: 0 failures never reject; a count far above M·δ does; the critical count rejects."""
    assert not judge(0, 40, 0.05, 1e-6).rejected
    assert not judge(3, 40, 0.05, 1e-6).rejected
    assert judge(20, 40, 0.05, 1e-6).rejected
    j = judge(0, 40, 0.05, 1e-6)
    assert judge(j.critical_failures, 40, 0.05, 1e-6).rejected
    assert not judge(j.critical_failures - 1, 40, 0.05, 1e-6).rejected
    assert alpha_share(4) == pytest.approx(2.5e-7)
    with pytest.raises(ValueError, match="failures <= trials"):
        judge(5, 4, 0.1, 0.01)


def _planted(threshold: int) -> Property:
    """A DET property that fails exactly when the case has more than ``threshold`` rows of |x| > 1/2."""

    def check(subject, X):
        big = int((np.abs(X) > 0.5).all(axis=1).sum())
        return Verdict.inequality(big, threshold, 0.0, scale=1.0, notes="rows with every |x| > 1/2")

    def strategy(subject):
        return (
            st.integers(1, 10)
            .flatmap(lambda n: st.lists(st.lists(st.floats(-4, 4), min_size=2, max_size=2), min_size=n, max_size=n))
            .map(np.array)
        )

    return Property(
        "planted", "at most k big rows", "test", Kind.DET, (), "exact count", check=check, strategy=strategy
    )


def test_runner_shrinks_a_planted_failure_to_the_minimal_case():
    result = run_property(_planted(2), None)
    assert result.status == "failed"
    X = result.counterexample.case
    assert X.shape == (3, 2)  # minimal: exactly threshold + 1 rows, each just beyond 1/2
    assert result.counterexample.verdict.observed == 3


def test_runner_passes_and_records_margins():
    result = run_property(_planted(100), None)
    assert result.status == "passed" and result.examples > 0 and result.margins
    assert result.tightest_margin == min(result.margins)


def _prob_property(p_violation: float, claimed: float) -> Property:
    def trial(subject, rng):
        return Verdict.inequality(rng.random(), 1 - p_violation, 0.0, scale=1.0)

    return Property(
        "coin",
        "P(violation) ≤ δ",
        "test",
        Kind.PROB,
        ("sphere-data",),
        "binomial",
        trial=trial,
        delta=claimed,
        trials=200,
    )


def test_prob_property_is_judged_as_a_statistic():
    """A true claim (violations at rate δ) passes; a false one (rate 0.5 against δ = 0.05) is rejected."""
    assert run_property(_prob_property(0.05, 0.05), None, n_prob=1).status == "passed"
    bad = run_property(_prob_property(0.5, 0.05), None, n_prob=1)
    assert bad.status == "failed" and bad.judgement.failures > 50


def test_verify_passes_the_reference_and_catches_a_planted_bug():
    assert verify(lambda X: analytic.limiting_ntk(X, 2), "relu-ntk", depth=2).ok
    result = verify(lambda X: analytic.h_infinity(X) * 2 * math.pi, "two-layer-h")
    assert not result.ok
    worst = min((r for r in result.failures), key=lambda r: r.counterexample.case.n)
    assert worst.counterexample.case.n == 1 and worst.counterexample.case.d == 1


def test_exceptions_and_nan_on_valid_cases_are_failures_not_crashes():
    def nan_on_three(X):
        K = analytic.limiting_ntk(X, 2)
        if X.shape[0] >= 3:
            K[0, 0] = math.nan
        return K

    result = verify(nan_on_three, "relu-ntk", depth=2, properties=["well-formed-symmetric"])
    assert not result.ok
    assert result.failures[0].counterexample.case.n == 3
    assert "non-finite" in result.failures[0].counterexample.verdict.notes

    def raises(X):
        raise RuntimeError("boom")

    result = verify(raises, "relu-ntk", depth=2, properties=["well-formed-symmetric"])
    assert not result.ok and "RuntimeError: boom" in result.failures[0].counterexample.verdict.notes
    assert result.failures[0].counterexample.case.n == 1


@pytest.mark.parametrize(
    "kernel,kwargs,message",
    [
        (42, {}, "kernel must be callable"),
        (lambda X: X, {"depth": 2}, r"returned shape \(3, 2\), expected \(3, 3\)"),
        (lambda X: torch.eye(3), {}, "needs a depth"),
        (lambda X: torch.eye(3), {"claim": "rbf", "depth": 2}, "claim must be one of"),
        (lambda X: torch.eye(3), {"claim": "two-layer-h", "sigma_w": 1.0}, "H∞"),
    ],
)
def test_usage_errors(kernel, kwargs, message):
    kwargs = {"claim": "relu-ntk", **kwargs}
    claim = kwargs.pop("claim")
    with pytest.raises(UsageError, match=message):
        verify(kernel, claim, **kwargs)


def test_load_callable_from_file_and_module(tmp_path):
    path = tmp_path / "kernels.py"
    path.write_text("def k(X):\n    return X @ X.T\n")
    assert load_callable(f"{path}:k")(torch.eye(2)).shape == (2, 2)
    assert load_callable("ntkverify.analytic:h_infinity") is analytic.h_infinity
    for spec, message in (
        (f"{path}:nope", "no attribute"),
        ("no_such_module_xyz:f", "cannot import"),
        ("justaname", "expected MODULE:CALLABLE"),
        (f"{tmp_path}/missing.py:f", "no such file"),
    ):
        with pytest.raises(UsageError, match=message):
            load_callable(spec)


def test_check_command_exit_codes(tmp_path):
    path = tmp_path / "kernels.py"
    path.write_text(
        textwrap.dedent("""
        import math
        from ntkverify import analytic
        def good(X):
            return analytic.h_infinity(X)
        def bad(X):
            return analytic.h_infinity(X) * 2 * math.pi
    """)
    )

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ntkverify.shell.cli", "check", *args, "--report-dir", str(tmp_path / "reports")],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    assert run(f"{path}:good", "--claim", "two-layer-h", "--property", "reference-agreement").returncode == 0
    assert run(f"{path}:bad", "--claim", "two-layer-h", "--property", "reference-agreement").returncode == 1
    for args in ((f"{path}:missing", "--claim", "two-layer-h"), (f"{path}:good", "--claim", "rbf")):
        usage = run(*args)
        assert usage.returncode == 2 and "usage error" in usage.stderr and len(usage.stderr.strip().splitlines()) == 1
