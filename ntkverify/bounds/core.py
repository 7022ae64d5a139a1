"""The bound object, the margin it reports, and the registry (listing, lookup, explanation).

A :class:`Bound` is data — name, bounded quantity, side, kind, statement, what it applies to
(:class:`Target`), what data it needs (:class:`Data`), the smallest depth and number of points, and a
structured :class:`Citation` — plus three functions of a case: the bound's value, the bounded quantity (both
:class:`~ntkverify.spectra.Certified`, with their own error bars), and an optional extra scope check that
returns why a case is outside the assumptions. Every field is declared; nothing is inferred from names, module
paths or prose. Bounds are declared in one keyword-only way, :func:`declare`.
:meth:`Bound.margin` compares the two sides under the rule of docs/tolerances.md#inequalities: an inequality
between computed quantities is allowed ``τ(lhs) + τ(rhs)``, the sum of the two error bars.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ntkverify.case import KernelCase, WeightsCase, degeneracy, zero_row
from ntkverify.registry import Kind, Registry
from ntkverify.spectra import Certified
from ntkverify.tolerances import inequality_tolerance


class Target(enum.Enum):
    """What a bound is about: the matrix (or data) whose quantity it bounds. A case provides some targets
    (:func:`targets`); a bound applies to a case only if the case provides its target."""

    ANY_MATRIX = "any symmetric matrix"
    LIMITING_NTK = "the limiting NTK K^(L)"
    LIMITING_LAYERS = "the layers G^(l), Gdot^(l), K^(l) of the limiting NTK"
    H_INFINITY = "Du et al.'s H_inf"
    EMPIRICAL_NTK = "the empirical NTK Kbar"
    FEATURES = "the feature matrices and maps of a finite network"
    DATA = "the data themselves"


class Measure(enum.Enum):
    """What kind of number a bound's quantity is: an eigenvalue of the target matrix (most bounds), an eigenvalue
    of a feature Gram matrix, a quotient of norms (a Lipschitz statement), the defect of an identity, or a
    statistic of the data. Reports draw a case by it (the spectrum, the feature spectra, the quotients)."""

    EIGENVALUE = "an eigenvalue of the target matrix"
    FEATURE_EIGENVALUE = "an eigenvalue of a feature Gram matrix F_k F_k^T"
    LIPSCHITZ_QUOTIENT = "a quotient ||f_k(x) - f_k(y)|| / ||x - y|| of a feature map"
    IDENTITY_DEFECT = "the defect of an identity (0 when it holds)"
    DATA_STATISTIC = "a statistic of the data"


class Data(enum.Enum):
    """What data a bound needs (docs/data.md). The deterministic shapes are checked on each case; the i.i.d.
    laws are a property of how the data were drawn, which one sample cannot show (their row norms are checked)."""

    ANY = "any data"
    NONZERO_ROWS = "every x_i != 0"
    UNIT_ROWS = "rows of unit norm"
    SQRT_D_ROWS = "rows of squared norm d"
    DEGENERATE = "data with a degeneracy (i)-(iv) of docs/statements.md#A9"
    SPHERE = "x_i i.i.d. uniform on the sphere of radius sqrt(d)"
    UNIT_SPHERE = "x_i i.i.d. uniform on the unit sphere"
    DIRECTIONS = "x_i/||x_i|| i.i.d. uniform on the unit sphere (any norms)"

    @property
    def radius_sq(self):
        """The squared row norm the data need, as a function of d (None when they need none)."""
        if self in (Data.UNIT_ROWS, Data.UNIT_SPHERE):
            return lambda d: 1.0
        if self in (Data.SQRT_D_ROWS, Data.SPHERE):
            return float
        return None

    @property
    def random(self) -> bool:
        """Whether the data must be an i.i.d. draw from a law (a PROB statement over the data)."""
        return self in (Data.SPHERE, Data.UNIT_SPHERE, Data.DIRECTIONS)


def targets(case: KernelCase | WeightsCase) -> tuple[Target, ...]:
    """What a case provides: a network's empirical NTK and features; the limiting NTK, its layers, H∞ and the data;
    or, with a kernel under test, only that matrix (it is one matrix, not the recursion; ``K^{(L)}`` unless the case
    names another ``kernel_target``) and the data."""
    if isinstance(case, WeightsCase):
        return (Target.ANY_MATRIX, Target.EMPIRICAL_NTK, Target.FEATURES)
    if case.kernel_under_test is not None:
        return tuple(dict.fromkeys((Target.ANY_MATRIX, case.kernel_target or Target.LIMITING_NTK, Target.DATA)))
    return (Target.ANY_MATRIX, Target.LIMITING_NTK, Target.LIMITING_LAYERS, Target.H_INFINITY, Target.DATA)


def data_violation(case: KernelCase | WeightsCase, data: Data) -> str | None:
    """None when the case's rows have the shape ``data`` needs, else why not (a network case checks none)."""
    if isinstance(case, WeightsCase):
        return None if data is Data.ANY else f"an empirical case does not check {data.value}"
    if data is Data.NONZERO_ROWS and zero_row(case.X) is not None:
        return zero_row(case.X)
    if data.radius_sq is not None and not case.unit_norm(data.radius_sq(case.d)):
        return f"needs {data.value}" + (" (row norms differ)" if data.random else "")
    if data is Data.DEGENERATE and degeneracy(case.X, case.depth) is None:
        return "no degeneracy (i)-(iv) of docs/statements.md#A9 applies"
    return None


@dataclass(frozen=True)
class Citation:
    """Where a statement comes from: the ``source`` (a paper abbreviation of docs/statements.md, or a classical
    result), the ``item`` in it (theorem, lemma or equation), the page or section ``where`` known, the
    ``docs`` anchors that state and derive it, and a free ``note`` (other sources, a proof step)."""

    source: str
    item: str = ""
    where: str = ""
    docs: tuple[str, ...] = ()
    note: str = ""

    def __str__(self) -> str:
        head = " ".join(part for part in (self.source, self.item, self.where) if part)
        return "; ".join(part for part in (head, self.note, ", ".join(self.docs)) if part)


class Side(enum.Enum):
    LOWER = "lower"  # quantity >= bound
    UPPER = "upper"  # quantity <= bound


@dataclass(frozen=True)
class Margin:
    """Observed quantity against the bound for one case.

    ``slack`` is signed (``observed − bound`` for a lower bound, ``bound − observed`` for an upper bound), so
    a negative slack is a violation before tolerance; ``tolerance = observed.error + bound.error``;
    ``normalised = slack / scale`` with ``scale`` the case's natural size (e.g. the kernel's largest diagonal), at
    least the magnitudes of both sides and the tolerance.
    """

    name: str
    kind: Kind
    side: Side
    observed: Certified
    bound: Certified
    tolerance: float
    slack: float
    scale: float

    @property
    def normalised(self) -> float:
        return self.slack / self.scale

    @property
    def holds(self) -> bool:
        """Whether the inequality holds within tolerance (``slack ≥ −tolerance``)."""
        return self.slack >= -self.tolerance

    def __str__(self) -> str:
        rel = "≥" if self.side is Side.LOWER else "≤"
        status = "holds" if self.holds else "VIOLATED"
        return (
            f"{self.name}: observed {self.observed.value:.6g} {rel} bound {self.bound.value:.6g} "
            f"(slack {self.slack:.3g}, tolerance {self.tolerance:.3g}, normalised {self.normalised:.3g}; {status})"
        )


@dataclass(frozen=True, kw_only=True)
class Bound:
    """One inequality of the theory, as data plus evaluation functions (see the module docstring).

    ``bound_fn(case)`` and ``observe_fn(case)`` return :class:`Certified`; ``scope_fn(case)``, when given,
    returns None when the case satisfies the assumptions the typed fields cannot express, else a sentence
    saying why not. For PROB bounds ``probability`` states the guarantee (for example ``"1 - delta"``).
    ``assumptions`` is the human-readable summary of all of them.
    """

    name: str
    quantity: str
    side: Side
    kind: Kind
    statement: str
    target: Target
    data: Data = Data.ANY
    min_depth: int = 1
    min_points: int = 1
    assumptions: str
    citation: Citation
    bound_fn: Callable
    observe_fn: Callable
    scope_fn: Callable | None = None
    probability: str = "1"
    measure: Measure = Measure.EIGENVALUE

    def out_of_scope(self, case) -> str | None:
        """None when the bound applies to ``case``, else the reason it does not."""
        provided = targets(case)
        if self.target not in provided:
            return f"needs {self.target.value}; the case provides {', '.join(t.value for t in provided)}"
        if case.depth < self.min_depth:
            return f"needs depth L >= {self.min_depth}, got L={case.depth}"
        if case.n < self.min_points:
            return f"needs N >= {self.min_points} points, got N={case.n}"
        reason = data_violation(case, self.data)
        if reason is None and self.scope_fn is not None:
            reason = self.scope_fn(case)
        return reason

    def _require_scope(self, case) -> None:
        reason = self.out_of_scope(case)
        if reason is not None:
            raise ValueError(f"bound {self.name!r} does not apply to this case: {reason}")

    def value(self, case) -> Certified:
        """The bound's value for ``case`` (raises ``ValueError`` when out of scope)."""
        self._require_scope(case)
        return self.bound_fn(case)

    def observe(self, case) -> Certified:
        """The bounded quantity for ``case``, with its certified error bar."""
        self._require_scope(case)
        return self.observe_fn(case)

    def margin(self, case) -> Margin:
        """Evaluate both sides and compare them (docs/tolerances.md#inequalities: tolerance ``τ(lhs) + τ(rhs)``)."""
        bound = self.value(case)
        observed = self.observe_fn(case)
        slack = observed.value - bound.value if self.side is Side.LOWER else bound.value - observed.value
        tolerance = inequality_tolerance(observed.error, bound.error)
        # the case's natural size, but never below the compared numbers themselves: a ratio bound (≤ 1) on a
        # network whose kernel has vanished (scale 1e-296) must not report a normalised margin of 1e+295
        scale = max(case.scale, abs(observed.value), abs(bound.value), tolerance)
        return Margin(self.name, self.kind, self.side, observed, bound, tolerance, slack, scale)

    def explain(self) -> str:
        rel = "≥" if self.side is Side.LOWER else "≤"
        return "\n".join(
            [
                f"{self.name} [{self.kind.name}, {self.side.value} bound]",
                f"  {self.quantity} {rel} bound",
                f"  statement:   {self.statement}",
                f"  applies to:  {self.target.value}; data: {self.data.value}",
                f"  measures:    {self.measure.value}",
                f"  assumptions: {self.assumptions}",
                f"  holds with probability: {self.probability}",
                f"  kind:        {self.kind.description}",
                f"  citation:    {self.citation}",
            ]
        )


_REGISTRY: Registry[Bound] = Registry("bound")


def declare(**fields) -> Bound:
    """Declare a bound (keyword arguments: the fields of :class:`Bound`) and add it to the registry."""
    return _REGISTRY.register(Bound(**fields))


def all_bounds(kind: Kind | None = None) -> tuple[Bound, ...]:
    """Every registered bound (optionally only those of one kind), sorted by name."""
    return tuple(b for b in sorted(_REGISTRY, key=lambda b: b.name) if kind is None or b.kind is kind)


def get_bound(name: str) -> Bound:
    """The bound called ``name``; ``ValueError`` listing the known names otherwise."""
    return _REGISTRY.get(name)


def explain(name: str) -> str:
    """A human-readable description of the bound called ``name``."""
    return get_bound(name).explain()
