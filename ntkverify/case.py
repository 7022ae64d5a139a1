"""Cases: the points a check runs on, and what the check needs besides them (docs/cases.md).

One vocabulary from the strategies to the reports. Like PyTorch OpInfo's ``SampleInput``, a case carries its own
transforms, so no layer needs an adapter for it:

* :class:`Case` — points ``X`` (n × d, one point per row) and, when a data law drew them, the law and its seed
  (``X == law.sample(n, d, numpy.random.default_rng(seed))``; ``None`` for explicit points);
* :class:`KernelCase` — points and the depth L of the limiting kernel, whose layers it computes once; for the
  bounds, optionally a failure probability δ and a kernel under test (a matrix claiming to be one of the engine's);
* :class:`NetworkCase` — points and a network description (:class:`~ntkverify.architecture.Architecture`), its
  designated wide layer and the seed of its N(0, 1) weights (``None``: no network is built);
* :class:`WeightsCase` — points and the explicit weights W_1..W_L of a bias-free ReLU network, with its features
  F_l, backward vectors B_l and empirical NTK (or a kernel under test).

Every case encodes itself to JSON-able fields and float64 arrays and back (:meth:`Case.encode`,
:meth:`Case.decode`; a law as ``family + parameters``), keeps a subset of its points (:meth:`Case.subset`),
moves to other points (:meth:`Case.with_points`), offers the minimiser its smaller structures
(:meth:`Case.smaller`) and describes itself in a few lines (:meth:`Case.describe`). A new case type subclasses
:class:`Case` with a ``type_name`` and is reportable at once.

:func:`degeneracy` is the one predicate of docs/statements.md#A9 (exact zeros of λ_min), used by the bounds,
the strategies and the catalogue.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import torch

from ntkverify import analytic, tolerances
from ntkverify.architecture import Architecture
from ntkverify.device import DEFAULT_DTYPE
from ntkverify.distributions import Distribution, law_from_record
from ntkverify.empirical import empirical_ntk
from ntkverify.validation import as_data, check_int, check_nonneg

#: Explicit points are printed in full in a repr (so a drawn case is reproduced from it: at most 12 × 12 entries)
#: up to this many entries, larger ones as their shape.
REPR_MAX_ENTRIES = 256


# ---------------------------------------------------------------------------------------------------------
# The degeneracy statement (docs/statements.md#A9)


def exact_cdist(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Pairwise distances ``||a_i − b_j||`` from the differences. ``torch.cdist`` switches to the expansion
    ``sqrt(||a||² + ||b||² − 2 a·b)`` above 25 rows, whose cancellation turns a zero distance into ~√u·||a||."""
    return torch.cdist(A, B, compute_mode="donot_use_mm_for_euclid_dist")


def zero_row(X: torch.Tensor) -> str | None:
    """Why some ``||x_i||²`` is 0 in the dtype of ``X`` (a zero row, or one whose squared norm underflows, so that
    the kernels of its point are 0 although the row is not), naming the first such row; None when none is."""
    rows = ((X * X).sum(dim=1) == 0).nonzero()
    if not len(rows):
        return None
    i = int(rows[0, 0])
    if bool((X[i] == 0).all()):
        return f"some x_i = 0 (row {i})"
    return f"||x_i||^2 underflows to 0 in {X.dtype} for row {i}, which is not zero; rescale the data"


def direction_error(X: torch.Tensor) -> float:
    """Error of a computed correlation of two rows of ``X``: ``γ_d`` for the dot product of the unit rows, plus
    ``2γ_{d+2}`` for normalising them (norm, square root, division), bounded by ``4 γ_{d+2}`` (Higham eq. (3.5))."""
    return 4 * tolerances.gamma(X.shape[1] + 2, X.dtype)


def degeneracy(X: torch.Tensor, depth: int | None = None) -> str | None:
    """Why ``λ_min = 0`` exactly on the points ``X`` (docs/statements.md#A9), or None.

    Without ``depth``: (i) two positively parallel rows (duplicates included) or (ii) a zero row, which make
    ``λ_min = 0`` for every bias-free positively homogeneous kernel. With ``depth`` L, for the limiting ReLU NTK
    ``K^{(L)}`` also (iii) L = 1 and rank X < n (``K^{(1)} = XXᵀ``; in particular n > d), and (iv) L = 2 with more
    antipodal pairs than the rank of their span. Ranks are numerical (``torch.linalg.matrix_rank``'s default
    threshold σ_max·max(n, d)·eps), so a rank deficiency claims only ``λ_min(XXᵀ) = σ_min² ≤ ‖XXᵀ‖·(max(n, d)·eps)²``,
    far inside the certified error of λ_min.
    Parallel and antipodal pairs are recognised when their unit directions agree to within :func:`direction_error`
    (rounding), from the differences themselves (:func:`exact_cdist`), not from ``1 − ρ``, which resolves angles
    only down to √u (docs/kernels.md#stable-evaluation); the claimed zero is exact up to ``O(u²)·scale``.
    """
    reason = zero_row(X)
    if reason is not None:
        return f"(ii) {reason}"
    n, d = X.shape
    U = X / torch.linalg.vector_norm(X, dim=1, keepdim=True)
    tol, off = direction_error(X), ~torch.eye(n, dtype=torch.bool, device=X.device)
    if bool(((exact_cdist(U, U) <= tol) & off).any()):
        return "(i) two inputs are positively parallel"
    if depth == 1 and (n > d or int(torch.linalg.matrix_rank(X)) < n):
        return "(iii) L = 1 and rank X < N"
    if depth == 2:
        used, reps = set(), []
        for i, j in ((exact_cdist(U, -U) <= tol) & off).nonzero().tolist():
            if i < j and i not in used and j not in used:
                used.update((i, j))
                reps.append(X[i])
        if reps and len(reps) > int(torch.linalg.matrix_rank(torch.stack(reps))):
            return f"(iv) L = 2 and {len(reps)} antipodal pairs exceed the rank of their span"
    return None


# ---------------------------------------------------------------------------------------------------------
# Cases


def _array(X: torch.Tensor) -> np.ndarray:
    return X.detach().to(device="cpu", dtype=DEFAULT_DTYPE).numpy().copy()


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def _format_array(X: torch.Tensor) -> str:
    if X.numel() > REPR_MAX_ENTRIES:
        return f"Tensor[size={tuple(X.shape)}, dtype={str(X.dtype).replace('torch.', '')}]"
    return "[" + ", ".join("[" + ", ".join(f"{v:g}" for v in row) + "]" for row in X.tolist()) + "]"


class Case:
    """Points ``X`` and their provenance: the data law and the seed that drew them (both ``None`` for explicit
    points). ``X`` stays on its device (a numpy array goes to the policy device, ``device`` overrides)."""

    #: The stable name of the case type in report files (``Case.decode`` reads it back).
    type_name: ClassVar[str] = "points"
    #: A matrix from the engine under test that the case carries (kernel and weights cases), or None.
    kernel_under_test: torch.Tensor | None = None

    def __init__(self, X, *, law: Distribution | None = None, seed: int | None = None, device=None):
        if device is None and isinstance(X, torch.Tensor):
            device = X.device
        self.X = as_data(X, device=device)
        self.law, self.seed = law, seed

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _TYPES[cls.type_name] = cls

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def family(self) -> str:
        return "explicit" if self.law is None else self.law.family

    @property
    def satisfies_assumptions(self) -> bool:
        """Drawn i.i.d. from a law that satisfies NMM21's assumptions (docs/data.md#lipschitz-concentration)."""
        return self.law is not None and self.law.satisfies_assumptions

    def degeneracy(self) -> str | None:
        """:func:`degeneracy` of the points (the clauses this case can state)."""
        return degeneracy(self.X)

    # -- transforms ------------------------------------------------------------------------------------

    def _parts(self) -> dict[str, Any]:
        """The constructor's arguments besides ``X``, ``law`` and ``seed``."""
        return {}

    def replace(self, **changes) -> Case:
        """The same case with some constructor arguments changed."""
        return type(self)(**{"X": self.X, "law": self.law, "seed": self.seed, **self._parts(), **changes})

    def with_points(self, X: torch.Tensor) -> Case:
        """The same case on other points of the same d (e.g. rounded coordinates); the law is dropped. A kernel
        under test came from the engine under test, which the case cannot call on new points."""
        if self.kernel_under_test is not None:
            raise NotImplementedError("a case with a kernel under test cannot move to other points")
        return self.replace(X=X, law=None, seed=None)

    def subset(self, rows: Sequence[int]) -> Case:
        """The same case on the points ``rows`` (in order), with the matching block of a kernel under test; the law
        is dropped (a subset is not a draw)."""
        index = torch.as_tensor(list(rows), dtype=torch.long, device=self.X.device)
        K = self.kernel_under_test
        block = {} if K is None else {"kernel": K[index][:, index]}
        return self.replace(X=self.X[index], law=None, seed=None, **block)

    def _checked_kernel(self, kernel) -> torch.Tensor | None:
        """A kernel under test as an n × n tensor beside ``X`` (``ValueError`` otherwise)."""
        if kernel is None:
            return None
        K = as_data(kernel, "kernel", device=self.X.device)
        if K.shape != (self.n, self.n):
            raise ValueError(f"kernel must have shape {(self.n, self.n)}, got {tuple(K.shape)}")
        return K

    def smaller(self, fixed_depth: bool = False) -> Iterator[tuple[str, str, Case]]:
        """Structurally smaller candidates ``(step, detail, case)`` for the minimiser, ``step`` being ``"depth"``
        or ``"widths"``; ``fixed_depth``: the kernel's claim fixes the depth."""
        return iter(())

    def kernel(self) -> torch.Tensor | None:
        """The engine's kernel matrix of the case (stored with a report and drawn), or None."""
        return None

    # -- encoding --------------------------------------------------------------------------------------

    def _fields(self) -> dict[str, Any]:
        return {}

    def _arrays(self) -> dict[str, torch.Tensor]:
        return {}

    @classmethod
    def _parts_from(cls, fields: dict[str, Any], arrays: dict[str, torch.Tensor]) -> dict[str, Any]:
        return {}

    def encode(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able fields (``type``, ``law`` as family and parameters, ``seed``, the type's own) and the float64
        arrays (``X`` and the type's own) that rebuild the case bit for bit."""
        law = None if self.law is None else self.law.record()
        fields = {"type": self.type_name, "law": law, "seed": self.seed, **self._fields()}
        return fields, {name: _array(a) for name, a in {"X": self.X, **self._arrays()}.items()}

    @staticmethod
    def decode(fields: dict[str, Any], arrays: dict[str, np.ndarray]) -> Case:
        """The case :meth:`encode` wrote (on the CPU). The law is re-attached only when re-sampling it with the
        seed reproduces the stored points exactly; otherwise they stay explicit points."""
        if fields.get("type") not in _TYPES:
            raise ValueError(f"unknown case type {fields.get('type')!r}; known: {sorted(_TYPES)}")
        cls = _TYPES[fields["type"]]
        tensors = {name: _tensor(a) for name, a in arrays.items()}
        X, law, seed = tensors["X"], None, fields.get("seed")
        if fields.get("law") is not None and seed is not None:
            law = law_from_record(fields["law"])
            if not torch.equal(law.sample(X.shape[0], X.shape[1], np.random.default_rng(seed), device="cpu"), X):
                law = None
        seed = None if law is None else seed
        return cls(X, law=law, seed=seed, device="cpu", **cls._parts_from(fields, tensors))

    # -- description -----------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """A few human lines: the law, its seed, n, d, device, dtype and the type's own fields."""
        return {
            "law": "explicit points" if self.law is None else repr(self.law),
            "seed": self.seed,
            "n": self.n,
            "d": self.d,
            "device": str(self.X.device),
            "dtype": str(self.X.dtype).replace("torch.", ""),
            **self._description(),
        }

    def _description(self) -> dict[str, Any]:
        return {}

    def _repr_extras(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        data = f"X={_format_array(self.X)}" if self.law is None else f"seed={self.seed}"
        law = "explicit" if self.law is None else repr(self.law)
        parts = [f"n={self.n}", f"d={self.d}", f"law={law}"]
        return f"{type(self).__name__}({', '.join(parts + self._repr_extras() + [data])})"

    def _repr_pretty_(self, printer, cycle) -> None:
        """Hypothesis prints failing examples with this."""
        printer.text(repr(self))


#: Every case type by its ``type_name`` (subclasses add themselves), for :meth:`Case.decode`.
_TYPES: dict[str, type[Case]] = {Case.type_name: Case}


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


class KernelCase(Case):
    """Points and the depth L (number of weight matrices) of the limiting kernel evaluated on them.

    For the bounds (:mod:`ntkverify.bounds`): ``delta`` is the failure probability of a PROB bound, and
    ``kernel`` (optional) a kernel under test claiming to be the engine's matrix ``kernel_target`` (a
    :class:`~ntkverify.bounds.Target`; ``None``: ``K^{(L)}``), with entry errors up to ``kernel_error``; the bounds
    of that target then observe it in place of the engine's matrix. A report stores the case without it (a replay
    recomputes it from the kernel). The layers ``G^{(l)}``, ``Ġ^{(l)}`` are computed once, on demand.
    """

    type_name = "kernel"

    def __init__(
        self,
        X,
        depth: int = 2,
        *,
        law: Distribution | None = None,
        seed: int | None = None,
        delta: float = 0.01,
        kernel=None,
        kernel_target=None,
        kernel_error: float = 0.0,
        device=None,
    ):
        super().__init__(X, law=law, seed=seed, device=device)
        self.depth = check_int(depth, "depth", 1)
        self.delta = _probability(delta)
        self.kernel_target, self.kernel_error = None, 0.0
        self.kernel_under_test = self._checked_kernel(kernel)
        if self.kernel_under_test is not None:
            self.kernel_target, self.kernel_error = kernel_target, check_nonneg(kernel_error, "kernel_error")

    def degeneracy(self) -> str | None:
        return degeneracy(self.X, self.depth)

    def _parts(self):
        kernel = dict(kernel=self.kernel_under_test, kernel_target=self.kernel_target, kernel_error=self.kernel_error)
        return {"depth": self.depth, "delta": self.delta, **kernel}

    def smaller(self, fixed_depth=False):
        if self.depth > 1 and not fixed_depth:
            yield "depth", f"depth {self.depth} → {self.depth - 1}", self.replace(depth=self.depth - 1)

    def kernel(self):
        return self.K

    def _fields(self):
        return {"depth": self.depth, "delta": self.delta}

    @classmethod
    def _parts_from(cls, fields, arrays):
        return {"depth": int(fields["depth"]), "delta": fields.get("delta", 0.01)}

    def _description(self):
        return {"depth": self.depth}

    def _repr_extras(self):
        return [f"depth={self.depth}"]

    # -- the limiting kernels of the case (docs/kernels.md#recursion) --------------------------------------

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
        return self.layers.K if self.kernel_under_test is None else self.kernel_under_test

    def matrix_error(self) -> float:
        """Entry budget of :attr:`K`: the kernel under test's, or the engine's stable-path budget."""
        return self.entry_error() if self.kernel_under_test is None else self.kernel_error

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
        return direction_error(self.X)

    @cached_property
    def rho_max(self) -> float:
        """``max_{i≠j} |ρ_ij|`` (0 for N = 1)."""
        return float((self.P - torch.diag(self.P.diagonal())).abs().max())

    def unit_norm(self, radius_sq: float = 1.0) -> bool:
        """Whether every ``||x_i||^2`` equals ``radius_sq`` up to rounding (``γ_{d+2}`` relative)."""
        tol = 2 * tolerances.gamma(self.d + 2, self.X.dtype) * radius_sq
        return bool(((self.sq_norms - radius_sq).abs() <= tol).all())


def _replace_widths(a: Architecture, widths) -> Architecture:
    return Architecture(a.d, tuple(widths), a.activation, a.sigma_w, a.sigma_b, a.parameterization)


def _architecture_record(a: Architecture) -> dict[str, Any]:
    return {
        "d": a.d,
        "widths": list(a.widths),
        "activation": a.activation,
        "sigma_w": a.sigma_w,
        "sigma_b": a.sigma_b,
        "parameterization": a.parameterization,
    }


class NetworkCase(Case):
    """Points and a network: its description ``architecture``, the 1-based index ``wide_layer`` of its designated
    wide hidden layer (width ≥ C·n, docs/statements.md#nmm21-finite-width; the repr marks it with ``*``:
    ``L3[48*,2]``) or ``None``, and the seed of its N(0, 1) weights (``None`` when the check builds no network).
    The network is rebuilt on demand by ``Architecture.build``, the one description of the network."""

    type_name = "network"

    def __init__(
        self,
        X,
        architecture: Architecture,
        *,
        wide_layer: int | None = None,
        weight_seed: int | None = None,
        law: Distribution | None = None,
        seed: int | None = None,
        device=None,
    ):
        super().__init__(X, law=law, seed=seed, device=device)
        self.architecture, self.wide_layer, self.weight_seed = architecture, wide_layer, weight_seed

    @property
    def depth(self) -> int:
        return self.architecture.depth

    def model(self):
        """The network with the weights of ``weight_seed`` (on the CPU)."""
        if self.weight_seed is None:
            raise ValueError("this network case has no weight seed: its network is not built")
        return self.architecture.build(torch.Generator().manual_seed(self.weight_seed), device="cpu")

    def weights(self) -> list[torch.Tensor]:
        """W_1..W_L, W_l of shape n_{l−1} × n_l (docs/model.md#seed-normalisation)."""
        return [W.detach() for W in self.model().weights]

    def _parts(self):
        return {"architecture": self.architecture, "wide_layer": self.wide_layer, "weight_seed": self.weight_seed}

    def smaller(self, fixed_depth=False):
        a, wide = self.architecture, self.wide_layer
        if a.depth > 1 and a.depth - 1 > (wide or 0):  # keep the designated wide layer
            shallower = self.replace(architecture=_replace_widths(a, a.widths[:-1]))
            yield "depth", f"depth {a.depth} → {a.depth - 1}", shallower
        for i, w in enumerate(a.widths):
            if i + 1 != wide and w > 1:  # the wide layer's width is tied to n (docs/statements.md#nmm21-finite-width)
                widths = list(a.widths)
                widths[i] = w // 2
                detail = f"width of layer {i + 1}: {w} → {w // 2}"
                yield "widths", detail, self.replace(architecture=_replace_widths(a, widths))

    def kernel(self):
        """The empirical NTK of the built network, or the analytic NTK of the description when none is built."""
        if self.weight_seed is not None:
            return empirical_ntk(self.model(), self.X.cpu())
        try:
            return self.architecture.analytic_ntk(self.X)
        except (ValueError, RuntimeError):
            return None

    def _fields(self):
        record = {"architecture": _architecture_record(self.architecture), "wide_layer": self.wide_layer}
        return {**record, "weight_seed": self.weight_seed}

    @classmethod
    def _parts_from(cls, fields, arrays):
        a = fields["architecture"]
        architecture = Architecture(
            a["d"], tuple(a["widths"]), a["activation"], a["sigma_w"], a["sigma_b"], a["parameterization"]
        )
        return {"architecture": architecture, "wide_layer": fields["wide_layer"], "weight_seed": fields["weight_seed"]}

    def _description(self):
        lines = {"depth": self.depth, "architecture": str(self.architecture), "wide_layer": self.wide_layer}
        return {**lines, "weight_seed": self.weight_seed}

    def _repr_extras(self):
        a = self.architecture
        widths = ",".join(f"{w}*" if i + 1 == self.wide_layer else str(w) for i, w in enumerate(a.widths))
        activation = "" if a.activation == "relu" else f" {a.activation}"
        extras = [f"arch=L{a.depth}[{widths}]{activation}"]
        return extras + ([] if self.weight_seed is None else [f"weight_seed={self.weight_seed}"])


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


class WeightsCase(Case):
    """Points and the weights ``W_1..W_L`` (``W_l`` of shape ``n_{l-1} × n_l``, ``W_L`` of shape ``n_{L-1}`` or
    ``n_{L-1} × 1``) of a bias-free ReLU network (docs/model.md#seed-normalisation). ``kernel`` is the empirical
    NTK ``K̄`` from the engine under test; by default it is built from the layer decomposition
    ``K̄ = Σ_l (F_{l-1}F_{l-1}^T)∘(B_lB_l^T)``."""

    type_name = "weights"

    def __init__(self, X, weights: Sequence, *, kernel=None, law=None, seed=None, device=None):
        super().__init__(X, law=law, seed=seed, device=device)
        if len(weights) < 1:
            raise ValueError("weights must hold at least one matrix, got 0")
        self.weights = [
            as_data(W.reshape(W.shape[0], -1), f"weights[{k}]", device=self.X.device) for k, W in enumerate(weights)
        ]
        dims = [self.d]
        for k, W in enumerate(self.weights):
            if W.shape[0] != dims[-1]:
                raise ValueError(f"weights[{k}] must have {dims[-1]} rows, got shape {tuple(W.shape)}")
            dims.append(W.shape[1])
        if dims[-1] != 1:
            raise ValueError(f"the last weight must have one column (scalar output), got {dims[-1]}")
        self.widths, self.depth = tuple(dims[1:-1]), len(self.weights)
        self.F, self.B, self.outputs = _forward(self.X, self.weights)
        self.kernel_under_test = self._checked_kernel(kernel)
        self.K = self.kernel_under_test
        if self.K is None:
            self.K = sum((F @ F.T) * (B @ B.T) for F, B in zip(self.F, self.B))

    def _parts(self):
        return {"weights": self.weights, "kernel": self.kernel_under_test}

    def kernel(self):
        return self.K

    def _fields(self):
        return {"depth": self.depth, "widths": list(self.widths)}

    def _arrays(self):
        stored = {} if self.kernel_under_test is None else {"K_under_test": self.kernel_under_test}
        return {**{f"W{k + 1}": W for k, W in enumerate(self.weights)}, **stored}

    @classmethod
    def _parts_from(cls, fields, arrays):
        weights = [arrays[f"W{k + 1}"] for k in range(int(fields["depth"]))]
        return {"weights": weights, "kernel": arrays.get("K_under_test")}

    def _description(self):
        return {"depth": self.depth, "architecture": f"widths {list(self.widths)} (weights stored)"}

    def _repr_extras(self):
        return [f"widths={self.widths}"]

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
