"""ntkverify.strategies: Hypothesis strategies and data laws for NTK properties.

Write ``@given(cases())`` to draw a data set and a network; see :mod:`ntkverify.strategies.core` for the
shrinking design and :mod:`ntkverify.strategies.distributions` for the laws and their metadata.
"""

from ntkverify.strategies.core import (
    SIMPLE_VALUES,
    Case,
    Dataset,
    activations,
    architectures,
    cases,
    datasets,
    distributions,
    explicit_datasets,
    label_case,
    target_margin,
    zero_lambda_min_expected,
)
from ntkverify.strategies.distributions import ADVERSARIAL, DISTRIBUTIONS, Distribution, get_distribution

__all__ = [
    "ADVERSARIAL",
    "DISTRIBUTIONS",
    "SIMPLE_VALUES",
    "Case",
    "Dataset",
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
    "zero_lambda_min_expected",
]
