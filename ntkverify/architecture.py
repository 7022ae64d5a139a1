"""One description of a finite network, from which the module, the analytic and the empirical kernels are built.

An :class:`Architecture` is a value (frozen, hashable): input dimension d, hidden widths n_1..n_{L−1},
activation, and the parameterisation:

* ``"seed"`` — NMM21 eq. (1)–(4): bias-free, every weight N(0,1) (readout included), f_l = σ(W_lᵀ f_{l−1});
  the empirical NTK K̄ is compared with the limiting K⁽ᴸ⁾ after multiplying by Π_{l<L} c_σ/n_l (c_σ = 2 for ReLU).
  Only positively homogeneous activations (ReLU, leaky ReLU): for them the N(0,1) network and the normalised
  network with √(c_σ/n_l) after each hidden layer have proportional NTKs; for erf or tanh they do not.
* ``"ntk"`` — the standard NTK parameterisation (JGH18; neural-tangents ``Dense(parameterization='ntk')``):
  h_l = σ_w/√n_{l−1} · W_l h_{l−1} + σ_b b_l with W, b ~ N(0,1), the same σ_w, σ_b in every layer, readout
  included; the empirical NTK converges to :func:`ntkverify.analytic.standard_ntk` without rescaling.

L = ``depth`` = number of weight matrices = ``len(widths) + 1`` in both parameterisations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ntkverify import analytic
from ntkverify.activations import Activation, get_activation
from ntkverify.network import MLP
from ntkverify.validation import check_int, check_nonneg, check_widths

PARAMETERIZATIONS = ("seed", "ntk")


@dataclass(frozen=True)
class Architecture:
    """A fully connected network: ``d`` inputs, hidden ``widths``, a scalar output
    (docs/model.md#seed-normalisation)."""

    d: int
    widths: tuple[int, ...]
    activation: str = "relu"
    sigma_w: float = 1.0
    sigma_b: float | None = None
    parameterization: str = "seed"

    def __post_init__(self):
        object.__setattr__(self, "d", check_int(self.d, "d", 1))
        object.__setattr__(self, "widths", check_widths(self.widths))
        get_activation(self.activation)
        object.__setattr__(self, "sigma_w", check_nonneg(self.sigma_w, "sigma_w"))
        if self.sigma_b is not None:
            object.__setattr__(self, "sigma_b", check_nonneg(self.sigma_b, "sigma_b"))
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"parameterization must be one of {PARAMETERIZATIONS}, got {self.parameterization!r}")
        if self.parameterization == "seed" and not get_activation(self.activation).homogeneous:
            raise ValueError(
                f"the seed parameterisation (N(0,1) weights, normalisation Π c_σ/n_l) needs a positively homogeneous "
                f"activation, got {self.activation!r}; use parameterization='ntk'"
            )
        if self.parameterization == "seed" and (self.sigma_w != 1.0 or self.sigma_b is not None):
            raise ValueError(
                "the seed parameterisation has N(0,1) weights and no bias: sigma_w must be 1 and sigma_b None, "
                f"got sigma_w={self.sigma_w}, sigma_b={self.sigma_b}"
            )

    @property
    def depth(self) -> int:
        """L, the number of weight matrices."""
        return len(self.widths) + 1

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """(n_0 = d, n_1, …, n_{L−1}, n_L = 1)."""
        return (self.d, *self.widths, 1)

    @property
    def act(self) -> Activation:
        return get_activation(self.activation)

    @property
    def has_bias(self) -> bool:
        return self.sigma_b is not None

    def normalisation(self) -> float:
        """The factor that makes the empirical NTK comparable with the analytic one: Π_{l<L} c_σ/n_l for
        the seed parameterisation (NMM21 eq. (4)), 1 for the standard parameterisation."""
        if self.parameterization == "ntk":
            return 1.0
        return math.prod(self.act.c_sigma / n for n in self.widths)

    def _check_input(self, X) -> None:
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2 and shape[1] != self.d:
            raise ValueError(f"X has {shape[1]} features but the architecture expects d={self.d}")

    def _analytic(self, X, seed_fn, standard_fn, **kw):
        """Call the seed-normalised or the standard-parameterisation kernel function with this network's numbers."""
        self._check_input(X)
        if self.parameterization == "seed":
            return seed_fn(X, self.depth, activation=self.activation, **kw)
        return standard_fn(
            X, self.depth, sigma_w=self.sigma_w, sigma_b=self.sigma_b or 0.0, activation=self.activation, **kw
        )

    def analytic_layers(self, X, **kw) -> analytic.LayerKernels:
        """Every layer of the limiting kernels of this architecture (seed or standard normalisation)."""
        return self._analytic(X, analytic.limiting_layers, analytic.standard_layers, **kw)

    def analytic_ntk(self, X, **kw) -> torch.Tensor:
        """The infinite-width NTK this architecture's normalised empirical NTK converges to."""
        return self._analytic(X, analytic.limiting_ntk, analytic.standard_ntk, **kw)

    def analytic_nngp(self, X, **kw) -> torch.Tensor:
        """The infinite-width covariance of the output (NNGP) of this architecture."""
        return self._analytic(X, analytic.limiting_nngp, analytic.standard_nngp, **kw)

    def build(self, generator: torch.Generator, device=None) -> MLP:
        """The torch module of this architecture, every parameter N(0, 1) from ``generator`` (float64, on
        ``device`` or the policy device); see :meth:`ntkverify.network.MLP.initialise`."""
        return MLP.initialise(self, generator, device)

    def __str__(self) -> str:
        extra = "" if self.parameterization == "seed" else f", σw={self.sigma_w:g}, σb={self.sigma_b or 0:g}"
        return f"{self.activation} MLP d={self.d} widths={list(self.widths)} ({self.parameterization}{extra})"
