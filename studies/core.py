"""What a study is: a statement with a declared design, evaluated on a grid of independent points.

A :class:`Study` names a theorem (statement, citation) and its design (``docs/studies.md``): ``grid(plan)``
lists the :class:`Point` s (sizes × seeds, main arm and control arms), ``measure(point)`` computes the statistic of
one point, ``decide(records, plan)`` applies the decision rule and returns a :class:`Decision` (the verdict, the
stated false-alarm rate, the power against a named alternative, the controls with their verdicts, the fitted
constants), and ``plot(records, decision, folder)`` draws its figures.

Points are plain frozen data and :func:`evaluate` is a top-level function of a point alone, so a point can be
shipped to any ``map``-like executor (a process pool, a cluster) and cached by :attr:`Point.key`, the content
hash of (kernel, study, arm, design parameters, seed).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ntkverify.registry import STATEMENTS, Kind, View

VERDICTS = ("supported", "rejected", "inconclusive")
POWER_TARGET = 0.8  # a rule with less power than this against its named alternative is inconclusive
#: Bumped whenever a study's measurement changes meaning, so that cached points of an older version are not reused.
MEASUREMENT_VERSION = 1


@dataclass(frozen=True)
class KernelSpec:
    """A user's kernel, ``--kernel MODULE:CALLABLE --claim CLAIM --depth L``, as data that a worker can reload."""

    origin: str
    claim: str = "relu-ntk"
    depth: int | None = None

    def subject(self):
        """The :class:`~ntkverify.properties.subjects.Subject` (``UsageError`` if it cannot be loaded); loaded
        once per process."""
        return _subject(self)

    def identity(self) -> dict[str, Any]:
        """The spec and a hash of the callable's source, so an edited kernel is not served from the cache."""
        fn = self.subject().kernel
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            source = repr(fn)
        return {**asdict(self), "source": hashlib.sha256(source.encode()).hexdigest()[:16]}


@functools.lru_cache(maxsize=8)
def _subject(spec: KernelSpec):
    from ntkverify.properties.verify import load_callable, make_subject

    return make_subject(load_callable(spec.origin), spec.claim, depth=spec.depth, name=spec.origin, origin=spec.origin)


@dataclass(frozen=True)
class Point:
    """One independent task of a study's grid. ``params`` are the design parameters as sorted (name, value)
    pairs; ``arm`` is ``"main"`` or the name of a control; ``device`` is where it runs (not part of its key)."""

    study: str
    arm: str
    params: tuple[tuple[str, Any], ...]
    seed: int
    kernel: KernelSpec | None = None
    device: str = "cpu"

    def __getitem__(self, name: str) -> Any:
        return dict(self.params)[name]

    def key(self, kernel_identity: dict | None = None) -> str:
        """Content hash of (kernel, study, arm, parameters, seed, measurement version)."""
        content = {
            "kernel": kernel_identity if self.kernel is not None else "engine",
            "study": self.study,
            "arm": self.arm,
            "params": [list(p) for p in self.params],
            "seed": self.seed,
            "version": MEASUREMENT_VERSION,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:24]

    def as_dict(self) -> dict[str, Any]:
        return {"arm": self.arm, **dict(self.params), "seed": self.seed}


def point(study: str, arm: str, seed: int, plan: Plan, **params) -> Point:
    """A point of ``study`` under ``plan`` (its kernel and device), parameters sorted by name."""
    return Point(study, arm, tuple(sorted(params.items())), seed, plan.kernel, plan.device)


@dataclass(frozen=True)
class Record:
    """A point with its measured values."""

    point: Point
    values: dict[str, float]


@dataclass(frozen=True)
class Plan:
    """How large a grid to run: ``scale`` is the budget over the study's default budget (1 = default; the
    grid shrinks below 1 and grows above it), ``device`` where points run, ``kernel`` a user's kernel or None,
    ``first_seed`` the first of the consecutive seeds of every grid point (another value repeats the study on
    fresh draws)."""

    scale: float = 1.0
    device: str = "cpu"
    kernel: KernelSpec | None = None
    first_seed: int = 0

    def seeds(self, count: int) -> range:
        return range(self.first_seed, self.first_seed + count)

    @property
    def gpu(self) -> bool:
        return self.device == "cuda"


@dataclass(frozen=True)
class Outcome:
    """The verdict of one decision rule: on the main arm (``expected="supported"``) or on a control or planted
    alternative (``expected="rejected"``: the evidence that the study can fail)."""

    name: str
    verdict: str
    reason: str
    expected: str = "supported"
    statistic: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    @property
    def ok(self) -> bool:
        return self.verdict == self.expected

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class Decision:
    """A study's result: its verdict and reason, the stated false-alarm rate ``alpha`` and ``power`` against
    ``power_against``, the per-series outcomes, the controls, and the fitted constants (name → value, low, high)."""

    verdict: str
    reason: str
    alpha: float
    power: float
    power_against: str
    series: tuple[Outcome, ...]
    controls: tuple[Outcome, ...]
    constants: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def controls_ok(self) -> bool:
        return all(c.ok for c in self.controls)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "alpha": self.alpha,
            "power": self.power,
            "power_against": self.power_against,
            "power_target": POWER_TARGET,
            "series": [s.as_dict() for s in self.series],
            "controls": [c.as_dict() for c in self.controls],
            "constants": self.constants,
        }


def combine(series: list[Outcome], power: float, alpha: float, against: str, controls, constants) -> Decision:
    """The study verdict from its series: rejected if any series is, supported if all are and the power
    against the named alternative reaches :data:`POWER_TARGET`, else inconclusive with the reason."""
    rejected = [s.name for s in series if s.verdict == "rejected"]
    open_ = [s.name for s in series if s.verdict == "inconclusive"]
    if rejected:
        verdict, reason = "rejected", f"rejected on {', '.join(rejected)}"
    elif power < POWER_TARGET:
        verdict, reason = "inconclusive", f"budget too small: power {power:.2f} < {POWER_TARGET} against {against}"
    elif open_:
        verdict, reason = "inconclusive", f"interval straddles the threshold on {', '.join(open_)}"
    else:
        verdict, reason = "supported", f"every series supported; power {power:.2f} against {against}"
    return Decision(verdict, reason, alpha, power, against, tuple(series), tuple(controls), constants)


@dataclass(frozen=True)
class Study:
    """A registered study (see the module docstring), a record of kind STUDY in the registry of the properties
    (:data:`ntkverify.registry.STATEMENTS`). ``claims`` are the ``--claim`` values a user's kernel may carry in
    this study (empty: the study does not take a user's kernel); ``default_minutes`` is its share of the
    default budget on 2 CPU cores; ``subjects`` what it is about, in the properties' vocabulary
    (:data:`~ntkverify.properties.subjects.SUBJECTS`), for ``ntkverify list --subject``."""

    name: str
    statement: str
    citation: str
    design: str
    default_minutes: float
    grid: Callable[[Plan], list[Point]]
    measure: Callable[[Point], dict[str, float]]
    decide: Callable[[list[Record], Plan], Decision]
    plot: Callable[[list[Record], Decision, Path], list[str]]
    claims: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()

    @property
    def kind(self) -> Kind:
        return Kind.STUDY


_REGISTRY: View[Study] = View(STATEMENTS, "study", (Kind.STUDY,))


def register(study: Study) -> Study:
    return _REGISTRY.register(study)


def get_study(name: str) -> Study:
    _load_builtin()
    return _REGISTRY.get(name)


def all_studies() -> list[Study]:
    _load_builtin()
    return list(_REGISTRY)


def _load_builtin() -> None:
    from ntkverify.studies import catalogue  # noqa: F401  (registers the built-in studies)


def evaluate(p: Point) -> dict[str, Any]:
    """Measure one point (top-level and picklable: the unit of work an executor maps over).

    A point runs on one CPU thread: parallelism comes from the executor running points side by side. (Measured on
    2 shared cores: torch's two intra-op threads made an N = 1024 eigendecomposition 10–20 times slower than one
    thread once other processes competed for the cores.)"""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        values = get_study(p.study).measure(p)
        return {"values": {k: float(v) for k, v in values.items()}, "seconds": time.perf_counter() - start}
    finally:
        torch.set_num_threads(threads)
