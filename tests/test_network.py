"""The torch module built from an Architecture (docs/model.md#seed-normalisation; NMM21 eq. (1); JGH18 standard
parameterisation)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import jvp, vmap

from ntkverify.activations import get_activation
from ntkverify.architecture import Architecture
from ntkverify.device import default_device
from ntkverify.network import MLP
from ntkverify.tolerances import tau_id


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def data(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, dtype=torch.float64, generator=gen(seed)).to(default_device())


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.norm(a.detach() - b) / torch.linalg.norm(b))


def test_build_is_seeded_float64_on_policy_device_and_ignores_global_rng():
    arch = Architecture(3, (5, 4), "relu")
    torch.manual_seed(0)
    a = arch.build(gen(7))
    torch.manual_seed(1)
    b = arch.build(gen(7))
    c = arch.build(gen(8))
    assert a.architecture is arch
    assert [tuple(W.shape) for W in a.weights] == [(3, 5), (5, 4), (4, 1)]
    assert a.biases is None
    for W, V, U in zip(a.weights, b.weights, c.weights):
        assert W.dtype == torch.float64 and W.device == default_device()
        assert torch.equal(W, V) and not torch.equal(W, U)


def test_weights_are_drawn_before_biases():
    plain = Architecture(3, (5,), "relu", sigma_w=1.5, parameterization="ntk")
    biased = Architecture(3, (5,), "relu", sigma_w=1.5, sigma_b=0.3, parameterization="ntk")
    a, b = plain.build(gen(3)), biased.build(gen(3))
    assert all(torch.equal(W, V) for W, V in zip(a.weights, b.weights))
    assert [tuple(v.shape) for v in b.biases] == [(5,), (1,)]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "erf"])
def test_forward_matches_definition(activation):
    """Seed: f_l = φ(W_lᵀ f_{l−1}), f_L = W_Lᵀ f_{L−1}; standard: h = σ_w/√n Wᵀh + σ_b b (module docstring)."""
    X = data(6, 3, 0)
    phi = get_activation(activation).fn
    if get_activation(activation).homogeneous:  # the seed parameterisation takes homogeneous activations only
        seed = Architecture(3, (4, 5), activation).build(gen(1))
        W1, W2, W3 = (W.detach() for W in seed.weights)
        expected = phi(phi(X @ W1) @ W2) @ W3
        out = seed(X)
        assert out.shape == (6,)
        assert rel_err(out, expected[:, 0]) <= tau_id(3, 3, (4, 5))
    else:
        with pytest.raises(ValueError, match="positively homogeneous"):
            Architecture(3, (4, 5), activation)
    std = Architecture(3, (4, 5), activation, sigma_w=1.7, sigma_b=0.4, parameterization="ntk").build(gen(1))
    (W1, W2, W3), (b1, b2, b3) = [W.detach() for W in std.weights], [b.detach() for b in std.biases]
    h = phi(1.7 / math.sqrt(3) * X @ W1 + 0.4 * b1)
    h = phi(1.7 / 2 * h @ W2 + 0.4 * b2)
    expected = 1.7 / math.sqrt(5) * h @ W3 + 0.4 * b3
    assert rel_err(std(X), expected[:, 0]) <= tau_id(3, 3, (4, 5))


def test_input_dimension_and_constructor_checks():
    arch = Architecture(3, (4,))
    model = arch.build(gen(0))
    with pytest.raises(ValueError, match=r"X must have shape \(N, d=3\), got \(5, 2\)"):
        model(data(5, 2, 0))
    with pytest.raises(ValueError, match="generator must be a torch.Generator"):
        arch.build(0)
    with pytest.raises(ValueError, match=r"weights\[1\] \(W_2\) must have shape \(4, 1\)"):
        MLP(arch, [torch.zeros(3, 4), torch.zeros(4, 2)])
    with pytest.raises(ValueError, match="weights must hold 2 matrices"):
        MLP(arch, [torch.zeros(3, 4)])
    with pytest.raises(ValueError, match="biases must be given exactly when"):
        MLP(arch, [torch.zeros(3, 4), torch.zeros(4, 1)], [torch.zeros(4), torch.zeros(1)])
    for widths in [(0,), (4, -2)]:
        with pytest.raises(ValueError, match=r"widths\[\d\] must be >= 1"):
            Architecture(3, widths)


def test_propagate_signals_match_autograd_and_euler_identity():
    """B_1 W_1ᵀ = ∇_x f_L (chain rule, docs/model.md#layer-decomposition) and, for the bias-free ReLU net, g_l(x)ᵀ
    b_l(x) = f_L(x) for
    every l (Euler's identity for the positively homogeneous map g_l ↦ f_L, docs/statements.md#B6)."""
    arch = Architecture(4, (7, 6, 5), "relu")
    model = arch.build(gen(2))
    X = data(8, 4, 3).requires_grad_(True)
    out = model(X)
    (grad,) = torch.autograd.grad(out.sum(), X)
    s = model.propagate(X.detach())
    tol = tau_id(arch.depth, 4, arch.widths)
    assert rel_err(s.B[0] @ model.weights[0].detach().T, grad) <= tol
    assert torch.equal(s.B[-1], torch.ones(8, 1, dtype=torch.float64, device=X.device))
    for G, B in zip(s.G, s.B):
        assert rel_err((G * B).sum(dim=1), out.detach()) <= tol
    assert torch.equal(s.G[-1][:, 0], out.detach())


def test_autograd_uses_registered_derivative_at_zero():
    """φ'(0) = 0 for leaky ReLU in reverse mode, forward mode and under vmap (torch.where would give 0.1)."""
    arch = Architecture(1, (1,), "leaky_relu")
    model = MLP(arch, [torch.ones(1, 1, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64)])
    x = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(model(x).sum(), x)
    assert g.item() == 0.0
    assert jvp(model, (x.detach(),), (torch.ones_like(x),))[1].item() == 0.0
    xs = torch.tensor([[-1.0], [0.0], [2.0]], dtype=torch.float64)
    tangents = vmap(lambda x: jvp(model, (x[None],), (torch.ones_like(x[None]),))[1][0])(xs)
    assert tangents.tolist() == [0.1, 0.0, 1.0]
