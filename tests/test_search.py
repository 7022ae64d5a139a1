"""Search budgets, cost models, domains and the large paths they reach (docs/search.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import find, settings

import ntkverify
from ntkverify import analytic, spectra
from ntkverify.properties.budget import DEFAULT_BUDGET, register_budget, search_budget
from ntkverify.properties.core import ENTRYWISE, SPECTRUM, get_property
from ntkverify.properties.runner import run_property
from ntkverify.properties.subjects import BUILTIN_SUBJECTS
from ntkverify.shell.profiles import BUDGETS
from ntkverify.strategies import datasets
from tests.quality.planted import h_infinity_assumes_unit_norm
from tests.test_nightly import coin_property

QUICK = settings(max_examples=200, database=None, derandomize=True)


def test_profiles_declare_their_sizes_and_the_ci_budget_reaches_the_tiled_path():
    """Kernel properties reach n ≥ 600 under ci (past the 256-row analytic tiles), thousands under nightly."""
    for cost in (ENTRYWISE, SPECTRUM):
        assert cost.limits(BUDGETS["ci"]).max_n >= 600 > analytic.CPU_TILE
        assert cost.limits(BUDGETS["nightly"]).max_n >= 1000
        assert cost.limits(BUDGETS["dev"]).max_n < cost.limits(BUDGETS["ci"]).max_n
    assert search_budget("ci") is BUDGETS["ci"] and search_budget("hypothesis-default") is BUDGETS["dev"]


def test_sizes_and_trials_follow_the_budget_not_the_profile_name():
    """The runner finds the budget of the profile in force by its name in the registry the shell fills: a renamed
    copy of ``nightly`` draws nightly's sizes and trials, a profile that registered no budget gets the documented
    default, and an explicit budget wins."""
    coin, psd = coin_property(), get_property("psd")  # coin: 5 declared trials
    previous = settings.get_current_profile_name()
    try:
        settings.register_profile("renamed-nightly", settings.get_profile("nightly"))
        register_budget("renamed-nightly", BUDGETS["nightly"])
        settings.load_profile("renamed-nightly")
        assert run_property(coin).examples == 5 * BUDGETS["nightly"].trial_factor == 50
        assert psd.size_limits() == psd.size_limits(BUDGETS["nightly"]) != psd.size_limits(DEFAULT_BUDGET)
        settings.register_profile("no-budget", settings.get_profile("nightly"))
        settings.load_profile("no-budget")
        assert search_budget() is DEFAULT_BUDGET and run_property(coin).examples == 5
    finally:
        settings.load_profile(previous)
    assert run_property(coin, budget=replace(DEFAULT_BUDGET, trial_factor=3)).examples == 15


def test_cost_caps_each_axis_within_the_example_budget():
    budget = BUDGETS["ci"]
    limits = SPECTRUM.limits(budget)
    assert SPECTRUM.seconds(n=limits.max_n) <= budget.example_seconds < SPECTRUM.seconds(n=limits.max_n + 1)


@pytest.mark.parametrize("domain,radius", [("unit-sphere", lambda d: 1.0), ("sphere-sqrt-d", lambda d: d**0.5)])
def test_data_are_drawn_in_the_claimed_domain(domain, radius):
    def off(ds):
        norms = torch.linalg.vector_norm(ds.X, dim=1)
        return bool(((norms - radius(ds.d)).abs() > 1e-12 * radius(ds.d)).any())

    with pytest.raises(Exception, match="No examples"):
        find(datasets(domain=domain, scales=True, max_n=40), off, settings=QUICK)


def test_a_kernel_failing_only_off_the_unit_sphere_is_told_its_domain():
    """DZPS19's unit-norm H∞ formula fails on data of other norms; the result says so and suggests the domain,
    and under that domain it passes."""
    ci = settings(settings.get_profile("ci"), max_examples=20)
    result = ntkverify.verify(
        h_infinity_assumes_unit_norm, "two-layer-h", properties=["diagonal-identity"], settings=ci
    )
    assert not result.ok and "--domain unit-sphere" in result.note and "note:" in result.summary()
    on_sphere = ntkverify.verify(
        h_infinity_assumes_unit_norm, "two-layer-h", properties=["diagonal-identity"], settings=ci, domain="unit-sphere"
    )
    assert on_sphere.ok and on_sphere.note is None


def test_psd_property_runs_the_iterative_path_when_its_threshold_is_lowered(monkeypatch):
    """The iterative λ_min path (N ≥ 6000 by default) is exercised on small N by lowering its threshold."""
    calls = []
    iterative = spectra.lambda_min_iterative
    monkeypatch.setattr(spectra, "ITERATIVE_MIN_SIZE", 12)
    monkeypatch.setattr(spectra, "lambda_min_iterative", lambda K, **kw: calls.append(K.shape[0]) or iterative(K, **kw))
    result = run_property(
        get_property("psd"),
        BUILTIN_SUBJECTS["limiting-ntk"],
        settings=settings(QUICK, max_examples=30),
        budget=BUDGETS["dev"],
    )
    assert result.ok and calls and min(calls) >= 12


def test_lambda_min_threshold_is_a_parameter():
    K = analytic.limiting_ntk(torch.randn(20, 3, dtype=torch.float64), 2)
    assert spectra.lambda_min(K, iterative_from=10).method != spectra.lambda_min(K).method
