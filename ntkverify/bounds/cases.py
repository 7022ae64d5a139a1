"""Cases a bound is evaluated on: data (and depth) for the limiting kernels, data and weights for the
empirical kernel. A case computes each kernel once (cached), knows its entry-error budgets
(:mod:`ntkverify.tolerances`) and its natural scale (the largest diagonal entry of its kernel), declares which
:class:`~ntkverify.bounds.core.Target` s it provides, and says whether its data have a required shape."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import torch

from ntkverify import analytic, tolerances
from ntkverify.bounds.core import Data, Target
from ntkverify.validation import as_data, check_int, check_nonneg


def _probability(delta) -> float:
    delta = float(delta)
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    return delta


def correlations(X: torch.Tensor) -> torch.Tensor:
    """``P = [<x_i, x_j>/(||x_i|| ||x_j||)]`` with zero rows giving zero rows and columns, unit diagonal
    where ``x_i ≠ 0``."""
    norms = torch.linalg.vector_norm(X, dim=1)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    U = X / safe[:, None]
    P = (U @ U.T).clamp(-1, 1)
    P.fill_diagonal_(0)
    return P + torch.diag((norms > 0).to(X.dtype))


class Case:
    """Data ``X`` (N×d), depth ``L`` and, for PROB bounds, a failure probability ``delta``.

    ``kernel`` (optional) is a kernel under test that claims to be the engine's matrix of ``kernel_target``
    (``Target.LIMITING_NTK`` for ``K^{(L)}``, ``Target.H_INFINITY`` for ``H∞``, ``Target.ANY_MATRIX`` for a
    kernel with no reference), with entry errors up to ``kernel_error``: the bounds of that target (and the
    any-matrix bounds) then observe it in place of the engine's matrix, while their other side is computed from
    the data and the engine's layers. Such a case does not provide the layers: the kernel under test is one
    matrix, not its recursion.
    """

    def __init__(
        self,
        X,
        depth: int = 2,
        *,
        delta: float = 0.01,
        device=None,
        kernel=None,
        kernel_target: Target = Target.LIMITING_NTK,
        kernel_error: float = 0.0,
    ):
        self.X = as_data(X, device=device)
        self.depth = check_int(depth, "depth", 1)
        self.delta = _probability(delta)
        self.N, self.d = self.X.shape
        self.kernel, self.kernel_target, self.kernel_error = None, None, 0.0
        if kernel is not None:
            kernel = as_data(kernel, "kernel", device=self.X.device)
            if kernel.shape != (self.N, self.N):
                raise ValueError(f"kernel must have shape {(self.N, self.N)}, got {tuple(kernel.shape)}")
            self.kernel, self.kernel_target = kernel, Target(kernel_target)
            self.kernel_error = check_nonneg(kernel_error, "kernel_error")

    @property
    def targets(self) -> tuple[Target, ...]:
        if self.kernel is not None:
            return tuple(dict.fromkeys((Target.ANY_MATRIX, self.kernel_target, Target.DATA)))
        return (Target.ANY_MATRIX, Target.LIMITING_NTK, Target.LIMITING_LAYERS, Target.H_INFINITY, Target.DATA)

    def data_violation(self, data: Data) -> str | None:
        """None when the rows have the shape ``data`` needs, else why not."""
        if data is Data.NONZERO_ROWS and self.has_zero_row():
            return self.zero_row_reason()
        if data.radius_sq is not None and not self.unit_norm(data.radius_sq(self.d)):
            return f"needs {data.value}" + (" (row norms differ)" if data.random else "")
        if data is Data.DEGENERATE:
            from ntkverify.bounds.limiting import degeneracy

            if degeneracy(self) is None:
                return "no degeneracy (i)-(iv) of docs/statements.md#A9 applies"
        return None

    def __repr__(self) -> str:
        return f"Case(X=Tensor[size={tuple(self.X.shape)}, dtype={self.X.dtype}], depth={self.depth})"

    @cached_property
    def sq_norms(self) -> torch.Tensor:
        return (self.X * self.X).sum(dim=1)

    @property
    def max_sq_norm(self) -> float:
        return float(self.sq_norms.max())

    @property
    def min_sq_norm(self) -> float:
        return float(self.sq_norms.min())

    @property
    def scale(self) -> float:
        """Natural size of the case: ``max_i K^{(L)}_ii = L max_i ||x_i||^2`` (at least the smallest normal)."""
        return max(self.depth * self.max_sq_norm, torch.finfo(self.X.dtype).tiny)

    @cached_property
    def layers(self) -> analytic.LayerKernels:
        return analytic.limiting_layers(self.X, self.depth, device=self.X.device)

    @property
    def K(self) -> torch.Tensor:
        """The kernel under test if one was given, else ``K^{(L)}``."""
        return self.layers.K if self.kernel is None else self.kernel

    def matrix_error(self) -> float:
        """Entry budget of :attr:`K`: the kernel under test's, or the engine's stable-path budget."""
        return self.entry_error() if self.kernel is None else self.kernel_error

    def ntk(self, depth: int) -> torch.Tensor:
        """``K^{(depth)}`` for ``1 ≤ depth ≤ L``, rebuilt from the cached layers (docs/kernels.md#recursion)."""
        K = self.layers.G[0]
        for layer in range(2, depth + 1):
            K = K * self.layers.Gdot[layer - 1] + self.layers.G[layer - 1]
        return K

    def entry_error(self, scale: float | None = None) -> float:
        """Entry budget of the limiting kernels of this case (stable ReLU path), for entries of size ``scale``
        (default ``max ||x_i||^2``; pass 1 for ``Ġ`` and correlations)."""
        scale = self.max_sq_norm if scale is None else scale
        return tolerances.limiting_entry_error(self.d, self.depth, scale, dtype=self.X.dtype)

    @cached_property
    def P(self) -> torch.Tensor:
        return correlations(self.X)

    @property
    def rho_error(self) -> float:
        """Error of a computed correlation: ``γ_d`` for the dot product of the unit rows, plus ``2γ_{d+2}``
        for normalising them (norm, square root, division), bounded by ``4 γ_{d+2}`` (Higham eq. (3.5))."""
        return 4 * tolerances.gamma(self.d + 2, self.X.dtype)

    @cached_property
    def rho_max(self) -> float:
        """``max_{i≠j} |ρ_ij|`` (0 for N = 1)."""
        return float((self.P - torch.diag(self.P.diagonal())).abs().max())

    @cached_property
    def h_infinity(self) -> torch.Tensor:
        """The kernel under test if it claims to be ``H∞``, else the engine's ``H∞``."""
        if self.kernel_target is Target.H_INFINITY:
            return self.kernel
        return analytic.h_infinity(self.X, device=self.X.device)

    def h_infinity_error(self) -> float:
        """Entry budget of :attr:`h_infinity`: ``H∞ = ½ XX^T ∘ Ġ^{(2)}`` is within the depth-2 budget (stable
        layer-1 angles), or the kernel under test's own budget."""
        if self.kernel_target is Target.H_INFINITY:
            return self.kernel_error
        return tolerances.limiting_entry_error(self.d, 2, self.max_sq_norm, dtype=self.X.dtype)

    def has_zero_row(self) -> bool:
        """Some ``||x_i||^2`` is 0 in the case's dtype: a zero row, or one whose squared norm underflows."""
        return bool((self.sq_norms == 0).any())

    def zero_row_reason(self) -> str | None:
        """Why :meth:`has_zero_row` holds, naming the first such row: it is zero, or its squared norm underflows
        (the kernels of its points are 0 in this dtype although the row is not); None when it does not."""
        rows = (self.sq_norms == 0).nonzero()
        if not len(rows):
            return None
        i = int(rows[0, 0])
        if bool((self.X[i] == 0).all()):
            return f"some x_i = 0 (row {i})"
        return f"||x_i||^2 underflows to 0 in {self.X.dtype} for row {i}, which is not zero; rescale the data"

    def unit_norm(self, radius_sq: float = 1.0) -> bool:
        """Whether every ``||x_i||^2`` equals ``radius_sq`` up to rounding (``γ_{d+2}`` relative)."""
        tol = 2 * tolerances.gamma(self.d + 2, self.X.dtype) * radius_sq
        return bool(((self.sq_norms - radius_sq).abs() <= tol).all())


def _forward(X: torch.Tensor, weights: Sequence[torch.Tensor]):
    """Features ``F_0..F_{L-1}``, backward vectors ``B_1..B_L`` and outputs of the bias-free ReLU network of
    docs/model.md#layer-decomposition (NMM21 eq. (1)): ``f_l = σ(W_l^T f_{l-1})``, ``b_L = 1``, ``b_l = Σ_l W_{l+1}
    b_{l+1}``, σ'(0) = 0."""
    F, pre = [X], [None]
    for W in weights[:-1]:
        pre.append(F[-1] @ W)
        F.append(torch.relu(pre[-1]))
    out = (F[-1] @ weights[-1]).reshape(-1)
    L = len(weights)
    B = [None] * (L + 1)
    B[L] = torch.ones(X.shape[0], 1, dtype=X.dtype, device=X.device)
    for layer in range(L - 1, 0, -1):
        B[layer] = (pre[layer] > 0).to(X.dtype) * (B[layer + 1] @ weights[layer].T)
    return F, B[1:], out


class EmpiricalCase:
    """Data ``X`` and the weights ``W_1..W_L`` (``W_l`` of shape ``n_{l-1} × n_l``, ``W_L`` of shape
    ``n_{L-1}`` or ``n_{L-1} × 1``) of a bias-free ReLU network (docs/model.md#seed-normalisation). ``kernel`` is the
    empirical NTK
    ``K̄`` from the engine under test; by default it is built from the layer decomposition
    ``K̄ = Σ_l (F_{l-1}F_{l-1}^T)∘(B_lB_l^T)``."""

    def __init__(self, X, weights: Sequence, *, kernel=None, device=None):
        self.X = as_data(X, device=device)
        if len(weights) < 1:
            raise ValueError("weights must hold at least one matrix, got 0")
        self.weights = [
            as_data(W.reshape(W.shape[0], -1), f"weights[{k}]", device=self.X.device) for k, W in enumerate(weights)
        ]
        dims = [self.X.shape[1]]
        for k, W in enumerate(self.weights):
            if W.shape[0] != dims[-1]:
                raise ValueError(f"weights[{k}] must have {dims[-1]} rows, got shape {tuple(W.shape)}")
            dims.append(W.shape[1])
        if dims[-1] != 1:
            raise ValueError(f"the last weight must have one column (scalar output), got {dims[-1]}")
        self.widths = tuple(dims[1:-1])
        self.depth = len(self.weights)
        self.N, self.d = self.X.shape
        self.F, self.B, self.outputs = _forward(self.X, self.weights)
        if kernel is None:
            kernel = sum((F @ F.T) * (B @ B.T) for F, B in zip(self.F, self.B))
        else:
            kernel = as_data(kernel, "kernel", device=self.X.device)
            if kernel.shape != (self.N, self.N):
                raise ValueError(f"kernel must have shape {(self.N, self.N)}, got {tuple(kernel.shape)}")
        self.K = kernel

    def __repr__(self) -> str:
        return f"EmpiricalCase(X=Tensor[size={tuple(self.X.shape)}], widths={self.widths})"

    targets = (Target.ANY_MATRIX, Target.EMPIRICAL_NTK, Target.FEATURES)

    def data_violation(self, data: Data) -> str | None:
        return None if data is Data.ANY else f"an empirical case does not check {data.value}"

    def matrix_error(self) -> float:
        """Entry budget of :attr:`K` (the empirical NTK)."""
        return self.entry_error()

    @property
    def scale(self) -> float:
        return max(float(self.K.diagonal().max()), torch.finfo(self.X.dtype).tiny)

    def entry_error(self, max_diag: float | None = None) -> float:
        """Entry budget of ``K̄`` (or of a Gram matrix of features with diagonal up to ``max_diag``)."""
        max_diag = self.scale if max_diag is None else max_diag
        return tolerances.empirical_entry_error(self.d, self.widths, max_diag, self.X.dtype)

    @property
    def parameter_count(self) -> int:
        return sum(W.numel() for W in self.weights)

    @property
    def parameter_sq_norm(self) -> float:
        return math.fsum(float((W * W).sum()) for W in self.weights)
