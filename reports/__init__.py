"""ntkverify.reports: counterexample reports, their replay, and the report folder of ``ntkverify run``.

* :func:`write_report` / :func:`write_result_report` — minimise a counterexample and write its folder
  (report.md, report.json, case.npz, plot.png) atomically under a root shared by concurrent writers;
* :func:`replay` / ``ntkverify repro PATH`` — rerun a report's check on its stored case;
* :func:`register_case_type` — make a new case type reportable (encode, decode, describe, minimise);
* :func:`run_pairs` — the main job behind ``ntkverify run``; :func:`write_summary` its summary files.

The file formats are documented in ``SCHEMA.md`` and validated by :func:`validate`.
"""

from ntkverify.reports.cases import CaseAdapter, UnsupportedCase, adapter_for, register_case_type
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
    "CaseAdapter",
    "Entry",
    "Minimisation",
    "Replay",
    "ReplayError",
    "RunOutcome",
    "UnsupportedCase",
    "WrittenReport",
    "adapter_for",
    "exit_code",
    "load_report",
    "load_schema",
    "minimise",
    "read_index",
    "register_case_type",
    "replay",
    "result_record",
    "run_pairs",
    "validate",
    "write_report",
    "write_result_report",
    "write_summary",
]
