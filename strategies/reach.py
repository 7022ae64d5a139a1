"""How far a search reached: the largest sizes and the smallest angle and row norms among the cases it drew.

:func:`reach` reads one case (:class:`ntkverify.case.Case`, and the architecture of a
:class:`~ntkverify.case.NetworkCase`); :func:`merge` keeps the
extremes of two records. The runner keeps one record per property run (``PropertyResult.reach``), so a run's
statistics say which sizes, scales and angles a profile actually explored (``docs/search.md#reach``).
"""

from __future__ import annotations

import math

import torch

from ntkverify.case import Case, NetworkCase

#: The fields of a record and whether the largest (max) or the smallest (min) value is kept.
FIELDS = {"n": max, "d": max, "width": max, "min_angle": min, "min_norm": min, "max_norm": max}


def reach(case) -> dict[str, float]:
    """The sizes of ``case`` (widths from a network case's architecture), its smallest angle between two
    nonzero rows (or a row and another's antipode) and its smallest and largest nonzero row norms; ``{}`` for
    anything that is not a case."""
    if not isinstance(case, Case):
        return {}
    X = case.X
    widths = case.architecture.widths if isinstance(case, NetworkCase) else ()
    norms = torch.linalg.vector_norm(X, dim=1)
    live = norms > 0
    record = {"n": X.shape[0], "d": X.shape[1], "width": max(widths, default=0)}
    if bool(live.any()):
        record["min_norm"], record["max_norm"] = float(norms[live].min()), float(norms[live].max())
    U = X[live] / norms[live, None]
    if len(U) >= 2:
        # ‖û_i ∓ û_j‖ = 2 sin(θ/2): accurate for small angles, where 1 − ρ would cancel
        gap = torch.minimum(torch.cdist(U, U), torch.cdist(U, -U)).fill_diagonal_(math.inf)
        record["min_angle"] = 2 * math.asin(min(1.0, float(gap.min()) / 2))
    return record


def merge(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """The extremes of two records (a field missing from one is taken from the other)."""
    return {k: FIELDS[k](a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in FIELDS if k in a or k in b}
