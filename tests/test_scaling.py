"""Inputs near float64's limits: exact results by power-of-two rescaling, or a clear error (never a silent NaN)."""

from __future__ import annotations

import pytest
import torch

from ntkverify import analytic
from ntkverify.architecture import Architecture
from ntkverify.empirical import empirical_ntk
from ntkverify.scaling import power_of_two_shift, times_power_of_two

X0 = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def test_power_of_two_rescaling_is_exact():
    X = X0 * 1e200
    shift = power_of_two_shift(X)
    assert 0.5 <= float(times_power_of_two(X, -shift).abs().max()) < 1
    assert torch.equal(times_power_of_two(times_power_of_two(X, -shift), shift), X)
    assert power_of_two_shift(X0) == 0  # ordinary data are evaluated as given, bit for bit


@pytest.mark.parametrize("scale", [2.0**500, 2.0**-400])
@pytest.mark.parametrize(
    "kernel",
    [
        lambda X: analytic.limiting_ntk(X, 3),
        lambda X: analytic.limiting_nngp(X, 2),
        analytic.h_infinity,
        lambda X: analytic.standard_ntk(X, 2, sigma_w=1.5),
        lambda X: analytic.limiting_ntk(X, 2, activation="leaky_relu"),
    ],
)
def test_homogeneous_kernels_are_exact_at_any_magnitude(kernel, scale):
    """K(cX) = c²K(X) with c a power of two holds bit for bit (both sides are exact scalings)."""
    assert torch.equal(kernel(X0 * scale), kernel(X0) * scale * scale)


@pytest.mark.parametrize(
    "call",
    [
        lambda X: analytic.limiting_ntk(X, 3),
        analytic.h_infinity,
        lambda X: analytic.standard_ntk(X, 2, sigma_b=0.5),
        lambda X: empirical_ntk(Architecture(d=3, widths=(8,)).build(torch.Generator().manual_seed(0)), X),
    ],
)
def test_overflow_is_a_clear_error(call):
    with pytest.raises(ValueError, match="1.8e308|1.34e"):
        call(X0 * 1e155)


def test_biased_kernel_with_huge_variances_is_finite_and_exact():
    """√q1·√q2 instead of √(q1 q2): at ‖x‖ ≈ 1e80 the bias is negligible and the biased recursion (arccos of
    correlations, √u-accurate) matches the bias-free one in relative Frobenius norm."""
    K = analytic.standard_ntk(X0 * 1e80, 2, sigma_w=1.0, sigma_b=0.5)
    K0 = analytic.standard_ntk(X0 * 1e80, 2, sigma_w=1.0, sigma_b=0.0)
    assert torch.isfinite(K).all()
    assert float(torch.linalg.matrix_norm(K - K0) / torch.linalg.matrix_norm(K0)) < 1e-7


def test_empirical_ntk_is_exact_at_any_magnitude():
    model = Architecture(d=3, widths=(16, 16)).build(torch.Generator().manual_seed(0))
    for method in ("layerwise", "jacobian", "ntvp"):
        K = empirical_ntk(model, X0, method=method)
        assert torch.equal(empirical_ntk(model, X0 * 2.0**480, method=method), K * 2.0**960)
