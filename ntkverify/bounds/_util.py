"""Small helpers shared by the bound modules: certified arithmetic and certified λ_min of a case's matrices."""

from __future__ import annotations

import math

import torch

from ntkverify import spectra
from ntkverify.device import unit_roundoff
from ntkverify.spectra import Certified


def certified(case, value: float, error: float, method: str) -> Certified:
    """``value ± error``, computed by ``method``, in the dtype and on the device of the case's data."""
    return Certified(float(value), float(error), case.X.dtype, case.X.device, method)


def certified_lambda_min(M: torch.Tensor, entry_error: float) -> Certified:
    """λ_min of ``M`` certified (:func:`ntkverify.spectra.lambda_min`) when its entries are known to ``entry_error``."""
    return spectra.lambda_min(M, entry_error=entry_error)


def product(a: Certified, b: Certified, method: str) -> Certified:
    """``a·b`` with ``|ab − a'b'| ≤ |a| e_b + |b| e_a + e_a e_b``."""
    err = abs(a.value) * b.error + abs(b.value) * a.error + a.error * b.error
    return Certified(a.value * b.value, err * (1 + 4 * unit_roundoff(a.dtype)), a.dtype, a.device, method)


def certified_sum(items: list[Certified], method: str, case) -> Certified:
    """Sum of certified numbers (errors add; the float sum is exact-rounded by ``math.fsum``)."""
    value = math.fsum(c.value for c in items)
    error = math.fsum(c.error for c in items) + unit_roundoff(case.X.dtype) * abs(value)
    return certified(case, value, error, method)


def maximum(items: list[Certified], method: str, case) -> Certified:
    """``max`` of certified numbers: ``|max a − max a'| ≤ max |a − a'|``."""
    return certified(case, max(c.value for c in items), max(c.error for c in items), method)


def minimum(items: list[Certified], method: str, case) -> Certified:
    return certified(case, min(c.value for c in items), max(c.error for c in items), method)


def monotone_error(f, x: float, dx: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """Error of ``f(x)`` for a monotone ``f`` when ``x`` is known to ``±dx`` within ``[lo, hi]``."""
    fx = f(x)
    return max(abs(f(min(x + dx, hi)) - fx), abs(fx - f(max(x - dx, lo))))
