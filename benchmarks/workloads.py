"""The workloads that :mod:`benchmarks.peers` runs on both sides, as data, with the inputs both sides share.

numpy only: the peer side (neural-tangents on JAX) imports this module without torch. Every input comes from
``numpy.random.default_rng`` (PCG64; its normal stream is the same in numpy 1.26 and 2.x), so the two sides
see identical data and identical weights.

Networks: d = 100 inputs, three hidden ReLU layers (L = 4 weight matrices, as everywhere in the project),
scalar output, float64.

* ``analytic`` — the limiting NTK. Bias-free: ntkverify's seed-normalised K⁽ᴸ⁾ against neural-tangents'
  ``stax.Dense(parameterization='ntk')`` kernel Θ⁽ᴸ⁾ with σ_w = 1, related exactly by
  Θ⁽ᴸ⁾ = (σ_w²/d)(σ_w²/2)^{L−1} K⁽ᴸ⁾ (README, Conventions; positive homogeneity of ReLU). Biased (σ_b = 0.1):
  the standard parameterisation on both sides, the same matrix.
* ``empirical`` — the finite-width NTK J Jᵀ of one network in the standard parameterisation with σ_w = 1,
  σ_b = 0.1 (every weight and bias N(0, 1), the same numbers on both sides): ntkverify's layer-wise Gram
  products or its torch.func Jacobian contraction against neural-tangents' structured derivatives or its
  Jacobian contraction.
* ``lambda_min`` — λ_min of the seed-normalised limiting NTK of points on the sphere of radius √d, each side
  forming the matrix with its own library (outside the timing): ntkverify's Cholesky certificate of
  λ_min ≥ :data:`THRESHOLD`, or its certified ``eigvalsh``, against ``jax.numpy.linalg.eigvalsh``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np

D = 100
DEPTH = 4  # weight matrices: three hidden layers
SIGMA_W = 1.0
SIGMA_B = 0.1
THRESHOLD = 1.0  # c in the certificate λ_min ≥ c; far below λ_min at these sizes, so one Cholesky decides it
FAMILIES = ("analytic", "empirical", "lambda_min")


@dataclass(frozen=True)
class Workload:
    """One row of the peer table: what both sides compute and how each side computes it.

    ``method`` selects the variant inside a family: ``"bias-free"`` / ``"biased"`` (analytic),
    ``"fast"`` / ``"jacobian"`` (empirical: each side's fastest path, or both sides' Jacobian contraction),
    ``"cholesky"`` / ``"eigvalsh"`` (λ_min: ntkverify's method; the peer always uses eigvalsh).
    ``repeats`` is the number of timed calls in one process after the warm-up call.
    """

    family: str
    method: str
    n: int
    width: int = 0
    repeats: int = 3

    @property
    def name(self) -> str:
        size = f"N={self.n}" + (f", width {self.width}" if self.width else "")
        return f"{self.family} {self.method} ({size})"

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.width,) * (DEPTH - 1)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Workload:
        return cls(**json.loads(text))


def table_workloads() -> list[Workload]:
    """The workloads of the README's peer table (the sizes of ``benchmarks/bench_*.py``)."""
    return [
        Workload("analytic", "bias-free", 1000),
        Workload("analytic", "bias-free", 4000, repeats=2),
        Workload("analytic", "biased", 1000),
        Workload("analytic", "biased", 4000, repeats=2),
        Workload("empirical", "fast", 256, 512),
        Workload("empirical", "fast", 1024, 2048, repeats=2),
        Workload("empirical", "jacobian", 256, 512, repeats=1),
        Workload("lambda_min", "cholesky", 1000),
        Workload("lambda_min", "cholesky", 4000, repeats=2),
        Workload("lambda_min", "eigvalsh", 1000),
        Workload("lambda_min", "eigvalsh", 4000, repeats=2),
    ]


def smoke_workloads() -> list[Workload]:
    """One tiny workload of each kind, for an end-to-end check of the machinery in seconds."""
    return [
        Workload("analytic", "bias-free", 40, repeats=1),
        Workload("analytic", "biased", 40, repeats=1),
        Workload("empirical", "fast", 16, 8, repeats=1),
        Workload("empirical", "jacobian", 16, 8, repeats=1),
        Workload("lambda_min", "cholesky", 40, repeats=1),
        Workload("lambda_min", "eigvalsh", 40, repeats=1),
    ]


def gaussian_data(n: int, d: int = D, seed: int = 0) -> np.ndarray:
    """n points with i.i.d. N(0, 1) coordinates."""
    return np.random.default_rng(seed).standard_normal((n, d))


def sphere_data(n: int, d: int = D, seed: int = 0) -> np.ndarray:
    """n points uniform on the sphere of radius √d."""
    X = gaussian_data(n, d, seed)
    return X * (math.sqrt(d) / np.linalg.norm(X, axis=1, keepdims=True))


def network_parameters(widths: tuple[int, ...], d: int = D, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W_l, b_l), l = 1..L, for layer sizes (d, *widths, 1): W_l of shape n_{l−1} × n_l (applied as F W_l to
    the points as rows, the layout of both libraries) and b_l of shape n_l, all N(0, 1)."""
    rng = np.random.default_rng(seed)
    sizes = (d, *widths, 1)
    return [(rng.standard_normal((a, b)), rng.standard_normal(b)) for a, b in zip(sizes[:-1], sizes[1:])]


def standard_from_seed(n_inputs: int = D, depth: int = DEPTH, sigma_w: float = SIGMA_W) -> float:
    """The factor (σ_w²/d)(σ_w²/2)^{L−1} that turns the seed-normalised bias-free ReLU NTK K⁽ᴸ⁾ into the
    standard-parameterisation one Θ⁽ᴸ⁾ (README, Conventions)."""
    return sigma_w**2 / n_inputs * (sigma_w**2 / 2) ** (depth - 1)
