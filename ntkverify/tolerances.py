"""The tolerance model of the suite (docs/tolerances.md): every check takes its tolerance from here.

All functions take plain numbers (sizes, depths, widths, norms, a correlation bound, a dtype) so that any
caller can use them, whatever produced its matrices. The unit roundoff ``u`` is that of the dtype actually
used (:func:`ntkverify.device.unit_roundoff`): ``2^-53`` for float64, ``2^-24 ≈ 6e-8`` for float32, so the
float32 budgets of docs/tolerances.md#float32 are the same formulas evaluated at the float32 ``u`` (for example
:func:`tau_lim` in the √u regime becomes ≈ 1e-3·N·L²·scale, the size docs/tolerances.md#float32 asks for).

Notation: ``N`` points, input dimension ``d``, ``L`` weight matrices, hidden widths ``n_1..n_{L-1}``,
``max_sq_norm = max_i ||x_i||^2``. Each tolerance is an absolute bound in the units of the quantity checked,
except :func:`tau_id`, which is relative.

Error sources combined below (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002):

1. a dot product of length n computed in floating point has error ≤ γ_n Σ|a_k b_k|, γ_n = nu/(1−nu)
   (Higham Lemma 3.1 and eq. (3.5));
2. a backward-stable symmetric eigensolver returns the exact eigenvalues of ``K + E``, ``||E||_2 ≤ p(N) u
   ||K||_2``; we take ``p(N) = 10 N`` (docs/tolerances.md#eigensolver);
3. Weyl's inequality: ``|λ_k(K + Δ) − λ_k(K)| ≤ ||Δ||_2 ≤ ||Δ||_F ≤ N max_ij |Δ_ij|`` (docs/tolerances.md#weyl).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ntkverify.device import DEFAULT_DTYPE, unit_roundoff
from ntkverify.validation import check_int, check_nonneg, check_widths

#: p(N) = EIG_BACKWARD_FACTOR · N in the eigen-solver backward error p(N)·u·||K||_2 (docs/tolerances.md#eigensolver).
EIG_BACKWARD_FACTOR = 10
#: c in the per-operation error c·(d + L)·u of one layer of the limiting recursion (docs/tolerances.md#limiting: ε_ρ).
LIMIT_ENTRY_FACTOR = 10
#: c in the empirical-NTK entry budget c·L·(d + Σ n_l)·u (docs/tolerances.md#empirical).
EMP_ENTRY_FACTOR = 10
#: c in the relative identity tolerance c·L·(d + Σ n_l)·u (docs/tolerances.md#identity: τ_id).
ID_FACTOR = 100


def _correlation(rho_bar) -> float:
    rho_bar = check_nonneg(rho_bar, "rho_bar")
    if rho_bar > 1:
        raise ValueError(f"rho_bar must be in [0, 1], got {rho_bar}")
    return rho_bar


def gamma(n: int, dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """γ_n = n u / (1 − n u) (Higham eq. (3.8)): the relative error bound of an n-term sum or dot product.

    Raises ``ValueError`` when ``n u ≥ 1`` (no bound exists: the problem is too large for the dtype).
    """
    n = check_int(n, "n", 0)
    nu = n * unit_roundoff(dtype)
    if nu >= 1:
        raise ValueError(f"n*u must be < 1 for gamma_n to exist, got n={n}, u={unit_roundoff(dtype)}")
    return nu / (1 - nu)


def gram_entry_error(d: int, norm_i: float, norm_j: float, dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """Entry error of a computed Gram matrix ``XX^T`` (docs/tolerances.md#gamma): ``|δ_ij| ≤ γ_d ||x_i|| ||x_j||``.

    Derivation: ``fl(<x_i, x_j>)`` is a length-d dot product, so its error is ``≤ γ_d Σ_k |x_ik x_jk|``
    (Higham eq. (3.5)), and ``Σ_k |x_ik x_jk| ≤ ||x_i|| ||x_j||`` by Cauchy–Schwarz. Like every bound here
    it assumes no underflow (entries far from the subnormal range).
    """
    d = check_int(d, "d", 1)
    return gamma(d, dtype) * check_nonneg(norm_i, "norm_i") * check_nonneg(norm_j, "norm_j")


def eig_backward_error(N: int, norm2: float, dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """Backward error of a symmetric eigensolver, ``p(N) u ||K||_2`` with ``p(N) = 10 N``
    (docs/tolerances.md#eigensolver).

    LAPACK's symmetric drivers (``syevd``/``syevr``, used by ``torch.linalg.eigvalsh``) and their
    cuSOLVER counterparts are backward stable: the computed eigenvalues are exact for some ``K + E`` with
    ``||E||_2 ≤ p(N) u ||K||_2``, ``p`` a modest polynomial (Demmel, *Applied Numerical Linear Algebra*,
    1997, §5.5; Higham §1.12). By Weyl, each computed eigenvalue is within ``||E||_2`` of the exact one.
    ``p(N) = 10 N`` is the safe choice of docs/tolerances.md#eigensolver; the same bound serves singular values (``N =
    max(m, n)``).
    """
    N = check_int(N, "N", 1)
    return EIG_BACKWARD_FACTOR * N * unit_roundoff(dtype) * check_nonneg(norm2, "norm2")


def perturbation_norm(N: int, entry_error: float) -> float:
    """``||Δ||_2 ≤ ||Δ||_F ≤ N max_ij |Δ_ij|`` for an N×N perturbation with entries ≤ ``entry_error``
    (docs/tolerances.md#weyl). For an m×n matrix pass ``N = sqrt(m n)`` rounded up, or use
    :func:`rect_perturbation_norm`.
    """
    return check_int(N, "N", 1) * check_nonneg(entry_error, "entry_error")


def rect_perturbation_norm(m: int, n: int, entry_error: float) -> float:
    """``||Δ||_2 ≤ ||Δ||_F ≤ sqrt(m n) max_ij |Δ_ij|`` for an m×n perturbation (Weyl for singular values)."""
    return math.sqrt(check_int(m, "m", 1) * check_int(n, "n", 1)) * check_nonneg(entry_error, "entry_error")


def eps_rho(d: int, L: int, dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """ε_ρ = 10 (d + L) u (docs/tolerances.md#limiting): the error of a correlation after ``L`` layers of the recursion.

    Layer 1 is a length-d dot product (γ_d ≈ d u, Higham eq. (3.5)); each later layer applies a closed
    form (a few elementary functions, each correctly rounded to within a couple of ulps) to the previous one,
    adding O(u) per layer; 10 covers the constants of both.
    """
    d = check_int(d, "d", 1)
    L = check_int(L, "L", 1)
    return LIMIT_ENTRY_FACTOR * (d + L) * unit_roundoff(dtype)


def limiting_entry_error(
    d: int,
    L: int,
    max_sq_norm: float,
    *,
    rho_bar: float | None = None,
    dtype: torch.dtype = DEFAULT_DTYPE,
) -> float:
    """Bound on ``max_ij |δK^{(L)}_ij|`` for the computed limiting NTK (docs/tolerances.md#limiting).

    Two regimes.

    * ``rho_bar=None``: the ReLU kernel in the seed normalisation as computed by ``ntkverify.analytic``,
      whose layer-1 angles come from ``2·atan2(||x̂_i − x̂_j||, ||x̂_i + x̂_j||)`` (docs/kernels.md#stable-evaluation)
      and whose later
      angles use a cancellation-free update. Then every ``G^{(l)}_ij`` has relative error ≤ ε_ρ
      (:func:`eps_rho`) and every ``Ġ^{(l)}_ij = 1 − θ/π`` has absolute error ≤ ε_ρ. In the unrolled form
      ``K^{(L)}_ij = Σ_l G^{(l)}_ij Π_{k>l} Ġ^{(k)}_ij`` (docs/kernels.md#recursion) term ``l`` has ``|G^{(l)}_ij| ≤
      ||x_i||
      ||x_j||`` and ``L − l`` factors in [0, 1], so its error is ≤ ``(1 + (L − l)) ε_ρ ||x_i|| ||x_j||``
      to first order (the products' own roundings, O(u) each, are absorbed by ε_ρ's factor 10). Summing over
      ``l = 1..L``: ``|δK_ij| ≤ L (L + 1)/2 · ε_ρ · max_i ||x_i||^2``.
    * ``rho_bar`` given (general activation, biases, or arccos-based angles): ``Ġ`` is a function of the
      correlation with slope ``1/(π sqrt(1 − ρ^2))`` (for ReLU, ``dĠ/dρ``), unbounded at ``|ρ| → 1``. A
      correlation error ε_ρ then moves ``Ġ`` by at most ``min(ε_ρ/(π sqrt(1 − ρ̄^2)), sqrt(2 ε_ρ)/π)``
      (mean value theorem away from ±1; near ±1 ``arccos`` changes by ≤ ``sqrt(2 ε_ρ)``), and that error
      reaches ``K`` through at most ``L^2`` products of entries bounded by ``max ||x||^2``
      (docs/tolerances.md#arccos-sqrt-u).
      We add this to the well-conditioned part above, so the general bound is never smaller than the
      stable one. ``rho_bar = max_{l<L, i≠j} |ρ^{(l)}_ij|``.
    """
    L = check_int(L, "L", 1)
    scale = check_nonneg(max_sq_norm, "max_sq_norm")
    eps = eps_rho(d, L, dtype)
    stable = L * (L + 1) / 2 * eps * scale
    if rho_bar is None:
        return stable
    rho_bar = _correlation(rho_bar)
    sqrt_regime = math.sqrt(2 * eps) / math.pi
    if rho_bar < 1:
        sqrt_regime = min(eps / (math.pi * math.sqrt(1 - rho_bar * rho_bar)), sqrt_regime)
    return stable + L * L * scale * sqrt_regime


def tau_lim(
    N: int,
    d: int,
    L: int,
    max_sq_norm: float,
    *,
    norm2: float | None = None,
    rho_bar: float | None = None,
    dtype: torch.dtype = DEFAULT_DTYPE,
) -> float:
    """τ_lim, the tolerance of an eigenvalue of the limiting NTK ``K^{(L)}`` (docs/tolerances.md#tau-lim):

    ``τ_lim = 10 N u ||K||_2 + N · max_ij |δK_ij|``

    (eigensolver backward error, :func:`eig_backward_error`, plus Weyl applied to the entry errors of
    :func:`limiting_entry_error`; ``rho_bar=None`` selects the stable ReLU path, a value the general path with
    its √u regime, which gives the formula of docs/tolerances.md#tau-lim ``+ N L^2 max||x||^2 min(ε_ρ/(π√(1−ρ̄²)),
    √(2ε_ρ)/π)``).
    ``norm2`` defaults to the bound ``||K||_2 ≤ ||K||_F ≤ N L max_i ||x_i||^2`` (since ``|K_ij| ≤ L ||x_i||
    ||x_j||``, docs/kernels.md#relu-closed-forms).
    """
    N = check_int(N, "N", 1)
    L = check_int(L, "L", 1)
    if norm2 is None:
        norm2 = N * L * check_nonneg(max_sq_norm, "max_sq_norm")
    entry = limiting_entry_error(d, L, max_sq_norm, rho_bar=rho_bar, dtype=dtype)
    return eig_backward_error(N, norm2, dtype) + perturbation_norm(N, entry)


def empirical_entry_error(d: int, widths: Sequence[int], max_diag: float, dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """Bound on ``max_ij |δK̄_ij|`` for a computed empirical NTK (docs/tolerances.md#empirical):
    ``10 · L · (d + Σ_l n_l) · u · max_i K̄_ii``.

    Derivation: ``K̄_ij = Σ_{l=1}^{L} <f_{l-1}(x_i), f_{l-1}(x_j)> <b_l(x_i), b_l(x_j)>``
    (docs/model.md#layer-decomposition). The
    features and backward vectors come from chains of at most L matrix-vector products, each of length
    ≤ ``d + Σ n_l``, so each factor has relative (to the product of norms) error ≲ ``(d + Σ n_l) u``
    (Higham eq. (3.5) per product, Cauchy–Schwarz for the norms); each of the ``L`` terms is bounded by
    ``sqrt(K̄_ii K̄_jj) ≤ max_i K̄_ii``; 10 covers the constants. ``widths`` are the hidden widths
    ``n_1..n_{L-1}`` (the output width 1 is added here), so ``L = len(widths) + 1``.
    """
    d = check_int(d, "d", 1)
    widths = check_widths(widths)
    L = len(widths) + 1
    size = d + sum(widths) + 1
    return EMP_ENTRY_FACTOR * L * size * unit_roundoff(dtype) * check_nonneg(max_diag, "max_diag")


def tau_emp(
    N: int,
    d: int,
    widths: Sequence[int],
    max_diag: float,
    *,
    norm2: float | None = None,
    dtype: torch.dtype = DEFAULT_DTYPE,
) -> float:
    """τ_emp, the tolerance of an eigenvalue of an empirical NTK ``K̄`` (docs/tolerances.md#tau-emp):

    ``τ_emp = 10 N u ||K̄||_2 + N · max_ij |δK̄_ij|`` with the entry bound of :func:`empirical_entry_error`.
    ``norm2`` defaults to ``N max_i K̄_ii`` (``|K̄_ij| ≤ sqrt(K̄_ii K̄_jj)`` for a Gram matrix).
    """
    N = check_int(N, "N", 1)
    if norm2 is None:
        norm2 = N * check_nonneg(max_diag, "max_diag")
    entry = empirical_entry_error(d, widths, max_diag, dtype)
    return eig_backward_error(N, norm2, dtype) + perturbation_norm(N, entry)


def tau_id(L: int, d: int, widths: Sequence[int] = (), dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """τ_id, the *relative* tolerance of an identity between two computed kernels (docs/tolerances.md#identity):
    ``100 · L · (d + Σ n_l) · u``.

    Both sides carry the entry errors of :func:`empirical_entry_error` / :func:`limiting_entry_error`
    (≈ 10 L (d + Σ n) u relative each, stable path); the factor 100 leaves a further ×5 for the
    reorganised computation of one side (a rotated or permuted input, a different contraction order).
    ``widths`` may be empty (limiting kernels: then the size is ``d + L``, the length of the recursion).
    """
    L = check_int(L, "L", 1)
    d = check_int(d, "d", 1)
    widths = check_widths(widths)
    size = d + (sum(widths) if widths else L)
    return ID_FACTOR * L * size * unit_roundoff(dtype)


def inequality_tolerance(*taus: float) -> float:
    """Tolerance of an inequality ``lhs ≤ rhs`` between computed quantities: ``τ(lhs) + τ(rhs)``
    (docs/tolerances.md#inequalities),
    since each side carries its own (independent, worst-case) error. Accepts any number of terms."""
    return math.fsum(check_nonneg(t, f"taus[{k}]") for k, t in enumerate(taus))


def limiting_entry_errors(
    d: int, L: int, scale: torch.Tensor, rho: torch.Tensor, dtype: torch.dtype = DEFAULT_DTYPE
) -> torch.Tensor:
    """Entrywise version of :func:`limiting_entry_error` for implementations that take arccos of correlations.

    Entry (i, j) of every layer of the recursion depends only on entries (i, i), (j, j), (i, j) of the layer
    before (docs/kernels.md#recursion), so its error is governed by its own correlations: ``rho[i, j] = max_{l<L}
    |ρ⁽ˡ⁾_ij|``
    (1 on the diagonal: an arccos-based code evaluates arccos(ρ_ii ≈ 1) there too), and ``scale[i, j]`` bounds
    |K_ij| (e.g. √(K_ii K_jj)). Returns
    ``scale · (L(L+1)/2 · ε_ρ + L² · min(ε_ρ/(π√(1 − ρ²)), √(2ε_ρ)/π))`` entrywise, the bound of
    :func:`limiting_entry_error` with ρ̄ and max‖x‖² replaced by the entry's own values.
    """
    L = check_int(L, "L", 1)
    eps = eps_rho(d, L, dtype)
    sqrt_regime = torch.full_like(rho, math.sqrt(2 * eps) / math.pi)
    gap = torch.sqrt((1 - rho.abs().clamp(max=1.0) ** 2).clamp(min=0.0))
    conditioned = torch.where(gap > 0, eps / (math.pi * torch.where(gap > 0, gap, 1.0)), sqrt_regime)
    return scale * (L * (L + 1) / 2 * eps + L * L * torch.minimum(conditioned, sqrt_regime))


# ---------------------------------------------------------------------------------------------------------
# Per-entry budgets of faithful float64 code for a user's kernel (docs/accuracy.md)

#: per-layer rounding allowance of the closed forms (a square root, a division, arccos, sin, cos, a few
#: products and sums, each within one or two ulps), in units of u (docs/accuracy.md#layers)
LAYER_ROUNDING = 10


def angle_errors(rho: torch.Tensor, err: torch.Tensor | float) -> torch.Tensor:
    """Bound on ``|arccos(ρ̂) − arccos(ρ)|`` for ``|ρ̂ − ρ| ≤ err`` (clamped to [−1, 1]), entrywise
    (docs/accuracy.md#arccos-sqrt-u).

    Two bounds, the smaller holds: ``√(2 err)·(1 + err)`` everywhere (arccos is steepest at ±1, where
    ``arccos(1 − δ) = 2 arcsin √(δ/2) ≤ √(2δ)(1 + δ)``: the √u regime), and ``err/√(1 − (|ρ| + err)²)``
    while ``|ρ| + err < 1`` (mean value theorem: the slope ``1/√(1 − ξ²)`` on the interval between ρ and ρ̂).
    The same bound covers an angle taken as ``atan2(√(q_i q_j − c²), c)`` of a rounded variance difference,
    with ``err`` the correlation error that difference amounts to.
    """
    err = torch.as_tensor(err, dtype=rho.dtype, device=rho.device).expand_as(rho)
    sqrt_regime = torch.sqrt(2 * err) * (1 + err)
    reach = (rho.abs() + err).clamp(max=1.0)
    gap = torch.sqrt((1 - reach * reach).clamp(min=0.0))
    conditioned = torch.where(gap > 0, err / torch.where(gap > 0, gap, 1.0), torch.inf)
    return torch.minimum(sqrt_regime, conditioned)


def _outer_sqrt(q: torch.Tensor) -> torch.Tensor:
    s = torch.sqrt(q.clamp(min=0.0))
    return torch.outer(s, s)


def arccos_recursion_errors(
    G: Sequence[torch.Tensor],
    Gdot: Sequence[torch.Tensor | None],
    d: int,
    *,
    w: float = 2.0,
    bias: bool = False,
    dtype: torch.dtype = DEFAULT_DTYPE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Entrywise bounds on the errors of a faithful arccos-based float64 evaluation of a ReLU recursion
    (docs/accuracy.md#recursion): ``(δK, δG⁽ᴸ⁾)`` for the NTK and the NNGP of depth ``L = len(G)``.

    ``G[l-1]`` is the exact Σ⁽ˡ⁾ (N × N) and ``Gdot[l-1]`` the exact Ġ⁽ˡ⁾ (``Gdot[0]`` None), as returned by
    :mod:`ntkverify.analytic` (its stable path is exact to a few ulps, far below what is bounded here); ``w``
    is the weight factor of Ġ = w(π − θ)/(2π) (2 in the seed normalisation, σ_w² in the standard one) and
    ``bias`` whether σ_b > 0.

    Error model, first order in u, with o_l = √(Σ⁽ˡ⁾_ii Σ⁽ˡ⁾_jj) and ρ_l = Σ⁽ˡ⁾_ij / o_l:

    * layer 1: the correlation fed to arccos has ``|δρ_1| ≤ e_1 = γ_{2d+6}`` (a length-d dot product,
      γ_d; the two norms or the square roots of the diagonal, γ_d + 3u; the division and the scaling by
      σ_w²/d and the bias, 3u), on and off the diagonal;
    * relative error of the diagonal variances: ``r_1 = e_1``, ``r_{l+1} = r_l + δ_l + c u`` (Σ⁽ˡ⁺¹⁾_ii =
      (w/2) Σ⁽ˡ⁾_ii κ(ρ̂_ii) + σ_b², and κ(1 − δ) ≥ 1 − δ), with ``c = LAYER_ROUNDING``;
    * the diagonal correlation deviates from 1 by ``δ_l ≤ r_l`` (computed from the same, or separately
      tracked, variances);
    * off the diagonal ``e_{l+1} = e_l + δ_l + c u`` without biases: the correlation map has slope κ' ≤ 1,
      κ(ρ̂_ii) = 1 − O(δ_l) enters the denominator, and the scale √(Σ̂_ii Σ̂_jj) common to the numerator and
      the denominator cancels; with a bias σ_b² it no longer cancels, and ``e_{l+1} = e_l + 2 r_{l+1} + c u``;
    * the covariance then has ``|δΣ⁽ˡ⁾_ij| ≤ (e_l + r_l) o_l`` (off the diagonal), ``(δ_l + r_l) o_l`` on it;
    * the angle error is :func:`angle_errors` (``e_l`` off, ``δ_l`` on the diagonal) plus ``c u``, and
      ``δĠ⁽ˡ⁺¹⁾ = w δθ_l/(2π) + 2u|Ġ|``: the √u regime near ρ = ±1;
    * ``K⁽ˡ⁾ = Σ⁽ˡ⁾ + Ġ⁽ˡ⁾ ∘ K⁽ˡ⁻¹⁾`` gives ``δK⁽ˡ⁾ = δΣ⁽ˡ⁾ + |Ġ⁽ˡ⁾| δK⁽ˡ⁻¹⁾ + δĠ⁽ˡ⁾ |K⁽ˡ⁻¹⁾| + 2u|K⁽ˡ⁾|``.

    These are worst cases over the roundings: faithful code sits below them, typically within a factor of
    a few (measured in ``tests/test_accuracy.py``).
    """
    d = check_int(d, "d", 1)
    u = unit_roundoff(dtype)
    c = LAYER_ROUNDING * u
    e = r = delta = gamma(2 * d + 6, dtype)
    o = _outer_sqrt(G[0].diagonal())
    eye = torch.eye(o.shape[0], dtype=torch.bool, device=o.device)
    dS = torch.where(eye, delta + r, e + r) * o
    K, dK = G[0].abs(), dS
    for layer in range(1, len(G)):
        live = o > 0
        rho = torch.where(live, G[layer - 1] / torch.where(live, o, 1.0), 0.0).clamp(-1.0, 1.0)
        dtheta = angle_errors(rho, torch.where(eye, delta, e)) + c
        dGdot = live * (w * dtheta / (2 * math.pi)) + 2 * u * Gdot[layer].abs()
        r = r + delta + c
        e, delta = (e + 2 * r + c if bias else e + delta + c), r
        o = _outer_sqrt(G[layer].diagonal())
        dS = torch.where(eye, delta + r, e + r) * o
        K_new = G[layer].abs() + Gdot[layer].abs() * K
        dK = dS + Gdot[layer].abs() * dK + dGdot * K + 2 * u * K_new
        K = K_new
    return dK, dS


def stable_recursion_errors(G: Sequence[torch.Tensor], d: int, dtype: torch.dtype = DEFAULT_DTYPE) -> torch.Tensor:
    """Entrywise error bound of the stable (angle-tracking) evaluation of :mod:`ntkverify.analytic`:
    ``γ_{2d + 8L} Σ_l o_l`` with o_l = √(Σ⁽ˡ⁾_ii Σ⁽ˡ⁾_jj) (docs/accuracy.md#stable): layer-1 angles from
    ``2 atan2(‖x̂_i − x̂_j‖, ‖x̂_i + x̂_j‖)`` are O(d u)-accurate everywhere and each layer adds a few ulps
    relative to o_l, with no √u regime (the cancellation-free update of the angle)."""
    d = check_int(d, "d", 1)
    total = sum(_outer_sqrt(g.diagonal()) for g in G)
    return gamma(2 * d + 8 * len(G), dtype) * total


def scale_floor(diagonal: torch.Tensor, d: int, L: int, dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """Absolute floor of every entry budget, from the data's scale: ``γ_{d+L} · max_k |K_kk|``
    (docs/accuracy.md#floor). An entry of a zero or tiny row computed to within rounding of the largest
    diagonal entry (e.g. 7e-25 where 0 is exact, next to rows of norm 1) is not a failure: code that adds,
    rescales or shifts rows commits absolute errors of that size, and no kernel property depends on them."""
    d, L = check_int(d, "d", 1), check_int(L, "L", 1)
    return gamma(d + L, dtype) * float(diagonal.abs().max()) if diagonal.numel() else 0.0
