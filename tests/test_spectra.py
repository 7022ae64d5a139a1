"""Tests of certified spectra: every certified interval contains the exact eigenvalue (from closed forms or
40-digit mpmath), of the matrix passed in and of every matrix within the stated entry-error budget; the
Cholesky certificate never certifies a false statement and decides clear cases; the iterative solver
agrees with the dense one within both error bars; bad input raises clear ValueErrors."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ntkverify import analytic, spectra, tolerances
from ntkverify.spectra import Outcome

mpmath.mp.dps = 40


def toeplitz(N: int, a: float = 2.0, b: float = -1.0) -> tuple[torch.Tensor, np.ndarray]:
    """Tridiagonal Toeplitz matrix (exact entries) and its exact spectrum a + 2b cos(kπ/(N+1))."""
    K = torch.diag(torch.full((N,), a, dtype=torch.float64))
    off = torch.full((N - 1,), b, dtype=torch.float64)
    K = K + torch.diag(off, 1) + torch.diag(off, -1)
    k = np.arange(1, N + 1)
    return K, np.sort(a + 2 * b * np.cos(k * np.pi / (N + 1)))


def mp_eigenvalues(K: np.ndarray) -> np.ndarray:
    values, _ = mpmath.eigsy(mpmath.matrix(K.tolist()))
    return np.sort(np.array([float(v) for v in values]))


def sphere(rng: np.random.Generator, N: int, d: int) -> torch.Tensor:
    X = rng.standard_normal((N, d))
    return torch.from_numpy(X * math.sqrt(d) / np.linalg.norm(X, axis=1, keepdims=True))


# --------------------------------------------------------------------------------------------- result type


def test_certified_interval_helpers_and_rendering():
    c = spectra.Certified(2.0, 0.5, torch.float64, torch.device("cpu"), "eigvalsh")
    assert (c.lower, c.upper) == (1.5, 2.5)
    assert c.contains(1.5) and c.contains(2.5) and not c.contains(2.6)
    assert "± 0.5" in str(c) and "eigvalsh" in str(c) and "float64" in str(c)


# --------------------------------------------------------------------------------------------- dense


def test_spectrum_contains_closed_form_eigenvalues_and_is_tight():
    K, exact = toeplitz(60)
    spec = spectra.spectrum(K)
    assert np.all(np.abs(spec.values.numpy() - exact) <= spec.error)
    assert spec.error <= 1e-12 * float(exact.max())  # 10 N u ||K||: not vacuous
    assert spec.min().contains(exact[0]) and spec.max().contains(exact[-1])
    assert spec.dtype == torch.float64 and spec.device.type == "cpu" and spec.method == "eigvalsh"


@given(
    arrays(np.float64, st.tuples(st.integers(1, 6)).map(lambda t: (t[0], t[0])), elements=st.floats(-10, 10)),
    st.floats(0, 1e-3),
    st.integers(0, 2**32 - 1),
)
def test_entry_error_budget_covers_every_perturbed_matrix(A, entry_error, seed):
    """Certified intervals computed from K' = K + E (|E_ij| ≤ entry_error, symmetric) contain the exact
    eigenvalues of K: the budget is turned into ||E||_2 ≤ N·entry_error by Weyl."""
    K = (A + A.T) / 2
    rng = np.random.default_rng(seed)
    E = rng.uniform(-entry_error, entry_error, size=K.shape)
    E = np.triu(E) + np.triu(E, 1).T
    exact = mp_eigenvalues(K)
    perturbed = torch.from_numpy(K + E)
    spec = spectra.spectrum(perturbed, entry_error=entry_error)
    assert np.all(np.abs(spec.values.numpy() - exact) <= spec.error)
    assert spectra.lambda_min(perturbed, entry_error=entry_error).contains(exact[0])
    assert spectra.lambda_max(perturbed, entry_error=entry_error).contains(exact[-1])


@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.floats(-10, 10)))
def test_sigma_min_contains_the_exact_singular_value(A):
    exact = min(float(s) for s in mpmath.svd_r(mpmath.matrix(A.tolist()), compute_uv=False))
    assert spectra.sigma_min(torch.from_numpy(A)).contains(exact)


def test_float32_bars_use_float32_roundoff():
    K, exact = toeplitz(40)
    c32 = spectra.lambda_min(K.float())
    c64 = spectra.lambda_min(K)
    assert c32.dtype == torch.float32 and c32.contains(exact[0])
    assert c32.error / c64.error == pytest.approx(2.0**29, rel=1e-3)


# --------------------------------------------------------------------------------------------- Cholesky


@given(
    arrays(np.float64, st.tuples(st.integers(1, 6)).map(lambda t: (t[0], t[0])), elements=st.floats(-10, 10)),
    st.floats(-1, 1),
)
def test_cholesky_verdict_is_never_wrong(A, offset):
    """TRUE ⇒ λ_min ≥ c with λ_min ≥ verdict.lower; FALSE ⇒ λ_min < c with λ_min ≤ verdict.upper."""
    K = A @ A.T / 10 + np.eye(A.shape[0]) * offset  # mix of PSD-ish and indefinite cases
    exact = mp_eigenvalues(K)[0]
    for c in (exact - 1e-3, exact - 1e-9, exact, exact + 1e-9, exact + 1e-3, 0.0):
        verdict = spectra.certify_lambda_min_ge(torch.from_numpy(K), c)
        if verdict.outcome is Outcome.TRUE:
            assert exact >= verdict.lower >= c
        elif verdict.outcome is Outcome.FALSE:
            assert exact <= verdict.upper < c


def test_cholesky_decides_clear_cases_without_eigenvalues():
    K, exact = toeplitz(300)
    lam = exact[0]
    ok = spectra.certify_lambda_min_ge(K, lam * (1 - 1e-6))
    assert ok.outcome is Outcome.TRUE and ok.holds is True and ok.method == "cholesky"
    assert ok.threshold <= ok.shift <= lam
    bad = spectra.certify_lambda_min_ge(K, lam * 1.5)
    assert bad.outcome is Outcome.FALSE and bad.holds is False and bad.method == "cholesky"
    assert lam <= bad.upper < lam * 1.5
    diag = spectra.certify_lambda_min_ge(K, 3.0)  # above the diagonal 2: refuted by Rayleigh at e_i
    assert diag.outcome is Outcome.FALSE and diag.method == "diagonal"


def test_cholesky_undecided_within_its_slack_and_fallback_resolves():
    K, exact = toeplitz(50)
    near = spectra.certify_lambda_min_ge(K, exact[0])  # the threshold is the eigenvalue itself
    assert near.outcome is Outcome.UNDECIDED and near.holds is None
    # the fallback computes the eigenvalue; at the exact value it stays undecided (honest)
    assert spectra.certify_lambda_min_ge(K, exact[0], fallback=True).outcome is Outcome.UNDECIDED
    slightly_below = exact[0] - 1e-10
    assert spectra.certify_lambda_min_ge(K, slightly_below).outcome is not Outcome.FALSE


def test_cholesky_entry_budget_is_respected():
    """A gap smaller than N·entry_error cannot be certified; a larger one can."""
    K, exact = toeplitz(20)
    lam, N = exact[0], 20
    small_gap = spectra.certify_lambda_min_ge(K, lam - 1e-4, entry_error=1e-4 / N * 2)
    assert small_gap.outcome is not Outcome.TRUE
    large_gap = spectra.certify_lambda_min_ge(K, lam - 1e-4, entry_error=1e-4 / N / 4)
    assert large_gap.outcome is Outcome.TRUE


# --------------------------------------------------------------------------------------------- iterative


@pytest.mark.parametrize("depth", [2, 4])
def test_iterative_agrees_with_dense_within_both_error_bars(depth):
    X = sphere(np.random.default_rng(depth), 150, 20)
    K = analytic.limiting_ntk(X, depth, device="cpu")
    entry = tolerances.limiting_entry_error(20, depth, 20.0)
    dense = spectra.lambda_min(K, entry_error=entry, method="dense")
    it = spectra.lambda_min(K, entry_error=entry, method="iterative")
    assert it.method == "lanczos+cholesky"
    assert abs(it.value - dense.value) <= it.error + dense.error
    assert it.error <= 100 * dense.error  # the iterative bar is of the same order, not vacuous
    dense_max = spectra.lambda_max(K, entry_error=entry, method="dense")
    it_max = spectra.lambda_max(K, entry_error=entry, method="iterative")
    assert abs(it_max.value - dense_max.value) <= it_max.error + dense_max.error


def test_iterative_contains_closed_form_and_falls_back_on_indefinite_input():
    K, exact = toeplitz(120)
    it = spectra.lambda_min(K, method="iterative")
    assert it.method == "lanczos+cholesky" and it.contains(exact[0])
    indefinite, exact_ind = toeplitz(30, a=0.0, b=1.0)  # K − σI not PD: dense fallback
    fallback = spectra.lambda_min(indefinite, method="iterative")
    assert fallback.method == "eigvalsh" and fallback.contains(exact_ind[0])


def test_auto_switches_to_iterative_above_the_threshold(monkeypatch):
    K, exact = toeplitz(40)
    assert spectra.lambda_min(K).method == "eigvalsh"
    monkeypatch.setattr(spectra, "ITERATIVE_MIN_SIZE", 30)
    auto = spectra.lambda_min(K)
    assert auto.method == "lanczos+cholesky" and auto.contains(exact[0])


@pytest.mark.gpu
def test_cuda_results_agree_with_cpu_within_error_bars():
    X = sphere(np.random.default_rng(0), 200, 10)
    K = analytic.limiting_ntk(X, 3, device="cpu")
    cpu = spectra.lambda_min(K)
    gpu = spectra.lambda_min(K, device="cuda")
    assert gpu.device.type == "cuda"
    assert abs(cpu.value - gpu.value) <= cpu.error + gpu.error
    assert spectra.certify_lambda_min_ge(K, cpu.lower * 0.99, device="cuda").outcome is Outcome.TRUE


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "K, match",
    [
        (torch.tensor([[1.0, float("nan")], [float("nan"), 1.0]], dtype=torch.float64), "NaN or Inf"),
        (torch.ones(2, 3, dtype=torch.float64), "square"),
        (torch.ones(3, dtype=torch.float64), "2-D"),
        (torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64), "symmetric"),
        (torch.eye(2, dtype=torch.int64), "floating"),
        ([[1.0]], "torch.Tensor or numpy.ndarray"),
    ],
)
def test_bad_matrices_raise(K, match):
    with pytest.raises(ValueError, match=match):
        spectra.lambda_min(K)
    with pytest.raises(ValueError, match=match):
        spectra.certify_lambda_min_ge(K, 0.0)


def test_bad_options_raise():
    K, _ = toeplitz(3)
    with pytest.raises(ValueError, match="method must be"):
        spectra.lambda_min(K, method="eig")
    with pytest.raises(ValueError, match="entry_error"):
        spectra.spectrum(K, entry_error=-1.0)
    with pytest.raises(ValueError, match="c must be finite"):
        spectra.certify_lambda_min_ge(K, float("inf"))
    with pytest.raises(ValueError, match="A contains NaN"):
        spectra.sigma_min(torch.tensor([[float("inf")]], dtype=torch.float64))


def test_tiny_asymmetry_is_symmetrised_and_budgeted():
    K, exact = toeplitz(10)
    K[0, 1] += 1e-14
    c = spectra.lambda_min(K)
    assert c.contains(exact[0])
