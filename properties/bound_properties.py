"""Every bound of :mod:`ntkverify.bounds` as a property of the suite.

* DET and CONJ bounds of the limiting kernels run on shrinking Hypothesis cases (data of every law, adversarial
  geometry and explicit arrays, depth 1–4), mapped into the bound's scope where it names one: unit rows for the
  H∞ bounds, rows of squared norm d for the seed paper's upper bound, an appended degeneracy for the A9 zeros.
  A case still outside the assumptions (e.g. a zero row for a bound that excludes them) counts as vacuous.
* Empirical-kernel bounds (spec B3–B8) run on a drawn bias-free ReLU network (seed parameterisation, N(0,1)
  weights from a drawn seed) and data.
* PROB bounds are judged as statistics: each trial draws i.i.d. uniform points on the sphere the bound assumes,
  and the number of violations among the trials is compared with the claimed δ by a binomial test.
* PROB bounds that cannot fail at that trial shape are not properties (:data:`RETIRED`): a check that cannot
  fail is a defect. They stay in :mod:`ntkverify.bounds`, are validated where they bind by the bounds' own
  tests, and the statements they make explicit are tested at scale by the studies (docs/studies.md).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st

from ntkverify import bounds
from ntkverify.empirical import empirical_ntk
from ntkverify.properties.cases import KernelCase, NetworkCase, _degenerate, kernel_cases, network_cases
from ntkverify.properties.core import Kind, Property, Verdict, register
from ntkverify.strategies import get_distribution

PROB_DELTA = 0.05  # the δ each PROB bound is evaluated at; its claim is P(violation) ≤ δ per trial
PROB_TRIALS = 40
PROB_SHAPE = (8, 64)  # (N, d): t_δ = √(2 ln(N(N−1)/δ)/d) ≈ 0.51 < 1, so the bounds are not vacuous
#: PROB bounds without a property, and why: measured at PROB_SHAPE, no plausible error can violate them.
RETIRED = {
    "sphere_hermite_lower": "its bound is 0.4–1.6 % of λ_min at N = 8; the Θ(d) statement: study lambda-min-scaling",
    "nmm21_scaling_lower": "its bound is 0.4–1.6 % of λ_min at N = 8; the Θ(d) statement: study lambda-min-scaling",
    "hinf_sphere_lower": "its bound is negative on every trial at N = 8",
}


def verdict_of(margin: bounds.Margin, notes: str = "") -> Verdict:
    """A bound's :class:`~ntkverify.bounds.Margin` as a property verdict (same slack, tolerance and scale)."""
    return Verdict(
        margin.holds,
        margin.observed.value,
        margin.bound.value,
        margin.normalised,
        margin.tolerance,
        margin.side.value,
        f"{margin}; {notes}".strip("; "),
    )


def _vacuous(reason: str) -> Verdict:
    return Verdict(True, math.nan, math.nan, math.inf, 0.0, notes=f"out of scope: {reason}")


def _rescaled(case: KernelCase, radius_sq) -> KernelCase:
    """Rows scaled to squared norm ``radius_sq(d)``; zero rows become e₁ (so every row is in scope)."""
    X = case.X.clone()
    norms = torch.linalg.vector_norm(X, dim=1)
    X[norms == 0, 0] = 1.0
    X = X / torch.linalg.vector_norm(X, dim=1, keepdim=True) * math.sqrt(radius_sq(case.d))
    return case.with_data(X)


# Where a bound's assumptions name a data shape, cases are mapped into it (and shrink the same way).
_SHAPERS = {
    "hinf_gershgorin_lower": lambda c: _rescaled(c, lambda d: 1.0),
    "hinf_hermite_lower": lambda c: _rescaled(c, lambda d: 1.0),
    "nmm21_scaling_upper": lambda c: _rescaled(c, lambda d: float(d)),
}


def _limiting_strategy(bound: bounds.Bound):
    def strategy(subject):
        base = kernel_cases(subject)
        if bound.name == "degenerate_zero":
            return st.tuples(base, st.sampled_from(["parallel", "zero"])).map(lambda t: _degenerate(*t))
        shaper = _SHAPERS.get(bound.name)
        return base.map(shaper) if shaper else base

    return strategy


def _limiting_check(bound: bounds.Bound):
    def check(subject, case: KernelCase) -> Verdict:
        bcase = bounds.Case(case.X, case.depth)
        reason = bound.out_of_scope(bcase)
        if reason is not None:
            return _vacuous(reason)
        return verdict_of(bound.margin(bcase))

    return check


def _relu_networks(subject=None):
    """Bias-free ReLU networks in the seed parameterisation (the model of spec §2) with data."""
    return network_cases(subject, activation="relu")


def _empirical_check(bound: bounds.Bound):
    def check(subject, nc: NetworkCase) -> Verdict:
        model = nc.model()
        # the kernel under test is the engine's fast path; the bound's own forward pass supplies F_l, B_l
        K_bar = empirical_ntk(model, nc.X, method="layerwise")
        bcase = bounds.EmpiricalCase(nc.X, [W.detach() for W in model.weights], kernel=K_bar)
        reason = bound.out_of_scope(bcase)
        if reason is not None:
            return _vacuous(reason)
        return verdict_of(bound.margin(bcase))

    return check


def _sphere_for(bound: bounds.Bound) -> str:
    return "unit_sphere" if "radius 1" in bound.assumptions else "sphere"


def _prob_trial(bound: bounds.Bound):
    family = _sphere_for(bound)

    def trial(subject, rng: np.random.Generator) -> Verdict:
        N, d = PROB_SHAPE
        X = get_distribution(family).sample(N, d, rng)
        depth = int(rng.integers(2, 5))
        bcase = bounds.Case(X, depth, delta=PROB_DELTA)
        return verdict_of(bound.margin(bcase), notes=f"{family}, N={N}, d={d}, depth={depth}")

    return trial


def _properties_of(bound: bounds.Bound) -> list[Property]:
    """The bound as a property of the kernels it applies to; the bounds that hold for any kernel matrix
    (:mod:`ntkverify.bounds.matrix`: PSD, trivial, 2×2 interlacing, Gershgorin, λ_max) run on the limiting and
    on the empirical NTK."""
    props = [_property_of(bound)]
    if bound.bound_fn.__module__ == bounds.matrix.__name__:
        props.append(_property_of(bound, empirical=True))
    return props


def _property_of(bound: bounds.Bound, empirical: bool = False) -> Property:
    common = dict(
        name=f"bound:{bound.name}" + ("@empirical" if empirical else ""),
        statement=bound.statement,
        citation=bound.citation,
        kind=bound.kind,
        limits=(f"assumptions: {bound.assumptions}",),
        tolerance_rule="τ(lhs) + τ(rhs): the certified error bars of both sides (spec §11.4)",
    )
    if bound.kind is Kind.PROB:
        return Property(
            kernels=("limiting-ntk-bounds", "statistics"),
            trial=_prob_trial(bound),
            delta=PROB_DELTA,
            trials=PROB_TRIALS,
            **common,
        )
    if empirical or bound.name.startswith("emp_"):
        return Property(kernels=("empirical-ntk",), check=_empirical_check(bound), strategy=_relu_networks, **common)
    return Property(
        kernels=("limiting-ntk-bounds",), check=_limiting_check(bound), strategy=_limiting_strategy(bound), **common
    )


for _bound in bounds.all_bounds():
    for _prop in [] if _bound.name in RETIRED else _properties_of(_bound):
        register(_prop)
