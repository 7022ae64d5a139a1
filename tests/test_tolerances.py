"""Tests of the tolerance model (docs/tolerances.md): each budget bounds the error actually observed against an exact or
high-precision reference, is not absurdly loose, scales with the dtype's roundoff, and validates its input."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ntkverify import analytic, tolerances
from ntkverify.device import unit_roundoff
from ntkverify.properties.oracle import textbook_ntk
from tests.reference import mp_limiting

U64 = unit_roundoff(torch.float64)
U32 = unit_roundoff(torch.float32)


def test_gamma_matches_definition_and_rejects_overflowing_n():
    assert tolerances.gamma(10) == pytest.approx(10 * U64 / (1 - 10 * U64), rel=1e-15)
    assert tolerances.gamma(0) == 0.0
    with pytest.raises(ValueError, match="n\\*u must be < 1"):
        tolerances.gamma(2**24, torch.float32)
    with pytest.raises(ValueError, match="n must be >= 0"):
        tolerances.gamma(-1)


# the standard model of floating point assumes no underflow: keep entries away from the subnormal range
_ENTRIES = st.floats(-1e3, 1e3).filter(lambda v: v == 0 or abs(v) > 1e-100)


@given(arrays(np.float64, st.tuples(st.integers(2, 5), st.integers(1, 12)), elements=_ENTRIES))
def test_gram_entry_error_bounds_the_exact_error(X):
    """|fl(XX^T) − XX^T| ≤ γ_d ||x_i|| ||x_j|| entrywise, against exact rational arithmetic."""
    computed = (torch.from_numpy(X) @ torch.from_numpy(X).T).numpy()
    norms = np.linalg.norm(X, axis=1)
    d = X.shape[1]
    for i in range(X.shape[0]):
        for j in range(X.shape[0]):
            exact = sum(Fraction(a) * Fraction(b) for a, b in zip(X[i], X[j]))
            err = abs(Fraction(computed[i, j]) - exact)
            # the norms themselves are computed; inflate by (1 + 2u) for their rounding
            assert err <= Fraction(tolerances.gram_entry_error(d, norms[i], norms[j]) * (1 + 4 * U64))


def _adversarial_data(kind: str, rng: np.random.Generator) -> np.ndarray:
    X = rng.standard_normal((5, 3))
    if kind == "near_duplicate":
        X[1] = X[0] * (1 + 1e-9) + 1e-12
    elif kind == "antipodal":
        X[1] = -X[0]
        X[3] = -X[2] * 2.5
    elif kind == "zero_row":
        X[2] = 0.0
    return X


@pytest.mark.parametrize("kind", ["random", "near_duplicate", "antipodal", "zero_row"])
@pytest.mark.parametrize("depth", [2, 5])
def test_limiting_entry_error_bounds_the_analytic_engine(kind, depth):
    """The stable-ReLU budget (rho_bar=None) bounds the analytic engine's entries against a 40-digit
    evaluation, on random and adversarial data (the √u regime must not be needed)."""
    X = _adversarial_data(kind, np.random.default_rng(7))
    K_mp, G_mp, _ = mp_limiting(X, depth)
    K = analytic.limiting_ntk(torch.from_numpy(X), depth, device="cpu").numpy()
    d = X.shape[1]
    budget = tolerances.limiting_entry_error(d, depth, float((X**2).sum(1).max()))
    assert np.abs(K - K_mp).max() <= budget
    # the well-conditioned budget is not the √u one: it is O((d+L) L^2 u) relative
    assert budget <= 1e-12 * float((X**2).sum(1).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_general_budget_covers_the_sqrt_u_regime_of_arccos(dtype):
    """With a near-duplicate pair, arccos loses √u (docs/kernels.md#stable-evaluation); the general budget with ρ̄ ≈ 1
    covers the
    observed error, and the stable budget would not (so the regime switch matters)."""
    X = _adversarial_data("near_duplicate", np.random.default_rng(3))
    depth = 3
    K_mp, G_mp, _ = mp_limiting(X, depth)
    err = np.abs(_arccos_limiting_in(X, depth, dtype).astype(np.float64) - K_mp).max()
    scale = float((X**2).sum(1).max())
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    rho = max(abs(G[i, j]) / math.sqrt(G[i, i] * G[j, j]) for G in G_mp for i in range(5) for j in range(5) if i != j)
    general = tolerances.limiting_entry_error(3, depth, scale, rho_bar=min(rho, 1.0), dtype=torch_dtype)
    stable = tolerances.limiting_entry_error(3, depth, scale, dtype=torch_dtype)
    assert err <= general
    assert err > stable  # the arccos path really is in the √u regime here


def test_sqrt_u_regime_interpolates_between_the_two_limits():
    scale, d, L = 4.0, 10, 3
    eps = tolerances.eps_rho(d, L)
    stable = tolerances.limiting_entry_error(d, L, scale)
    at_zero = tolerances.limiting_entry_error(d, L, scale, rho_bar=0.0)
    at_one = tolerances.limiting_entry_error(d, L, scale, rho_bar=1.0)
    assert at_zero == pytest.approx(stable + L * L * scale * eps / math.pi)
    assert at_one == pytest.approx(stable + L * L * scale * math.sqrt(2 * eps) / math.pi)
    mids = [tolerances.limiting_entry_error(d, L, scale, rho_bar=r) for r in (0.5, 0.9, 0.999999)]
    assert at_zero < mids[0] < mids[1] < mids[2] <= at_one


def test_tau_lim_is_solver_plus_weyl_and_float32_matches_spec_size():
    N, d, L, scale = 50, 20, 4, 20.0
    tau = tolerances.tau_lim(N, d, L, scale)
    expected = 10 * N * U64 * (N * L * scale) + N * tolerances.limiting_entry_error(d, L, scale)
    assert tau == pytest.approx(expected, rel=1e-14)
    # float32, √u regime: docs/tolerances.md#float32 asks for tolerances around 1e-3·N·scale
    tau32 = tolerances.tau_lim(N, d, L, scale, rho_bar=1.0, dtype=torch.float32)
    assert 1e-4 * N * scale < tau32 < 1e-1 * N * L * L * scale
    # the well-conditioned part scales linearly with u
    ratio = tolerances.tau_lim(N, d, L, scale, dtype=torch.float32) / tau
    assert ratio == pytest.approx(U32 / U64, rel=1e-12)


def _empirical_ntk(X: np.ndarray, weights, dtype) -> np.ndarray:
    """K̄ = Σ_l (F_{l−1}F_{l−1}^T)∘(B_lB_l^T) (docs/model.md#layer-decomposition) in the given dtype."""
    X = X.astype(dtype)
    Ws = [W.astype(dtype) for W in weights]
    F, pre = [X], [None]
    for W in Ws[:-1]:
        pre.append(F[-1] @ W)
        F.append(np.maximum(pre[-1], 0))
    L = len(Ws)
    B = [None] * (L + 1)
    B[L] = np.ones((X.shape[0], 1), dtype=dtype)
    for layer in range(L - 1, 0, -1):
        B[layer] = (pre[layer] > 0) * (B[layer + 1] @ Ws[layer].T)
    return sum((F[k - 1] @ F[k - 1].T) * (B[k] @ B[k].T) for k in range(1, L + 1))


def test_empirical_budget_bounds_float32_against_float64():
    """The float32 empirical-NTK entry budget bounds the float32 − float64 difference (the float64 reference's
    own error is 2^-29 times smaller), and the float32 τ_emp bounds the λ_min difference."""
    rng = np.random.default_rng(11)
    d, widths, N = 8, (64, 32), 12
    X = rng.standard_normal((N, d))
    dims = (d, *widths, 1)
    weights = [rng.standard_normal((a, b)) for a, b in zip(dims[:-1], dims[1:])]
    K64 = _empirical_ntk(X, weights, np.float64)
    K32 = _empirical_ntk(X, weights, np.float32).astype(np.float64)
    max_diag = float(np.diag(K64).max())
    entry = tolerances.empirical_entry_error(d, widths, max_diag, torch.float32)
    observed = np.abs(K32 - K64).max()
    assert observed <= entry
    assert entry <= 1e4 * observed  # not vacuous: within four orders of magnitude
    lam32 = float(torch.linalg.eigvalsh(torch.from_numpy(K32).float())[0])
    lam64 = float(np.linalg.eigvalsh(K64)[0])
    assert abs(lam32 - lam64) <= tolerances.tau_emp(N, d, widths, max_diag, dtype=torch.float32)


def test_tau_id_and_inequality_tolerance():
    assert tolerances.tau_id(3, 10, (100, 50)) == pytest.approx(100 * 3 * 160 * U64)
    assert tolerances.tau_id(3, 10) == pytest.approx(100 * 3 * 13 * U64)
    assert tolerances.inequality_tolerance(1e-9, 2e-9, 0.0) == pytest.approx(3e-9)
    with pytest.raises(ValueError, match="taus\\[1\\]"):
        tolerances.inequality_tolerance(1.0, -1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: tolerances.tau_lim(0, 3, 2, 1.0), "N must be >= 1"),
        (lambda: tolerances.tau_lim(3, 3, 2, -1.0), "max_sq_norm"),
        (lambda: tolerances.limiting_entry_error(3, 2, 1.0, rho_bar=1.5), "rho_bar must be in \\[0, 1\\]"),
        (lambda: tolerances.tau_emp(3, 3, (0,), 1.0), "widths\\[0\\] must be >= 1"),
        (lambda: tolerances.eig_backward_error(3, float("nan")), "norm2"),
        (lambda: tolerances.gram_entry_error(0, 1.0, 1.0), "d must be >= 1"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _arccos_limiting_in(X: np.ndarray, depth: int, dtype) -> np.ndarray:
    """The arccos-based textbook recursion (the √u-sensitive path) evaluated in the given numpy dtype."""
    return textbook_ntk(X.astype(dtype), depth)
