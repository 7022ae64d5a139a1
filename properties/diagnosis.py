"""Diagnosis of a failing kernel: what it computes instead of its claim (docs/accuracy.md#diagnosis).

A kernel that fails is evaluated on a small fixed panel of generic data (well away from ρ = ±1, so rounding
plays no part) and compared with nearby kernels:

* **a constant factor**: K/K_ref is the same number c on every entry (to 1e-6). The factor is named with its
  likely causes: 2^{±(L−1)} (the factor c_σ = 2 per layer of the seed normalisation missing or doubled),
  d^{±1} (a fan-in normalisation of the inputs), ½ or 2 (one expectation without, or with an extra, factor 2);
* **another depth**: K equals c·K_ref at depth L − 1 or L + 1 ("K equals the depth L−1 kernel": hidden layers
  counted for weight matrices, or a loop one step short or long);
* **another parameterisation**: K equals the standard parameterisation's Θ (Jacot et al. 2018) with other σ_w,
  σ_b, or at another depth, fitted by least squares over (σ_w, σ_b) for depths L − 1, L, L + 1.

Other helpers can add their own diagnoses with :func:`register_diagnoser` (a function of the subject and the
panel returning sentences), e.g. suggestions that depend on the data's domain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ntkverify import analytic
from ntkverify.properties.subjects import Claim, KernelError, Subject

#: relative spread below which K/K_ref counts as constant, and relative error below which a fit counts as exact:
#: far above the √u-level diagonal errors of arccos-based code (~1e-8), far below any structural difference
MATCH = 1e-6
PANEL_SHAPES = ((6, 3), (5, 3))  # d = 3: never a power of 2, so d and 2^(L−1) cannot be confused
PANEL_DEPTH = 3

Diagnoser = Callable[[Subject, list[torch.Tensor]], list[str]]
_DIAGNOSERS: list[Diagnoser] = []


def register_diagnoser(fn: Diagnoser) -> Diagnoser:
    """Add a diagnosis (subject, panel) → sentences, run after the built-in ones."""
    _DIAGNOSERS.append(fn)
    return fn


def diagnosis_panel() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(n, d, dtype=torch.float64, generator=g) for n, d in PANEL_SHAPES]


def _evaluate(subject: Subject, panel: list[torch.Tensor], depth: int) -> list[torch.Tensor] | None:
    try:
        return [subject(X, depth) for X in panel]
    except KernelError:
        return None


def _constant_ratio(Ks: list[torch.Tensor], refs: list[torch.Tensor]) -> float | None:
    """c with K = c·K_ref on every entry of the panel (entries of K_ref above 1e-3 of its largest), else None."""
    ratios = []
    for K, ref in zip(Ks, refs):
        big = ref.abs() > 1e-3 * float(ref.abs().max())
        if bool(((K.abs() > 0) & ~big & (ref.abs() == 0)).any()):
            return None
        ratios.append((K[big] / ref[big]).flatten())
    r = torch.cat(ratios)
    if not r.numel():
        return None
    c = float(r.median())
    if c == 0 or float((r - c).abs().max()) > MATCH * abs(c):
        return None
    return c


def _near(value: float, target: float) -> bool:
    return abs(value - target) <= 1e-6 * abs(target)


def factor_causes(c: float, L: int, d: int) -> list[str]:
    """Likely causes of a constant factor c between a kernel and its claim (module docstring)."""
    causes = []
    if L > 1 and _near(c, 2.0 ** -(L - 1)):
        causes.append(
            f"2^-(L−1) = 1/{2 ** (L - 1)}: the factor 2 per layer (c_σ = 2: Σ = 2E[σσ], Ġ = 2E[σ'σ']) is missing"
        )
    if L > 1 and _near(c, 2.0 ** (L - 1)):
        causes.append(f"2^(L−1) = {2 ** (L - 1)}: a factor 2 per layer too many")
    if _near(c, 1 / d):
        causes.append(f"1/d = 1/{d}: the inputs are scaled by 1/d (a fan-in normalisation the claim does not have)")
    if _near(c, d):
        causes.append(f"d = {d}: the fan-in normalisation 1/d of the inputs is missing")
    if _near(c, 0.5):
        causes.append("½: one expectation without its factor 2, or a ½ the claim does not have (as in H∞)")
    if _near(c, 2.0):
        causes.append("2: a factor 2 too many (e.g. 2E[σσ] where the claim has E[σσ], or H∞'s ½ missing)")
    return causes


def _reference(claim: Claim, X: torch.Tensor, depth: int) -> torch.Tensor:
    return claim.reference(X, depth).cpu()


def _constant_factor(subject: Subject, panel, depth: int, Ks) -> list[str]:
    c = _constant_ratio(Ks, [_reference(subject.claim, X, depth) for X in panel])
    if c is None or _near(c, 1.0):
        return []
    causes = factor_causes(c, depth, panel[0].shape[1])
    head = f"K = {c:.10g} × K_ref on every entry (a constant factor)"
    return [head + (": likely " + "; or ".join(causes) if causes else "")]


def _other_depth(subject: Subject, panel, depth: int, Ks) -> list[str]:
    if subject.claim.name == "two-layer-h":
        return []
    found = []
    for other in (depth - 1, depth + 1):
        if other < 1:
            continue
        c = _constant_ratio(Ks, [_reference(subject.claim, X, other) for X in panel])
        if c is None:
            continue
        which = "L−1" if other < depth else "L+1"
        factor = "" if _near(c, 1.0) else f" times {c:.10g}"
        found.append(
            f"K equals the depth {which} kernel (depth {other}){factor}: L counts weight matrices (L − 1 hidden layers)"
        )
    return found


def _standard_fit(subject: Subject, panel, depth: int, Ks) -> list[str]:
    """Least-squares fit of Θ(σ_w, σ_b) at depths L−1, L, L+1 (module docstring)."""
    from scipy.optimize import least_squares

    if subject.claim.name != "relu-ntk":
        return []
    scale = max(float(K.abs().max()) for K in Ks)
    if not scale > 0:
        return []

    def residual(p, L):
        return np.concatenate(
            [
                ((analytic.standard_ntk(X, L, sigma_w=p[0], sigma_b=p[1]) - K) / scale).flatten().numpy()
                for X, K in zip(panel, Ks)
            ]
        )

    best = None
    for L in (depth, depth - 1, depth + 1):
        if L < 1:
            continue
        for start in ((1.0, 0.0), (1.5, 0.5), (0.7, 1.0)):
            fit = least_squares(residual, start, args=(L,), bounds=([1e-3, 0.0], [20.0, 20.0]), xtol=1e-14, ftol=1e-14)
            err = float(np.abs(fit.fun).max())
            if best is None or err < best[0]:
                best = (err, L, fit.x)
        if best[0] < MATCH:
            break
    err, L, (sw, sb) = best
    if err >= MATCH:
        return []
    if sb < 1e-3 and float(np.abs(residual((sw, 0.0), L)).max()) < MATCH:  # a bias-free fit: σ_b = 0 exactly
        sb = 0.0
    claim = subject.claim
    if (
        claim.standard
        and L == depth
        and abs(sw - claim._sigmas()["sigma_w"]) < 1e-6
        and abs(sb - (claim.sigma_b or 0)) < 1e-6
    ):
        return []
    sigma_b = sb
    at = "" if L == depth else f" at depth {L} (the claim says {depth})"
    return [
        f"K fits the standard parameterisation with σ_w = {sw:.6g}, σ_b = {sigma_b:.6g}{at}: "
        f"check it with --depth {L} --sigma-w {sw:.6g} --sigma-b {sigma_b:.6g}"
    ]


def diagnose(subject: Subject) -> list[str]:
    """Sentences saying what a failing kernel computes instead of its claim (empty when nothing fits)."""
    if not subject.claim.has_reference:
        return []
    panel = diagnosis_panel()
    depth = subject.depth_for(PANEL_DEPTH)
    Ks = _evaluate(subject, panel, depth)
    if Ks is None or not all(bool(torch.isfinite(K).all()) for K in Ks):
        return []
    c = _constant_ratio(Ks, [_reference(subject.claim, X, depth) for X in panel])
    if c is not None and _near(c, 1.0):
        return []  # the kernel is its claim on generic data: nothing to diagnose here
    factor = _constant_factor(subject, panel, depth, Ks)
    found = factor + _other_depth(subject, panel, depth, Ks)
    if not found or (factor and ": likely" not in factor[0]):  # nothing fits, or a factor without a named cause
        found += _standard_fit(subject, panel, depth, Ks)
    for extra in _DIAGNOSERS:
        found += extra(subject, panel)
    return found
