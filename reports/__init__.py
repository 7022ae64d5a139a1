"""ntkverify.reports: counterexample reports, their replay, and the report folder of ``ntkverify run``.

* :func:`write_report` / :func:`write_result_report` — minimise a counterexample and write its folder
  (report.md, report.json, case.npz, plot.png) atomically under a root shared by concurrent writers;
* :func:`replay` / ``ntkverify repro PATH`` — rerun a report's check on its stored case;
* a case (:mod:`ntkverify.case`) encodes, decodes, subsets and shrinks itself: a new case type subclasses
  :class:`ntkverify.case.Case` and is reportable at once;
* :func:`run_pairs` — the main job behind ``ntkverify run``; :func:`write_summary` its summary files.

The file formats are documented in ``SCHEMA.md`` and validated by :func:`validate`.
"""

from ntkverify.reports.counterexample import (
    Replay,
    ReplayError,
    WrittenReport,
    load_report,
    replay,
    write_report,
    write_result_report,
)
from ntkverify.reports.job import RunOutcome, run_pairs
from ntkverify.reports.minimise import Minimisation, minimise
from ntkverify.reports.schema import load_schema, validate
from ntkverify.reports.store import read_index
from ntkverify.reports.summary import Entry, exit_code, result_record, write_summary

__all__ = [
    "Entry",
    "Minimisation",
    "Replay",
    "ReplayError",
    "RunOutcome",
    "WrittenReport",
    "exit_code",
    "load_report",
    "load_schema",
    "minimise",
    "read_index",
    "replay",
    "result_record",
    "run_pairs",
    "validate",
    "write_report",
    "write_result_report",
    "write_summary",
]
