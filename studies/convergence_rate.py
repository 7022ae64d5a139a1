"""``convergence-rate``: the normalised empirical NTK converges to the limit at the rate width^(−½).

Statement (Jacot, Gabriel & Hongler 2018 Thm 1 for the limit; NMM21 eq. (4) for the normalisation). The rate
m^(−½) is the central-limit rate of the averages over the m neurons of a layer that K̄ is made of; the
quantitative theorem of Arora et al. 2019 (Thm 3.1) only guarantees m^(−¼), so the slope −½ is the sharper,
observed statement that this study tests. For a bias-free ReLU network with N(0, 1) weights and
hidden widths m, e(m) = ‖(Π_{l<L} 2/n_l)·K̄ − K⁽ᴸ⁾‖_F / ‖K⁽ᴸ⁾‖_F → 0 like C·m^(−½); likewise the standard
parameterisation's K̄ → Θ⁽ᴸ⁾ (docs/model.md#standard-parameterisation), the setting of the fan-in alternative.

Design.

* Grid: N = 32 points on the sphere of radius √d, d = 16; hidden widths m = 128, 256, …, m_max (4096 on a CPU
  at the default budget, 16384 on a GPU; m_max shrinks with the budget like budget^(1/2), since a point costs
  O(m²), but never below 1024: a slope needs a factor 8 in width; m = 64 is left out as pre-asymptotic);
  series: the seed parameterisation at L = 2, 3, 4 (L = 4 dropped below a tenth of the default budget, where
  its widths are too small to be asymptotic); the standard parameterisation without bias is an exact
  rescaling of it (docs/kernels.md#normalisations), so its errors are the same numbers; 8 seeds per point
  (each seed draws the data and the weights).
* Statistic: e per point; per series the slope of log rms(e) (root mean square over the seeds: E e² ∝ 1/m is
  what the central limit theorem predicts, and the mean is the efficient centre) against log m, with its
  bootstrap standard error (seeds resampled within each width) and a normal interval.
* Decision: a series is supported when its interval lies inside −½ ± 0.2, rejected when it is disjoint from
  it. The band: slopes measured on the engine over these widths fall in −0.57 … −0.43; ±0.2 keeps the
  engine inside and a plateau (slope 0) far outside. Level α = 0.01 split over the series (Bonferroni).
* Power: against slope 0, "the error does not decay" (what any normalisation or kernel error produces at large
  widths), from the bootstrap standard errors; below 0.8 the study is inconclusive.
* Planted alternatives, which the rule must reject:
  - ``factor-2``: the normalisation off by a factor 2 (2·Π 2/n_l), on the same draws as the main arm;
  - ``wrong-fan-in``: the standard-parameterisation network whose first layer divides by its fan-out m instead
    of its fan-in d (L = 2).
* Fitted constants: C = median e·√m at the largest width per series, with a bootstrap 99 % interval (the
  calibration quoted for L = 4, N = 16, d = 20 is C ≈ 3.6).

With ``--kernel`` (claim ``relu-ntk``, fixed depth L) the user's kernel replaces K⁽ᴸ⁾ as the limit the seed
network must approach: a kernel that is not the network's limit makes the error plateau (slope 0: rejected).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ntkverify.architecture import Architecture
from ntkverify.empirical import empirical_ntk
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import figure, finish, log_axes
from ntkverify.studies.statistics import log_log_slope, median_interval, power_against, rms, slope_within

NAME = "convergence-rate"
N, D = 32, 16
RATE, BAND = -0.5, 0.2
ALPHA = 0.01
M_MIN = 128
SIGMA_W = math.sqrt(2)


#: The largest hidden width at the default budget, per device (it shrinks below it like budget^(1/2)).
TOP_WIDTH = {"cpu": 4096, "cuda": 16384}


def widths(plan: Plan) -> list[int]:
    top = TOP_WIDTH[plan.device] * min(plan.scale, 1.0) ** 0.5
    top = max(8 * M_MIN, 2 ** int(math.log2(top)))  # at least a factor 8 in width: a slope needs a range
    return [M_MIN * 2**k for k in range(int(math.log2(top / M_MIN)) + 1)]


def seed_count(plan: Plan) -> int:
    return 8


def _depths(plan: Plan) -> tuple[int, ...]:
    return (2, 3, 4) if plan.scale >= 0.1 else (2, 3)


def _series(plan: Plan) -> list[tuple[str, str, int]]:
    """(arm, parameterisation, L)."""
    if plan.kernel is not None:
        return [("main", "seed", plan.kernel.depth), ("wrong-fan-in", "ntk", 2)]
    return [("main", "seed", L) for L in _depths(plan)] + [("wrong-fan-in", "ntk", 2)]


def grid(plan: Plan) -> list[Point]:
    return [
        point(NAME, arm, s, plan, parameterization=par, depth=L, m=m)
        for arm, par, L in _series(plan)
        for m in widths(plan)
        for s in plan.seeds(seed_count(plan))
    ]


def _relative(A: torch.Tensor, B: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(A - B) / torch.linalg.matrix_norm(B))


def measure(p: Point) -> dict[str, float]:
    L, m, par = p["depth"], p["m"], p["parameterization"]
    g = torch.Generator().manual_seed(p.seed)
    X = get_distribution("sphere").sample(N, D, g, device="cpu")
    arch = (
        Architecture(D, (m,) * (L - 1))
        if par == "seed"
        else Architecture(D, (m,) * (L - 1), sigma_w=SIGMA_W, parameterization="ntk")
    )
    model = arch.build(g, device=p.device)
    if p.arm == "wrong-fan-in":
        model.scales = (SIGMA_W / math.sqrt(m), *model.scales[1:])  # layer 1 divides by its fan-out
    K_bar = (arch.normalisation() * empirical_ntk(model, X.to(p.device))).cpu()
    K = arch.analytic_ntk(X, device="cpu") if p.kernel is None or p.arm != "main" else p.kernel.subject()(X, L)
    return {"error": _relative(K_bar, K), "error_factor_2": _relative(2 * K_bar, K)}


def _series_key(r: Record) -> tuple:
    return (r.point.arm, r.point["parameterization"], r.point["depth"])


def _label(arm: str, par: str, L: int) -> str:
    return f"{arm}: {par} parameterisation, L={L}"


def _groups(records: list[Record], value: str) -> dict[tuple, list[tuple[int, list[float]]]]:
    by: dict[tuple, dict[int, list[float]]] = {}
    for r in records:
        by.setdefault(_series_key(r), {}).setdefault(r.point["m"], []).append(r.values[value])
    return {k: sorted(v.items()) for k, v in by.items()}


def _outcome(label: str, groups, alpha: float, expected: str) -> tuple[Outcome, float]:
    slope = log_log_slope(groups, alpha, rms)
    verdict = slope_within(slope, RATE, BAND)
    reason = f"slope {slope.estimate:+.3f} ∈ [{slope.low:+.3f}, {slope.high:+.3f}] vs {RATE} ± {BAND}"
    return Outcome(label, verdict, reason, expected, slope.as_dict()), slope.se


def decide(records: list[Record], plan: Plan) -> Decision:
    errors = _groups(records, "error")
    main = [k for k in errors if k[0] == "main"]
    alpha = ALPHA / len(main)
    series, ses = zip(*(_outcome(_label(*k), errors[k], alpha, "supported") for k in main))
    factor_2 = _groups(records, "error_factor_2")
    controls = [_outcome(_label("factor-2", *k[1:]), factor_2[k], alpha, "rejected")[0] for k in main[:1]]
    controls += [_outcome(_label(*k), errors[k], alpha, "rejected")[0] for k in errors if k[0] != "main"]
    power = min(power_against(se, -RATE - BAND, alpha) for se in ses)
    constants = {}
    for k in main:
        m, es = errors[k][-1]
        value, low, high = median_interval([e * math.sqrt(m) for e in es], ALPHA)
        constants[f"C = e·√m at m={m}, {_label(*k)}"] = {"value": value, "low": low, "high": high}
    return combine(list(series), power, ALPHA, "slope 0 (the error does not decay)", controls, constants)


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    fig, ax = figure()
    for value, style in (("error", "-o"), ("error_factor_2", ":")):
        for k, g in _groups(records, value).items():
            if value == "error_factor_2" and k[0] != "main":
                continue
            label = _label(*k) if value == "error" else _label("factor-2", *k[1:])
            ms = [m for m, _ in g]
            ax.plot(ms, [np.median(es) for _, es in g], style, ms=3, label=label)
    first = _groups(records, "error")
    k = next(iter(first))
    m0, e0 = first[k][0][0], float(np.median(first[k][0][1]))
    ms = np.array([m for m, _ in first[k]], dtype=float)
    ax.plot(ms, e0 * (ms / m0) ** RATE, "k--", lw=0.8, label="m^(−½)")
    log_axes(ax, "hidden width m", "relative Frobenius error")
    return [finish(fig, folder, f"{NAME}-error.png", f"{NAME}: {decision.verdict}")]


STUDY = register(
    Study(
        name=NAME,
        statement="‖(Π 2/n_l)·K̄ − K⁽ᴸ⁾‖_F/‖K⁽ᴸ⁾‖_F decays like C·m^(−½) in the hidden width m: the log-log slope "
        "is −½ within ±0.2.",
        citation="Jacot, Gabriel & Hongler (NeurIPS 2018) Thm 1 with the central-limit rate; NMM21 eq. (4); "
        "docs/studies.md#convergence-rate",
        design=__doc__,
        default_minutes=2.0,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
        claims=("relu-ntk",),
        subjects=("empirical-ntk", "limiting-ntk", "user-kernel"),
    )
)
