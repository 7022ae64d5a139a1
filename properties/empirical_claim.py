"""The ``empirical-ntk`` claim: a user's function ``(model, X) -> J Jᵀ`` (docs/accuracy.md#empirical).

The function takes an ``nn.Module`` and an n × d float64 tensor and returns the n × n empirical NTK
``K_ij = <∂f(x_i)/∂θ, ∂f(x_j)/∂θ>`` over every parameter θ of the module; for a module with k outputs, the
mean over outputs ``(1/k) Σ_a <∂f_a(x_i)/∂θ, ∂f_a(x_j)/∂θ>`` (the convention of
``ntkverify.empirical.empirical_ntk(..., outputs="mean")``).

The cases draw modules (:class:`ModuleCase`, a :class:`ntkverify.case.Case`, so reportable and replayable): the
project's MLPs in both parameterisations (seed: bias-free, N(0, 1) weights; standard: σ_w, σ_b in every layer), a
small 1-D convolutional network and a residual MLP built from ``torch.nn``, with one or three outputs, and data.
The properties compare the user's kernel with the project's own methods (the layer-wise Gram products for its
MLPs, the Jacobian contraction for any module), and check symmetry, PSD and permutation equivariance.

Tolerance (docs/accuracy.md#empirical): each Jacobian entry comes out of a backward chain of at most D
operations (D = the number of parameter tensors) of length ≤ P (the number of parameters), and the
contraction is a dot product of length P; by Higham eq. (3.5) and Cauchy–Schwarz each implementation's entry
error is ≤ 10·D·P·u·√(K_ii K_jj) to first order (10 covers the constants, as in
:func:`ntkverify.tolerances.empirical_entry_error`), so two of them differ by at most twice that, plus the
floor γ_{D+P}·max_k K_kk of the data's scale. For the modules drawn here (P ≤ a few hundred) that is ≈ 1e-12
relative: float32 accumulation (≈ 1e-7) is far outside it.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st
from torch import nn

from ntkverify.architecture import Architecture
from ntkverify.case import Case
from ntkverify.device import unit_roundoff
from ntkverify.empirical import empirical_ntk
from ntkverify.network import MLP
from ntkverify.properties.catalogue import agreement, guard
from ntkverify.properties.core import Kind, MarginUnit, Property, Verdict, register
from ntkverify.properties.subjects import USER_EMPIRICAL, KernelError, Subject, _as_matrix, _finite
from ntkverify.properties.timeout import CallExpired, deadline
from ntkverify.tolerances import EMP_ENTRY_FACTOR, gamma

MODULE_KINDS = ("mlp-seed", "mlp-standard", "conv", "residual")


class _Conv(nn.Module):
    """x ∈ R^d → Conv1d(1 → c, kernel 2) → ReLU → Linear(c(d − 1) → k)."""

    def __init__(self, d: int, channels: int, outputs: int):
        super().__init__()
        self.conv = nn.Conv1d(1, channels, kernel_size=2)
        self.readout = nn.Linear(channels * (d - 1), outputs)

    def forward(self, x):
        return self.readout(torch.relu(self.conv(x[:, None, :])).flatten(1))


class _Residual(nn.Module):
    """x → h = Linear(d → w) x → h + ReLU(Linear(w → w) h) → Linear(w → k)."""

    def __init__(self, d: int, width: int, outputs: int):
        super().__init__()
        self.embed, self.block, self.readout = nn.Linear(d, width), nn.Linear(width, width), nn.Linear(width, outputs)

    def forward(self, x):
        h = self.embed(x)
        return self.readout(h + torch.relu(self.block(h)))


class _Squeeze(nn.Module):
    """One output as shape (n,), the scalar-output convention."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)[:, 0]


class ModuleCase(Case):
    """Points X (n × d) and a module: its kind (:data:`MODULE_KINDS`), width, depth, number of outputs and the seed
    of its initial weights, which rebuild it exactly (:meth:`model`)."""

    type_name = "module"
    _PARTS = ("kind", "width", "depth", "outputs", "weight_seed")

    def __init__(self, X, kind: str, width: int, depth: int, outputs: int, weight_seed: int, **points):
        super().__init__(X, **points)
        self.kind, self.width, self.depth, self.outputs, self.weight_seed = kind, width, depth, outputs, weight_seed

    def _parts(self):
        return {name: getattr(self, name) for name in self._PARTS}

    _fields = _parts
    _description = _parts

    @classmethod
    def _parts_from(cls, fields, arrays):
        return {name: fields[name] for name in cls._PARTS}

    def _repr_extras(self):
        return [self.kind] + [f"{name}={getattr(self, name)}" for name in self._PARTS[1:]]

    def model(self) -> nn.Module:
        generator = torch.Generator().manual_seed(self.weight_seed)
        if self.kind.startswith("mlp"):
            widths = (self.width,) * (self.depth - 1)
            standard = self.kind == "mlp-standard"
            arch = Architecture(
                self.d, widths, parameterization="ntk" if standard else "seed", sigma_b=0.5 if standard else None
            )
            return arch.build(generator, device="cpu")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.weight_seed)
            k = self.outputs
            module = _Conv(self.d, self.width, k) if self.kind == "conv" else _Residual(self.d, self.width, k)
            module = module.to(torch.float64)
        return _Squeeze(module) if k == 1 else module


@st.composite
def module_cases(draw, subject=None) -> ModuleCase:
    kind = draw(st.sampled_from(MODULE_KINDS))
    d = draw(st.integers(2, 5))
    n = draw(st.integers(1, 5))
    outputs = 1 if kind.startswith("mlp") else draw(st.sampled_from((1, 3)))
    seed = draw(st.integers(0, 2**16))
    X = torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    width, depth, weight_seed = draw(st.integers(1, 6)), draw(st.integers(1, 3)), draw(st.integers(0, 99))
    return ModuleCase(X, kind, width, depth, outputs, weight_seed)


class EmpiricalSubject(Subject):
    """A user's ``(model, X) -> JJᵀ`` function with the ``empirical-ntk`` claim (module docstring)."""

    def on(self, model: nn.Module, X: torch.Tensor) -> torch.Tensor:
        limit = self.clock.limit()
        try:
            with deadline(limit):
                out = self.kernel(model, X)
        except CallExpired:
            self.clock.expired = True
            raise KernelError(f"{self.name} did not return within {limit:g} s (the per-call time limit)") from None
        except Exception as exc:  # a user's function failing on a valid module is a finding
            raise KernelError(f"{self.name} raised {type(exc).__name__}: {exc}") from exc
        return _finite(_as_matrix(out, X.shape[0], self.name), self.name)


def _agreement_of(A, B, allowed, what):
    return agreement(A, B, allowed, what, budget="docs/accuracy.md#empirical")


def reference(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """The project's empirical NTK: layer-wise for its MLPs, the Jacobian contraction for any other module."""
    if isinstance(model, MLP):
        return empirical_ntk(model, X, "layerwise")
    return empirical_ntk(model, X, "jacobian", outputs="mean")


def entry_budget(model: nn.Module, K_ref: torch.Tensor) -> torch.Tensor:
    """2·10·D·P·u·√(K_ii K_jj) + γ_{D+P}·max_k K_kk (module docstring)."""
    params = list(model.parameters())
    D, P = len(params), sum(p.numel() for p in params)
    diag = K_ref.diagonal().abs()
    u = unit_roundoff(torch.float64)
    floor = gamma(D + P) * float(diag.max()) if diag.numel() else 0.0
    return 2 * EMP_ENTRY_FACTOR * D * P * u * torch.sqrt(torch.outer(diag, diag)) + floor


@guard
def _agreement(subject, case):
    model = case.model()
    ref = reference(model, case.X)
    K = subject.on(model, case.X)
    return _agreement_of(K, ref, entry_budget(model, ref), "K = JJᵀ of the project's own methods")


@guard
def _symmetric(subject, case):
    model = case.model()
    K = subject.on(model, case.X)
    return _agreement_of(K, K.T, entry_budget(model, reference(model, case.X)), "K = Kᵀ")


@guard
def _psd(subject, case):
    from ntkverify import spectra

    model = case.model()
    K = subject.on(model, case.X)
    budget = entry_budget(model, reference(model, case.X))
    lam = spectra.lambda_min((K + K.T) / 2, entry_error=float(budget.max()))
    scale = max(float(K.diagonal().abs().max()), lam.error, 1e-300)
    return Verdict.inequality(
        lam.value, 0.0, lam.error, side="lower", scale=scale, notes=f"λ_min ≥ 0 ± {lam.error:.2e}"
    )


@guard
def _permutation(subject, case):
    model = case.model()
    p = torch.roll(torch.arange(case.n - 1, -1, -1), 1)
    K = subject.on(model, case.X)
    Kp = subject.on(model, case.X[p])
    allowed = 2 * entry_budget(model, reference(model, case.X))[p][:, p]
    return _agreement_of(Kp, K[p][:, p], allowed, "K(ΠX) = ΠK(X)Πᵀ")


_COMMON = dict(kind=Kind.DET, subjects=(USER_EMPIRICAL,), strategy=module_cases)
for prop in (
    Property(
        "empirical-agreement",
        "the user's JJᵀ equals the project's empirical NTK (layer-wise for its MLPs, Jacobian contraction otherwise)",
        "NMM21 eqs. (2)–(3); Jacot et al. 2018",
        check=_agreement,
        tolerance_rule="2·10·D·P·u·√(K_ii K_jj) + data-scale floor (docs/accuracy.md#empirical)",
        **_COMMON,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "empirical-symmetric",
        "JJᵀ is symmetric",
        "definition of a Gram matrix",
        check=_symmetric,
        tolerance_rule="the empirical entry budget",
        **_COMMON,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "empirical-psd",
        "λ_min(JJᵀ) ≥ 0",
        "definition of a Gram matrix",
        check=_psd,
        tolerance_rule="certified λ_min error with the empirical entry budget",
        **_COMMON,
    ),
    Property(
        "empirical-permutation",
        "K(model, ΠX) = Π K(model, X) Πᵀ",
        "rows are treated independently",
        check=_permutation,
        tolerance_rule="2 × the empirical entry budget",
        **_COMMON,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
):
    register(prop)
