"""``explicit-bounds``: the explicit-constant statements where they can fail.

Statements. (i) The sampler behind every sphere statement: for x, y independent and uniform on S^{d−1},
ρ² = ⟨x, y⟩² ~ Beta(½, (d−1)/2) exactly. (ii) Du et al. 2019 (ICLR) Thm 3.1: if no two inputs are parallel,
λ_min(H∞) > 0. (iii) The sphere's max-correlation bound (Ball 1997 Lemma 2.2 with a union bound):
ρ_max ≤ t_δ = √(2 ln(N(N−1)/δ)/d) with probability ≥ 1 − δ (``ntkverify.bounds``' ``sphere_correlation_max``).
(iv) Its isotropic sub-Gaussian version: for x_i i.i.d., centred, with every marginal ⟨v, x⟩ (‖v‖ = 1)
sub-Gaussian with variance proxy σ² (``sub_gaussian_constant``, docs/data.md#metadata),
max_{i≠j} |⟨x_i, x_j⟩| ≤ s_δ·max_i ‖x_i‖, s_δ = σ√(2 ln(N(N−1)/δ)), with probability ≥ 1 − δ. Proof: given x_j,
⟨x_i, x_j⟩ = ‖x_j‖⟨x_i, v⟩ with v = x_j/‖x_j‖ independent of x_i, so P(|⟨x_i, x_j⟩| ≥ s‖x_j‖) ≤ 2e^{−s²/(2σ²)}
(Chernoff on both tails); a union bound over the N(N−1)/2 pairs gives N(N−1)e^{−s²/(2σ²)} = δ, and
‖x_j‖ ≤ max_i ‖x_i‖. (v) The Hermite–Gershgorin λ_min bound (NMM21 steps 1–3 with every even order,
docs/statements.md#explicit-lower-bound): λ_min(K⁽ᴸ⁾) ≥ 2 min_i ‖x_i‖² Σ_{r even ≥ 2} μ_r² (1 − (N−1)ρ_max^r)_+
(DET, ``hermite_gershgorin_lower``), and with ρ_max → t_δ on the sphere of radius √d, with probability ≥ 1 − δ
(PROB, ``sphere_hermite_lower``).

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
  smallest number for which the one-sided binomial test of "violation rate ≤ δ" at its level has 80 % power
  against a violation rate of 2δ (computed exactly; the engine shows 1–2 violations in 400, far below δ).
  Planted alternative: the ``rand`` sampler above (non-centred data, ρ_max ≈ ¾): must reject.
* (iv) The same shapes and δ for the laws ``gaussian`` and ``uniform_cube`` (σ² = 1), M trials per law and
  shape, the same binomial test. Planted alternative: the cube without its centring (uniform on [0, √12]^d,
  unit variance, mean √3 per coordinate, so ⟨x_i, x_j⟩ ≈ 3d ≫ s_δ·√(4d)): must reject.
* (v) The same shapes, sphere of radius √d, L = 2, M trials per shape: the PROB bound by the same binomial
  test, and on the same draws the DET bound, one certified violation of which rejects outright. It does not
  bind at any shape: it keeps only the orders r ≥ 2 of G⁽²⁾, ≈ 0.16·d, while λ_min(K⁽²⁾) ≈ 1.5·d (measured), so
  only a kernel wrong by a factor ≈ 10 can violate it; the ratio is reported. Planted alternative: K⁽²⁾ of
  the rows normalised to unit length offered as the kernel (it drops the ‖x‖² = d scale): must reject.
* Trial counts: the binomial rules of (iii)–(v) (8 of them) share α/2 (α/2 goes to (i)), so each runs at
  α/16 and M = 450, the smallest multiple of 50 with 80 % power against 2δ at that level.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats

from ntkverify import analytic, bounds, spectra
from ntkverify.strategies import get_distribution
from ntkverify.studies.core import Decision, Outcome, Plan, Point, Record, Study, combine, point, register
from ntkverify.studies.output import figure, finish, log_axes
from ntkverify.studies.statistics import binomial_critical, binomial_power, binomial_tail
from ntkverify.tolerances import gamma, limiting_entry_error

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
SUB_GAUSSIAN_LAWS = ("gaussian", "uniform_cube")
HERMITE_DEPTH = 2
#: The binomial rules of parts (iii)–(v), one per shape (and law in (iv)); they share α/2.
BINOMIAL_RULES = 2 * len(SHAPES) + len(SUB_GAUSSIAN_LAWS) * len(SHAPES) + len(SHAPES)


def trials_for_power(delta: float, alpha: float, power: float) -> tuple[int, int]:
    """The smallest multiple M of :data:`BATCH` and the critical count k such that P(Bin(M, δ) ≥ k) ≤ α and
    P(Bin(M, 2δ) ≥ k) ≥ power."""
    M = BATCH
    while binomial_power(M, delta, 2 * delta, alpha) < power:
        M += BATCH
    return M, binomial_critical(M, delta, alpha)


def binomial_alpha() -> float:
    return ALPHA / (2 * BINOMIAL_RULES)


def _sample(p: Point, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    if p.arm.endswith(":rand"):  # the planted sampler: normalised uniform [0, 1]^d draws
        X = torch.rand(n, d, generator=g, dtype=torch.float64)
        return X / torch.linalg.vector_norm(X, dim=1, keepdim=True)
    if p.arm.endswith(":uncentred"):  # the planted law: the cube without its centring, uniform on [0, √12]^d
        return torch.rand(n, d, generator=g, dtype=torch.float64) * math.sqrt(12)
    return get_distribution(p["law"] if p["part"] == "sub-gaussian" else "unit_sphere").sample(n, d, g, device="cpu")


def grid(plan: Plan) -> list[Point]:
    seeds = plan.seeds(4)
    points = [
        point(NAME, arm, s, plan, part="law", d=d) for arm in ("law", "law:rand") for d in LAW_DIMS for s in seeds
    ]
    points += [point(NAME, "positivity", s, plan, part="positivity", theta=t) for t in ANGLES for s in seeds]
    points += [point(NAME, "positivity:parallel", s, plan, part="positivity", theta=0.0) for s in seeds]
    M, _ = trials_for_power(DELTA, binomial_alpha(), POWER)
    batches = plan.seeds(M // BATCH)
    for arm in ("max-correlation", "max-correlation:rand"):
        points += [point(NAME, arm, s, plan, part="max-correlation", N=N, d=d) for N, d in SHAPES for s in batches]
    laws = [("sub-gaussian", law) for law in SUB_GAUSSIAN_LAWS] + [("sub-gaussian:uncentred", "uniform_cube")]
    points += [
        point(NAME, arm, s, plan, part="sub-gaussian", law=law, N=N, d=d)
        for arm, law in laws
        for N, d in SHAPES
        for s in batches
    ]
    points += [point(NAME, "hermite", s, plan, part="hermite", N=N, d=d) for N, d in SHAPES for s in batches]
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


def sub_gaussian_threshold(N: int, delta: float, variance_proxy: float) -> float:
    """s_δ = σ√(2 ln(N(N−1)/δ)): max_{i≠j} |⟨x_i, x_j⟩| ≤ s_δ·max_i ‖x_i‖ with probability ≥ 1 − δ (part (iv))."""
    return math.sqrt(variance_proxy * 2 * math.log(N * (N - 1) / delta))


def _sub_gaussian(p: Point, g) -> dict[str, float]:
    law = get_distribution(p["law"])
    assert law.centred and law.sub_gaussian_constant is not None, f"{law} is outside part (iv)'s assumptions"
    threshold = sub_gaussian_threshold(p["N"], DELTA, law.sub_gaussian_constant)
    violations = 0
    for _ in range(BATCH):
        X = _sample(p, p["N"], p["d"], g)
        gram = X @ X.T
        largest = float(gram.diagonal().max())
        # rounding of an inner product: |δ⟨x_i, x_j⟩| ≤ γ_d ‖x_i‖‖x_j‖ (docs/tolerances.md#identity)
        inner = float((gram - torch.diag(gram.diagonal())).abs().max()) - gamma(p["d"]) * largest
        violations += inner > threshold * math.sqrt(largest)
    return {"violations": float(violations)}


def _hermite(p: Point, g) -> dict[str, float]:
    """Violations of the PROB bound, of the DET bound, and of the PROB bound by the planted kernel (K⁽²⁾ of the
    unit rows), on the same draws; the ratio bound/λ_min of the last draw."""
    prob, det = bounds.get_bound("sphere_hermite_lower"), bounds.get_bound("hermite_gershgorin_lower")
    counts = {"violations": 0, "det_violations": 0, "planted_violations": 0}
    for _ in range(BATCH):
        X = get_distribution("sphere").sample(p["N"], p["d"], g, device="cpu")
        case = bounds.KernelCase(X, HERMITE_DEPTH, delta=DELTA)
        margin = prob.margin(case)
        unit_rows = analytic.limiting_ntk(torch.nn.functional.normalize(X, dim=1), HERMITE_DEPTH, device="cpu")
        planted = bounds.KernelCase(X, HERMITE_DEPTH, delta=DELTA, kernel=unit_rows)
        counts["violations"] += not margin.holds
        counts["det_violations"] += not det.margin(case).holds
        counts["planted_violations"] += not prob.margin(planted).holds
    return {**{k: float(v) for k, v in counts.items()}, "ratio": margin.bound.value / margin.observed.value}


PARTS = {
    "law": _law,
    "positivity": _positivity,
    "max-correlation": _max_correlation,
    "sub-gaussian": _sub_gaussian,
    "hermite": _hermite,
}


def measure(p: Point) -> dict[str, float]:
    g = torch.Generator().manual_seed(p.seed)
    return PARTS[p["part"]](p, g)


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


def _binomial_rule(records, arm, N, d, alpha, expected, name, value="violations", law=None) -> Outcome:
    rs = [
        r
        for r in records
        if r.point.arm == arm and r.point["N"] == N and r.point["d"] == d and (law is None or r.point["law"] == law)
    ]
    M = BATCH * len(rs)
    F = int(sum(r.values[value] for r in rs))
    p_value = binomial_tail(F, M, DELTA)
    verdict = "rejected" if p_value < alpha else "supported"
    reason = f"{F}/{M} violations, P(Bin(M, δ) ≥ {F}) = {p_value:.3g} vs α = {alpha:.3g}"
    return Outcome(f"{name}, N={N}, d={d}", verdict, reason, expected, {"violations": F, "trials": M})


def _det_rule(records) -> Outcome:
    rs = [r for r in records if r.point.arm == "hermite"]
    F = int(sum(r.values["det_violations"] for r in rs))
    verdict = "rejected" if F else "supported"
    reason = f"{F}/{BATCH * len(rs)} certified violations of the DET Hermite–Gershgorin bound with the realised ρ_max"
    return Outcome("Hermite–Gershgorin (DET), hermite", verdict, reason)


def decide(records: list[Record], plan: Plan) -> Decision:
    n_law = sum(r.point.arm == "law" for r in records)
    law, _ = _law_rule(records, "law", ALPHA / (2 * n_law), "supported")
    law_control, law_power = _law_rule(records, "law:rand", ALPHA / (2 * n_law), "rejected")
    alpha_b = binomial_alpha()
    M, k = trials_for_power(DELTA, alpha_b, POWER)
    power_b = binomial_power(M, DELTA, 2 * DELTA, alpha_b)
    series = [law, _positivity_rule(records, "positivity", "supported")]
    controls = [law_control, _positivity_rule(records, "positivity:parallel", "rejected")]
    for N, d in SHAPES:
        series.append(_binomial_rule(records, "max-correlation", N, d, alpha_b, "supported", "ρ_max ≤ t_δ"))
        controls.append(
            _binomial_rule(
                records, "max-correlation:rand", N, d, alpha_b, "rejected", "ρ_max ≤ t_δ, planted rand sampler"
            )
        )
        for law_name in SUB_GAUSSIAN_LAWS:
            rule = f"max|⟨x_i, x_j⟩| ≤ s_δ·max‖x‖ ({law_name})"
            series.append(_binomial_rule(records, "sub-gaussian", N, d, alpha_b, "supported", rule, law=law_name))
        rule = "max|⟨x_i, x_j⟩| ≤ s_δ·max‖x‖ (uncentred cube)"
        controls.append(_binomial_rule(records, "sub-gaussian:uncentred", N, d, alpha_b, "rejected", rule))
        rule = "Hermite–Gershgorin with t_δ"
        series.append(_binomial_rule(records, "hermite", N, d, alpha_b, "supported", rule))
        controls.append(
            _binomial_rule(
                records, "hermite", N, d, alpha_b, "rejected", f"{rule}, planted kernel", "planted_violations"
            )
        )
    series.append(_det_rule(records))
    constants = {}
    for N, d in SHAPES:
        ratios = [r.values["ratio"] for r in records if r.point.arm == "hermite" and r.point["N"] == N]
        constants[f"Hermite–Gershgorin bound / λ_min(K⁽²⁾), N={N}, d={d}"] = {
            "value": float(np.median(ratios)),
            "low": min(ratios),
            "high": max(ratios),
        }
    power = min(law_power, power_b)
    against = f"the rand sampler (law) and a violation rate 2δ = {2 * DELTA:g} (M = {M}, critical count {k})"
    return combine(series, power, ALPHA, against, controls, constants)


def _plot_positivity(records: list[Record], decision: Decision, folder) -> str:
    fig, ax = figure()
    for arm, style in (("positivity", "o"), ("positivity:parallel", "x")):
        rs = [r for r in records if r.point.arm == arm]
        thetas = [max(r.point["theta"], 1e-13) for r in rs]
        ax.plot(thetas, [max(r.values["lambda_min"], 1e-18) for r in rs], style, label=f"λ_min(H∞), {arm}")
        ax.plot(thetas, [r.values["error"] for r in rs], "_", color="grey")
    t = np.array(ANGLES)
    ax.plot(t, t / (4 * math.pi), "k--", lw=0.8, label="θ/(4π)")
    log_axes(ax, "angle θ of the closest pair (θ = 0 drawn at 1e-13)", "λ_min(H∞) (grey: certified error bar)")
    return finish(fig, folder, f"{NAME}-positivity.png", f"{NAME}, Du et al. positivity: {decision.verdict}")


def _plot_violations(decision: Decision, folder) -> str:
    """The violation frequency of every binomial rule against δ and the test's critical frequency."""
    rules = [o for o in (*decision.series, *decision.controls) if "trials" in o.statistic]
    fig, ax = figure(9, 1 + 0.28 * len(rules))
    rates = [max(o.statistic["violations"] / o.statistic["trials"], 1e-4) for o in rules]
    colours = ["#cf222e" if o.expected == "rejected" else "#1a7f37" for o in rules]
    ax.barh(range(len(rules)), rates, color=colours)
    ax.set_yticks(range(len(rules)), [o.name for o in rules], fontsize=6)
    M = rules[0].statistic["trials"]
    ax.axvline(DELTA, color="k", ls="--", lw=0.8, label=f"δ = {DELTA}")
    critical = binomial_critical(M, DELTA, binomial_alpha()) / M
    ax.axvline(critical, color="grey", ls=":", lw=0.8, label=f"critical {critical:.3f}")
    ax.set(xscale="log", xlabel=f"violation frequency over M = {M} (red: planted, must reject)")
    return finish(fig, folder, f"{NAME}-violations.png", f"{NAME}, binomial rules: {decision.verdict}")


def plot(records: list[Record], decision: Decision, folder) -> list[str]:
    return [_plot_positivity(records, decision, folder), _plot_violations(decision, folder)]


STUDY = register(
    Study(
        name=NAME,
        statement="The sphere sampler follows the exact law ρ² ~ Beta(½, (d−1)/2); no two parallel inputs ⇒ "
        "λ_min(H∞) > 0 (certified); ρ_max ≤ √(2 ln(N(N−1)/δ)/d) with probability ≥ 1 − δ, and for centred "
        "sub-Gaussian data max|⟨x_i, x_j⟩| ≤ σ√(2 ln(N(N−1)/δ))·max‖x_i‖; λ_min(K⁽²⁾) ≥ the Hermite–Gershgorin "
        "bound (DET with ρ_max, PROB with t_δ).",
        citation="Du, Zhai, Póczos & Singh (ICLR 2019) Thm 3.1; Ball (1997) Lemma 2.2; NMM21 limiting-NTK theorem "
        "(steps 1–3); docs/statements.md#explicit-lower-bound; docs/studies.md#explicit-bounds",
        design=__doc__,
        default_minutes=1.0,
        grid=grid,
        measure=measure,
        decide=decide,
        plot=plot,
        subjects=("sphere-data", "h-infinity", "limiting-ntk"),
    )
)
