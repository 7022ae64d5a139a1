"""Inputs near the float64 overflow and underflow limits: an exact result by rescaling, or a clear error.

Rule (derived, see ``docs/search.md#overflow``). A kernel of a bias-free network with a positively
1-homogeneous activation (ReLU, leaky ReLU) is 2-homogeneous in the data: K(cX) = c²K(X) for c > 0, for the
limiting kernels (every G⁽ˡ⁾, Ġ⁽ˡ⁾ and K⁽ᴸ⁾; NMM21 eq. (4)) and the empirical NTK alike (each layer's features
scale by c, the backward factors not at all). With c = 2^{−k} both multiplications are exact in binary
floating point (only the exponent changes) unless they leave the normal range, so

    K(X) = 2^{2k} · K(2^{−k} X)

evaluates data of any magnitude at magnitude ≈ 1 and returns the correctly scaled result: exact up to the
rounding of the kernel itself, except where the true entries leave float64's range. Then:

* entries above ≈ 1.8e308 cannot be represented: a ``ValueError`` names the limit (the largest entry,
  e.g. L·max‖x_i‖² for the seed NTK, must stay below 1.8e308);
* entries below ≈ 2.2e-308 become subnormal or zero, as their correctly rounded value does.

Data with max |x_ij| in [2^−200, 2^200] are used as given (k = 0), so ordinary results are bit-for-bit those
of the plain evaluation. A kernel without this homogeneity (a bias, or erf/tanh/GELU/softplus) has no exact
rescaling: its squared row norms must be finite, else a ``ValueError`` names the limit (‖x‖ < 1.3e154), and a
non-finite result is an error too, never a silent NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

SAFE_EXPONENT = 200  # data with max |x_ij| in [2^-200, 2^200] are evaluated as given
_STEP = 500  # 2^±500 is a normal float64: multiply by 2^m in steps of at most this
_MAX_EXPONENT = 1024  # float64 values are below 2^1024
ROW_NORM_LIMIT = math.sqrt(torch.finfo(torch.float64).max)  # ≈ 1.34e154: ‖x‖² overflows above


def power_of_two_shift(X: torch.Tensor) -> int:
    """k such that max |2^{−k} X| is in [1/2, 1), or 0 when max |X| is already in [2^−200, 2^200] (or X = 0)."""
    top = float(X.abs().max()) if X.numel() else 0.0
    if top == 0.0 or 2.0**-SAFE_EXPONENT <= top <= 2.0**SAFE_EXPONENT:
        return 0
    return math.frexp(top)[1]


def times_power_of_two(T: torch.Tensor, exponent: int) -> torch.Tensor:
    """T · 2^exponent, exact while the result stays normal (done in steps that are themselves normal floats)."""
    while exponent:
        step = max(-_STEP, min(_STEP, exponent))
        T = T * 2.0**step
        exponent -= step
    return T


def homogeneous_evaluation(
    fn: Callable[[torch.Tensor], list[torch.Tensor]], X: torch.Tensor, degrees: list[int] | int, what: str
) -> list[torch.Tensor]:
    """``fn(X)`` for a ``fn`` whose i-th output is ``degrees[i]``-homogeneous in X (2 for kernels, 0 for Ġ; an
    int for all outputs), evaluated at 2^{−k}X and scaled back by 2^{degree·k} (module docstring). Raises
    ``ValueError`` when an entry of the true result exceeds float64's range."""
    shift = power_of_two_shift(X)
    outputs = fn(times_power_of_two(X, -shift) if shift else X)
    degrees = [degrees] * len(outputs) if isinstance(degrees, int) else degrees
    if not shift:
        return [check_finite(T, what) for T in outputs]
    for T, degree in zip(outputs, degrees):
        top = float(T.abs().max()) if T.numel() else 0.0
        if top and math.frexp(top)[1] + degree * shift > _MAX_EXPONENT:
            raise ValueError(
                f"{what}: an entry of the result is about 2^{math.frexp(top)[1] + degree * shift}, beyond "
                "float64's largest value 1.8e308 (for the seed ReLU NTK, L·max‖x_i‖² must stay below 1.8e308)"
            )
    return [times_power_of_two(T, degree * shift) for T, degree in zip(outputs, degrees)]


def check_squared_norms(X: torch.Tensor, what: str) -> None:
    """For kernels without an exact rescaling: every ‖x_i‖² must be a finite float64."""
    if not bool(torch.isfinite((X * X).sum(1)).all()):
        raise ValueError(
            f"{what}: a row has norm at or above {ROW_NORM_LIMIT:.3g}, so its squared norm overflows float64; "
            "only bias-free kernels of positively homogeneous activations are rescaled exactly"
        )


def check_finite(T: torch.Tensor, what: str) -> torch.Tensor:
    """``T`` unchanged, or ``ValueError`` if an entry is inf or NaN (an overflow the rules above did not catch)."""
    if not bool(torch.isfinite(T).all()):
        raise ValueError(f"{what}: the result overflows float64 (an entry is inf or NaN; entries must be < 1.8e308)")
    return T
