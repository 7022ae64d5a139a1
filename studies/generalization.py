"""``generalization``: Arora et al.'s data-dependent generalisation bound for a trained two-layer ReLU network.

Statement (Arora, Du, Hu, Li & Wang, ICML 2019, Thm 5.1, in the model of Du et al.: ``studies/two_layer.py``):
for data with ‖x‖ = 1, |y| ≤ 1, λ₀ = λ_min(H∞) > 0, a small initial scale κ, a large width and enough steps of
gradient descent, with probability ≥ 1 − δ the population loss of the trained network under any loss
ℓ: ℝ × ℝ → [0, 1] that is 1-Lipschitz in its first argument with ℓ(y, y) = 0 is at most
√(2yᵀ(H∞)⁻¹y/n) + O(√(log(n/(λ₀δ))/n)). For a target with known structure, a polynomial g of the inputs, the
leading term is at most C_g/√n (their Cor. 6.2: yᵀ(H∞)⁻¹y ≤ ‖g‖² in the kernel's space, non-decreasing in n);
for random labels it does not decay.

Design.

* Grid: n ∈ {50, 100, 200, 400} training points uniform on the unit sphere in R⁵ (800 from twice the default
  budget, up to 1600 on a GPU; 50 … 200 below a fifth of it); the target y = (√d·x₁ + d·x₂x₃)/(√d + d/2), a
  degree-2 polynomial with |y| ≤ 1 (rms ≈ 0.27); width m = 4000, κ = 0.1, η = 1/λ_max(H∞), steps until the
  training residual ‖y − u‖/‖y‖ is below 1 % (checked every 50 steps, at most 5000); 6 seeds per n, each drawing
  the data, the network and 2000 test points. Loss ℓ(u, y) = min(|u − y|, 1).
* Statistics per point: the test loss L (mean ℓ over the test points); the leading term
  B = √(2yᵀ(H∞)⁻¹y/n) with its certified error bar (``ntkverify.bounds.generalization_term``); B_rand, the
  same for the labels randomly permuted (same values, structure destroyed); B_sum, the same with the
  unaveraged Gram m·H∞ (the planted alternative).
* Decision, three rules at level 0.01 split over them (Bonferroni):
  (a) the bound (PROB over the seeds): a draw violates it when L > B + c, with the stated constant c = 0
  (the O(√(log(n/(λ₀δ))/n)) term of Thm 5.1 has no explicit constant; the engine meets the leading term alone
  with a factor 10–35 to spare, so the stronger statement is asked). The count of violations over all
  M = 6 × 4 draws is tested against the rate δ = 0.05 by the one-sided binomial test: rejected when
  P(Bin(M, δ) ≥ count) < α, else supported. Power against a bound that fails at half the draws: ≈ 1.
  (b) the structure: the slope of log(geometric mean of B) against log n lies at most −0.3 (Cor. 6.2 gives
  −½ asymptotically, approached from above; measured −0.47): supported when its bootstrap interval lies below
  −0.3, rejected when above. Power against slope 0 (a complexity that does not decay).
  (c) random labels are detected as such: B_rand > B on the same draws, one-sided sign test over the M pairs.
* Power: the smaller of (a)'s against a violation rate ½ and (b)'s against slope 0; below 0.8, inconclusive.
* Negative control: rule (b) on the random labels (measured slope +0.2: B_rand grows with n): must reject.
* Planted alternative: rule (a) with the unaveraged Gram m·H∞ (Du et al.'s H(0) without its 1/m, a plausible
  bug): B shrinks by √m = 63, below the test loss at most draws: must reject.
* Fitted constants: C_g = B·√n at the largest n (geometric mean, bootstrap interval); the ratio L/B there; the
  ratio B_rand/B there.
"""

from __future__ import annotations

import math

import torch

from ntkverify import analytic, spectra
from ntkverify.bounds.arora import generalization_term
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import curve, figure, finish, log_axes
from ntkverify.studies.statistics import (
    binomial_critical,
    binomial_power,
    binomial_tail,
    geometric_mean,
    log_log_slope,
    median_interval,
    power_against,
    slope_at_most,
)
from ntkverify.studies.two_layer import TwoLayer

NAME = "generalization"
D, WIDTH, INIT_SCALE = 5, 4000, 0.1
TEST_POINTS = 2000
TRAIN_RESIDUAL, CHECK_EVERY, MAX_STEPS = 0.01, 50, 5000
SEEDS = 6
C = 0.0  # the stated constant added to the leading term
DELTA = 0.05
SLOPE = -0.3
VIOLATION_ALTERNATIVE = 0.5
ALPHA = 0.01
#: Training-set sizes per device at the default budget; on a CPU, n = 800 joins from twice the budget and
#: n = 400 leaves below a fifth of it.
SIZES = {"cpu": (50, 100, 200, 400), "cuda": (50, 100, 200, 400, 800, 1600)}


def sizes(plan: Plan) -> tuple[int, ...]:
    if plan.gpu:
        return SIZES["cuda"]
    if plan.scale >= 2:
        return (*SIZES["cpu"], 800)
    return SIZES["cpu"] if plan.scale >= 0.2 else SIZES["cpu"][:-1]


def grid(plan: Plan) -> list[Point]:
    return [point(NAME, "main", s, plan, n=n) for n in sizes(plan) for s in plan.seeds(SEEDS)]


def target(X: torch.Tensor) -> torch.Tensor:
    """y = (√d·x₁ + d·x₂x₃)/(√d + d/2): |y| ≤ 1 on the unit sphere, since |x₁| ≤ 1 and |x₂x₃| ≤ ½."""
    return (math.sqrt(D) * X[:, 0] + D * X[:, 1] * X[:, 2]) / (math.sqrt(D) + D / 2)


def _train(model: TwoLayer, X: torch.Tensor, y: torch.Tensor, eta: float) -> tuple[float, int]:
    """Gradient descent until ‖y − u‖/‖y‖ < TRAIN_RESIDUAL (checked every CHECK_EVERY steps) or MAX_STEPS;
    returns the final relative residual and the number of steps taken."""
    norm_y = float(torch.linalg.vector_norm(y))
    for k in range(MAX_STEPS):
        r = model.step(X, y, eta)
        if k % CHECK_EVERY == 0 and float(torch.linalg.vector_norm(r)) < TRAIN_RESIDUAL * norm_y:
            break
    return float(torch.linalg.vector_norm(y - model(X))) / norm_y, k + 1


def measure(p: Point) -> dict[str, float]:
    """One draw (data, labels, permutation, network, from the seed's generator on the CPU), trained and
    evaluated on the point's device."""
    n = p["n"]
    g = torch.Generator().manual_seed(p.seed)
    sphere = get_distribution("unit_sphere")
    X = sphere.sample(n, D, g, device="cpu").to(p.device)
    X_test = sphere.sample(TEST_POINTS, D, g, device="cpu").to(p.device)
    y, y_test = target(X), target(X_test)
    y_random = y[torch.randperm(n, generator=g).to(p.device)]
    model = TwoLayer.draw(D, WIDTH, g, INIT_SCALE).to(p.device)
    H = analytic.h_infinity(X, device=p.device)
    residual, steps = _train(model, X, y, 1 / spectra.lambda_max(H).value)
    test_loss = float(torch.clamp((model(X_test) - y_test).abs(), max=1.0).mean())
    bound = generalization_term(H, y)
    return {
        "test_loss": test_loss,
        "train_residual": residual,
        "steps": float(steps),
        "complexity": bound.value,
        "complexity_error": bound.error,
        "complexity_random": generalization_term(H, y_random).value,
        "complexity_sum": generalization_term(WIDTH * H, y).value,
        "lambda_0": spectra.lambda_min(H).value,
    }


def _by_n(records: list[Record], value: str) -> list[tuple[int, list[float]]]:
    by: dict[int, list[float]] = {}
    for r in records:
        by.setdefault(r.point["n"], []).append(r.values[value])
    return sorted(by.items())


def _bound_rule(records: list[Record], bound: str, alpha: float, expected: str, name: str) -> Outcome:
    """(a): violations L > B + c + (B's certified error bar) over all draws, against the rate δ."""
    violations = sum(r.values["test_loss"] > r.values[bound] + C + r.values["complexity_error"] for r in records)
    trials = len(records)
    p_value = binomial_tail(violations, trials, DELTA)
    verdict = "rejected" if p_value < alpha else "supported"
    reason = (
        f"{violations}/{trials} draws with test loss > {bound} + {C:g}; "
        f"P(Bin({trials}, δ={DELTA}) ≥ {violations}) = {p_value:.3g} vs α = {alpha:.3g}"
    )
    return Outcome(name, verdict, reason, expected, {"violations": violations, "trials": trials, "p": p_value})


def _slope_rule(records: list[Record], value: str, alpha: float, expected: str, name: str) -> tuple[Outcome, float]:
    """(b): the slope of log(geometric mean of ``value``) against log n lies at most :data:`SLOPE`."""
    slope = log_log_slope(_by_n(records, value), alpha, geometric_mean)
    verdict = slope_at_most(slope, SLOPE)
    reason = f"slope {slope.estimate:+.3f} ∈ [{slope.low:+.3f}, {slope.high:+.3f}] vs {SLOPE}"
    return Outcome(name, verdict, reason, expected, slope.as_dict()), slope.se


def _sign_rule(records: list[Record], alpha: float) -> Outcome:
    """(c): B_rand > B on the same draws, against the null "as often smaller as larger"."""
    larger = sum(r.values["complexity_random"] > r.values["complexity"] for r in records)
    p_value = binomial_tail(larger, len(records), 0.5)
    verdict = "supported" if p_value < alpha else "rejected"
    reason = f"B_rand > B on {larger}/{len(records)} draws; sign test p = {p_value:.3g} vs α = {alpha:.3g}"
    return Outcome("random labels: larger complexity term than the true labels", verdict, reason)


def _constant(values: list[float]) -> dict[str, float]:
    value, low, high = median_interval(values, ALPHA)
    return {"value": value, "low": low, "high": high}


def decide(records: list[Record], plan: Plan) -> Decision:
    alpha = ALPHA / 3
    bound = _bound_rule(records, "complexity", alpha, "supported", f"test loss ≤ √(2yᵀ(H∞)⁻¹y/n) + {C:g}")
    structure, se = _slope_rule(records, "complexity", alpha, "supported", "complexity term decays (true labels)")
    controls = [
        _slope_rule(records, "complexity_random", alpha, "rejected", "control: complexity term, random labels")[0],
        _bound_rule(records, "complexity_sum", alpha, "rejected", "planted: unaveraged Gram m·H∞"),
    ]
    trials = len(records)
    power = min(binomial_power(trials, DELTA, VIOLATION_ALTERNATIVE, alpha), power_against(se, -SLOPE, alpha))
    n, last = _by_n(records, "complexity")[-1]
    largest = [r for r in records if r.point["n"] == n]
    constants = {
        f"C_g = B·√n at n = {n}": _constant([b * math.sqrt(n) for b in last]),
        f"test loss / B at n = {n}": _constant([r.values["test_loss"] / r.values["complexity"] for r in largest]),
        f"B_rand / B at n = {n}": _constant([r.values["complexity_random"] / r.values["complexity"] for r in largest]),
    }
    against = (
        f"a bound failing at half the draws (M = {trials}, critical count "
        f"{binomial_critical(trials, DELTA, alpha)}) and a complexity term that does not decay (slope 0)"
    )
    return combine([bound, structure, _sign_rule(records, alpha)], power, ALPHA, against, controls, constants)


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    """The test loss against the bound's leading term (and the planted one) in n; the complexity term for the
    true and the random labels."""
    fig, (left, right) = figure(9, 4, panels=2)
    curve(left, _by_n(records, "test_loss"), "-o", "test loss (trained network)")
    curve(left, _by_n(records, "complexity"), "-s", "√(2yᵀ(H∞)⁻¹y/n)")
    curve(left, _by_n(records, "complexity_sum"), ":x", "planted: m·H∞")
    log_axes(left, "training points n", "test loss, bound (geometric mean)", "test loss and bound")
    curve(right, _by_n(records, "complexity"), "-s", "true labels")
    curve(right, _by_n(records, "complexity_random"), "-^", "random labels (control)")
    log_axes(right, "training points n", "√(2yᵀ(H∞)⁻¹y/n)", "complexity term")
    return [finish(fig, folder, f"{NAME}-bound.png", f"{NAME}: {decision.verdict}")]


STUDY = register(
    Study(
        name=NAME,
        statement="The test loss of a two-layer ReLU network trained by gradient descent stays below "
        "√(2yᵀ(H∞)⁻¹y/n) (+ c = 0) on a polynomial target, whose complexity term decays like n^(−½); with "
        "random labels the complexity term is larger and does not decay.",
        citation="Arora et al. 2019 Thm 5.1 and Cor. 6.2 (Arora, Du, Hu, Li & Wang, ICML 2019); Du, Zhai, Póczos & "
        "Singh (ICLR 2019) §3; docs/studies.md#generalization",
        design=__doc__,
        default_minutes=0.5,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
        subjects=("h-infinity",),
    )
)
