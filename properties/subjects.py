"""Kernels under test ("subjects") and what they claim to compute ("claims").

A :class:`Claim` says which kernel a function computes — ``relu-ntk``, ``relu-nngp``, ``two-layer-h`` (Du et
al.'s H∞), ``psd-kernel`` (no reference) or ``empirical-ntk`` (a function of a module and X,
:mod:`ntkverify.properties.empirical_claim`) — at which depth (the number of weight matrices) and in which
normalisation: without σ_w/σ_b the seed paper's, with them the standard parameterisation with the same σ_w,
σ_b in every layer, readout included. From the claim follow the reference kernel, the diagonal identity and
the invariances the kernel must have.

A :class:`Subject` is a kernel function with its claim: the project's own kernels (:data:`BUILTIN_SUBJECTS`,
whose depth is drawn per case and whose reference is the independent textbook recursion of
:mod:`ntkverify.properties.oracle`) or a user's function (fixed depth, reference from :mod:`ntkverify.analytic`).
Calling a subject validates its output: anything but a finite n × n real matrix raises :class:`KernelError`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ntkverify import analytic
from ntkverify.bounds import Target
from ntkverify.distributions import DOMAINS
from ntkverify.properties import oracle
from ntkverify.properties.timeout import CallExpired, deadline
from ntkverify.tolerances import (
    arccos_recursion_errors,
    limiting_entry_errors,
    scale_floor,
    stable_recursion_errors,
)
from ntkverify.validation import check_int, check_nonneg

CLAIMS = ("relu-ntk", "relu-nngp", "two-layer-h", "psd-kernel", "empirical-ntk")
SIGMA_MAX = 1e150  # σ² enters every layer's kernel: beyond ~1.3e154 it overflows float64 before any check
USER_KERNEL = "user-kernel"
USER_EMPIRICAL = "user-empirical-ntk"

#: Everything a property can be about: the built-in kernel subjects (:data:`BUILTIN_SUBJECTS`), a user's
#: kernel, and the engine's own objects that properties build from their cases.
SUBJECTS = {
    "limiting-ntk": "the limiting NTK K^(L) in the seed normalisation, with its layers",
    "nngp": "the limiting NNGP G^(L) in the seed normalisation",
    "h-infinity": "Du et al.'s two-layer Gram matrix H_inf",
    "standard-ntk": "the limiting NTK in the standard parameterisation",
    USER_KERNEL: "a user's kernel function, checked against its claim",
    USER_EMPIRICAL: "a user's empirical-NTK function of (module, X), checked against the project's methods",
    "empirical-ntk": "the empirical NTK Kbar = J J^T of a finite network",
    "feature-matrices": "the feature matrices F_l of a finite network",
    "feature-maps": "the feature maps f_l of a finite network",
    "sphere-data": "i.i.d. points on a sphere",
}


class KernelError(Exception):
    """The kernel under test raised, or returned something other than a finite n × n real matrix."""


class KernelShapeError(KernelError):
    """The kernel returned something that is not an n × n real matrix (wrong type, shape or dtype)."""


class KernelTimeout(KernelError):
    """The kernel did not return within its per-call time limit (``--kernel-timeout``)."""


class CallClock:
    """The per-call limits of one kernel: ``timeout`` for every call until one runs out; after that, so that
    shrinking a hang takes seconds rather than hours, min(timeout, max(timeout/10, 10 × the slowest call that
    returned))."""

    def __init__(self, timeout: float | None):
        self.timeout, self.slowest, self.expired = timeout, 0.0, False

    def limit(self) -> float | None:
        if self.timeout is None or not self.expired:
            return self.timeout
        return min(self.timeout, max(self.timeout / 10, 10 * self.slowest))


@dataclass(frozen=True)
class Claim:
    """What a kernel function claims to compute (module docstring)."""

    name: str
    depth: int | None = None
    sigma_w: float | None = None
    sigma_b: float | None = None
    domain: str = "any"  # where the kernel is defined: "any", "unit-sphere" or "sphere-sqrt-d" (data drawn there)

    def __post_init__(self):
        if self.name not in CLAIMS:
            raise ValueError(f"claim must be one of {CLAIMS}, got {self.name!r}")
        if self.domain not in DOMAINS:
            raise ValueError(f"domain must be one of {DOMAINS}, got {self.domain!r}")
        if self.depth is not None:
            object.__setattr__(self, "depth", check_int(self.depth, "depth", 1))
        if self.name == "two-layer-h":
            if self.depth not in (None, 2) or self.standard:
                raise ValueError("claim 'two-layer-h' is Du et al.'s H∞: depth 2, no sigma_w/sigma_b")
            object.__setattr__(self, "depth", 2)
        if self.name == "empirical-ntk" and (self.depth is not None or self.standard):
            raise ValueError("claim 'empirical-ntk' takes no depth or sigma_w/sigma_b: the module defines them")
        for name in ("sigma_w", "sigma_b"):
            value = getattr(self, name)
            if value is not None:
                value = check_nonneg(value, name)
                if value > SIGMA_MAX:
                    raise ValueError(f"{name} must be <= {SIGMA_MAX:g} (its square must be a float64), got {value}")
                object.__setattr__(self, name, value)

    @property
    def standard(self) -> bool:
        """Standard parameterisation (σ_w or σ_b given) rather than the seed normalisation."""
        return self.sigma_w is not None or self.sigma_b is not None

    @property
    def has_reference(self) -> bool:
        """An analytic reference kernel of X (``empirical-ntk`` kernels are compared per module instead)."""
        return self.name not in ("psd-kernel", "empirical-ntk")

    @property
    def homogeneous(self) -> bool:
        """K(cX) = c²K(X) for c > 0: bias-free ReLU kernels (positive homogeneity,
        docs/kernels.md#relu-closed-forms)."""
        return self.has_reference and not self.sigma_b

    @property
    def target(self) -> Target:
        """Which matrix of the bounds library the claimed kernel is (docs/statements.md): ``K^{(L)}`` for the
        seed-normalised ReLU NTK, ``H∞`` for Du et al.'s Gram matrix, else only a symmetric matrix."""
        if self.name == "relu-ntk" and not self.standard:
            return Target.LIMITING_NTK
        if self.name == "two-layer-h":
            return Target.H_INFINITY
        return Target.ANY_MATRIX

    @property
    def rotation_invariant(self) -> bool:
        """K(XQ) = K(X) for orthogonal Q: every dot-product kernel here (docs/kernels.md#relu-closed-forms)."""
        return self.has_reference

    def _sigmas(self) -> dict:
        return {"sigma_w": 1.0 if self.sigma_w is None else self.sigma_w, "sigma_b": self.sigma_b or 0.0}

    def reference_layers(self, X: torch.Tensor, depth: int) -> analytic.LayerKernels:
        if self.standard:
            return analytic.standard_layers(X, depth, **self._sigmas())
        return analytic.limiting_layers(X, depth)

    def reference(self, X: torch.Tensor, depth: int) -> torch.Tensor:
        """The kernel the claim names, from the analytic engine."""
        if self.name == "two-layer-h":
            return analytic.h_infinity(X)
        layers = self.reference_layers(X, depth)
        return layers.nngp if self.name == "relu-nngp" else layers.K

    def entry_tolerances(self, X: torch.Tensor, depth: int, K: torch.Tensor) -> torch.Tensor:
        """Entrywise allowance for comparing a computation of the claimed kernel with the reference
        (docs/accuracy.md#budget): the error bound of faithful arccos-based float64 code
        (:func:`ntkverify.tolerances.arccos_recursion_errors`, its √u regime near ρ = ±1 included) plus the
        reference's own error (stable evaluation, or arccos-based where biases route the engine through its
        general path) plus the absolute floor of the data's scale (:func:`ntkverify.tolerances.scale_floor`).
        The budget comes from the reference's layers, so a wrong kernel cannot widen its own allowance.
        Without a reference (``psd-kernel``) the correlations are unknown: the √u regime is assumed
        everywhere, at the scale √(|K_ii K_jj|) of ``K`` itself.
        """
        d, L = X.shape[1], max(depth, 1)
        if not self.has_reference:
            root = K.diagonal().abs().sqrt()  # √(|K_ii K_jj|) without forming the product, which under/overflows
            return 2 * limiting_entry_errors(d, L, torch.outer(root, root), torch.ones_like(K))
        layers = self.reference_layers(X, 2 if self.name == "two-layer-h" else L)
        G = [g.cpu() for g in layers.G]
        Gdot = [None] + [g.cpu() for g in layers.Gdot[1:]]
        dK, dG = arccos_recursion_errors(G, Gdot, d, w=self._weight_factor(), bias=bool(self.sigma_b))
        if self.name == "two-layer-h":  # H∞ = ½ XXᵀ ∘ Ġ⁽²⁾: half of the first-layer term of K⁽²⁾
            user, reference_diag = dK / 2, (X * X).sum(1).cpu() / 2
        elif self.name == "relu-nngp":
            user, reference_diag = dG, G[-1].diagonal()
        else:
            user, reference_diag = dK, layers.K.cpu().diagonal()
        reference = stable_recursion_errors(G, d) if not self.sigma_b else user
        return user + reference + scale_floor(reference_diag, d, L)

    def diagonal_note(self) -> str:
        """The closed form of the claimed diagonal, in words (docs/accuracy.md#diagonal)."""
        if self.name == "two-layer-h":
            return "H∞_ii = ‖x_i‖²/2 (Du et al. 2019 §3)"
        if not self.standard:
            if self.name == "relu-nngp":
                return "G⁽ᴸ⁾_ii = ‖x_i‖² (seed normalisation)"
            return f"K⁽ᴸ⁾_ii = L‖x_i‖² = {self.depth or 'L'}‖x_i‖² (seed normalisation, NMM21)"
        recursion = "q₁ = σ_w²‖x_i‖²/d + σ_b², q_{l+1} = σ_w² q_l/2 + σ_b²"
        if self.name == "relu-nngp":
            return f"Σ⁽ᴸ⁾_ii = q_L with {recursion} (standard parameterisation)"
        return f"Θ_ii = Σ_l q_l (σ_w²/2)^(L−l) with {recursion} (standard parameterisation)"

    def _weight_factor(self) -> float:
        """w in Ġ = w(π − θ)/(2π): 2 in the seed normalisation (NMM21 eq. (4)), σ_w² in the standard one."""
        return self._sigmas()["sigma_w"] ** 2 if self.standard else 2.0

    def __str__(self) -> str:
        parts = [self.name]
        if self.depth is not None:
            parts.append(f"depth={self.depth}")
        if self.standard:
            parts.append(f"sigma_w={self._sigmas()['sigma_w']:g} sigma_b={self._sigmas()['sigma_b']:g}")
        if self.domain != "any":
            parts.append(f"domain={self.domain}")
        return " ".join(parts)


def _as_matrix(out, n: int, name: str) -> torch.Tensor:
    """The kernel's output as a CPU float64 matrix: a torch tensor or numpy array of a real floating dtype (an
    integer or boolean matrix is refused alike from both libraries: it cannot hold a kernel's values), with
    data (not on the ``meta`` device), n × n and finite."""
    if isinstance(out, np.ndarray):
        if not np.issubdtype(out.dtype, np.floating):
            raise KernelShapeError(f"{name} returned a numpy array of dtype {out.dtype}, expected real floats")
        out = torch.from_numpy(np.ascontiguousarray(out))
    if not isinstance(out, torch.Tensor):
        raise KernelShapeError(f"{name} returned {type(out).__name__}, expected a torch.Tensor or numpy.ndarray")
    if not out.dtype.is_floating_point:
        raise KernelShapeError(f"{name} returned a tensor of dtype {out.dtype}, expected real floats")
    if out.device.type == "meta":
        raise KernelShapeError(f"{name} returned a tensor on the meta device, which holds no values")
    if tuple(out.shape) != (n, n):
        raise KernelShapeError(f"{name} returned shape {tuple(out.shape)}, expected ({n}, {n})")
    return out.detach().to(device="cpu", dtype=torch.float64)


def _finite(out: torch.Tensor, name: str) -> torch.Tensor:
    if not bool(torch.isfinite(out).all()):
        bad = (~torch.isfinite(out)).nonzero()[0].tolist()
        raise KernelError(f"{name} returned a non-finite entry at {tuple(bad)}")
    return out


@dataclass(frozen=True)
class Subject:
    """A kernel function under test with its claim.

    ``kernel`` takes ``X`` (n × d float64 tensor) — and, when ``claim.depth`` is None, the depth as a second
    argument. ``reference`` overrides the claim's reference (the built-in subjects use the textbook oracle).
    ``origin`` records where a user's kernel was loaded from, so that a report can replay it.
    """

    name: str
    kernel: Callable
    claim: Claim
    reference: Callable[[torch.Tensor, int], torch.Tensor] | None = field(default=None, compare=False)
    origin: str | None = None  # how to load the kernel again: "MODULE:CALLABLE", "path.py:CALLABLE" or None
    clock: CallClock = field(default_factory=lambda: CallClock(None), compare=False, repr=False)

    def depth_for(self, drawn: int) -> int:
        return self.claim.depth if self.claim.depth is not None else drawn

    def __call__(self, X: torch.Tensor, depth: int) -> torch.Tensor:
        return _finite(self.kernel_unchecked(X, depth), self.name)

    def kernel_unchecked(self, X: torch.Tensor, depth: int) -> torch.Tensor:
        """The kernel's n × n float64 CPU matrix, non-finite entries included (reports show them). A call past
        the clock's limit raises :class:`KernelTimeout` (:mod:`ntkverify.properties.timeout`)."""
        limit = self.clock.limit()
        start = time.perf_counter()
        try:
            with deadline(limit):
                out = self.kernel(X) if self.claim.depth is not None else self.kernel(X, depth)
        except CallExpired:
            self.clock.expired = True
            raise KernelTimeout(f"{self.name} did not return within {limit:g} s (the per-call time limit)") from None
        except Exception as exc:  # a user's kernel failing on a valid case is a finding, not a crash
            raise KernelError(f"{self.name} raised {type(exc).__name__}: {exc}") from exc
        self.clock.slowest = max(self.clock.slowest, time.perf_counter() - start)
        return _as_matrix(out, X.shape[0], self.name)

    def reference_kernel(self, X: torch.Tensor, depth: int) -> torch.Tensor:
        if self.reference is not None:
            return torch.as_tensor(self.reference(X, depth), dtype=torch.float64)
        return self.claim.reference(X, depth)

    def __str__(self) -> str:
        return f"{self.name} ({self.claim})"


def _numpy(fn):
    def call(X, depth=None):
        args = (X.cpu().numpy(),) if depth is None else (X.cpu().numpy(), depth)
        return fn(*args)

    return call


BUILTIN_SUBJECTS: dict[str, Subject] = {
    s.name: s
    for s in (
        Subject(
            "limiting-ntk", lambda X, L: analytic.limiting_ntk(X, L), Claim("relu-ntk"), _numpy(oracle.textbook_ntk)
        ),
        Subject("nngp", lambda X, L: analytic.limiting_nngp(X, L), Claim("relu-nngp"), _numpy(oracle.textbook_nngp)),
        Subject(
            "h-infinity",
            lambda X: analytic.h_infinity(X),
            Claim("two-layer-h"),
            lambda X, L: oracle.textbook_h_infinity(X.cpu().numpy()),
        ),
        Subject(
            "standard-ntk",
            lambda X, L: analytic.standard_ntk(X, L, sigma_w=math.sqrt(2)),
            Claim("relu-ntk", sigma_w=math.sqrt(2), sigma_b=0.0),
            lambda X, L: 2 / X.shape[1] * torch.as_tensor(oracle.textbook_ntk(X.cpu().numpy(), L)),
        ),
    )
}
