"""The suite, run by pytest: every registered property on every built-in kernel it applies to.

``pytest --pyargs ntkverify.properties`` runs it from an installed package, ``pytest properties/`` from the
repository. The Hypothesis profile in force (dev/ci/nightly) sets the number of examples. With
``--ntk-kernel MODULE:CALLABLE`` (and ``--ntk-claim``, ``--ntk-depth``, …) the plugin adds the properties that
apply to that kernel as ``test_user_kernel`` items; with ``--ntk-report-dir`` a failure writes a
counterexample report (see :mod:`ntkverify.shell.plugin`).
"""

from __future__ import annotations

import pytest

from ntkverify.properties.runner import builtin_pairs, run_property


@pytest.mark.parametrize(
    "prop,subject",
    [pytest.param(p, s, id=p.name if s is None else f"{p.name}[{s.name}]") for p, s in builtin_pairs()],
)
def test_property(prop, subject, ntk_record):
    result = run_property(prop, subject)
    report = ntk_record(result)
    assert result.ok, result.explain() + (f"\n  report: {report}" if report else "")


def test_user_kernel(ntk_user_property, ntk_user_subject, ntk_record):
    result = run_property(ntk_user_property, ntk_user_subject)
    report = ntk_record(result)
    assert result.ok, result.explain() + (f"\n  report: {report}" if report else "")
