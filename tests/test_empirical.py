"""Empirical NTK three ways (docs/model.md#layer-decomposition, docs/statements.md#B2, #B9): agreement, σ'(0) = 0,
multi-output kernels, bad input, and
convergence to the limiting kernel along a width ladder (docs/statements.md#C3)."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from ntkverify.activations import get_activation
from ntkverify.architecture import Architecture
from ntkverify.device import default_device, unit_roundoff
from ntkverify.empirical import (
    METHODS,
    agreement_tolerance,
    empirical_ntk,
    entry_error,
    normalised_empirical_ntk,
)
from ntkverify.network import MLP
from ntkverify.tolerances import eig_backward_error, perturbation_norm, tau_id


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


@st.composite
def cases(draw):
    """Small architectures (n ≤ 6, d ≤ 5, widths ≤ 16, depth ≤ 4), both parameterisations, with and without
    bias, and data that are Gaussian or small integers (zero rows, exact zero pre-activations)."""
    d, n, depth = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.integers(1, 4))
    widths = tuple(draw(st.lists(st.integers(1, 16), min_size=depth - 1, max_size=depth - 1)))
    activation = draw(st.sampled_from(["relu", "leaky_relu", "erf", "tanh"]))
    if activation in ("relu", "leaky_relu") and draw(st.booleans()):  # seed: homogeneous activations only
        arch = Architecture(d, widths, activation)
    else:
        sigma_w = draw(st.floats(0.5, 2.0))
        sigma_b = draw(st.one_of(st.none(), st.floats(0.0, 1.0)))
        arch = Architecture(d, widths, activation, sigma_w, sigma_b, "ntk")
    seed = draw(st.integers(0, 2**32 - 1))
    g = gen(seed)
    if draw(st.booleans()):
        X = torch.randn(n, d, dtype=torch.float64, generator=g)
    else:
        X = torch.randint(-2, 3, (n, d), generator=g).to(torch.float64)
    return arch, arch.build(g), X


@given(cases())
def test_three_methods_agree(case):
    """layer-wise Gram products = torch.func Jacobian contraction = NTK-vector products, in total, per layer and
    in blocks, within the derived entrywise budget of ``entry_error`` (docs/tolerances.md#empirical, triangle
    inequality)."""
    arch, model, X = case
    totals = {m: empirical_ntk(model, X, m) for m in METHODS}
    layers = {m: empirical_ntk(model, X, m, per_layer=True) for m in METHODS}
    blocked = {m: empirical_ntk(model, X, m, chunk=2) for m in ("layerwise", "jacobian")}
    for a, b in itertools.combinations(METHODS, 2):
        tol = agreement_tolerance(arch, (a, b), (totals[a], totals[b]))
        assert max_diff(totals[a], totals[b]) <= tol
        for la, lb in zip(layers[a], layers[b]):
            assert max_diff(la, lb) <= tol
    for m in METHODS:
        K = totals[m]
        assert K.shape == (len(X), len(X)) and torch.equal(K, K.T)
        assert len(layers[m]) == arch.depth
        tol = 2 * agreement_tolerance(arch, (m,), (K,))
        assert max_diff(sum(layers[m]), K) <= tol
        if m in blocked:
            assert max_diff(blocked[m], K) <= tol


def hand_kernel(X, W1, w2, phi, dphi):
    """K̄_ij = <x_i, x_j> Σ_k w2_k² φ'(g_ik) φ'(g_jk) + Σ_k φ(g_ik) φ(g_jk) for f(x) = Σ_k w2_k φ(x·W1[:, k])."""
    n, width = len(X), len(w2)
    g = [[sum(X[i][a] * W1[a][k] for a in range(len(X[i]))) for k in range(width)] for i in range(n)]
    return [
        [
            sum(X[i][a] * X[j][a] for a in range(len(X[i])))
            * sum(w2[k] ** 2 * dphi(g[i][k]) * dphi(g[j][k]) for k in range(width))
            + sum(phi(g[i][k]) * phi(g[j][k]) for k in range(width))
            for j in range(n)
        ]
        for i in range(n)
    ]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_zero_preactivation_uses_zero_derivative(activation):
    """docs/statements.md#B9: with integer data and weights, pre-activations are exactly 0 for some (point, unit); all
    three methods must use φ'(0) = 0. The kernel with φ'(0) = φ'(0+) differs, so the test can fail."""
    slope = 0.1 if activation == "leaky_relu" else 0.0
    X = [[1.0, 1.0], [1.0, -1.0], [2.0, 1.0], [0.0, 0.0]]
    W1, w2 = [[1.0, 1.0], [1.0, -1.0]], [1.0, -2.0]
    arch = Architecture(2, (2,), activation)
    model = MLP(arch, [torch.tensor(W1, dtype=torch.float64), torch.tensor(w2, dtype=torch.float64)[:, None]])
    Xt = torch.tensor(X, dtype=torch.float64)
    assert bool((model.propagate(Xt).G[0] == 0).any())

    def phi(t):
        return t if t > 0 else slope * t

    expected = torch.tensor(hand_kernel(X, W1, w2, phi, lambda t: 1.0 if t > 0 else (slope if t < 0 else 0.0)))
    other = torch.tensor(hand_kernel(X, W1, w2, phi, lambda t: 1.0 if t >= 0 else slope))
    # every number here is a small integer multiple of 0.01, exact up to one rounding per operation
    tol = 100 * unit_roundoff() * float(expected.abs().max())
    assert max_diff(other, expected) > 1.0
    for m in METHODS:
        assert max_diff(empirical_ntk(model, Xt, m).cpu(), expected) <= tol


def set_parameters(module: nn.Module, seed: int) -> nn.Module:
    """Overwrite every parameter with N(0, 1) draws from an explicit generator (torch's own init uses the
    global RNG)."""
    g = gen(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype, generator=g))
    return module


def test_multi_output_kernels_match_autograd_jacobian():
    """K[i, j, a, b] = <∂f_a(x_i)/∂θ, ∂f_b(x_j)/∂θ> against a Jacobian assembled row by row with
    ``torch.autograd.grad``; ``outputs="mean"`` is (1/k) Σ_a K[i, j, a, a]; per-parameter terms sum to K."""
    net = set_parameters(nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4)).double(), 0)
    X = torch.randn(4, 3, dtype=torch.float64, generator=gen(1))
    out = net(X)
    rows = [
        torch.cat([g.reshape(-1) for g in torch.autograd.grad(out[i, a], list(net.parameters()), retain_graph=True)])
        for i in range(4)
        for a in range(4)
    ]
    J = torch.stack(rows)
    reference = (J @ J.T).reshape(4, 4, 4, 4).permute(0, 2, 1, 3)
    mean = torch.einsum("ijaa->ij", reference) / 4
    # τ_id (docs/tolerances.md#identity) relative to the largest diagonal entry, for L = 2, d = 3, widths (5, 4)
    tol = tau_id(2, 3, (5, 4)) * float(reference.diagonal(dim1=0, dim2=1).diagonal().max())
    for m in ("jacobian", "ntvp"):
        assert max_diff(empirical_ntk(net, X, m), reference) <= tol
        assert max_diff(empirical_ntk(net, X, m, chunk=3), reference) <= tol
        assert max_diff(empirical_ntk(net, X, m, outputs="mean"), mean) <= tol
        assert max_diff(empirical_ntk(net, X, m, outputs="mean", chunk=5), mean) <= tol
        terms = empirical_ntk(net, X, m, per_layer=True)
        assert len(terms) == 4 and max_diff(sum(terms), reference) <= tol


class _Summed(nn.Module):
    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, X):
        return self.inner(X).sum()


class _Cube(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2, dtype=torch.float64))

    def forward(self, X):
        return X[:, :, None, None] * self.w


def test_bad_input_is_rejected_with_clear_errors():
    arch = Architecture(3, (4,))
    model = arch.build(gen(0))
    X = torch.randn(5, 3, dtype=torch.float64, generator=gen(1))
    linear = nn.Linear(3, 1).double()
    with pytest.raises(ValueError, match="method='layerwise' needs an ntkverify MLP"):
        empirical_ntk(linear, X)
    for bad in (_Summed(linear), _Cube()):
        for m in ("jacobian", "ntvp"):
            with pytest.raises(ValueError, match=r"model output must have shape \(N,\) or \(N, k\)"):
                empirical_ntk(bad, X, m)
    with pytest.raises(ValueError, match=r"X must have shape \(N, d=3\), got \(5, 2\)"):
        empirical_ntk(model, X[:, :2], "jacobian")
    with pytest.raises(ValueError, match=r"X contains NaN or Inf \(first in row 2\)"):
        empirical_ntk(model, X.index_fill(0, torch.tensor([2]), math.inf))
    with pytest.raises(ValueError, match="method must be one of"):
        empirical_ntk(model, X, "finite_differences")
    with pytest.raises(ValueError, match="chunk must be >= 1, got 0"):
        empirical_ntk(model, X, chunk=0)
    with pytest.raises(ValueError, match="outputs must be one of"):
        empirical_ntk(model, X, "jacobian", outputs="sum")
    with pytest.raises(ValueError, match="has no parameters"):
        empirical_ntk(nn.Identity(), X, "jacobian")
    with pytest.raises(ValueError, match="needs an ntkverify MLP"):
        normalised_empirical_ntk(linear, X)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Architecture(3, (4,), "swish")
    with pytest.raises(ValueError, match="method must be one of"):
        entry_error(arch, "exact", 1.0)


# ---- convergence to the limiting kernel (docs/statements.md#C3) ------------------------------------------------------

LADDER = (64, 256, 1024)
#: Global false-alarm budget of this test module's statistical assertions, split by Bonferroni over the
#: 2 ladders × 2 width steps, two-sided: each ratio is outside its band with probability ≤ ALPHA/4.
ALPHA = 1e-6
Z = NormalDist().inv_cdf(1 - ALPHA / 8)
#: Finite-width deviation of E[error(4m)]/E[error(m)] from 1/2 allowed on top of the sampling band.
#: Calibration (100–200 fresh seeds per width, same data): 0.513, 0.494 for the ReLU seed net of depth 4 and
#: 0.470, 0.508 for the erf standard net of depth 3; the O(1/m) bias (docs/statements.md#C2) and higher-order
#: fluctuations move the ratio by ≤ 0.03 at these widths, and 0.05 covers it.
MODEL_SLACK = 0.05


def sphere(n: int, d: int, seed: int) -> torch.Tensor:
    """n points uniform on the sphere of radius √d (docs/data.md#nmm21-data-scaling)."""
    g = torch.randn(n, d, dtype=torch.float64, generator=gen(seed))
    return (math.sqrt(d) * g / torch.linalg.norm(g, dim=1, keepdim=True)).to(default_device())


def weyl_tolerance(N: int, Ke: torch.Tensor, K: torch.Tensor, delta: torch.Tensor) -> float:
    """Rounding allowance of |λ_min(Ke) − λ_min(K)| ≤ ‖Ke − K‖₂, which holds exactly for the stored matrices
    (Weyl): two eigensolver and one SVD backward errors (docs/tolerances.md#eigensolver) plus the rounding of the
    subtraction
    (≤ u |Δ_ij| per entry, docs/tolerances.md#weyl)."""
    norms = [float(torch.linalg.matrix_norm(A, ord=2)) for A in (Ke, K, delta)]
    rounding = perturbation_norm(N, unit_roundoff() * float(delta.abs().max()))
    return sum(eig_backward_error(N, s) for s in norms) + rounding


def ladder(make, X, seeds: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """Relative Frobenius gaps ‖c K̄ − K‖_F/‖K‖_F for ``seeds[t]`` draws at width ``LADDER[t]`` (more draws
    where they are cheap and the spread is largest); checks Weyl on every draw."""
    errors = {}
    for m, count in zip(LADDER, seeds):
        arch = make(m)
        K = arch.analytic_ntk(X)
        lam = float(torch.linalg.eigvalsh(K)[0])
        gaps = []
        for s in range(count):
            Ke = normalised_empirical_ntk(arch.build(gen(10_000 * m + s)), X)
            delta = Ke - K
            gap = abs(float(torch.linalg.eigvalsh(Ke)[0]) - lam)
            assert gap <= float(torch.linalg.matrix_norm(delta, ord=2)) + weyl_tolerance(len(X), Ke, K, delta)
            gaps.append(float(torch.linalg.norm(delta) / torch.linalg.norm(K)))
        errors[m] = torch.tensor(gaps, dtype=torch.float64)
    return errors


def assert_halves_per_fourfold_width(errors: dict[int, torch.Tensor]) -> None:
    """Under error ≈ c/√m the mean error halves per ×4 step. With S_m i.i.d. draws at width m the ratio R of
    means has relative standard deviation ≈ √(CV_m²/S_m + CV_4m²/S_4m) (delta method; coefficients of
    variation from the same draws), so |R − 1/2| ≤ Z · ½ · that + MODEL_SLACK fails with probability
    ≤ ALPHA/4 (normal approximation of the means)."""
    for small, large in zip(LADDER, LADDER[1:]):
        a, b = errors[small], errors[large]
        rel_sd = math.sqrt((a.std() / a.mean()) ** 2 / len(a) + (b.std() / b.mean()) ** 2 / len(b))
        ratio = float(b.mean() / a.mean())
        band = Z * 0.5 * rel_sd + MODEL_SLACK
        assert abs(ratio - 0.5) <= band, f"m={small}->{large}: ratio {ratio:.3f}, band 0.5 ± {band:.3f}"


def test_seed_relu_kernel_converges_like_inverse_sqrt_width():
    """NMM21 eq. (4): (Π 2/n_l) K̄ → K⁽ᴸ⁾ at rate m^(-1/2) (docs/statements.md#C3: ≈ 3.6/√m for L=4, N=16, d=20)."""
    errors = ladder(lambda m: Architecture(20, (m, m, m)), sphere(16, 20, 5), seeds=(96, 48, 16))
    assert_halves_per_fourfold_width(errors)


def test_standard_parameterisation_converges_to_standard_ntk():
    """Standard parameterisation with bias (JGH18): K̄ → Θ⁽ᴸ⁾ of ``ntkverify.analytic.standard_ntk`` at the same
    rate; this ties the module's σ_w/√n and σ_b conventions to the analytic recursion."""
    assert get_activation("erf").closed_form
    errors = ladder(
        lambda m: Architecture(20, (m, m), "erf", sigma_w=1.5, sigma_b=0.5, parameterization="ntk"),
        sphere(16, 20, 6),
        seeds=(64, 32, 12),
    )
    assert_halves_per_fourfold_width(errors)


def test_chunks_hold_at_most_two_blocks_of_features(monkeypatch):
    """With ``chunk=c`` the layer-wise path propagates blocks of ≤ c rows, one block per row of block pairs plus
    one per off-diagonal pair (recomputation, module docstring), and gives the one-block kernel."""
    arch = Architecture(3, (8, 8), "relu")
    model = arch.build(gen(0))
    X = torch.randn(10, 3, dtype=torch.float64, generator=gen(1))
    whole = empirical_ntk(model, X)
    sizes = []
    propagate = model.propagate

    def recording(rows):
        sizes.append(len(rows))
        return propagate(rows)

    monkeypatch.setattr(model, "propagate", recording)
    blocked = empirical_ntk(model, X, chunk=4)
    assert sizes == [4, 4, 2, 4, 2, 2]  # blocks (0,0) (0,1) (0,2) | (1,1) (1,2) | (2,2)
    assert max_diff(blocked, whole) <= 2 * agreement_tolerance(arch, ("layerwise",), (whole,))


@pytest.mark.gpu
@pytest.mark.parametrize("method", METHODS)
def test_cuda_matches_cpu(method):
    """The same network (same seed) on CUDA and on the CPU gives the same K̄ within the summed entry budgets."""
    arch = Architecture(5, (32, 16), "relu")
    X = torch.randn(7, 5, dtype=torch.float64, generator=gen(3))
    cpu = empirical_ntk(arch.build(gen(4), device="cpu"), X, method=method)
    cuda = empirical_ntk(arch.build(gen(4), device="cuda"), X.cuda(), method=method).cpu()
    tol = agreement_tolerance(arch, [method, method], [cpu, cuda])
    assert float((cuda - cpu).abs().max()) <= tol
