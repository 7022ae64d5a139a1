"""The suite, run by pytest: every registered property on every built-in kernel it applies to.

``pytest --pyargs ntkverify.properties`` runs it from an installed package, ``pytest properties/`` from the
repository. The Hypothesis profile in force (dev/ci/nightly) sets the number of examples.
"""

from __future__ import annotations

import pytest

from ntkverify.properties.core import all_properties
from ntkverify.properties.runner import run_property
from ntkverify.properties.subjects import BUILTIN_SUBJECTS


def _pairs():
    for prop in all_properties():
        matching = [s for s in BUILTIN_SUBJECTS.values() if s.name in prop.kernels]
        if not matching and not set(prop.kernels) & {"user-kernel"}:
            yield pytest.param(prop, None, id=prop.name)
        for subject in matching:
            if prop.applies(subject):
                yield pytest.param(prop, subject, id=f"{prop.name}[{subject.name}]")


@pytest.mark.parametrize("prop,subject", list(_pairs()))
def test_property(prop, subject, record_property, request):
    result = run_property(prop, subject)
    request.config.stash.setdefault(_RESULTS, []).append(result) if hasattr(request.config, "stash") else None
    record_property("ntk_kind", prop.kind.value)
    record_property("ntk_examples", result.examples)
    record_property("ntk_failures", result.failures)
    record_property("ntk_tightest_margin", result.tightest_margin)
    assert result.ok, result.explain()


_RESULTS = pytest.StashKey[list]()
