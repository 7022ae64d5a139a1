"""Kernels under test ("subjects") and what they claim to compute ("claims").

A :class:`Claim` says which kernel a function computes — ``relu-ntk``, ``relu-nngp``, ``two-layer-h`` (Du et
al.'s H∞) or ``psd-kernel`` (no reference) — at which depth (the number of weight matrices) and in which
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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ntkverify import analytic
from ntkverify.properties import oracle
from ntkverify.strategies.distributions import DOMAINS
from ntkverify.tolerances import limiting_entry_errors
from ntkverify.validation import check_int, check_nonneg

CLAIMS = ("relu-ntk", "relu-nngp", "two-layer-h", "psd-kernel")


class KernelError(Exception):
    """The kernel under test raised, or returned something other than a finite n × n real matrix."""


class KernelShapeError(KernelError):
    """The kernel returned something that is not an n × n real matrix (wrong type, shape or dtype)."""


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
        for name in ("sigma_w", "sigma_b"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_nonneg(value, name))

    @property
    def standard(self) -> bool:
        """Standard parameterisation (σ_w or σ_b given) rather than the seed normalisation."""
        return self.sigma_w is not None or self.sigma_b is not None

    @property
    def has_reference(self) -> bool:
        return self.name != "psd-kernel"

    @property
    def homogeneous(self) -> bool:
        """K(cX) = c²K(X) for c > 0: bias-free ReLU kernels (positive homogeneity, spec §4.2)."""
        return self.has_reference and not self.sigma_b

    @property
    def rotation_invariant(self) -> bool:
        """K(XQ) = K(X) for orthogonal Q: every dot-product kernel here (spec §4.2)."""
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

    def correlations(self, X: torch.Tensor, depth: int) -> torch.Tensor:
        """ρ̄_ij = max_{l < L} |ρ⁽ˡ⁾_ij| (1 on the diagonal): how close to ±1 the correlations fed to arccos get."""
        layers = self.reference_layers(X, max(depth, 2))
        rho_bar = torch.zeros(X.shape[0], X.shape[0], dtype=torch.float64)
        for G in layers.G[: max(depth - 1, 1)]:
            G = G.cpu()
            d = torch.sqrt(G.diagonal().clamp(min=0))
            outer = torch.outer(d, d)
            rho = torch.where(outer > 0, G / torch.where(outer > 0, outer, 1.0), 0.0)
            rho_bar = torch.maximum(rho_bar, rho.abs().clamp(max=1.0))
        return rho_bar.fill_diagonal_(1.0)

    def entry_tolerances(self, X: torch.Tensor, depth: int, K: torch.Tensor) -> torch.Tensor:
        """Entrywise allowance for comparing two implementations of the claimed kernel (both may evaluate arccos
        of correlations): twice :func:`ntkverify.tolerances.limiting_entry_errors` at each entry's own
        correlations, with scale √(|K_ii K_jj|) (≥ |K_ij| for a PSD kernel). Without a reference the
        correlations are unknown and the √u regime (ρ = 1) is assumed everywhere.
        """
        root = K.diagonal().abs().sqrt()
        scale = torch.outer(root, root)  # √(|K_ii K_jj|) without forming the product, which under/overflows
        L = max(depth, 1)
        rho = self.correlations(X, L) if self.has_reference else torch.ones_like(K)
        return 2 * limiting_entry_errors(X.shape[1], L, scale, rho)

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
    if isinstance(out, np.ndarray):
        if not (np.issubdtype(out.dtype, np.floating) or np.issubdtype(out.dtype, np.integer)):
            raise KernelShapeError(f"{name} returned a numpy array of dtype {out.dtype}, expected real floats")
        out = torch.from_numpy(np.ascontiguousarray(out))
    if not isinstance(out, torch.Tensor):
        raise KernelShapeError(f"{name} returned {type(out).__name__}, expected a torch.Tensor or numpy.ndarray")
    if out.is_complex():
        raise KernelShapeError(f"{name} returned a complex matrix")
    if tuple(out.shape) != (n, n):
        raise KernelShapeError(f"{name} returned shape {tuple(out.shape)}, expected ({n}, {n})")
    out = out.detach().to(device="cpu", dtype=torch.float64)
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

    def depth_for(self, drawn: int) -> int:
        return self.claim.depth if self.claim.depth is not None else drawn

    def __call__(self, X: torch.Tensor, depth: int) -> torch.Tensor:
        try:
            out = self.kernel(X) if self.claim.depth is not None else self.kernel(X, depth)
        except Exception as exc:  # a user's kernel failing on a valid case is a finding, not a crash
            raise KernelError(f"{self.name} raised {type(exc).__name__}: {exc}") from exc
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
