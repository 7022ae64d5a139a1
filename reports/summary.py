"""Run summaries: per-property records, ``summary.json`` (schema ``summary.schema.json``), ``summary.md`` and a
self-contained ``index.html`` (plots embedded as base64 PNG; links only to files that exist).

The pieces are separate so that other jobs (the nightly run) can reuse them: :func:`result_record` is the
JSON of one property run, :func:`entry_plot` its PNG, :func:`render_html` / :func:`render_markdown` turn a
summary record into pages.

Exit status of a run (:func:`exit_code`): 1 when a DET property failed or a PROB property's binomial test
rejected its claim; otherwise 3 when a property could not run (``error``: the tool failed, not the theory) or
the run was interrupted (a *partial* summary); 0 otherwise. A CONJ violation is a *finding*,
reported prominently but not failing the run. A PROB rejection fails the run although it is a statistical
event: the run's false-alarm budget (``ntkverify.properties.statistics.RUN_FALSE_ALARM_BUDGET`` = 1e-6,
split across the PROB properties) makes a rejection of a true claim happen at most once in a million runs.
"""

from __future__ import annotations

import base64
import html
import math
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ntkverify.properties.core import Kind
from ntkverify.properties.runner import PropertyResult
from ntkverify.reports import plots
from ntkverify.reports.counterexample import case_figure_data, environment, verdict_record
from ntkverify.reports.store import dumps, jnum, write_bytes_atomic, write_text_atomic

SUMMARY_SCHEMA = "ntkverify-summary"
SUMMARY_SCHEMA_VERSION = 1
STATUSES = ("passed", "failed", "finding", "skipped", "error")


@dataclass
class Entry:
    """One (property, subject) run of a job: its result, the error that stopped it, its report folder."""

    result: PropertyResult
    error: str | None = None
    report: Path | None = None

    @classmethod
    def from_exception(cls, result: PropertyResult, exc: BaseException) -> Entry:
        return cls(result, "".join(traceback.format_exception_only(type(exc), exc)).strip())

    @property
    def status(self) -> str:
        return "error" if self.error else self.result.status

    @property
    def label(self) -> str:
        return self.result.label


def exit_code(entries: list[Entry], *, partial: bool = False) -> int:
    """1 if any entry failed (DET violation, PROB rejection); else 3 if one errored or the run is partial; else 0
    (module docstring)."""
    if any(e.status == "failed" for e in entries):
        return 1
    return 3 if partial or any(e.status == "error" for e in entries) else 0


def margin_stats(margins: list[float]) -> dict[str, Any]:
    values = np.asarray([m for m in margins if math.isfinite(m)], dtype=float)
    if not values.size:
        return {"count": 0, "min": None, "p05": None, "median": None, "max": None}
    q = np.quantile(values, [0.05, 0.5])
    return {
        "count": int(values.size),
        "min": float(values.min()),
        "p05": float(q[0]),
        "median": float(q[1]),
        "max": float(values.max()),
    }


def result_record(entry: Entry, folder: Path | None = None) -> dict[str, Any]:
    """JSON record of one property run; ``report`` is the counterexample folder relative to ``folder``."""
    r, p = entry.result, entry.result.property
    report = None
    if entry.report is not None:
        report = str(entry.report.relative_to(folder)) if folder is not None else str(entry.report)
    j = r.judgement
    return {
        "label": r.label,
        "property": p.name,
        "subject": None if r.subject is None else r.subject.name,
        "kind": p.kind.value,
        "statement": p.statement,
        "citation": p.citation,
        "status": entry.status,
        "examples": r.examples,
        "failures": r.failures,
        "tightest_margin": jnum(r.tightest_margin),
        "margins": margin_stats(r.margins),
        "tightest": None
        if r.tightest_verdict is None
        else {"case": repr(r.tightest_case), "verdict": verdict_record(r.tightest_verdict)},
        "judgement": None
        if j is None
        else {
            "trials": j.trials,
            "failures": j.failures,
            "delta": j.delta,
            "alpha": j.alpha,
            "p_value": j.p_value,
            "rejected": j.rejected,
        },
        "elapsed_s": r.elapsed,
        "skipped": r.skipped,
        "error": entry.error,
        "report": report,
    }


def summary_record(
    entries: list[Entry],
    folder: Path,
    *,
    profile: str,
    command: str,
    elapsed: float,
    not_run: list[str] = (),
    accuracy: dict | None = None,
) -> dict:
    """The summary of ``entries``; ``not_run`` lists the runs an interrupt prevented (a partial summary);
    ``accuracy``: kernel name → accuracy profile record (``ntkverify.properties.accuracy``), for the kernels
    that have one."""
    counts = {s: sum(e.status == s for e in entries) for s in STATUSES}
    return {
        "schema": SUMMARY_SCHEMA,
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "created": folder.name,
        "command": command,
        "profile": profile,
        "environment": environment(),
        "elapsed_s": elapsed,
        "exit_code": exit_code(entries, partial=bool(not_run)),
        "partial": bool(not_run),
        "not_run": list(not_run),
        "counts": counts,
        "examples": sum(e.result.examples for e in entries),
        "properties": [result_record(e, folder) for e in entries],
        "accuracy": accuracy or {},
    }


def _accuracy_lines(record: dict[str, Any]) -> list[str]:
    """One line per kernel with a profile: max relative errors and significant digits (docs/accuracy.md#profile)."""
    lines = []
    for kernel, a in record.get("accuracy", {}).items():
        parts = [
            f"{name.replace('_', '-')} {_fmt_margin(a[name]['relative_error'])} "
            f"({_fmt_margin(a[name]['digits'])} digits)"
            for name in ("off_diagonal", "diagonal", "lambda_min")
        ]
        lines.append(f"{kernel}: " + ", ".join(parts) + f" on {a['data_sets']} near-degenerate sets")
    return lines


def entry_plot(entry: Entry) -> bytes | None:
    """The PNG of one entry: its margin distribution and, for a DET/CONJ property, the tightest case found."""
    r = entry.result
    if not r.margins and r.tightest_case is None:
        return None
    v = r.tightest_verdict
    with_case = r.property.kind is not Kind.PROB and r.tightest_case is not None and v is not None
    K = errors = None
    if with_case:
        try:
            K, errors = case_figure_data(r.property, r.subject, r.tightest_case, v)
        except Exception:  # a kernel that cannot be drawn must not lose the run's summary
            K = errors = None
    title = r.label if v is None else f"{r.label}: tightest observed {v.observed:.4g} vs bound {v.bound:.4g}"
    return plots.property_plot(
        r.margins, r.tightest_margin, title=title, K=K, verdict=v, errors=errors, with_case=with_case
    )


def _fmt_margin(value) -> str:
    return value if isinstance(value, str) else ("—" if value is None else f"{value:.3g}")


def verdict_text(record: dict[str, Any]) -> str:
    """The headline word of a summary: PASSED, FAILED, ERROR, or PARTIAL with how many runs it lacks."""
    if record["partial"]:
        return f"PARTIAL (interrupted; {len(record['not_run'])} property runs not run)"
    return {0: "PASSED", 1: "FAILED"}.get(record["exit_code"], "ERROR")


def render_markdown(record: dict[str, Any]) -> str:
    c = record["counts"]
    verdict = verdict_text(record)
    lines = [
        f"# ntkverify run {record['created']}: {verdict}",
        "",
        f"`{record['command']}` — profile {record['profile']}, device {record['environment']['device']}, "
        f"{record['examples']} examples in {record['elapsed_s']:.1f} s",
        "",
        ", ".join(f"{c[s]} {s}" for s in STATUSES),
        "",
    ]
    accuracy = _accuracy_lines(record)
    if accuracy:
        lines += ["## Accuracy (max relative errors, docs/accuracy.md#profile)", ""] + [f"- {a}" for a in accuracy]
        lines.append("")
    attention = [p for p in record["properties"] if p["status"] in ("failed", "finding", "error")]
    if attention:
        lines += ["## Needs attention", ""]
        for p in attention:
            where = f" — report: `{p['report']}`" if p["report"] else ""
            what = p["error"] or (
                f"p = {p['judgement']['p_value']:.3g} < α = {p['judgement']['alpha']:.3g}"
                if p["judgement"]
                else f"margin {_fmt_margin(p['tightest_margin'])}"
            )
            lines.append(f"- **{p['status']}** {p['label']} ({p['kind']}): {what}{where}")
        lines.append("")
    lines += [
        "## Properties",
        "",
        "| property | kind | subject | status | examples | failures | tightest margin | time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in record["properties"]:
        lines.append(
            f"| {p['property']} | {p['kind']} | {p['subject'] or '—'} | {p['status']} | {p['examples']} | "
            f"{p['failures']} | {_fmt_margin(p['tightest_margin'])} | {p['elapsed_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}
th{background:#f0f0f0}
.passed{color:#1a7f37}.failed,.error{color:#cf222e;font-weight:bold}.finding{color:#9a6700;font-weight:bold}
.skipped{color:#777}
figure{display:inline-block;margin:0.4em}
img{max-width:100%}
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def render_html(record: dict[str, Any], images: dict[str, bytes], folder: Path) -> str:
    """The self-contained page; a counterexample link is emitted only when its report.md exists."""
    e = html.escape
    rows, figures = [], []
    for p in record["properties"]:
        link = ""
        if p["report"] and (folder / p["report"] / "report.md").is_file():
            link = f'<a href="{e(p["report"])}/report.md">report</a>'
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{cell}</td>"
                for cell in (
                    e(p["property"]),
                    e(p["kind"]),
                    e(p["subject"] or "—"),
                    f'<span class="{e(p["status"])}">{e(p["status"])}</span>',
                    p["examples"],
                    p["failures"],
                    e(_fmt_margin(p["tightest_margin"])),
                    f"{p['elapsed_s']:.2f}",
                    link,
                )
            )
            + "</tr>"
        )
        png = images.get(p["label"])
        if png:
            figures.append(f"<h3>{e(p['label'])}</h3><figure>{_img(png, p['label'])}</figure>")
    c = record["counts"]
    env = record["environment"]
    verdict = verdict_text(record)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>ntkverify run {e(record['created'])}</title><style>{_CSS}</style></head><body>"
        f"<h1>ntkverify run {e(record['created'])}: {verdict}</h1>"
        f"<p><code>{e(record['command'])}</code> — profile {e(record['profile'])}, device {e(env['device'])}, "
        f"torch {e(env['torch'])}, {record['examples']} examples in {record['elapsed_s']:.1f} s</p>"
        f"<p>{e(', '.join(f'{c[s]} {s}' for s in STATUSES))}</p>"
        + "".join(f"<p><b>accuracy</b> {e(line)}</p>" for line in _accuracy_lines(record))
        + "<table><thead><tr><th>property</th><th>kind</th><th>subject</th><th>status</th><th>examples</th>"
        "<th>failures</th><th>tightest margin</th><th>time (s)</th><th>counterexample</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table><h2>Plots</h2>"
        "<p>Margins are normalised (≥ 0: the statement holds with room to spare). The tightest case of each "
        "property is drawn as the spectrum of its kernel with the bound, or as the entrywise error heat map "
        "for an agreement check.</p>" + "".join(figures) + "</body></html>\n"
    )


def write_summary(
    folder: Path,
    entries: list[Entry],
    *,
    profile: str,
    command: str,
    elapsed: float,
    plots_enabled: bool = True,
    not_run: list[str] = (),
    accuracy: dict | None = None,
) -> dict[str, Any]:
    """Write summary.json and summary.md, then index.html (drawing its plots is the slow part: an interrupt
    there writes the page without them and is raised again); returns the summary record."""
    record = summary_record(
        entries, folder, profile=profile, command=command, elapsed=elapsed, not_run=not_run, accuracy=accuracy
    )
    write_text_atomic(folder / "summary.json", dumps(record))
    write_text_atomic(folder / "summary.md", render_markdown(record))
    try:
        images = {e.label: entry_plot(e) for e in entries} if plots_enabled else {}
    except KeyboardInterrupt:
        write_bytes_atomic(folder / "index.html", render_html(record, {}, folder).encode("utf-8"))
        raise
    write_bytes_atomic(folder / "index.html", render_html(record, images, folder).encode("utf-8"))
    return record


def write_check_summary(folder: Path, result, reports: dict[str, Path], *, profile: str, command: str) -> dict:
    """The summary files of ``ntkverify check`` (the same pages as a run's), with the kernel's accuracy profile;
    ``result`` is a ``VerifyResult``, ``reports`` maps a result's label to its counterexample folder."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = [Entry(r, report=reports.get(r.label)) for r in result.results]
    accuracy = {} if result.accuracy is None else {result.subject.name: result.accuracy.as_dict()}
    elapsed = sum(r.elapsed for r in result.results)
    return write_summary(folder, entries, profile=profile, command=command, elapsed=elapsed, accuracy=accuracy)
