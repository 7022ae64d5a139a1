"""The data laws of ntkverify.distributions: is every piece of metadata true?

Statistical checks use fixed seeds and a total false-alarm budget ``ALPHA = 1e-6`` for this file, split
evenly (Bonferroni) over ``N_STAT_CHECKS`` assertions and, inside one assertion, over its sub-statistics.
Kolmogorov–Smirnov and binomial tests are exact; the moment z-tests rely on the CLT with n = 4000 draws
(docs/tolerances.md#statistical: |z| ≤ Φ⁻¹(1 − α/2)).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats
import torch

from ntkverify.analytic import limiting_ntk
from ntkverify.case import degeneracy
from ntkverify.device import unit_roundoff
from ntkverify.distributions import (
    ADVERSARIAL,
    DISTRIBUTIONS,
    NORM_SCALINGS,
    TAILS,
    AntipodalPairs,
    Clustered,
    LowRank,
    NearDuplicates,
    OnDomain,
    Scaled,
    ZeroRow,
    get_distribution,
    law_from_record,
)

U = unit_roundoff()
LAWS = list(DISTRIBUTIONS.values())
LAW_IDS = list(DISTRIBUTIONS)
N, D = 4000, 4
# Per i.i.d. law: goodness of fit, mean, second moments, norm scale; plus the ball's radial law.
N_STAT_CHECKS = 4 * len(LAWS) + 1
ALPHA = 1e-6
ALPHA_EACH = ALPHA / N_STAT_CHECKS


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng(20240501 + salt)


def _sample(law, n=N, d=D, salt=0):
    return law.sample(n, d, _rng(salt), device="cpu")


def _z_crit(alpha: float) -> float:
    return float(scipy.stats.norm.isf(alpha / 2))


# --------------------------------------------------------------------------------------------------------
# Metadata consistency


@pytest.mark.parametrize("law", LAWS + list(ADVERSARIAL.values()), ids=LAW_IDS + list(ADVERSARIAL))
def test_metadata_is_consistent(law):
    assert law.tail in TAILS and law.norm_scaling in NORM_SCALINGS
    assert law.sub_gaussian == (law.tail in ("bounded", "sub_gaussian"))
    assert law.satisfies_assumptions == (law.iid and law.lipschitz_concentrated)
    assert isinstance(law.description, str) and law.description
    assert get_distribution(law.family) is law
    if law.iid:
        assert (law.sub_gaussian_constant is not None) == law.sub_gaussian
        assert law.degeneracy is None
    else:
        assert law.degeneracy and not law.satisfies_assumptions
    X = law.sample(5, 3, torch.Generator().manual_seed(0), device="cpu")
    assert X.shape == (5, 3) and X.dtype == torch.float64 and bool(torch.isfinite(X).all())


def test_registries_are_keyed_by_family_and_start_with_the_sphere():
    assert list(DISTRIBUTIONS)[0] == "sphere"
    assert all(name == law.family for name, law in {**DISTRIBUTIONS, **ADVERSARIAL}.items())
    assert {n for n, law in DISTRIBUTIONS.items() if not law.satisfies_assumptions} == {
        "rademacher",
        "laplace",
        "logistic",
        "exponential",
        "student_t",
    }


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: law_from_record({"family": "near_duplicates", "parameters": {"width": 1}}), "width"),
        (lambda: law_from_record({"family": "cauchy", "parameters": {}}), "cauchy"),
        (lambda: NearDuplicates(gap=-1.0), "gap"),
        (lambda: Clustered(clusters=0), "clusters"),
        (lambda: LowRank(rank=0), "rank"),
        (lambda: get_distribution("cauchy"), "cauchy"),
        (lambda: DISTRIBUTIONS["sphere"].sample(0, 2, np.random.default_rng(0)), "n"),
        (lambda: DISTRIBUTIONS["sphere"].sample(2, 2, 0), "generator"),
    ],
)
def test_bad_parameters_name_the_argument(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_torch_and_numpy_generators_are_both_reproducible():
    for law in LAWS:
        a = law.sample(6, 3, torch.Generator().manual_seed(7), device="cpu")
        b = law.sample(6, 3, torch.Generator().manual_seed(7), device="cpu")
        c = law.sample(6, 3, np.random.default_rng(7), device="cpu")
        assert torch.equal(a, b) and torch.equal(c, law.sample(6, 3, np.random.default_rng(7), device="cpu"))


# --------------------------------------------------------------------------------------------------------
# Marginals (goodness of fit)


def _law_covariance(law, salt):
    """E x xᵀ; for the drawn-covariance Gaussian, the Σ drawn by ``sample`` with the same seed."""
    if law.family == "gaussian_cov":
        return law.draw_covariance(D, _rng(salt))
    return law.covariance(D)


@pytest.mark.parametrize("law", LAWS, ids=LAW_IDS)
def test_marginal_goodness_of_fit(law):
    X = _sample(law, salt=1)
    if law.family == "gaussian_cov":
        # Whitened rows Σ^{-1/2} x are i.i.d. N(0, I): pooled KS against N(0, 1).
        values = torch.linalg.solve(torch.linalg.cholesky(_law_covariance(law, 1)), X.T).T.flatten()
        reference = scipy.stats.norm()
    else:
        # Product laws have independent coordinates (pool them); otherwise use one coordinate.
        values = X.flatten() if law.product else X[:, 0]
        reference = law.marginal(D)
    values = values.numpy()
    if law.family == "rademacher":
        assert set(np.unique(values)) == {-1.0, 1.0}
        p = scipy.stats.binomtest(int((values > 0).sum()), values.size, 0.5).pvalue
    else:
        p = scipy.stats.kstest(values, reference.cdf).pvalue
    assert p > ALPHA_EACH, f"{law!r}: p = {p:.3g} <= {ALPHA_EACH:.3g}"


def test_ball_radial_law():
    """‖x‖²/R² ~ Beta(d/2, 1) for the uniform law on a ball of radius R (P(‖x‖ ≤ sR) = s^d)."""
    law = DISTRIBUTIONS["ball"]
    X = _sample(law, salt=2)
    s = (X.square().sum(1) / law.radius(D) ** 2).numpy()
    assert scipy.stats.kstest(s, scipy.stats.beta(D / 2, 1).cdf).pvalue > ALPHA_EACH


# --------------------------------------------------------------------------------------------------------
# Moments and norms


@pytest.mark.parametrize("law", LAWS, ids=LAW_IDS)
def test_mean_is_zero(law):
    """n x̄ᵀ C⁻¹ x̄ ~ χ²_d for centred data with covariance C (CLT)."""
    assert law.centred
    X = _sample(law, salt=3)
    mean = X.mean(0)
    stat = float(N * mean @ torch.linalg.solve(_law_covariance(law, 3), mean))
    assert stat < scipy.stats.chi2(D).isf(ALPHA_EACH)


@pytest.mark.parametrize("law", LAWS, ids=LAW_IDS)
def test_second_moments_match(law):
    """Each entry of X ᵀX/n against E x xᵀ: z-test with the sample standard deviation of x_j x_k,
    Bonferroni over the d(d+1)/2 entries."""
    X = _sample(law, salt=4)
    C = _law_covariance(law, 4)
    assert law.isotropic == (law.family != "gaussian_cov")
    j, k = torch.triu_indices(D, D)
    products = X[:, j] * X[:, k]
    deviation, sd = products.mean(0) - C[j, k], products.std(0)
    # A constant product (x_j² = 1 for Rademacher) must match exactly; the others get a z-test.
    assert torch.equal(deviation[sd == 0], torch.zeros_like(deviation[sd == 0]))
    z = deviation[sd > 0] / (sd[sd > 0] / math.sqrt(N))
    assert float(z.abs().max()) < _z_crit(ALPHA_EACH / len(j))


def _variance_of_squared_norm(law, d, salt) -> float:
    """Var ‖x‖² from the law: d·Var(x₁²) for product laws, 0 on a sphere, 2 tr Σ² for N(0, Σ), and for the
    ball R⁴ Var(B) with ‖x‖²/R² = B ~ Beta(d/2, 1)."""
    if law.product:
        m = law.marginal(d)
        return d * (m.moment(4) - m.moment(2) ** 2)
    if law.family == "gaussian_cov":
        return 2 * float(torch.trace(law.draw_covariance(d, _rng(salt)) @ law.draw_covariance(d, _rng(salt))))
    if law.family == "ball":
        return law.radius(d) ** 4 * float(scipy.stats.beta(d / 2, 1).var())
    return 0.0


@pytest.mark.parametrize("law", LAWS, ids=LAW_IDS)
def test_norms_concentrate_at_the_declared_scale(law):
    """E‖x‖² = d (``sqrt_d``) or 1 (``unit``) at d = 64: z-test with the law's exact Var ‖x‖², so a sampler
    with the right scale but a wider spread fails too. Sphere laws have ‖x‖² = scale exactly."""
    d = 64
    X = _sample(law, d=d, salt=5)
    scale = d if law.norm_scaling == "sqrt_d" else 1.0
    sq = X.square().sum(1)
    var = _variance_of_squared_norm(law, d, 5)
    if var == 0:
        # ‖x‖² of a point on a sphere: relative rounding ≤ 2(d + 4)u (see test_sphere_samples_lie_on_sphere).
        assert float((sq / scale - 1).abs().max()) <= 4 * (d + 4) * U
    else:
        z = (float(sq.mean()) - scale) / math.sqrt(var / N)
        assert abs(z) < _z_crit(ALPHA_EACH)


@pytest.mark.parametrize("d", [1, 3, 100])
@pytest.mark.parametrize("family", ["sphere", "unit_sphere"])
def test_sphere_samples_lie_on_sphere(family, d):
    """x = r g/‖g‖: ‖g‖ (a sum of d squares and a square root) has relative error ≤ (d/2 + 1)u + O(u²), the
    division and the product by r add 2u, and recomputing ‖x‖ adds (d/2 + 1)u: in all ≤ (d + 4)u; we allow
    twice that."""
    law = DISTRIBUTIONS[family]
    X = _sample(law, n=500, d=d, salt=6)
    r = math.sqrt(d) if family == "sphere" else 1.0
    assert float((torch.linalg.vector_norm(X, dim=1) / r - 1).abs().max()) <= 2 * (d + 4) * U


# --------------------------------------------------------------------------------------------------------
# Log-concavity and sub-Gaussian constants (deterministic checks of the declared law)


def _midpoint_defect(law, salt: int) -> float:
    """max over pairs of ½(log p(a) + log p(b)) − log p((a + b)/2), minus a rounding allowance: a log-concave
    density has it ≤ 0. Pairs are sample points and 3×-scaled sample points (to probe the tails). Each log
    density is a sum of d terms with relative error ≤ 10u each (scipy's logpdf), so the allowance is
    10·d·u·(|log p(a)| + |log p(b)| + |log p(mid)|)."""
    X = _sample(law, n=500, salt=salt)
    points = torch.cat([X, 3 * X])
    a, b = points, points[torch.from_numpy(_rng(salt).permutation(len(points)))]
    la, lb, lm = law.logpdf(a), law.logpdf(b), law.logpdf((a + b) / 2)
    finite = torch.isfinite(la) & torch.isfinite(lb)
    assert bool(torch.isfinite(lm[finite]).all()), "midpoint of two support points outside the support"
    la, lb, lm = la[finite], lb[finite], lm[finite]
    allowance = 10 * D * U * (la.abs() + lb.abs() + lm.abs())
    return float(((la + lb) / 2 - lm - allowance).max())


@pytest.mark.parametrize("law", [law for law in LAWS if law.has_density], ids=lambda law: law.family)
def test_log_concavity_of_the_density(law):
    defect = _midpoint_defect(law, salt=7)
    if law.log_concave:
        assert defect <= 0
    else:
        assert defect > 0, f"{law!r} is declared not log-concave but passed the midpoint check"


@pytest.mark.parametrize(
    "law", [law for law in LAWS if law.sub_gaussian and law.marginal(D) is not None], ids=lambda law: law.family
)
def test_sub_gaussian_constant_bounds_the_mgf(law):
    """E exp(λ x₁) ≤ exp(λ²σ²/2) on a λ-grid, for x₁ a coordinate of the √d-scaled law; by rotation
    invariance (sphere, ball) or independence of coordinates (product laws) this covers every direction.
    The MGF comes from scipy's quadrature (relative accuracy ~1e-10; we allow 1e-8), on the support cut to
    [−40, 40]: for the Gaussian the mass beyond 40 contributes < e^{−40²/2 + 4·40} to the integral."""
    scale = math.sqrt(D) if law.norm_scaling == "unit" else 1.0
    marginal = law.marginal(D)
    lower, upper = (max(bound, -40.0) if i == 0 else min(bound, 40.0) for i, bound in enumerate(marginal.support()))
    for lam in np.linspace(-4.0, 4.0, 17):
        mgf = marginal.expect(lambda t, lam=lam: np.exp(lam * scale * t), lb=lower, ub=upper)
        assert mgf <= math.exp(lam**2 * law.sub_gaussian_constant / 2) * (1 + 1e-8)


def test_drawn_covariance_has_bounded_condition_number_and_trace_d():
    law = DISTRIBUTIONS["gaussian_cov"]
    for seed in range(20):
        eig = torch.linalg.eigvalsh(law.draw_covariance(D, _rng(seed)))
        assert float(eig.sum()) == pytest.approx(D, rel=1e-12)
        assert float(eig.max() / eig.min()) <= law.condition_number * (1 + 1e-10)
        assert float(eig.max()) <= law.sub_gaussian_constant


# --------------------------------------------------------------------------------------------------------
# Adversarial geometries: the construction and its declared degeneracy


def test_near_duplicates_are_at_the_declared_relative_distance():
    X = NearDuplicates(gap=1e-3).sample(7, 5, _rng(8), device="cpu")
    dist = torch.linalg.vector_norm(X[4:] - X[:3], dim=1) / math.sqrt(5)
    assert torch.allclose(dist, torch.full_like(dist, 1e-3), rtol=1e-9, atol=0)
    Y = NearDuplicates(gap=0.0).sample(6, 3, _rng(8), device="cpu")
    assert torch.equal(Y[3:], Y[:3])


def test_antipodal_low_rank_zero_row_and_clusters():
    X = AntipodalPairs().sample(5, 3, _rng(9), device="cpu")
    assert torch.equal(X[1::2], -X[0:4:2])
    assert int(torch.linalg.matrix_rank(LowRank(rank=2).sample(6, 5, _rng(9), device="cpu"))) == 2
    Z = ZeroRow().sample(4, 3, _rng(9), device="cpu")
    assert int((~Z.any(dim=1)).sum()) == 1
    C = Clustered(clusters=2, spread=0.0).sample(5, 3, _rng(9), device="cpu")
    assert torch.equal(C[0], C[2]) and torch.equal(C[1], C[3])


# Cases where docs/statements.md#A9 forces λ_min(K^{(L)}) = 0, and generic ones where it does not.
_ZERO_CASES = [
    (NearDuplicates(gap=0.0), 4, 3, 3),
    (ZeroRow(), 3, 3, 2),
    (LowRank(rank=2), 4, 5, 1),
    (AntipodalPairs(), 8, 3, 2),
    (AntipodalPairs(), 2, 3, 1),
    (DISTRIBUTIONS["gaussian"], 5, 3, 1),
]
_POSITIVE_CASES = [
    (AntipodalPairs(), 8, 3, 3),
    (LowRank(rank=2), 4, 5, 2),
    (DISTRIBUTIONS["sphere"], 5, 3, 2),
]


@pytest.mark.parametrize("law, n, d, depth", _ZERO_CASES + _POSITIVE_CASES)
def test_degeneracy_matches_the_limiting_ntk(law, n, d, depth):
    """The one degeneracy predicate on drawn points, against ntkverify.analytic.limiting_ntk, with the safe default
    of docs/tolerances.md#tau-lim τ_lim = N L² max‖x‖² 1e−7."""
    X = law.sample(n, d, _rng(10), device="cpu")
    lam = float(torch.linalg.eigvalsh(limiting_ntk(X, depth, device="cpu"))[0])
    tau = n * depth**2 * float(X.square().sum(1).max()) * 1e-7
    degenerate = degeneracy(X, depth) is not None
    assert degenerate == ((law, n, d, depth) in _ZERO_CASES)
    if degenerate:
        assert abs(lam) <= tau
    else:
        assert lam > tau


_TRANSFORMED = [Scaled(ADVERSARIAL["clustered"], 10.0, 0.5), OnDomain(Clustered(3, 0.1), "sphere-sqrt-d")]


@pytest.mark.parametrize("law", [*DISTRIBUTIONS.values(), *ADVERSARIAL.values(), *_TRANSFORMED])
def test_a_law_is_recorded_as_its_family_and_declared_parameters(law):
    """``family + parameters`` rebuilds an equal law (the parameters declared, never parsed from a repr)."""
    record = law.record()
    assert set(record["parameters"]) == set(law.parameter_names)
    again = law_from_record(json.loads(json.dumps(record)))
    assert again == law and repr(again) == repr(law) and type(again) is type(law)
