"""``gd-dynamics``: Arora et al.'s fine-grained training dynamics in Du et al.'s model.

Statement (Arora, Du, Hu, Li & Wang, ICML 2019, Thm 4.1, in the model of Du, Zhai, Póczos & Singh, ICLR 2019):
for f(W, x) = (1/√m) Σ_r a_r σ(w_rᵀx) with a_r = ±1 fixed, trained in W by gradient descent with step η on
½‖y − u‖², the residual follows the kernel dynamics of H∞ as m grows:
‖y − u(k)‖ ≈ √(Σ_i (1 − ηλ_i)^{2k} (v_iᵀ r₀)²), (λ_i, v_i) the eigenpairs of H∞ and r₀ = y − u(0) (with
their small initialisation r₀ ≈ y; here w_r ~ N(0, I), so the prediction starts from the actual r₀).

Design.

* Grid: N = 100 points on the unit sphere in R¹⁰, target y_i = √d·x_i1·x_i2 (a degree-2 polynomial);
  widths m = 250, 1000, 4000, 16000 (up to 4000 below a fifth of the default budget); η = 1/λ_max(H∞);
  k = 0 … 200 steps; 6 seeds (data, readout signs and weights).
* Statistic: the gap g = rms_k (‖y − u(k)‖ − prediction(k)) / ‖r₀‖ along training (the root mean square over
  the steps: the largest gap, also recorded, is noisier); per width the geometric mean over the seeds; the slope
  of log g against log m (bootstrap standard error, normal interval).
* Decision: supported when the slope's interval lies below −τ = −0.25 (the gap shrinks; the linearisation
  error is expected to fall like m^(−½)) and the bootstrap interval of the median gap at the largest width lies
  below 0.05 (small); rejected when the slope's interval lies above −τ or the gap's interval lies above 0.05.
  Level α = 0.01 for each of the two parts. Measured on the engine: slope −0.44 … −0.49, gap 0.0014 at m = 4000.
* Power: against a gap that does not shrink (slope 0), from the bootstrap standard error.
* Planted alternative: the prediction from H∞/2 (the ½ of H∞'s definition applied twice): the predicted
  residual then decays at half the rate and the gap tends to a positive limit: must reject.
* Fitted constant: the gap at the largest width (geometric mean with a bootstrap interval).
"""

from __future__ import annotations

import math

import torch

from ntkverify import analytic, spectra
from ntkverify.bounds.arora import residual_norms
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import curve, figure, finish, log_axes
from ntkverify.studies.statistics import geometric_mean, log_log_slope, median_interval, power_against, slope_at_most
from ntkverify.studies.two_layer import TwoLayer

NAME = "gd-dynamics"
N, D, STEPS = 100, 10, 200
TAU = 0.25
SMALL = 0.05
STATISTIC = "rms_gap"
ALPHA = 0.01


def widths(plan: Plan) -> list[int]:
    return [250, 1000, 4000, 16000] if plan.scale >= 0.2 else [250, 1000, 4000]


def grid(plan: Plan) -> list[Point]:
    return [
        point(NAME, arm, s, plan, m=m)
        for arm in ("main", "planted:half-H")
        for m in widths(plan)
        for s in plan.seeds(6)
    ]


def _train(X: torch.Tensor, y: torch.Tensor, m: int, eta: float, g: torch.Generator):
    """‖y − u(k)‖ for k = 0..STEPS of full-batch gradient descent on the first layer (Du et al.'s model), and
    the initial residual r₀ = y − u(0)."""
    model = TwoLayer.draw(D, m, g)
    residuals = [model.step(X, y, eta) for _ in range(STEPS + 1)]
    return torch.stack([torch.linalg.vector_norm(r) for r in residuals]), residuals[0]


def measure(p: Point) -> dict[str, float]:
    g = torch.Generator().manual_seed(p.seed)
    X = get_distribution("unit_sphere").sample(N, D, g, device="cpu")
    y = math.sqrt(D) * X[:, 0] * X[:, 1]
    H = analytic.h_infinity(X, device="cpu")
    eta = 1 / spectra.lambda_max(H).value
    actual, r0 = _train(X, y, p["m"], eta, g)
    predicted = residual_norms(H / 2 if p.arm == "planted:half-H" else H, r0, eta, STEPS)
    gap = (actual - predicted) / actual[0]
    return {
        "gap": float(gap.abs().max()),
        "rms_gap": float(gap.square().mean().sqrt()),
        "final": float(actual[-1] / actual[0]),
    }


def _groups(records: list[Record], arm: str) -> list[tuple[int, list[float]]]:
    by: dict[int, list[float]] = {}
    for r in records:
        if r.point.arm == arm:
            by.setdefault(r.point["m"], []).append(r.values[STATISTIC])
    return sorted(by.items())


def _rule(groups, expected: str, name: str) -> tuple[Outcome, float]:
    slope = log_log_slope(groups, ALPHA, geometric_mean)
    verdict = slope_at_most(slope, -TAU)
    last, low, high = median_interval(groups[-1][1], ALPHA)
    if low >= SMALL:
        verdict = "rejected"
    elif verdict == "supported" and high >= SMALL:
        verdict = "inconclusive"
    reason = (
        f"slope {slope.estimate:+.3f} ∈ [{slope.low:+.3f}, {slope.high:+.3f}] vs −τ = {-TAU}; "
        f"gap {last:.3g} ∈ [{low:.3g}, {high:.3g}] at m = {groups[-1][0]} vs {SMALL}"
    )
    return Outcome(name, verdict, reason, expected, slope.as_dict()), slope.se


def decide(records: list[Record], plan: Plan) -> Decision:
    main, se = _rule(_groups(records, "main"), "supported", "H∞ dynamics")
    planted, _ = _rule(_groups(records, "planted:half-H"), "rejected", "planted: prediction from H∞/2")
    m, gaps = _groups(records, "main")[-1]
    value, low, high = median_interval(gaps, ALPHA)
    constants = {f"largest gap / ‖r₀‖ at m = {m} (median)": {"value": value, "low": low, "high": high}}
    return combine(
        [main], power_against(se, TAU, ALPHA), ALPHA, "a gap that does not shrink (slope 0)", [planted], constants
    )


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    """The two training curves of the first seed at the largest width, and the gap against the width."""
    fig, (left, right) = figure(9, 4, panels=2)
    first = max((r for r in records if r.point.arm == "main"), key=lambda r: (r.point["m"], -r.point.seed))
    g = torch.Generator().manual_seed(first.point.seed)
    X = get_distribution("unit_sphere").sample(N, D, g, device="cpu")
    y = math.sqrt(D) * X[:, 0] * X[:, 1]
    H = analytic.h_infinity(X, device="cpu")
    eta = 1 / spectra.lambda_max(H).value
    actual, r0 = _train(X, y, first.point["m"], eta, g)
    left.plot(actual.numpy(), label=f"network, m = {first.point['m']}")
    left.plot(residual_norms(H, r0, eta, STEPS).numpy(), "--", label="√(Σ(1−ηλ_i)^{2k}(v_iᵀr₀)²), H∞")
    left.set(xlabel="step k", ylabel="‖y − u(k)‖", title="training curves")
    for arm in ("main", "planted:half-H"):
        curve(right, _groups(records, arm), "-o", arm)
    log_axes(right, "width m", "rms gap / ‖r₀‖ (geometric mean)", "gap")
    return [finish(fig, folder, f"{NAME}-curves.png", f"{NAME}: {decision.verdict}")]


STUDY = register(
    Study(
        name=NAME,
        statement="Gradient descent on the first layer of a two-layer ReLU network follows the H∞ dynamics "
        "‖y − u(k)‖ ≈ √(Σ_i (1 − ηλ_i)^{2k} (v_iᵀr₀)²): the largest gap shrinks with the width and is small.",
        citation="Arora, Du, Hu, Li & Wang (ICML 2019) Thm 4.1; Du, Zhai, Póczos & Singh (ICLR 2019) §3; "
        "docs/studies.md#gd-dynamics",
        design=__doc__,
        default_minutes=1.5,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
        subjects=("h-infinity",),
    )
)
