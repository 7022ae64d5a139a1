"""Bounds on the empirical NTK ``K̄`` of one draw of weights (docs/statements.md#nmm21-finite-width, #B3–B8), written
against plain tensors through :class:`~ntkverify.case.WeightsCase` (features ``F_l``, backward vectors ``B_l``,
weights ``W_l``). All are deterministic given the draw. The generic matrix bounds of
:mod:`ntkverify.bounds.matrix` (``psd``, ``trivial_upper``, ``interlacing_2x2_upper``, Gershgorin) apply to
a ``WeightsCase`` too."""

from __future__ import annotations

import torch

from ntkverify import spectra
from ntkverify.bounds._util import (
    certified,
    certified_lambda_min,
    certified_sum,
    maximum,
    minimum,
    product,
)
from ntkverify.bounds.core import Citation, Kind, Measure, Side, Target, declare
from ntkverify.case import degeneracy, exact_cdist
from ntkverify.tolerances import tau_id


def _gram(case, F):
    M = F @ F.T
    return M, case.entry_error(float(M.diagonal().max()))


def _min_b(case, B):
    value = float((B * B).sum(dim=1).min())
    return certified(case, value, case.entry_error(value), "min_i ||b_l(x_i)||^2")


def _schur_terms(case):
    return [
        product(certified_lambda_min(*_gram(case, F)), _min_b(case, B), "lambda_min(F F^T) min ||b||^2")
        for F, B in zip(case.F, case.B)
    ]


def _emp_schur(case):
    """B3: ``Σ_l λ_min(F_{l-1}F_{l-1}^T) min_i ||b_l(x_i)||^2`` (Weyl + Schur 1911)."""
    return certified_sum(_schur_terms(case), "sum over layers", case)


def _emp_wide(case):
    """B3 through one layer: ``max_k λ_min(F_kF_k^T) min_i ||b_{k+1}(x_i)||^2``."""
    return maximum(_schur_terms(case), "best single layer", case)


def _lmin_emp(case):
    return spectra.lambda_min(case.K, entry_error=case.matrix_error())


def _lmax_emp(case):
    return spectra.lambda_max(case.K, entry_error=case.matrix_error())


def _euler_lmax(case):
    """B4: ``λ_max(K̄) ≥ L^2 ||F_L(θ)||^2 / ||θ||^2``, from Euler's identity ``Jθ = L F_L(θ)`` (f is
    positively homogeneous of degree L in θ) and the Rayleigh quotient of ``J^T J`` at θ."""
    value = case.depth**2 * float((case.outputs**2).sum()) / case.parameter_sq_norm
    return certified(case, value, case.entry_error(value), "L^2 ||F_L||^2/||theta||^2")


def _euler_defect(case):
    """B6: ``max_{i,l} |f_{l-1}(x_i)^T W_l b_l(x_i) − f_L(x_i)|`` (``<W_l, ∂f_L/∂W_l> = f_L``), with error
    ``τ_id`` relative to ``max |f|^T |W| |b|`` (the size of the summands)."""
    defect, size = 0.0, 0.0
    for F, W, B in zip(case.F, case.weights, case.B):
        lhs = ((F @ W) * B).sum(dim=1)
        defect = max(defect, float((lhs - case.outputs).abs().max()))
        size = max(size, float(((F.abs() @ W.abs()) * B.abs()).sum(dim=1).max()))
    error = tau_id(case.depth, case.d, case.widths, case.X.dtype) * size
    return certified(case, defect, error, "max |<W_l, df/dW_l> - f|")


def _lipschitz_ratio(case):
    """B7: ``max_k max_{i≠j} ||f_k(x_i) − f_k(x_j)|| / (Π_{l≤k} ||W_l||_op ||x_i − x_j|| (1 + τ) + τ (||f_k(x_i)||
    + ||f_k(x_j)||))`` over k = 1..L−1, ≤ 1 since ReLU is 1-Lipschitz; ``τ = τ_id``.

    The term ``τ(||f_k(x_i)|| + ||f_k(x_j)||)`` bounds the rounding of the computed features, which does not
    shrink with ``||x_i − x_j||``: without it two nearly identical inputs (a gap of 1e−300, say) would make the
    computed quotient rounding noise over a vanishing distance (observed: 1e+294). ``(1 + τ)`` covers the
    rounding of the distances and of the operator norms."""
    tau = tau_id(case.depth, case.d, case.widths, case.X.dtype)
    dx = exact_cdist(case.X, case.X)
    mask = dx > 0
    best, op = 0.0, 1.0
    for k in range(1, case.depth):
        op *= float(torch.linalg.matrix_norm(case.weights[k - 1], ord=2))
        if bool(mask.any()) and op > 0:
            norms = torch.linalg.vector_norm(case.F[k], dim=1)
            allowed = op * dx * (1 + tau) + tau * (norms[:, None] + norms[None, :])
            ratio = exact_cdist(case.F[k], case.F[k])[mask] / allowed[mask]
            best = max(best, float(ratio.max()))
    return certified(case, best, tau * max(best, 1.0), "ratio")


def _narrow_features(case):
    """B5: ``min_{k: n_k < N} λ_min(F_kF_k^T)`` (rank ≤ n_k < N)."""
    items = [certified_lambda_min(*_gram(case, case.F[k])) for k in range(1, case.depth) if case.widths[k - 1] < case.n]
    return minimum(items, "min over narrow layers", case)


def _narrow_scope(case):
    return None if any(n < case.n for n in case.widths) else f"no hidden width below N={case.n}"


def _emp_degenerate_scope(case):
    if case.parameter_count < case.n:
        return None
    why = degeneracy(case.X)  # (i)/(ii): parallel or zero inputs, at every depth
    return None if why is not None else "no parallel or zero inputs and P >= N parameters"


def _zero(case):
    return certified(case, 0.0, 0.0, "exact")


def _one(case):
    return certified(case, 1.0, 0.0, "exact")


_NETWORK = "a WeightsCase: bias-free ReLU MLP with the given weights, sigma'(0) = 0"
_THM41 = dict(source="NMM21", item="Thm 4.1", note="proof, as restated by KMM24")


def _declare(**fields) -> None:
    declare(kind=Kind.DET, assumptions=_NETWORK, **fields)


_declare(
    name="emp_schur_lower",
    quantity="lambda_min(Kbar)",
    side=Side.LOWER,
    statement="lambda_min(Kbar) >= sum_l lambda_min(F_{l-1} F_{l-1}^T) min_i ||b_l(x_i)||^2.",
    target=Target.EMPIRICAL_NTK,
    citation=Citation(**_THM41, docs=("docs/statements.md#nmm21-finite-width", "docs/statements.md#B3")),
    bound_fn=_emp_schur,
    observe_fn=_lmin_emp,
)
_declare(
    name="emp_wide_layer_lower",
    quantity="lambda_min(Kbar)",
    side=Side.LOWER,
    statement="lambda_min(Kbar) >= lambda_min(F_k F_k^T) min_i ||b_{k+1}(x_i)||^2 for every k (reported: best k).",
    target=Target.EMPIRICAL_NTK,
    citation=Citation(**_THM41, docs=("docs/statements.md#nmm21-finite-width", "docs/statements.md#B3")),
    bound_fn=_emp_wide,
    observe_fn=_lmin_emp,
)
_declare(
    name="emp_euler_lambda_max_lower",
    quantity="lambda_max(Kbar)",
    side=Side.LOWER,
    statement="lambda_max(Kbar) >= L^2 ||F_L(theta)||^2 / ||theta||^2 (Euler: J theta = L F_L).",
    target=Target.EMPIRICAL_NTK,
    citation=Citation("Euler's identity", note="Rayleigh quotient at theta", docs=("docs/statements.md#B4",)),
    bound_fn=_euler_lmax,
    observe_fn=_lmax_emp,
)
_declare(
    name="emp_euler_identity",
    quantity="max_{i,l} |<W_l, df_L/dW_l>(x_i) - f_L(x_i)|",
    side=Side.UPPER,
    statement="<W_l, df_L(x)/dW_l> = f_L(x) for every layer l (degree-1 homogeneity in each W_l).",
    target=Target.EMPIRICAL_NTK,
    citation=Citation("Euler's identity", docs=("docs/statements.md#B6",)),
    bound_fn=_zero,
    observe_fn=_euler_defect,
    measure=Measure.IDENTITY_DEFECT,
)
_declare(
    name="emp_lipschitz",
    quantity="max_k max_{i!=j} ||f_k(x_i)-f_k(x_j)|| / (prod_{l<=k} ||W_l||_op ||x_i-x_j||)",
    side=Side.UPPER,
    statement="||f_k(x) - f_k(y)|| <= prod_{l<=k} ||W_l||_op ||x - y|| (ReLU is 1-Lipschitz).",
    target=Target.FEATURES,
    citation=Citation(
        "NMM21",
        note="deterministic part of the Lipschitz result",
        docs=("docs/statements.md#nmm21-lipschitz", "docs/statements.md#B7"),
    ),
    bound_fn=_one,
    observe_fn=_lipschitz_ratio,
    measure=Measure.LIPSCHITZ_QUOTIENT,
)
_declare(
    name="emp_feature_rank_zero",
    quantity="min_{k: n_k < N} lambda_min(F_k F_k^T)",
    side=Side.UPPER,
    statement="lambda_min(F_k F_k^T) = 0 when n_k < N (rank(F_k) <= n_k); checked as <= 0.",
    target=Target.FEATURES,
    citation=Citation(
        "NMM21",
        note="rank of the feature matrices",
        docs=("docs/statements.md#nmm21-feature-matrices", "docs/statements.md#B5"),
    ),
    bound_fn=_zero,
    observe_fn=_narrow_features,
    scope_fn=_narrow_scope,
    measure=Measure.FEATURE_EIGENVALUE,
)
_declare(
    name="emp_degenerate_zero",
    quantity="lambda_min(Kbar)",
    side=Side.UPPER,
    statement=(
        "lambda_min(Kbar) = 0 if the parameter count P < N (rank(J) <= P), or two inputs are positively "
        "parallel, or an input is 0; checked as <= 0."
    ),
    target=Target.EMPIRICAL_NTK,
    citation=Citation("rank of J = J J^T", docs=("docs/statements.md#B5", "docs/statements.md#B8")),
    bound_fn=_zero,
    observe_fn=_lmin_emp,
    scope_fn=_emp_degenerate_scope,
)
