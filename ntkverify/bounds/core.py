"""The bound object, the margin it reports, and the registry (listing, lookup, explanation).

A :class:`Bound` is data (name, bounded quantity, side, kind, statement, assumptions, citation) plus three
functions of a case: the bound's value, the bounded quantity (both :class:`~ntkverify.spectra.Certified`,
with their own error bars), and a scope check that returns why a case is outside the assumptions.
:meth:`Bound.margin` compares the two under the rule of docs/tolerances.md#inequalities: an inequality between computed
quantities is allowed ``τ(lhs) + τ(rhs)``, the sum of the two error bars.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ntkverify.registry import Kind, Registry
from ntkverify.spectra import Certified
from ntkverify.tolerances import inequality_tolerance


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


def _in_scope(case) -> str | None:
    return None


@dataclass(frozen=True)
class Bound:
    """One inequality of the theory, as data plus evaluation functions (see the module docstring).

    ``bound_fn(case)`` and ``observe_fn(case)`` return :class:`Certified`; ``scope_fn(case)`` returns None
    when the case satisfies the assumptions, else a sentence saying why not. For PROB bounds
    ``probability`` states the guarantee (for example ``"1 - delta, delta = case.delta"``).
    """

    name: str
    quantity: str
    side: Side
    kind: Kind
    statement: str
    assumptions: str
    citation: str
    bound_fn: Callable
    observe_fn: Callable
    scope_fn: Callable = _in_scope
    probability: str = "1"

    def out_of_scope(self, case) -> str | None:
        """None when the bound applies to ``case``, else the reason it does not."""
        return self.scope_fn(case)

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
                f"  assumptions: {self.assumptions}",
                f"  holds with probability: {self.probability}",
                f"  kind:        {self.kind.description}",
                f"  citation:    {self.citation}",
            ]
        )


_REGISTRY: Registry[Bound] = Registry("bound")


def register(bound: Bound) -> Bound:
    """Add ``bound`` to the registry (names are unique)."""
    return _REGISTRY.register(bound)


def all_bounds(kind: Kind | None = None) -> tuple[Bound, ...]:
    """Every registered bound (optionally only those of one kind), sorted by name."""
    return tuple(b for b in sorted(_REGISTRY, key=lambda b: b.name) if kind is None or b.kind is kind)


def get_bound(name: str) -> Bound:
    """The bound called ``name``; ``ValueError`` listing the known names otherwise."""
    return _REGISTRY.get(name)


def explain(name: str) -> str:
    """A human-readable description of the bound called ``name``."""
    return get_bound(name).explain()
