"""Quality tier: ``ntkverify.verify`` must find every planted bug and shrink it to a small counterexample, and
report nothing on correct kernels over the same runs (in the spirit of Hypothesis' own quality tests).

Every run uses the ``ci`` profile (derandomised, 40 examples per property) and its budget of sizes (n up to
~650, rows across scales), taken explicitly from :mod:`ntkverify.shell.profiles` so the result does not depend on
the profile this pytest run loaded. (The runner
skips Hypothesis' ``explain`` phase, which only annotates the shrunk example.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import settings

import ntkverify
from ntkverify.properties.subjects import Subject
from ntkverify.properties.verify import load_callable
from ntkverify.shell.profiles import BUDGETS, register_profiles
from tests.quality.planted import CLAIMS, CORRECT, PLANTED, TILE, textbook_for

pytestmark = pytest.mark.quality
PLANTED_FILE = Path(__file__).with_name("planted.py")  # the command line loads kernels from this file


def ci_settings() -> settings:
    register_profiles()
    return settings.get_profile("ci")


def _verify(kernel, claim, **kw):
    start = time.perf_counter()
    result = ntkverify.verify(kernel, claim.name, settings=ci_settings(), budget=BUDGETS["ci"], **claim.kwargs(), **kw)
    return result, time.perf_counter() - start


def test_registry_is_complete():
    """At least 12 distinct bugs, loadable from the command line, with size bounds as the quality tier demands
    (n, d ≤ 4 where the bug allows; the tiling bug exactly at n = TILE + 1), each claim covered by at least two
    correct kernels."""
    names = [bug.name for bug in PLANTED]
    assert len(PLANTED) >= 12 and len(set(names)) == len(names)
    for bug in PLANTED:
        assert load_callable(f"{PLANTED_FILE}:{bug.name}").__name__ == bug.kernel.__name__
        fits = all(m <= 4 or low > 4 for m, low in zip(bug.max_size, bug.min_size))
        assert fits, f"{bug.name}: size bound {bug.max_size} above 4 for a bug that shows at {bug.min_size}"
        assert all(low <= m for low, m in zip(bug.min_size, bug.max_size)), bug.name
    tiled = next(b for b in PLANTED if b.name == "tiled_not_mirrored")
    assert tiled.min_size[0] == tiled.max_size[0] == TILE + 1  # exact up to one tile: the minimal case is n = TILE + 1
    assert {c.claim for c in CORRECT} == set(CLAIMS)
    assert all(sum(c.claim == claim for c in CORRECT) >= 2 for claim in CLAIMS)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("bug", PLANTED, ids=lambda bug: bug.name)
def test_planted_bug_is_caught_and_shrunk(bug, record_property):
    result, elapsed = _verify(bug.kernel, bug.claim, **({} if bug.timeout is None else {"kernel_timeout": bug.timeout}))
    failures = result.failures
    record_property("ntk_seconds", round(elapsed, 3))
    record_property("ntk_failed", ",".join(f.property.name for f in failures))
    assert failures, f"{bug.name} ({bug.description}) was not caught:\n{result.summary()}"
    failed = {f.property.name for f in failures}
    if bug.caught_by is not None:
        assert bug.caught_by in failed, f"{bug.name}: expected {bug.caught_by} to fail, got {sorted(failed)}"

    sizes = {f.property.name: (f.counterexample.case.n, f.counterexample.case.d) for f in failures}
    (max_n, max_d), (min_n, min_d) = bug.max_size, bug.min_size
    smallest = min(sizes.values(), key=lambda nd: (nd[0] * nd[1], nd))
    record_property("ntk_smallest", f"n={smallest[0]} d={smallest[1]}")
    assert any(n <= max_n and d <= max_d for n, d in sizes.values()), f"{bug.name}: none within {bug.max_size}: {sizes}"
    assert all(n >= min_n and d >= min_d for n, d in sizes.values()), f"{bug.name}: below {bug.min_size}: {sizes}"

    if bug.diagnosis is not None:
        assert any(bug.diagnosis in finding for finding in result.diagnosis), f"{bug.name}: {result.diagnosis}"

    # Each counterexample is the bug's, not the suite's: a correct kernel passes the same check on the same case.
    c = bug.claim
    control = Subject("textbook", textbook_for(c), c)
    for f in failures:
        verdict = f.property.check(control, f.counterexample.case)
        assert verdict.holds, f"{bug.name}: {f.property.name} also fails on a correct kernel: {verdict.notes}"


@pytest.mark.parametrize("correct", CORRECT, ids=lambda c: c.name)
def test_correct_kernel_has_no_violations(correct, record_property):
    result, elapsed = _verify(correct.kernel, correct.claim)
    record_property("ntk_seconds", round(elapsed, 3))
    assert result.results, f"no property applies to {correct.name}"
    assert result.ok, result.summary()
