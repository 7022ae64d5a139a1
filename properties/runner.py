"""Running a property: Hypothesis search for DET/CONJ properties, binomial judgement for PROB ones.

DET and CONJ properties run under the Hypothesis profile in force, with its case sizes
(:mod:`ntkverify.properties.budget`; the command line and the pytest plugin load the project's): each example's
normalised margin is passed to ``hypothesis.target`` (so the search moves towards near-violations), the
tightest margin and its case are kept, and a violation is shrunk by Hypothesis to a minimal case, which is
the last failing example Hypothesis replays. Under derandomised profiles every (property, subject) pair gets
its own fixed seed, so runs are reproducible and pairs do not all explore the same choice sequence. PROB
properties run their declared trials times the budget's ``trial_factor``.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import Phase, Verbosity, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as Settings
from hypothesis.database import ExampleDatabase

from ntkverify.properties.budget import SearchBudget, search_budget
from ntkverify.properties.core import Kind, Property, Verdict
from ntkverify.properties.statistics import BinomialJudgement, alpha_share, judge
from ntkverify.strategies import target_margin
from ntkverify.strategies.reach import merge, reach


class NamespacedDatabase(ExampleDatabase):
    """An example database whose keys are prefixed with a namespace, backed by another database.

    The runner wraps the same ``check`` closure for every (property, subject) pair, and Hypothesis keys its
    database by a digest of the test function's source, so all pairs would share one key — and a pair that
    passes would delete the stored failures of the others while replaying them. Prefixing every key with the
    pair's label (stable across runs and processes) gives each pair its own entries.
    """

    def __init__(self, backend: ExampleDatabase, namespace: str):
        super().__init__()
        self.backend, self.prefix = backend, namespace.encode() + b"\0"

    def __repr__(self) -> str:
        return f"NamespacedDatabase({self.backend!r}, {self.prefix[:-1].decode()!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, NamespacedDatabase) and (self.backend, self.prefix) == (other.backend, other.prefix)

    def __hash__(self) -> int:
        return hash((self.backend, self.prefix))

    def save(self, key: bytes, value: bytes) -> None:
        self.backend.save(self.prefix + key, value)

    def fetch(self, key: bytes):
        return self.backend.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self.backend.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.backend.move(self.prefix + src, self.prefix + dest, value)


def stable_seed(*names: str) -> int:
    return int.from_bytes(hashlib.sha256("/".join(names).encode()).digest()[:8], "big")


@dataclass
class Counterexample:
    """A violating case after shrinking, with everything needed to report and replay it."""

    property: Property
    subject: Any
    case: Any
    verdict: Verdict


@dataclass
class PropertyResult:
    property: Property
    subject: Any
    examples: int = 0
    failures: int = 0
    margins: list[float] = field(default_factory=list)
    tightest_margin: float = math.inf
    tightest_case: Any = None
    tightest_verdict: Verdict | None = None
    counterexample: Counterexample | None = None
    judgement: BinomialJudgement | None = None
    elapsed: float = 0.0
    skipped: str | None = None
    reach: dict[str, float] = field(default_factory=dict)  # extremes of the cases drawn (strategies.reach)

    @property
    def label(self) -> str:
        return self.property.name if self.subject is None else f"{self.property.name}[{self.subject.name}]"

    @property
    def status(self) -> str:
        """``passed``, ``skipped``, ``failed`` (DET bug or PROB rejection) or ``finding`` (CONJ violation)."""
        if self.skipped:
            return "skipped"
        if self.property.kind is Kind.PROB:
            return "failed" if self.judgement is not None and self.judgement.rejected else "passed"
        if self.counterexample is None:
            return "passed"
        return "finding" if self.property.kind is Kind.CONJ else "failed"

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped")

    def explain(self) -> str:
        p = self.property
        head = f"{self.label} ({p.kind.value}): {p.statement} [{p.citation}]"
        if self.judgement is not None:
            return f"{head}\n  {self.judgement}"
        if self.counterexample is None:
            return f"{head}\n  {self.examples} examples, tightest margin {self.tightest_margin:.3g}"
        v = self.counterexample.verdict
        return (
            f"{head}\n  counterexample: {self.counterexample.case!r}\n  observed {v.observed:.6g} vs bound "
            f"{v.bound:.6g} ({v.side}), tolerance {v.tolerance:.3g}, margin {v.margin:.3g}\n  {v.notes}"
        )

    def add_round(self, later: PropertyResult) -> None:
        """Fold a later run of the same pair into this result: a budgeted search (the nightly job) runs in
        rounds, each an independent search whose records are merged."""
        self.examples += later.examples
        self.failures += later.failures
        self.margins += later.margins
        self.elapsed += later.elapsed
        self.reach = merge(self.reach, later.reach)
        self.skipped = later.skipped or self.skipped
        tighter = self.tightest_case is None or later.tightest_margin < self.tightest_margin
        if later.tightest_case is not None and tighter:
            self.tightest_margin, self.tightest_case = later.tightest_margin, later.tightest_case
            self.tightest_verdict = later.tightest_verdict
        self.counterexample = later.counterexample or self.counterexample
        self.judgement = later.judgement or self.judgement

    def _record(self, case, verdict: Verdict) -> None:
        self.examples += 1
        self.reach = merge(self.reach, reach(case))
        if math.isfinite(verdict.margin):
            self.margins.append(verdict.margin)
        if verdict.margin < self.tightest_margin or self.tightest_case is None:
            self.tightest_margin, self.tightest_case, self.tightest_verdict = verdict.margin, case, verdict
        if not verdict.holds:
            self.failures += 1


class _Violation(AssertionError):
    def __init__(self, case, verdict: Verdict):
        super().__init__(verdict.notes)
        self.case, self.verdict = case, verdict


def run_property(
    prop: Property,
    subject=None,
    *,
    settings: Settings | None = None,
    n_prob: int | None = None,
    quiet: bool = True,
    budget: SearchBudget | None = None,
) -> PropertyResult:
    """Run one property on one subject (``None`` for engine-level properties). ``budget``: the case sizes
    and the factor on PROB trials (default: the budget of the profile in force,
    :func:`ntkverify.properties.budget.search_budget`)."""
    result = PropertyResult(prop, subject)
    reason = None if subject is None else prop.applies(subject)
    if reason is not None:
        result.skipped = f"not applicable to this kernel's claim: {reason}"
        return result
    start = time.perf_counter()
    try:
        if prop.kind is Kind.PROB:
            _run_statistical(prop, subject, result, n_prob, budget)
        else:
            _run_search(prop, subject, result, settings, quiet, budget)
    finally:
        result.elapsed = time.perf_counter() - start
    return result


def builtin_pairs(properties: list[Property] | None = None) -> list[tuple[Property, Any]]:
    """(property, subject) pairs of the built-in suite: a property that builds its own kernel from its cases
    (bounds, empirical NTK, feature matrices and maps) runs once with subject ``None``; any other runs on every
    built-in kernel subject it names and applies to."""
    from ntkverify.properties.core import all_properties
    from ntkverify.properties.subjects import BUILTIN_SUBJECTS

    pairs = []
    for prop in all_properties() if properties is None else properties:
        if prop.builds_kernel:
            pairs.append((prop, None))
        else:
            subjects = [s for s in BUILTIN_SUBJECTS.values() if s.name in prop.subjects]
            pairs.extend((prop, s) for s in subjects if prop.applies(s) is None)
    return pairs


def _names(prop: Property, subject) -> tuple[str, ...]:
    return (prop.name,) if subject is None else (prop.name, subject.name)


def _run_search(prop: Property, subject, result: PropertyResult, settings: Settings | None, quiet: bool, budget):
    base = settings or Settings()
    strategy = prop.cases(subject, budget)

    def check(case):
        verdict = prop.check(subject, case)
        result._record(case, verdict)
        target_margin(verdict.margin, label="margin")
        if not verdict.holds:
            raise _Violation(case, verdict)

    test = given(strategy)(check)
    # the explain phase only annotates the shrunk example (2–3 s per failure); the report does not use it
    phases = [p for p in base.phases if p is not Phase.explain]
    verbosity = Verbosity.quiet if quiet else base.verbosity
    database = base.database
    if database is not None and not isinstance(database, NamespacedDatabase):
        database = NamespacedDatabase(database, "/".join(_names(prop, subject)))
    test = Settings(base, report_multiple_bugs=False, verbosity=verbosity, phases=phases, database=database)(test)
    if base.derandomize:
        test = hypothesis_seed(stable_seed(*_names(prop, subject)) % 2**32)(test)
    try:
        test()
    except _Violation as violation:  # raised by the final, shrunk example
        result.counterexample = Counterexample(prop, subject, violation.case, violation.verdict)


def _run_statistical(prop: Property, subject, result: PropertyResult, n_prob: int | None, budget) -> None:
    trials = prop.trials * (budget or search_budget()).trial_factor
    if n_prob is None:
        from ntkverify.properties.core import all_properties

        n_prob = sum(p.kind is Kind.PROB for p in all_properties())
    base = stable_seed(*_names(prop, subject)) if Settings().derandomize else int(np.random.SeedSequence().entropy)
    failures = 0
    for trial in range(trials):
        rng = np.random.default_rng([base % 2**63, trial])
        verdict = prop.trial(subject, rng)
        result._record(f"trial {trial} (seed [{base % 2**63}, {trial}])", verdict)
        failures += not verdict.holds
    result.judgement = judge(failures, trials, prop.delta, alpha_share(n_prob))
