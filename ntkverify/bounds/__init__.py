"""The bounds library: every inequality of the theory as a documented, typed object (docs/statements.md).

>>> from ntkverify import bounds
>>> [b.name for b in bounds.all_bounds()][:3]                       # doctest: +SKIP
>>> print(bounds.explain("hermite_gershgorin_lower"))               # doctest: +SKIP
>>> bounds.get_bound("trivial_upper").margin(bounds.KernelCase(X, depth=3))   # doctest: +SKIP

Cases (:mod:`ntkverify.case`): :class:`KernelCase` (data and depth, limiting kernels) and :class:`WeightsCase`
(data and weights).
Modules: :mod:`.matrix` (bounds for any kernel matrix), :mod:`.limiting` (limiting NTK, H∞, sphere
statistics), :mod:`.empirical` (finite-width), :mod:`.arora` (ADHLW19a quantities).
"""

from ntkverify.bounds import empirical, limiting, matrix  # noqa: F401  (registers the bounds)
from ntkverify.bounds.arora import generalization_term, kernel_gd_residuals, residual_norms
from ntkverify.bounds.core import (
    Bound,
    Citation,
    Data,
    Kind,
    Margin,
    Measure,
    Side,
    Target,
    all_bounds,
    declare,
    explain,
    get_bound,
)
from ntkverify.case import KernelCase, WeightsCase

__all__ = [
    "Bound",
    "Citation",
    "Data",
    "KernelCase",
    "Kind",
    "Margin",
    "Side",
    "Measure",
    "Target",
    "WeightsCase",
    "all_bounds",
    "declare",
    "explain",
    "generalization_term",
    "get_bound",
    "kernel_gd_residuals",
    "residual_norms",
]
