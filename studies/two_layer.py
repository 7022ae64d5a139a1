"""Du et al.'s two-layer ReLU network, trained in its first layer by full-batch gradient descent: the model that
``gd-dynamics`` and ``generalization`` share.

f(W, x) = (1/√m) Σ_r a_r σ(w_rᵀx), σ = ReLU, a_r = ±1 fixed, w_r ~ N(0, κ²I), trained in W on ½‖y − u‖²
with u_i = f(W, x_i) (Du, Zhai, Póczos & Singh, ICLR 2019 §3; Arora, Du, Hu, Li & Wang, ICML 2019 §3, where the
initial scale κ is small). Its Gram matrix at infinite width is ``ntkverify.analytic.h_infinity``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class TwoLayer:
    """The weights W (d × m, trained) and the readout signs a (m, fixed)."""

    W: torch.Tensor
    a: torch.Tensor

    @classmethod
    def draw(cls, d: int, m: int, g: torch.Generator, scale: float = 1.0) -> TwoLayer:
        """W ~ N(0, scale²), then a uniform on {±1}^m, both from ``g`` (in that order)."""
        W = torch.randn(d, m, generator=g, dtype=torch.float64) * scale
        a = torch.randint(0, 2, (m,), generator=g).to(torch.float64) * 2 - 1
        return cls(W, a)

    def to(self, device) -> TwoLayer:
        return TwoLayer(self.W.to(device), self.a.to(device))

    @property
    def width(self) -> int:
        return self.W.shape[1]

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        return torch.relu(X @ self.W) @ self.a / math.sqrt(self.width)

    def step(self, X: torch.Tensor, y: torch.Tensor, eta: float) -> torch.Tensor:
        """One gradient-descent step on ½‖y − u‖²; returns the residual y − u before the step."""
        pre = X @ self.W
        r = y - torch.relu(pre) @ self.a / math.sqrt(self.width)
        # −∂(½‖y − u‖²)/∂w_r = (1/√m) a_r Σ_i r_i 1{w_rᵀx_i > 0} x_i  (σ'(0) = 0)
        self.W += eta / math.sqrt(self.width) * (X.T @ (r[:, None] * (pre > 0))) * self.a
        return r
