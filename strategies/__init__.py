"""ntkverify.strategies: Hypothesis strategies and data laws for NTK properties.

Write ``@given(cases())`` to draw a data set and a network; see :mod:`ntkverify.strategies.core` for the
shrinking design, :mod:`ntkverify.case` for the cases drawn and :mod:`ntkverify.distributions` for the laws and
their metadata.
"""

from ntkverify.distributions import ADVERSARIAL, DISTRIBUTIONS, Distribution, get_distribution
from ntkverify.strategies.core import (
    SIMPLE_VALUES,
    activations,
    architectures,
    cases,
    datasets,
    distributions,
    explicit_datasets,
    label_case,
    target_margin,
)

__all__ = [
    "ADVERSARIAL",
    "DISTRIBUTIONS",
    "SIMPLE_VALUES",
    "Distribution",
    "activations",
    "architectures",
    "cases",
    "datasets",
    "distributions",
    "explicit_datasets",
    "get_distribution",
    "label_case",
    "target_margin",
]
