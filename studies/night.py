"""The studies of a night: ``ntkverify nightly`` runs the selected studies after its pairs, each as one result
record of the night (docs/studies.md#studies-in-a-night).

The night's ``--property`` and ``--kind`` select studies by the rule that selects properties (a name matches
exactly or as a substring; ``--kind STUDY`` selects the studies alone); ``--no-studies`` leaves them out. With
``--kernel`` the studies that take its claim run on it (:attr:`~ntkverify.studies.core.Study.claims`); the
others are not selected. Each study runs into ``OUTPUT/studies/<name>/`` with a point cache emptied at the
start of every night: a night measures tonight's code, and its fixed seeds (``first_seed`` 0) make a changed
verdict mean a changed engine, not a fresh draw.

A study's verdict becomes the status of its record, so the night's regression rules apply unchanged
(:mod:`ntkverify.reports.nightly_compare`): ``supported`` with every control rejected is ``passed``;
``rejected``, or a control that was not rejected (the study could not fail), is ``failed`` (a new failure
against a baseline that passed); ``inconclusive`` is ``skipped`` with its reason (a study that passed in the
baseline and lost its power tonight stopped running); a study that raised is ``error``. A study has no margin.
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ntkverify.reports.exits import EnvironmentFailure, exception_text
from ntkverify.reports.nightly_compare import in_selection
from ntkverify.reports.store import encode_number
from ntkverify.reports.summary import STUDIES, margin_stats
from ntkverify.reports.users_kernel import CLAIM_DEFAULTS
from ntkverify.studies.core import KernelSpec, Study, all_studies
from ntkverify.studies.runner import POINTS, StudyRun, run_studies, summary


def status_of(run: StudyRun) -> tuple[str, str | None]:
    """The record status of a finished study and, when it is ``skipped``, why (module docstring)."""
    d = run.decision
    if d.verdict == "supported":
        return ("passed", None) if d.controls_ok else ("failed", None)
    return ("failed", None) if d.verdict == "rejected" else ("skipped", f"inconclusive: {d.reason}")


def study_record(
    study: Study, kernel: KernelSpec | None, *, status: str, seconds: float, detail: str, points: int = 0
) -> dict[str, Any]:
    """The result record (``summary.schema.json#/$defs/result``) of one study in a night."""
    subject = None if kernel is None else kernel.origin
    return {
        "label": study.name if subject is None else f"{study.name}[{subject}]",
        "property": study.name,
        "subject": subject,
        "kind": study.kind.value,
        "statement": study.statement,
        "citation": study.citation,
        "status": status,
        "examples": points,
        "failures": int(status == "failed"),
        "tightest_margin": encode_number(math.nan),
        "margins": margin_stats([]),
        "tightest": None,
        "judgement": None,
        "elapsed_s": round(seconds, 3),
        "skipped": detail if status == "skipped" else None,
        "error": detail if status == "error" else None,
        "report": None,
        "rounds": int(status != "not-reached"),
        "detail": detail,
    }


@dataclass
class NightStudies:
    """The studies a night runs (``studies``, on ``device``, on a user's ``kernel`` or the built-in kernels)."""

    studies: list[Study]
    device: str = "cpu"
    kernel: KernelSpec | None = None
    #: what an environment failure (a grid point lost by the executor) cost: the night then exits 3
    lost: list[str] = field(default_factory=list)

    def __call__(
        self, output: Path, budget_s: float | None, log: Callable[[str], None], executor=None
    ) -> list[dict[str, Any]]:
        """Run every study into ``output/studies/<name>/`` within ``budget_s`` seconds together (None: their
        default budgets), each its share by its default minutes, the grid points on ``executor``'s workers when
        it is distributed; the records in order. An interrupt raises ``KeyboardInterrupt`` with the records so
        far, and the others not reached, as its ``records`` attribute."""
        mapper = executor.map if executor is not None and executor.distributed else map
        default = sum(s.default_minutes for s in self.studies)
        records = []
        for study in self.studies:
            folder = Path(output) / STUDIES / study.name
            shutil.rmtree(folder / POINTS, ignore_errors=True)  # tonight's code, not an earlier night's points
            minutes = None if budget_s is None else budget_s / 60 * study.default_minutes / default
            try:
                records.append(self._run(study, folder, minutes, log, mapper))
            except KeyboardInterrupt as exc:
                done = len(records)
                exc.records = records + self.not_reached()[done:]
                raise
        return records

    def _run(self, study: Study, folder: Path, minutes: float | None, log, mapper) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            (run,) = run_studies(
                [study], folder, budget=minutes, device=self.device, kernel=self.kernel, executor=mapper
            )
        except Exception as exc:  # one study's failure is its record; the night and the other studies go on
            if isinstance(exc, EnvironmentFailure):  # the finished points are cached in its folder
                self.lost.append(str(exc))
            why = exception_text(exc)
            log(f"study {study.name}: error: {why}")
            return study_record(study, self.kernel, status="error", seconds=time.perf_counter() - start, detail=why)
        log(summary(run))
        status, skipped = status_of(run)
        detail = skipped or f"{run.decision.verdict}: {run.decision.reason}"
        detail += f" (study folder: {STUDIES}/{study.name}/index.html; rerun: ntkverify study {study.name})"
        return study_record(
            study, self.kernel, status=status, seconds=run.seconds, detail=detail, points=len(run.records)
        )

    def not_reached(self) -> list[dict[str, Any]]:
        """The records of every study, not reached (the night's time or an interrupt came first)."""
        unreached = dict(status="not-reached", seconds=0, detail="not reached")
        return [study_record(s, self.kernel, **unreached) for s in self.studies]


def night_studies(args: argparse.Namespace) -> NightStudies | None:
    """The studies a night's arguments select (module docstring), or None (``--no-studies``, or none selected).
    A user's kernel is studied only in its claim's own form: with ``--sigma-w``/``--sigma-b`` or a ``--domain``
    the designs do not draw from, no study is selected."""
    from ntkverify.device import default_device

    if not args.studies:
        return None
    selection = {"properties": args.property, "kinds": args.kind}
    chosen = [s for s in all_studies() if in_selection(s.name, s.kind.value, selection)]
    kernel = None
    if args.kernel is not None:
        claim = args.claim or CLAIM_DEFAULTS["claim"]
        kernel = KernelSpec(args.kernel, claim, args.depth)
        plain = args.sigma_w is None and args.sigma_b is None and args.domain in (None, CLAIM_DEFAULTS["domain"])
        chosen = [s for s in chosen if plain and claim in s.claims]
    return NightStudies(chosen, default_device().type, kernel) if chosen else None
