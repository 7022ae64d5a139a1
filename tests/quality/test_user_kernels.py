"""Quality tier for users' kernels: the float64 budgets catch what a looser allowance let through
(docs/accuracy.md), and every correct style of evaluation passes on the same cases."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hypothesis import settings

import ntkverify
from ntkverify.case import KernelCase
from ntkverify.properties import get_property
from ntkverify.properties.subjects import Subject
from ntkverify.properties.verify import UsageError
from ntkverify.shell.cli import main
from ntkverify.shell.profiles import register_profiles
from tests.quality import planted_empirical
from tests.quality.planted import SEED_NTK_3, atan2_for, clipped_ntk, kernel_with_depth_argument, textbook_for

pytestmark = pytest.mark.quality


def _close_pair(gap: float, depth: int) -> KernelCase:
    X = torch.tensor([[1.0, 0.0], [math.cos(gap), math.sin(gap)]], dtype=torch.float64)
    return KernelCase(X, depth)


def correlation_clip_3(X):
    return clipped_ntk(X, 3, -1 + 1e-12, 1 - 1e-12)


def test_clip_collapses_the_lambda_min_of_a_close_pair_and_is_caught():
    """Two unit points 1e-6 apart, depth 3: λ_min(K⁽³⁾) = 9.55e-7, the ±(1 − 1e-12) clip leaves 5e-13 (wrong by
    100 %), more than ten times the Weyl budget; the λ_min property fails it and names both spectra, and the
    correct styles pass the same case. At 1e-7 apart the clip is off by 0.9 of the budget (faithful arccos code
    may be off by that much there: its angles are √u-accurate), and the diagonal property catches it."""
    prop = get_property("lambda-min-agreement")
    clip = Subject("correlation_clip_3", correlation_clip_3, SEED_NTK_3)
    verdict = prop.check(clip, _close_pair(1e-6, 3))
    assert not verdict.holds and verdict.observed > 10
    assert "λ_min(K_ref) = 9.54931e-07" in verdict.notes and "spectrum(K) = [" in verdict.notes
    for gap in (1e-6, 1e-7):
        for style in (textbook_for, atan2_for):
            control = Subject(style.__name__, style(SEED_NTK_3), SEED_NTK_3)
            assert prop.check(control, _close_pair(gap, 3)).holds, (style.__name__, gap)
    assert not get_property("diagonal-identity").check(clip, _close_pair(1e-7, 3)).holds


PLANTED_FILE = Path(__file__).with_name("planted.py")


def _check(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_wrong_signature_is_one_usage_error_not_eight_failures(capsys):
    with pytest.raises(UsageError, match=r"kernel_with_depth_argument\(X, L\) cannot be called as kernel\(X\)"):
        ntkverify.verify(kernel_with_depth_argument, "relu-ntk", depth=2)
    code, out, err = _check(capsys, f"{PLANTED_FILE}:kernel_with_depth_argument", "--depth", "2")
    assert code == 2 and out == "", out
    assert len(err.strip().splitlines()) == 1 and "cannot be called as kernel(X)" in err


@pytest.mark.parametrize("given", ["--sigma-w", "--sigma-b"])
def test_one_sigma_without_the_other_is_a_usage_error(given, capsys):
    code, _, err = _check(capsys, f"{PLANTED_FILE}:textbook_h_infinity", "--depth", "2", given, "0")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "give both" in err


# ---------------------------------------------------------------------------------------------------------
# the empirical-ntk claim: users' (model, X) -> JJᵀ code (docs/accuracy.md#empirical)

EMPIRICAL_DEFECTS = {
    "missing_bias_term": "empirical-agreement",
    "dropped_layer": "empirical-agreement",
    "float32_accumulation": "empirical-agreement",
    "sum_over_logits": "empirical-agreement",
}


def _empirical_settings():
    """The ci profile with 15 examples: each example draws a module and its data (four kinds of module)."""
    register_profiles()
    return settings(settings.get_profile("ci"), max_examples=15)


@pytest.mark.parametrize("name", sorted(EMPIRICAL_DEFECTS))
def test_empirical_ntk_defect_is_caught(name):
    result = ntkverify.verify(getattr(planted_empirical, name), "empirical-ntk", settings=_empirical_settings())
    failed = {r.property.name: r for r in result.failures}
    assert EMPIRICAL_DEFECTS[name] in failed, result.summary()
    case = failed[EMPIRICAL_DEFECTS[name]].counterexample.case
    assert case.n <= 2 and case.d <= 3, case
    if name == "sum_over_logits":  # identical for one output: only a module with several outputs shows it
        assert case.outputs > 1


@pytest.mark.parametrize("name", ["jacobian_ntk", "autograd_ntk"])
def test_correct_empirical_ntk_passes(name):
    result = ntkverify.verify(getattr(planted_empirical, name), "empirical-ntk", settings=_empirical_settings())
    assert result.ok and len(result.results) == 4, result.summary()
