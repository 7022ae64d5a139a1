"""``explicit-bounds``: the explicit-constant statements where they can fail.

Statements. (i) The sampler behind every sphere statement: for x, y independent and uniform on S^{d−1},
ρ² = ⟨x, y⟩² ~ Beta(½, (d−1)/2) exactly. (ii) Du et al. 2019 (ICLR) Thm 3.1: if no two inputs are parallel,
λ_min(H∞) > 0. (iii) The sphere's max-correlation bound (Ball 1997 Lemma 2.2 with a union bound):
ρ_max ≤ t_δ = √(2 ln(N(N−1)/δ)/d) with probability ≥ 1 − δ (``ntkverify.bounds``' ``sphere_correlation_max``).

Design.

* (i) Grid: d ∈ {3, 16, 128, 512}, 4 seeds; per point 2000 independent pairs (disjoint rows) of the engine's
  sphere sampler. Statistic: the Kolmogorov–Smirnov p-value of ρ² against Beta(½, (d−1)/2). Decision: rejected
  if any p-value is below α = 0.01 split over the points (Bonferroni), else supported: the false-alarm rate is
  ≤ 1 %. Planted alternative: a sampler that normalises uniform [0, 1]^d draws (``rand`` for ``randn``): must
  reject. Power: the fraction of its points the per-point rule rejects.
* (ii) Grid: N = 16 unit vectors in R⁸ with one near-parallel pair at angle θ ∈ {10⁻¹, 10⁻³, …, 10⁻¹¹}, 4 seeds.
  Statistic: the certified interval of λ_min(H∞) (eigvalsh error bar plus N times the entry error of
  docs/tolerances.md#identity). Decision (DET): rejected if an interval lies below 0 (a PSD kernel with a
  certified negative eigenvalue), supported if every interval lies above 0, else inconclusive (θ below what
  float64 resolves). λ_min(H∞) ≈ θ/(4π) for small θ, so positivity is certified down to θ ≈ 10⁻¹¹. Negative
  control: θ = 0 (a duplicated row): positivity must not be certified.
* (iii) Shapes (N, d) = (8, 512) and (16, 2048), δ = 0.05; per shape M trials in batches of 50 seeds, M the
  smallest number for which the one-sided binomial test of "violation rate ≤ δ" at level 0.005 per shape has
  80 % power against a violation rate of 2δ (M = 400 here, computed exactly; the engine shows 1–2
  violations in 400, far below δ). Planted alternative: the
  ``rand`` sampler above (non-centred data, ρ_max ≈ ¾): must reject.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats

from ntkverify import analytic, bounds, spectra
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import figure, save
from ntkverify.tolerances import limiting_entry_error

NAME = "explicit-bounds"
ALPHA = 0.01
PAIRS = 2000
LAW_DIMS = (3, 16, 128, 512)
ANGLES = tuple(10.0**-e for e in (1, 3, 5, 7, 9, 11))
POS_N, POS_D = 16, 8
SHAPES = ((8, 512), (16, 2048))
DELTA = 0.05
BATCH = 50
POWER = 0.8


def trials_for_power(delta: float, alpha: float, power: float) -> tuple[int, int]:
    """The smallest multiple M of :data:`BATCH` and the critical count k such that P(Bin(M, δ) ≥ k) ≤ α and
    P(Bin(M, 2δ) ≥ k) ≥ power."""
    M = BATCH
    while True:
        k = int(stats.binom.isf(alpha, M, delta)) + 1
        if stats.binom.sf(k - 1, M, 2 * delta) >= power:
            return M, k
        M += BATCH


def _sample(p: Point, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    if p.arm.endswith(":rand"):  # the planted sampler: normalised uniform [0, 1]^d draws
        X = torch.rand(n, d, generator=g, dtype=torch.float64)
        return X / torch.linalg.vector_norm(X, dim=1, keepdim=True)
    return get_distribution("unit_sphere").sample(n, d, g, device="cpu")


def grid(plan: Plan) -> list[Point]:
    seeds = plan.seeds(4)
    points = [
        point(NAME, arm, s, plan, part="law", d=d) for arm in ("law", "law:rand") for d in LAW_DIMS for s in seeds
    ]
    points += [point(NAME, "positivity", s, plan, part="positivity", theta=t) for t in ANGLES for s in seeds]
    points += [point(NAME, "positivity:parallel", s, plan, part="positivity", theta=0.0) for s in seeds]
    M, _ = trials_for_power(DELTA, ALPHA / (2 * len(SHAPES)), POWER)
    batches = plan.seeds(M // BATCH)
    for arm in ("max-correlation", "max-correlation:rand"):
        points += [point(NAME, arm, s, plan, part="max-correlation", N=N, d=d) for N, d in SHAPES for s in batches]
    return points


def _law(p: Point, g) -> dict[str, float]:
    d = p["d"]
    X = _sample(p, 2 * PAIRS, d, g)
    r2 = ((X[0::2] * X[1::2]).sum(dim=1) ** 2).numpy()
    return {"p_value": float(stats.kstest(r2, stats.beta(0.5, (d - 1) / 2).cdf).pvalue)}


def _positivity(p: Point, g) -> dict[str, float]:
    theta = p["theta"]
    X = _sample(p, POS_N, POS_D, g)
    u, v = X[0], X[1] - (X[1] @ X[0]) * X[0]
    v = v / torch.linalg.vector_norm(v)
    X[1] = math.cos(theta) * u + math.sin(theta) * v  # the pair (x_0, x_1) at angle θ
    H = analytic.h_infinity(X, device="cpu")
    lam = spectra.lambda_min(H, entry_error=limiting_entry_error(POS_D, 2, 1.0))
    return {"lambda_min": lam.value, "error": lam.error}


def _max_correlation(p: Point, g) -> dict[str, float]:
    bound = bounds.get_bound("sphere_correlation_max")
    violations = sum(
        not bound.margin(bounds.KernelCase(_sample(p, p["N"], p["d"], g), 2, delta=DELTA)).holds for _ in range(BATCH)
    )
    return {"violations": float(violations)}


def measure(p: Point) -> dict[str, float]:
    g = torch.Generator().manual_seed(p.seed)
    return {"law": _law, "positivity": _positivity, "max-correlation": _max_correlation}[p["part"]](p, g)


def _law_rule(records, arm, alpha, expected) -> tuple[Outcome, float]:
    ps = [r.values["p_value"] for r in records if r.point.arm == arm]
    rejected = sum(p < alpha for p in ps)
    verdict = "rejected" if rejected else "supported"
    reason = f"{rejected}/{len(ps)} KS p-values below {alpha:.2g} (smallest {min(ps):.3g})"
    return Outcome(f"ρ² ~ Beta(½, (d−1)/2), {arm}", verdict, reason, expected), rejected / len(ps)


def _positivity_rule(records, arm, expected) -> Outcome:
    rs = [r for r in records if r.point.arm == arm]
    negative = [r for r in rs if r.values["lambda_min"] + r.values["error"] < 0]
    unresolved = [r for r in rs if abs(r.values["lambda_min"]) <= r.values["error"]]
    if negative:
        verdict, reason = "rejected", f"{len(negative)} certified negative λ_min(H∞)"
    elif unresolved:
        thetas = sorted({r.point["theta"] for r in unresolved})
        verdict = "rejected" if arm.endswith("parallel") else "inconclusive"
        reason = f"positivity not certified at θ ∈ {thetas} ({len(unresolved)}/{len(rs)} points)"
    else:
        smallest = min(r.point["theta"] for r in rs)
        verdict, reason = "supported", f"λ_min(H∞) certified > 0 on all {len(rs)} points, down to θ = {smallest:g}"
    return Outcome(f"Du et al. positivity, {arm}", verdict, reason, expected)


def _binomial_rule(records, arm, N, d, alpha, expected) -> Outcome:
    rs = [r for r in records if r.point.arm == arm and r.point["N"] == N and r.point["d"] == d]
    M = BATCH * len(rs)
    F = int(sum(r.values["violations"] for r in rs))
    p_value = float(stats.binom.sf(F - 1, M, DELTA)) if F else 1.0
    verdict = "rejected" if p_value < alpha else "supported"
    reason = f"{F}/{M} violations of ρ_max ≤ t_δ, P(Bin(M, δ) ≥ {F}) = {p_value:.3g} vs α = {alpha:.3g}"
    return Outcome(f"max correlation, N={N}, d={d}, {arm}", verdict, reason, expected, {"violations": F, "trials": M})


def decide(records: list[Record], plan: Plan) -> Decision:
    n_law = sum(r.point.arm == "law" for r in records)
    law, _ = _law_rule(records, "law", ALPHA / (2 * n_law), "supported")
    law_control, law_power = _law_rule(records, "law:rand", ALPHA / (2 * n_law), "rejected")
    alpha_b = ALPHA / (2 * len(SHAPES))
    M, _ = trials_for_power(DELTA, alpha_b, POWER)
    binomial_power = float(stats.binom.sf(trials_for_power(DELTA, alpha_b, POWER)[1] - 1, M, 2 * DELTA))
    series = [law, _positivity_rule(records, "positivity", "supported")]
    series += [_binomial_rule(records, "max-correlation", N, d, alpha_b, "supported") for N, d in SHAPES]
    controls = [law_control, _positivity_rule(records, "positivity:parallel", "rejected")]
    controls += [_binomial_rule(records, "max-correlation:rand", N, d, alpha_b, "rejected") for N, d in SHAPES]
    power = min(law_power, binomial_power)
    against = f"the rand sampler (law) and a violation rate 2δ = {2 * DELTA:g} (max correlation, M = {M})"
    return combine(series, power, ALPHA, against, controls, {})


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    fig, ax = figure()
    for arm, style in (("positivity", "o"), ("positivity:parallel", "x")):
        rs = [r for r in records if r.point.arm == arm]
        thetas = [max(r.point["theta"], 1e-13) for r in rs]
        ax.plot(thetas, [max(r.values["lambda_min"], 1e-18) for r in rs], style, label=f"λ_min(H∞), {arm}")
        ax.plot(thetas, [r.values["error"] for r in rs], "_", color="grey")
    t = np.array(ANGLES)
    ax.plot(t, t / (4 * math.pi), "k--", lw=0.8, label="θ/(4π)")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="angle θ of the closest pair (θ = 0 drawn at 1e-13)",
        ylabel="λ_min(H∞) (grey: certified error bar)",
        title=f"{NAME}: {decision.verdict}",
    )
    ax.legend(fontsize=7)
    return [save(fig, folder, f"{NAME}-positivity.png")]


STUDY = register(
    Study(
        name=NAME,
        statement="The sphere sampler follows the exact law ρ² ~ Beta(½, (d−1)/2); no two parallel inputs ⇒ "
        "λ_min(H∞) > 0 (certified); ρ_max ≤ √(2 ln(N(N−1)/δ)/d) with probability ≥ 1 − δ.",
        citation="Du, Zhai, Póczos & Singh (ICLR 2019) Thm 3.1; Ball (1997) Lemma 2.2; docs/studies.md#explicit-bounds",
        design=__doc__,
        default_minutes=1.0,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
    )
)
