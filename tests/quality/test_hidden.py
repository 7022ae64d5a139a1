"""Quality tier for bugs that hide at small sizes, ordinary scales or ordinary angles (docs/search.md).

Each planted bug of :data:`tests.quality.planted.HIDDEN` must be caught under the ``ci`` profile *and its
budget* (the sizes it affords) and shrunk to its threshold: a block bug above T to n = T + 1, a norm floor to
the drawn scale nearest 1 below it, an unguarded overflow to the drawn scale nearest 1 above its limit, a
correlation clip to a pair inside the clipped angle. The search strategies themselves shrink to the threshold
of any size T ≤ 512, of an angle scale and of a row scale.
"""

from __future__ import annotations

import math
import time

import pytest
import torch
from hypothesis import find, settings
from hypothesis import strategies as st

import ntkverify
from ntkverify.distributions import NearAntipodal, NearDuplicates
from ntkverify.properties.subjects import Subject
from ntkverify.shell.profiles import BUDGETS, register_profiles
from ntkverify.strategies import datasets
from ntkverify.strategies.core import ANGLE_SCALES
from ntkverify.strategies.sizes import boundary_sizes, sizes
from tests.quality.planted import CLIP, HIDDEN, NORM_FLOOR, _smallest_angle, textbook_for

pytestmark = pytest.mark.quality
QUICK = settings(max_examples=1000, database=None, derandomize=True)


def ci_verify(kernel, claim):
    register_profiles()
    start = time.perf_counter()
    result = ntkverify.verify(
        kernel, claim.name, settings=settings.get_profile("ci"), budget=BUDGETS["ci"], **claim.kwargs()
    )
    return result, time.perf_counter() - start


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("bug", HIDDEN, ids=lambda bug: bug.name)
def test_hidden_bug_is_caught_and_shrunk_to_its_threshold(bug, record_property):
    result, elapsed = ci_verify(bug.kernel, bug.claim)
    record_property("ntk_seconds", round(elapsed, 3))
    failures = result.failures
    assert failures, f"{bug.name} ({bug.description}) was not caught:\n{result.summary()}"
    if bug.caught_by is not None:
        assert bug.caught_by in {f.property.name for f in failures}, result.summary()
    control = Subject("textbook", textbook_for(bug.claim), bug.claim)
    for f in failures:
        case = f.counterexample.case
        assert case.n >= bug.min_size[0] and case.d >= bug.min_size[1], f"{bug.name}: below {bug.min_size}: {case!r}"
        assert f.property.check(control, case).holds, f"{bug.name}: {f.property.name} fails on a correct kernel too"
    # The search must reach the threshold: some property's counterexample sits exactly there. Others may stop at
    # the nearest size or scale at which *they* fail (a bound whose slack the float32 error exceeds only above
    # n = 177; the near-degenerate sets, whose scales are fixed at 1 and 1e-13), each still checked above.
    stopped = {f.property.name: f.counterexample.case for f in failures}
    assert any(bug.trigger(case.X) for case in stopped.values()), f"{bug.name}: none at {bug.threshold}: {stopped}"
    fits = [
        f for f in failures if f.counterexample.case.n <= bug.max_size[0] and f.counterexample.case.d <= bug.max_size[1]
    ]
    assert fits, f"{bug.name}: no counterexample within {bug.max_size}"


@pytest.mark.parametrize("T", [12, 24, 65, 100, 127, 200, 255, 300, 383, 511, 512])
def test_sizes_shrink_to_one_above_any_block_size(T):
    assert find(sizes(1, 640), lambda n: n > T, settings=QUICK) == T + 1


def test_boundary_sizes_are_powers_of_two_and_round_numbers_plus_or_minus_one():
    boundary = set(boundary_sizes(1, 640))
    assert {255, 256, 257, 383, 384, 385, 99, 100, 101, 599, 600, 601, 639, 640} <= boundary
    assert 601 not in boundary_sizes(1, 600) and max(boundary_sizes(1, 600)) == 600


@pytest.mark.parametrize("law", [NearDuplicates, NearAntipodal])
def test_angles_shrink_to_the_largest_angle_scale_below_a_threshold(law):
    """A failure needing an angle below √(2·1e-10) ≈ 1.41e-5 shrinks to the gap 1e-5 (d fixed at 3 so that
    angles are not forced to 0 or π)."""
    gaps = st.builds(law, gap=st.sampled_from(ANGLE_SCALES))
    found = find(
        datasets(d=3, distribution=gaps), lambda ds: _smallest_angle(ds.X) < math.sqrt(2 * CLIP), settings=QUICK
    )
    assert found.law.gap == 1e-5 and found.n == 2


def test_row_scales_shrink_to_the_scale_nearest_one_that_fails():
    small = find(
        datasets(d=1, distribution="sphere", scales=True),
        lambda ds: float(torch.linalg.vector_norm(ds.X, dim=1).min()) < NORM_FLOOR,
        settings=QUICK,
    )
    assert small.n == 1 and math.isclose(float(small.X.abs().max()), 1e-10)
    huge = find(
        datasets(d=1, distribution="sphere", scales=True),
        lambda ds: float(ds.X.abs().max()) > 1.2e77,
        settings=QUICK,
    )
    assert huge.n == 1 and math.isclose(float(huge.X.abs().max()), 1e80)
