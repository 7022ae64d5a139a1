"""An independent reference for the built-in kernels: the textbook recursion of docs/kernels.md#recursion,
#relu-closed-forms.

Written directly from the arc-cosine closed forms with ``arccos`` of correlations on full matrices — no tiles,
no angle tracking, no shared code with :mod:`ntkverify.analytic` — so that differential checks of the engine
compare two genuinely different computations. Its entries are only √u-accurate near ρ = ±1
(docs/kernels.md#stable-evaluation),
which the tolerance of the differential properties accounts for.
"""

from __future__ import annotations

import numpy as np


def textbook_layers(X: np.ndarray, depth: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(K⁽ᴸ⁾, [G⁽¹⁾..G⁽ᴸ⁾]) of the bias-free ReLU network in the seed normalisation."""
    G = X @ X.T
    K = G.copy()
    Gs = [G]
    for _ in range(2, depth + 1):
        g = np.sqrt(np.clip(np.diag(G), 0.0, None))
        outer = np.outer(g, g)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(outer > 0, G / np.where(outer > 0, outer, 1.0), 0.0)
        theta = np.arccos(np.clip(rho, -1.0, 1.0))
        live = np.outer(g > 0, g > 0)
        Gdot = live * (np.pi - theta) / np.pi
        G = outer * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        K = K * Gdot + G
        Gs.append(G)
    return K, Gs


def textbook_ntk(X: np.ndarray, depth: int) -> np.ndarray:
    return textbook_layers(X, depth)[0]


def textbook_nngp(X: np.ndarray, depth: int) -> np.ndarray:
    return textbook_layers(X, depth)[1][-1]


def textbook_h_infinity(X: np.ndarray) -> np.ndarray:
    """H∞_ij = x_iᵀx_j (π − θ_ij)/(2π) (DZPS19 §3), θ from arccos of the correlation."""
    n = np.linalg.norm(X, axis=1)
    outer = np.outer(n, n)
    G = X @ X.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(outer > 0, G / np.where(outer > 0, outer, 1.0), 0.0)
    return G * (np.pi - np.arccos(np.clip(rho, -1.0, 1.0))) / (2 * np.pi)
