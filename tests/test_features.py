"""Feature matrices, σ_min(F_l) and Lipschitz constants of the feature maps (docs/model.md#seed-normalisation,
docs/statements.md#nmm21-feature-matrices, #nmm21-lipschitz, #B2, #B5,
B7, C8)."""

from __future__ import annotations

import math

import pytest
import torch

from ntkverify.activations import Activation, relu_dual
from ntkverify.architecture import Architecture
from ntkverify.device import default_device
from ntkverify.empirical import empirical_ntk, entry_error
from ntkverify.features import (
    activation_lipschitz,
    feature_matrices,
    feature_sigma_min,
    jacobian_norms,
    lipschitz_lower_bound,
    lipschitz_scale,
    lipschitz_upper_bound,
    smallest_singular_value,
)
from ntkverify.tolerances import eig_backward_error, gamma, perturbation_norm, tau_id


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sphere(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.randn(n, d, dtype=torch.float64, generator=gen(seed))
    return (math.sqrt(d) * g / torch.linalg.norm(g, dim=1, keepdim=True)).to(default_device())


@pytest.mark.parametrize("parameterization", ["seed", "ntk"])
def test_feature_matrices_and_diagonal_decomposition(parameterization):
    """F_0 = X, F_l = φ(G_l), G_L = f_L(X), B_L = 1; K̄_ii = Σ_l (s_l²‖f_{l−1}(x_i)‖² + σ_b²)‖b_l(x_i)‖²
    (docs/statements.md#B2)
    against the torch.func Jacobian contraction."""
    kw = {} if parameterization == "seed" else dict(sigma_w=1.3, sigma_b=0.2, parameterization="ntk")
    arch = Architecture(4, (9, 7, 8), "relu", **kw)
    model = arch.build(gen(0))
    X = sphere(6, 4, 1)
    s = feature_matrices(model, X)
    assert [tuple(F.shape) for F in s.F] == [(6, 4), (6, 9), (6, 7), (6, 8)]
    assert [tuple(B.shape) for B in s.B] == [(6, 9), (6, 7), (6, 8), (6, 1)]
    assert torch.equal(s.F[0], X) and torch.equal(s.B[-1], torch.ones_like(s.B[-1]))
    for F, G in zip(s.F[1:], s.G):
        assert torch.equal(F, torch.relu(G))
    assert torch.equal(s.G[-1][:, 0], model(X).detach())
    sb2 = (arch.sigma_b or 0.0) ** 2
    diag = sum((scale**2 * (F * F).sum(1) + sb2) * (B * B).sum(1) for scale, F, B in zip(model.scales, s.F, s.B))
    K = empirical_ntk(model, X, "jacobian")
    tol = entry_error(arch, "layerwise", float(diag.max())) + entry_error(arch, "jacobian", float(diag.max()))
    assert float((K.diagonal() - diag).abs().max()) <= tol


def test_sigma_min_is_zero_below_n_and_matches_gram_eigenvalue():
    """σ_min(F)² = λ_min(F Fᵀ) (docs/statements.md#nmm21-feature-matrices): 0 exactly when n_l < N (rank), else the
    N-th singular value, equal
    to √λ_min(F Fᵀ) up to the eigen/SVD backward errors (docs/tolerances.md#eigensolver) propagated through the square
    root."""
    arch = Architecture(3, (4, 40), "relu")
    X = sphere(10, 3, 2)
    sig = feature_sigma_min(arch.build(gen(3)), X)
    assert sig[0] == 0.0 and sig[1] == 0.0 and sig[2] > 0.0
    F = feature_matrices(arch.build(gen(3)), X).F[2]
    lam = float(torch.linalg.eigvalsh(F @ F.T)[0])
    norm = float(torch.linalg.matrix_norm(F, ord=2))
    # F Fᵀ has entry errors ≤ γ_40 ‖f_i‖‖f_j‖ ≤ γ_40 max_i ‖f_i‖² (Weyl: × N); eigvalsh adds 10 N u ‖F‖²; the SVD
    # moves σ by ≤ 10·40·u‖F‖ (docs/tolerances.md#eigensolver), hence σ² by ≤ 2σ of that (plus its negligible square).
    gram = perturbation_norm(10, gamma(40) * float((F * F).sum(1).max())) + eig_backward_error(10, norm**2)
    tol = gram + 2 * sig[2] * eig_backward_error(40, norm) + eig_backward_error(40, norm) ** 2
    assert abs(sig[2] ** 2 - lam) <= tol
    with pytest.raises(ValueError, match="F must be a 2-D tensor"):
        smallest_singular_value(torch.ones(3))


def test_lipschitz_bound_is_exact_for_a_linear_map():
    """Depth 1 (f_1 = s W_1ᵀ x): the Jacobian is s W_1ᵀ everywhere, so lower = upper = s‖W_1‖_op; this pins the
    standard parameterisation's σ_w/√d scale in both numbers."""
    for kw in ({}, dict(sigma_w=1.7, sigma_b=0.5, parameterization="ntk")):
        arch = Architecture(5, (), "relu", **kw)
        model = arch.build(gen(4))
        upper = lipschitz_upper_bound(model, 1)
        lower = lipschitz_lower_bound(model, sphere(3, 5, 5), 1)
        assert abs(upper - lower) <= tau_id(1, 5) * upper
        scale = 1.7 / math.sqrt(5) if kw else 1.0
        assert upper == pytest.approx(
            scale * float(torch.linalg.vector_norm(model.weights[0].detach())), rel=tau_id(1, 5)
        )


def test_lipschitz_lower_below_upper_and_far_below_the_norm_product():
    """DET (docs/statements.md#B7): max_i ‖∂f_k/∂x(x_i)‖ ≤ Π_{l≤k}‖W_l‖_op, and every sampled difference quotient is
    ≤ the upper bound; relative tolerance τ_id (docs/tolerances.md#identity) for the SVDs and the chains of products.
    Heuristic (docs/statements.md#nmm21-lipschitz, #C8), printed for the report: the lower estimate sits near
    √(Π_{l≤k} n_l/2)
    while the product of norms is ≈ Π(√n_{l−1} + √n_l) (Bai–Yin), far above it for k = 3."""
    arch = Architecture(20, (256, 256, 256), "relu")
    model = arch.build(gen(6))
    X = sphere(32, 20, 7)
    Y = X + 1e-3 * sphere(32, 20, 8)
    tol = tau_id(arch.depth, 20, arch.widths)
    for k in range(1, arch.depth + 1):
        lower, upper, scale = (
            lipschitz_lower_bound(model, X, k, chunk=16),
            lipschitz_upper_bound(model, k),
            lipschitz_scale(arch, k),
        )
        print(f"k={k}: lower/scale={lower / scale:.2f}, upper/scale={upper / scale:.2f}, scale={scale:.4g}")
        assert lower <= upper * (1 + tol)
        with torch.no_grad():
            quotients = torch.linalg.norm(model.feature_map(Y, k) - model.feature_map(X, k), dim=1) / torch.linalg.norm(
                Y - X, dim=1
            )
        assert float(quotients.max()) <= upper * (1 + tol)
        if k < arch.depth:
            # ‖J v‖ for a fixed unit v concentrates at the scale (relative spread ≈ √(k/n) ≈ 0.1, so ≥ 0.8); the
            # operator norm of an n_k × d Jacobian adds about a factor 1 + √(2d/n_k) ≈ 1.4 per layer-pair and
            # docs/statements.md#C8 saw ≤ 1.8 for local ratios: 3 is a loose sanity ceiling, not a theorem.
            assert 0.8 <= lower / scale <= 3.0
    # Bai–Yin: Π_{l≤3} (√n_{l−1} + √n_l)/√(Π n_l/2) = (√20 + 16)·32·32/√(256³/2) ≈ 7.2 for this architecture
    assert lipschitz_upper_bound(model, 3) >= 5 * lipschitz_lower_bound(model, X, 3)


def test_jacobian_norms_and_bad_input():
    arch = Architecture(3, (4,), "relu")
    model = arch.build(gen(9))
    X = sphere(5, 3, 10)
    norms = jacobian_norms(model, X, 1)
    assert torch.equal(jacobian_norms(model, X, 1, chunk=2), norms) and norms.shape == (5,)
    with pytest.raises(ValueError, match="k must be <= L=2, got 3"):
        lipschitz_upper_bound(model, 3)
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        lipschitz_lower_bound(model, X, 0)
    with pytest.raises(ValueError, match=r"X must have shape \(N, d=3\)"):
        feature_matrices(model, X[:, :2])
    with pytest.raises(ValueError, match="X contains NaN or Inf"):
        feature_matrices(model, X.index_fill(0, torch.tensor([1]), math.nan))
    with pytest.raises(ValueError, match="model must be an ntkverify MLP"):
        feature_matrices(torch.nn.Linear(3, 1), X)
    with pytest.raises(ValueError, match="positively homogeneous activation"):
        lipschitz_scale(Architecture(3, (4,), "tanh"), 1)
    custom = Activation(
        "cube_relu", lambda t: torch.relu(t) ** 3, lambda t: 3 * torch.relu(t) ** 2, relu_dual, False, False, "test"
    )
    with pytest.raises(ValueError, match="unsupported activation 'cube_relu'"):
        activation_lipschitz(custom)
