"""Certified spectra: eigenvalues and singular values returned with rigorous error bars.

Every result states an interval that contains the corresponding eigenvalue (or singular value) of **every**
matrix whose entries are within ``entry_error`` of the matrix passed in. The error bar has two parts:

* the solver's error, from its backward-error analysis (for ``eigvalsh``: ``p(N) u ||K||_2`` with
  ``p(N) = 10 N``, :func:`ntkverify.tolerances.eig_backward_error`; for the Cholesky certificate: Higham's
  Theorem 10.3, see :func:`certify_lambda_min_ge`);
* the entry-error budget of the kernel that produced the matrix, which the caller passes (for example
  :func:`ntkverify.tolerances.limiting_entry_error`), turned into a spectral-norm perturbation by Weyl:
  ``||Δ||_2 ≤ N max_ij |Δ_ij|`` (docs/tolerances.md#weyl).

Symmetric matrices always go through ``eigvalsh`` (never ``eig``); a matrix whose asymmetry exceeds
``sqrt(u)·max|K|`` is rejected, smaller asymmetry is removed by using ``(K + K^T)/2``, whose entries stay
within the same ``entry_error`` of the exact (symmetric) kernel plus one rounding, accounted for.

Three ways to learn about ``λ_min``:

* :func:`lambda_min` / :func:`lambda_max` / :func:`spectrum`: the eigenvalue itself, dense (``eigvalsh``)
  or, above :data:`ITERATIVE_MIN_SIZE`, iterative (Lanczos via ARPACK) with a residual and Cholesky
  certificate;
* :func:`certify_lambda_min_ge`: a pass/fail decision of ``λ_min(K) ≥ c`` from one shifted Cholesky
  factorisation, several times cheaper than ``eigvalsh``; use it for checks and compute the eigenvalue only
  where a margin or a report needs it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

from ntkverify.device import resolve_device, unit_roundoff
from ntkverify.tolerances import (
    eig_backward_error,
    gamma,
    perturbation_norm,
    rect_perturbation_norm,
)
from ntkverify.validation import check_nonneg

#: Above this size ``method="auto"`` uses the iterative solver for λ_min/λ_max (see benchmarks/bench_spectra.py).
ITERATIVE_MIN_SIZE = 6000
#: Relative tolerance passed to ARPACK on ``(K − σI)^{-1}`` (its stopping rule ``||r|| ≤ tol·|θ|``); the
#: certificate does not depend on it, only the width of the error bar does.
ARPACK_TOL = 1e-8
#: Safety factor on Higham's constant n+1 in the Cholesky backward error (blocked and GPU variants, see
#: :func:`certify_lambda_min_ge`).
CHOLESKY_FACTOR = 2


@dataclass(frozen=True)
class Certified:
    """A real number known to lie in ``[value − error, value + error]``.

    ``method`` names how it was computed (``"eigvalsh"``, ``"lanczos+cholesky"``, ``"svdvals"``, or a
    bound's own description); ``dtype`` and ``device`` are those of the computation.
    """

    value: float
    error: float
    dtype: torch.dtype
    device: torch.device
    method: str

    @property
    def lower(self) -> float:
        return self.value - self.error

    @property
    def upper(self) -> float:
        return self.value + self.error

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the certified interval."""
        return self.lower <= x <= self.upper

    def __str__(self) -> str:
        return f"{self.value:.10g} ± {self.error:.3g} ({self.method}, {self.dtype}, {self.device})"


@dataclass(frozen=True)
class Spectrum:
    """All eigenvalues (ascending) of a symmetric matrix, each within ``error`` of the exact one (Weyl)."""

    values: torch.Tensor
    error: float
    dtype: torch.dtype
    device: torch.device
    method: str

    def _pick(self, index: int) -> Certified:
        return Certified(float(self.values[index]), self.error, self.dtype, self.device, self.method)

    def min(self) -> Certified:
        return self._pick(0)

    def max(self) -> Certified:
        return self._pick(-1)


class Outcome(enum.Enum):
    """Result of a certificate: proven, disproven, or not decidable at the available precision."""

    TRUE = "certified"
    FALSE = "refuted"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Certificate:
    """Decision of ``λ_min(K) ≥ threshold`` for every matrix within the entry-error budget of ``K``.

    ``shift`` is the ``s`` of the factorisation ``chol(K − sI)``; ``lower`` (when TRUE) is a certified lower
    bound of ``λ_min``; ``upper`` (when FALSE) a certified upper bound below the threshold.
    """

    outcome: Outcome
    threshold: float
    shift: float
    lower: float | None
    upper: float | None
    dtype: torch.dtype
    device: torch.device
    method: str

    @property
    def holds(self) -> bool | None:
        """True / False when decided, None when undecided."""
        return {Outcome.TRUE: True, Outcome.FALSE: False}.get(self.outcome)


# ----------------------------------------------------------------------------------------------------------
# validation


def _as_tensor(A, name: str, device) -> torch.Tensor:
    if isinstance(A, np.ndarray):
        if not np.issubdtype(A.dtype, np.floating):
            raise ValueError(f"{name} must have a real floating dtype, got numpy {A.dtype}")
        A = torch.from_numpy(np.ascontiguousarray(A)).to(resolve_device(device))
    elif isinstance(A, torch.Tensor):
        if device is not None:
            A = A.to(resolve_device(device))
    else:
        raise ValueError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(A).__name__}")
    if not A.dtype.is_floating_point:
        raise ValueError(f"{name} must have a real floating dtype, got {A.dtype}")
    if A.ndim != 2 or A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D matrix, got shape {tuple(A.shape)}")
    if not bool(torch.isfinite(A).all()):
        raise ValueError(f"{name} contains NaN or Inf")
    return A


def symmetric_input(K, name: str = "K", *, entry_error: float = 0.0, device=None):
    """Validate a symmetric matrix; return ``(K_sym, entry_error')``.

    Raises ``ValueError`` if ``K`` is not a finite, real, square 2-D matrix, or if its asymmetry
    ``max|K − K^T|`` exceeds ``sqrt(u)·max|K|`` (that is not rounding: the caller passed a non-symmetric
    matrix). Smaller asymmetry is removed by ``(K + K^T)/2``: if the exact kernel is symmetric and every
    entry of ``K`` is within ``entry_error`` of it, so is every entry of the average, up to the rounding of
    the average (≤ ``u·max|K|``), which is added to the returned budget.
    """
    entry_error = check_nonneg(entry_error, "entry_error")
    K = _as_tensor(K, name, device)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be square, got shape {tuple(K.shape)}")
    scale = float(K.abs().max())
    asym = float((K - K.T).abs().max())
    if asym > math.sqrt(unit_roundoff(K.dtype)) * scale:
        raise ValueError(f"{name} must be symmetric, got max|K - K^T| = {asym:.3g} (max|K| = {scale:.3g})")
    if asym > 0:
        K = (K + K.T) / 2
        entry_error += unit_roundoff(K.dtype) * scale
    return K, entry_error


def _norm2_upper(K: torch.Tensor) -> float:
    """A rigorous upper bound on ``||K||_2`` for symmetric ``K``, without eigenvalues:
    ``||K||_2 ≤ ||K||_∞ = max_i Σ_j |K_ij|`` (symmetric, so ``||K||_1 = ||K||_∞``), inflated by ``1 + γ_N``
    for the rounding of the row sums."""
    return float(K.abs().sum(dim=1).max()) * (1 + gamma(K.shape[0], K.dtype))


# ----------------------------------------------------------------------------------------------------------
# dense eigenvalues and singular values


def spectrum(K, *, entry_error: float = 0.0, device=None) -> Spectrum:
    """All eigenvalues of symmetric ``K`` by ``torch.linalg.eigvalsh`` with a common certified error bar.

    ``error = 10 N u ||K||_2 + N · entry_error`` (backward stability of the symmetric eigensolver, then
    Weyl; docs/tolerances.md#eigensolver, #weyl). ``||K||_2`` is taken from the computed spectrum, corrected for its
    own error:
    ``max|λ̂| ≥ ||K||_2 − 10 N u ||K||_2``, so ``||K||_2 ≤ max|λ̂| / (1 − 10 N u)``.
    """
    K, entry_error = symmetric_input(K, entry_error=entry_error, device=device)
    N = K.shape[0]
    values = torch.linalg.eigvalsh(K)
    rel = eig_backward_error(N, 1.0, K.dtype)
    if rel >= 1:
        raise ValueError(f"K is too large (N={N}) for a backward-error bound in {K.dtype}")
    norm2 = float(values.abs().max()) / (1 - rel)
    error = eig_backward_error(N, norm2, K.dtype) + perturbation_norm(N, entry_error)
    return Spectrum(values, error, K.dtype, K.device, "eigvalsh")


def _check_method(method: str) -> str:
    if method not in ("auto", "dense", "iterative"):
        raise ValueError(f"method must be 'auto', 'dense' or 'iterative', got {method!r}")
    return method


def _use_iterative(N: int, method: str, iterative_from: int | None) -> bool:
    threshold = ITERATIVE_MIN_SIZE if iterative_from is None else iterative_from
    return _check_method(method) == "iterative" or (method == "auto" and N >= threshold)


def lambda_min(
    K, *, entry_error: float = 0.0, method: str = "auto", device=None, iterative_from: int | None = None
) -> Certified:
    """Certified ``λ_min`` of symmetric ``K`` (see :func:`spectrum` and :func:`lambda_min_iterative`).

    ``method="auto"`` is dense below ``iterative_from`` (default :data:`ITERATIVE_MIN_SIZE`, read at call time)
    and iterative from there on; a lower threshold exercises the iterative path on small N.
    """
    K, entry_error = symmetric_input(K, entry_error=entry_error, device=device)
    if _use_iterative(K.shape[0], method, iterative_from):
        return lambda_min_iterative(K, entry_error=entry_error)
    return spectrum(K, entry_error=entry_error).min()


def lambda_max(
    K, *, entry_error: float = 0.0, method: str = "auto", device=None, iterative_from: int | None = None
) -> Certified:
    """Certified ``λ_max`` of symmetric ``K``: ``λ_max(K) = −λ_min(−K)`` on the iterative path (``method`` and
    ``iterative_from`` as in :func:`lambda_min`)."""
    K, entry_error = symmetric_input(K, entry_error=entry_error, device=device)
    if _use_iterative(K.shape[0], method, iterative_from):
        neg = lambda_min_iterative(-K, entry_error=entry_error)
        return Certified(-neg.value, neg.error, neg.dtype, neg.device, neg.method)
    return spectrum(K, entry_error=entry_error).max()


def sigma_min(A, *, entry_error: float = 0.0, device=None) -> Certified:
    """Certified smallest singular value ``σ_min`` (the ``min(m, n)``-th) of a rectangular ``A``.

    ``torch.linalg.svdvals`` is backward stable (Demmel §5.5/§3.4), and singular values are 1-Lipschitz in
    the spectral norm (Weyl for singular values), so ``error = 10 max(m, n) u ||A||_2 + sqrt(m n)·entry_error``
    with ``||A||_2 ≤ σ̂_max / (1 − 10 max(m, n) u)``.
    """
    entry_error = check_nonneg(entry_error, "entry_error")
    A = _as_tensor(A, "A", device)
    m, n = A.shape
    values = torch.linalg.svdvals(A)
    p = max(m, n)
    norm2 = float(values.max()) / (1 - eig_backward_error(p, 1.0, A.dtype))
    error = eig_backward_error(p, norm2, A.dtype) + rect_perturbation_norm(m, n, entry_error)
    return Certified(float(values.min()), error, A.dtype, A.device, "svdvals")


# ----------------------------------------------------------------------------------------------------------
# Cholesky certificate


def _cholesky_slack(diag: torch.Tensor, shift: float, entry_error: float) -> float:
    """Rigorous ``λ_min(K) − λ_min(K̂ − shift·I computed and factorised)`` gap, given a successful factorisation.

    See :func:`certify_lambda_min_ge` for the derivation; ``diag`` is the diagonal of ``K``.
    """
    N = diag.shape[0]
    u = unit_roundoff(diag.dtype)
    g = gamma(CHOLESKY_FACTOR * (N + 1), diag.dtype)
    shifted = (diag.double().cpu() - shift).tolist()
    trace = math.fsum(max(a, 0.0) for a in shifted) * (1 + u)
    rounding_of_shift = u * max(abs(a) for a in shifted)
    return g * trace / (1 - g) + rounding_of_shift + perturbation_norm(N, entry_error)


def _rayleigh_upper(K: torch.Tensor, v: torch.Tensor) -> float:
    """A rigorous upper bound on the Rayleigh quotient ``v^T K v / v^T v`` (hence on ``λ_min(K)``).

    ``fl(v^T K v)`` is a matrix–vector product followed by a dot product, error ≤ ``γ_{2N} |v|^T |K| |v|``
    (Higham eq. (3.5) twice); ``fl(v^T v)`` has relative error ≤ ``γ_N``. The bound on the error term is
    itself computed in floating point and inflated by ``1 + γ_{2N}``.
    """
    N = K.shape[0]
    g2, g1 = gamma(2 * N, K.dtype), gamma(N, K.dtype)
    num = float(v @ (K @ v))
    num_err = g2 * (1 + g2) * float(v.abs() @ (K.abs() @ v.abs()))
    den = float(v @ v)
    hi = num + num_err
    return hi / (den * (1 - g1)) if hi >= 0 else hi / (den * (1 + g1))


def _refuting_vector(A: torch.Tensor, factor: torch.Tensor, info: int) -> torch.Tensor | None:
    """From a Cholesky factorisation of A that failed at pivot ``info`` (1-based), the vector
    ``v = [A_11^{-1} a; −1]`` with ``v^T A v = α − ||L_11^{-1} a||^2`` (the failing Schur complement).

    Uses the valid leading ``(info−1)×(info−1)`` block of the partial factor; returns None if that block is
    unusable (not finite). Only a candidate: the caller certifies it with :func:`_rayleigh_upper`.
    """
    p = info - 1
    v = torch.zeros(A.shape[0], dtype=A.dtype, device=A.device)
    v[p] = -1.0
    if p > 0:
        L11 = factor[:p, :p]
        if not bool(torch.isfinite(L11).all()) or bool((L11.diagonal() <= 0).any()):
            return None
        z = torch.linalg.solve_triangular(L11, A[:p, p : p + 1], upper=False)
        w = torch.linalg.solve_triangular(L11.T, z, upper=True)
        v[:p] = w[:, 0]
    return v if bool(torch.isfinite(v).all()) else None


def certify_lambda_min_ge(
    K,
    c: float,
    *,
    entry_error: float = 0.0,
    fallback: bool = False,
    device=None,
) -> Certificate:
    """Decide ``λ_min(K) ≥ c`` (for every matrix within ``entry_error`` of ``K`` entrywise) by one Cholesky
    factorisation of ``K − sI``, ``s`` slightly above ``c``.

    Rounding-error analysis (Demmel 1989; Higham, *Accuracy and Stability*, Theorem 10.3). Let
    ``A = fl(K − sI)``: only the diagonal is rounded, so ``A = K − sI + D`` with
    ``||D||_2 ≤ u max_i |K_ii − s|``. If ``torch.linalg.cholesky_ex`` runs to completion on ``A``, the computed
    factor ``R`` satisfies ``R^T R = A + ΔA`` with ``|ΔA| ≤ γ_{n+1} |R^T||R|``; hence
    ``||ΔA||_2 ≤ ||ΔA||_F ≤ γ_{n+1} ||R||_F^2``, and since ``(R^T R)_ii = A_ii + ΔA_ii ≤ A_ii + γ_{n+1}(R^T R)_ii``,
    ``||R||_F^2 = tr(R^T R) ≤ tr(A)/(1 − γ_{n+1})``. ``R^T R`` is PSD, so
    ``λ_min(K) ≥ s − γ_{n+1} tr(A)/(1 − γ_{n+1}) − u max_i |K_ii − s|``, and every ``K'`` with
    ``|K'_ij − K_ij| ≤ entry_error`` has ``λ_min(K') ≥ λ_min(K) − N·entry_error`` (Weyl). The bound holds for
    any summation order, so for blocked LAPACK/cuSOLVER factorisations too; we still use
    ``γ_{2(n+1)}`` (:data:`CHOLESKY_FACTOR`) as a safety margin for fused or split accumulations.

    The shift is ``s = c + 2·slack(c)``, so that success certifies ``λ_min ≥ c`` (TRUE). On failure, the
    leading block of the partial factor gives a vector ``v`` whose Rayleigh quotient, bounded rigorously
    above (:func:`_rayleigh_upper`), may prove ``λ_min < c`` (FALSE); otherwise the answer is UNDECIDED
    (``λ_min`` is within about the slack of ``c``), unless ``fallback=True``, which then computes the
    certified eigenvalue (:func:`lambda_min`) and decides with it when its interval excludes ``c``.
    A diagonal entry below ``c − entry_error`` refutes at once (``λ_min ≤ K_ii``, Rayleigh at ``e_i``).
    """
    K, entry_error = symmetric_input(K, entry_error=entry_error, device=device)
    c = float(c)
    if not math.isfinite(c):
        raise ValueError(f"c must be finite, got {c}")
    N = K.shape[0]
    diag = K.diagonal()
    i_min = int(diag.argmin())
    k_min = float(diag[i_min])

    def verdict(outcome, shift, lower=None, upper=None, method="cholesky"):
        return Certificate(outcome, c, shift, lower, upper, K.dtype, K.device, method)

    if k_min + entry_error < c:
        return verdict(Outcome.FALSE, c, upper=k_min + entry_error, method="diagonal")
    shift = c + 2 * _cholesky_slack(diag, c, entry_error)
    A = K - shift * torch.eye(N, dtype=K.dtype, device=K.device)
    factor, info = torch.linalg.cholesky_ex(A)
    info = int(info)
    if info == 0:
        lower = shift - _cholesky_slack(diag, shift, entry_error)
        if lower >= c:
            return verdict(Outcome.TRUE, shift, lower=lower)
    else:
        v = _refuting_vector(A, factor, info)
        if v is not None:
            upper = _rayleigh_upper(K, v) + perturbation_norm(N, entry_error)
            if upper < c:
                return verdict(Outcome.FALSE, shift, upper=upper)
    if fallback:
        lam = lambda_min(K, entry_error=entry_error)
        if lam.lower >= c:
            return verdict(Outcome.TRUE, shift, lower=lam.lower, method=lam.method)
        if lam.upper < c:
            return verdict(Outcome.FALSE, shift, upper=lam.upper, method=lam.method)
    return verdict(Outcome.UNDECIDED, shift)


# ----------------------------------------------------------------------------------------------------------
# iterative smallest eigenvalue


def _ritz_pair(K: torch.Tensor) -> torch.Tensor | None:
    """Approximate eigenvector of the smallest eigenvalue of ``K`` by shift-and-invert Lanczos: ARPACK
    (``eigsh``, largest algebraic) on ``(K − σI)^{-1}``, applied as two triangular solves with the Cholesky
    factor of ``K − σI``, ``σ = −sqrt(u)·max_i K_ii`` (just below the spectrum of a PSD kernel). Plain Lanczos
    on ``K`` converges far more slowly: the small end of an NTK spectrum is clustered and its largest
    eigenvalue is ~N times larger (see benchmarks/bench_spectra.py). Returns None if ``K − σI`` is not
    numerically positive definite or ARPACK fails; the caller then uses the dense solver.
    """
    N = K.shape[0]
    sigma = -math.sqrt(unit_roundoff(K.dtype)) * float(K.diagonal().abs().max())
    factor, info = torch.linalg.cholesky_ex(K - sigma * torch.eye(N, dtype=K.dtype, device=K.device))
    if int(info) != 0:
        return None

    def inverse(x):
        b = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1, 1), device=K.device, dtype=K.dtype)
        y = torch.linalg.solve_triangular(factor, b, upper=False)
        return torch.linalg.solve_triangular(factor.T, y, upper=True).double().cpu().numpy().ravel()

    op = LinearOperator((N, N), matvec=inverse, dtype=np.float64)
    try:  # deterministic start vector; the certificate does not depend on it
        _, vecs = eigsh(op, k=1, which="LA", tol=ARPACK_TOL, v0=np.ones(N), ncv=min(N - 1, 32))
    except (ArpackNoConvergence, ArpackError):
        return None
    return torch.as_tensor(vecs[:, 0], device=K.device, dtype=K.dtype)


def lambda_min_iterative(K, *, entry_error: float = 0.0, device=None) -> Certified:
    """Certified ``λ_min`` by Lanczos with a residual-plus-Cholesky certificate.

    1. Shift-and-invert Lanczos (:func:`_ritz_pair`) returns an approximate eigenvector ``v``;
       ``r = Kv − ρv`` with ``ρ = v^T K v / v^T v``.
    2. Upper bound: ``λ_min(K) ≤ ρ`` (Rayleigh), bounded rigorously above by :func:`_rayleigh_upper`.
    3. Some eigenvalue lies within ``||r||/||v||`` of ``ρ`` (Parlett, *The Symmetric Eigenvalue Problem*,
       Theorem 4.5.1), and the Rayleigh quotient is usually far closer (its error is quadratic in the
       eigenvector's). To know the bracket holds the *smallest* eigenvalue, :func:`certify_lambda_min_ge` is
       run first at ``c = ρ − e − 4·slack`` with ``e`` the dense solver's error bar ``10 N u ||K||_2``, and if
       that fails at ``c = ρ − 2||r||/||v|| − 4·slack``: success certifies ``λ_min ≥ c``.
    4. If ARPACK fails or the certificate does not succeed (a missed smaller eigenvalue), fall back to the
       dense solver, so the answer is always certified.

    Value ``ρ``, error ``max(upper − ρ, ρ − c)``; ``entry_error`` is included in both bounds.
    """
    K, entry_error = symmetric_input(K, entry_error=entry_error, device=device)
    N = K.shape[0]
    v = _ritz_pair(K) if N >= 3 else None
    if v is not None:
        v = v / torch.linalg.vector_norm(v)
        Kv = K @ v
        rho = float(v @ Kv) / float(v @ v)
        rnorm = float(torch.linalg.vector_norm(Kv - rho * v)) / float(torch.linalg.vector_norm(v))
        upper = _rayleigh_upper(K, v) + perturbation_norm(N, entry_error)
        slack = _cholesky_slack(K.diagonal(), rho, entry_error)
        target = eig_backward_error(N, _norm2_upper(K), K.dtype)
        for gap in sorted({min(target, 2 * rnorm), 2 * rnorm}):
            c = rho - gap - 4 * slack
            if certify_lambda_min_ge(K, c, entry_error=entry_error).outcome is Outcome.TRUE:
                error = max(upper - rho, rho - c)
                return Certified(rho, error, K.dtype, K.device, "lanczos+cholesky")
    return spectrum(K, entry_error=entry_error).min()
