"""Deterministic minimisation of a counterexample, after Hypothesis' own shrinking.

Hypothesis shrinks the choices it made; the case it returns can still hold data points that play no part in
the failure, a deeper network than needed, and coordinates with 16 digits. This minimiser works on the case
itself, with the case's own transforms (:mod:`ntkverify.case`), and accepts a move only when the
failure persists, i.e. ``prop.check(subject, new_case).holds is False`` (a check that raises on the new case
counts as passing: the move made the case invalid for the property):

1. **points** — delta debugging (Zeller & Hildebrandt, "Simplifying and isolating failure-inducing input",
   IEEE TSE 28(2), 2002: ddmin) over the rows of X, run to the end, so the result is 1-minimal: removing any
   single point makes the check pass;
2. **structure** — the case's smaller candidates (:meth:`ntkverify.case.Case.smaller`), greedily: depth − 1
   (for a kernel case only when the subject's claim leaves the depth free), then halved hidden widths; after a
   structural change, step 1 runs again;
3. **digits** — the coordinates rounded to k = 1, 2, … significant digits, keeping the smallest k that still
   fails; if that frees a point, steps 1–2 run again.

The number of checks and the time are bounded (``max_checks``, ``max_seconds``); the record says which steps
achieved something, and the final 1-minimality is verified point by point, not assumed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from ntkverify.case import Case
from ntkverify.device import DEFAULT_DTYPE
from ntkverify.properties.core import Property, Verdict

MAX_DIGITS = 17  # float64 round-trips through 17 significant digits, so k = 17 leaves every value unchanged


@dataclass
class Step:
    name: str  # "points", "depth", "widths", "digits"
    achieved: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.name, "achieved": self.achieved, "detail": self.detail}


@dataclass
class Minimisation:
    case: Any
    verdict: Verdict
    steps: list[Step] = field(default_factory=list)
    checks: int = 0
    n_before: int = 0
    n_after: int = 0
    digits: int | None = None
    one_minimal: bool | None = None
    exhausted: bool = False  # the check budget ran out before a fixed point

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.as_dict() for s in self.steps],
            "checks": self.checks,
            "n_before": self.n_before,
            "n_after": self.n_after,
            "digits": self.digits,
            "one_minimal": self.one_minimal,
            "exhausted": self.exhausted,
        }


def round_significant(X: torch.Tensor, digits: int) -> torch.Tensor:
    """Every coordinate rounded to ``digits`` significant decimal digits (zeros and non-finite values kept)."""
    values = X.detach().to(device="cpu", dtype=DEFAULT_DTYPE).ravel().tolist()
    flat = [float(f"{v:.{digits - 1}e}") if math.isfinite(v) else v for v in values]
    return torch.tensor(flat, dtype=DEFAULT_DTYPE).reshape(X.shape).to(X.device)


class _Budget(Exception):
    pass


class _Oracle:
    """Counts checks; returns the failing verdict or None (passes, or the case is invalid for the property)."""

    def __init__(self, prop: Property, subject, max_checks: int, max_seconds: float):
        self.prop, self.subject, self.max_checks, self.checks = prop, subject, max_checks, 0
        self.deadline = time.perf_counter() + max_seconds

    def __call__(self, case) -> Verdict | None:
        if self.checks >= self.max_checks or time.perf_counter() > self.deadline:
            raise _Budget
        self.checks += 1
        try:
            verdict = self.prop.check(self.subject, case)
        except Exception:  # the candidate is not a valid case for this property: treat as passing
            return None
        return None if verdict.holds else verdict


def _chunks(items: list[int], parts: int) -> list[list[int]]:
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for k in range(parts):
        stop = start + size + (k < extra)
        out.append(items[start:stop])
        start = stop
    return out


def ddmin(n: int, fails) -> list[int]:
    """Zeller–Hildebrandt ddmin over indices 0..n−1; ``fails(rows)`` says whether the sub-case fails. The
    returned subset fails and no single index can be removed from it (1-minimal)."""
    rows, granularity = list(range(n)), 2
    while len(rows) >= 2:
        parts = _chunks(rows, min(granularity, len(rows)))
        reduced = False
        for part in parts:
            if fails(part):
                rows, granularity, reduced = part, 2, True
                break
        if not reduced:
            for part in parts:
                complement = [i for i in rows if i not in part]
                if fails(complement):
                    rows, granularity, reduced = complement, max(granularity - 1, 2), True
                    break
        if not reduced:
            if granularity >= len(rows):
                break
            granularity = min(len(rows), 2 * granularity)
    return rows


def minimise(
    prop: Property, subject, case: Case, verdict: Verdict, *, max_checks: int = 2000, max_seconds: float = 60.0
) -> Minimisation:
    """Minimise a failing ``case`` (module docstring). ``verdict`` is its failing verdict. The search stops
    after ``max_checks`` checks or ``max_seconds`` (the record then says ``exhausted``; the case kept still
    fails)."""
    oracle = _Oracle(prop, subject, max_checks, max_seconds)
    result = Minimisation(case, verdict, n_before=case.n)
    fixed_depth = subject is not None and subject.claim.depth is not None  # the claim fixes the kernel's depth
    achieved = {"points": [], "depth": [], "widths": [], "digits": []}

    def accept(candidate, found: Verdict) -> None:
        result.case, result.verdict = candidate, found

    def points() -> bool:
        current = result.case
        n = current.n
        found: dict[tuple, Verdict] = {}

        def fails(rows: list[int]) -> bool:
            verdict = oracle(current.subset(rows))
            if verdict is not None:
                found[tuple(rows)] = verdict
            return verdict is not None

        rows = ddmin(n, fails)
        if len(rows) < n:
            accept(current.subset(rows), found[tuple(rows)])
            achieved["points"].append(f"{n} → {len(rows)} points")
            return True
        return False

    def structure() -> bool:
        changed = True
        any_change = False
        while changed:
            changed = False
            for step, detail, candidate in result.case.smaller(fixed_depth):
                found = oracle(candidate)
                if found is not None:
                    accept(candidate, found)
                    achieved[step].append(detail)
                    changed = any_change = True
                    break
        return any_change

    def digits() -> bool:
        X = result.case.X
        for k in range(1, MAX_DIGITS + 1):
            rounded = round_significant(X, k)
            if bool((rounded == X).all()):
                result.digits = k
                return False  # already at k digits: nothing to round
            candidate = result.case.with_points(rounded)
            found = oracle(candidate)
            if found is not None:
                accept(candidate, found)
                result.digits = k
                achieved["digits"].append(f"coordinates rounded to {k} significant digit{'s' * (k > 1)}")
                return True
        return False

    try:
        for _ in range(8):  # fixed point of (points, structure); each round strictly shrinks the case
            while points() | structure():
                pass
            try:
                if not digits():
                    break
            except NotImplementedError:  # the case type keeps its points fixed (e.g. an engine's kernel)
                break
        result.one_minimal = _one_minimal(oracle, result.case)
    except _Budget:
        result.exhausted = True
    result.checks = oracle.checks
    result.n_after = result.case.n
    for name in ("points", "depth", "widths", "digits"):
        details = achieved[name]
        result.steps.append(Step(name, bool(details), "; ".join(details) or _unchanged(name, result)))
    return result


def _unchanged(step: str, result: Minimisation) -> str:
    if step == "points":
        return f"no point removable (n = {result.n_after})"
    if step == "digits" and result.digits is not None:
        return f"coordinates already have at most {result.digits} significant digits"
    return "no smaller candidate kept the failure"


def _one_minimal(oracle: _Oracle, case: Case) -> bool:
    """Removing any single point makes the check pass (a single point is trivially 1-minimal)."""
    n = case.n
    return n == 1 or all(oracle(case.subset([j for j in range(n) if j != i])) is None for i in range(n))
