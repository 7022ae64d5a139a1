"""``wide-layer``: NMM21's finite-width theorem — one layer of width of order N is what λ_min needs.

Statement (NMM21, the finite-width and feature-matrix theorems, as restated by Karhadkar, Murray & Montúfar
2024 Thm 4.1). With one hidden layer k of width n_k = Ω̃(N) and the other widths polylogarithmic,
λ_min(F_k F_kᵀ) = Θ(d·Π_{l≤k} n_l/2), i.e. the normalised feature Gram (Π_{l≤k} 2/n_l)·F_k F_kᵀ keeps a
constant fraction of its limit λ_min(G⁽ᵏ⁺¹⁾), and λ_min of the normalised empirical NTK is of the order of the
limit's. Below n_k = N the Gram is singular: rank F_k ≤ n_k (a deterministic fact).

Design.

* Grid: N points on the sphere of radius √d, d = 32; N = 1024 at the default budget (on a GPU too, with 6
  seeds), 512 below half of it and 256 below a fifth (the transition is already visible there; a point costs
  O(α·N³) for the Gram of the N × αN features and O(N³) for the eigenvalues: measured 0.8–2 s of one core at
  N = 1024, 17 s for the 15 points of a seed); L = 4; the wide layer at k ∈ {1, 2, 3} with width α·N,
  α ∈ {½, 1, 2, 4, 8}; the other hidden widths 64; 3 seeds per point (each draws the data and the weights).
  N stays at 1024 on a GPU: at fixed other widths 64 the ratio ρ of the deepest k falls with N (at α = 4:
  0.06 at N = 256, 0.038 at N = 1024), where the theorem lets the other widths grow polylogarithmically, so
  a larger N would test a regime outside the calibration of c.
* Statistics per point: the feature ratio ρ = (Π_{l≤k} 2/n_l)·λ_min(F_k F_kᵀ)/λ_min(G⁽ᵏ⁺¹⁾) and the kernel ratio
  κ = λ_min((Π 2/n_l)·K̄)/λ_min(K⁽ᴸ⁾).
* Decision, DET part: for α < 1 the Gram is certified singular, |λ̂_min| ≤ its error bar (eigvalsh backward error plus
  the Gram's rounding, γ_n·max‖f_i‖² per entry, docs/tolerances.md#identity); a certified positive λ_min there
  is a bug and rejects the study outright.
* Decision, PROB part ("a constant fraction"): for each k, the geometric mean of ρ over the seeds at α = 4 and at α = 8
  has a bootstrap lower bound (one-sided, level 0.01 split over the 6 rules) of at least c = 0.02; it is
  rejected when the symmetric upper bound is below c. Calibration at N = 256: ρ at α = 4 is 0.55 (k = 1),
  0.18 (k = 2), 0.06 (k = 3); at N = 1024: 0.39, 0.14, 0.038 — smaller for deeper k because the 64-wide
  layers below k make F_k's Gram approach a finite-width kernel, not G⁽ᵏ⁺¹⁾ — so c = 0.02 is half the smallest
  at N = 1024, and 4–5 orders of magnitude above the control.
* Power: against the alternative "ρ = 0.01 at α ≥ 4" (half the threshold: a layer effectively narrower than
  needed), from the bootstrap standard errors of log ρ; below 0.8 the study is inconclusive.
* Negative control: the same rule at α = 1 (n_k = N, which a reading "n_k ≥ N suffices" would allow) must
  reject: there ρ is 1e-11 … 1e-6, so the theorem's constant C > 1 is needed.
* Not decided, reported: κ. At N = 256 with 64-wide other layers κ ≈ 0.4 already at n_k = N/2, since the
  Hadamard products (F_{l−1}F_{l−1}ᵀ)∘(B_lB_lᵀ) of two 64-wide Grams have rank up to 4096 > N: the wide layer
  is sufficient for the NTK but not necessary here, so a rule on κ would have no control to reject. κ at
  α = ½ and 8 is in the fitted constants and its curve in the plot.
* Fitted constants: ρ at α = 8 and κ at α = ½ and 8 for each k (geometric mean, bootstrap 99 % interval).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ntkverify import spectra
from ntkverify.architecture import Architecture
from ntkverify.empirical import normalised_empirical_ntk
from ntkverify.features import feature_matrices
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import figure, finish
from ntkverify.studies.statistics import BOOTSTRAP_REPLICATES, power_against
from ntkverify.tolerances import gamma

NAME = "wide-layer"
D, DEPTH, OTHER_WIDTH = 32, 4, 64
ALPHAS = (0.5, 1.0, 2.0, 4.0, 8.0)
WIDE = (4.0, 8.0)
CONTROL_ALPHA = 1.0
THRESHOLD = 0.02
ALTERNATIVE = 0.01
ALPHA = 0.01


#: (N, seeds) per device at the default budget; on a CPU, N = 256, 512, 1024 from 0, 0.2, 0.5 times it.
GRID = {"cpu": (1024, 3), "cuda": (1024, 6)}
CPU_SIZES = ((0.5, 1024), (0.2, 512), (0.0, 256))


def size(plan: Plan) -> int:
    if plan.gpu:
        return GRID["cuda"][0]
    return next(N for least, N in CPU_SIZES if plan.scale >= least)


def seed_count(plan: Plan) -> int:
    return GRID[plan.device][1]


def grid(plan: Plan) -> list[Point]:
    N = size(plan)
    return [
        point(NAME, "main" if a != CONTROL_ALPHA else "control:n_k=N", s, plan, N=N, k=k, alpha=a)
        for k in range(1, DEPTH)
        for a in ALPHAS
        for s in plan.seeds(seed_count(plan))
    ]


def measure(p: Point) -> dict[str, float]:
    N, k, a = p["N"], p["k"], p["alpha"]
    g = torch.Generator().manual_seed(p.seed)
    X = get_distribution("sphere").sample(N, D, g, device="cpu")
    widths = [OTHER_WIDTH] * (DEPTH - 1)
    widths[k - 1] = int(a * N)
    arch = Architecture(D, tuple(widths))
    model = arch.build(g, device=p.device)
    F = feature_matrices(model, X.to(p.device)).F[k]
    scale = math.prod(2 / n for n in widths[:k])
    gram = scale * (F @ F.T)
    # rounding of the Gram product: |δ(FFᵀ)_ij| ≤ γ_n ‖f_i‖‖f_j‖ (docs/tolerances.md#identity)
    entry = gamma(F.shape[1]) * scale * float((F * F).sum(dim=1).max())
    lam_gram = spectra.lambda_min(gram, entry_error=entry)
    layers = arch.analytic_layers(X, device="cpu")
    lam_g = spectra.lambda_min(layers.G[k]).value
    lam_kbar = spectra.lambda_min(normalised_empirical_ntk(model, X.to(p.device))).value
    lam_k = spectra.lambda_min(layers.K).value
    return {
        "gram_lambda_min": lam_gram.value,
        "gram_error": lam_gram.error,
        "feature_ratio": lam_gram.value / lam_g,
        "kernel_ratio": lam_kbar / lam_k,
    }


def _log_geometric_lower(values: list[float], alpha: float, seed: int = 0) -> tuple[float, float, float]:
    """log of the geometric mean, its bootstrap standard error and one-sided lower bound (values clipped at a
    tiny positive number: a singular Gram is a ratio of 0)."""
    y = np.log(np.maximum(np.asarray(values, dtype=float), 1e-12))
    boot = np.random.default_rng(seed).choice(y, size=(BOOTSTRAP_REPLICATES, len(y))).mean(axis=1)
    return float(y.mean()), float(boot.std(ddof=1)), float(np.quantile(boot, alpha))


def _rule(records: list[Record], k: int, a: float, stat: str, alpha: float, expected: str):
    values = [r.values[stat] for r in records if r.point["k"] == k and r.point["alpha"] == a]
    centre, se, low = _log_geometric_lower(values, alpha)
    if low >= math.log(THRESHOLD):
        verdict = "supported"
    elif centre + (centre - low) < math.log(THRESHOLD):
        verdict = "rejected"
    else:
        verdict = "inconclusive"
    name = f"{stat} k={k}, n_k={a:g}N"
    reason = f"geometric mean {math.exp(centre):.3g}, lower bound {math.exp(low):.3g} vs c = {THRESHOLD}"
    stats = {"estimate": math.exp(centre), "low": math.exp(low), "se_log": se}
    return Outcome(name, verdict, reason, expected, stats), se


def _rank(records: list[Record]) -> Outcome:
    narrow = [r for r in records if r.point["alpha"] < 1]
    bad = [r for r in narrow if abs(r.values["gram_lambda_min"]) > r.values["gram_error"]]
    verdict = "rejected" if bad else "supported"
    reason = f"{len(narrow) - len(bad)}/{len(narrow)} narrow-layer Grams certified singular (|λ̂| ≤ error bar)"
    return Outcome("rank deficit for n_k < N (DET)", verdict, reason)


def decide(records: list[Record], plan: Plan) -> Decision:
    ks = sorted({r.point["k"] for r in records})
    alpha = ALPHA / (len(ks) * len(WIDE))
    outcomes = [_rule(records, k, a, "feature_ratio", alpha, "supported") for k in ks for a in WIDE]
    series = [_rank(records)] + [o for o, _ in outcomes]
    distance = math.log(THRESHOLD) - math.log(ALTERNATIVE)
    power = min(power_against(se, distance, alpha) for _, se in outcomes)
    controls = [_rule(records, k, CONTROL_ALPHA, "feature_ratio", alpha, "rejected")[0] for k in ks]
    constants = {}
    for k in ks:
        for stat, a in (("feature_ratio", max(WIDE)), ("kernel_ratio", max(WIDE)), ("kernel_ratio", min(ALPHAS))):
            values = [r.values[stat] for r in records if r.point["k"] == k and r.point["alpha"] == a]
            centre, _, low = _log_geometric_lower(values, ALPHA / 2)
            high = 2 * centre - low
            constants[f"{stat} k={k}, n_k={a:g}N"] = {
                "value": math.exp(centre),
                "low": math.exp(low),
                "high": math.exp(high),
            }
    against = f"a ratio of {ALTERNATIVE} at n_k ≥ 4N (a layer effectively narrower than N)"
    return combine(series, power, ALPHA, against, controls, constants)


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    fig, axes = figure(9, 4, panels=2)
    for ax, stat, title in zip(
        axes,
        ("feature_ratio", "kernel_ratio"),
        ("(Π 2/n_l)λ_min(F_kF_kᵀ)/λ_min(G⁽ᵏ⁺¹⁾)", "λ_min(normalised K̄)/λ_min(K⁽ᴸ⁾)"),
    ):
        for k in sorted({r.point["k"] for r in records}):
            by = {}
            for r in records:
                if r.point["k"] == k:
                    by.setdefault(r.point["alpha"], []).append(max(r.values[stat], 0.0))
            alphas = sorted(by)
            ax.plot(alphas, [np.mean(by[a]) for a in alphas], "-o", ms=3, label=f"wide layer k={k}")
        ax.axhline(THRESHOLD, color="k", ls="--", lw=0.8, label=f"c = {THRESHOLD}")
        ax.axvline(1.0, color="grey", ls=":", lw=0.8)
        ax.set(xscale="log", xlabel="n_k / N", title=title)
        ax.set_xticks(list(ALPHAS), [f"{a:g}" for a in ALPHAS])
        ax.minorticks_off()
        ax.title.set_fontsize(8)
    return [finish(fig, folder, f"{NAME}-transition.png", f"{NAME}: {decision.verdict}")]


STUDY = register(
    Study(
        name=NAME,
        statement="One hidden layer of width C·N (C > 1) keeps λ_min of the normalised feature Gram and of the "
        "normalised empirical NTK a constant fraction of the limit's; below width N the feature Gram is singular.",
        citation="NMM21 finite-width and feature-matrix theorems (Karhadkar, Murray & Montúfar 2024 Thm 4.1); "
        "docs/studies.md#wide-layer",
        design=__doc__,
        default_minutes=3.0,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
        subjects=("feature-matrices", "empirical-ntk"),
    )
)
