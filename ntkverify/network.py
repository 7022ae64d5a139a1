"""The finite-width network of an :class:`~ntkverify.architecture.Architecture` as a torch module.

Convention (docs/model.md#seed-normalisation, NMM21 eq. (1)): ``weights[l-1]`` is W_l ∈ R^{n_{l−1} × n_l}, applied as
W_lᵀ to a
column f_{l−1}; with the N points as *rows* (F_{l−1} ∈ R^{N × n_{l−1}}) that is the product F_{l−1} W_l, so
no transpose is ever stored. ``biases[l-1]`` is b_l ∈ R^{n_l} (only when the architecture has a bias).

Pre-activations and features, l = 1..L (s_l = 1 and no bias in the seed parameterisation;
s_l = σ_w/√n_{l−1} in the standard one, JGH18)::

    G_l = s_l F_{l−1} W_l + σ_b 1 b_lᵀ,      F_l = φ(G_l) (l < L),      output f_L = G_L ∈ R^N.

The forward pass takes X ∈ R^{N×d} and returns a vector of N scalar outputs (shape ``(N,)``, not ``(N, 1)``).

Backward signals (docs/model.md#layer-decomposition): b_l(x) = ∂f_L(x)/∂g_l(x), stacked as rows into B_l ∈ R^{N × n_l}::

    B_L = 1,      B_l = φ'(G_l) ∘ (s_{l+1} B_{l+1} W_{l+1}ᵀ)      (l < L),

with the activation's registered derivative (φ'(0) = 0 for ReLU and leaky ReLU, NMM21's convention). The
module's autograd uses the *same* derivative (:class:`_Activate`), so backprop, ``torch.func`` transforms and
the explicit recursion above cannot disagree at kinks; torch's own ``torch.where`` rule would give the
leaky-ReLU slope a at 0 instead of 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn

from ntkverify.activations import Activation
from ntkverify.device import DEFAULT_DTYPE, resolve_device

if TYPE_CHECKING:
    from ntkverify.architecture import Architecture


class _Activate(torch.autograd.Function):
    """φ applied entrywise, differentiated with the registered φ' (reverse and forward mode, vmap-able)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(t, activation: Activation):
        return activation.fn(t)

    @staticmethod
    def setup_context(ctx, inputs, output):
        t, activation = inputs
        ctx.activation = activation
        ctx.save_for_backward(t)
        ctx.save_for_forward(t)

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        return grad * ctx.activation.derivative(t), None

    @staticmethod
    def jvp(ctx, tangent, _):
        (t,) = ctx.saved_tensors
        return tangent * ctx.activation.derivative(t)


class Signals(NamedTuple):
    """Forward and backward quantities of one batch (docs/model.md#seed-normalisation), 0-based tuples:

    ``F[l]`` = F_l (l = 0..L−1, ``F[0]`` = X), ``G[l-1]`` = G_l and ``B[l-1]`` = B_l (l = 1..L).
    """

    F: tuple[torch.Tensor, ...]
    G: tuple[torch.Tensor, ...]
    B: tuple[torch.Tensor, ...]


class MLP(nn.Module):
    """A fully connected network built from an :class:`Architecture` (see the module docstring).

    Parameters: ``weights`` (an ``nn.ParameterList`` W_1..W_L, W_l of shape n_{l−1} × n_l) and, when the
    architecture has a bias, ``biases`` (b_1..b_L, b_l of shape n_l). ``scales[l-1]`` is s_l and
    ``bias_scale`` is σ_b (0 without bias). Build one with :meth:`Architecture.build`.
    """

    def __init__(self, architecture: Architecture, weights, biases=None):
        super().__init__()
        sizes = architecture.layer_sizes
        if len(weights) != architecture.depth:
            raise ValueError(f"weights must hold {architecture.depth} matrices, got {len(weights)}")
        for l, W in enumerate(weights, start=1):
            if tuple(W.shape) != (sizes[l - 1], sizes[l]):
                raise ValueError(
                    f"weights[{l - 1}] (W_{l}) must have shape {(sizes[l - 1], sizes[l])}, got {tuple(W.shape)}"
                )
        if architecture.has_bias != (biases is not None):
            raise ValueError(
                f"biases must be given exactly when the architecture has a bias "
                f"(sigma_b={architecture.sigma_b}), got {'none' if biases is None else 'some'}"
            )
        self.architecture = architecture
        self.weights = nn.ParameterList(nn.Parameter(W) for W in weights)
        if biases is not None:
            for l, b in enumerate(biases, start=1):
                if tuple(b.shape) != (sizes[l],):
                    raise ValueError(f"biases[{l - 1}] (b_{l}) must have shape {(sizes[l],)}, got {tuple(b.shape)}")
            self.biases = nn.ParameterList(nn.Parameter(b) for b in biases)
        else:
            self.biases = None
        if architecture.parameterization == "ntk":
            self.scales = tuple(architecture.sigma_w / math.sqrt(n) for n in sizes[:-1])
        else:
            self.scales = (1.0,) * architecture.depth
        self.bias_scale = architecture.sigma_b or 0.0

    @classmethod
    def initialise(cls, architecture: Architecture, generator: torch.Generator, device=None) -> MLP:
        """Draw every weight (then every bias) i.i.d. N(0, 1) from ``generator``, in float64.

        The numbers are drawn on the generator's device and then moved to ``device`` (the policy device by
        default, :func:`ntkverify.device.resolve_device`), so a CPU generator gives the same network on every
        device. Weights W_1..W_L are drawn before the biases, so adding a bias does not change the weights.
        """
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        device = resolve_device(device)
        sizes = architecture.layer_sizes

        def draw(*shape):
            t = torch.randn(*shape, generator=generator, dtype=DEFAULT_DTYPE, device=generator.device)
            return t.to(device)

        weights = [draw(sizes[l - 1], sizes[l]) for l in range(1, len(sizes))]
        biases = [draw(n) for n in sizes[1:]] if architecture.has_bias else None
        return cls(architecture, weights, biases)

    @property
    def activation(self) -> Activation:
        return self.architecture.act

    @property
    def depth(self) -> int:
        return self.architecture.depth

    def check_input(self, X: torch.Tensor) -> None:
        """``ValueError`` unless X is N × d for this network's d."""
        if X.ndim != 2 or X.shape[1] != self.architecture.d:
            raise ValueError(f"X must have shape (N, d={self.architecture.d}), got {tuple(X.shape)}")

    def _affine(self, l: int, F: torch.Tensor) -> torch.Tensor:
        """G_l = s_l F_{l−1} W_l + σ_b b_l (l is 1-based)."""
        G = F @ self.weights[l - 1]
        if self.scales[l - 1] != 1.0:
            G = self.scales[l - 1] * G
        if self.biases is not None:
            G = G + self.bias_scale * self.biases[l - 1]
        return G

    def feature_map(self, X: torch.Tensor, k: int) -> torch.Tensor:
        """f_k for every row of X (k = 0..L; f_L is returned as an N × 1 matrix), differentiable."""
        self.check_input(X)
        F = X
        for l in range(1, k + 1):
            G = self._affine(l, F)
            F = _Activate.apply(G, self.activation) if l < self.depth else G
        return F

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """f_L(x_i) for every row x_i of X (shape ``(N,)``)."""
        return self.feature_map(X, self.depth)[:, 0]

    @torch.no_grad()
    def propagate(self, X: torch.Tensor) -> Signals:
        """F_0..F_{L−1}, G_1..G_L and B_1..B_L of a batch by one explicit forward and backward pass
        (docs/model.md#seed-normalisation).

        No autograd graph is built; the backward pass needs no weight gradients, only the matrix products
        B_{l+1} W_{l+1}ᵀ.
        """
        self.check_input(X)
        act = self.activation
        Fs, Gs = [X], []
        for l in range(1, self.depth + 1):
            Gs.append(self._affine(l, Fs[-1]))
            if l < self.depth:
                Fs.append(act.fn(Gs[-1]))
        Bs = [torch.ones_like(Gs[-1])]
        for l in range(self.depth - 1, 0, -1):
            back = Bs[-1] @ self.weights[l].T
            if self.scales[l] != 1.0:
                back = self.scales[l] * back
            Bs.append(act.derivative(Gs[l - 1]) * back)
        return Signals(tuple(Fs), tuple(Gs), tuple(reversed(Bs)))

    def extra_repr(self) -> str:
        return str(self.architecture)
