"""``lambda-min-probability``: the failure-probability term of NMM21's limiting theorem decays with d.

Statement (NMM21, limiting-NTK theorem): λ_min(K⁽ᴸ⁾) ≥ μ_r(σ)²·Ω(d) fails with probability at most
N e^{−Ω(d)} + N² e^{−Ω(d·N^{−2/(r−0.5)})}, which falls exponentially in d at fixed N.

Design.

* Grid: N = 256, L = 2, sphere of radius √d, d ∈ {4, 6, …, 24}; M = 200 independent data draws per d (100 below
  half the default budget), in batches of 20 draws per grid point.
* Statistic: the failure frequency F/M of λ_min(K⁽²⁾)/(L·d) < c with c = 0.05 (the ratio concentrates near
  0.005 at d = 4, 0.06 at d = 12 and 0.097 at d = 24, so c puts the transition inside the grid), with its
  Clopper–Pearson interval at level α split over the d values (α = 0.01 in all).
* Decision: supported when (a) the interval at d = 24 lies below the interval at d = 4 (a significant decay),
  (b) no interval lies entirely above the interval at the previous d (no significant increase: monotone up to
  noise) and (c) the log-linear fit of log((F + ½)/(M + 1)) against d has a negative slope; rejected when (a)
  or (b) fails.
* Power: against "P falls by only 0.5 between d = 4 and d = 24", from the normal approximation of the two
  Clopper–Pearson intervals (≈ 1 at M = 200).
* Negative control (outside the assumptions): points in a random 4-dimensional subspace (``low_rank``); their
  intrinsic dimension does not grow with d, so P stays at 1: the rule must reject.
* Fitted constant: the log-linear slope of the failure probability in d.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import norm

from ntkverify import analytic, spectra
from ntkverify.distributions import LowRank
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import figure, finish
from ntkverify.studies.statistics import clopper_pearson, ols_slope

NAME = "lambda-min-probability"
N, DEPTH, C = 256, 2, 0.05
DIMS = tuple(range(4, 25, 2))
BATCH = 20
ALPHA = 0.01
DROP = 0.5
CONTROL_RANK = 4


def draws(plan: Plan) -> int:
    return 200 if plan.scale >= 0.5 else 100


def grid(plan: Plan) -> list[Point]:
    batches = plan.seeds(draws(plan) // BATCH)
    return [point(NAME, arm, s, plan, d=d) for arm in ("main", "control:low-rank") for d in DIMS for s in batches]


def measure(p: Point) -> dict[str, float]:
    law = get_distribution("sphere") if p.arm == "main" else LowRank(CONTROL_RANK)
    g = torch.Generator().manual_seed(p.seed)
    d = p["d"]
    failures = 0
    for _ in range(BATCH):
        X = law.sample(N, d, g, device="cpu")
        failures += spectra.lambda_min(analytic.limiting_ntk(X, DEPTH, device="cpu")).value / (DEPTH * d) < C
    return {"failures": float(failures)}


def _counts(records: list[Record], arm: str) -> list[tuple[int, int, int]]:
    by: dict[int, list[float]] = {}
    for r in records:
        if r.point.arm == arm:
            by.setdefault(r.point["d"], []).append(r.values["failures"])
    return [(d, int(sum(f)), BATCH * len(f)) for d, f in sorted(by.items())]


def _rule(counts, alpha: float, expected: str, name: str) -> Outcome:
    intervals = [clopper_pearson(F, M, alpha) for _, F, M in counts]
    decay = intervals[-1][1] < intervals[0][0]
    increases = [counts[i + 1][0] for i in range(len(counts) - 1) if intervals[i + 1][0] > intervals[i][1]]
    ds = np.array([d for d, _, _ in counts], dtype=float)
    slope = float(ols_slope(ds, np.log([(F + 0.5) / (M + 1) for _, F, M in counts])))
    if not decay or increases:
        verdict = "rejected"
    else:
        verdict = "supported" if slope < 0 else "inconclusive"
    reason = (
        f"P(d={counts[0][0]}) ∈ [{intervals[0][0]:.3f}, {intervals[0][1]:.3f}], "
        f"P(d={counts[-1][0]}) ∈ [{intervals[-1][0]:.3f}, {intervals[-1][1]:.3f}]; "
        f"significant increases at d = {increases or 'none'}; log-linear slope {slope:+.3f} per unit of d"
    )
    return Outcome(name, verdict, reason, expected, {"slope": slope})


def decide(records: list[Record], plan: Plan) -> Decision:
    alpha = ALPHA / len(DIMS)
    main = _rule(_counts(records, "main"), alpha, "supported", "sphere, N=256, L=2")
    control = _rule(_counts(records, "control:low-rank"), alpha, "rejected", f"control: rank-{CONTROL_RANK} data")
    M = draws(plan)
    z, se = norm.isf(alpha / 2), 0.5 / math.sqrt(M)
    power = float(norm.cdf((DROP - 2 * z * se) / (math.sqrt(2) * se)))
    slope = main.statistic["slope"]
    constants = {"d log P / d d (sphere, N=256, L=2)": {"value": slope, "low": math.nan, "high": math.nan}}
    return combine([main], power, ALPHA, f"P falling by only {DROP} between d = 4 and d = 24", [control], constants)


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    fig, ax = figure()
    alpha = ALPHA / len(DIMS)
    for arm, label in (("main", "sphere"), ("control:low-rank", f"rank-{CONTROL_RANK} subspace (control)")):
        counts = _counts(records, arm)
        ds = [d for d, _, _ in counts]
        p = [F / M for _, F, M in counts]
        ci = [clopper_pearson(F, M, alpha) for _, F, M in counts]
        ax.errorbar(
            ds,
            p,
            yerr=[[pi - lo for pi, (lo, _) in zip(p, ci)], [hi - pi for pi, (_, hi) in zip(p, ci)]],
            fmt="-o",
            ms=3,
            capsize=2,
            label=label,
        )
    ax.set(xlabel="d", ylabel=f"P(λ_min/(L·d) < {C})")
    return [finish(fig, folder, f"{NAME}-probability.png", f"{NAME}: {decision.verdict}")]


STUDY = register(
    Study(
        name=NAME,
        statement=f"At N = 256, P(λ_min(K⁽²⁾)/(L·d) < {C}) decays with d: significantly lower at d = 24 than at "
        "d = 4, never significantly increasing, with a negative log-linear slope.",
        citation="Nguyen, Mondelli & Montúfar (ICML 2021), limiting-NTK theorem (its probability term); "
        "docs/studies.md#lambda-min-probability",
        design=__doc__,
        default_minutes=1.5,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
        subjects=("limiting-ntk", "sphere-data"),
    )
)
