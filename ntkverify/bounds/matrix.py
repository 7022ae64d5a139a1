"""Bounds that hold for every symmetric (PSD) matrix, applied to a case's kernel: ``K^{(L)}`` for a
:class:`~ntkverify.case.KernelCase`, ``K̄`` for a :class:`~ntkverify.case.WeightsCase`
(docs/statements.md#test-vector-upper-bounds, #A1, #A8, #B1, #B4)."""

from __future__ import annotations

import torch

from ntkverify import spectra
from ntkverify.bounds._util import certified
from ntkverify.bounds.core import Citation, Kind, Side, Target, declare
from ntkverify.device import unit_roundoff
from ntkverify.tolerances import gamma, perturbation_norm


def _lambda_min(case):
    return spectra.lambda_min(case.K, entry_error=case.matrix_error())


def _lambda_max(case):
    return spectra.lambda_max(case.K, entry_error=case.matrix_error())


def _min_diagonal(case):
    return certified(case, float(case.K.diagonal().min()), case.matrix_error(), "min_i K_ii")


def _two_by_two(case):
    """``min_{i≠j} [(K_ii + K_jj)/2 − sqrt(((K_ii − K_jj)/2)^2 + K_ij^2)]``: the smaller eigenvalue of each
    principal 2×2 block. Entry errors ε move it by ≤ 2ε (Weyl, ||E||_2 ≤ 2ε for a 2×2 block); its evaluation
    by ≤ 10 u max|K| (a handful of correctly rounded operations on numbers of that size)."""
    K = case.K
    diag = K.diagonal()
    mean = (diag[:, None] + diag[None, :]) / 2
    radius = torch.sqrt(((diag[:, None] - diag[None, :]) / 2) ** 2 + K * K)
    small = mean - radius
    small.fill_diagonal_(float("inf"))
    error = 2 * case.matrix_error() + 10 * unit_roundoff(K.dtype) * float(K.abs().max())
    return certified(case, float(small.min()), error, "2x2 interlacing")


def _lambda_max_lower(case):
    """``max(max_i K_ii, 1^T K 1 / N)``; the sum has rounding ≤ γ_{N^2} Σ|K_ij| and entry error ≤ N ε."""
    K, N = case.K, case.n
    mean = float(K.sum()) / N
    error_mean = gamma(N * N, K.dtype) * float(K.abs().sum()) / N + perturbation_norm(N, case.matrix_error())
    candidates = [(float(K.diagonal().max()), case.matrix_error()), (mean, error_mean)]
    value = max(v for v, _ in candidates)
    return certified(case, value, max(e for _, e in candidates), "max(max K_ii, 1'K1/N)")


def _row_sums(case):
    K = case.K
    off = K.abs().sum(dim=1) - K.diagonal().abs()
    error = perturbation_norm(case.n, case.matrix_error()) + gamma(case.n, K.dtype) * float(K.abs().sum(dim=1).max())
    return K.diagonal(), off, error


def _gershgorin_upper(case):
    diag, off, error = _row_sums(case)
    return certified(case, float((diag + off).max()), error, "Gershgorin max row sum")


def _gershgorin_lower(case):
    diag, off, error = _row_sums(case)
    return certified(case, float((diag - off).min()), error, "Gershgorin min (K_ii - sum_j |K_ij|)")


def _zero(case):
    return certified(case, 0.0, 0.0, "exact")


_KERNEL = "K = K^(L) (KernelCase), the empirical Kbar (WeightsCase) or a kernel under test"
_UPPER_DOCS = ("docs/statements.md#test-vector-upper-bounds", "docs/statements.md#A8", "docs/statements.md#B4")
_ANY = dict(target=Target.ANY_MATRIX, kind=Kind.DET)

declare(
    name="psd",
    quantity="lambda_min(K)",
    side=Side.LOWER,
    statement="lambda_min(K) >= 0: K is a Gram matrix (limiting: expectation of Gram matrices; empirical: J J^T).",
    assumptions=f"any data; {_KERNEL}",
    citation=Citation(
        "JGH18", note="the NTK is a Gram matrix", docs=("docs/statements.md#A1", "docs/statements.md#B1")
    ),
    bound_fn=_zero,
    observe_fn=_lambda_min,
    **_ANY,
)
declare(
    name="trivial_upper",
    quantity="lambda_min(K)",
    side=Side.UPPER,
    statement="lambda_min(K) <= min_i K_ii (Rayleigh quotient at e_i); K^(L)_ii = L ||x_i||^2.",
    assumptions=f"any data; {_KERNEL}",
    citation=Citation("NMM21", note="the Rayleigh-quotient method, per KMM24", where="KMM24 §4", docs=_UPPER_DOCS),
    bound_fn=_min_diagonal,
    observe_fn=_lambda_min,
    **_ANY,
)
declare(
    name="interlacing_2x2_upper",
    quantity="lambda_min(K)",
    side=Side.UPPER,
    statement=(
        "lambda_min(K) <= min_{i!=j} [(K_ii+K_jj)/2 - sqrt(((K_ii-K_jj)/2)^2 + K_ij^2)] "
        "(Cauchy interlacing with each principal 2x2 block)."
    ),
    min_points=2,
    assumptions=f"N >= 2; {_KERNEL}",
    citation=Citation("Cauchy interlacing", docs=_UPPER_DOCS),
    bound_fn=_two_by_two,
    observe_fn=_lambda_min,
    **_ANY,
)
declare(
    name="lambda_max_lower",
    quantity="lambda_max(K)",
    side=Side.LOWER,
    statement="lambda_max(K) >= max(max_i K_ii, 1^T K 1 / N) (Rayleigh quotients at e_i and at 1/sqrt(N)).",
    assumptions=f"any data; {_KERNEL}",
    citation=Citation("Rayleigh quotient", docs=("docs/statements.md#A8",)),
    bound_fn=_lambda_max_lower,
    observe_fn=_lambda_max,
    **_ANY,
)
declare(
    name="gershgorin_upper",
    quantity="lambda_max(K)",
    side=Side.UPPER,
    statement="lambda_max(K) <= max_i sum_j |K_ij| (Gershgorin discs).",
    assumptions=f"any data; {_KERNEL}",
    citation=Citation("Gershgorin (1931)", docs=("docs/statements.md#A8",)),
    bound_fn=_gershgorin_upper,
    observe_fn=_lambda_max,
    **_ANY,
)
declare(
    name="gershgorin_lower",
    quantity="lambda_min(K)",
    side=Side.LOWER,
    statement="lambda_min(K) >= min_i (K_ii - sum_{j!=i} |K_ij|) (Gershgorin discs).",
    assumptions=f"any data; {_KERNEL}",
    citation=Citation("Gershgorin (1931)", docs=("docs/statements.md#A8",)),
    bound_fn=_gershgorin_lower,
    observe_fn=_lambda_min,
    **_ANY,
)
