"""The property registry: every checkable statement declared once, as data (in the spirit of PyTorch's OpInfo).

A :class:`Property` names a statement, its citation, its kind and its subjects (what it is about), how its
cases are drawn, how its tolerance is derived and its known limits; its ``check`` returns a :class:`Verdict`,
never a bare bool. Three kinds (docs/statements.md#kinds):

* ``DET``  — holds for every input: a violation beyond tolerance is a bug, reported with a minimal case;
* ``PROB`` — holds with probability ≥ 1 − δ over a random draw: judged as a statistic over many draws
  (a one-sided binomial test under the run's false-alarm budget), never per example;
* ``CONJ`` — numerically supported but unproven: the worst margin is recorded; a violation beyond tolerance
  fails and is reported as a *finding* (a counterexample to the conjecture, or a bug).

Subjects are names from one vocabulary (:data:`~ntkverify.properties.subjects.SUBJECTS`): the built-in kernels
(``limiting-ntk``, ``nngp``, ``h-infinity``, ``standard-ntk``), a user's kernel (``user-kernel``) and the engine's
own objects (``empirical-ntk``, ``feature-matrices``, ``feature-maps``, ``sphere-data``).

Each property declares how the time of one example grows with the case (:class:`Cost`); with the profile's
per-example time budget (:class:`ntkverify.properties.budget.SearchBudget`) it caps the sizes the property draws
(:meth:`Property.size_limits`), so cheap properties search large cases and expensive ones stay small.
"""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ntkverify.properties.budget import SearchBudget, search_budget
from ntkverify.properties.subjects import SUBJECTS
from ntkverify.registry import STATEMENTS, Kind, View

#: The sizes every axis is assumed to have when another axis is capped: the small branch of
#: :func:`ntkverify.strategies.sizes.sizes`.
SMALL_SIZE = 12


@dataclass(frozen=True)
class SizeLimits:
    """Upper bounds of the sizes a property's cases draw (n points, d coordinates, hidden widths, depth)."""

    max_n: int
    max_d: int
    max_width: int
    max_depth: int


@dataclass(frozen=True)
class Cost:
    """How one example's time grows: ``unit_seconds · n^n_power · d^d_power · P^parameter_power`` seconds on
    one CPU core, P = width² the parameters per hidden layer. ``growth`` is the same rule as printed
    (``O(n²d)``, ``O(n³)``, ``O(n·P)``). ``unit_seconds`` was measured on the suite's own checks (several
    kernel evaluations and the entry budget per example; see ``docs/search.md#cost-model``)."""

    growth: str
    unit_seconds: float
    n_power: int
    d_power: int = 0
    parameter_power: int = 0

    def seconds(self, n: int = SMALL_SIZE, d: int = SMALL_SIZE, width: int = SMALL_SIZE) -> float:
        return self.unit_seconds * n**self.n_power * d**self.d_power * (width * width) ** self.parameter_power

    def largest(self, axis: str, seconds: float, cap: int) -> int:
        """The largest size on ``axis`` (``n``, ``d`` or ``width``) whose example fits in ``seconds`` with the
        other axes at :data:`SMALL_SIZE`; at least :data:`SMALL_SIZE` (or ``cap`` if smaller), at most ``cap``."""
        low, high = min(SMALL_SIZE, cap), cap
        while low < high:  # the predicted time grows with the size: bisect for the last size within budget
            mid = (low + high + 1) // 2
            if self.seconds(**{axis: mid}) <= seconds:
                low = mid
            else:
                high = mid - 1
        return low

    def limits(self, budget: SearchBudget) -> SizeLimits:
        """The sizes this cost affords under ``budget``."""
        s = budget.example_seconds
        return SizeLimits(
            self.largest("n", s, budget.max_n),
            self.largest("d", s, budget.max_d),
            self.largest("width", s, budget.max_width),
            budget.max_depth,
        )


#: Entrywise comparisons of n × n kernels (evaluating the kernel, its reference and the entry budget).
ENTRYWISE = Cost("O(n²d)", 7e-8, n_power=2, d_power=1)
#: A certified spectrum of an n × n kernel (eigvalsh) on top of the entrywise work.
SPECTRUM = Cost("O(n³)", 1.2e-9, n_power=3)
#: An empirical NTK or feature matrices: n Jacobian rows of P parameters per layer.
EMPIRICAL = Cost("O(n·P)", 5e-7, n_power=1, parameter_power=1)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check on one case.

    A check reads ``observed ≤ bound`` (an upper bound; for a lower bound the check stores negated values or
    sets ``side``); ``margin`` is the signed slack ``bound − observed`` (or ``observed − bound`` for
    ``side="lower"``) divided by ``scale``, so ≥ 0 when the statement holds exactly and comparable across
    cases; ``tolerance`` (same units as observed) is the derived rounding allowance: the check holds iff
    slack ≥ −tolerance. ``notes`` explains the tolerance and anything unusual.
    """

    holds: bool
    observed: float
    bound: float
    margin: float
    tolerance: float
    side: str = "upper"
    notes: str = ""

    @classmethod
    def inequality(
        cls,
        observed: float,
        bound: float,
        tolerance: float,
        *,
        side: str = "upper",
        scale: float | None = None,
        notes: str = "",
    ) -> Verdict:
        """``observed ≤ bound + tolerance`` (``side="upper"``) or ``observed ≥ bound − tolerance`` (``"lower"``).

        ``scale`` normalises the margin; by default max(|observed|, |bound|, tolerance, tiny)."""
        observed, bound, tolerance = float(observed), float(bound), float(tolerance)
        if side not in ("upper", "lower"):
            raise ValueError(f"side must be 'upper' or 'lower', got {side!r}")
        slack = bound - observed if side == "upper" else observed - bound
        if scale is None:
            scale = max(abs(observed), abs(bound), tolerance, 1e-300)
        finite = math.isfinite(observed) and math.isfinite(bound)
        holds = finite and slack >= -tolerance
        margin = slack / scale if finite else -math.inf
        return cls(holds, observed, bound, margin, tolerance, side, notes)

    @classmethod
    def failure(cls, notes: str) -> Verdict:
        """A check that could not be evaluated on a valid case (non-finite output, exception, wrong shape)."""
        return cls(False, math.nan, math.nan, -math.inf, 0.0, "upper", notes)

    @classmethod
    def out_of_scope(cls, reason: str) -> Verdict:
        """A case outside the statement's assumptions: the check holds vacuously (and says why)."""
        return cls(True, math.nan, math.nan, math.inf, 0.0, notes=f"out of scope: {reason}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "observed": self.observed,
            "bound": self.bound,
            "margin": self.margin,
            "tolerance": self.tolerance,
            "side": self.side,
            "notes": self.notes,
        }


class Figure(enum.Enum):
    """What a report draws for a case of a property (``ntkverify.reports.plots``), declared with the property."""

    SPECTRUM = "the eigenvalues of the case's kernel matrix against the bound"
    SPECTRA = "the eigenvalues of the kernel beside those of its reference kernel"
    ENTRYWISE = "the entrywise error against the reference kernel over its allowance, log scale"
    ASYMMETRY = "the entrywise asymmetry |K - K^T| over its allowance, log scale"
    QUOTIENTS = "per layer k, every quotient ||f_k(x) - f_k(y)|| / (prod_l ||W_l|| ||x - y||) against the bound"
    FEATURE_SPECTRA = "the eigenvalues of each feature Gram matrix F_k F_k^T"
    MARGINS = "the margins alone: the case has no matrix worth drawing"


class MarginUnit(enum.Enum):
    """What a property's normalised margin measures; the nightly job compares margins of the two units by
    different rules (docs/pipeline.md#margin-alarm)."""

    SLACK = "the statement's slack over its scale: 0 at the bound, a drop means the search came closer to it"
    ALLOWANCE = "the share of the rounding allowance left, 1 - max |error| / allowed: it moves with rounding luck"


@dataclass(frozen=True)
class Property:
    """A statement declared as data.

    ``check(subject, case) -> Verdict`` evaluates one case. ``strategy(subject)`` returns the Hypothesis
    strategy of its cases (DET/CONJ), called with ``limits=`` (a :class:`SizeLimits`, from ``cost`` and the
    profile's budget) by :meth:`cases`. For PROB properties, ``trial(subject, rng) -> Verdict`` runs one
    independent random trial, and ``delta`` is the claimed failure probability per trial; ``trials`` is how
    many the ``ci`` profile runs.

    ``subjects`` says what the property is about. A property that ``builds_kernel`` computes the engine's own
    kernel from each case and runs once on the built-in suite (subject ``None``); given a user's kernel (when
    ``user-kernel`` is a subject) it checks that kernel in its place. Otherwise the property runs on every
    built-in kernel subject it names and on users' kernels. ``applies(subject)`` returns None when the property
    applies to that kernel subject, else the reason it does not. ``cost`` says how one example's time grows;
    ``figure`` what a report draws for its tightest case or counterexample; ``margin_unit`` what its margin
    measures (an agreement check's is the share of its rounding allowance left).
    """

    name: str
    statement: str
    citation: str
    kind: Kind
    subjects: tuple[str, ...]
    tolerance_rule: str
    check: Callable[..., Verdict] | None = None
    strategy: Callable[..., Any] | None = None
    trial: Callable[..., Verdict] | None = None
    delta: float = 0.0
    trials: int = 0
    limits: tuple[str, ...] = ()
    applies: Callable[[Any], str | None] = field(default=lambda subject: None)
    builds_kernel: bool = False
    cost: Cost = ENTRYWISE
    figure: Figure = Figure.SPECTRUM
    margin_unit: MarginUnit = MarginUnit.SLACK

    def size_limits(self, budget: SearchBudget | None = None) -> SizeLimits:
        """The sizes this property draws under ``budget`` (default: the profile in force)."""
        return self.cost.limits(search_budget() if budget is None else budget)

    def cases(self, subject, budget: SearchBudget | None = None):
        """The strategy of this property's cases on ``subject``, sized by :meth:`size_limits` when the strategy
        takes ``limits`` (a strategy of ``subject`` alone draws its own sizes)."""
        parameters = inspect.signature(self.strategy).parameters.values()
        if not any(p.name == "limits" or p.kind is p.VAR_KEYWORD for p in parameters):
            return self.strategy(subject)
        return self.strategy(subject, limits=self.size_limits(budget))

    def __post_init__(self):
        unknown = [s for s in self.subjects if s not in SUBJECTS]
        if unknown:
            raise ValueError(f"property {self.name!r}: unknown subjects {unknown}; known: {', '.join(SUBJECTS)}")
        if self.kind is Kind.PROB:
            if self.trial is None or not 0 < self.delta < 1 or self.trials < 1:
                raise ValueError(f"PROB property {self.name!r} needs trial, 0 < delta < 1 and trials >= 1")
        elif self.check is None or self.strategy is None:
            raise ValueError(f"{self.kind.value} property {self.name!r} needs check and strategy")


_REGISTRY: View[Property] = View(STATEMENTS, "property", (Kind.DET, Kind.PROB, Kind.CONJ))


def register(prop: Property) -> Property:
    return _REGISTRY.register(prop)


def all_properties() -> list[Property]:
    _load_builtin()
    return list(_REGISTRY)


def get_property(name: str) -> Property:
    _load_builtin()
    return _REGISTRY.get(name)


def select(names: Iterable[str] | None = None, kinds: Iterable[str] | None = None) -> list[Property]:
    """Properties by name (exact or substring) and kind (``DET``, ``PROB``, ``CONJ``)."""
    props = all_properties()
    if names:
        names = list(names)
        props = [p for p in props if any(n == p.name or n in p.name for n in names)]
    if kinds:
        wanted = {Kind(k.upper()) for k in kinds}
        props = [p for p in props if p.kind in wanted]
    return props


def _load_builtin() -> None:
    # importing the catalogue modules registers their properties
    from ntkverify.properties import bound_properties, catalogue, empirical_claim, empirical_properties  # noqa: F401
