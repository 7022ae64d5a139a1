"""Bounds on the limiting NTK ``K^{(L)}``, its layers ``G^{(l)}``, ``Ġ^{(l)}`` and Du et al.'s ``H∞``
(docs/statements.md#A6, #A7, #A9, #C4, #C5, #C6). All operate on a :class:`~ntkverify.case.KernelCase`."""

from __future__ import annotations

import math

import torch

from ntkverify import analytic
from ntkverify.bounds._util import (
    certified,
    certified_lambda_min,
    certified_sum,
    maximum,
    minimum,
    monotone_error,
    product,
)
from ntkverify.bounds.core import Citation, Data, Kind, Measure, Side, Target, declare
from ntkverify.device import unit_roundoff
from ntkverify.hermite import mu_relu, mu_relu_derivative
from ntkverify.tolerances import gamma, limiting_entry_error

#: Even Hermite orders summed in the explicit-constant bounds (terms are ≥ 0, so truncation is safe).
HERMITE_ORDERS = tuple(range(2, 2001, 2))
#: Orders used in the Schur–Hermite bounds A6c/A6e (each costs one eigenvalue computation).
SCHUR_ORDERS = (1, 2, 4, 6, 8)
HINF_ORDERS = (0, 1, 3, 5, 7)
_MU2 = {r: mu_relu(r) ** 2 for r in HERMITE_ORDERS + SCHUR_ORDERS}


# ------------------------------------------------------------------------------------------- observed sides


def _lmin_K(case):
    return certified_lambda_min(case.K, case.matrix_error())


def _lmin_G2(case):
    return certified_lambda_min(case.layers.G[1], case.entry_error())


def _hinf_entry(case) -> float:
    """``H∞ = ½ XX^T ∘ Ġ^{(2)}``: entries within the depth-2 budget (stable layer-1 angles)."""
    return limiting_entry_error(case.d, 2, case.max_sq_norm, dtype=case.X.dtype)


def _lmin_hinf(case):
    """λ_min of the kernel under test if it claims to be ``H∞`` (within its own budget), else of the engine's ``H∞``
    (``½ XX^T ∘ Ġ^{(2)}``, within the depth-2 budget: stable layer-1 angles)."""
    if case.kernel_target is Target.H_INFINITY:
        return certified_lambda_min(case.kernel_under_test, case.kernel_error)
    return certified_lambda_min(analytic.h_infinity(case.X, device=case.X.device), _hinf_entry(case))


# ------------------------------------------------------------------------------------------- A6 lower bounds


def _schur_sum(case):
    """A6a: ``Σ_l λ_min(G^{(l)})``."""
    return certified_sum(
        [certified_lambda_min(G, case.entry_error()) for G in case.layers.G], "sum_l lambda_min(G^(l))", case
    )


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
        plain = certified_lambda_min(G, case.entry_error())
        tail = _hadamard_tail(case, l)
        if tail is None:
            tail_min = certified(case, 1.0 if case.n == 1 else 0.0, 0.0, "lambda_min(11^T)")
        else:
            tail_min = certified_lambda_min(tail, (case.depth - l) * case.entry_error(1.0))
        diag = certified(case, float(G.diagonal().min()), case.entry_error(), "min_i G_ii")
        terms.append(maximum([plain, product(diag, tail_min, "schur")], "max", case))
    return certified_sum(terms, "two-sided Schur sum", case)


def _hermite_schur(case):
    """A6c at l = 1: ``λ_min(G^{(2)}) ≥ 2 min_i ||x_i||^2 Σ_{r∈S} μ_r^2 λ_min(P^{∘r})``, S = SCHUR_ORDERS.

    ``P^{∘r}`` has entries within ``r·δρ`` (|ρ| ≤ 1, δρ = :attr:`Case.rho_error`)."""
    terms = []
    for r in SCHUR_ORDERS:
        lam = certified_lambda_min(case.P**r, r * case.rho_error)
        terms.append(certified(case, _MU2[r] * lam.value, _MU2[r] * lam.error, "mu_r^2 lambda_min(P^r)"))
    series = certified_sum(terms, "Hermite sum", case)
    norm = certified(case, 2 * case.min_sq_norm, 2 * gamma(case.d, case.X.dtype) * case.min_sq_norm, "2 min ||x||^2")
    return product(norm, series, "Hermite-Schur (A6c)")


def hermite_gershgorin_value(min_sq_norm: float, N: int, rho: float) -> float:
    """``2 m Σ_{r even ≥ 2} μ_r^2 (1 − (N−1) ρ^r)_+`` (docs/statements.md#explicit-lower-bound), truncated at
    :data:`HERMITE_ORDERS` (every
    term is ≥ 0, so the truncation is a valid lower bound)."""
    s = math.fsum(_MU2[r] * max(0.0, 1.0 - (N - 1) * rho**r) for r in HERMITE_ORDERS)
    return 2 * min_sq_norm * s


def _hermite_gershgorin(case):
    """A6d (docs/statements.md#explicit-lower-bound), deterministic with the realised ``ρ_max``; the value is monotone
    in ρ, so its error
    from ``δρ`` is bounded by :func:`monotone_error`; ``min ||x||^2`` carries ``γ_d`` relative."""
    m, N = case.min_sq_norm, case.n

    def f(rho):
        return hermite_gershgorin_value(m, N, rho)

    value = f(case.rho_max)
    error = monotone_error(f, case.rho_max, case.rho_error) + value * (
        gamma(case.d, case.X.dtype) + 4000 * unit_roundoff(case.X.dtype)
    )
    return certified(case, value, error, "Hermite-Gershgorin (A6d)")


def _hinf_hermite(case):
    """A6e: ``λ_min(H∞) ≥ Σ_{r∈S} μ_r(σ')^2 λ_min((XX^T)^{∘(r+1)})`` for unit-norm rows, S = HINF_ORDERS
    (μ_r(σ') = 0 for even r ≥ 2). Entries of ``(XX^T)^{∘(r+1)}`` are within ``(r+1)γ_d``."""
    gram = case.X @ case.X.T
    g = gamma(case.d, case.X.dtype)
    terms = []
    for r in HINF_ORDERS:
        c = mu_relu_derivative(r) ** 2
        lam = certified_lambda_min(gram ** (r + 1), (r + 1) * g * (1 + g) ** r)
        terms.append(certified(case, c * lam.value, c * lam.error, "mu_r(s')^2 lambda_min(G^(r+1))"))
    return certified_sum(terms, "Hermite-Schur for H-infinity (A6e)", case)


def g_hinf(rho: float) -> float:
    """``g(ρ) = ρ (π − arccos ρ)/(2π)``, increasing on [0, 1] (docs/statements.md#hinf-gershgorin)."""
    return rho * (math.pi - math.acos(max(-1.0, min(1.0, rho)))) / (2 * math.pi)


def _hinf_gershgorin(case):
    """``λ_min(H∞) ≥ ½ − (N−1) g(ρ_max)`` (docs/statements.md#hinf-gershgorin)."""
    N = case.n
    value = 0.5 - (N - 1) * g_hinf(case.rho_max)
    error = (N - 1) * monotone_error(g_hinf, case.rho_max, case.rho_error) + 10 * unit_roundoff(case.X.dtype)
    return certified(case, value, error, "H-infinity Gershgorin (A6e)")


def _hinf_rayleigh(case):
    m = case.min_sq_norm / 2
    return certified(case, m, _hinf_entry(case), "min_i H_ii = min ||x_i||^2 / 2")


# ------------------------------------------------------------------------------------------- sphere (PROB)


def t_delta(N: int, d: int, delta: float) -> float:
    """``t_δ = sqrt(2 ln(N(N−1)/δ) / d)``: ``P(ρ_max ≥ t_δ) ≤ δ`` for i.i.d. uniform directions (docs/statements.md#C4,
    Ball 1997 Lemma 2.2 plus a union bound over ordered pairs)."""
    return math.sqrt(2 * math.log(N * (N - 1) / delta) / d)


def _t_delta(case):
    return certified(case, t_delta(case.n, case.d, case.delta), 0.0, "t_delta (C4)")


def _rho_max(case):
    return certified(case, case.rho_max, case.rho_error, "max_{i!=j} |rho_ij|")


def _sphere_hermite(case):
    t = min(t_delta(case.n, case.d, case.delta), 1.0)
    value = hermite_gershgorin_value(float(case.d), case.n, t)
    return certified(case, value, 4000 * unit_roundoff(case.X.dtype) * value, "Hermite-Gershgorin with t_delta")


def _nmm21_single_order(case):
    """NMM21's route with one even order r (docs/statements.md#nmm21-limiting steps 1–4), the best r, with ``ρ_max →
    t_δ``:
    ``2 μ_r^2 d (1 − (N−1) t_δ^r)_+``. The constant is the explicit one of the proof, not the paper's Ω(·)."""
    t = min(t_delta(case.n, case.d, case.delta), 1.0)
    value = max(2 * _MU2[r] * case.d * max(0.0, 1 - (case.n - 1) * t**r) for r in HERMITE_ORDERS)
    return certified(case, value, 10 * unit_roundoff(case.X.dtype) * value, "2 mu_r^2 d (1-(N-1)t^r)_+")


def _depth_times_d(case):
    return certified(case, case.depth * case.d, 0.0, "L d")


def _hinf_sphere(case):
    t = min(t_delta(case.n, case.d, case.delta), 1.0)
    return certified(case, 0.5 - (case.n - 1) * g_hinf(t), 10 * unit_roundoff(case.X.dtype), "1/2 - (N-1) g(t_delta)")


# ------------------------------------------------------------------------------------------- A7 Loewner


def _loewner(differences):
    """Observed side of a Loewner fact ``A ⪰ B`` over layers: ``min_l λ_min(A_l − B_l)``."""

    def observe(case):
        return minimum([certified_lambda_min(M, e) for M, e in differences(case)], "min_l lambda_min(difference)", case)

    return observe


def _gdot_half(case):
    ones = torch.ones(case.n, case.n, dtype=case.X.dtype, device=case.X.device)
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


def _k_top(case):
    """The last step of ``_k_half`` with the case's observed kernel (a kernel under test, else ``K^{(L)}``) on the
    left: its entry budget, K^(L−1)/2's half and G^(L)'s own, rounded up to two budgets."""
    L = case.depth
    return [(case.K - case.ntk(L - 1) / 2 - case.layers.G[L - 1], case.matrix_error() + 2 * case.entry_error())]


def _k_monotone(case):
    return [(case.ntk(case.depth) - case.ntk(case.depth - 1), 2 * case.entry_error())]


# ------------------------------------------------------------------------------------------- registry

_NMM = Citation("NMM21", note="proof of the limiting-NTK theorem", docs=("docs/statements.md#nmm21-limiting",))
_PROB = "at least 1 - delta (delta = case.delta) over i.i.d. uniform directions"
_LAYERS = dict(target=Target.LIMITING_LAYERS, min_depth=2, kind=Kind.DET)
_A7 = ("docs/hermite.md#loewner-lower-bounds", "docs/statements.md#A7")


def _zero(case):
    return certified(case, 0.0, 0.0, "exact")


declare(
    name="schur_sum_lower",
    quantity="lambda_min(K^(L))",
    side=Side.LOWER,
    kind=Kind.DET,
    statement="lambda_min(K^(L)) >= sum_{l=1}^L lambda_min(G^(l)) (Weyl; Schur with Gdot_ii <= 1).",
    target=Target.LIMITING_NTK,
    assumptions="any X",
    citation=Citation("NMM21", note="step 1 of the limiting-NTK proof", docs=("docs/statements.md#A6",)),
    bound_fn=_schur_sum,
    observe_fn=_lmin_K,
)
declare(
    name="schur_two_sided_lower",
    quantity="lambda_min(K^(L))",
    side=Side.LOWER,
    kind=Kind.DET,
    statement="lambda_min(K^(L)) >= sum_l max{lambda_min(G^(l)), min_i G^(l)_ii lambda_min(prod_{k>l} Gdot^(k))}.",
    target=Target.LIMITING_NTK,
    assumptions="any X",
    citation=Citation("Schur (1911)", note="the product theorem both ways", docs=("docs/statements.md#A6",)),
    bound_fn=_schur_two_sided,
    observe_fn=_lmin_K,
)
declare(
    name="hermite_schur_lower",
    quantity="lambda_min(G^(2))",
    side=Side.LOWER,
    statement="lambda_min(G^(2)) >= 2 min_i ||x_i||^2 sum_{r in S} mu_r(relu)^2 lambda_min(P^{o r}), S = {1,2,4,6,8}.",
    assumptions="depth L >= 2 (so G^(2) exists)",
    citation=Citation(
        "NMM21",
        note="step 2 of the limiting-NTK proof; OS20's Hermite route",
        docs=("docs/hermite.md#mehler", "docs/statements.md#A6"),
    ),
    bound_fn=_hermite_schur,
    observe_fn=_lmin_G2,
    **_LAYERS,
)
declare(
    name="hermite_gershgorin_lower",
    quantity="lambda_min(K^(L))",
    side=Side.LOWER,
    kind=Kind.DET,
    statement="lambda_min(K^(L)) >= 2 min_i ||x_i||^2 sum_{r even >= 2} mu_r^2 (1 - (N-1) rho_max^r)_+.",
    target=Target.LIMITING_NTK,
    data=Data.NONZERO_ROWS,
    min_depth=2,
    assumptions="L >= 2, every x_i != 0",
    citation=Citation(
        "NMM21",
        note="steps 1-3 of the limiting-NTK proof, every even order",
        docs=("docs/statements.md#explicit-lower-bound", "docs/statements.md#A6"),
    ),
    bound_fn=_hermite_gershgorin,
    observe_fn=_lmin_K,
)
declare(
    name="hinf_hermite_lower",
    quantity="lambda_min(H_inf)",
    side=Side.LOWER,
    kind=Kind.DET,
    statement="lambda_min(H_inf) >= sum_{r in {0,1,3,5,7}} mu_r(relu')^2 lambda_min((X X^T)^{o(r+1)}).",
    target=Target.H_INFINITY,
    data=Data.UNIT_ROWS,
    assumptions="unit-norm rows",
    citation=Citation(
        "OS20", note="Hermite bound for two layers", docs=("docs/statements.md#os20", "docs/statements.md#A6")
    ),
    bound_fn=_hinf_hermite,
    observe_fn=_lmin_hinf,
)
declare(
    name="hinf_gershgorin_lower",
    quantity="lambda_min(H_inf)",
    side=Side.LOWER,
    kind=Kind.DET,
    statement=(
        "lambda_min(H_inf) >= 1/2 - (N-1) g(rho_max), g(rho) = rho (pi - arccos rho)/(2 pi) "
        "(with hinf_rayleigh_upper: |lambda_min(H_inf) - 1/2| <= (N-1) g(rho_max))."
    ),
    target=Target.H_INFINITY,
    data=Data.UNIT_ROWS,
    assumptions="unit-norm rows",
    citation=Citation(
        "DZPS19",
        item="H_inf",
        where="Sec. 3",
        note="Gershgorin",
        docs=("docs/statements.md#hinf-gershgorin", "docs/statements.md#A6"),
    ),
    bound_fn=_hinf_gershgorin,
    observe_fn=_lmin_hinf,
)
declare(
    name="hinf_rayleigh_upper",
    quantity="lambda_min(H_inf)",
    side=Side.UPPER,
    kind=Kind.DET,
    statement="lambda_min(H_inf) <= min_i H_inf_ii = min_i ||x_i||^2 / 2 (= 1/2 for unit-norm data).",
    target=Target.H_INFINITY,
    assumptions="any X",
    citation=Citation("DZPS19", item="H_inf", where="Sec. 3", docs=("docs/statements.md#hinf-gershgorin",)),
    bound_fn=_hinf_rayleigh,
    observe_fn=_lmin_hinf,
)
declare(
    name="sphere_correlation_max",
    quantity="rho_max",
    side=Side.UPPER,
    kind=Kind.PROB,
    statement=(
        "rho_max = max_{i!=j} |<x_i,x_j>|/(||x_i|| ||x_j||) <= t_delta = sqrt(2 ln(N(N-1)/delta)/d) w.p. >= 1 - delta."
    ),
    target=Target.DATA,
    data=Data.DIRECTIONS,
    min_points=2,
    assumptions="x_i i.i.d. uniform on a sphere (not checkable from one sample); N >= 2",
    citation=Citation(
        "Ball (1997)",
        item="Lemma 2.2",
        note="and a union bound",
        docs=("docs/data.md#sphere-caps", "docs/statements.md#C4"),
    ),
    bound_fn=_t_delta,
    observe_fn=_rho_max,
    probability=_PROB,
    measure=Measure.DATA_STATISTIC,
)
declare(
    name="sphere_hermite_lower",
    quantity="lambda_min(K^(L))",
    side=Side.LOWER,
    kind=Kind.PROB,
    statement="lambda_min(K^(L)) >= 2 d sum_{r even >= 2} mu_r^2 (1 - (N-1) t_delta^r)_+ w.p. >= 1 - delta.",
    target=Target.LIMITING_NTK,
    data=Data.SPHERE,
    min_depth=2,
    min_points=2,
    assumptions="x_i i.i.d. uniform on the sphere of radius sqrt(d) (not checkable from one sample); L >= 2; N >= 2",
    citation=Citation(
        "NMM21",
        note="explicit-constant form of the limiting-NTK theorem",
        docs=("docs/statements.md#explicit-lower-bound", "docs/statements.md#C5"),
    ),
    bound_fn=_sphere_hermite,
    observe_fn=_lmin_K,
    probability=_PROB,
)
declare(
    name="nmm21_scaling_lower",
    quantity="lambda_min(K^(L))",
    side=Side.LOWER,
    kind=Kind.PROB,
    statement=(
        "lambda_min(K^(L)) >= max_{r even} 2 mu_r^2 d (1 - (N-1) t_delta^r)_+ w.p. >= 1 - delta: the seed "
        "paper's mu_r^2 Omega(d) with the proof's explicit constant (the paper's hidden constants are not claimed)."
    ),
    target=Target.LIMITING_NTK,
    data=Data.SPHERE,
    min_depth=2,
    min_points=2,
    assumptions="x_i i.i.d. uniform on the sphere of radius sqrt(d) (not checkable from one sample); L >= 2; N >= 2",
    citation=Citation(
        "NMM21", item="limiting-NTK theorem", docs=("docs/statements.md#nmm21-limiting", "docs/statements.md#C6")
    ),
    bound_fn=_nmm21_single_order,
    observe_fn=_lmin_K,
    probability=_PROB,
)
declare(
    name="nmm21_scaling_upper",
    quantity="lambda_min(K^(L))",
    side=Side.UPPER,
    kind=Kind.DET,
    statement="lambda_min(K^(L)) <= L d for data with ||x_i||^2 = d (the seed paper's O(L d) upper bound, via K_ii).",
    target=Target.LIMITING_NTK,
    data=Data.SQRT_D_ROWS,
    assumptions="rows of squared norm d",
    citation=Citation(
        "NMM21",
        item="limiting-NTK theorem",
        note="upper bound by the Rayleigh quotient, per KMM24 §4",
        docs=("docs/statements.md#nmm21-limiting", "docs/statements.md#C6"),
    ),
    bound_fn=_depth_times_d,
    observe_fn=_lmin_K,
)
declare(
    name="hinf_sphere_lower",
    quantity="lambda_min(H_inf)",
    side=Side.LOWER,
    kind=Kind.PROB,
    statement="lambda_min(H_inf) >= 1/2 - (N-1) g(t_delta) w.p. >= 1 - delta.",
    target=Target.H_INFINITY,
    data=Data.UNIT_SPHERE,
    min_points=2,
    assumptions="x_i i.i.d. uniform on the sphere of radius 1 (not checkable from one sample); N >= 2",
    citation=Citation(
        "DZPS19",
        item="H_inf",
        where="Sec. 3",
        note="Gershgorin with the sphere caps",
        docs=("docs/statements.md#hinf-gershgorin", "docs/statements.md#C5"),
    ),
    bound_fn=_hinf_sphere,
    observe_fn=_lmin_hinf,
    probability=_PROB,
)
declare(
    name="loewner_gdot_half",
    quantity="min_l lambda_min(Gdot^(l) - 11^T/2)",
    side=Side.LOWER,
    statement=(
        "Gdot^(l) >= (1/2) 1 1^T (Loewner), l = 2..L: Gdot = 1/2 + arcsin(P)/pi and arcsin has a nonnegative series."
    ),
    data=Data.NONZERO_ROWS,
    assumptions="L >= 2, every x_i != 0",
    citation=Citation("Mehler expansion", note="arcsin has a nonnegative series", docs=_A7),
    bound_fn=_zero,
    observe_fn=_loewner(_gdot_half),
    **_LAYERS,
)
declare(
    name="loewner_g_half",
    quantity="min_l lambda_min(G^(l+1) - G^(l)/2)",
    side=Side.LOWER,
    statement="G^(l+1) >= (1/2) G^(l) (the r = 1 Hermite term), l = 1..L-1.",
    assumptions="L >= 2",
    citation=Citation("Mehler expansion", note="the r = 1 term", docs=_A7),
    bound_fn=_zero,
    observe_fn=_loewner(_g_half),
    **_LAYERS,
)
declare(
    name="loewner_g_rank_one",
    quantity="min_l lambda_min(G^(l+1) - d_l d_l^T/pi)",
    side=Side.LOWER,
    statement="G^(l+1) >= (1/pi) d_l d_l^T, d_l = sqrt(diag G^(l)) (the r = 0 Hermite term), l = 1..L-1.",
    assumptions="L >= 2",
    citation=Citation("Mehler expansion", note="the r = 0 term", docs=_A7),
    bound_fn=_zero,
    observe_fn=_loewner(_g_rank_one),
    **_LAYERS,
)
declare(
    name="loewner_k_half",
    quantity="min_l lambda_min(K^(l) - K^(l-1)/2 - G^(l))",
    side=Side.LOWER,
    statement="K^(l) >= (1/2) K^(l-1) + G^(l), l = 2..L (Schur with Gdot >= 11^T/2).",
    assumptions="L >= 2",
    citation=Citation("Schur (1911)", note="with Gdot >= 11^T/2", docs=("docs/statements.md#A7",)),
    bound_fn=_zero,
    observe_fn=_loewner(_k_half),
    **_LAYERS,
)
declare(
    name="loewner_k_top",
    quantity="lambda_min(K - K^(L-1)/2 - G^(L))",
    side=Side.LOWER,
    kind=Kind.DET,
    statement=(
        "K^(L) >= (1/2) K^(L-1) + G^(L) (the last step of loewner_k_half), observed on a kernel under test claiming "
        "K^(L), against the engine's K^(L-1) and G^(L)."
    ),
    target=Target.LIMITING_NTK,
    min_depth=2,
    assumptions="L >= 2",
    citation=Citation("Schur (1911)", note="with Gdot >= 11^T/2", docs=("docs/statements.md#A7",)),
    bound_fn=_zero,
    observe_fn=_loewner(_k_top),
)
declare(
    name="depth_monotone",
    quantity="lambda_min(K^(L) - K^(L-1))",
    side=Side.LOWER,
    kind=Kind.CONJ,
    statement="K^(L) >= K^(L-1) (so lambda_min(K^(L)) is non-decreasing in L): no proof known.",
    target=Target.LIMITING_LAYERS,
    min_depth=2,
    assumptions="L >= 2",
    citation=Citation(
        "conjecture",
        docs=("docs/statements.md#depth-monotone", "docs/statements.md#A7", "docs/statements.md#open-questions"),
    ),
    bound_fn=_zero,
    observe_fn=_loewner(_k_monotone),
)
declare(
    name="degenerate_zero",
    quantity="lambda_min(K^(L))",
    side=Side.UPPER,
    kind=Kind.DET,
    statement="lambda_min(K^(L)) = 0 (checked as <= 0; psd gives >= 0) if (i) x_j = c x_i, c > 0; (ii) some x_i = 0; "
    "(iii) L = 1 and N > d; (iv) L = 2 and more antipodal pairs than the rank of their span.",
    target=Target.LIMITING_NTK,
    data=Data.DEGENERATE,
    assumptions="one of (i)-(iv) holds (checked)",
    citation=Citation("derived", note="the converse is DZPS19 Thm 3.1", docs=("docs/statements.md#A9",)),
    bound_fn=_zero,
    observe_fn=_lmin_K,
)
