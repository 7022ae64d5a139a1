"""The accuracy profile of a kernel (docs/accuracy.md#profile): how many significant digits it keeps.

Beside the verdict, every checked kernel gets three numbers measured on a fixed panel of near-degenerate data
sets (every configuration × angle of :func:`ntkverify.properties.cases.near_degenerate_data`, d = 3, two
generic rows, seed 0) against the claim's reference (:mod:`ntkverify.analytic`):

* ``off_diagonal`` — max over i ≠ j of |K_ij − K_ref,ij| / √(K_ref,ii K_ref,jj) (the entry's natural scale:
  ≥ |K_ij| for a PSD kernel, and meaningful where K_ij crosses zero);
* ``diagonal`` — max over i of |K_ii − K_ref,ii| / K_ref,ii;
* ``lambda_min`` — max of |λ_min(K) − λ_min(K_ref)| / λ_min(K_ref) over the sets whose reference λ_min is
  resolved (above its certified error; a duplicate's exact 0 is not).

Each is also given in significant digits, −log10 of the relative error, between 0 and 16. The panel is
deterministic, so profiles of different kernels are comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ntkverify import spectra
from ntkverify.properties.cases import NEAR_ANGLES, NEAR_CONFIGURATIONS, near_degenerate_data
from ntkverify.properties.subjects import KernelError, Subject

PANEL_D = 3
PANEL_EXTRA = 2
#: depth of the panel for kernels whose claim fixes none (the built-in ones)
PANEL_DEPTH = 3
MAX_DIGITS = 16.0


def digits(relative_error: float) -> float:
    """Significant digits kept: −log10 of a relative error, clipped to [0, 16] (NaN stays NaN)."""
    if math.isnan(relative_error):
        return math.nan
    if relative_error <= 10.0**-MAX_DIGITS:
        return MAX_DIGITS
    return min(MAX_DIGITS, max(0.0, -math.log10(relative_error)))


def panel() -> list[torch.Tensor]:
    """The fixed data sets of the profile."""
    return [
        near_degenerate_data(kind, angle, PANEL_D, PANEL_EXTRA, 0)
        for kind in NEAR_CONFIGURATIONS
        for angle in NEAR_ANGLES
    ]


@dataclass(frozen=True)
class AccuracyProfile:
    """Largest relative errors on the panel (module docstring); ``failed_calls`` counts panel sets on which the
    kernel raised or returned a malformed matrix (those sets are left out)."""

    off_diagonal: float
    diagonal: float
    lambda_min: float
    data_sets: int
    failed_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data_sets": self.data_sets, "failed_calls": self.failed_calls}
        for name in ("off_diagonal", "diagonal", "lambda_min"):
            value = getattr(self, name)
            out[name] = {"relative_error": value, "digits": digits(value)}
        return out

    def line(self) -> str:
        def part(name: str, value: float) -> str:
            if math.isnan(value):
                return f"{name} not measured"
            return f"{name} {value:.2g} ({digits(value):.1f} digits)"

        failed = f"; the kernel failed on {self.failed_calls} of them" if self.failed_calls else ""
        return (
            f"accuracy: {part('off-diagonal', self.off_diagonal)}, {part('diagonal', self.diagonal)}, "
            f"{part('λ_min', self.lambda_min)} — max relative errors on {self.data_sets} near-degenerate sets{failed}"
        )


def _relative_errors(K: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    diag = ref.diagonal().abs()
    scale = torch.sqrt(torch.outer(diag, diag))
    err = (K - ref).abs()
    off = torch.where(scale > 0, err / torch.where(scale > 0, scale, 1.0), torch.where(err > 0, torch.inf, 0.0))
    off = off.fill_diagonal_(0.0)
    on = torch.where(
        diag > 0, err.diagonal() / torch.where(diag > 0, diag, 1.0), torch.where(err.diagonal() > 0, torch.inf, 0.0)
    )
    return float(off.max()), float(on.max())


def accuracy_profile(subject: Subject) -> AccuracyProfile | None:
    """The profile of ``subject`` against its claim's reference (None when the claim has no reference)."""
    if not subject.claim.has_reference:
        return None
    depth = subject.depth_for(PANEL_DEPTH)
    off = on = lam = 0.0
    measured_lambda = False
    failed = 0
    sets = panel()
    for X in sets:
        try:
            K = subject(X, depth)
        except KernelError:
            failed += 1
            continue
        ref = subject.claim.reference(X, depth).cpu()
        o, d = _relative_errors(K, ref)
        off, on = max(off, o), max(on, d)
        theirs = spectra.lambda_min(ref)
        if theirs.value > theirs.error:
            mine = float(torch.linalg.eigvalsh((K + K.T) / 2)[0])
            lam = max(lam, abs(mine - theirs.value) / theirs.value)
            measured_lambda = True
    if failed == len(sets):
        return AccuracyProfile(math.nan, math.nan, math.nan, len(sets), failed)
    return AccuracyProfile(off, on, lam if measured_lambda else math.nan, len(sets), failed)
