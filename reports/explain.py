"""What is wrong, in numbers and words: the matrices behind a kernel counterexample (docs/accuracy.md#reports).

For a case of a kernel subject (a data set and a depth), :func:`explain_case` returns the data X, the kernel K,
the reference K_ref the property compared it with, the entrywise relative error |K − K_ref| / √(K_ref,ii
K_ref,jj), and the worst entry against its float64 budget with both values — the numbers ``report.md`` prints
and ``report.json`` stores. Matrices are kept in full up to :data:`FULL_MATRIX_MAX` rows; beyond that only the
worst entry is given.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ntkverify.case import KernelCase
from ntkverify.properties.catalogue import entry_budget
from ntkverify.properties.subjects import KernelError
from ntkverify.reports.store import encode_number

FULL_MATRIX_MAX = 8


def _matrix(A: torch.Tensor | None) -> list[list[Any]] | None:
    return None if A is None else [[encode_number(float(v)) for v in row] for row in A.tolist()]


def relative_errors(K: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """|K − K_ref| / √(K_ref,ii K_ref,jj) entrywise (inf where that scale is 0 and the entries differ, NaN where
    K is NaN)."""
    diag = ref.diagonal().abs()
    scale = torch.sqrt(torch.outer(diag, diag))
    err = (K - ref).abs()
    return torch.where(scale > 0, err / torch.where(scale > 0, scale, 1.0), torch.where(err > 0, torch.inf, err))


def worst_entry(K: torch.Tensor, ref: torch.Tensor, budget: torch.Tensor) -> dict[str, Any]:
    """The entry farthest outside its budget (a NaN entry first), with both values, the gap and the budget."""
    diff = (K - ref).abs()
    ratio = torch.where(budget > 0, diff / torch.where(budget > 0, budget, 1.0), torch.where(diff > 0, torch.inf, 0.0))
    ratio = torch.where(torch.isnan(ratio), torch.inf, ratio)
    i, j = (int(v) for v in torch.unravel_index(ratio.argmax(), ratio.shape))
    return {
        "index": [i, j],
        "value": float(K[i, j]),
        "reference": float(ref[i, j]),
        "difference": float(diff[i, j]),
        "relative": float(relative_errors(K, ref)[i, j]),
        "budget": float(budget[i, j]),
        "times_budget": float(ratio[i, j]),
    }


def in_words(worst: dict[str, Any]) -> str:
    """``K[0,1] = … but K_ref[0,1] = …: 1.25e-12 off (3e-13 relative); the float64 budget there is 1.1e-12``."""
    i, j = worst["index"]
    where = f"[{i},{j}]"
    if math.isnan(worst["value"]):
        return f"K{where} is NaN (K_ref{where} = {worst['reference']:.10g})"
    times = worst["times_budget"]
    scale = "∞ times" if math.isinf(times) else f"{times:.3g} times"
    return (
        f"K{where} = {worst['value']:.10g} but K_ref{where} = {worst['reference']:.10g}: "
        f"{worst['difference']:.3g} off ({worst['relative']:.2g} relative); the float64 budget there is "
        f"{worst['budget']:.3g}, so it is {scale} the budget"
    )


def explain_case(subject, case) -> dict[str, Any] | None:
    """The explanation record of a kernel case (module docstring), or None for other cases or kernels without a
    reference, or when the kernel cannot be evaluated on the case."""
    if subject is None or not isinstance(case, KernelCase) or not subject.claim.has_reference:
        return None
    try:
        K = subject.kernel_unchecked(case.X, case.depth)
    except KernelError:
        return None
    depth = subject.depth_for(case.depth)
    ref = subject.reference_kernel(case.X, depth).cpu()
    if K.shape != ref.shape:
        return None
    budget = entry_budget(subject, case, ref)
    full = case.n <= FULL_MATRIX_MAX
    worst = worst_entry(K, ref, budget)
    return {
        "X": _matrix(case.X.cpu()) if full else None,
        "K": _matrix(K) if full else None,
        "K_ref": _matrix(ref) if full else None,
        "relative_error": _matrix(relative_errors(K, ref)) if full else None,
        "worst": {k: encode_number(v) if isinstance(v, float) else v for k, v in worst.items()},
        "in_words": in_words(worst),
        "diagonal": subject.claim.diagonal_note(),
    }
