"""Data distributions as objects: one sampling interface and the metadata the theorems quantify over.

Every law is a small object with ``sample(n, d, generator)``, which returns an ``n × d`` float64 tensor
whose rows are the points ``x_1..x_n`` (docs/model.md#notation: rows, as in NMM21), drawn from an explicit
``torch.Generator`` or ``numpy.random.Generator`` and never from global random state. Like scipy.stats,
every law has the same interface and declared parameters (``parameter_names``, read back by ``parameters``), so a
law is recorded and rebuilt as ``family + parameters`` (:meth:`Distribution.record`, :func:`law_from_record`), never
from its repr; its metadata says what the theory may assume:

``centred``, ``isotropic``
    E x = 0, and E x xᵀ ∝ I_d (``covariance(d)`` returns the matrix, or ``None`` if it is random).
``tail``
    ``"bounded"``, ``"sub_gaussian"``, ``"sub_exponential"`` (Poincaré-type, exponential tails) or
    ``"heavy"`` (polynomial tails). ``sub_gaussian`` is true for the first two.
``sub_gaussian_constant``
    A variance proxy σ² with E exp(λ⟨v, x − E x⟩) ≤ exp(λ²σ²/2) for every unit v and real λ, stated for the
    √d-scaled law (for a ``"unit"`` law, for √d·x); ``None`` when the law is not sub-Gaussian.
``log_concave``
    The law has a log-concave Lebesgue density (``logpdf`` returns it).
``lipschitz_concentrated``
    NMM21 Assumption 2.2 as recalled in docs/data.md#lipschitz-concentration: P(|φ(x) − Eφ(x)| > t) ≤ 2 exp(−c
    t²/‖φ‖²_Lip) for every
    Lipschitz φ, with c an absolute constant (after √d-scaling for ``"unit"`` laws).
``norm_scaling``
    ``"sqrt_d"`` (E‖x‖² = d, so ‖x‖ ≈ √d: the seed paper's convention, docs/data.md#nmm21-data-scaling) or ``"unit"``
    (‖x‖ = 1).
``iid``
    The rows are independent draws from one law. The adversarial geometries below are not.
``satisfies_assumptions``
    i.i.d. rows from a law that satisfies docs/data.md#nmm21-data-scaling (Assumption 2.1 holds with E‖x‖² = d by
    construction;
    Assumption 2.2 is ``lipschitz_concentrated``). Properties that need the assumptions skip the others.
``degeneracy``
    For the adversarial geometries, which degeneracy of λ_min they create (docs/statements.md#A9).

The laws and the facts behind their metadata:

* ``sphere`` (radius √d) and ``unit_sphere``: uniform on S^{d−1}; one coordinate of the unit sphere satisfies
  (u₁ + 1)/2 ~ Beta((d−1)/2, (d−1)/2), a symmetric Beta, which is strictly sub-Gaussian (Marchal & Arbel,
  "On the sub-Gaussianity of the Beta and Dirichlet distributions", 2017), so σ² = d·Var u₁ = 1.
  Lipschitz-concentrated by Lévy's isoperimetric inequality. No density in R^d, so not log-concave.
* ``gaussian``: N(0, I_d), σ² = 1, log-concave, Gaussian concentration (Tsirelson–Ibragimov–Sudakov).
* ``gaussian_cov``: given a covariance Σ drawn from the same generator (Haar eigenvectors, eigenvalues with
  ratio at most ``condition_number``, tr Σ = d), the rows are i.i.d. N(0, Σ); σ² ≤ λ_max(Σ) ≤
  ``condition_number`` because λ_min(Σ) ≤ tr Σ/d = 1.
* ``rademacher``: uniform on {±1}^d, σ² = 1 (cosh λ ≤ e^{λ²/2}). Not log-concave (no density). Lipschitz
  concentration holds for convex φ only (Talagrand), and two rows coincide with probability ≥ 1 − Π_{i<n}
  (1 − i·2^{−d}), so it does not satisfy the assumptions (docs/data.md#lipschitz-concentration says not to use it as
  an example).
* ``uniform_cube``: uniform on [−√3, √3]^d, unit variance, σ² = 1 (sinh(λa)/(λa) ≤ e^{λ²a²/6}, a² = 3).
  Uniform on a convex body, hence log-concave, and Lipschitz-concentrated (the uniform law on an interval
  satisfies a log-Sobolev inequality, which tensorises).
* ``ball``: uniform on the ball of radius √(d+2), so E‖x‖² = d and Cov = I. It is the image of the uniform law
  on the sphere of radius √(d+2) in R^{d+2} under dropping two coordinates (Barthe, Guédon, Mendelson & Naor,
  2005); the projection is 1-Lipschitz, so Lévy's inequality carries over, and it is also the sampler.
  Log-concave; coordinates are symmetric Beta((d+1)/2, (d+1)/2) after scaling, σ² = 1.
* ``laplace``, ``logistic``, ``exponential`` (Exp(1) − 1): product laws with unit variance, log-concave,
  but only exponentially concentrated (φ(x) = x₁ is 1-Lipschitz with an exponential tail), so they fall
  outside Assumption 2.2 and ``satisfies_assumptions`` is false.
* ``student_t``: product of Student-t laws with integer ``df`` ≥ 5 (finite fourth moment, so the statistical
  tests have finite variances), scaled to unit variance; polynomial tails, not log-concave; violates the
  assumptions.

Adversarial geometries (``iid`` false; built on the sphere of radius √d, so the √d convention holds):
``near_duplicates`` (pairs at relative distance ``gap``), ``near_antipodal`` (pairs at relative distance
``gap`` from each other's antipode), ``antipodal`` (pairs ±y), ``clustered``,
``low_rank`` (rank r < n) and ``zero_row``. Whether a drawn set forces λ_min = 0 exactly (docs/statements.md#A9) is
decided on the points themselves, by :func:`ntkverify.case.degeneracy`.

Transformed laws: ``Scaled(base, scale, outlier)`` multiplies the rows by ``scale`` and the first row by
``outlier`` more (row norms from 1e-100 to 1e100, mixed scales in one data set); ``OnDomain(base, domain)``
projects the rows to the unit sphere or the sphere of radius √d (:data:`DOMAINS`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats
import torch

from ntkverify.device import DEFAULT_DTYPE, resolve_device
from ntkverify.validation import check_int, check_nonneg

TAILS = ("bounded", "sub_gaussian", "sub_exponential", "heavy")
NORM_SCALINGS = ("sqrt_d", "unit")

# Open uniforms are (k + 1/2)/2^52 with k uniform in [0, 2^52): exact in float64 and strictly inside (0, 1),
# so log u and log(1 − u) are always finite.
_UNIFORM_BITS = 52


class RandomSource:
    """The primitive draws of every sampler, from an explicit torch or numpy generator.

    Both back ends give float64 tensors; torch draws stay on the generator's device.
    """

    def __init__(self, generator):
        if isinstance(generator, torch.Generator):
            self._torch, self._numpy = generator, None
        elif isinstance(generator, np.random.Generator):
            self._torch, self._numpy = None, generator
        else:
            raise ValueError(
                f"generator must be a torch.Generator or numpy.random.Generator, got {type(generator).__name__}"
            )

    def normal(self, *shape: int) -> torch.Tensor:
        """Independent N(0, 1) draws."""
        if self._torch is not None:
            return torch.randn(shape, generator=self._torch, dtype=DEFAULT_DTYPE, device=self._torch.device)
        return torch.from_numpy(self._numpy.standard_normal(shape))

    def uniform(self, *shape: int) -> torch.Tensor:
        """Independent uniform draws on the grid (k + 1/2)/2^52, strictly inside (0, 1)."""
        if self._torch is not None:
            k = torch.randint(0, 2**_UNIFORM_BITS, shape, generator=self._torch, device=self._torch.device)
        else:
            k = torch.from_numpy(self._numpy.integers(0, 2**_UNIFORM_BITS, size=shape))
        return (k.to(DEFAULT_DTYPE) + 0.5) / 2.0**_UNIFORM_BITS

    def index(self, high: int) -> int:
        """A uniform integer in [0, high)."""
        return int(self.uniform() * high)

    def orthonormal(self, d: int, k: int) -> torch.Tensor:
        """A d × k matrix with orthonormal columns, Haar-distributed (QR of a Gaussian matrix with the signs
        of diag R fixed to +1; Mezzadri, "How to generate random matrices from the classical compact
        groups", 2007)."""
        q, r = torch.linalg.qr(self.normal(d, k))
        return q * torch.sign(torch.diagonal(r))


def _on_sphere(g: torch.Tensor, radius: float) -> torch.Tensor:
    """Rows of a Gaussian matrix projected to the sphere of the given radius (uniform by rotation
    invariance). A Gaussian row is zero with probability 0."""
    return radius * g / torch.linalg.vector_norm(g, dim=1, keepdim=True)


class Distribution:
    """A law of n points in R^d; see the module docstring for the meaning of every attribute.

    Subclasses set the class-level metadata and implement ``_sample(n, d, rng)``.
    """

    family: str
    description: str
    centred: bool = True
    isotropic: bool = True
    tail: str = "bounded"
    sub_gaussian_constant: float | None = None
    log_concave: bool = False
    lipschitz_concentrated: bool = False
    norm_scaling: str = "sqrt_d"
    iid: bool = True
    product: bool = False
    has_density: bool = False
    degeneracy: str | None = None
    parameter_names: tuple[str, ...] = ()

    @property
    def sub_gaussian(self) -> bool:
        return self.tail in ("bounded", "sub_gaussian")

    @property
    def satisfies_assumptions(self) -> bool:
        return self.iid and self.lipschitz_concentrated

    def sample(self, n: int, d: int, generator, *, device=None) -> torch.Tensor:
        """``n`` points in R^d as the rows of an ``n × d`` float64 tensor on ``device`` (policy default)."""
        n = check_int(n, "n", 1)
        d = check_int(d, "d", 1)
        X = self._sample(n, d, RandomSource(generator))
        return X.to(device=resolve_device(device), dtype=DEFAULT_DTYPE)

    def _sample(self, n: int, d: int, rng: RandomSource) -> torch.Tensor:
        raise NotImplementedError

    def covariance(self, d: int) -> torch.Tensor | None:
        """E x xᵀ (= Cov x for centred laws) as a d × d float64 tensor, or ``None`` when it is random."""
        d = check_int(d, "d", 1)
        if not self.isotropic:
            return None
        scale = 1.0 / d if self.norm_scaling == "unit" else 1.0
        return scale * torch.eye(d, dtype=DEFAULT_DTYPE)

    def marginal(self, d: int):
        """The law of one coordinate as a frozen ``scipy.stats`` distribution, or ``None`` when the
        coordinates are not exchangeable with a known law."""
        return None

    def logpdf(self, x: torch.Tensor) -> torch.Tensor:
        """Log density at the rows of ``x`` (−inf outside the support); product laws sum their marginals."""
        if not self.has_density:
            raise NotImplementedError(f"the {self.family} law has no Lebesgue density on R^d")
        x = torch.as_tensor(x, dtype=DEFAULT_DTYPE)
        values = self.marginal(x.shape[-1]).logpdf(x.cpu().numpy())
        return torch.from_numpy(np.asarray(values)).sum(-1)

    @property
    def parameters(self) -> dict:
        """The declared parameters and their values (``parameter_names`` are the constructor's arguments)."""
        return {name: getattr(self, name) for name in self.parameter_names}

    def record(self) -> dict:
        """``{"family", "parameters"}``, JSON-able (a base law as its own record); :func:`law_from_record` reads it."""
        values = {k: v.record() if isinstance(v, Distribution) else v for k, v in self.parameters.items()}
        return {"family": self.family, "parameters": values}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "family" in cls.__dict__:
            _FAMILIES[cls.family] = cls

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else (repr(v) if isinstance(v, Distribution) else f"{k}={v}")
            for k, v in self.parameters.items()
        )
        return f"{self.family}({params})" if params else self.family

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.parameters == other.parameters

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.parameters.items())))


#: Every law's class by family name (filled as the classes are defined), for :func:`law_from_record`.
_FAMILIES: dict[str, type[Distribution]] = {}


def law_from_record(record: dict) -> Distribution:
    """The law :meth:`Distribution.record` describes (``ValueError`` for an unknown family or bad parameters)."""
    family, parameters = record["family"], record["parameters"]
    if family not in _FAMILIES:
        raise ValueError(f"unknown law family {family!r}; known: {sorted(_FAMILIES)}")
    values = {k: law_from_record(v) if isinstance(v, dict) else v for k, v in parameters.items()}
    try:
        return _FAMILIES[family](**values)
    except TypeError as exc:
        raise ValueError(f"bad parameters for the {family} law: {exc}") from None


# ---------------------------------------------------------------------------------------------------------
# i.i.d. laws


class Sphere(Distribution):
    """Uniform on the sphere of radius √d."""

    family = "sphere"
    description = "uniform on the sphere of radius √d in R^d"
    tail = "bounded"
    sub_gaussian_constant = 1.0
    lipschitz_concentrated = True

    def radius(self, d: int) -> float:
        return math.sqrt(d) if self.norm_scaling == "sqrt_d" else 1.0

    def _sample(self, n, d, rng):
        return _on_sphere(rng.normal(n, d), self.radius(d))

    def marginal(self, d):
        r = self.radius(d)
        if d == 1:
            return scipy.stats.rv_discrete(values=([-r, r], [0.5, 0.5]))
        return scipy.stats.beta((d - 1) / 2, (d - 1) / 2, loc=-r, scale=2 * r)


class UnitSphere(Sphere):
    """Uniform on the unit sphere."""

    family = "unit_sphere"
    description = "uniform on the sphere of radius 1 in R^d"
    norm_scaling = "unit"


class Gaussian(Distribution):
    """Standard Gaussian N(0, I_d)."""

    family = "gaussian"
    description = "standard Gaussian N(0, I_d)"
    tail = "sub_gaussian"
    sub_gaussian_constant = 1.0
    log_concave = True
    lipschitz_concentrated = True
    has_density = True
    product = True

    def _sample(self, n, d, rng):
        return rng.normal(n, d)

    def marginal(self, d):
        return scipy.stats.norm()


class GaussianCovariance(Distribution):
    """N(0, Σ) given a covariance Σ drawn from the generator: Haar eigenvectors, eigenvalues
    ``condition_number**t`` with t uniform in [0, 1], rescaled so that tr Σ = d (E‖x‖² = d).

    Parameters
    ----------
    condition_number : float >= 1
        Upper bound on λ_max(Σ)/λ_min(Σ).
    """

    family = "gaussian_cov"
    parameter_names = ("condition_number",)
    isotropic = False
    tail = "sub_gaussian"
    lipschitz_concentrated = True

    def __init__(self, condition_number: float = 10.0):
        value = check_nonneg(condition_number, "condition_number")
        if value < 1:
            raise ValueError(f"condition_number must be >= 1, got {value}")
        self.condition_number = value
        self.sub_gaussian_constant = value
        self.description = f"N(0, Σ) with a drawn Σ, cond(Σ) <= {value:g}, tr Σ = d"

    # Given Σ the rows are i.i.d. N(0, Σ), a log-concave law; Σ is random, so no single density is returned.
    log_concave = True

    def _factors(self, d: int, rng: RandomSource) -> tuple[torch.Tensor, torch.Tensor]:
        q = rng.orthonormal(d, d)
        eig = self.condition_number ** rng.uniform(d)
        return q, eig * (d / eig.sum())

    def draw_covariance(self, d: int, generator) -> torch.Tensor:
        """The Σ that :meth:`sample` would use with a generator in the same state (it draws Σ first)."""
        q, eig = self._factors(check_int(d, "d", 1), RandomSource(generator))
        return (q * eig) @ q.T

    def _sample(self, n, d, rng):
        q, eig = self._factors(d, rng)
        return (rng.normal(n, d) * eig.sqrt()) @ q.T


class Rademacher(Distribution):
    """Uniform on the cube vertices {±1}^d."""

    family = "rademacher"
    description = "uniform on {±1}^d (Rademacher coordinates)"
    tail = "bounded"
    sub_gaussian_constant = 1.0
    product = True

    def _sample(self, n, d, rng):
        return torch.where(rng.uniform(n, d) < 0.5, -1.0, 1.0).to(DEFAULT_DTYPE)

    def marginal(self, d):
        return scipy.stats.rv_discrete(values=([-1, 1], [0.5, 0.5]))


_SQRT3 = math.sqrt(3.0)


class UniformCube(Distribution):
    """Uniform on [−√3, √3]^d (unit-variance coordinates)."""

    family = "uniform_cube"
    description = "uniform on the cube [-√3, √3]^d"
    tail = "bounded"
    sub_gaussian_constant = 1.0
    log_concave = True
    lipschitz_concentrated = True
    has_density = True
    product = True

    def _sample(self, n, d, rng):
        return _SQRT3 * (2 * rng.uniform(n, d) - 1)

    def marginal(self, d):
        return scipy.stats.uniform(loc=-_SQRT3, scale=2 * _SQRT3)


class Ball(Distribution):
    """Uniform on the ball of radius √(d+2) (E‖x‖² = d), sampled as the first d coordinates of a uniform
    point on the sphere of radius √(d+2) in R^{d+2}."""

    family = "ball"
    description = "uniform on the ball of radius √(d+2) in R^d"
    tail = "bounded"
    sub_gaussian_constant = 1.0
    log_concave = True
    has_density = True
    lipschitz_concentrated = True

    @staticmethod
    def radius(d: int) -> float:
        return math.sqrt(d + 2)

    def _sample(self, n, d, rng):
        return _on_sphere(rng.normal(n, d + 2), self.radius(d))[:, :d]

    def marginal(self, d):
        r = self.radius(d)
        return scipy.stats.beta((d + 1) / 2, (d + 1) / 2, loc=-r, scale=2 * r)

    def logpdf(self, x):
        x = torch.as_tensor(x, dtype=DEFAULT_DTYPE)
        d = x.shape[-1]
        r = self.radius(d)
        log_volume = (d / 2) * math.log(math.pi) - math.lgamma(d / 2 + 1) + d * math.log(r)
        inside = torch.linalg.vector_norm(x, dim=-1) <= r
        return torch.where(inside, -log_volume, -math.inf)


class Laplace(Distribution):
    """Product of Laplace laws with scale 1/√2 (unit variance): the difference of two Exp(1) draws."""

    family = "laplace"
    description = "i.i.d. Laplace coordinates, unit variance"
    tail = "sub_exponential"
    log_concave = True
    has_density = True
    product = True
    _scale = 1 / math.sqrt(2.0)

    def _sample(self, n, d, rng):
        return self._scale * (torch.log(rng.uniform(n, d)) - torch.log(rng.uniform(n, d)))

    def marginal(self, d):
        return scipy.stats.laplace(scale=self._scale)


class Logistic(Distribution):
    """Product of logistic laws with scale √3/π (unit variance), by inversion: s·log(u/(1−u))."""

    family = "logistic"
    description = "i.i.d. logistic coordinates, unit variance"
    tail = "sub_exponential"
    log_concave = True
    has_density = True
    product = True
    _scale = _SQRT3 / math.pi

    def _sample(self, n, d, rng):
        u = rng.uniform(n, d)
        return self._scale * (torch.log(u) - torch.log1p(-u))

    def marginal(self, d):
        return scipy.stats.logistic(scale=self._scale)


class CentredExponential(Distribution):
    """Product of Exp(1) − 1 laws (mean 0, unit variance, skewed), by inversion: −log u − 1."""

    family = "exponential"
    description = "i.i.d. Exp(1) - 1 coordinates (centred, skewed)"
    tail = "sub_exponential"
    log_concave = True
    has_density = True
    product = True

    def _sample(self, n, d, rng):
        return -torch.log(rng.uniform(n, d)) - 1

    def marginal(self, d):
        return scipy.stats.expon(loc=-1)


class StudentT(Distribution):
    """Product of Student-t laws with integer ``df`` degrees of freedom, scaled to unit variance:
    Z·√((df−2)/df) / √(χ²_df/df), with χ²_df a sum of df squared normals.

    Parameters
    ----------
    df : int >= 5
        Degrees of freedom; moments of order < df are finite (df >= 5 keeps the fourth moment finite).
    """

    family = "student_t"
    parameter_names = ("df",)
    tail = "heavy"
    has_density = True
    product = True

    def __init__(self, df: int = 5):
        self.df = check_int(df, "df", 5)
        self.description = f"i.i.d. Student-t coordinates with {self.df} degrees of freedom, unit variance"

    def _sample(self, n, d, rng):
        z = rng.normal(n, d)
        chi2 = rng.normal(n, d, self.df).square().sum(-1)
        return z * math.sqrt((self.df - 2) / self.df) / torch.sqrt(chi2 / self.df)

    def marginal(self, d):
        return scipy.stats.t(self.df, scale=math.sqrt((self.df - 2) / self.df))


# ---------------------------------------------------------------------------------------------------------
# Adversarial geometries (not i.i.d.; built from points on the sphere of radius √d)


class _Adversarial(Distribution):
    iid = False
    centred = False
    isotropic = False

    @staticmethod
    def _base(n: int, d: int, rng: RandomSource) -> torch.Tensor:
        return _on_sphere(rng.normal(n, d), math.sqrt(d))


class NearDuplicates(_Adversarial):
    """⌈n/2⌉ points uniform on the √d-sphere, then copies x_{m+i} = x_i + gap·√d·v_i with v_i uniform unit
    vectors, so each copy lies at distance exactly ``gap``·√d from its source (relative distance ``gap``).

    Parameters
    ----------
    gap : float >= 0
        Relative distance of each pair; 0 gives exact duplicates.
    """

    family = "near_duplicates"
    parameter_names = ("gap",)

    def __init__(self, gap: float = 1e-6):
        self.gap = check_nonneg(gap, "gap")
        self.description = f"pairs of points at relative distance {self.gap:g}"
        self.degeneracy = (
            "exact zero λ_min expected (exact duplicate rows, docs/statements.md#A9 (i))"
            if self.gap == 0
            else "small λ_min: λ_min ≤ (K_ii + K_jj)/2 − |K_ij| for a close pair "
            "(docs/statements.md#test-vector-upper-bounds), → 0 as gap → 0"
        )

    def _sample(self, n, d, rng):
        m = math.ceil(n / 2)
        base = self._base(m, d, rng)
        copies = base[: n - m] + self.gap * _on_sphere(rng.normal(n - m, d), math.sqrt(d))
        return torch.cat([base, copies])


class AntipodalPairs(_Adversarial):
    """Pairs (y_k, −y_k) with y_k uniform on the √d-sphere (the last point unpaired when n is odd)."""

    family = "antipodal"
    description = "antipodal pairs (y, -y) on the sphere of radius √d"
    degeneracy = (
        "exact zero λ_min of K^{(2)} with >= d+1 pairs (docs/statements.md#A9 (iv)) and of K^{(1)} = XXᵀ with >= 1 "
        "pair; deeper kernels stay positive definite"
    )

    def _sample(self, n, d, rng):
        y = self._base(math.ceil(n / 2), d, rng)
        return torch.stack([y, -y], dim=1).reshape(-1, d)[:n]


class NearAntipodal(_Adversarial):
    """⌈n/2⌉ points uniform on the √d-sphere, then x_{m+i} = −x_i + gap·√d·v_i with v_i uniform unit vectors:
    pairs at angle π − O(``gap``), where arccos of a correlation near −1 loses half its digits.

    Parameters
    ----------
    gap : float >= 0
        Relative distance of each copy from the antipode of its source; 0 gives exact antipodal pairs.
    """

    family = "near_antipodal"
    parameter_names = ("gap",)

    def __init__(self, gap: float = 1e-6):
        self.gap = check_nonneg(gap, "gap")
        self.description = f"pairs of points at relative distance {self.gap:g} from each other's antipode"
        self.degeneracy = "pairs at angle π − O(gap): correlations next to −1 (the √u regime of arccos)"

    def _sample(self, n, d, rng):
        m = math.ceil(n / 2)
        base = self._base(m, d, rng)
        copies = -base[: n - m] + self.gap * _on_sphere(rng.normal(n - m, d), math.sqrt(d))
        return torch.cat([base, copies])


class Clustered(_Adversarial):
    """``clusters`` centres uniform on the √d-sphere; point i is centre (i mod clusters) plus
    ``spread``·N(0, I_d) (so each point is at distance about spread·√d from its centre).

    Parameters
    ----------
    clusters : int >= 1
    spread : float >= 0
    """

    family = "clustered"
    parameter_names = ("clusters", "spread")
    tail = "sub_gaussian"

    def __init__(self, clusters: int = 2, spread: float = 1e-2):
        self.clusters = check_int(clusters, "clusters", 1)
        self.spread = check_nonneg(spread, "spread")
        self.description = f"{self.clusters} tight clusters of relative spread {self.spread:g}"
        self.degeneracy = "small λ_min: points of one cluster are nearly parallel (angles O(spread))"

    def _sample(self, n, d, rng):
        centres = self._base(self.clusters, d, rng)
        index = torch.arange(n, device=centres.device) % self.clusters
        return centres[index] + self.spread * rng.normal(n, d)


class LowRank(_Adversarial):
    """Rows in a random subspace of dimension r = min(``rank``, d): X = √(d/r)·Z Bᵀ with Z an n × r standard
    Gaussian matrix and B a Haar d × r orthonormal frame, so E‖x‖² = d and rank X ≤ r.

    Parameters
    ----------
    rank : int >= 1
    """

    family = "low_rank"
    parameter_names = ("rank",)
    tail = "sub_gaussian"

    def __init__(self, rank: int = 1):
        self.rank = check_int(rank, "rank", 1)
        self.description = f"rows in a random subspace of dimension {self.rank}"
        self.degeneracy = (
            "rank X <= rank < n: λ_min(XXᵀ) = 0 exactly, so K^{(1)} is singular (docs/statements.md#A9 (iii)); "
            "deeper kernels are generically positive definite"
        )

    def _sample(self, n, d, rng):
        r = min(self.rank, d)
        frame = rng.orthonormal(d, r)
        return math.sqrt(d / r) * rng.normal(n, r) @ frame.T


class ZeroRow(_Adversarial):
    """Points uniform on the √d-sphere, one of them (at a drawn index) replaced by the zero vector."""

    family = "zero_row"
    description = "points on the sphere of radius √d with one zero row"
    degeneracy = "exact zero λ_min expected (a zero row gives a zero row and column of K, docs/statements.md#A9 (ii))"

    def _sample(self, n, d, rng):
        X = self._base(n, d, rng)
        X[rng.index(n)] = 0.0
        return X


# ---------------------------------------------------------------------------------------------------------
# Transformed laws: a scale, and a domain (see docs/search.md#scales and #domains)


class Scaled(Distribution):
    """The rows of ``base`` times ``scale``, and the first row times ``outlier`` as well: row norms across
    scales, and one tiny or huge row beside ordinary ones. A positive scaling of rows keeps zero rows, positively
    parallel pairs and the rank (so the degeneracies of docs/statements.md#A9), except antipodal pairs that the
    outlier breaks.

    Parameters
    ----------
    base : Distribution
    scale, outlier : float > 0
    """

    family = "scaled"
    parameter_names = ("base", "scale", "outlier")

    def __init__(self, base: Distribution, scale: float = 1.0, outlier: float = 1.0):
        self.base = get_distribution(base)
        self.scale, self.outlier = (_positive(v, name) for v, name in ((scale, "scale"), (outlier, "outlier")))
        self.description = f"{self.base.description}, rows times {self.scale:g}, the first times {self.outlier:g} more"
        for name in ("centred", "tail", "log_concave", "product", "degeneracy"):
            setattr(self, name, getattr(self.base, name))
        self.iid = self.base.iid and self.outlier == 1.0
        self.isotropic = False
        self.lipschitz_concentrated = False  # the norm convention E‖x‖² = d no longer holds

    def _sample(self, n, d, rng):
        X = self.base._sample(n, d, rng) * self.scale
        X[0] *= self.outlier
        return X


def _positive(value: float, name: str) -> float:
    value = check_nonneg(value, name)
    if value == 0:
        raise ValueError(f"{name} must be > 0, got 0")
    return value


#: The domains a claim may state: the whole space, the unit sphere, or the sphere of radius √d.
DOMAINS = ("any", "unit-sphere", "sphere-sqrt-d")


def domain_radius(domain: str, d: int) -> float | None:
    """The radius of the sphere a domain names (``None`` for ``any``)."""
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    return None if domain == "any" else (1.0 if domain == "unit-sphere" else math.sqrt(d))


def in_domain(X: torch.Tensor, domain: str, *, rtol: float = 1e-12) -> bool:
    """Whether every row of ``X`` lies in ``domain`` (row norms within ``rtol`` of the radius)."""
    radius = domain_radius(domain, X.shape[1])
    if radius is None:
        return True
    norms = torch.linalg.vector_norm(X, dim=1)
    return bool(((norms - radius).abs() <= rtol * radius).all())


class OnDomain(Distribution):
    """The rows of ``base`` projected radially to the sphere that ``domain`` names (:data:`DOMAINS`); a zero row
    becomes the radius times e₁. Angles, and so every degeneracy of the angles, are kept.

    Parameters
    ----------
    base : Distribution
    domain : ``"unit-sphere"`` or ``"sphere-sqrt-d"``
    """

    family = "on_domain"
    parameter_names = ("base", "domain")

    def __init__(self, base: Distribution, domain: str = "unit-sphere"):
        if domain not in DOMAINS[1:]:
            raise ValueError(f"domain must be one of {DOMAINS[1:]}, got {domain!r}")
        self.base, self.domain = get_distribution(base), domain
        self.description = f"{self.base.description}, projected to the {domain}"
        for name in ("centred", "iid", "degeneracy"):
            setattr(self, name, getattr(self.base, name))
        self.norm_scaling = "unit" if domain == "unit-sphere" else "sqrt_d"
        self.isotropic = self.base.isotropic and self.base.centred

    def _sample(self, n, d, rng):
        X = self.base._sample(n, d, rng)
        X[~X.any(dim=1), 0] = 1.0
        return X * (domain_radius(self.domain, d) / torch.linalg.vector_norm(X, dim=1, keepdim=True))


def _registry(*laws: Distribution) -> dict[str, Distribution]:
    return {law.family: law for law in laws}


#: The i.i.d. laws with default parameters, in shrinking order (the first is the simplest).
DISTRIBUTIONS: dict[str, Distribution] = _registry(
    Sphere(),
    UnitSphere(),
    Gaussian(),
    GaussianCovariance(),
    Rademacher(),
    UniformCube(),
    Ball(),
    Laplace(),
    Logistic(),
    CentredExponential(),
    StudentT(),
)

#: The adversarial geometries with default parameters.
ADVERSARIAL: dict[str, Distribution] = _registry(
    NearDuplicates(), NearAntipodal(), AntipodalPairs(), Clustered(), LowRank(), ZeroRow()
)


def get_distribution(distribution: str | Distribution) -> Distribution:
    """Look a law up by family name in :data:`DISTRIBUTIONS` or :data:`ADVERSARIAL`."""
    if isinstance(distribution, Distribution):
        return distribution
    for registry in (DISTRIBUTIONS, ADVERSARIAL):
        if isinstance(distribution, str) and distribution in registry:
            return registry[distribution]
    known = sorted(DISTRIBUTIONS) + sorted(ADVERSARIAL)
    raise ValueError(f"unknown distribution {distribution!r}; known: {known}")
