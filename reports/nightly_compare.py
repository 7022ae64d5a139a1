"""What got worse since the baseline night: the regression rules of the nightly job, on ``nightly.json`` documents.

Both documents follow ``nightly.schema.json`` (schema version 2: a baseline of version 1 is upgraded when read).
Four kinds of regression:

``new-failure``
    a property that fails tonight (``failed``, ``finding`` or ``error``) and did not fail in the baseline — or
    is new, or there is no baseline at all (an absent baseline is read as "everything passed before").
``margin-drop``
    a property passing on both nights whose tightest normalised margin fell further than its unit's rule allows
    (``margin_unit`` of the result record, declared by the property; docs/pipeline.md#margin-alarm). Margins are
    clipped to [0, 1] first (``Verdict.margin``: 1 means "far from the bound", 0 "at the bound", and a passing
    margin can be slightly negative within its rounding allowance; clipping makes "above 1" and "at the bound up
    to rounding" compare as 1 and 0). A tightest margin is the minimum of a random search, so it moves between
    nights without any change of code; each rule is set from that spread.

    *Slack* margins (the bounds and every statement about the theory) are flagged when they fall by more than
    ``margin_drop`` (default :data:`MARGIN_DROP`) of the unit interval. Repeated unchanged random runs moved them
    by at most 0.06: the bound checks within 1e-6 of 0, the binomial bounds (400 trials, five runs each) within
    0.48–0.54, 0.224–0.228 and ±3e-4; 0.25 is four times the largest spread seen.

    *Allowance* margins (agreement checks: m = 1 − max |error|/allowed, the share of the derived float64
    allowance left) measure rounding luck, not closeness to a bound: under the per-entry float64 budgets
    ``reference-agreement``'s moves within 0.4–0.9 between unchanged nights, a spread no absolute drop can
    absorb. Their rule compares the share of the allowance used, u = 1 − m, on a log scale: flagged when u grew
    more than :data:`ALLOWANCE_GROWTH`-fold (1.6 decades, twice the 0.8 decades of u = 0.1…0.6 seen without a
    change), with u floored at :data:`ALLOWANCE_FLOOR` (an entry that agreed exactly one night is not infinitely
    better). A kernel that lost one and a half digits of accuracy while staying within its allowance is flagged;
    one that left its allowance is a new failure.

    Either comparison is skipped when tonight ran more than :data:`EXAMPLES_RATIO` times the baseline's
    examples: the minimum over many more examples is expected to be lower.
``benchmark-slower``
    a benchmark whose minimum time (pytest-benchmark's ``stats.min``, the least noisy statistic of a run) grew
    by more than ``bench_threshold`` (default :data:`BENCH_THRESHOLD`, 25%) and by more than
    :data:`BENCH_FLOOR_S` in absolute terms (timer resolution and scheduler jitter), on the same machine type.
    Different CPUs are not compared (noted instead).
``stopped-running``
    a property that ran in the baseline and, within tonight's selection, is absent (removed or renamed), was
    skipped, or was not reached within the time budget.

Everything else worth a look (still failing, fixed, new, not compared) is returned as notes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ntkverify.reports.store import decode_number

MARGIN_DROP = 0.25
ALLOWANCE_GROWTH = 40.0
ALLOWANCE_FLOOR = 0.01
EXAMPLES_RATIO = 4.0
BENCH_THRESHOLD = 0.25
BENCH_FLOOR_S = 1e-3

FAILING = frozenset({"failed", "finding", "error"})
RAN = frozenset({"passed", "failed", "finding", "error"})


@dataclass(frozen=True)
class Regression:
    kind: str  # new-failure | margin-drop | benchmark-slower | stopped-running
    name: str  # property label or benchmark fullname
    before: str
    after: str
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}: {self.before} -> {self.after} ({self.detail})"


def clipped(margin: float) -> float:
    """A normalised margin clipped to [0, 1] (NaN stays NaN)."""
    return margin if math.isnan(margin) else min(max(margin, 0.0), 1.0)


def in_selection(name: str, kind: str, selection: dict) -> bool:
    """Whether a property would be selected tonight: the rule of ``ntkverify.properties.core.select`` (a name
    pattern matches exactly or as a substring; kinds by value), applied to names that may no longer exist."""
    names, kinds = selection.get("properties"), selection.get("kinds")
    if names and not any(n == name or n in name for n in names):
        return False
    return not kinds or kind.upper() in {k.upper() for k in kinds}


def margin_fell(unit: str, old: float, new: float, margin_drop: float = MARGIN_DROP) -> str | None:
    """Why a margin's fall from ``old`` to ``new`` is a regression under the rule of its ``unit`` (``"slack"`` or
    ``"allowance"``, module docstring), or None."""
    if unit == "allowance":
        before, after = (max(1 - clipped(m), ALLOWANCE_FLOOR) for m in (old, new))
        growth = after / before
        if growth > ALLOWANCE_GROWTH:
            return f"share of the rounding allowance used grew {growth:.3g}-fold > {ALLOWANCE_GROWTH:g}"
        return None
    drop = clipped(old) - clipped(new)
    return f"clipped margin fell by {drop:.3g} > {margin_drop:g}" if drop > margin_drop else None


def _margin_text(m: float) -> str:
    return f"{m:.3g}"


def compare_properties(
    baseline: dict | None, current: dict, *, margin_drop: float = MARGIN_DROP
) -> tuple[list[Regression], list[str]]:
    """Property regressions (new failures, margin drops, stopped running) and notes; module docstring."""
    if not 0 < margin_drop <= 1:
        raise ValueError(f"margin_drop must be in (0, 1], got {margin_drop}")
    regressions: list[Regression] = []
    notes: list[str] = []
    before = {p["label"]: p for p in (baseline or {}).get("properties", [])}
    now = {p["label"]: p for p in current["properties"]}
    if baseline is None:
        notes.append("no baseline: every failure counts as new; margins, benchmarks and coverage not compared")
    for label, p in now.items():
        b = before.get(label)
        b_status = b["status"] if b else "absent"
        if p["status"] in FAILING:
            if b_status not in FAILING:
                regressions.append(Regression("new-failure", label, b_status, p["status"], (p["detail"] or "")[:300]))
            else:
                notes.append(f"still {p['status']}: {label}")
            continue
        if b_status in FAILING and p["status"] == "passed":
            notes.append(f"fixed: {label} ({b_status} -> passed)")
        if b is None:
            if baseline is not None:
                notes.append(f"new property: {label}")
            continue
        if p["status"] == "passed" and b_status == "passed":
            old, new = decode_number(b["tightest_margin"]), decode_number(p["tightest_margin"])
            if math.isnan(old) or math.isnan(new):
                continue
            fell = margin_fell(p.get("margin_unit", "slack"), old, new, margin_drop)
            if fell:
                if p["examples"] > EXAMPLES_RATIO * max(b["examples"], 1):
                    notes.append(
                        f"margin of {label} not compared: {p['examples']} examples tonight vs {b['examples']} "
                        f"(more than {EXAMPLES_RATIO:g}x)"
                    )
                    continue
                why = f"{fell}; case: {(p['tightest'] or {}).get('case')}"[:400]
                regressions.append(Regression("margin-drop", label, _margin_text(old), _margin_text(new), why))
    scope = current.get("selection", {})
    for label, b in before.items():
        if b["status"] not in RAN or not in_selection(b["property"], b["kind"], scope):
            continue
        p = now.get(label)
        status = p["status"] if p else "absent"
        if status not in RAN:
            detail = {
                "absent": "no longer registered or no longer applies to this kernel",
                "skipped": (p or {}).get("detail") or "skipped",
                "not-reached": "not reached within the time budget",
            }.get(status, status)
            regressions.append(Regression("stopped-running", label, b["status"], status, detail))
    out_of_scope = sum(not in_selection(b["property"], b["kind"], scope) for b in before.values())
    if out_of_scope:
        notes.append(f"{out_of_scope} baseline properties outside tonight's selection were not compared")
    return regressions, notes


def _machine(bench: dict) -> str | None:
    return bench.get("machine")


def compare_benchmarks(
    baseline: dict | None,
    current: dict,
    *,
    threshold: float = BENCH_THRESHOLD,
    floor_s: float = BENCH_FLOOR_S,
) -> tuple[list[Regression], list[str]]:
    """Benchmarks slower than the baseline's by more than ``threshold`` (relative) and ``floor_s`` (absolute),
    compared on the minimum time; module docstring."""
    if threshold <= 0:
        raise ValueError(f"bench_threshold must be > 0, got {threshold}")
    old_b = (baseline or {}).get("benchmarks") or {}
    new_b = current.get("benchmarks") or {}
    if not old_b.get("results") or not new_b.get("results"):
        return [], []
    if _machine(old_b) != _machine(new_b):
        return [], [f"benchmarks not compared: baseline ran on {_machine(old_b)!r}, tonight on {_machine(new_b)!r}"]
    old = {r["fullname"]: r for r in old_b["results"]}
    regressions, notes = [], []
    for r in new_b["results"]:
        b = old.get(r["fullname"])
        if b is None:
            continue
        ratio = r["min"] / b["min"] if b["min"] > 0 else math.inf
        if ratio > 1 + threshold and r["min"] - b["min"] > floor_s:
            regressions.append(
                Regression(
                    "benchmark-slower",
                    r["fullname"],
                    f"{b['min']:.4g} s",
                    f"{r['min']:.4g} s",
                    f"min time x{ratio:.2f} > x{1 + threshold:g}",
                )
            )
    gone = sorted(set(old) - {r["fullname"] for r in new_b["results"]})
    if gone and old_b.get("filter") == new_b.get("filter"):
        notes.append(f"benchmarks in the baseline but not tonight: {', '.join(gone)}")
    return regressions, notes


def compare(
    baseline: dict | None,
    current: dict,
    *,
    margin_drop: float = MARGIN_DROP,
    bench_threshold: float = BENCH_THRESHOLD,
) -> tuple[list[Regression], list[str]]:
    """All regressions of ``current`` against ``baseline`` (``None``: no baseline), and notes."""
    regressions, notes = compare_properties(baseline, current, margin_drop=margin_drop)
    bench_regressions, bench_notes = compare_benchmarks(baseline, current, threshold=bench_threshold)
    return regressions + bench_regressions, notes + bench_notes
