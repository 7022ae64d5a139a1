"""The analytic (infinite-width) kernels against independent evaluations, identities and invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import norm

from ntkverify import analytic
from ntkverify.activations import ACTIVATIONS, Activation, relu_dual
from ntkverify.hermite import mu_relu
from ntkverify.tolerances import limiting_entry_error, tau_id
from tests.reference import mp_limiting

FALSE_ALARM = 1e-6  # per statistical test, for a random seed; the seeds below are fixed


def rel_frobenius(A, B) -> float:
    A, B = torch.as_tensor(A, dtype=torch.float64), torch.as_tensor(B, dtype=torch.float64)
    return float(torch.linalg.matrix_norm(A - B) / torch.linalg.matrix_norm(B))


def entry_scale(X: np.ndarray) -> np.ndarray:
    """‖x_i‖‖x_j‖: the natural scale of entry (i, j) of every kernel here (|G_ij| ≤ ‖x_i‖‖x_j‖)."""
    n = np.linalg.norm(X, axis=1)
    return np.outer(n, n)


def data(seed: int, n: int, d: int, near_pairs: int = 0) -> np.ndarray:
    """Gaussian rows; the first ``near_pairs`` rows get a near-parallel and a near-antipodal twin."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    for k in range(near_pairs):
        X[n - 1 - 2 * k] = X[k] * 1.7 + 1e-9 * rng.standard_normal(d)
        X[n - 2 - 2 * k] = -X[k] * 0.3 + 1e-7 * rng.standard_normal(d)
    return X


# --------------------------------------------------------------------------------------------------------------
# agreement with a 40-digit evaluation


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("seed,n,d,near", [(0, 6, 3, 0), (1, 7, 5, 2), (2, 5, 2, 1)])
def test_matches_high_precision(depth, seed, n, d, near):
    """Entrywise |K − K_mp| ≤ limiting_entry_error (stable ReLU path), i.e. ~1e-14 relative to ‖x_i‖‖x_j‖,
    including near-parallel and near-antipodal pairs where arccos-based code loses half the digits."""
    X = data(seed, n, d, near)
    K_mp, G_mp, Gd_mp = mp_limiting(X, depth)
    layers = analytic.limiting_layers(X, depth)
    scale = entry_scale(X)
    bound = limiting_entry_error(d, depth, 1.0)  # per unit of ‖x_i‖‖x_j‖ (see its docstring)
    assert np.max(np.abs(layers.K.numpy() - K_mp) / scale) <= bound
    for l in range(depth):
        assert np.max(np.abs(layers.G[l].numpy() - G_mp[l]) / scale) <= bound
        if l:
            assert np.max(np.abs(layers.Gdot[l].numpy() - Gd_mp[l])) <= bound
    assert bound < 1e-12  # the target: ~1e-12 relative agreement


def test_general_path_matches_angle_path():
    """The generic dual path (arccos of correlations) agrees with the angle-tracking ReLU path where the
    correlations are well away from ±1 (ρ̄ ≤ 0.9 here, so the general tolerance is small)."""
    X = data(3, 8, 6)
    generic = Activation("relu-generic", torch.relu, ACTIVATIONS["relu"].derivative, relu_dual, True, True, "test")
    K_fast = analytic.limiting_ntk(X, 4)
    K_gen = analytic.limiting_ntk(X, 4, activation=generic)
    rho = analytic.limiting_layers(X, 3).G
    rho_bar = max(
        float((G / torch.sqrt(torch.outer(G.diagonal(), G.diagonal())) - torch.eye(8)).abs().max()) for G in rho
    )
    tol = 2 * limiting_entry_error(6, 4, 1.0, rho_bar=rho_bar)
    assert np.max(np.abs((K_fast - K_gen).numpy()) / entry_scale(X)) <= tol


# --------------------------------------------------------------------------------------------------------------
# closed forms against their definitions


def z_threshold(m: int) -> float:
    """Two-sided z threshold at family-wise level FALSE_ALARM over m comparisons (Bonferroni)."""
    return float(norm.isf(FALSE_ALARM / (2 * m)))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "erf"])
def test_layer_two_against_monte_carlo(name):
    """G⁽²⁾ = c_σ E_w[φ(wᵀx_i)φ(wᵀx_j)] and Ġ⁽²⁾ = c_σ E_w[φ'(wᵀx_i)φ'(wᵀx_j)] (docs/kernels.md#recursion) by a
    z-test."""
    act = ACTIVATIONS[name]
    X = torch.as_tensor(data(4, 5, 3, near_pairs=1))
    gen = torch.Generator().manual_seed(0)
    M = 200_000
    Z = X @ torch.randn(3, M, generator=gen, dtype=torch.float64)
    layers = analytic.limiting_layers(X, 2, activation=name)
    for samples, closed in ((act.fn(Z), layers.G[1]), (act.derivative(Z), layers.Gdot[1])):
        prod = act.c_sigma * samples[:, None, :] * samples[None, :, :]
        mean, sd = prod.mean(-1), prod.std(-1)
        se = sd / math.sqrt(M)
        z = ((mean - closed).abs() / torch.where(se > 0, se, 1.0))[se > 0]
        assert float(z.max()) <= z_threshold(z.numel())


def test_h_infinity_definition_and_unit_formula():
    """H∞ = ½ XXᵀ∘Ġ⁽²⁾ for any data; x_iᵀx_j(π − arccos x_iᵀx_j)/(2π) for unit rows (DZPS19 §3)."""
    X = data(5, 9, 4, near_pairs=1)
    H = analytic.h_infinity(X)
    layers = analytic.limiting_layers(X, 2)
    assert rel_frobenius(H, 0.5 * layers.G[0] * layers.Gdot[1]) <= tau_id(2, 4)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    P = np.clip(U @ U.T, -1, 1)
    H_unit = analytic.h_infinity(U).numpy()
    # arccos costs √(2ε) in angle near ρ = ±1 (docs/kernels.md#stable-evaluation), so compare only well-conditioned
    # entries
    ok = np.abs(P) < 0.9
    assert np.max(np.abs(H_unit - P * (np.pi - np.arccos(P)) / (2 * np.pi))[ok]) <= tau_id(2, 4)
    assert np.allclose(np.diag(H_unit), 0.5, rtol=0, atol=tau_id(2, 4))


def test_hermite_series_with_truncation_bound():
    """docs/statements.md#A4: G⁽²⁾_ij = 2‖x_i‖‖x_j‖ Σ_{r≤R} μ_r² ρ^r + T_R, |T_R| ≤ 2‖x_i‖‖x_j‖(½ − Σ_{r≤R} μ_r²);
    K⁽²⁾ likewise with (r+1)μ_r², tail ≤ 2‖x_i‖‖x_j‖(1 − Σ_{r≤R} (r+1)μ_r²)."""
    X = data(6, 6, 4)
    R = 400
    mu2 = np.array([mu_relu(r) ** 2 for r in range(R + 1)])
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    P = np.clip(U @ U.T, -1, 1)
    powers = P[..., None] ** np.arange(R + 1)
    scale = entry_scale(X)
    layers = analytic.limiting_layers(X, 2)
    series_G = 2 * scale * (powers @ mu2)
    series_K = 2 * scale * (powers @ ((np.arange(R + 1) + 1) * mu2))
    rounding = 10 * R * np.finfo(float).eps * scale  # R-term sums of terms ≤ scale
    assert np.all(np.abs(layers.G[1].numpy() - series_G) <= 2 * scale * (0.5 - mu2.sum()) + rounding)
    assert np.all(
        np.abs(layers.K.numpy() - series_K) <= 2 * scale * (1 - ((np.arange(R + 1) + 1) * mu2).sum()) + rounding
    )
    # the bound is not vacuous: a longer series agrees better than the short one's tail allows
    assert 2 * (0.5 - mu2.sum()) < 1e-4


# --------------------------------------------------------------------------------------------------------------
# identities and invariances


# entries below 1e-6 in magnitude are mapped to 0: squared norms of data near 1e-160 underflow to subnormals,
# where no relative accuracy is possible (a documented limit of float64, not of the kernels)
small_data = st.integers(1, 6).flatmap(
    lambda n: st.integers(1, 5).flatmap(
        lambda d: arrays(np.float64, (n, d), elements=st.floats(-4, 4).map(lambda v: 0.0 if abs(v) < 1e-6 else v))
    )
)


@given(X=small_data, depth=st.integers(1, 5))
def test_diagonal_identities_symmetry_and_zero_rows(X, depth):
    """K⁽ᴸ⁾_ii = L‖x_i‖², G⁽ˡ⁾_ii = ‖x_i‖², Ġ⁽ˡ⁾_ii = 1{x_i ≠ 0} exactly (docs/kernels.md#relu-closed-forms); exact
    symmetry; zero rows
    give zero rows; never NaN."""
    layers = analytic.limiting_layers(X, depth)
    sq = (torch.as_tensor(X) ** 2).sum(1)
    assert torch.equal(layers.K.diagonal(), depth * sq)
    for G in layers.G:
        assert torch.equal(G.diagonal(), sq) and torch.equal(G, G.T)
    for Gd in layers.Gdot[1:]:
        assert torch.equal(Gd.diagonal(), (sq > 0).double())
    assert torch.equal(layers.K, layers.K.T) and bool(torch.isfinite(layers.K).all())
    zero = sq == 0
    assert bool((layers.K[zero] == 0).all())


def orthogonal(d: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@given(X=small_data, depth=st.integers(1, 4), seed=st.integers(0, 2**16), c=st.floats(0.125, 8))
def test_invariances(X, depth, seed, c):
    """K(XQ) = K(X), K(ΠX) = ΠK(X)Πᵀ, K(cX) = c²K(X) (docs/statements.md#A3), entrywise within τ_id·‖x_i‖‖x_j‖."""
    n, d = X.shape
    K = analytic.limiting_ntk(X, depth).numpy()
    tol = tau_id(depth, d) * entry_scale(X)
    rotated = analytic.limiting_ntk(X @ orthogonal(d, seed), depth).numpy()
    assert np.all(np.abs(rotated - K) <= tol)
    perm = np.random.default_rng(seed).permutation(n)
    # not bit-exact: BLAS may sum a row's dot products in another order once the row sits elsewhere
    assert np.all(
        np.abs(analytic.limiting_ntk(X[perm], depth).numpy() - K[np.ix_(perm, perm)]) <= tol[np.ix_(perm, perm)]
    )
    scaled = analytic.limiting_ntk(c * X, depth).numpy()
    assert np.all(np.abs(scaled - c * c * K) <= c * c * tol)


@pytest.mark.parametrize("depth", [1, 2, 4])
@pytest.mark.parametrize("sigma_w", [0.5, 1.0, math.sqrt(2), 2.0])
def test_standard_parameterisation_relation(depth, sigma_w):
    """Θ⁽ᴸ⁾ = (σ_w²/d)(σ_w²/2)^{L−1} K⁽ᴸ⁾ and Σ⁽ᴸ⁾ likewise with G⁽ᴸ⁾ for ReLU, σ_b = 0 (analytic docstring)."""
    X = data(7, 6, 5)
    factor = sigma_w**2 / 5 * (sigma_w**2 / 2) ** (depth - 1)
    assert rel_frobenius(
        analytic.standard_ntk(X, depth, sigma_w=sigma_w), factor * analytic.limiting_ntk(X, depth)
    ) <= tau_id(depth, 5)
    assert rel_frobenius(
        analytic.standard_nngp(X, depth, sigma_w=sigma_w), factor * analytic.limiting_nngp(X, depth)
    ) <= tau_id(depth, 5)


def test_standard_parameterisation_with_bias_matches_definition():
    """With σ_b > 0 the generic recursion equals a direct evaluation of the neural-tangents rules
    Σ' = σ_w²T(Σ) + σ_b², Θ' = Σ' + σ_w²Ṫ(Σ)Θ built here from the activation duals (erf: smooth closed form)."""
    X = torch.as_tensor(data(8, 5, 3))
    sw, sb = 1.3, 0.4
    dual = ACTIVATIONS["erf"].dual
    S = sw**2 * X @ X.T / 3 + sb**2
    T = S
    for _ in range(2):
        q = S.diagonal()
        t, tdot = dual(q[:, None], q[None, :], S)
        S_next = sw**2 * t + sb**2
        T = S_next + sw**2 * tdot * T
        S = S_next
    got = analytic.standard_ntk(X, 3, sigma_w=sw, sigma_b=sb, activation="erf")
    assert rel_frobenius(got, T) <= tau_id(3, 3)
    assert rel_frobenius(analytic.standard_nngp(X, 3, sigma_w=sw, sigma_b=sb, activation="erf"), S) <= tau_id(3, 3)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "erf", "tanh", "gelu", "softplus"])
def test_every_activation_gives_a_finite_symmetric_psd_kernel(name):
    X = data(9, 7, 3)
    K = analytic.standard_ntk(X, 3, sigma_w=1.2, sigma_b=0.3, activation=name)
    assert torch.equal(K, K.T) and bool(torch.isfinite(K).all())
    lam = torch.linalg.eigvalsh(K)
    # eigvalsh backward error, docs/tolerances.md#eigensolver
    assert float(lam[0]) >= -10 * 7 * np.finfo(float).eps * float(lam[-1])


def test_tiling_matches_single_tile():
    """Tiles are a memory device only: every tile size gives the same matrix (exact symmetry either way)."""
    X = data(10, 11, 4, near_pairs=2)
    full = analytic.limiting_layers(X, 3, tile=64)
    for tile in (1, 3, 5):
        tiled = analytic.limiting_layers(X, 3, tile=tile)
        for a, b in zip(tiled.G + (tiled.K,), full.G + (full.K,)):
            assert rel_frobenius(a, b) <= tau_id(3, 4)
            assert torch.equal(a, a.T)


def test_equispaced_circle_keeps_h_infinity_psd():
    """30 equispaced points on S¹ (λ_min(H∞) = 0 exactly, docs/kernels.md#stable-evaluation): the stable angles keep
    λ_min at the
    rounding level −10·N·u·‖H‖₂ where arccos gives ≈ −1e−9."""
    t = 2 * np.pi * np.arange(30) / 30
    X = np.stack([np.cos(t), np.sin(t)], 1)
    lam = torch.linalg.eigvalsh(analytic.h_infinity(X))
    assert float(lam[0]) >= -10 * 30 * np.finfo(float).eps / 2 * float(lam[-1])


# --------------------------------------------------------------------------------------------------------------
# activations: quadrature against closed forms


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "erf"])
def test_quadrature_dual_matches_closed_forms(name):
    """The polar quadrature rule meets its documented accuracy (``quadrature_dual``: 1e-8 absolute at unit-order
    variances, down to |ρ| = 0.9997, where erf's Ṫ = (4/π)/√det is steepest; measured 1e-9 there and
    ≤ 4e-12 elsewhere)."""
    from ntkverify.activations import QUADRATURE_ACCURACY, quadrature_dual

    act = ACTIVATIONS[name]
    q1 = torch.tensor([1.0, 2.0, 0.5, 1.0, 0.0, 3.0], dtype=torch.float64)
    q2 = torch.tensor([1.0, 0.7, 3.0, 1.0, 1.0, 3.0], dtype=torch.float64)
    c = torch.tensor([0.3, -0.9, 1.2, 1.0, 0.0, -2.999], dtype=torch.float64)
    for exact, approx in zip(act.dual(q1, q2, c), quadrature_dual(act.fn, act.derivative)(q1, q2, c)):
        assert float((exact - approx).abs().max()) <= QUADRATURE_ACCURACY


# --------------------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "X,message",
    [
        (np.ones(3), "2-D"),
        (np.ones((0, 3)), "non-empty"),
        (np.array([[1.0, np.nan]]), "NaN or Inf"),
        (np.array([[1.0, np.inf]]), "NaN or Inf"),
        (np.ones((2, 2), dtype=np.int64), "floating"),
        (torch.ones(2, 2, dtype=torch.complex128), "floating"),
        ([[1.0, 2.0]], "torch.Tensor or numpy.ndarray"),
    ],
)
def test_bad_data_is_rejected(X, message):
    for fn in (lambda: analytic.limiting_ntk(X, 2), lambda: analytic.h_infinity(X)):
        with pytest.raises(ValueError, match=message):
            fn()


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda X: analytic.limiting_ntk(X, 0), "depth must be >= 1, got 0"),
        (lambda X: analytic.limiting_ntk(X, 2.5), "depth must be an integer"),
        (lambda X: analytic.standard_ntk(X, 2, sigma_w=-1.0), "sigma_w must be a finite number >= 0"),
        (lambda X: analytic.standard_ntk(X, 2, sigma_b=float("nan")), "sigma_b"),
        (lambda X: analytic.limiting_ntk(X, 2, activation="swish"), "unknown activation 'swish'"),
        (lambda X: analytic.limiting_ntk(X, 2, tile=0), "tile must be >= 1"),
    ],
)
def test_bad_arguments_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.ones((2, 2)))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    X = data(11, 40, 6, near_pairs=3)
    cpu = analytic.limiting_ntk(X, 4, device="cpu")
    gpu = analytic.limiting_ntk(X, 4, device="cuda", tile=16).cpu()
    assert rel_frobenius(gpu, cpu) <= tau_id(4, 6)
