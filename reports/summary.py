"""The one result record and its renderers, shared by ``run``, ``check``, ``nightly`` and the pytest plugin
(docs/pipeline.md).

:class:`Entry` is one (property, subject) run of any job; :func:`result_record` its JSON (a line of
``results.jsonl``, an item of ``summary.json`` and of ``nightly.json``); :func:`entry_plot` its PNG, drawn as
the property declares (:class:`ntkverify.properties.core.Figure`). A run's pages are ``summary.json`` (schema
``summary.schema.json``), ``summary.md`` and a self-contained ``index.html`` (plots embedded as base64 PNG;
links only to files that exist); the night's pages add its own sections around the same pieces
(:func:`attention_markdown`, :func:`properties_markdown`, :func:`properties_html`, :func:`figures_html`,
:func:`page`).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ntkverify.properties.core import Kind
from ntkverify.properties.runner import PropertyResult
from ntkverify.reports import plots
from ntkverify.reports.counterexample import case_figure, environment, verdict_record
from ntkverify.reports.exits import exception_text
from ntkverify.reports.store import decode_number, dumps, encode_number, write_bytes_atomic, write_text_atomic

SUMMARY_SCHEMA = "ntkverify-summary"
SUMMARY_SCHEMA_VERSION = 2  # 2: a result record has rounds and detail, a case repr is cut to CASE_CHARS
STATUSES = ("passed", "failed", "finding", "skipped", "error", "not-reached")
STUDIES = "studies"  # a job's studies write their folders under FOLDER/studies/<name>/ (ntkverify.studies.night)
CASE_CHARS = 1000  # a case's repr is cut to this many characters in the records (the report folder has it all)
MARGIN_NOTE = (
    "Margins are normalised slack (bound − observed over the check's scale): ≥ 0 means the statement holds "
    "with room to spare. A check passes while its slack is at least minus its rounding allowance (the derived "
    "tolerance of docs/tolerances.md), so a passing check can show a slightly negative margin: the computed "
    "value crossed the bound by less than floating-point arithmetic can resolve."
)


@dataclass
class Entry:
    """One (property, subject) run of a job: its result, the error that stopped it, its counterexample folder,
    and its rounds (a budgeted search runs several; 0: the budget never reached it)."""

    result: PropertyResult
    error: str | None = None
    report: Path | None = None
    rounds: int = 1

    @classmethod
    def from_exception(cls, result: PropertyResult, exc: BaseException) -> Entry:
        return cls(result, exception_text(exc))

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        return "not-reached" if self.rounds == 0 else self.result.status

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


def detail(entry: Entry) -> str | None:
    """One line on what happened: the error, the reason for a skip, the binomial judgement, or the
    counterexample with its verdict (None for a plain pass)."""
    r = entry.result
    if entry.error or r.skipped:
        return entry.error or r.skipped
    if r.judgement is not None:
        return str(r.judgement)
    if r.counterexample is None:
        return None
    v = r.counterexample.verdict
    return (
        f"{r.counterexample.case!r}"[:CASE_CHARS]
        + f" | observed {v.observed:.6g} vs bound {v.bound:.6g} ({v.side}), tolerance {v.tolerance:.3g}, "
        f"margin {v.margin:.3g}; {v.notes}"
    )


def result_record(entry: Entry, folder: Path | None = None) -> dict[str, Any]:
    """The JSON record of one property run (every job writes this one); ``report`` is the counterexample folder
    relative to ``folder``; ``tightest_margin`` is NaN when no case was evaluated."""
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
        "margin_unit": p.margin_unit.name.lower(),
        "statement": p.statement,
        "citation": p.citation,
        "status": entry.status,
        "examples": r.examples,
        "failures": r.failures,
        "tightest_margin": encode_number(r.tightest_margin if r.tightest_case is not None else math.nan),
        "margins": margin_stats(r.margins),
        "tightest": None
        if r.tightest_verdict is None
        else {"case": repr(r.tightest_case)[:CASE_CHARS], "verdict": verdict_record(r.tightest_verdict)},
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
        "rounds": entry.rounds,
        "detail": detail(entry),
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
    if not counts["not-reached"]:  # only a budgeted night leaves pairs unreached
        del counts["not-reached"]
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
            f"{name.replace('_', '-')} {fmt_margin(a[name]['relative_error'])} ({fmt_margin(a[name]['digits'])} digits)"
            for name in ("off_diagonal", "diagonal", "lambda_min")
        ]
        lines.append(f"{kernel}: " + ", ".join(parts) + f" on {a['data_sets']} near-degenerate sets")
    return lines


def entry_plot(entry: Entry) -> bytes | None:
    """The PNG of one entry: its margin distribution and, for a DET/CONJ property, the tightest case found,
    drawn as the property declares (:func:`ntkverify.reports.counterexample.case_figure`)."""
    r = entry.result
    if not r.margins and r.tightest_case is None:
        return None
    v = r.tightest_verdict
    figure = None
    if r.property.kind is not Kind.PROB and r.tightest_case is not None and v is not None:
        try:
            figure = case_figure(r.property, r.subject, r.tightest_case)
        except Exception:  # a kernel that cannot be drawn must not lose the run's summary
            figure = None
    title = r.label if v is None else f"{r.label}: tightest observed {v.observed:.4g} vs bound {v.bound:.4g}"
    return plots.property_plot(r.margins, r.tightest_margin, title=title, figure=figure, verdict=v)


def fmt_margin(value) -> str:
    """A recorded margin for a table: three significant digits, "—" when there is none."""
    m = decode_number(value)
    return "—" if math.isnan(m) else f"{m:.3g}"


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES if s != "not-reached" or counts.get(s))


def verdict_text(record: dict[str, Any]) -> str:
    """The headline word of a summary: PASSED, FAILED, ERROR, or PARTIAL with how many runs it lacks."""
    if record["partial"]:
        return f"PARTIAL (interrupted; {len(record['not_run'])} property runs not run)"
    return {0: "PASSED", 1: "FAILED"}.get(record["exit_code"], "ERROR")


ATTENTION = ("failed", "finding", "error")


def attention_markdown(properties: list[dict[str, Any]]) -> list[str]:
    """The "Needs attention" section: every failure, finding and error with what happened and its folder."""
    attention = [p for p in properties if p["status"] in ATTENTION]
    if not attention:
        return []
    lines = ["## Needs attention", ""]
    for p in attention:
        where = f" — report: `{p['report']}`" if p["report"] else ""
        what = p["error"] or (
            f"p = {p['judgement']['p_value']:.3g} < α = {p['judgement']['alpha']:.3g}"
            if p["judgement"]
            else f"margin {fmt_margin(p['tightest_margin'])}"
        )
        lines.append(f"- **{p['status']}** {p['label']} ({p['kind']}): {what}{where}")
        if p["detail"] and p["detail"] != p["error"]:
            lines += ["", "  ```", "  " + p["detail"].replace("\n", "\n  "), "  ```"]
    return lines + [""]


def markdown_table(headers: tuple[str, ...], rows) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


def html_table(headers: tuple[str, ...], rows, classes=None) -> str:
    """A table of cells that are HTML already; ``classes``: one CSS class per row."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{cls}">' + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
        for row, cls in zip(rows, classes or [""] * len(rows))
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_COLUMNS = ("property", "kind", "subject", "status", "examples", "failures", "tightest margin", "time (s)")


def _cells(p: dict[str, Any]) -> list:
    return [p["property"], p["kind"], p["subject"] or "—", p["status"], p["examples"], p["failures"],
            fmt_margin(p["tightest_margin"]), f"{p['elapsed_s']:.2f}"]  # fmt: skip


def properties_markdown(properties: list[dict[str, Any]]) -> list[str]:
    return ["## Properties", ""] + markdown_table(_COLUMNS, map(_cells, properties)) + ["", MARGIN_NOTE, ""]


def render_markdown(record: dict[str, Any]) -> str:
    lines = [
        f"# ntkverify run {record['created']}: {verdict_text(record)}",
        "",
        f"`{record['command']}` — profile {record['profile']}, device {record['environment']['device']}, "
        f"{record['examples']} examples in {record['elapsed_s']:.1f} s",
        "",
        counts_text(record["counts"]),
        "",
    ]
    accuracy = _accuracy_lines(record)
    if accuracy:
        lines += ["## Accuracy (max relative errors, docs/accuracy.md#profile)", ""] + [f"- {a}" for a in accuracy]
        lines.append("")
    lines += attention_markdown(record["properties"]) + properties_markdown(record["properties"])
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
table{border-collapse:collapse;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}
th{background:#f0f0f0}
.passed{color:#1a7f37}.failed,.error{color:#cf222e;font-weight:bold}.finding{color:#9a6700;font-weight:bold}
.skipped,.not-reached{color:#777}
.bad{background:#fdd}.ok{background:#dfd}.banner{font-size:1.4em;padding:.5em;margin:.5em 0}
figure{display:inline-block;margin:0.4em}
img{max-width:100%}
details pre{white-space:pre-wrap;max-width:1100px}
"""


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG embedded (base64): the pages stay self-contained."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def page(title: str, body: str) -> str:
    """A self-contained HTML page (no scripts, no external resources)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def properties_html(properties: list[dict[str, Any]], folder: Path) -> str:
    """The table of result records; a counterexample link only when its report.md exists under ``folder``, a
    study's link when its ``index.html`` does."""
    e = html.escape
    rows = []
    for p in properties:
        cells = [e(str(c)) for c in _cells(p)]
        cells[3] = f'<span class="{e(p["status"])}">{cells[3]}</span>'
        link = ""
        if p["report"] and (folder / p["report"] / "report.md").is_file():
            link = f'<a href="{e(p["report"])}/report.md">report</a>'
        elif p["kind"] == Kind.STUDY.value and (folder / STUDIES / p["property"] / "index.html").is_file():
            link = f'<a href="{STUDIES}/{e(p["property"])}/index.html">study</a>'
        what = f"<details><summary>detail</summary><pre>{e(p['detail'])}</pre></details>" if p["detail"] else ""
        rows.append(cells + [link + what])
    return html_table((*_COLUMNS, "counterexample"), rows) + f"<p>{html.escape(MARGIN_NOTE)}</p>"


def figures_html(properties: list[dict[str, Any]], images: dict[str, bytes]) -> str:
    """The plots of the records that have one: margins and the tightest case, drawn as its property declares."""
    e = html.escape
    figures = [
        f"<h3>{e(p['label'])}</h3><figure>{img_tag(images[p['label']], p['label'])}</figure>"
        for p in properties
        if images.get(p["label"])
    ]
    if not figures:
        return ""
    return (
        "<h2>Plots</h2><p>Each property's margins, and its tightest case drawn as the property declares: the "
        "spectrum against the bound for a spectral bound, the quotients against the bound for a Lipschitz bound, "
        "the feature spectra for a rank statement, the entrywise error over its allowance (log scale) for an "
        "agreement check.</p>" + "".join(figures)
    )


def render_html(record: dict[str, Any], images: dict[str, bytes], folder: Path) -> str:
    e = html.escape
    env = record["environment"]
    title = f"ntkverify run {record['created']}"
    return page(
        title,
        f"<h1>{e(title)}: {verdict_text(record)}</h1>"
        f"<p><code>{e(record['command'])}</code> — profile {e(record['profile'])}, device {e(env['device'])}, "
        f"torch {e(env['torch'])}, {record['examples']} examples in {record['elapsed_s']:.1f} s</p>"
        f"<p>{e(counts_text(record['counts']))}</p>"
        + "".join(f"<p><b>accuracy</b> {e(line)}</p>" for line in _accuracy_lines(record))
        + properties_html(record["properties"], folder)
        + figures_html(record["properties"], images),
    )


def entry_images(entries: list[Entry], only: tuple[str, ...] | None = None) -> dict[str, bytes]:
    """The plot of every entry (or of those whose status is in ``only``), by label."""
    return {e.label: entry_plot(e) for e in entries if only is None or e.status in only}


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
        images = entry_images(entries) if plots_enabled else {}
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
