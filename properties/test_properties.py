"""The suite, run by pytest: every registered property on every built-in kernel it applies to.

``pytest --pyargs ntkverify.properties`` runs it from an installed package, ``pytest properties/`` from the
repository. The Hypothesis profile in force (dev/ci/nightly) sets the number of examples.
"""

from __future__ import annotations

import pytest

from ntkverify.properties.runner import builtin_pairs, run_property


@pytest.mark.parametrize(
    "prop,subject",
    [pytest.param(p, s, id=p.name if s is None else f"{p.name}[{s.name}]") for p, s in builtin_pairs()],
)
def test_property(prop, subject, record_property):
    result = run_property(prop, subject)
    record_property("ntk_kind", prop.kind.value)
    record_property("ntk_examples", result.examples)
    record_property("ntk_failures", result.failures)
    record_property("ntk_tightest_margin", result.tightest_margin)
    assert result.ok, result.explain()
