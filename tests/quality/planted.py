"""Planted bugs: NTK implementations with one known mistake each, declared as data.

The quality tier (in the spirit of Hypothesis' own quality tests) asserts that ``ntkverify.verify`` catches
every bug below under the ``ci`` profile and shrinks it to a small counterexample. Each buggy kernel is a
small self-contained function of ``X`` (an n × d float64 torch tensor), written the way a user would write
the textbook recursion (docs/kernels.md#recursion, #normalisations: arc-cosine closed forms of Cho & Saul 2009 with
``arccos`` of
correlations; Du et al. 2019's H∞), and is correct except for the one planted mistake — in particular every
kernel but ``zero_row_nan`` guards zero rows, so no bug is caught "by accident" through another one. They are
module-level functions so that the command line can load them::

    ntkverify check tests/quality/planted.py:sin_sign_error --claim relu-ntk --depth 2

:data:`PLANTED` lists the bugs with the claim each one pretends to satisfy, the property expected to catch
it and the largest counterexample size the shrinker may leave; :data:`CORRECT` lists correct kernels for the
same claims (the project's analytic engine and an independent textbook implementation below), which must
give zero violations over the same runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ntkverify import analytic
from ntkverify.properties import subjects

TILE = 8  # block size of the tiled kernel below: its bug shows only for n > TILE
WIDTH = 256  # hidden width of the finite-width kernel passed off as the limit
SIGMA_B = 0.5  # bias standard deviation of the standard-parameterisation claims


@dataclass(frozen=True)
class Claim(subjects.Claim):
    """What a kernel pretends to compute, rendered as the arguments of ``ntkverify.verify`` / ``ntkverify check``."""

    def kwargs(self) -> dict:
        return {"depth": self.depth, "sigma_w": self.sigma_w, "sigma_b": self.sigma_b}

    def cli_args(self) -> str:
        args = [f"--claim {self.name}"]
        for flag, value in (("--depth", self.depth), ("--sigma-w", self.sigma_w), ("--sigma-b", self.sigma_b)):
            if value is not None:
                args.append(f"{flag} {value:g}")
        return " ".join(args)

    def __str__(self) -> str:
        return self.cli_args().replace("--claim ", "")


SEED_NTK_2 = Claim("relu-ntk", 2)
SEED_NTK_3 = Claim("relu-ntk", 3)
H_INFINITY = Claim("two-layer-h")
STANDARD_NTK_2 = Claim("relu-ntk", 2, sigma_w=1.0, sigma_b=SIGMA_B)


@dataclass(frozen=True)
class PlantedBug:
    """One planted bug.

    ``caught_by``: the property whose statement the bug violates, which must report it (others may too);
    ``None`` for a bug that only makes the output non-finite on some data, which fails whichever property
    draws such data first. ``max_size``: (n, d) that some shrunk counterexample must fit in — the smallest
    size at which the bug shows where the shrinker reaches it, else the tier's bound (4, 4); only the tiling
    bug needs more. ``min_size``: (n, d) below which the function equals the correct kernel, so every
    counterexample must have n ≥ min_n and d ≥ min_d (anything smaller would be a false positive).
    ``diagnosis``: for a kernel that is a nearby kernel in disguise, a phrase of the diagnosis it must get.
    """

    name: str
    description: str
    kernel: Callable
    claim: Claim
    caught_by: str | None
    max_size: tuple[int, int]
    min_size: tuple[int, int] = (1, 1)
    diagnosis: str | None = None  # a phrase the diagnosis must contain (docs/accuracy.md#diagnosis)
    timeout: float | None = None  # the per-call time limit to check it with (None: verify's default)


# --------------------------------------------------------------------------------------------------------------
# the correct textbook implementation (control)


def textbook_ntk(X: torch.Tensor, depth: int, sigma_w: float | None = None, sigma_b: float | None = None):
    """The limiting ReLU NTK by the textbook recursion (docs/kernels.md#recursion, #relu-closed-forms), with
    ``arccos`` of clamped correlations.

    Seed normalisation (NMM21 eq. (4)) when σ_w and σ_b are None: Σ⁽¹⁾ = XXᵀ, Σ⁽ˡ⁾ = 2E[σσ], Ġ = 2E[σ'σ'].
    Otherwise the standard parameterisation (JGH18; same σ_w, σ_b in every layer): Σ⁽¹⁾ = σ_w²XXᵀ/d + σ_b²,
    Σ⁽ˡ⁾ = σ_w²E[σσ] + σ_b², Ġ = σ_w²E[σ'σ']. With θ = arccos ρ, E[σσ] = √(Σ_iiΣ_jj)(sin θ + (π − θ)cos θ)/(2π)
    and E[σ'σ'] = (π − θ)/(2π) (Cho & Saul 2009); a zero-variance row gives zero rows (σ'(0) = 0).
    """
    seed = sigma_w is None and sigma_b is None
    w2 = 2.0 if seed else (1.0 if sigma_w is None else sigma_w) ** 2
    b2 = 0.0 if seed else (sigma_b or 0.0) ** 2
    S = X @ X.T if seed else w2 * (X @ X.T) / X.shape[1] + b2
    K = S
    for _ in range(depth - 1):
        norms = torch.sqrt(S.diagonal())
        safe = torch.where(norms > 0, norms, 1.0)
        theta = torch.arccos((S / torch.outer(safe, safe)).clamp(-1.0, 1.0))
        live = torch.outer(norms > 0, norms > 0).to(S.dtype)  # a bool factor would promote w2 to float32
        Sdot = w2 * live * (math.pi - theta) / (2 * math.pi)
        S = w2 * torch.outer(norms, norms) * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)
        S = S + b2
        K = K * Sdot + S
    return K


def textbook_h_infinity(X: torch.Tensor) -> torch.Tensor:
    """H∞_ij = x_iᵀx_j (π − θ_ij)/(2π) (Du et al. 2019 §3; docs/kernels.md#normalisations), θ = arccos of the clamped
    correlation."""
    norms = torch.linalg.vector_norm(X, dim=1)
    safe = torch.where(norms > 0, norms, 1.0)
    G = X @ X.T
    theta = torch.arccos((G / torch.outer(safe, safe)).clamp(-1.0, 1.0))
    return G * (math.pi - theta) / (2 * math.pi)


def atan2_ntk(X: torch.Tensor, depth: int, sigma_w: float | None = None, sigma_b: float | None = None):
    """The same recursion with angles θ = atan2(√(Σ_iiΣ_jj − Σ_ij²), Σ_ij) of a rounded variance difference (the
    form neural-tangents-style code uses) and E[σσ] = (√(Σ_iiΣ_jj − Σ_ij²) + (π − θ)Σ_ij)/(2π): no correlation
    is formed, the diagonal's angle is exactly 0, and near ρ = ±1 the rounded difference puts the angle in the
    same √u regime as arccos (docs/accuracy.md#arccos-sqrt-u)."""
    seed = sigma_w is None and sigma_b is None
    w2 = 2.0 if seed else (1.0 if sigma_w is None else sigma_w) ** 2
    b2 = 0.0 if seed else (sigma_b or 0.0) ** 2
    S = X @ X.T if seed else w2 * (X @ X.T) / X.shape[1] + b2
    K = S
    for _ in range(depth - 1):
        q = S.diagonal()
        # Σ_iiΣ_jj − Σ_ij² formed after dividing by a power of two near max Σ_ii: exact, so the rounding is that of
        # the plain formula, and the products stay in float64's range for any row norm (unscaled, they overflow
        # above ‖x‖ ≈ 1e77, which the search draws and the suite rightly reports as a finding)
        p = 2.0 ** torch.floor(torch.log2(q.abs().max().clamp(min=torch.finfo(S.dtype).tiny)))
        sine_part = torch.sqrt((torch.outer(q / p, q / p) - (S / p) * (S / p)).clamp(min=0.0)) * p
        theta = torch.atan2(sine_part, S)
        live = torch.outer(q > 0, q > 0).to(S.dtype)  # a bool factor would promote w2 to float32
        Sdot = w2 * live * (math.pi - theta) / (2 * math.pi)
        S = w2 * (sine_part + (math.pi - theta) * S) / (2 * math.pi) + b2
        K = K * Sdot + S
    return K


@dataclass(frozen=True)
class CorrectKernel:
    name: str
    kernel: Callable
    claim: Claim


def _reference(claim: Claim) -> Callable:
    """The project's analytic engine wrapped for one claim."""
    if claim.name == "two-layer-h":
        return analytic.h_infinity
    if claim.sigma_w is None and claim.sigma_b is None:
        return lambda X: analytic.limiting_ntk(X, claim.depth)
    return lambda X: analytic.standard_ntk(X, claim.depth, sigma_w=claim.sigma_w, sigma_b=claim.sigma_b)


def textbook_for(claim: Claim) -> Callable:
    """The textbook implementation above wrapped for one claim."""
    if claim.name == "two-layer-h":
        return textbook_h_infinity
    return lambda X: textbook_ntk(X, claim.depth, claim.sigma_w, claim.sigma_b)


def atan2_for(claim: Claim) -> Callable | None:
    """The atan2 implementation above wrapped for one claim (None for H∞, which has no recursion)."""
    if claim.name == "two-layer-h":
        return None
    return lambda X: atan2_ntk(X, claim.depth, claim.sigma_w, claim.sigma_b)


# --------------------------------------------------------------------------------------------------------------
# the planted bugs (numpy unless the bug is about torch)


def h_infinity_dropped_two_pi(X):
    """H∞ without the 1/(2π): x_iᵀx_j (π − θ_ij)."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    G = X @ X.T
    return G * (np.pi - np.arccos(np.clip(G / np.outer(safe, safe), -1, 1)))


def h_infinity_assumes_unit_norm(X):
    """DZPS19's unit-norm formula x_iᵀx_j (π − arccos(x_iᵀx_j))/(2π) applied to data of any norm."""
    G = X.numpy() @ X.numpy().T
    return G * (np.pi - np.arccos(np.clip(G, -1, 1))) / (2 * np.pi)


def unclamped_arccos(X):
    """arccos of unit-row correlations without clamping: ρ_ii (or a duplicate pair's ρ) may round above 1."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    U = X / np.where(norms > 0, norms, 1.0)[:, None]
    theta = np.arccos(U @ U.T)  # bug: no np.clip(·, -1, 1)
    live = np.outer(norms > 0, norms > 0)
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * live * (np.pi - theta) / np.pi + G


def unclamped_arccos_off_diagonal(X):
    """As :func:`unclamped_arccos`, but with the diagonal set exactly (ρ_ii = 1), as careful code does: now only
    a duplicate or nearly parallel pair whose unit-row correlation rounds above 1 gives NaN."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    U = X / np.where(norms > 0, norms, 1.0)[:, None]
    rho = U @ U.T
    np.fill_diagonal(rho, 1.0)
    theta = np.arccos(rho)  # bug: no np.clip(·, -1, 1)
    live = np.outer(norms > 0, norms > 0)
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * live * (np.pi - theta) / np.pi + G


def zero_row_nan(X):
    """Correlations divide by the row norms without a guard: a zero row gives 0/0 = NaN."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arccos(np.clip((X @ X.T) / np.outer(norms, norms), -1, 1))
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * (np.pi - theta) / np.pi + G


def sin_sign_error(X):
    """The arc-cosine kernel with −sin θ instead of +sin θ in G⁽²⁾."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    theta = np.arccos(np.clip((X @ X.T) / np.outer(safe, safe), -1, 1))
    G = np.outer(norms, norms) * (-np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi + G


def gdot_pi_plus_theta(X):
    """Ġ⁽²⁾ = (π + θ)/π instead of (π − θ)/π."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    theta = np.arccos(np.clip((X @ X.T) / np.outer(safe, safe), -1, 1))
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * np.outer(norms > 0, norms > 0) * (np.pi + theta) / np.pi + G


def asymmetric_term(X):
    """G⁽²⁾ scaled by ‖x_i‖² instead of ‖x_i‖‖x_j‖ (a broadcasting slip: ``norms[:, None] ** 2``)."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    theta = np.arccos(np.clip((X @ X.T) / np.outer(safe, safe), -1, 1))
    G = norms[:, None] ** 2 * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi + G


def nngp_for_ntk(X):
    """Returns the NNGP G⁽²⁾ (the output covariance) where the NTK K⁽²⁾ = XXᵀ ∘ Ġ⁽²⁾ + G⁽²⁾ is claimed."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    theta = np.arccos(np.clip((X @ X.T) / np.outer(safe, safe), -1, 1))
    return np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi


def relu_on_input(X):
    """Applies the ReLU to the inputs before the first layer (f₀ = σ(x) instead of x)."""
    X = np.maximum(X.numpy(), 0.0)
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    theta = np.arccos(np.clip((X @ X.T) / np.outer(safe, safe), -1, 1))
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi + G


def rows_sorted(X):
    """Sorts the rows by norm (to batch similar points) and returns K of the sorted data, unpermuted."""
    X = X.numpy()
    X = X[np.argsort(np.linalg.norm(X, axis=1), kind="stable")]
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    theta = np.arccos(np.clip((X @ X.T) / np.outer(safe, safe), -1, 1))
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi + G


def _tiled_not_mirrored(tile: int) -> Callable:
    """A kernel that computes the upper-triangular ``tile`` × ``tile`` blocks only and forgets to mirror them: for
    n > tile the blocks below the diagonal stay zero."""

    def kernel(X):
        X = X.numpy()
        n = X.shape[0]
        norms = np.linalg.norm(X, axis=1)
        safe = np.where(norms > 0, norms, 1.0)
        K = np.zeros((n, n))
        for i in range(0, n, tile):
            for j in range(i, n, tile):
                I, J = slice(i, i + tile), slice(j, j + tile)
                theta = np.arccos(np.clip((X[I] @ X[J].T) / np.outer(safe[I], safe[J]), -1, 1))
                outer = np.outer(norms[I], norms[J])
                G = outer * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
                K[I, J] = (X[I] @ X[J].T) * np.outer(norms[I] > 0, norms[J] > 0) * (np.pi - theta) / np.pi + G
        return K  # bug: K[J, I] = K[I, J].T missing

    kernel.__name__ = "tiled_not_mirrored" if tile == TILE else f"tiled_not_mirrored_{tile}"
    return kernel


tiled_not_mirrored = _tiled_not_mirrored(TILE)
#: The same bug behind larger blocks, which only a search reaching boundary sizes finds (and shrinks to T + 1).
BLOCK_SIZES = (24, 65, 300)
tiled_not_mirrored_24, tiled_not_mirrored_65, tiled_not_mirrored_300 = map(_tiled_not_mirrored, BLOCK_SIZES)


def _ntk_2_from_correlations(X: np.ndarray, norms: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """The two-layer seed NTK from row norms and correlations, as the textbook writes it (arccos of ρ)."""
    theta = np.arccos(rho)
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi + G


def _float32_above(size: int) -> Callable:
    def kernel(X):
        dtype = torch.float32 if X.shape[0] > size else torch.float64  # bug: a "fast path" that loses digits
        return textbook_ntk(X.to(dtype), 2).to(torch.float64)

    kernel.__name__ = f"float32_above_{size}"
    kernel.__doc__ = f"The textbook recursion, switched to float32 for batches of more than {size} rows (for speed)."
    return kernel


FAST_PATH_SIZE = 128
float32_above_128 = _float32_above(FAST_PATH_SIZE)
NORM_FLOOR = 1e-9  # row norms below this are floored by the kernel below
CLIP = 1e-10  # correlations are clipped to [−1 + CLIP, 1 − CLIP]: angles below √(2·CLIP) ≈ 1.41e-5 are lost


def norm_floor(X):
    """Nonzero row norms floored at 1e-9 (an "eps" against division by zero) in the normalisation and in
    ‖x_i‖‖x_j‖: wrong only for rows of norm below 1e-9 (zero rows are guarded)."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    floored = np.where(norms > 0, np.maximum(norms, NORM_FLOOR), 0.0)  # bug: the floor leaks into ‖x_i‖‖x_j‖
    rho = np.clip((X @ X.T) / np.outer(*2 * [np.where(norms > 0, floored, 1.0)]), -1, 1)
    return _ntk_2_from_correlations(X, floored, rho)


def correlation_overflow(X):
    """Correlations as G_ij/√(G_ii G_jj) with no guard on the product of squared norms, which overflows to inf
    (ρ = 0) for rows of norm above ≈ 1.2e77 and underflows to 0 below ≈ 1e-81."""
    X = X.numpy()
    G = X @ X.T
    diag = np.diag(G)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rho = np.clip(np.nan_to_num(G / np.sqrt(np.outer(diag, diag))), -1, 1)  # bug: outer(diag, diag) overflows
    return _ntk_2_from_correlations(X, np.sqrt(diag), rho)


def clipped_correlation(X):
    """Correlations clipped to [−1 + 1e-10, 1 − 1e-10] (to keep arccos' derivative finite) with the diagonal set
    exactly: wrong only for pairs at angle below ≈ 1.41e-5 from each other or from each other's antipode."""
    X = X.numpy()
    norms = np.linalg.norm(X, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    rho = np.clip((X @ X.T) / np.outer(safe, safe), -1 + CLIP, 1 - CLIP)  # bug: too tight a clip
    np.fill_diagonal(rho, 1.0)
    return _ntk_2_from_correlations(X, norms, rho)


def matmul_for_hadamard(X):
    """Depth-3 recursion with K⁽ˡ⁻¹⁾ @ Ġ⁽ˡ⁾ (a matrix product) where the Hadamard product K⁽ˡ⁻¹⁾ ∘ Ġ⁽ˡ⁾ belongs."""
    G = X.numpy() @ X.numpy().T
    K = G
    for _ in range(2):
        norms = np.sqrt(np.diag(G))
        safe = np.where(norms > 0, norms, 1.0)
        theta = np.arccos(np.clip(G / np.outer(safe, safe), -1, 1))
        Gdot = np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi
        G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        K = K @ Gdot + G
    return K


def off_by_one_depth(X):
    """Loops ``range(depth)`` instead of ``range(depth - 1)``: computes K⁽⁴⁾ for the claimed K⁽³⁾."""
    depth = 3
    G = X.numpy() @ X.numpy().T
    K = G
    for _ in range(depth):
        norms = np.sqrt(np.diag(G))
        safe = np.where(norms > 0, norms, 1.0)
        theta = np.arccos(np.clip(G / np.outer(safe, safe), -1, 1))
        Gdot = np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi
        G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        K = K * Gdot + G
    return K


def clipped_ntk(X, depth=2, low=-1.0, high=1.0, shrink=1.0):
    """Seed NTK with every correlation multiplied by ``shrink`` and clipped to [low, high] before arccos."""
    G = X.numpy() @ X.numpy().T
    K = G
    for _ in range(depth - 1):
        norms = np.sqrt(np.diag(G))
        safe = np.where(norms > 0, norms, 1.0)
        theta = np.arccos(np.clip(shrink * G / np.outer(safe, safe), low, high))
        Gdot = np.outer(norms > 0, norms > 0) * (np.pi - theta) / np.pi
        G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
        K = K * Gdot + G
    return K


def correlation_clip(X):
    """Correlations clipped to ±(1 − 1e-12) "for stability": θ ≥ 1.4e-6, so every diagonal entry is 4.5e-7‖x‖²
    too low and a close pair's λ_min collapses."""
    return clipped_ntk(X, 2, -1 + 1e-12, 1 - 1e-12)


def jittered_acos(X):
    """arccos((1 − 1e-7)·ρ) to keep the argument inside (−1, 1): θ_ii = 4.5e-4."""
    return clipped_ntk(X, 2, shrink=1 - 1e-7)


def normalize_eps(X):
    """Unit rows by ``torch.nn.functional.normalize`` (its norm floor eps = 1e-12), the correlation as their Gram
    matrix: rows shorter than 1e-12 come out shorter than 1, their correlations shrink towards 0."""
    U = torch.nn.functional.normalize(X, dim=1)
    norms = torch.linalg.vector_norm(X, dim=1)
    theta = torch.arccos((U @ U.T).clamp(-1.0, 1.0))
    live = torch.outer(norms > 0, norms > 0).to(X.dtype)
    G = torch.outer(norms, norms) * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / math.pi
    return (X @ X.T) * live * (math.pi - theta) / math.pi + G


def _seed_recursion(X, depth, c_sigma=2.0):
    """The textbook seed recursion with the factor ``c_sigma`` of Σ = c_σE[σσ], Ġ = c_σE[σ'σ'] (2 for ReLU)."""
    G = X.numpy() @ X.numpy().T
    K = G
    for _ in range(depth - 1):
        norms = np.sqrt(np.diag(G))
        safe = np.where(norms > 0, norms, 1.0)
        theta = np.arccos(np.clip(G / np.outer(safe, safe), -1, 1))
        Gdot = c_sigma * np.outer(norms > 0, norms > 0) * (np.pi - theta) / (2 * np.pi)
        G = c_sigma * np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
        K = K * Gdot + G
    return K


def missing_factor_two(X):
    """Σ = E[σσ], Ġ = E[σ'σ'] without the factor c_σ = 2 of the seed normalisation: K⁽³⁾/4."""
    return _seed_recursion(X, 3, c_sigma=1.0)


def inputs_over_d(X):
    """Inputs scaled by 1/√d "to normalise them" before the seed recursion: K⁽³⁾/d."""
    return _seed_recursion(X / math.sqrt(X.shape[1]), 3)


def one_layer_short(X):
    """Loops ``range(depth - 2)``: computes K⁽²⁾ for the claimed K⁽³⁾ (hidden layers counted as the depth)."""
    return _seed_recursion(X, 2)


def h_infinity_without_half(X):
    """H∞ as XXᵀ ∘ Ġ⁽²⁾, the first-layer term of K⁽²⁾, without Du et al.'s ½."""
    return 2 * textbook_h_infinity(X)


def hangs_on_zero_row(X):
    """A warm-up Newton iteration for 1/‖x‖ per row (a scale estimate) waits for a convergence test that a zero
    row never passes; the kernel itself is the textbook one."""
    X = X.numpy()
    for row in X:
        n2, s = float(row @ row), 1.0 / (float(np.abs(row).max() or 1.0) * math.sqrt(len(row)))
        while not (n2 > 0 and abs(n2 * s * s - 1) < 1e-12):
            s = s * (3 - n2 * s * s) / 2
    norms = np.linalg.norm(X, axis=1)
    theta = np.arccos(np.clip((X @ X.T) / np.outer(norms, norms), -1, 1))
    G = np.outer(norms, norms) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / np.pi
    return (X @ X.T) * (np.pi - theta) / np.pi + G


def float32_inside(X):
    """The textbook recursion evaluated in float32 (e.g. a model's default dtype) and cast back to float64."""
    return textbook_ntk(X.to(torch.float32), 2).to(torch.float64)


def _standard_ntk_2(X, first_scale, hidden_bias):
    """Two-layer standard-parameterisation NTK (σ_w = 1): Σ⁽¹⁾ = XXᵀ·first_scale + σ_b², Σ⁽²⁾ = E[σσ] + hidden_bias,
    Θ = Σ⁽²⁾ + E[σ'σ']∘Σ⁽¹⁾. The planted bugs below pass a wrong ``first_scale`` or ``hidden_bias``."""
    S = (X @ X.T) * first_scale + SIGMA_B**2
    norms = torch.sqrt(S.diagonal())
    theta = torch.arccos((S / torch.outer(norms, norms)).clamp(-1, 1))  # σ_b > 0: no zero variance
    E_relu = torch.outer(norms, norms) * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)
    return E_relu + hidden_bias + S * (math.pi - theta) / (2 * math.pi)


def wrong_fan_in(X):
    """Standard parameterisation dividing XXᵀ by the number of points n (``len(X)``) instead of the fan-in d."""
    return _standard_ntk_2(X, 1 / len(X), SIGMA_B**2)


def missing_bias(X):
    """Standard parameterisation with σ_b² added at the input layer only, not in the readout layer."""
    return _standard_ntk_2(X, 1 / X.shape[1], 0.0)


def finite_width_for_limit(X):
    """An empirical NTK of one random width-256 two-layer net (fixed seed) passed off as the limiting kernel:
    (2/m)[(XXᵀ) ∘ (Σ₁W₂)(Σ₁W₂)ᵀ + F₁F₁ᵀ] (NMM21 eqs. (3)–(4); docs/model.md#seed-normalisation)."""
    rng = np.random.default_rng(0)
    X = X.numpy()
    W1, W2 = rng.standard_normal((X.shape[1], WIDTH)), rng.standard_normal(WIDTH)
    pre = X @ W1
    F1, B1 = np.maximum(pre, 0.0), (pre > 0) * W2
    return 2 / WIDTH * ((X @ X.T) * (B1 @ B1.T) + F1 @ F1.T)


def kernel_with_depth_argument(X, L):
    """The textbook kernel written as a function of (X, L): checked with a fixed --depth, it is a usage error."""
    return textbook_ntk(X, L)


# --------------------------------------------------------------------------------------------------------------
# registries

PLANTED: tuple[PlantedBug, ...] = (
    # name, description, kernel, claim, the property that must catch it, size bounds (PlantedBug)
    PlantedBug(
        "h_infinity_dropped_two_pi",
        "H∞ without its 1/(2π)",
        h_infinity_dropped_two_pi,
        H_INFINITY,
        "diagonal-identity",
        max_size=(1, 1),
    ),
    PlantedBug(
        "h_infinity_assumes_unit_norm",
        "DZPS19's unit-norm formula arccos(x_iᵀx_j) used on data of any norm",
        h_infinity_assumes_unit_norm,
        H_INFINITY,
        "reference-agreement",
        max_size=(1, 1),
    ),
    PlantedBug(
        "unclamped_arccos",
        "arccos of unit-row correlations without clamping: NaN when ρ_ii rounds above 1",
        unclamped_arccos,
        SEED_NTK_2,
        None,
        max_size=(4, 4),
        min_size=(1, 2),
    ),
    PlantedBug(
        "unclamped_arccos_off_diagonal",
        "as unclamped_arccos with an exact diagonal: NaN only for a duplicate or nearly parallel pair",
        unclamped_arccos_off_diagonal,
        SEED_NTK_2,
        None,
        max_size=(4, 4),
        min_size=(2, 2),
    ),
    PlantedBug(
        "zero_row_nan",
        "division by the row norms without a guard: NaN for a zero row",
        zero_row_nan,
        SEED_NTK_2,
        None,  # a non-finite output on some data: whichever property draws a zero row first (PlantedBug)
        max_size=(1, 1),
    ),
    PlantedBug(
        "sin_sign_error",
        "−sin θ instead of +sin θ in G⁽²⁾",
        sin_sign_error,
        SEED_NTK_2,
        "reference-agreement",
        max_size=(2, 2),
        # the diagonal shows it too: a rounded ρ_ii = 1 − O(u) has θ_ii = O(√u), and −sin θ_ii no longer
        # cancels to O(u) (docs/accuracy.md#diagonal); with d = 1, ρ_ii = 1 exactly
        min_size=(1, 2),
    ),
    PlantedBug(
        "gdot_pi_plus_theta",
        "Ġ = (π + θ)/π instead of (π − θ)/π",
        gdot_pi_plus_theta,
        SEED_NTK_2,
        "reference-agreement",
        max_size=(2, 1),
        min_size=(2, 1),
    ),
    PlantedBug(
        "asymmetric_term",
        "‖x_i‖² where ‖x_i‖‖x_j‖ belongs: K is not symmetric",
        asymmetric_term,
        SEED_NTK_2,
        "well-formed-symmetric",
        max_size=(2, 1),
        min_size=(2, 1),
    ),
    PlantedBug(
        "nngp_for_ntk",
        "returns the NNGP G⁽²⁾ for the NTK K⁽²⁾",
        nngp_for_ntk,
        SEED_NTK_2,
        "diagonal-identity",
        max_size=(1, 1),
    ),
    PlantedBug(
        "relu_on_input", "ReLU applied to the inputs", relu_on_input, SEED_NTK_2, "diagonal-identity", max_size=(1, 1)
    ),
    PlantedBug(
        "rows_sorted",
        "rows sorted by norm and K returned in the sorted order",
        rows_sorted,
        SEED_NTK_2,
        "permutation-equivariance",
        max_size=(4, 4),
        min_size=(2, 1),
    ),
    PlantedBug(
        "tiled_not_mirrored",
        f"upper-triangular {TILE}×{TILE} tiles not mirrored: wrong only for n > {TILE}",
        tiled_not_mirrored,
        SEED_NTK_2,
        "well-formed-symmetric",
        max_size=(TILE + 1, 1),
        min_size=(TILE + 1, 1),
    ),
    PlantedBug(
        "matmul_for_hadamard",
        "K @ Ġ (matrix product) instead of K ∘ Ġ (Hadamard product)",
        matmul_for_hadamard,
        SEED_NTK_3,
        "reference-agreement",
        max_size=(2, 1),
        min_size=(2, 1),
    ),
    PlantedBug(
        "off_by_one_depth",
        "one layer too many: K⁽⁴⁾ for the claimed K⁽³⁾",
        off_by_one_depth,
        SEED_NTK_3,
        "diagonal-identity",
        max_size=(1, 1),
        diagnosis="K equals the depth L+1 kernel",
    ),
    PlantedBug(
        "one_layer_short",
        "one layer too few: K⁽²⁾ for the claimed K⁽³⁾",
        one_layer_short,
        SEED_NTK_3,
        "diagonal-identity",
        max_size=(1, 1),
        diagnosis="K equals the depth L−1 kernel",
    ),
    PlantedBug(
        "missing_factor_two",
        "the factor c_σ = 2 per layer missing: K⁽³⁾/4",
        missing_factor_two,
        SEED_NTK_3,
        "diagonal-identity",
        max_size=(1, 1),
        diagnosis="the factor 2 per layer",
    ),
    PlantedBug(
        "inputs_over_d",
        "inputs scaled by 1/√d: K⁽³⁾/d",
        inputs_over_d,
        SEED_NTK_3,
        "diagonal-identity",
        max_size=(1, 2),
        min_size=(1, 2),
        diagnosis="1/d = 1/3",
    ),
    PlantedBug(
        "h_infinity_without_half",
        "H∞ without Du et al.'s ½",
        h_infinity_without_half,
        H_INFINITY,
        "diagonal-identity",
        max_size=(1, 1),
        diagnosis="H∞'s ½ missing",
    ),
    PlantedBug(
        "correlation_clip",
        "correlations clipped to ±(1 − 1e-12): the diagonal 4.5e-7 relative too low",
        correlation_clip,
        SEED_NTK_2,
        "diagonal-identity",
        max_size=(1, 1),
    ),
    PlantedBug(
        "jittered_acos",
        "arccos((1 − 1e-7)ρ): angles of √(2e-7) where they vanish",
        jittered_acos,
        SEED_NTK_2,
        "diagonal-identity",
        max_size=(1, 1),
    ),
    PlantedBug(
        "normalize_eps",
        "rows normalised with a norm floor of 1e-12: wrong for rows shorter than that",
        normalize_eps,
        SEED_NTK_2,
        "lambda-min-agreement",  # also diagonal-identity, on one row at the drawn scales below 1e-12
        max_size=(2, 2),
        min_size=(1, 1),
    ),
    PlantedBug(
        "hangs_on_zero_row",
        "a convergence loop that never ends on a zero row",
        hangs_on_zero_row,
        SEED_NTK_2,
        "well-formed-symmetric",
        max_size=(1, 1),
        timeout=0.5,
    ),
    PlantedBug(
        "float32_inside",
        "the recursion evaluated in float32",
        float32_inside,
        SEED_NTK_2,
        "reference-agreement",
        max_size=(4, 4),
    ),
    PlantedBug(
        "wrong_fan_in",
        "standard parameterisation dividing XXᵀ by n instead of the fan-in d",
        wrong_fan_in,
        STANDARD_NTK_2,
        "diagonal-identity",
        max_size=(2, 2),
    ),
    PlantedBug(
        "missing_bias",
        "standard parameterisation without σ_b² in the readout layer",
        missing_bias,
        STANDARD_NTK_2,
        "diagonal-identity",
        max_size=(1, 1),
    ),
    PlantedBug(
        "finite_width_for_limit",
        f"an empirical NTK of width {WIDTH} passed off as the limiting NTK",
        finite_width_for_limit,
        SEED_NTK_2,
        "diagonal-identity",
        max_size=(1, 1),
    ),
)

#: Bugs that hide at small sizes, ordinary scales or ordinary angles; ``trigger(X)`` says whether a data set
#: reaches the bug (its threshold), and every counterexample must reach it.
@dataclass(frozen=True)
class HiddenBug(PlantedBug):
    trigger: Callable[[torch.Tensor], bool] = lambda X: True
    threshold: str = ""


def _row_norms(X: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(X, dim=1)


def _smallest_angle(X: torch.Tensor) -> float:
    """The smallest angle between two distinct nonzero rows, or between one and the other's antipode."""
    rows = X[_row_norms(X) > 0]
    if len(rows) < 2:
        return math.inf
    theta, _, _ = analytic.first_layer_angles(*(2 * [rows / _row_norms(rows)[:, None]]))
    theta = torch.minimum(theta, math.pi - theta).fill_diagonal_(math.inf)
    return float(theta.min())


HIDDEN: tuple[HiddenBug, ...] = tuple(
    HiddenBug(
        f"tiled_not_mirrored_{T}",
        f"upper-triangular {T}×{T} tiles not mirrored: wrong only for n > {T}",
        globals()[f"tiled_not_mirrored_{T}"],
        SEED_NTK_2,
        "well-formed-symmetric",
        max_size=(T + 1, 1),
        min_size=(T + 1, 1),
        trigger=lambda X, T=T: X.shape[0] == T + 1,
        threshold=f"n = {T + 1}",
    )
    for T in BLOCK_SIZES
) + (
    HiddenBug(
        "float32_above_128",
        f"a float32 fast path for more than {FAST_PATH_SIZE} rows",
        float32_above_128,
        SEED_NTK_2,
        None,  # every property comparing float64 kernels sees float32 rounding; whichever draws n > 128 first
        max_size=(FAST_PATH_SIZE + 1, 4),
        min_size=(FAST_PATH_SIZE + 1, 1),
        trigger=lambda X: X.shape[0] == FAST_PATH_SIZE + 1,
        threshold=f"n = {FAST_PATH_SIZE + 1}",
    ),
    HiddenBug(
        "norm_floor",
        f"row norms floored at {NORM_FLOOR:g}",
        norm_floor,
        SEED_NTK_2,
        None,
        max_size=(1, 1),
        trigger=lambda X: 1e-12 <= float(_row_norms(X).min()) < NORM_FLOOR,
        threshold="the smallest row norm in [1e-12, 1e-9): scale 1e-10, the drawn scale nearest 1 below the floor",
    ),
    HiddenBug(
        "correlation_overflow",
        "G_ij/√(G_ii G_jj) without a guard: the product overflows for rows of norm above 1e77",
        correlation_overflow,
        SEED_NTK_2,
        None,
        max_size=(1, 1),
        trigger=lambda X: 1e77 < float(_row_norms(X).max()) < 1e83,
        threshold="the largest row norm in (1e77, 1e83): scale 1e80, the drawn scale nearest 1 above 1.2e77",
    ),
    HiddenBug(
        "clipped_correlation",
        f"correlations clipped to ±(1 − {CLIP:g}): angles below 1.41e-5 are lost",
        clipped_correlation,
        SEED_NTK_2,
        "reference-agreement",
        max_size=(2, 1),
        min_size=(2, 1),
        trigger=lambda X: _smallest_angle(X) < math.sqrt(2 * CLIP),
        threshold="a pair at angle below 1.41e-5 from each other or from each other's antipode",
    ),
)

CLAIMS: tuple[Claim, ...] = tuple(dict.fromkeys(bug.claim for bug in PLANTED))

CORRECT: tuple[CorrectKernel, ...] = tuple(
    CorrectKernel(f"{source}[{claim}]", make(claim), claim)
    for claim in CLAIMS
    for source, make in (("analytic", _reference), ("textbook", textbook_for), ("atan2", atan2_for))
    if make(claim) is not None
)
