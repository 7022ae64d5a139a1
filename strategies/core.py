"""Hypothesis strategies for NTK properties: data sets, architectures and whole cases.

The theorems quantify over data laws (docs/data.md: uniform sphere, sub-Gaussian, log-concave,
Lipschitz-concentrated) and over architectures (depth L, hidden widths, one layer of width of order N,
docs/statements.md#nmm21-finite-width). The strategies draw exactly those and shrink towards small, simple, still
valid cases.

Shrinking design
----------------
* **Structure is drawn by Hypothesis.** n, d, depth, every hidden width, the activation and the law are
  Hypothesis choices, each shrinking towards its simplest value: n, d, depth and widths towards their
  lower bounds, the activation towards ``"relu"``, the law towards ``sphere`` (the first entry of
  :data:`~ntkverify.distributions.DISTRIBUTIONS`), a wide layer towards layer 1 and width ⌈C·n⌉.
* **Data come from a drawn seed.** For a law, Hypothesis draws only an integer ``seed`` (shrinking to 0) and
  the points are ``distribution.sample(n, d, numpy.random.default_rng(seed))``. Every drawn data set
  therefore really follows its law (a shrinker editing the numbers would not), and a failing case is
  reproduced from its repr, e.g. ``NetworkCase(n=3, d=2, law=sphere, arch=L2[4], seed=0)``.
* **Explicit arrays for adversarial geometry.** :func:`explicit_datasets` draws the entries themselves from
  :data:`SIMPLE_VALUES` (0, ±1, ±1/2, ±2, …, which shrink towards the front of that tuple), element by
  element (no shared fill value: a nonzero fill, like ``hypothesis.extra.numpy``'s default, makes rows
  collinear by construction). Each row is a list of at most d entries padded with zeros, so a row shrinks by
  deleting entries and lowering d does not shift the other rows. A shrinkable list of row operations (copy,
  negate, double one row into another) then makes duplicates, antipodal and parallel pairs frequent. A
  failure shrinks to a small array of integers and halves, e.g. ``X=[[1], [0.5]]``.

Every strategy takes plain values or strategies for its size arguments and validates lazily, like
Hypothesis' own strategies: a bad argument raises :class:`hypothesis.errors.InvalidArgument` naming the
argument when the strategy is first validated or drawn from, not when it is built.

The strategies draw the cases of :mod:`ntkverify.case`: :func:`datasets` draws a
:class:`~ntkverify.case.Case` (points), :func:`cases` a :class:`~ntkverify.case.NetworkCase`.

Search helpers
--------------
:func:`label_case` records the family of a case and whether its points are degenerate
(:func:`ntkverify.case.degeneracy`, docs/statements.md#A9) with :func:`hypothesis.event` (shown by
``--hypothesis-show-statistics``). :func:`target_margin` passes ``−margin/scale`` to
:func:`hypothesis.target`. **Sign convention**: a margin is ``rhs − lhs`` of a check ``lhs ≤ rhs``, so it is
≥ 0 when the property holds; Hypothesis maximises its target, so the search moves towards small and
negative margins, i.e. towards near-violations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import event, reject, target
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from ntkverify.activations import ACTIVATIONS
from ntkverify.architecture import Architecture
from ntkverify.case import Case, NetworkCase
from ntkverify.device import DEFAULT_DTYPE, resolve_device
from ntkverify.distributions import (
    ADVERSARIAL,
    DISTRIBUTIONS,
    DOMAINS,
    AntipodalPairs,
    Clustered,
    Distribution,
    LowRank,
    NearAntipodal,
    NearDuplicates,
    OnDomain,
    Scaled,
    ZeroRow,
    get_distribution,
)
from ntkverify.strategies.sizes import sizes
from ntkverify.validation import check_int, check_widths

#: Default upper bounds of the sizes (every strategy takes its own ``max_*`` arguments; the properties pass the
#: sizes of the profile's budget, ``ntkverify.properties.budget.SearchBudget``).
DEFAULT_MAX_N = 12
DEFAULT_MAX_D = 12
DEFAULT_MAX_DEPTH = 4
DEFAULT_MAX_WIDTH = 64
#: Explicit arrays draw every entry, so their n and d stay at most this whatever the bounds.
EXPLICIT_MAX_SIZE = 12

DEFAULT_WIDE_FACTOR = 4.0
SHAPES = ("any", "pyramidal", "constant")
MAX_SEED = 2**32 - 1

#: Entries of explicit arrays, simplest first (Hypothesis shrinks ``sampled_from`` towards the front).
SIMPLE_VALUES = (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1.5, -1.5, 3.0, -3.0)

#: Row operations of the explicit branch: X[dst] = factor · X[src].
ROW_OPERATIONS = {"copy": 1.0, "negate": -1.0, "double": 2.0}


# ---------------------------------------------------------------------------------------------------------
# Argument handling (raises InvalidArgument naming the argument)


def _invalid(error: ValueError) -> InvalidArgument:
    return InvalidArgument(str(error))


def _checked_int(value, name: str, minimum: int) -> int:
    try:
        return check_int(value, name, minimum)
    except ValueError as error:
        raise _invalid(error) from None


def _size(value, name: str, minimum: int, default_max: int) -> SearchStrategy[int]:
    """An int (fixed), a strategy of ints (each draw checked) or None (:func:`~ntkverify.strategies.sizes.sizes`
    up to ``default_max``: small sizes and boundary sizes)."""
    if value is None:
        return sizes(minimum, max(minimum, default_max))
    if isinstance(value, SearchStrategy):
        return value.map(lambda v: _checked_int(v, name, minimum))
    return st.just(_checked_int(value, name, minimum))


def _positive_number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidArgument(f"{name} must be a finite number > 0, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def _device(device) -> torch.device:
    try:
        return resolve_device(device)
    except ValueError as error:
        raise InvalidArgument(f"device: {error}") from None


# ---------------------------------------------------------------------------------------------------------
# Distributions and activations

#: Relative gaps of near-duplicate and near-antipodal pairs and spreads of clusters: every angle scale from 1e-1
#: to 1e-8, largest first, so a failure that needs a small angle shrinks to the largest angle that still fails
#: (its threshold); then the degenerate 1e-12 and exact 0 (duplicates, antipodes, collapsed clusters).
ANGLE_SCALES = tuple(10.0**-k for k in range(1, 9)) + (1e-12, 0.0)

# Parameter strategies of the adversarial families.
_ADVERSARIAL_STRATEGIES = {
    "near_duplicates": st.builds(NearDuplicates, gap=st.sampled_from(ANGLE_SCALES)),
    "near_antipodal": st.builds(NearAntipodal, gap=st.sampled_from(ANGLE_SCALES)),
    "antipodal": st.just(AntipodalPairs()),
    "clustered": st.builds(Clustered, clusters=st.integers(1, 3), spread=st.sampled_from(ANGLE_SCALES)),
    "low_rank": st.builds(LowRank, rank=st.integers(1, 3)),
    "zero_row": st.just(ZeroRow()),
}


def _law_strategy(entry) -> tuple[SearchStrategy[Distribution], bool]:
    """The strategy for one ``families`` entry and whether its laws satisfy NMM21's assumptions
    (docs/data.md#lipschitz-concentration)
    (adversarial geometries never do, whatever their parameters)."""
    if isinstance(entry, str) and entry in _ADVERSARIAL_STRATEGIES:
        return _ADVERSARIAL_STRATEGIES[entry], False
    try:
        law = get_distribution(entry)
    except ValueError as error:
        raise InvalidArgument(f"families: {error}") from None
    return st.just(law), law.satisfies_assumptions


def _distributions(families, adversarial, require_assumptions) -> SearchStrategy[Distribution]:
    if not isinstance(adversarial, bool):
        raise InvalidArgument(f"adversarial must be a bool, got {adversarial!r}")
    if families is None:
        entries = list(DISTRIBUTIONS) + (list(ADVERSARIAL) if adversarial else [])
    elif isinstance(families, (str, Distribution)) or not isinstance(families, Sequence) or not families:
        raise InvalidArgument(f"families must be a non-empty sequence of names or Distributions, got {families!r}")
    else:
        entries = list(families)
    resolved = [_law_strategy(entry) for entry in entries]
    strategies = [s for s, satisfied in resolved if satisfied or not require_assumptions]
    if not strategies:
        raise InvalidArgument(f"require_assumptions=True leaves no law among families={families!r}")
    return st.one_of(strategies)


def distributions(
    families: Sequence[str | Distribution] | None = None,
    *,
    adversarial: bool = False,
    require_assumptions: bool = False,
) -> SearchStrategy[Distribution]:
    """Data laws (:mod:`ntkverify.distributions`), shrinking towards ``sphere``.

    ``families``: names or :class:`Distribution` objects to draw from (default: every i.i.d. law, plus the
    adversarial geometries with drawn parameters when ``adversarial``). ``require_assumptions``: keep only
    laws with ``satisfies_assumptions`` (NMM21's assumptions, docs/data.md#nmm21-data-scaling).
    """
    return st.deferred(lambda: _distributions(families, adversarial, require_assumptions))


#: Decimal exponents of row scales, simplest first: ordinary scales 10^±1 … 10^±8, then 10^±10 … 10^±100 where
#: products of two squared norms over- or underflow (‖x‖⁴ leaves float64 beyond 1e±77). A failure that needs
#: a large (small) scale shrinks to the scale nearest 1 that still fails.
MAX_SCALE_EXPONENT = 100
SCALE_EXPONENTS = (0,) + tuple(e for k in (*range(1, 9), *range(10, MAX_SCALE_EXPONENT + 1, 10)) for e in (k, -k))


def _scaled(law: Distribution, a: int, b: int) -> Distribution:
    """The law with its rows scaled by 10^a and its first row by 10^b more (the law itself when a = b = 0); the
    first row's scale stays within 10^±100 too."""
    b = b if abs(a + b) <= MAX_SCALE_EXPONENT else 0
    return law if a == b == 0 else Scaled(law, 10.0**a, 10.0**b)


def _activations(names) -> SearchStrategy[str]:
    if names is None:
        return st.sampled_from(list(ACTIVATIONS))
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise InvalidArgument(f"names must be a non-empty sequence of activation names, got {names!r}")
    unknown = [name for name in names if name not in ACTIVATIONS]
    if unknown:
        raise InvalidArgument(f"names contains unknown activations {unknown}; known: {list(ACTIVATIONS)}")
    return st.sampled_from(list(names))


def activations(names: Sequence[str] | None = None) -> SearchStrategy[str]:
    """Activation names of :data:`ntkverify.activations.ACTIVATIONS` (default: all), shrinking towards the
    first (``"relu"``)."""
    return st.deferred(lambda: _activations(names))


# ---------------------------------------------------------------------------------------------------------
# Data sets


def _explicit_array(draw, n_s, n_range, d: int, values: tuple[float, ...], allow_zero_rows: bool) -> torch.Tensor:
    """Rows of at most d entries drawn one by one from ``values`` and padded with zeros to length d, then a
    shrinkable list of row operations. A row shrinks by deleting entries, so a shorter d never shifts the
    entries of the other rows (fixed-length rows would: lowering d re-reads every later row misaligned).
    When the range of n is known the rows form one list, so the shrinker can delete any row, not only the
    last; otherwise n is drawn from the user's strategy."""
    row = st.lists(st.sampled_from(values), max_size=d)
    if n_range is None:
        rows = [draw(row) for _ in range(draw(n_s))]
    else:
        rows = draw(st.lists(row, min_size=n_range[0], max_size=n_range[1]))
    n = len(rows)
    X = torch.tensor([r + [0.0] * (d - len(r)) for r in rows], dtype=DEFAULT_DTYPE)
    index = st.integers(0, n - 1)
    operation = st.tuples(index, index, st.sampled_from(list(ROW_OPERATIONS)))
    for src, dst, name in draw(st.lists(operation, max_size=n)):
        X[dst] = ROW_OPERATIONS[name] * X[src]
    if not allow_zero_rows:
        # A zero row becomes e_1: deterministic, so the shrinker still sees the simplest nonzero row.
        X[~X.any(dim=1), 0] = 1.0
    return X + 0.0  # turns the −0.0 of a negated zero into +0.0


def _size_range(value, minimum: int, default_max: int) -> tuple[int, int] | None:
    """The range of a size argument when known (None or an int), else None (a user strategy)."""
    if value is None:
        return minimum, max(minimum, default_max)
    if isinstance(value, SearchStrategy):
        return None
    return value, value


def _data_strategy(
    n,
    d,
    law_s,
    device,
    values=SIMPLE_VALUES,
    allow_zero_rows=True,
    max_n=DEFAULT_MAX_N,
    max_d=DEFAULT_MAX_D,
    scales=False,
    domain="any",
) -> SearchStrategy[Case]:
    """Draw the law (``None`` meaning an explicit array), its scales (exponents from :data:`SCALE_EXPONENTS`,
    shrinking to 0) and domain, then the sizes, then a seed or the entries. The scales are drawn after the law,
    not mapped onto the law strategy, so that a ``one_of`` of laws stays flat (each law, and the explicit
    branch, equally likely)."""
    if domain not in DOMAINS:
        raise InvalidArgument(f"domain must be one of {DOMAINS}, got {domain!r}")
    exponent = st.sampled_from(SCALE_EXPONENTS)
    max_n, max_d = _checked_int(max_n, "max_n", 1), _checked_int(max_d, "max_d", 1)
    n_s, d_s = _size(n, "n", 1, max_n), _size(d, "d", 1, max_d)
    small_n, small_d = min(max_n, EXPLICIT_MAX_SIZE), min(max_d, EXPLICIT_MAX_SIZE)
    explicit_n, explicit_d = _size(n, "n", 1, small_n), _size(d, "d", 1, small_d)
    n_range = _size_range(n, 1, small_n)

    @st.composite
    def draw_dataset(draw):
        law = draw(law_s)
        if law is None:
            d_value = draw(explicit_d)
            X = _explicit_array(draw, explicit_n, n_range, d_value, values, allow_zero_rows)
            return Case(X.to(device))
        if scales and domain == "any" and draw(st.booleans()):  # half the data sets at scale 1, as drawn
            law = _scaled(law, draw(exponent), draw(exponent))
        if domain != "any":
            law = OnDomain(law, domain)
        n_value, d_value = draw(n_s), draw(d_s)
        seed = draw(st.integers(0, MAX_SEED))
        return Case(law.sample(n_value, d_value, np.random.default_rng(seed), device=device), law=law, seed=seed)

    return draw_dataset()


def _checked_values(values) -> tuple[float, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise InvalidArgument(f"values must be a non-empty sequence of finite numbers, got {values!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InvalidArgument(f"values must contain finite numbers only, got {v!r}")
    return tuple(float(v) for v in values)


def explicit_datasets(
    n: int | SearchStrategy[int] | None = None,
    d: int | SearchStrategy[int] | None = None,
    *,
    values: Sequence[float] = SIMPLE_VALUES,
    allow_zero_rows: bool = True,
    device=None,
) -> SearchStrategy[Case]:
    """Small explicit arrays for adversarial geometry (see the module docstring); ``law`` is None.

    ``values``: the allowed entries, simplest first. ``allow_zero_rows=False`` turns a zero row into e₁.
    """

    def build():
        return _data_strategy(
            n,
            d,
            st.none(),
            _device(device),
            _checked_values(values),
            bool(allow_zero_rows),
        )

    return st.deferred(build)


def _law_argument(distribution) -> SearchStrategy[Distribution]:
    if isinstance(distribution, SearchStrategy):
        return distribution
    try:
        return st.just(get_distribution(distribution))
    except ValueError as error:
        raise InvalidArgument(f"distribution: {error}") from None


def _datasets(
    n, d, distribution, device, max_n=DEFAULT_MAX_N, max_d=DEFAULT_MAX_D, scales=False, domain="any"
) -> SearchStrategy[Case]:
    dev = _device(device)
    sized = dict(max_n=max_n, max_d=max_d, scales=scales, domain=domain)
    if distribution is None:
        laws = _distributions(None, True, False)
        # Every law, then the explicit branch (None) last, so that the family shrinks towards ``sphere``; a claim
        # on a sphere draws laws only (explicit arrays would leave it).
        law_s = st.one_of(laws, st.none()) if domain == "any" else laws
        return _data_strategy(n, d, law_s, dev, **sized)
    return _data_strategy(n, d, _law_argument(distribution), dev, **sized)


def datasets(
    n: int | SearchStrategy[int] | None = None,
    d: int | SearchStrategy[int] | None = None,
    distribution: str | Distribution | SearchStrategy[Distribution] | None = None,
    *,
    max_n: int = DEFAULT_MAX_N,
    max_d: int = DEFAULT_MAX_D,
    scales: bool = False,
    domain: str = "any",
    device=None,
) -> SearchStrategy[Case]:
    """Data sets of n points in R^d. Without ``n`` (``d``), sizes up to ``max_n`` (``max_d``) from
    :func:`~ntkverify.strategies.sizes.sizes`: small sizes and boundary sizes, shrinking to the smallest failing
    size; explicit arrays stay at most :data:`EXPLICIT_MAX_SIZE` in both.

    ``scales``: rows scaled across :data:`SCALE_EXPONENTS` (one row possibly at another scale), shrinking to
    scale 1. ``domain``: ``"any"``, or the sphere the data must lie on (``"unit-sphere"``,
    ``"sphere-sqrt-d"``): every law is projected there and the explicit branch is left out.

    ``distribution``: a family name, a :class:`Distribution`, a strategy such as :func:`distributions`, or
    ``None`` for everything: every i.i.d. law, the adversarial geometries, and the explicit-array branch.
    ``device``: where ``X`` lives (policy default, :func:`ntkverify.device.resolve_device`).
    """
    return st.deferred(lambda: _datasets(n, d, distribution, device, max_n, max_d, scales, domain))


# ---------------------------------------------------------------------------------------------------------
# Architectures


@dataclass(frozen=True)
class _ArchitectureSpec:
    """Validated architecture arguments; :meth:`draw` builds one architecture for given d and n."""

    depth: SearchStrategy[int]
    fixed_widths: tuple[int, ...] | None
    width: SearchStrategy[int]
    wide_layer: int | bool | None
    wide_factor: float
    shape: str
    activation: SearchStrategy[str]

    @classmethod
    def build(
        cls, depth, widths, wide_layer, wide_factor, shape, activation, max_width=DEFAULT_MAX_WIDTH, max_depth=None
    ) -> _ArchitectureSpec:
        if shape not in SHAPES:
            raise InvalidArgument(f"shape must be one of {SHAPES}, got {shape!r}")
        if wide_layer is not None and wide_layer is not True:
            wide_layer = _checked_int(wide_layer, "wide_layer", 1)
        wide_factor = _positive_number(wide_factor, "wide_factor")
        max_width = _checked_int(max_width, "max_width", 1)
        max_depth = DEFAULT_MAX_DEPTH if max_depth is None else _checked_int(max_depth, "max_depth", 1)
        fixed, width = None, sizes(1, max_width)
        if isinstance(widths, SearchStrategy):
            width = widths.map(lambda w: _checked_int(w, "widths", 1))
        elif widths is not None:
            try:
                fixed = check_widths(widths)
            except ValueError as error:
                raise _invalid(error) from None
            if wide_layer is not None or shape != "any":
                raise InvalidArgument(
                    "widths given as a sequence fixes the architecture: do not pass wide_layer or shape"
                )
            if depth is not None and depth != len(fixed) + 1:
                raise InvalidArgument(f"depth={depth!r} does not match widths={fixed} (depth = len(widths) + 1)")
            depth = len(fixed) + 1
        least = 1 if wide_layer is None else (2 if wide_layer is True else wide_layer + 1)
        if isinstance(depth, int) and not isinstance(depth, bool) and depth < least:
            raise InvalidArgument(f"depth must be >= {least} with wide_layer={wide_layer!r}, got {depth}")
        depth_s = _size(depth, "depth", least if depth is None else 1, max_depth)
        if activation is None or isinstance(activation, SearchStrategy):
            activation_s = _activations(None) if activation is None else activation
        elif isinstance(activation, str) and activation in ACTIVATIONS:
            activation_s = st.just(activation)
        else:
            raise InvalidArgument(f"activation must be one of {list(ACTIVATIONS)} or a strategy, got {activation!r}")
        return cls(depth_s, fixed, width, wide_layer, wide_factor, shape, activation_s)

    def draw(self, draw, d: int, n: int | None) -> tuple[Architecture, int | None]:
        depth = draw(self.depth)
        if self.fixed_widths is not None:
            widths = list(self.fixed_widths)
        elif self.shape == "constant":
            widths = [draw(self.width)] * (depth - 1)
        else:
            widths = draw(st.lists(self.width, min_size=depth - 1, max_size=depth - 1))
            if self.shape == "pyramidal":
                widths.sort(reverse=True)
        wide = None
        if self.wide_layer is not None:
            if depth - 1 < (1 if self.wide_layer is True else self.wide_layer):
                reject()  # a user-supplied depth strategy drew a net without the requested hidden layer
            wide = draw(st.integers(1, depth - 1)) if self.wide_layer is True else self.wide_layer
            widths[wide - 1] = max(widths[wide - 1], math.ceil(self.wide_factor * n))
            if self.shape == "pyramidal":
                widths[: wide - 1] = [max(w, widths[wide - 1]) for w in widths[: wide - 1]]
        activation = draw(self.activation)
        # the seed paper's N(0,1) parameterisation is defined for positively homogeneous activations only
        parameterization = "seed" if ACTIVATIONS[activation].homogeneous else "ntk"
        return Architecture(d=d, widths=tuple(widths), activation=activation, parameterization=parameterization), wide


def _architectures(d, n, spec_args) -> SearchStrategy[Architecture]:
    spec = _ArchitectureSpec.build(*spec_args)
    d_s = _size(d, "d", 1, DEFAULT_MAX_D)
    if spec.wide_layer is not None and n is None:
        raise InvalidArgument("wide_layer needs n (the number of data points) to size the wide layer")
    n_s = None if n is None else _size(n, "n", 1, DEFAULT_MAX_N)

    @st.composite
    def draw_architecture(draw):
        return spec.draw(draw, draw(d_s), None if n_s is None else draw(n_s))[0]

    return draw_architecture()


def architectures(
    d: int | SearchStrategy[int] | None = None,
    depth: int | SearchStrategy[int] | None = None,
    widths: Sequence[int] | SearchStrategy[int] | None = None,
    *,
    wide_layer: int | bool | None = None,
    n: int | SearchStrategy[int] | None = None,
    wide_factor: float = DEFAULT_WIDE_FACTOR,
    shape: str = "any",
    activation: str | SearchStrategy[str] | None = None,
) -> SearchStrategy[Architecture]:
    """Seed-parameterised networks (:class:`ntkverify.architecture.Architecture`, docs/model.md#seed-normalisation).

    ``depth``: L = number of weight matrices (default 1..4). ``widths``: a strategy for each hidden width
    (default ``sizes(1, 64)``, small and boundary widths) or a fixed sequence. ``shape``: ``"any"``, ``"pyramidal"``
    (n_1 ≥ n_2 ≥ … ≥ n_{L−1}) or ``"constant"``. ``wide_layer``: ``None``, a 1-based hidden-layer index k, or
    ``True`` (k drawn, shrinking to 1); layer k then has width ≥ ⌈``wide_factor``·n⌉ (NMM21 Thm 4.1's wide
    layer, docs/statements.md#nmm21-finite-width; docs/statements.md#nmm21-feature-matrices finds C ≈ 16 needed to get
    close to the limit, the default 4 keeps nets
    small), and ``n`` is required. ``activation``: a name, a strategy, or ``None`` for :func:`activations`.
    """
    args = (depth, widths, wide_layer, wide_factor, shape, activation)
    return st.deferred(lambda: _architectures(d, n, args))


# ---------------------------------------------------------------------------------------------------------
# Cases


def _cases(n, d, distribution, device, spec_args, max_n, max_d) -> SearchStrategy[NetworkCase]:
    data = _datasets(n, d, distribution, device, max_n, max_d)
    spec = _ArchitectureSpec.build(*spec_args)

    @st.composite
    def draw_case(draw):
        points = draw(data)
        architecture, wide = spec.draw(draw, points.d, points.n)
        return NetworkCase(points.X, architecture, wide_layer=wide, law=points.law, seed=points.seed)

    return draw_case()


def cases(
    n: int | SearchStrategy[int] | None = None,
    d: int | SearchStrategy[int] | None = None,
    depth: int | SearchStrategy[int] | None = None,
    widths: Sequence[int] | SearchStrategy[int] | None = None,
    *,
    distribution: str | Distribution | SearchStrategy[Distribution] | None = None,
    wide_layer: int | bool | None = None,
    wide_factor: float = DEFAULT_WIDE_FACTOR,
    shape: str = "any",
    activation: str | SearchStrategy[str] | None = None,
    max_n: int = DEFAULT_MAX_N,
    max_d: int = DEFAULT_MAX_D,
    max_width: int = DEFAULT_MAX_WIDTH,
    max_depth: int = DEFAULT_MAX_DEPTH,
    device=None,
) -> SearchStrategy[NetworkCase]:
    """A data set (:func:`datasets`) and an architecture (:func:`architectures`) on the same d, with the
    wide layer sized by the data set's n. Arguments as in those two functions; ``max_width`` and
    ``max_depth`` bound the drawn hidden widths and depth."""
    args = (depth, widths, wide_layer, wide_factor, shape, activation, max_width, max_depth)
    return st.deferred(lambda: _cases(n, d, distribution, device, args, max_n, max_d))


# ---------------------------------------------------------------------------------------------------------
# Search helpers


def label_case(case: Case) -> str:
    """Record with :func:`hypothesis.event` the law family of a case, whether it satisfies NMM21's assumptions
    (docs/data.md#lipschitz-concentration) and whether its points are degenerate (docs/statements.md#A9, the
    clauses the case can state: :meth:`ntkverify.case.Case.degeneracy`). Returns the family name."""
    event(f"family: {case.family}")
    event(f"assumptions: {'satisfied' if case.satisfies_assumptions else 'violated'}")
    event(f"degenerate (A9): {'no' if case.degeneracy() is None else 'yes'}")
    return case.family


def target_margin(margin: float, label: str = "margin", scale: float = 1.0) -> float:
    """Call :func:`hypothesis.target` with ``−margin/scale`` and return that value.

    ``margin`` is ``rhs − lhs`` of a check ``lhs ≤ rhs`` (≥ 0 when the property holds) and ``scale`` a
    positive normaliser (for instance the tolerance of the check, or ‖K‖), so that margins of different
    cases are comparable; maximising −margin/scale drives the search towards near-violations. Call it at
    most once per ``label`` per example. A non-finite margin is not targeted (Hypothesis refuses it); the
    property's own assertion reports it, and NaN is returned.
    """
    scale = _positive_number(scale, "scale")
    if not isinstance(label, str):
        raise InvalidArgument(f"label must be a string, got {label!r}")
    value = -float(margin) / scale
    if not math.isfinite(value):
        return math.nan
    target(value, label=label)
    return value
