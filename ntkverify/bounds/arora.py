"""The two quantities of Arora, Du, Hu, Li, Wang (ICML 2019, "Fine-grained analysis") that ``λ_min(H∞)``
controls: the generalisation term ``sqrt(2 y^T (H∞)^{-1} y / n)`` (their Thm 5.1) and the residual of
kernel gradient descent ``||y − u(k)|| = sqrt(Σ_i (1 − ηλ_i)^{2k} (v_i^T y)^2)`` (their Thm 4.1, whose
network statement holds up to ±ε; for the kernel recursion ``u(k+1) = u(k) + η H (y − u(k))``, ``u(0) = 0``,
it is an exact identity: ``y − u(k) = (I − ηH)^k y``). docs/statements.md#other-sources."""

from __future__ import annotations

import math

import torch

from ntkverify import spectra
from ntkverify.spectra import Certified, Outcome
from ntkverify.tolerances import gamma, perturbation_norm
from ntkverify.validation import check_int, check_nonneg


def _labels(y, N: int, H: torch.Tensor) -> torch.Tensor:
    y = torch.as_tensor(y, dtype=H.dtype, device=H.device)
    if y.shape != (N,):
        raise ValueError(f"y must have shape ({N},), got {tuple(y.shape)}")
    if not bool(torch.isfinite(y).all()):
        raise ValueError("y contains NaN or Inf")
    return y


def generalization_term(H, y, *, entry_error: float = 0.0) -> Certified:
    """``sqrt(2 y^T H^{-1} y / n)`` with a certified error bar.

    First certifies ``λ_min(H) ≥ λ_lo > 0`` (:func:`ntkverify.spectra.lambda_min`); a singular (or not
    certifiably positive definite) ``H`` raises ``ValueError``. With ``e`` the total perturbation (entries
    plus the Cholesky solve's backward error ``γ_{3n+1} tr(H)``, Higham Thm 10.4) and ``λ_lo > e``,
    ``|y^T (H+E)^{-1} y − y^T H^{-1} y| ≤ ||y||^2 e / (λ_lo (λ_lo − e))``.
    """
    H, entry_error = spectra.symmetric_input(H, "H", entry_error=entry_error)
    n = H.shape[0]
    y = _labels(y, n, H)
    lam = spectra.lambda_min(H, entry_error=entry_error)
    solve_error = gamma(3 * n + 1, H.dtype) * float(H.diagonal().abs().sum())
    e = perturbation_norm(n, entry_error) + solve_error + lam.error
    lam_lo = lam.lower
    if lam_lo <= e:
        raise ValueError(
            f"H must be certifiably positive definite for y^T H^-1 y, got lambda_min(H) = {lam} "
            f"(perturbation budget {e:.3g})"
        )
    factor = torch.linalg.cholesky(H)
    q = float(y @ torch.cholesky_solve(y[:, None], factor)[:, 0])
    ysq = float(y @ y)
    dq = ysq * e / (lam_lo * (lam_lo - e)) + gamma(n, H.dtype) * abs(q)
    value = math.sqrt(2 * q / n)
    hi, lo = math.sqrt(2 * (q + dq) / n), math.sqrt(2 * max(q - dq, 0.0) / n)
    return Certified(value, max(hi - value, value - lo), H.dtype, H.device, "sqrt(2 y'H^-1 y / n)")


def residual_norms(H, y, eta: float, steps: int) -> torch.Tensor:
    """``||y − u(k)||`` for k = 0..steps from the spectral formula ``sqrt(Σ_i (1 − ηλ_i)^{2k} (v_i^T y)^2)``
    (ADHLW19a Thm 4.1), with ``H = Σ λ_i v_i v_i^T`` from ``eigh``."""
    H, _ = spectra.symmetric_input(H, "H")
    y = _labels(y, H.shape[0], H)
    eta = check_nonneg(eta, "eta")
    steps = check_int(steps, "steps", 0)
    lam, V = torch.linalg.eigh(H)
    coeff = (V.T @ y) ** 2
    k = torch.arange(steps + 1, dtype=H.dtype, device=H.device)
    factors = (1 - eta * lam)[None, :] ** (2 * k[:, None])
    return torch.sqrt(factors @ coeff)


def kernel_gd_residuals(H, y, eta: float, steps: int) -> torch.Tensor:
    """``||y − u(k)||`` for k = 0..steps by running ``u(k+1) = u(k) + η H (y − u(k))``, ``u(0) = 0``."""
    H, _ = spectra.symmetric_input(H, "H")
    y = _labels(y, H.shape[0], H)
    eta = check_nonneg(eta, "eta")
    steps = check_int(steps, "steps", 0)
    u = torch.zeros_like(y)
    out = [torch.linalg.vector_norm(y - u)]
    for _ in range(steps):
        u = u + eta * (H @ (y - u))
        out.append(torch.linalg.vector_norm(y - u))
    return torch.stack(out)


def certify_positive_definite(H, *, entry_error: float = 0.0) -> bool:
    """Whether ``λ_min(H) > 0`` is certified (Cholesky certificate, eigenvalue fallback)."""
    verdict = spectra.certify_lambda_min_ge(H, 0.0, entry_error=entry_error, fallback=True)
    return verdict.outcome is Outcome.TRUE and verdict.lower is not None and verdict.lower > 0
