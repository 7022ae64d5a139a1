"""ntkverify.strategies: valid draws, lazy argument validation, determinism and shrink quality.

The quality tests follow Hypothesis' own: ``minimal(strategy, condition)`` must return one specific,
smallest example.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, find, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ntkverify.case import degeneracy
from ntkverify.strategies import (
    ADVERSARIAL,
    DISTRIBUTIONS,
    activations,
    architectures,
    cases,
    datasets,
    distributions,
    explicit_datasets,
    label_case,
    target_margin,
)


def minimal(strategy, condition=lambda _: True, max_examples=2000):
    """The shrunk example satisfying ``condition`` (derandomised, no database)."""
    return find(strategy, condition, settings=settings(max_examples=max_examples, derandomize=True, database=None))


# --------------------------------------------------------------------------------------------------------
# Valid draws


@given(cases(device="cpu"))
def test_cases_are_valid_and_reproducible_from_their_repr(case):
    assert case.X.shape == (case.n, case.d) and case.X.dtype == torch.float64
    assert bool(torch.isfinite(case.X).all())
    assert case.architecture.d == case.d and 1 <= case.depth <= 4
    assert all(1 <= w <= 64 for w in case.architecture.widths) and case.wide_layer is None
    assert 1 <= case.n <= 12 and 1 <= case.d <= 12
    if case.law is None:
        # Entries are SIMPLE_VALUES times powers of 2 (row doubling): multiples of 1/2.
        assert case.seed is None and torch.equal(2 * case.X, (2 * case.X).round())
        explicit = r"NetworkCase\(n=\d+, d=\d+, law=explicit, arch=L\d\[[\d,]*\]( \w+)?, X=\[.*\]\)"
        assert re.fullmatch(explicit, repr(case))
    else:
        again = case.law.sample(case.n, case.d, np.random.default_rng(case.seed), device="cpu")
        assert torch.equal(case.X, again)
        assert re.fullmatch(r"NetworkCase\(n=\d+, d=\d+, law=\S.*, arch=L\d\[[\d,]*\]( \w+)?, seed=\d+\)", repr(case))
    label_case(case)


@given(cases(wide_layer=True, shape="pyramidal", wide_factor=2, device="cpu"))
def test_wide_layer_and_pyramidal_widths(case):
    widths = case.architecture.widths
    assert case.depth >= 2 and 1 <= case.wide_layer <= case.depth - 1
    assert widths[case.wide_layer - 1] >= math.ceil(2 * case.n)
    assert list(widths) == sorted(widths, reverse=True)


@given(architectures(depth=3, shape="constant", activation="erf"))
def test_constant_widths_and_fixed_activation(arch):
    assert arch.depth == 3 and len(set(arch.widths)) == 1 and arch.activation == "erf"


@given(distributions(require_assumptions=True))
def test_require_assumptions(law):
    assert law.satisfies_assumptions


@given(activations())
def test_activations_are_known(name):
    from ntkverify.activations import ACTIVATIONS

    assert name in ACTIVATIONS


@pytest.mark.parametrize("family", list(DISTRIBUTIONS) + list(ADVERSARIAL) + ["explicit"])
def test_every_family_is_reachable_and_shrinks_to_the_smallest_sizes(family):
    ds = minimal(datasets(device="cpu"), lambda ds: ds.family == family)
    assert (ds.n, ds.d) == (1, 1)
    assert ds.seed == (None if family == "explicit" else 0)


# --------------------------------------------------------------------------------------------------------
# Shrink quality


def test_structure_shrinks_to_the_boundary_of_the_condition():
    case = minimal(cases(device="cpu"), lambda c: c.n >= 3 and c.depth >= 2)
    assert (case.n, case.d, case.depth, case.architecture.widths) == (3, 1, 2, (1,))
    assert (case.family, case.seed, case.architecture.activation) == ("sphere", 0, "relu")
    assert repr(case) == "NetworkCase(n=3, d=1, law=sphere, arch=L2[1], seed=0)"


def test_wide_layer_shrinks_to_layer_one_of_width_c_times_n():
    case = minimal(cases(wide_layer=True, device="cpu"), lambda c: c.n >= 2 and c.depth >= 3)
    assert case.architecture.widths == (8, 1) and case.wide_layer == 1
    assert repr(case) == "NetworkCase(n=2, d=1, law=sphere, arch=L3[8*,1], seed=0)"


def test_adversarial_failure_shrinks_to_small_integers_and_halves():
    """A planted failure: distinct nonzero rows that are positively parallel (λ_min = 0, docs/statements.md#A9 (i))."""

    def parallel_distinct(ds):
        distinct = len({tuple(row) for row in ds.X.tolist()}) == ds.n
        return bool(ds.X.any(dim=1).all()) and distinct and degeneracy(ds.X) is not None

    ds = minimal(explicit_datasets(device="cpu"), parallel_distinct)
    assert ds.X.tolist() == [[1.0], [0.5]]
    assert repr(ds) == "Case(n=2, d=1, law=explicit, X=[[1], [0.5]])"


def test_explicit_rows_are_not_collinear_by_construction():
    """Without a shared fill value, a full-rank 3 × 3 array exists and shrinks to a signed permutation-like
    array of ones."""
    ds = minimal(explicit_datasets(n=3, d=3, device="cpu"), lambda ds: int(torch.linalg.matrix_rank(ds.X)) == 3)
    assert set(ds.X.flatten().tolist()) <= {0.0, 1.0, -1.0}


# --------------------------------------------------------------------------------------------------------
# Determinism


def _collect(hypothesis_seed: int) -> list[tuple[str, torch.Tensor]]:
    drawn = []

    @seed(hypothesis_seed)
    @settings(max_examples=15, derandomize=False, database=None, suppress_health_check=list(HealthCheck))
    @given(cases(device="cpu"))
    def record(case):
        drawn.append((repr(case), case.X.clone()))

    record()
    return drawn


def test_same_hypothesis_seed_gives_the_same_data_bit_for_bit():
    first, second = _collect(1234), _collect(1234)
    assert [r for r, _ in first] == [r for r, _ in second]
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(first, second))
    assert [r for r, _ in first] != [r for r, _ in _collect(4321)]


# --------------------------------------------------------------------------------------------------------
# Argument validation (lazy, naming the argument)


@pytest.mark.parametrize(
    "strategy, name",
    [
        (lambda: cases(n=0), "n"),
        (lambda: cases(d=-1), "d"),
        (lambda: cases(depth=0), "depth"),
        (lambda: cases(widths=[3, 0]), r"widths\[1\]"),
        (lambda: cases(depth=3, widths=[4]), "depth"),
        (lambda: cases(shape="square"), "shape"),
        (lambda: cases(wide_layer=0), "wide_layer"),
        (lambda: cases(wide_layer=2, depth=2), "depth"),
        (lambda: cases(wide_factor=0), "wide_factor"),
        (lambda: cases(activation="sigmoid"), "activation"),
        (lambda: cases(distribution="cauchy"), "distribution"),
        (lambda: cases(device="tpu"), "device"),
        (lambda: datasets(n=2.5), "n"),
        (lambda: distributions(families=["sphere", "nope"]), "families"),
        (lambda: distributions(families=["laplace"], require_assumptions=True), "require_assumptions"),
        (lambda: distributions(adversarial="yes"), "adversarial"),
        (lambda: architectures(wide_layer=True), "n"),
        (lambda: activations(["relu", "swish"]), "names"),
        (lambda: explicit_datasets(values=[]), "values"),
    ],
)
def test_invalid_arguments_raise_lazily_and_name_the_argument(strategy, name):
    built = strategy()  # building never raises
    with pytest.raises(InvalidArgument, match=name):
        built.validate()


def test_a_bad_value_drawn_from_a_user_strategy_names_the_argument():
    with pytest.raises(InvalidArgument, match="n must be >= 1"):
        find(datasets(n=st.just(0)), lambda _: True)


# --------------------------------------------------------------------------------------------------------
# Search helpers


@given(st.floats(-10, 10))
def test_target_margin_negates_and_normalises(margin):
    assert target_margin(margin, label="m", scale=4.0) == -margin / 4.0
    assert math.isnan(target_margin(math.nan, label="nan"))


def test_target_margin_rejects_a_bad_scale():
    with pytest.raises(InvalidArgument, match="scale"):
        target_margin(1.0, scale=0.0)


def test_sizes_come_from_explicit_bounds_not_the_profile_name():
    """Default sizes stay small whatever profile is loaded; a larger ``max_n``/``max_width``/``max_depth`` (which
    the properties take from the profile's ``SearchBudget``) reaches larger cases, shrunk to the smallest."""
    from hypothesis import find, settings
    from hypothesis.errors import NoSuchExample

    from ntkverify.strategies import cases, datasets

    quick = settings(max_examples=200, database=None, derandomize=True)
    with pytest.raises(NoSuchExample):
        find(datasets(distribution="sphere"), lambda ds: ds.n > 12, settings=quick)
    assert find(datasets(distribution="sphere", max_n=600), lambda ds: ds.n > 300, settings=quick).n == 301
    wide = find(cases(d=1, max_width=300), lambda c: max(c.architecture.widths, default=0) > 100, settings=quick)
    assert max(wide.architecture.widths) == 101
    assert find(cases(d=1, max_depth=6), lambda c: c.depth > 4, settings=quick).depth == 5
