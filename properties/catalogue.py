"""The built-in catalogue of kernel properties: every kernel implementation — the project's analytic kernels
and a user's function alike — inherits the same checks (in the spirit of linear_operator's test mixins).

Each check evaluates the subject on a case, computes the quantity, and returns a :class:`Verdict` whose
tolerance is derived from :mod:`ntkverify.tolerances` and explained in its notes.
"""

from __future__ import annotations

import torch

from ntkverify import spectra
from ntkverify.properties.cases import KernelCase, degenerate_cases, scaled_kernel_cases
from ntkverify.properties.core import SPECTRUM, Kind, Property, Verdict, register
from ntkverify.properties.subjects import KernelError, Subject

KERNELS = ("limiting-ntk", "nngp", "h-infinity", "standard-ntk", "user-kernel")  # every kernel subject


def entry_budget(subject: Subject, case: KernelCase, K: torch.Tensor) -> torch.Tensor:
    """Entrywise allowance for two computations of the same kernel (``Claim.entry_tolerances``)."""
    return subject.claim.entry_tolerances(case.X, subject.depth_for(case.depth), K)


def agreement(A: torch.Tensor, B: torch.Tensor, allowed: torch.Tensor, what: str) -> Verdict:
    """max_ij |A − B|_ij / allowed_ij ≤ 1: one normalised number for an entrywise comparison (margin 1 − ratio)."""
    diff = (A - B).abs()
    ratio = torch.where(
        allowed > 0, diff / torch.where(allowed > 0, allowed, 1.0), torch.where(diff > 0, torch.inf, 0.0)
    )
    if not ratio.numel():
        return Verdict.inequality(0.0, 1.0, 0.0, scale=1.0, notes=what)
    worst = tuple(int(i) for i in torch.unravel_index(ratio.argmax(), ratio.shape))
    notes = (
        f"{what}; worst entry {worst}: |Δ| = {float(diff[worst]):.3g}, allowed {float(allowed[worst]):.3g} "
        "(entry budget, tolerances.limiting_entry_errors)"
    )
    return Verdict.inequality(float(ratio.max()), 1.0, 0.0, scale=1.0, notes=notes)


def _guard(check):
    """A kernel that raises or returns a malformed matrix on a valid case fails the check (with the reason)."""

    def guarded(subject: Subject, case: KernelCase) -> Verdict:
        try:
            return check(subject, case)
        except KernelError as exc:
            return Verdict.failure(str(exc))

    guarded.__name__ = check.__name__
    guarded.__doc__ = check.__doc__
    return guarded


@_guard
def _symmetry(subject, case):
    K = subject(case.X, case.depth)
    return agreement(K, K.T, entry_budget(subject, case, K), "K = Kᵀ")


def _lambda_min(subject, case, side: str, notes: str) -> Verdict:
    """λ_min(K) against 0 with its certified error (eigvalsh backward error + N·entry budget, spec §11.1–11.2):
    ``side="lower"`` checks λ_min ≥ 0 (PSD), ``"upper"`` checks λ_min ≤ 0 (an exact zero eigenvalue)."""
    K = subject(case.X, case.depth)
    budget = entry_budget(subject, case, K)
    lam = spectra.lambda_min((K + K.T) / 2, entry_error=float(budget.max()))
    scale = max(float(K.diagonal().abs().max()), lam.error, 1e-300)
    return Verdict.inequality(
        lam.value, 0.0, lam.error, side=side, scale=scale, notes=f"{notes}; λ_min certified ± {lam.error:.2e}"
    )


@_guard
def _psd(subject, case):
    return _lambda_min(subject, case, "lower", "λ_min ≥ 0")


@_guard
def _diagonal(subject, case):
    K = subject(case.X, case.depth)
    expected = subject.claim.reference(case.X, subject.depth_for(case.depth)).diagonal().cpu()
    return agreement(
        K.diagonal(),
        expected,
        entry_budget(subject, case, K).diagonal(),
        "K_ii = K_ref,ii (seed ReLU NTK: K_ii = L‖x_i‖²)",
    )


@_guard
def _reference(subject, case):
    K = subject(case.X, case.depth)
    ref = subject.reference_kernel(case.X, subject.depth_for(case.depth)).cpu()
    return agreement(K, ref, entry_budget(subject, case, ref), "K = K_ref (independent implementation)")


def _permutation_of(n: int) -> torch.Tensor:
    """Reversal composed with a cyclic shift: moves every row when n ≥ 2, deterministic, no extra draw."""
    return torch.roll(torch.arange(n - 1, -1, -1), 1)


@_guard
def _permutation(subject, case):
    K = subject(case.X, case.depth)
    p = _permutation_of(case.n)
    Kp = subject(case.X[p], case.depth)
    allowed = 2 * entry_budget(subject, case, K)[p][:, p]
    return agreement(Kp, K[p][:, p], allowed, "K(ΠX) = ΠK(X)Πᵀ, a fixed permutation moving every row")


def _reflection(d: int) -> torch.Tensor:
    """Householder reflection I − 2vvᵀ with v ∝ (1, 2, …, d): orthogonal, mixes every coordinate (−1 for d = 1)."""
    v = torch.arange(1, d + 1, dtype=torch.float64)
    v = v / torch.linalg.vector_norm(v)
    return torch.eye(d, dtype=torch.float64) - 2 * torch.outer(v, v)


@_guard
def _rotation(subject, case):
    K = subject(case.X, case.depth)
    Kq = subject(case.X @ _reflection(case.d), case.depth)
    return agreement(
        Kq,
        K,
        2 * entry_budget(subject, case, K),
        "K(XQ) = K(X), Q a Householder reflection (budget covers XQ's γ_d rounding)",
    )


@_guard
def _scaling(subject, case):
    K = subject(case.X, case.depth)
    K2 = subject(2 * case.X, case.depth)
    return agreement(K2, 4 * K, 8 * entry_budget(subject, case, K), "K(2X) = 4K(X) (c = 2 is exact in binary)")


@_guard
def _degenerate_zero(subject, case):
    return _lambda_min(subject, case, "upper", "λ_min = 0 for data with a positively parallel pair or a zero row (A9)")


def _has_reference(subject):
    return subject.claim.has_reference


def _homogeneous(subject):
    return subject.claim.homogeneous


def _homogeneous_everywhere(subject):
    """K(cX) = c²K(X) is checkable only when cX stays in the claim's domain, i.e. on all of R^d."""
    return subject.claim.homogeneous and subject.claim.domain == "any"


_COMMON = dict(kind=Kind.DET, kernels=KERNELS, strategy=scaled_kernel_cases)

for prop in (
    Property(
        "well-formed-symmetric",
        "K is a finite n×n real matrix and K = Kᵀ",
        "definition of a kernel matrix",
        check=_symmetry,
        tolerance_rule="entrywise budget (tolerances.limiting_entry_errors)",
        **_COMMON,
    ),
    Property(
        "psd",
        "λ_min(K) ≥ 0",
        "K = JJᵀ (NMM21 eq. (3)); limits of Gram matrices are PSD",
        check=_psd,
        cost=SPECTRUM,
        tolerance_rule="certified λ_min error: 10·N·u·‖K‖₂ + N·entry budget (spec §11.1–11.2)",
        **_COMMON,
    ),
    Property(
        "diagonal-identity",
        "K_ii equals the claim's diagonal (K⁽ᴸ⁾_ii = L‖x_i‖² in the seed normalisation)",
        "spec §4.2 (G⁽ˡ⁾_ii = ‖x_i‖², Ġ⁽ˡ⁾_ii = 1)",
        check=_diagonal,
        tolerance_rule="entry budget",
        applies=_has_reference,
        **_COMMON,
    ),
    Property(
        "reference-agreement",
        "K agrees entrywise with an independent implementation of the claimed kernel",
        "spec §4.1–4.3 (NMM21 recursion; CS09 closed forms; DZPS19 H∞)",
        check=_reference,
        tolerance_rule="2 × entry budget at the data's ρ̄ (spec §11.3–11.4)",
        applies=_has_reference,
        limits=("data whose squared norms underflow (‖x‖ < 1e-150) lose relative accuracy",),
        **_COMMON,
    ),
    Property(
        "permutation-equivariance",
        "K(ΠX) = Π K(X) Πᵀ",
        "spec A3",
        check=_permutation,
        tolerance_rule="2 × entry budget",
        **_COMMON,
    ),
    Property(
        "rotation-invariance",
        "K(XQ) = K(X) for orthogonal Q",
        "spec A3 (K depends on X only through XXᵀ)",
        check=_rotation,
        tolerance_rule="2 × entry budget",
        applies=lambda s: s.claim.rotation_invariant,
        **_COMMON,
    ),
    Property(
        "scaling-homogeneity",
        "K(cX) = c² K(X) for c > 0 (bias-free ReLU)",
        "spec A3, §4.2",
        check=_scaling,
        tolerance_rule="8 × entry budget (both sides, scale 4)",
        applies=_homogeneous_everywhere,
        **_COMMON,
    ),
    Property(
        "degenerate-zero-eigenvalue",
        "λ_min(K) = 0 when two inputs are positively parallel or one is zero",
        "spec A9 (i)–(ii); B8",
        check=_degenerate_zero,
        kind=Kind.DET,
        kernels=KERNELS,
        strategy=degenerate_cases,
        cost=SPECTRUM,
        # A9 is a statement about bias-free kernels (rows scale with ‖x‖, so x and 2x give proportional rows);
        # with σ_b > 0 a parallel pair has a positive-definite 2×2 block (Σ⁽¹⁾ = σ_w²XXᵀ/d + σ_b²) and λ_min > 0.
        applies=_homogeneous,
        tolerance_rule="certified λ_min error: 10·N·u·‖K‖₂ + N·entry budget",
    ),
):
    register(prop)
