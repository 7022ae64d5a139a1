"""``lambda-min-scaling``: NMM21's limiting theorem at the sizes where it speaks.

Statement (Nguyen, Mondelli & Montúfar, ICML 2021 (NMM21), the limiting-NTK theorem). For x_i i.i.d. from a
law satisfying the paper's assumptions (centred, isotropic, Lipschitz-concentrated, ‖x_i‖² = Θ(d)), with d
growing at least like log²N, λ_min(K⁽ᴸ⁾) is of order d: between μ_r(σ)²·Ω(d) and L·O(d) with high probability.
At fixed d the ratio λ_min/d falls as N grows, so the statement can only be tested along paths d = ⌈c·log²N⌉.

Design.

* Grid: N = 128, 256, …, N_max (4096 on a CPU at the default budget, 32768 on a GPU; N_max shrinks with the
  budget like budget^(1/3), since a point costs O(N³), but never below 1024: a slope needs a factor 8 in N);
  d = ⌈c·log²N⌉; series (law, c, L): the sphere of radius √d, the standard Gaussian and the uniform cube
  (log-concave) at c = 1 with L ∈ {2, 4, 8}, and the sphere with c ∈ {½, 2} at L = 2; below a tenth of the
  default budget only the sphere at c = 1, L ∈ {2, 4} (the other laws' medians need larger N for a precise
  slope); 4 data seeds per point, 16 for the control (at fixed small d, λ_min varies more between draws),
  whose grid stops at N = 2048 (its decay is plain by then).
* Statistic: per point r = λ_min(K⁽ᴸ⁾)/(L·d) (eigvalsh); per series the slope s of log(geometric mean of r over
  the seeds) against log N, with the bootstrap standard error (seeds resampled within each N) and a normal
  interval. (The geometric mean rather than the median: with 4–16 draws its bootstrap error is about half.)
* Decision: a series is supported when its interval lies above −τ, τ = 0.2, rejected when it lies below.
  The theorem predicts s → 0; the pre-asymptotic drift measured along these paths over N = 128 … 2048 is
  −0.14 ≤ s ≤ +0.05 (steepest at L = 2), so −τ leaves room for it while a decay like N^(−0.4) is far below.
  Level: α = 0.01 for the study, split over the series (Bonferroni), so a correct engine on a statement that
  holds is rejected with probability ≤ 1 %.
* Power: against the alternative "λ_min/d decays like N^(−0.4)" (at fixed d = 6, i.e. with the theorem's growth
  condition broken, the measured slope is −0.44), from the bootstrap standard errors; below 0.8 the study is
  inconclusive.
* Negative control: the same rule on the sphere at fixed d = 6, L = 2 must reject. (At d = 8 the decay over
  these N is only −0.30, too close to −τ for a control; at d = 4 it is −0.59 but λ_min varies by 2× between
  draws.)
* Fitted constants: the median of λ_min/(L·d) at the largest N of each series with a bootstrap 99 % interval,
  and λ_min/(μ₂²·d) on the sphere at c = 1, L = 2 (μ₂(ReLU)² = 1/(4π)).

With ``--kernel`` (claim ``relu-ntk``, a fixed depth) the user's kernel replaces the engine's K⁽ᴸ⁾ and the series
run at that depth.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ntkverify import analytic, spectra
from ntkverify.hermite import mu_relu
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import figure, finish, log_axes
from ntkverify.studies.statistics import (
    geometric_mean,
    log_log_slope,
    median_interval,
    power_against,
    slope_at_least,
)

NAME = "lambda-min-scaling"
TAU = 0.2
ALPHA = 0.01
ALTERNATIVE_SLOPE = -0.4
CONTROL_D = 6
N_MIN = 128
LAWS = ("sphere", "gaussian", "uniform_cube")
DEPTHS = (2, 4, 8)


def _series(plan: Plan) -> list[tuple[str, float, int]]:
    """(law, c, L) of the main arm; a user's kernel runs at its claimed depth only; below a tenth of the default
    budget only the sphere at c = 1 (the Gaussian and the cube need larger N for a precise slope)."""
    depths = DEPTHS if plan.kernel is None else (plan.kernel.depth,)
    if plan.scale < 0.1:
        return [("sphere", 1.0, L) for L in depths[:2]]
    main = [(law, 1.0, L) for law in LAWS for L in depths]
    return main + [("sphere", c, depths[0]) for c in (0.5, 2.0)]


#: The largest N at the default budget, per device (the grid shrinks below it like budget^(1/3)).
TOP_N = {"cpu": 4096, "cuda": 32768}


def sizes(plan: Plan) -> list[int]:
    top = TOP_N[plan.device] * min(plan.scale, 1.0) ** (1 / 3)
    top = max(8 * N_MIN, 2 ** int(math.log2(top)))  # at least a factor 8 in N: a slope needs a range
    return [N_MIN * 2**k for k in range(int(math.log2(top / N_MIN)) + 1)]


def seed_count(plan: Plan) -> int:
    return 4


CONTROL_SEED_FACTOR = 4  # at fixed small d, λ_min varies more between draws: the control gets 4× the seeds
CONTROL_N_MAX = 2048  # the control's decay is plain by then; its points cost as much as the main ones


def grid(plan: Plan) -> list[Point]:
    points = []
    for N in sizes(plan):
        for law, c, L in _series(plan):
            d = math.ceil(c * math.log(N) ** 2)
            points += [
                point(NAME, "main", s, plan, law=law, c=c, depth=L, N=N, d=d) for s in plan.seeds(seed_count(plan))
            ]
        if N > CONTROL_N_MAX:
            continue
        control_depth = _series(plan)[0][2]
        points += [
            point(NAME, "control:fixed-d", s, plan, law="sphere", c=0.0, depth=control_depth, N=N, d=CONTROL_D)
            for s in plan.seeds(CONTROL_SEED_FACTOR * seed_count(plan))
        ]
    return points


def measure(p: Point) -> dict[str, float]:
    N, d, L = p["N"], p["d"], p["depth"]
    X = get_distribution(p["law"]).sample(N, d, torch.Generator().manual_seed(p.seed), device=p.device)
    if p.kernel is None:
        K = analytic.limiting_ntk(X, L, device=p.device)
    else:
        K = p.kernel.subject()(X.cpu(), L)
    lam = spectra.lambda_min(K, device=p.device)
    return {"lambda_min": lam.value, "lambda_min_error": lam.error, "ratio": lam.value / (L * d)}


def _key(r: Record) -> tuple:
    return (r.point.arm, r.point["law"], r.point["c"], r.point["depth"])


def _label(key: tuple) -> str:
    arm, law, c, L = key
    return f"{law}, d=⌈{c:g}·log²N⌉, L={L}" if arm == "main" else f"control: {law}, d={CONTROL_D}, L={L}"


def _groups(records: list[Record]) -> dict[tuple, list[tuple[int, list[float]]]]:
    by: dict[tuple, dict[int, list[float]]] = {}
    for r in records:
        by.setdefault(_key(r), {}).setdefault(r.point["N"], []).append(r.values["ratio"])
    return {k: sorted(v.items()) for k, v in by.items()}


def _outcome(key, groups, alpha, expected) -> tuple[Outcome, float]:
    if any(min(ys) <= 0 for _, ys in groups):
        return Outcome(_label(key), "rejected", "λ_min ≤ 0 at some point: not of order d", expected), 0.0
    slope = log_log_slope(groups, alpha, geometric_mean)
    verdict = slope_at_least(slope, -TAU)
    reason = f"slope {slope.estimate:+.3f} ∈ [{slope.low:+.3f}, {slope.high:+.3f}] vs −τ = {-TAU}"
    return Outcome(_label(key), verdict, reason, expected, slope.as_dict()), slope.se


def decide(records: list[Record], plan: Plan) -> Decision:
    groups = _groups(records)
    main = [k for k in groups if k[0] == "main"]
    alpha = ALPHA / len(main)
    series, ses = zip(*(_outcome(k, groups[k], alpha, "supported") for k in main))
    controls = [_outcome(k, groups[k], alpha, "rejected")[0] for k in groups if k[0] != "main"]
    power = min(power_against(se, -TAU - ALTERNATIVE_SLOPE, alpha) for se in ses)
    constants = {}
    for k in main:
        N, ys = groups[k][-1]
        value, low, high = median_interval(ys, ALPHA)
        constants[f"λ_min/(L·d) at N={N}, {_label(k)}"] = {"value": value, "low": low, "high": high}
    first = main[0]
    N, ys = groups[first][-1]
    mu2 = mu_relu(2) ** 2
    value, low, high = median_interval([y * first[3] / mu2 for y in ys], ALPHA)
    constants[f"λ_min/(μ₂²·d) at N={N}, {_label(first)}"] = {"value": value, "low": low, "high": high}
    against = f"λ_min/d ∝ N^({ALTERNATIVE_SLOPE}) (the decay at fixed d)"
    return combine(list(series), power, ALPHA, against, controls, constants)


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    groups = _groups(records)
    fig, ax = figure(7.5, 5)
    for k, g in groups.items():
        Ns = [N for N, _ in g]
        med = [float(geometric_mean(np.asarray(ys))) for _, ys in g]
        lo = [med[i] - min(ys) for i, (_, ys) in enumerate(g)]
        hi = [max(ys) - med[i] for i, (_, ys) in enumerate(g)]
        style = "-o" if k[0] == "main" else "--x"
        ax.errorbar(Ns, med, yerr=[lo, hi], fmt=style, ms=3, capsize=2, label=_label(k))
    sizes_run = sorted({N for g in groups.values() for N, _ in g})
    for L in sorted({k[3] for k in groups}):
        ax.axhline(2 * mu_relu(2) ** 2 / L, color="grey", lw=0.8, ls=":")
        ax.annotate(
            f"2μ₂²/L, L={L}",
            (sizes_run[0], 2 * mu_relu(2) ** 2 / L),
            fontsize=7,
            color="grey",
        )
    log_axes(ax, "N", "λ_min(K⁽ᴸ⁾)/(L·d)")
    ax.set_xticks(sizes_run, [str(N) for N in sizes_run])
    ax.minorticks_off()
    ax.legend(fontsize=6, ncol=2)
    ratio = finish(fig, folder, f"{NAME}-ratio.png", f"{NAME}: {decision.verdict}")
    fig, ax = figure(7.5, 4.5)
    outcomes = list(decision.series) + list(decision.controls)
    for i, o in enumerate(outcomes):
        s = o.statistic
        if s:
            ax.errorbar(
                [s["estimate"]],
                [i],
                xerr=[[s["estimate"] - s["low"]], [s["high"] - s["estimate"]]],
                fmt="o",
                color="C0" if o.expected == "supported" else "C3",
            )
    ax.axvline(-TAU, color="k", ls="--", lw=0.8)
    ax.set_yticks(range(len(outcomes)), [o.name for o in outcomes], fontsize=6)
    ax.set(xlabel="slope of log median λ_min/(L·d) against log N")
    slopes = finish(fig, folder, f"{NAME}-slopes.png", f"{NAME}: fitted slopes (threshold −τ)")
    return [ratio, slopes]


STUDY = register(
    Study(
        name=NAME,
        statement="λ_min(K⁽ᴸ⁾) is of order d (between μ_r(σ)²·Ω(d) and L·O(d)) when d grows at least like log²N: "
        "the slope of log λ_min/(L·d) against log N along d = ⌈c·log²N⌉ is not below −τ.",
        citation="NMM21 limiting-NTK theorem (Nguyen, Mondelli & Montúfar 2021); docs/studies.md#lambda-min-scaling",
        design=__doc__,
        default_minutes=5.0,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
        claims=("relu-ntk",),
        subjects=("limiting-ntk", "sphere-data", "user-kernel"),
    )
)
