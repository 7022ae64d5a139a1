"""Activations and their *dual* kernels (docs/kernels.md#relu-closed-forms, #normalisations).

For an activation φ and a centred Gaussian pair (u, v) with Var u = q1, Var v = q2, Cov(u, v) = c, the
dual of φ is the pair of expectations

    T(q1, q2, c) = E[φ(u) φ(v)],        Ṫ(q1, q2, c) = E[φ'(u) φ'(v)],

which drive every layer of the limiting NNGP/NTK recursion. Closed forms:

* ReLU σ(t) = max(0, t), σ'(t) = 1{t > 0} (σ'(0) = 0, the NMM21 convention): the arc-cosine kernels of
  Cho & Saul (2009), T = √(q1 q2)(sin θ + (π − θ) cos θ)/(2π), Ṫ = (π − θ)/(2π), θ = arccos(c/√(q1 q2)).
* leaky ReLU φ(t) = max(t, a·t): writing φ(t) = σ(t) − a σ(−t) and using the ReLU forms at ±ρ,
  T = (1 + a²) T_σ(θ) − 2a T_σ(π − θ), Ṫ = ((1 + a²)(π − θ) + 2aθ)/(2π).
* erf: T = (2/π) arcsin(2c / √((1 + 2q1)(1 + 2q2))) and Ṫ = (4/π) / √((1 + 2q1)(1 + 2q2) − 4c²)
  (Williams 1997; E[e^{−u²−v²}] = det(I + 2Σ)^{−1/2}).

Any other activation uses a polar product quadrature rule (:func:`quadrature_dual`), validated in the
tests against the closed forms. A zero variance (a zero input row) gives T = Ṫ = 0 for ReLU-like
activations, following σ'(0) = 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

Dual = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _correlation_angle(q1, q2, c):
    """θ = arccos(c/√(q1 q2)) clamped to [0, π], and the product √(q1 q2); zero variances give θ = π/2.

    Near |ρ| = 1 this angle is only √u-accurate (docs/kernels.md#stable-evaluation); the ReLU path of
    ``ntkverify.analytic`` avoids it.
    """
    product = q1 * q2  # √(q1 q2) is exact for q1 = q2 (ρ_ii = 1 exactly); √q1·√q2 where the product leaves
    normal = torch.isfinite(product) & (product >= torch.finfo(product.dtype).tiny)  # the normal range
    scale = torch.where(normal, torch.sqrt(product), torch.sqrt(q1) * torch.sqrt(q2))
    rho = torch.where(scale > 0, c / torch.where(scale > 0, scale, 1.0), 0.0).clamp(-1.0, 1.0)
    return torch.arccos(rho), scale


def _relu_first_moment(theta, scale):
    """E[σ(u)σ(v)] = √(q1 q2) (sin θ + (π − θ) cos θ) / (2π)."""
    return scale * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)


def relu_dual(q1, q2, c):
    theta, scale = _correlation_angle(q1, q2, c)
    live = (scale > 0).to(c.dtype)
    return _relu_first_moment(theta, scale), live * (math.pi - theta) / (2 * math.pi)


def leaky_relu_dual(slope: float) -> Dual:
    def dual(q1, q2, c):
        theta, scale = _correlation_angle(q1, q2, c)
        live = (scale > 0).to(c.dtype)
        t = (1 + slope**2) * _relu_first_moment(theta, scale) - 2 * slope * _relu_first_moment(math.pi - theta, scale)
        tdot = live * ((1 + slope**2) * (math.pi - theta) + 2 * slope * theta) / (2 * math.pi)
        return t, tdot

    return dual


def erf_dual(q1, q2, c):
    a, b = 1 + 2 * q1, 1 + 2 * q2
    t = (2 / math.pi) * torch.arcsin((2 * c / torch.sqrt(a * b)).clamp(-1.0, 1.0))
    tdot = (4 / math.pi) / torch.sqrt(a * b - 4 * c * c)
    return t, tdot


QUADRATURE_ACCURACY = 1e-8


def quadrature_dual(
    fn: Callable[[torch.Tensor], torch.Tensor],
    derivative: Callable[[torch.Tensor], torch.Tensor],
    angular_nodes: int = 24,
    radial_nodes: int = 64,
    chunk: int = 2048,
) -> Dual:
    """Dual of any activation by a polar product rule that respects kinks at 0.

    With (z_a, z_b) standard normal in polar form r(cos φ, sin φ) and ρ = cos α,
    u = √q1 · r cos φ and v = √q2 · r cos(φ − α), so

        E[f(u) g(v)] = (1/2π) ∫_0^{2π} dφ ∫_0^∞ e^{−t} f(√q1 r cos φ) g(√q2 r cos(φ − α)) dt,  r = √(2t).

    The signs of u and v change only at φ ∈ {±π/2, α ± π/2}; Gauss–Legendre on each of the four arcs between
    these break points and Gauss–Laguerre in t make the rule converge exponentially for activations that are
    smooth away from 0 (ReLU, leaky ReLU, GELU, …), where a plain Gauss–Hermite rule converges only
    algebraically. Activations with kinks elsewhere are integrated correctly but more slowly.

    Accuracy contract (tested against the closed forms of ReLU, leaky ReLU and erf): absolute error at most
    ``QUADRATURE_ACCURACY`` for variances of order 1 and |ρ| ≤ 0.9997.
    """
    x_leg, w_leg = np.polynomial.legendre.leggauss(angular_nodes)
    t_lag, w_lag = np.polynomial.laguerre.laggauss(radial_nodes)

    def dual(q1, q2, c):
        q1, q2, c = torch.broadcast_tensors(q1, q2, c)
        like = dict(dtype=c.dtype, device=c.device)
        xl, wl = torch.as_tensor(x_leg, **like), torch.as_tensor(w_leg, **like)
        radius, wr = torch.sqrt(2 * torch.as_tensor(t_lag, **like)), torch.as_tensor(w_lag, **like)
        flat = [t.reshape(-1) for t in (q1, q2, c)]
        out_t, out_d = torch.empty_like(flat[2]), torch.empty_like(flat[2])
        for start in range(0, flat[2].numel(), chunk):
            s1, s2, cc = (t[start : start + chunk] for t in flat)
            alpha, _ = _correlation_angle(s1, s2, cc)
            half = torch.full_like(alpha, math.pi / 2)
            cuts = torch.stack([half, 3 * half, alpha + half, alpha + 3 * half], dim=1) % (2 * math.pi)
            cuts = torch.sort(cuts, dim=1).values
            ends = torch.cat([cuts[:, 1:], cuts[:, :1] + 2 * math.pi], dim=1)
            mid, rad = (cuts + ends) / 2, (ends - cuts) / 2  # [E, 4]
            phi = (mid[..., None] + rad[..., None] * xl).reshape(len(alpha), -1)  # [E, 4·nφ]
            w_phi = (rad[..., None] * wl).reshape(len(alpha), -1) / (2 * math.pi)
            r = radius[None, None, :]
            u = torch.sqrt(s1)[:, None, None] * r * torch.cos(phi)[..., None]
            v = torch.sqrt(s2)[:, None, None] * r * torch.cos(phi - alpha[:, None])[..., None]
            weights = w_phi[..., None] * wr
            out_t[start : start + chunk] = (fn(u) * fn(v) * weights).sum(dim=(1, 2))
            out_d[start : start + chunk] = (derivative(u) * derivative(v) * weights).sum(dim=(1, 2))
        return out_t.reshape(c.shape), out_d.reshape(c.shape)

    return dual


@dataclass(frozen=True)
class Activation:
    """An activation φ with its derivative (the convention at kinks is part of the definition) and dual.

    ``c_sigma`` is 1/E[φ(g)²] for g ~ N(0,1): the factor that keeps the layer variance constant (2 for ReLU),
    used by the seed-paper normalisation Π_l c_σ/n_l (docs/model.md#seed-normalisation; ADHLSW19b's c_σ).
    ``homogeneous`` marks positively 1-homogeneous activations (φ(ct) = cφ(t) for c > 0).
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    derivative: Callable[[torch.Tensor], torch.Tensor]
    dual: Dual
    homogeneous: bool
    closed_form: bool
    citation: str
    c_sigma: float = field(default=0.0)

    def __post_init__(self):
        if self.c_sigma == 0.0:
            one = torch.ones((), dtype=torch.float64)
            second_moment = float(self.dual(one, one, one)[0])
            object.__setattr__(self, "c_sigma", 1.0 / second_moment)


def _step(t):
    return (t > 0).to(t.dtype)


LEAKY_SLOPE = 0.1


def _make_registry() -> dict[str, Activation]:
    relu = Activation("relu", torch.relu, _step, relu_dual, True, True, "Cho & Saul 2009, arc-cosine kernels")
    leaky = Activation(
        "leaky_relu",
        lambda t: torch.where(t > 0, t, LEAKY_SLOPE * t),
        lambda t: (t > 0).to(t.dtype) + LEAKY_SLOPE * (t < 0).to(t.dtype),
        leaky_relu_dual(LEAKY_SLOPE),
        True,
        True,
        f"slope a = {LEAKY_SLOPE}, φ'(0) = 0; ReLU decomposition σ(t) − aσ(−t) with Cho & Saul 2009",
    )
    erf = Activation(
        "erf",
        torch.erf,
        lambda t: (2 / math.sqrt(math.pi)) * torch.exp(-t * t),
        erf_dual,
        False,
        True,
        "Williams 1997, 'Computing with infinite networks'",
    )

    def quad(name, fn, derivative):
        return Activation(
            name,
            fn,
            derivative,
            quadrature_dual(fn, derivative),
            False,
            False,
            "polar Gauss–Legendre × Gauss–Laguerre quadrature",
        )

    return {
        a.name: a
        for a in (
            relu,
            leaky,
            erf,
            quad("tanh", torch.tanh, lambda t: 1 - torch.tanh(t) ** 2),
            quad("gelu", torch.nn.functional.gelu, _gelu_derivative),
            quad("softplus", torch.nn.functional.softplus, torch.sigmoid),
        )
    }


def _gelu_derivative(t):
    return 0.5 * (1 + torch.erf(t / math.sqrt(2))) + t * torch.exp(-t * t / 2) / math.sqrt(2 * math.pi)


ACTIVATIONS: dict[str, Activation] = _make_registry()


def get_activation(activation: str | Activation) -> Activation:
    """Look an activation up by name (``ValueError`` listing the known names otherwise)."""
    if isinstance(activation, Activation):
        return activation
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}") from None
