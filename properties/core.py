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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ntkverify.properties.subjects import SUBJECTS
from ntkverify.registry import Kind, Registry


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


@dataclass(frozen=True)
class Property:
    """A statement declared as data.

    ``check(subject, case) -> Verdict`` evaluates one case. ``strategy(subject)`` returns the Hypothesis
    strategy of its cases (DET/CONJ). For PROB properties, ``trial(subject, rng) -> Verdict`` runs one
    independent random trial, and ``delta`` is the claimed failure probability per trial; ``trials`` is how
    many the ``ci`` profile runs.

    ``subjects`` says what the property is about. A property that ``builds_kernel`` computes the engine's own
    kernel from each case and runs once on the built-in suite (subject ``None``); given a user's kernel (when
    ``user-kernel`` is a subject) it checks that kernel in its place. Otherwise the property runs on every
    built-in kernel subject it names and on users' kernels. ``applies(subject)`` returns None when the property
    applies to that kernel subject, else the reason it does not.
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

    def __post_init__(self):
        unknown = [s for s in self.subjects if s not in SUBJECTS]
        if unknown:
            raise ValueError(f"property {self.name!r}: unknown subjects {unknown}; known: {', '.join(SUBJECTS)}")
        if self.kind is Kind.PROB:
            if self.trial is None or not 0 < self.delta < 1 or self.trials < 1:
                raise ValueError(f"PROB property {self.name!r} needs trial, 0 < delta < 1 and trials >= 1")
        elif self.check is None or self.strategy is None:
            raise ValueError(f"{self.kind.value} property {self.name!r} needs check and strategy")


_REGISTRY: Registry[Property] = Registry("property")


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
