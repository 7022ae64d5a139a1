"""Hermite coefficients μ_r(φ) of activations (docs/hermite.md).

Convention (NMM21; OS20): μ_r(φ) = E_{g~N(0,1)}[φ(g) h_r(g)] with h_r = He_r/√(r!) the normalised
probabilists' Hermite polynomial, so that for a standard bivariate normal pair (u, v) with correlation ρ,
E[φ(u)ψ(v)] = Σ_r μ_r(φ) μ_r(ψ) ρ^r (Mehler's formula, docs/hermite.md#mehler).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import integrate
from scipy.special import eval_hermitenorm, gammaln

from ntkverify.validation import check_int

_MAX_QUAD_ERROR = 1e-11


def _double_factorial_odd_log(m: int) -> float:
    """log((m)!!) for odd m >= -1, with (-1)!! = 1."""
    if m <= 1:
        return 0.0
    k = (m + 1) // 2  # m!! = m! / (2^(k-1) (k-1)!) for m = 2k - 1
    return gammaln(m + 1) - (k - 1) * math.log(2) - gammaln(k)


def mu_relu(r: int) -> float:
    """μ_r(ReLU), closed form of docs/hermite.md#relu (derived by two integrations by parts):

    μ_0 = 1/√(2π), μ_1 = 1/2, μ_r = 0 for odd r ≥ 3, and for even r ≥ 2
    μ_r = (−1)^{r/2−1} (r−3)!! / √(2π·r!).
    """
    r = check_int(r, "r", 0)
    if r == 0:
        return 1 / math.sqrt(2 * math.pi)
    if r == 1:
        return 0.5
    if r % 2:
        return 0.0
    log_abs = _double_factorial_odd_log(r - 3) - 0.5 * (math.log(2 * math.pi) + gammaln(r + 1))
    return (-1) ** (r // 2 - 1) * math.exp(log_abs)


def mu_relu_derivative(r: int) -> float:
    """μ_r(σ') for the step σ' = 1{t>0} (docs/hermite.md#relu): μ_0 = 1/2, μ_r = He_{r−1}(0)/√(2π·r!) for r ≥ 1.

    Equivalently μ_r(σ') = √(r+1)·μ_{r+1}(σ) (Gaussian integration by parts).
    """
    r = check_int(r, "r", 0)
    return 0.5 if r == 0 else math.sqrt(r + 1) * mu_relu(r + 1)


def hermite_coefficients(fn: Callable[[np.ndarray], np.ndarray], r_max: int) -> np.ndarray:
    """μ_0(φ) … μ_{r_max}(φ) of any activation by adaptive quadrature (scipy ``quad``).

    The integral E[φ(g)h_r(g)] is split at 0 (where ReLU-like activations have their kink) and each
    half-line is integrated to accuracy 1e-13 absolute, 1e-12 relative; a half-line whose error estimate
    exceeds 1e-11 raises ``ValueError`` rather than returning an inaccurate coefficient.
    ``fn`` maps a numpy array to a numpy array.
    """
    r_max = check_int(r_max, "r_max", 0)
    density = 1 / math.sqrt(2 * math.pi)

    def coefficient(r: int) -> float:
        def integrand(t):
            return float(fn(np.asarray([t]))[0]) * eval_hermitenorm(r, t) * math.exp(-t * t / 2) * density

        total = 0.0
        for a, b in ((-np.inf, 0.0), (0.0, np.inf)):
            with warnings.catch_warnings():  # judged below from quad's own error estimate instead
                warnings.simplefilter("ignore", integrate.IntegrationWarning)
                value, error = integrate.quad(integrand, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)
            if error > _MAX_QUAD_ERROR:
                raise ValueError(f"quadrature for mu_{r} did not converge (error estimate {error:.2e})")
            total += value
        return total / math.sqrt(math.exp(gammaln(r + 1)))

    return np.array([coefficient(r) for r in range(r_max + 1)])
