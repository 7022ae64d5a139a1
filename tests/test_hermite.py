"""Hermite coefficients μ_r (docs/hermite.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ntkverify.hermite import hermite_coefficients, mu_relu, mu_relu_derivative

# docs/hermite.md#values, exact squares μ_r(σ)² for even r
EXACT_SQUARES = {
    0: 1 / (2 * math.pi),
    1: 0.25,
    2: 1 / (4 * math.pi),
    4: 1 / (48 * math.pi),
    6: 1 / (160 * math.pi),
    8: 5 / (1792 * math.pi),
    10: 11025 / (2 * math.pi * math.factorial(10)),
}
U = np.finfo(float).eps / 2


@pytest.mark.parametrize("r", sorted(EXACT_SQUARES))
def test_relu_closed_form_matches_exact_values(r):
    assert mu_relu(r) ** 2 == pytest.approx(EXACT_SQUARES[r], rel=10 * U)  # a handful of roundings
    assert np.sign(mu_relu(r)) == (1 if r in (0, 1) else (-1) ** (r // 2 - 1))


def test_odd_coefficients_vanish_and_integration_by_parts():
    """μ_r(σ) = 0 for odd r ≥ 3; μ_{r+1}(σ) = μ_r(σ')/√(r+1) (docs/hermite.md#relu)."""
    assert all(mu_relu(r) == 0 for r in range(3, 40, 2))
    for r in range(30):
        assert mu_relu(r + 1) == pytest.approx(mu_relu_derivative(r) / math.sqrt(r + 1), rel=10 * U, abs=0)


def test_parseval_sums():
    """Σ μ_r(σ)² = E[σ(g)²] = ½ with tail ≈ 0.127 Σ_{r>R} r^{-5/2} (docs/hermite.md#values): at R = 20000 the tail is
    below 2e-6; Σ_{r≥2 even} = ¼ − 1/(2π)."""
    mu2 = np.array([mu_relu(r) ** 2 for r in range(20001)])
    tail_bound = 0.127 * (2 / 3) * 20000 ** (-1.5) / 2 * 1.5  # ∫ tail of even terms, 50% slack on the constant
    assert 0 <= 0.5 - mu2.sum() <= tail_bound
    assert mu2[2::2].sum() == pytest.approx(0.25 - 1 / (2 * math.pi), abs=tail_bound)


@pytest.mark.parametrize(
    "fn,exact",
    [
        (lambda t: np.maximum(t, 0), [mu_relu(r) for r in range(9)]),
        (lambda t: (t > 0).astype(float), [mu_relu_derivative(r) for r in range(9)]),
        (lambda t: t**3, [0, 3, 0, math.sqrt(6), 0, 0, 0, 0, 0]),  # t³ = He_3 + 3 He_1, He_3 = √6 h_3
    ],
)
def test_quadrature_coefficients(fn, exact):
    """Adaptive quadrature to 1e-13 absolute per half-line (hermite_coefficients docstring), so 1e-12 total."""
    assert np.allclose(hermite_coefficients(fn, 8), exact, rtol=0, atol=1e-12)


@pytest.mark.parametrize("r", [-1, 1.5, True])
def test_bad_order(r):
    with pytest.raises(ValueError, match="r must be"):
        mu_relu(r)
