"""Every bound of :mod:`ntkverify.bounds` as a property of the suite, from the bound's declared fields alone.

* What a bound applies to (:class:`~ntkverify.bounds.Target`) chooses its cases and its subjects: the limiting
  NTK, its layers and H∞ run on shrinking Hypothesis cases (data of every law, adversarial geometry and explicit
  arrays, depth 1–4); the empirical NTK and the feature matrices on a drawn bias-free ReLU network (seed
  parameterisation, N(0,1) weights from a drawn seed) and data; the bounds for any symmetric matrix on both.
* What data it needs (:class:`~ntkverify.bounds.Data`) maps each case into the assumptions: unit rows, rows of
  squared norm d, an appended degeneracy for the exact zeros (docs/statements.md#A9). A case still outside the
  assumptions (e.g. a zero row for a bound that excludes them) counts as vacuous.
* PROB bounds are judged as statistics: each trial draws i.i.d. uniform points on the sphere the bound's data
  name, and the number of violations among the trials is compared with the claimed δ by a binomial test.
* A user's kernel (``ntkverify check``, ``verify``) gets every bound whose target its claim provides
  (:attr:`~ntkverify.properties.subjects.Claim.target`): the any-matrix bounds for every claim, the bounds on
  ``K^{(L)}`` (λ_min lower and upper bounds, the Schur and Hermite steps) for the seed-normalised ReLU NTK, the
  H∞ bounds for Du et al.'s Gram matrix (DET ones: each failure shrinks to a replayable counterexample). The
  kernel under test is the observed side; the other side comes from the data and the engine's layers. Bounds
  that observe the layers themselves (the Loewner steps) need the layers, which a user's kernel does not
  provide.
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
from ntkverify.bounds import Data, Target
from ntkverify.case import KernelCase, NetworkCase, WeightsCase
from ntkverify.empirical import empirical_ntk
from ntkverify.properties.cases import SMALL_LIMITS, kernel_cases, network_cases, with_degeneracy
from ntkverify.properties.core import EMPIRICAL, SPECTRUM, Figure, Kind, Property, Verdict, register
from ntkverify.properties.subjects import USER_KERNEL, KernelError, Subject
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

#: The subjects of a bound's property, by what the bound applies to.
SUBJECTS = {
    Target.ANY_MATRIX: ("limiting-ntk", USER_KERNEL),
    Target.LIMITING_NTK: ("limiting-ntk", USER_KERNEL),
    Target.LIMITING_LAYERS: ("limiting-ntk",),
    Target.H_INFINITY: ("h-infinity", USER_KERNEL),
    Target.EMPIRICAL_NTK: ("empirical-ntk",),
    Target.FEATURES: ("feature-matrices", "feature-maps"),
    Target.DATA: ("sphere-data",),
}
#: The law a PROB trial draws its data from, by the data the bound needs.
SAMPLERS = {Data.SPHERE: "sphere", Data.DIRECTIONS: "sphere", Data.UNIT_SPHERE: "unit_sphere"}
_NETWORK_TARGETS = (Target.EMPIRICAL_NTK, Target.FEATURES)


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


def _rescaled(case: KernelCase, radius_sq) -> KernelCase:
    """Rows scaled to squared norm ``radius_sq(d)``; zero rows become e₁ (so every row is in scope)."""
    X = case.X.clone()
    norms = torch.linalg.vector_norm(X, dim=1)
    X[norms == 0, 0] = 1.0
    X = X / torch.linalg.vector_norm(X, dim=1, keepdim=True) * math.sqrt(radius_sq(case.d))
    return case.with_points(X)


def _limiting_strategy(bound: bounds.Bound):
    """Cases mapped into the data the bound needs (and shrinking the same way)."""

    def strategy(subject, limits=SMALL_LIMITS):
        base = kernel_cases(subject, limits=limits)
        if bound.data is Data.DEGENERATE:
            return st.tuples(base, st.sampled_from(["parallel", "zero"])).map(lambda t: with_degeneracy(*t))
        radius_sq = bound.data.radius_sq
        return base if radius_sq is None else base.map(lambda c: _rescaled(c, radius_sq))

    return strategy


def _applies(bound: bounds.Bound):
    """A user's kernel gets the bound when its claim provides the bound's target (any claim: any matrix)."""

    def applies(subject: Subject) -> str | None:
        if bound.target in (Target.ANY_MATRIX, subject.claim.target):
            return None
        return f"the bound is about {bound.target.value}; the claim {subject.claim} is {subject.claim.target.value}"

    return applies


def bound_case(subject: Subject | None, X: torch.Tensor, depth: int, **kw) -> KernelCase:
    """The bounds-library case of data ``X``: the engine's kernels, or a user's kernel as the matrix under test
    (its entry budget from :meth:`~ntkverify.properties.subjects.Claim.entry_tolerances`)."""
    if subject is None:
        return KernelCase(X, depth, **kw)
    L = subject.depth_for(depth)
    K = subject(X, L)
    error = float(subject.claim.entry_tolerances(X, L, K).max())
    # the bounds are about a symmetric matrix; an asymmetric kernel fails ``well-formed-symmetric`` instead
    K = (K + K.T) / 2
    return KernelCase(X, L, kernel=K, kernel_target=subject.claim.target, kernel_error=error, **kw)


def _evaluate(bound: bounds.Bound, bcase, notes: str = "") -> Verdict:
    reason = bound.out_of_scope(bcase)
    return Verdict.out_of_scope(reason) if reason is not None else verdict_of(bound.margin(bcase), notes)


def _limiting_check(bound: bounds.Bound):
    def check(subject, case: KernelCase) -> Verdict:
        try:
            return _evaluate(bound, bound_case(subject, case.X, case.depth))
        except KernelError as exc:
            return Verdict.failure(str(exc))

    return check


def _relu_networks(subject=None, limits=SMALL_LIMITS):
    """Bias-free ReLU networks in the seed parameterisation (docs/model.md#seed-normalisation) with data."""
    return network_cases(subject, limits=limits, activation="relu")


def _empirical_check(bound: bounds.Bound):
    def check(subject, nc: NetworkCase) -> Verdict:
        model = nc.model()
        # the kernel under test is the engine's fast path; the bound's own forward pass supplies F_l, B_l
        K_bar = empirical_ntk(model, nc.X, method="layerwise")
        return _evaluate(bound, WeightsCase(nc.X, [W.detach() for W in model.weights], kernel=K_bar))

    return check


def _prob_trial(bound: bounds.Bound):
    family = SAMPLERS[bound.data]

    def trial(subject, rng: np.random.Generator) -> Verdict:
        N, d = PROB_SHAPE
        X = get_distribution(family).sample(N, d, rng)
        depth = int(rng.integers(2, 5))
        try:
            bcase = bound_case(subject, X, depth, delta=PROB_DELTA)
        except KernelError as exc:
            return Verdict.failure(str(exc))
        return _evaluate(bound, bcase, notes=f"{family}, N={N}, d={d}, depth={bcase.depth}")

    return trial


#: what a report draws for a case of a bound, by what kind of number the bound's quantity is
FIGURES = {
    bounds.Measure.EIGENVALUE: Figure.SPECTRUM,
    bounds.Measure.FEATURE_EIGENVALUE: Figure.FEATURE_SPECTRA,
    bounds.Measure.LIPSCHITZ_QUOTIENT: Figure.QUOTIENTS,
    bounds.Measure.IDENTITY_DEFECT: Figure.MARGINS,
    bounds.Measure.DATA_STATISTIC: Figure.MARGINS,
}


def _property_of(bound: bounds.Bound, on_networks: bool) -> Property:
    common = dict(
        figure=FIGURES[bound.measure],
        name=f"bound:{bound.name}" + ("@empirical" if on_networks and bound.target is Target.ANY_MATRIX else ""),
        statement=bound.statement,
        citation=str(bound.citation),
        kind=bound.kind,
        limits=(f"assumptions: {bound.assumptions}",),
        tolerance_rule="τ(lhs) + τ(rhs): the certified error bars of both sides (docs/tolerances.md#inequalities)",
        builds_kernel=True,
    )
    if on_networks:
        subjects = ("empirical-ntk",) if bound.target is Target.ANY_MATRIX else SUBJECTS[bound.target]
        return Property(
            subjects=subjects, check=_empirical_check(bound), strategy=_relu_networks, cost=EMPIRICAL, **common
        )
    subjects, applies = SUBJECTS[bound.target], _applies(bound)
    if bound.kind is Kind.PROB:
        # a user's kernel is checked per example, each failure shrunk to a replayable counterexample; a PROB
        # bound judges a violation count over random data instead, so it runs on the engine's kernels only
        subjects = tuple(s for s in subjects if s != USER_KERNEL)
        trial = _prob_trial(bound)
        return Property(subjects=subjects, applies=applies, trial=trial, delta=PROB_DELTA, trials=PROB_TRIALS, **common)
    check, strategy = _limiting_check(bound), _limiting_strategy(bound)
    return Property(subjects=subjects, applies=applies, check=check, strategy=strategy, cost=SPECTRUM, **common)


def properties_of(bound: bounds.Bound) -> list[Property]:
    """The bound as properties: on networks for the empirical targets, on data and depth for the limiting ones,
    and both for the bounds that hold for any symmetric matrix."""
    if bound.target in _NETWORK_TARGETS:
        return [_property_of(bound, on_networks=True)]
    props = [_property_of(bound, on_networks=False)]
    if bound.target is Target.ANY_MATRIX:
        props.append(_property_of(bound, on_networks=True))
    return props


for _bound in bounds.all_bounds():
    for _prop in [] if _bound.name in RETIRED else properties_of(_bound):
        register(_prop)
