"""The built-in catalogue of kernel properties: every kernel implementation — the project's analytic kernels
and a user's function alike — inherits the same checks (in the spirit of linear_operator's test mixins).

Each check evaluates the subject on a case, computes the quantity, and returns a :class:`Verdict` whose
tolerance is derived from :mod:`ntkverify.tolerances` and explained in its notes.
"""

from __future__ import annotations

import math

import torch

from ntkverify import spectra
from ntkverify.case import KernelCase, degeneracy
from ntkverify.properties.cases import degenerate_cases, near_degenerate_cases, scaled_kernel_cases
from ntkverify.properties.core import SPECTRUM, Figure, Kind, MarginUnit, Property, Verdict, register
from ntkverify.properties.subjects import KernelError, Subject

KERNELS = ("limiting-ntk", "nngp", "h-infinity", "standard-ntk", "user-kernel")  # every kernel subject


def entry_budget(subject: Subject, case: KernelCase, K: torch.Tensor) -> torch.Tensor:
    """Entrywise allowance for two computations of the same kernel (``Claim.entry_tolerances``)."""
    return subject.claim.entry_tolerances(case.X, subject.depth_for(case.depth), K)


def agreement(
    A: torch.Tensor, B: torch.Tensor, allowed: torch.Tensor, what: str, budget: str = "docs/accuracy.md#budget"
) -> Verdict:
    """max_ij |A − B|_ij / allowed_ij ≤ 1: one normalised number for an entrywise comparison (margin 1 − ratio);
    ``budget`` names where the allowance is derived."""
    diff = (A - B).abs()
    ratio = torch.where(
        allowed > 0, diff / torch.where(allowed > 0, allowed, 1.0), torch.where(diff > 0, torch.inf, 0.0)
    )
    if not ratio.numel():
        return Verdict.inequality(0.0, 1.0, 0.0, scale=1.0, notes=what)
    ratio = torch.where(torch.isnan(ratio), torch.inf, ratio)
    worst = tuple(int(i) for i in torch.unravel_index(ratio.argmax(), ratio.shape))
    where = "[" + ",".join(map(str, worst)) + "]"
    notes = (
        f"{what}; worst entry {where}: {float(A[worst]):.10g} vs {float(B[worst]):.10g}, {float(diff[worst]):.3g} "
        f"off; the float64 budget there is {float(allowed[worst]):.3g} ({budget})"
    )
    return Verdict.inequality(float(ratio.max()), 1.0, 0.0, scale=1.0, notes=notes)


def guard(check):
    """A kernel that raises or returns a malformed matrix on a valid case fails the check (with the reason)."""

    def guarded(subject: Subject, case: KernelCase) -> Verdict:
        try:
            return check(subject, case)
        except KernelError as exc:
            return Verdict.failure(str(exc))

    guarded.__name__ = check.__name__
    guarded.__doc__ = check.__doc__
    return guarded


@guard
def _symmetry(subject, case):
    K = subject(case.X, case.depth)
    return agreement(K, K.T, entry_budget(subject, case, K), "K = Kᵀ")


def _lambda_min(subject, case, side: str, notes: str) -> Verdict:
    """λ_min(K) against 0 with its certified error (eigvalsh backward error + N·entry budget,
    docs/tolerances.md#eigensolver, #weyl):
    ``side="lower"`` checks λ_min ≥ 0 (PSD), ``"upper"`` checks λ_min ≤ 0 (an exact zero eigenvalue)."""
    K = subject(case.X, case.depth)
    budget = entry_budget(subject, case, K)
    lam = spectra.lambda_min((K + K.T) / 2, entry_error=float(budget.max()))
    scale = max(float(K.diagonal().abs().max()), lam.error, 1e-300)
    return Verdict.inequality(
        lam.value, 0.0, lam.error, side=side, scale=scale, notes=f"{notes}; λ_min certified ± {lam.error:.2e}"
    )


@guard
def _psd(subject, case):
    return _lambda_min(subject, case, "lower", "λ_min ≥ 0")


@guard
def _diagonal(subject, case):
    K = subject(case.X, case.depth)
    expected = subject.claim.reference(case.X, subject.depth_for(case.depth)).diagonal().cpu()
    return agreement(
        K.diagonal(),
        expected,
        entry_budget(subject, case, K).diagonal(),
        f"K_ii = K_ref,ii: {subject.claim.diagonal_note()}",
    )


@guard
def _reference(subject, case):
    K = subject(case.X, case.depth)
    ref = subject.reference_kernel(case.X, subject.depth_for(case.depth)).cpu()
    return agreement(K, ref, entry_budget(subject, case, ref), "K = K_ref (independent implementation)")


def _permutation_of(n: int) -> torch.Tensor:
    """Reversal composed with a cyclic shift: moves every row when n ≥ 2, deterministic, no extra draw."""
    return torch.roll(torch.arange(n - 1, -1, -1), 1)


@guard
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


@guard
def _rotation(subject, case):
    K = subject(case.X, case.depth)
    Kq = subject(case.X @ _reflection(case.d), case.depth)
    return agreement(
        Kq,
        K,
        2 * entry_budget(subject, case, K),
        "K(XQ) = K(X), Q a Householder reflection (budget covers XQ's γ_d rounding)",
    )


@guard
def _scaling(subject, case):
    K = subject(case.X, case.depth)
    K2 = subject(2 * case.X, case.depth)
    return agreement(K2, 4 * K, 8 * entry_budget(subject, case, K), "K(2X) = 4K(X) (c = 2 is exact in binary)")


@guard
def _degenerate_zero(subject, case):
    """λ_min ≤ 0 on points that :func:`ntkverify.case.degeneracy` finds degenerate by A9 (i)–(ii), the clauses that
    hold for every bias-free homogeneous kernel; other points are out of scope, so a minimised counterexample keeps
    its degenerate pair."""
    why = degeneracy(case.X)
    if why is None:
        return Verdict.out_of_scope("no positively parallel pair and no zero row (docs/statements.md#A9 (i)–(ii))")
    return _lambda_min(subject, case, "upper", f"λ_min = 0 by docs/statements.md#A9 {why}")


def _spectrum_text(values: torch.Tensor) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in values) + "]"


@guard
def _lambda_min_agreement(subject, case):
    """|λ_min(K) − λ_min(K_ref)| ≤ ‖B‖₂ + both eigensolvers' errors (docs/accuracy.md#lambda-min).

    Weyl: |λ_min(K) − λ_min(K_ref)| ≤ ‖K − K_ref‖₂, and |K − K_ref| ≤ B entrywise (B the entry budget of
    faithful code, nonnegative) gives ‖K − K_ref‖₂ ≤ ‖|K − K_ref|‖₂ ≤ ‖B‖₂ (the spectral norm is monotone on
    nonnegative matrices), certified from above by λ_max(B) plus its own error. Each computed λ_min is within
    10·N·u·‖·‖₂ of the exact one (backward stability, :func:`ntkverify.spectra.spectrum`)."""
    K = subject(case.X, case.depth)
    ref = subject.reference_kernel(case.X, subject.depth_for(case.depth)).cpu()
    budget = entry_budget(subject, case, ref)
    mine, theirs = spectra.spectrum((K + K.T) / 2), spectra.spectrum(ref)
    allowed = spectra.lambda_max(budget).upper + mine.error + theirs.error
    gap = abs(mine.min().value - theirs.min().value)
    notes = (
        f"λ_min(K) = {mine.min().value:.6g}, λ_min(K_ref) = {theirs.min().value:.6g}: {gap:.3g} apart, "
        f"the float64 budget through Weyl is {allowed:.3g}; spectrum(K) = {_spectrum_text(mine.values)}, "
        f"spectrum(K_ref) = {_spectrum_text(theirs.values)}"
    )
    return Verdict.inequality(
        gap / allowed if allowed > 0 else (math.inf if gap else 0.0), 1.0, 0.0, scale=1.0, notes=notes
    )


def _has_reference(subject):
    return None if subject.claim.has_reference else "the claim names no reference kernel"


def _homogeneous(subject):
    return None if subject.claim.homogeneous else "the claimed kernel is not positively homogeneous (biases)"


def _homogeneous_everywhere(subject):
    """K(cX) = c²K(X) is checkable only when cX stays in the claim's domain, i.e. on all of R^d."""
    if subject.claim.domain != "any":
        return f"the claim's domain is the {subject.claim.domain}, which cX leaves"
    return _homogeneous(subject)


def _rotation_invariant(subject):
    return None if subject.claim.rotation_invariant else "the claim names no dot-product kernel"


_COMMON = dict(kind=Kind.DET, subjects=KERNELS, strategy=scaled_kernel_cases)

for prop in (
    Property(
        "well-formed-symmetric",
        "K is a finite n×n real matrix and K = Kᵀ",
        "definition of a kernel matrix",
        check=_symmetry,
        tolerance_rule="entrywise float64 budget (docs/accuracy.md#budget)",
        **_COMMON,
        figure=Figure.ASYMMETRY,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "psd",
        "λ_min(K) ≥ 0",
        "K = JJᵀ (NMM21 eq. (3)); limits of Gram matrices are PSD",
        check=_psd,
        cost=SPECTRUM,
        tolerance_rule="certified λ_min error: 10·N·u·‖K‖₂ + N·entry budget (docs/tolerances.md#eigensolver, #weyl)",
        **_COMMON,
    ),
    Property(
        "diagonal-identity",
        "K_ii equals the claim's diagonal (K⁽ᴸ⁾_ii = L‖x_i‖² in the seed normalisation)",
        "docs/kernels.md#relu-closed-forms (G⁽ˡ⁾_ii = ‖x_i‖², Ġ⁽ˡ⁾_ii = 1)",
        check=_diagonal,
        tolerance_rule="entry budget",
        applies=_has_reference,
        **_COMMON,
        figure=Figure.ENTRYWISE,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "reference-agreement",
        "K agrees entrywise with an independent implementation of the claimed kernel",
        "docs/kernels.md#recursion, #normalisations (NMM21 recursion; CS09 closed forms; DZPS19 H∞)",
        check=_reference,
        tolerance_rule="entry budget: faithful arccos code + reference + data-scale floor (docs/accuracy.md#budget)",
        applies=_has_reference,
        limits=("data whose squared norms underflow (‖x‖ < 1e-150) lose relative accuracy",),
        **_COMMON,
        figure=Figure.ENTRYWISE,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "lambda-min-agreement",
        "λ_min(K) equals λ_min(K_ref) on near-degenerate data (pairs at angles 1e-2…1e-8, duplicates, "
        "near-antipodal pairs, clusters) within the float64 budget",
        "Weyl's inequality; docs/accuracy.md#lambda-min",
        check=_lambda_min_agreement,
        kind=Kind.DET,
        subjects=KERNELS,
        strategy=near_degenerate_cases,
        tolerance_rule="‖B‖₂ of the entry budget B (docs/accuracy.md#budget) + both eigensolvers' 10·N·u·‖K‖₂",
        applies=_has_reference,
        figure=Figure.SPECTRA,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "permutation-equivariance",
        "K(ΠX) = Π K(X) Πᵀ",
        "docs/statements.md#A3",
        check=_permutation,
        tolerance_rule="2 × entry budget",
        **_COMMON,
        figure=Figure.ENTRYWISE,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "rotation-invariance",
        "K(XQ) = K(X) for orthogonal Q",
        "docs/statements.md#A3 (K depends on X only through XXᵀ)",
        check=_rotation,
        tolerance_rule="2 × entry budget",
        applies=_rotation_invariant,
        **_COMMON,
        figure=Figure.ENTRYWISE,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "scaling-homogeneity",
        "K(cX) = c² K(X) for c > 0 (bias-free ReLU)",
        "docs/statements.md#A3, docs/kernels.md#relu-closed-forms",
        check=_scaling,
        tolerance_rule="8 × entry budget (both sides, scale 4)",
        applies=_homogeneous_everywhere,
        **_COMMON,
        figure=Figure.ENTRYWISE,
        margin_unit=MarginUnit.ALLOWANCE,
    ),
    Property(
        "degenerate-zero-eigenvalue",
        "λ_min(K) = 0 when two inputs are positively parallel or one is zero",
        "docs/statements.md#A9 (i)–(ii), #B8",
        check=_degenerate_zero,
        kind=Kind.DET,
        subjects=KERNELS,
        strategy=degenerate_cases,
        cost=SPECTRUM,
        # A9 is a statement about bias-free kernels (rows scale with ‖x‖, so x and 2x give proportional rows);
        # with σ_b > 0 a parallel pair has a positive-definite 2×2 block (Σ⁽¹⁾ = σ_w²XXᵀ/d + σ_b²) and λ_min > 0.
        applies=_homogeneous,
        tolerance_rule="certified λ_min error: 10·N·u·‖K‖₂ + N·entry budget",
    ),
):
    register(prop)
