"""Bounds on the limiting NTK ``K^{(L)}``, its layers ``G^{(l)}``, ``Ġ^{(l)}`` and Du et al.'s ``H∞``
(spec §6, §8, §10 A6, A7, A9, C4–C6). All operate on a :class:`~ntkverify.bounds.cases.Case`."""

from __future__ import annotations

import math

import torch

from ntkverify.bounds._util import cert, exact_cdist, lmin, maximum, minimum, monotone_error, product, total
from ntkverify.bounds.core import Bound, Kind, Side, register
from ntkverify.device import unit_roundoff
from ntkverify.hermite import mu_relu, mu_relu_derivative
from ntkverify.tolerances import gamma, limiting_entry_error

#: Even Hermite orders summed in the explicit-constant bounds (terms are ≥ 0, so truncation is safe).
HERMITE_ORDERS = tuple(range(2, 2001, 2))
#: Orders used in the Schur–Hermite bounds A6c/A6e (each costs one eigenvalue computation).
SCHUR_ORDERS = (1, 2, 4, 6, 8)
HINF_ORDERS = (0, 1, 3, 5, 7)
_MU2 = {r: mu_relu(r) ** 2 for r in HERMITE_ORDERS + SCHUR_ORDERS}


# ------------------------------------------------------------------------------------------- scopes


def _depth_at_least(k: int):
    def scope(case):
        return None if case.depth >= k else f"needs depth L >= {k}, got L={case.depth}"

    return scope


def _no_zero_rows(case):
    return case.zero_row_reason()


def _all(*scopes):
    def scope(case):
        return next((r for r in (s(case) for s in scopes) if r is not None), None)

    return scope


def _unit_norm(case):
    return None if case.unit_norm(1.0) else "rows must have unit norm (||x_i|| = 1)"


def _sphere_radius(case):
    return None if case.unit_norm(float(case.d)) else "rows must have ||x_i||^2 = d (sphere of radius sqrt(d))"


def _pairs(case):
    return None if case.N >= 2 else f"needs N >= 2 points, got N={case.N}"


# ------------------------------------------------------------------------------------------- observed sides


def _lmin_K(case):
    return lmin(case.K, case.entry_error())


def _lmin_G2(case):
    return lmin(case.layers.G[1], case.entry_error())


def _hinf_entry(case) -> float:
    """``H∞ = ½ XX^T ∘ Ġ^{(2)}``: entries within the depth-2 budget (stable layer-1 angles)."""
    return limiting_entry_error(case.d, 2, case.max_sq_norm, dtype=case.X.dtype)


def _lmin_hinf(case):
    return lmin(case.h_infinity, _hinf_entry(case))


# ------------------------------------------------------------------------------------------- A6 lower bounds


def _schur_sum(case):
    """A6a: ``Σ_l λ_min(G^{(l)})``."""
    return total([lmin(G, case.entry_error()) for G in case.layers.G], "sum_l lambda_min(G^(l))", case)


def _hadamard_tail(case, l: int) -> torch.Tensor | None:
    """``Π_{k=l+1..L} Ġ^{(k)}`` (None for the empty product ``11^T``)."""
    tail = None
    for k in range(l + 1, case.depth + 1):
        Gd = case.layers.Gdot[k - 1]
        tail = Gd if tail is None else tail * Gd
    return tail


def _schur_two_sided(case):
    """A6b: ``Σ_l max{λ_min(G^{(l)}), min_i G^{(l)}_ii · λ_min(Π_{k>l} Ġ^{(k)})}``.

    ``λ_min`` of the empty product ``11^T`` is 0 for N > 1 and 1 for N = 1. Entries of a product of ``m``
    factors in [0, 1], each within ε, are within ``m ε``."""
    terms = []
    for l, G in enumerate(case.layers.G, start=1):
        plain = lmin(G, case.entry_error())
        tail = _hadamard_tail(case, l)
        if tail is None:
            tail_min = cert(case, 1.0 if case.N == 1 else 0.0, 0.0, "lambda_min(11^T)")
        else:
            tail_min = lmin(tail, (case.depth - l) * case.entry_error(1.0))
        diag = cert(case, float(G.diagonal().min()), case.entry_error(), "min_i G_ii")
        terms.append(maximum([plain, product(diag, tail_min, "schur")], "max", case))
    return total(terms, "two-sided Schur sum", case)


def _hermite_schur(case):
    """A6c at l = 1: ``λ_min(G^{(2)}) ≥ 2 min_i ||x_i||^2 Σ_{r∈S} μ_r^2 λ_min(P^{∘r})``, S = SCHUR_ORDERS.

    ``P^{∘r}`` has entries within ``r·δρ`` (|ρ| ≤ 1, δρ = :attr:`Case.rho_error`)."""
    terms = []
    for r in SCHUR_ORDERS:
        lam = lmin(case.P**r, r * case.rho_error)
        terms.append(cert(case, _MU2[r] * lam.value, _MU2[r] * lam.error, "mu_r^2 lambda_min(P^r)"))
    series = total(terms, "Hermite sum", case)
    norm = cert(case, 2 * case.min_sq_norm, 2 * gamma(case.d, case.X.dtype) * case.min_sq_norm, "2 min ||x||^2")
    return product(norm, series, "Hermite-Schur (A6c)")


def hermite_gershgorin_value(min_sq_norm: float, N: int, rho: float) -> float:
    """``2 m Σ_{r even ≥ 2} μ_r^2 (1 − (N−1) ρ^r)_+`` (spec §8.4), truncated at :data:`HERMITE_ORDERS` (every
    term is ≥ 0, so the truncation is a valid lower bound)."""
    s = math.fsum(_MU2[r] * max(0.0, 1.0 - (N - 1) * rho**r) for r in HERMITE_ORDERS)
    return 2 * min_sq_norm * s


def _hermite_gershgorin(case):
    """A6d (spec §8.4), deterministic with the realised ``ρ_max``; the value is monotone in ρ, so its error
    from ``δρ`` is bounded by :func:`monotone_error`; ``min ||x||^2`` carries ``γ_d`` relative."""
    m, N = case.min_sq_norm, case.N

    def f(rho):
        return hermite_gershgorin_value(m, N, rho)

    value = f(case.rho_max)
    error = monotone_error(f, case.rho_max, case.rho_error) + value * (
        gamma(case.d, case.X.dtype) + 4000 * unit_roundoff(case.X.dtype)
    )
    return cert(case, value, error, "Hermite-Gershgorin (§8.4)")


def _hinf_hermite(case):
    """A6e: ``λ_min(H∞) ≥ Σ_{r∈S} μ_r(σ')^2 λ_min((XX^T)^{∘(r+1)})`` for unit-norm rows, S = HINF_ORDERS
    (μ_r(σ') = 0 for even r ≥ 2). Entries of ``(XX^T)^{∘(r+1)}`` are within ``(r+1)γ_d``."""
    gram = case.X @ case.X.T
    g = gamma(case.d, case.X.dtype)
    terms = []
    for r in HINF_ORDERS:
        c = mu_relu_derivative(r) ** 2
        lam = lmin(gram ** (r + 1), (r + 1) * g * (1 + g) ** r)
        terms.append(cert(case, c * lam.value, c * lam.error, "mu_r(s')^2 lambda_min(G^(r+1))"))
    return total(terms, "Hermite-Schur for H-infinity (A6e)", case)


def g_hinf(rho: float) -> float:
    """``g(ρ) = ρ (π − arccos ρ)/(2π)``, increasing on [0, 1] (spec §8.3)."""
    return rho * (math.pi - math.acos(max(-1.0, min(1.0, rho)))) / (2 * math.pi)


def _hinf_gershgorin(case):
    """``λ_min(H∞) ≥ ½ − (N−1) g(ρ_max)`` (spec §8.3)."""
    N = case.N
    value = 0.5 - (N - 1) * g_hinf(case.rho_max)
    error = (N - 1) * monotone_error(g_hinf, case.rho_max, case.rho_error) + 10 * unit_roundoff(case.X.dtype)
    return cert(case, value, error, "H-infinity Gershgorin (§8.3)")


def _hinf_rayleigh(case):
    m = case.min_sq_norm / 2
    return cert(case, m, _hinf_entry(case), "min_i H_ii = min ||x_i||^2 / 2")


# ------------------------------------------------------------------------------------------- sphere (PROB)


def t_delta(N: int, d: int, delta: float) -> float:
    """``t_δ = sqrt(2 ln(N(N−1)/δ) / d)``: ``P(ρ_max ≥ t_δ) ≤ δ`` for i.i.d. uniform directions (spec §8.2,
    Ball 1997 Lemma 2.2 plus a union bound over ordered pairs)."""
    return math.sqrt(2 * math.log(N * (N - 1) / delta) / d)


def _t_delta(case):
    return cert(case, t_delta(case.N, case.d, case.delta), 0.0, "t_delta (§8.2)")


def _rho_max(case):
    return cert(case, case.rho_max, case.rho_error, "max_{i!=j} |rho_ij|")


def _sphere_hermite(case):
    t = min(t_delta(case.N, case.d, case.delta), 1.0)
    value = hermite_gershgorin_value(float(case.d), case.N, t)
    return cert(case, value, 4000 * unit_roundoff(case.X.dtype) * value, "Hermite-Gershgorin with t_delta")


def _nmm21_single_order(case):
    """NMM21's route with one even order r (spec §6.1 steps 1–4), the best r, with ``ρ_max → t_δ``:
    ``2 μ_r^2 d (1 − (N−1) t_δ^r)_+``. The constant is the explicit one of the proof, not the paper's Ω(·)."""
    t = min(t_delta(case.N, case.d, case.delta), 1.0)
    value = max(2 * _MU2[r] * case.d * max(0.0, 1 - (case.N - 1) * t**r) for r in HERMITE_ORDERS)
    return cert(case, value, 10 * unit_roundoff(case.X.dtype) * value, "2 mu_r^2 d (1-(N-1)t^r)_+")


def _depth_times_d(case):
    return cert(case, case.depth * case.d, 0.0, "L d")


def _hinf_sphere(case):
    t = min(t_delta(case.N, case.d, case.delta), 1.0)
    return cert(case, 0.5 - (case.N - 1) * g_hinf(t), 10 * unit_roundoff(case.X.dtype), "1/2 - (N-1) g(t_delta)")


# ------------------------------------------------------------------------------------------- A7 Loewner


def _loewner(differences):
    """Observed side of a Loewner fact ``A ⪰ B`` over layers: ``min_l λ_min(A_l − B_l)``."""

    def observe(case):
        return minimum([lmin(M, e) for M, e in differences(case)], "min_l lambda_min(difference)", case)

    return observe


def _gdot_half(case):
    ones = torch.ones(case.N, case.N, dtype=case.X.dtype, device=case.X.device)
    return [(Gd - ones / 2, case.entry_error(1.0)) for Gd in case.layers.Gdot[1:]]


def _g_half(case):
    G = case.layers.G
    return [(G[l] - G[l - 1] / 2, 2 * case.entry_error()) for l in range(1, case.depth)]


def _g_rank_one(case):
    G = case.layers.G
    out = []
    for l in range(1, case.depth):
        dl = torch.sqrt(G[l - 1].diagonal().clamp(min=0))
        out.append((G[l] - torch.outer(dl, dl) / math.pi, 2 * case.entry_error()))
    return out


def _k_half(case):
    return [
        (case.ntk(l) - case.ntk(l - 1) / 2 - case.layers.G[l - 1], 3 * case.entry_error())
        for l in range(2, case.depth + 1)
    ]


def _k_monotone(case):
    return [(case.ntk(case.depth) - case.ntk(case.depth - 1), 2 * case.entry_error())]


# ------------------------------------------------------------------------------------------- A9 degeneracies


def _direction_gaps(case) -> tuple[torch.Tensor, torch.Tensor]:
    """``||x̂_i − x̂_j||`` and ``||x̂_i + x̂_j||`` for unit rows ``x̂`` (zero rows stay 0). Unlike ``1 − ρ_ij``,
    these resolve angles down to rounding, not to ``sqrt(u)`` (spec §4.4) — provided the distances come from the
    differences themselves (:func:`exact_cdist`), not from the Gram expansion."""
    norms = torch.linalg.vector_norm(case.X, dim=1)
    U = case.X / torch.where(norms > 0, norms, torch.ones_like(norms))[:, None]
    return exact_cdist(U, U), exact_cdist(U, -U)


def degeneracy(case) -> str | None:
    """Why ``λ_min(K^{(L)}) = 0`` exactly for this case (spec §10 A9), or None if none of (i)–(iv) applies.

    Parallel and antipodal pairs are recognised when their unit directions agree to within
    :attr:`Case.rho_error` (rounding), so the claimed zero is exact up to ``O(u^2)·scale``."""
    if case.has_zero_row():
        return f"(ii) {case.zero_row_reason()}"
    minus, plus = _direction_gaps(case)
    tol = case.rho_error
    off = ~torch.eye(case.N, dtype=torch.bool, device=case.X.device)
    if bool(((minus <= tol) & off).any()):
        return "(i) two inputs are positively parallel"
    if case.depth == 1 and case.N > case.d:
        return "(iii) L = 1 and N > d"
    if case.depth == 2:
        used, reps = set(), []
        for i, j in ((plus <= tol) & off).nonzero().tolist():
            if i < j and i not in used and j not in used:
                used.update((i, j))
                reps.append(case.X[i])
        if reps and len(reps) > int(torch.linalg.matrix_rank(torch.stack(reps))):
            return f"(iv) L = 2 and {len(reps)} antipodal pairs exceed the rank of their span"
    return None


def _degenerate_scope(case):
    return None if degeneracy(case) is not None else "no degeneracy (i)-(iv) of spec §10 A9 applies"


# ------------------------------------------------------------------------------------------- registry

_NMM = "NMM21 (Nguyen, Mondelli, Montúfar, ICML 2021) §3 proof mechanism"


def _zero(case):
    return cert(case, 0.0, 0.0, "exact")


def _is_limiting(case):
    return None if hasattr(case, "layers") else "needs a Case (data and depth) for the limiting kernels"


def _reg(name, quantity, side, kind, statement, assumptions, citation, bound_fn, observe_fn, scope=None, prob="1"):
    register(
        Bound(
            name=name,
            quantity=quantity,
            side=side,
            kind=kind,
            statement=statement,
            assumptions=assumptions,
            citation=citation,
            bound_fn=bound_fn,
            observe_fn=observe_fn,
            scope_fn=_is_limiting if scope is None else _all(_is_limiting, scope),
            probability=prob,
        )
    )


_PROB = "at least 1 - delta (delta = case.delta) over i.i.d. uniform directions"
_RANDOM_SPHERE = "x_i i.i.d. uniform on a sphere (not checkable from one sample)"

_reg(
    "schur_sum_lower",
    "lambda_min(K^(L))",
    Side.LOWER,
    Kind.DET,
    "lambda_min(K^(L)) >= sum_{l=1}^L lambda_min(G^(l)) (Weyl; Schur with Gdot_ii <= 1).",
    "any X",
    f"{_NMM}; spec §10 A6a",
    _schur_sum,
    _lmin_K,
)
_reg(
    "schur_two_sided_lower",
    "lambda_min(K^(L))",
    Side.LOWER,
    Kind.DET,
    "lambda_min(K^(L)) >= sum_l max{lambda_min(G^(l)), min_i G^(l)_ii lambda_min(prod_{k>l} Gdot^(k))}.",
    "any X",
    "Schur (1911) product theorem both ways; spec §10 A6b",
    _schur_two_sided,
    _lmin_K,
)
_reg(
    "hermite_schur_lower",
    "lambda_min(G^(2))",
    Side.LOWER,
    Kind.DET,
    "lambda_min(G^(2)) >= 2 min_i ||x_i||^2 sum_{r in S} mu_r(relu)^2 lambda_min(P^{o r}), S = {1,2,4,6,8}.",
    "depth L >= 2 (so G^(2) exists)",
    f"{_NMM}; OS20 Hermite route; spec §5.4, §10 A6c",
    _hermite_schur,
    _lmin_G2,
    _depth_at_least(2),
)
_reg(
    "hermite_gershgorin_lower",
    "lambda_min(K^(L))",
    Side.LOWER,
    Kind.DET,
    "lambda_min(K^(L)) >= 2 min_i ||x_i||^2 sum_{r even >= 2} mu_r^2 (1 - (N-1) rho_max^r)_+.",
    "L >= 2, every x_i != 0",
    f"{_NMM} steps 1-3; spec §8.4, §10 A6d",
    _hermite_gershgorin,
    _lmin_K,
    _all(_depth_at_least(2), _no_zero_rows),
)
_reg(
    "hinf_hermite_lower",
    "lambda_min(H_inf)",
    Side.LOWER,
    Kind.DET,
    "lambda_min(H_inf) >= sum_{r in {0,1,3,5,7}} mu_r(relu')^2 lambda_min((X X^T)^{o(r+1)}).",
    "unit-norm rows",
    "OS20 (Oymak & Soltanolkotabi 2020) Hermite bound; spec §7, §10 A6e",
    _hinf_hermite,
    _lmin_hinf,
    _unit_norm,
)
_reg(
    "hinf_gershgorin_lower",
    "lambda_min(H_inf)",
    Side.LOWER,
    Kind.DET,
    "lambda_min(H_inf) >= 1/2 - (N-1) g(rho_max), g(rho) = rho (pi - arccos rho)/(2 pi) (with hinf_rayleigh_upper: "
    "|lambda_min(H_inf) - 1/2| <= (N-1) g(rho_max)).",
    "unit-norm rows",
    "DZPS19 (Du, Zhai, Poczos, Singh, ICLR 2019) §3 H_inf; NMM21; spec §8.3, §10 A6e",
    _hinf_gershgorin,
    _lmin_hinf,
    _unit_norm,
)
_reg(
    "hinf_rayleigh_upper",
    "lambda_min(H_inf)",
    Side.UPPER,
    Kind.DET,
    "lambda_min(H_inf) <= min_i H_inf_ii = min_i ||x_i||^2 / 2 (= 1/2 for unit-norm data).",
    "any X",
    "DZPS19 §3; spec §8.3",
    _hinf_rayleigh,
    _lmin_hinf,
)
_reg(
    "sphere_correlation_max",
    "rho_max",
    Side.UPPER,
    Kind.PROB,
    "rho_max = max_{i!=j} |<x_i,x_j>|/(||x_i|| ||x_j||) <= t_delta = sqrt(2 ln(N(N-1)/delta)/d) w.p. >= 1 - delta.",
    _RANDOM_SPHERE + "; N >= 2",
    "Ball (1997) Lemma 2.2 + union bound; spec §8.1-8.2, §10 C4",
    _t_delta,
    _rho_max,
    _pairs,
    _PROB,
)
_reg(
    "sphere_hermite_lower",
    "lambda_min(K^(L))",
    Side.LOWER,
    Kind.PROB,
    "lambda_min(K^(L)) >= 2 d sum_{r even >= 2} mu_r^2 (1 - (N-1) t_delta^r)_+ w.p. >= 1 - delta.",
    _RANDOM_SPHERE + " of radius sqrt(d); L >= 2; N >= 2",
    "spec §8.4 (explicit-constant form of NMM21), §10 C5",
    _sphere_hermite,
    _lmin_K,
    _all(_depth_at_least(2), _sphere_radius, _pairs),
    _PROB,
)
_reg(
    "nmm21_scaling_lower",
    "lambda_min(K^(L))",
    Side.LOWER,
    Kind.PROB,
    "lambda_min(K^(L)) >= max_{r even} 2 mu_r^2 d (1 - (N-1) t_delta^r)_+ w.p. >= 1 - delta: the seed paper's "
    "mu_r^2 Omega(d) with the proof's explicit constant (the paper's hidden constants are not claimed).",
    _RANDOM_SPHERE + " of radius sqrt(d); L >= 2; N >= 2",
    f"{_NMM} (limiting-NTK theorem); spec §6.1, §10 C6",
    _nmm21_single_order,
    _lmin_K,
    _all(_depth_at_least(2), _sphere_radius, _pairs),
    _PROB,
)
_reg(
    "nmm21_scaling_upper",
    "lambda_min(K^(L))",
    Side.UPPER,
    Kind.DET,
    "lambda_min(K^(L)) <= L d for data with ||x_i||^2 = d (the seed paper's O(L d) upper bound, via K_ii).",
    "rows of squared norm d",
    f"{_NMM}; KMM24 §4; spec §6.1, §10 C6",
    _depth_times_d,
    _lmin_K,
    _sphere_radius,
)
_reg(
    "hinf_sphere_lower",
    "lambda_min(H_inf)",
    Side.LOWER,
    Kind.PROB,
    "lambda_min(H_inf) >= 1/2 - (N-1) g(t_delta) w.p. >= 1 - delta.",
    _RANDOM_SPHERE + " of radius 1; N >= 2",
    "spec §8.3 with §8.2",
    _hinf_sphere,
    _lmin_hinf,
    _all(_unit_norm, _pairs),
    _PROB,
)
_reg(
    "loewner_gdot_half",
    "min_l lambda_min(Gdot^(l) - 11^T/2)",
    Side.LOWER,
    Kind.DET,
    "Gdot^(l) >= (1/2) 1 1^T (Loewner), l = 2..L: Gdot = 1/2 + arcsin(P)/pi and arcsin has a nonnegative series.",
    "L >= 2, every x_i != 0",
    "spec §5.4, §10 A7",
    _zero,
    _loewner(_gdot_half),
    _all(_depth_at_least(2), _no_zero_rows),
)
_reg(
    "loewner_g_half",
    "min_l lambda_min(G^(l+1) - G^(l)/2)",
    Side.LOWER,
    Kind.DET,
    "G^(l+1) >= (1/2) G^(l) (the r = 1 Hermite term), l = 1..L-1.",
    "L >= 2",
    "spec §5.4, §10 A7",
    _zero,
    _loewner(_g_half),
    _depth_at_least(2),
)
_reg(
    "loewner_g_rank_one",
    "min_l lambda_min(G^(l+1) - d_l d_l^T/pi)",
    Side.LOWER,
    Kind.DET,
    "G^(l+1) >= (1/pi) d_l d_l^T, d_l = sqrt(diag G^(l)) (the r = 0 Hermite term), l = 1..L-1.",
    "L >= 2",
    "spec §5.4, §10 A7",
    _zero,
    _loewner(_g_rank_one),
    _depth_at_least(2),
)
_reg(
    "loewner_k_half",
    "min_l lambda_min(K^(l) - K^(l-1)/2 - G^(l))",
    Side.LOWER,
    Kind.DET,
    "K^(l) >= (1/2) K^(l-1) + G^(l), l = 2..L (Schur with Gdot >= 11^T/2).",
    "L >= 2",
    "spec §10 A7",
    _zero,
    _loewner(_k_half),
    _depth_at_least(2),
)
_reg(
    "depth_monotone",
    "lambda_min(K^(L) - K^(L-1))",
    Side.LOWER,
    Kind.CONJ,
    "K^(L) >= K^(L-1) (so lambda_min(K^(L)) is non-decreasing in L): no proof known.",
    "L >= 2",
    "spec §9 item 8, §10 A7, §12 item 5",
    _zero,
    _loewner(_k_monotone),
    _depth_at_least(2),
)
_reg(
    "degenerate_zero",
    "lambda_min(K^(L))",
    Side.UPPER,
    Kind.DET,
    "lambda_min(K^(L)) = 0 (checked as <= 0; psd gives >= 0) if (i) x_j = c x_i, c > 0; (ii) some x_i = 0; "
    "(iii) L = 1 and N > d; (iv) L = 2 and more antipodal pairs than the rank of their span.",
    "one of (i)-(iv) holds (checked)",
    "spec §10 A9 (proof of (iv) in the spec); DZPS19 Thm 3.1 for the converse",
    _zero,
    _lmin_K,
    _degenerate_scope,
)
