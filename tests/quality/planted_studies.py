"""Planted alternatives for the studies: kernels that are wrong in a way only a study at scale can see.

Each is a module-level function of ``X`` (an N × d float64 torch tensor), so the command line can load it::

    ntkverify study lambda-min-scaling --kernel tests/quality/planted_studies.py:ntk_of_unit_rows --depth 2
"""

from __future__ import annotations

import torch

from ntkverify import analytic


def ntk_of_unit_rows(X: torch.Tensor) -> torch.Tensor:
    """K⁽²⁾ of the rows normalised to unit length: drops the ‖x_i‖² = d scale, so λ_min falls like 1/d along
    d = c·log²N (a slope about −2/ln N steeper than the engine's: rejected by ``lambda-min-scaling``)."""
    return analytic.limiting_ntk(torch.nn.functional.normalize(X, dim=1), 2, device="cpu")


def nngp_for_ntk(X: torch.Tensor) -> torch.Tensor:
    """The NNGP G⁽²⁾ passed off as the NTK K⁽²⁾: a network's normalised K̄ does not approach it, so the
    error plateaus (slope 0: rejected by ``convergence-rate``)."""
    return analytic.limiting_nngp(X, 2, device="cpu")
