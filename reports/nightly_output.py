"""Files of the nightly job: ``nightly.json`` (schema ``nightly.schema.json``), ``nightly.md``, JUnit XML, the
self-contained ``nightly.html`` with trend plots, and the ``history.jsonl`` they are drawn from. The pages are
the run's (the result records, tables and plots of :mod:`ntkverify.reports.summary`) with the night's own
sections: regressions, notes, pairs not reached, trends over the history, benchmarks.

The history holds one JSON line per night (:func:`history_entry`, schema ``history.schema.json``), appended by
the one appender of every job (:func:`ntkverify.reports.store.append_jsonl`: locked, one ``O_APPEND`` write); a
line cut short by an interrupted run, or any line that does not follow the schema (valid JSON of the wrong
shape or types included), is skipped and reported on reading (:func:`scan_history`), and the next append starts
on a fresh line. Files are written with the user's umask.
"""

from __future__ import annotations

import html
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ntkverify.reports.nightly_compare import FAILING, clipped
from ntkverify.reports.plots import figure_png
from ntkverify.reports.schema import validator
from ntkverify.reports.store import append_jsonl, decode_number, dumps, write_text_atomic
from ntkverify.reports.summary import (
    attention_markdown,
    figures_html,
    html_table,
    img_tag,
    markdown_table,
    page,
    properties_html,
    properties_markdown,
)

PLOTTED_PROPERTIES = 8  # margin trends drawn for at most this many properties (the most eventful ones)
REGRESSION_COLUMNS = ("kind", "name", "before", "after", "detail")
BENCHMARK_COLUMNS = ("benchmark", "min (s)", "median (s)", "rounds")
HISTORY_VERSION = 2  # 2: a margin is encoded by encode_number ("nan" where version 1 wrote null)


# ---------------------------------------------------------------------------------------------------------
# History


def history_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """The compact record of one night kept in ``history.jsonl``."""
    return {
        "schema_version": HISTORY_VERSION,
        "run_id": doc["run_id"],
        "started": doc["started"],
        "elapsed_s": doc["elapsed_s"],
        "regressions": len(doc["comparison"]["regressions"]),
        "properties": {
            p["label"]: {
                "status": p["status"],
                "examples": p["examples"],
                "margin": p["tightest_margin"],
                "elapsed_s": p["elapsed_s"],
            }
            for p in doc["properties"]
        },
        "benchmarks": {b["fullname"]: b["min"] for b in doc["benchmarks"]["results"]},
    }


def scan_history(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """``(nights, skipped)``: the nights of ``history.jsonl`` in order, and the numbers (from 1) of the non-empty
    lines skipped because they are not JSON objects following ``history.schema.json``."""
    path = Path(path)
    if not path.exists():
        return [], []
    history = validator("history")
    nights, skipped = [], []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            skipped.append(number)
            continue
        if history.is_valid(entry):
            nights.append(entry)
        else:
            skipped.append(number)
    return nights, skipped


def read_history(path: Path) -> list[dict[str, Any]]:
    """The well-formed nights of ``history.jsonl`` in order (:func:`scan_history`)."""
    return scan_history(path)[0]


def skipped_note(path: Path, skipped: list[int]) -> str:
    shown = ", ".join(map(str, skipped[:10])) + (", …" if len(skipped) > 10 else "")
    return f"{path}: skipped {len(skipped)} malformed line{'s' if len(skipped) != 1 else ''} ({shown})"


# ---------------------------------------------------------------------------------------------------------
# Text reports


def _budget(seconds: float | None) -> str:
    return "none" if seconds is None else f"{seconds:.0f} s"


def _counts(doc: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in doc["properties"]:
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    return counts


def headline(doc: dict[str, Any]) -> str:
    n = len(doc["comparison"]["regressions"])
    counts = ", ".join(f"{v} {k}" for k, v in sorted(_counts(doc).items()))
    verdict = f"{n} REGRESSION{'S' if n != 1 else ''}" if n else "no regression"
    partial = "PARTIAL (interrupted): " if doc.get("partial") else ""
    return f"{partial}{verdict} — {counts}; {doc['elapsed_s']:.0f} s"


def _searched(doc: dict[str, Any]) -> str:
    kernel = doc.get("kernel")
    return "the built-in kernels" if kernel is None else f"the user's kernel {kernel['name']} ({kernel['origin']})"


def render_markdown(doc: dict[str, Any]) -> str:
    cmp = doc["comparison"]
    lines = [
        f"# ntkverify nightly {doc['run_id']}",
        "",
        f"**{headline(doc)}**",
        "",
        f"Searched {_searched(doc)}. Baseline: {cmp['baseline_run_id'] or 'none'} ({cmp['baseline'] or 'not given'}). "
        f"Device: {doc['environment']['device']}. Examples per property: {doc['profile']['max_examples']}; "
        f"time budget: {_budget(doc['time_budget_s'])}.",
        "",
        "## Regressions",
        "",
    ]
    if cmp["regressions"]:
        rows = [(r["kind"], f"`{r['name']}`", r["before"], r["after"], r["detail"][:200]) for r in cmp["regressions"]]
        lines += markdown_table(REGRESSION_COLUMNS, rows)
    else:
        lines.append("None.")
    if cmp["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in cmp["notes"]]
    if doc["not_reached"]:
        lines += ["", "## Not reached within the time budget", ""] + [f"- `{x}`" for x in doc["not_reached"]]
    properties = sorted(doc["properties"], key=_row_order)
    lines += [""] + attention_markdown(properties) + properties_markdown(properties)
    bench = doc["benchmarks"]
    lines += [f"## Benchmarks ({bench['status']})", ""]
    if bench["results"]:
        rows = [(f"`{b['fullname']}`", f"{b['min']:.4g}", f"{b['median']:.4g}", b["rounds"]) for b in bench["results"]]
        lines += [f"Machine: {bench['machine']}", ""] + markdown_table(BENCHMARK_COLUMNS, rows)
    elif bench.get("error"):
        lines += ["```", bench["error"][-1500:], "```"]
    return "\n".join(lines) + "\n"


def _row_order(p: dict[str, Any]) -> tuple:
    rank = {"error": 0, "failed": 1, "finding": 2, "not-reached": 3, "skipped": 4, "passed": 5}
    m = decode_number(p["tightest_margin"])
    return (rank.get(p["status"], 9), math.inf if math.isnan(m) else m, p["label"])


def render_junit(doc: dict[str, Any]) -> str:
    """JUnit XML: one testcase per (property, kernel) pair; failed/finding as ``<failure>``, error as
    ``<error>``, skipped and not reached as ``<skipped>``."""
    props = doc["properties"]
    counts = _counts(doc)
    suite = ET.Element(
        "testsuite",
        name="ntkverify.nightly",
        tests=str(len(props)),
        failures=str(counts.get("failed", 0) + counts.get("finding", 0)),
        errors=str(counts.get("error", 0)),
        skipped=str(counts.get("skipped", 0) + counts.get("not-reached", 0)),
        time=f"{sum(p['elapsed_s'] for p in props):.3f}",
        timestamp=doc["started"],
    )
    for p in props:
        case = ET.SubElement(
            suite, "testcase", classname=f"ntkverify.nightly.{p['kind']}", name=p["label"], time=f"{p['elapsed_s']:.3f}"
        )
        ET.SubElement(case, "properties")
        for key in ("examples", "failures", "tightest_margin"):
            ET.SubElement(case[0], "property", name=key, value=str(p[key]))
        text = p["detail"] or ""
        if p["report"]:
            text += f"\nreplay: ntkverify repro {p['report']}"
        if p["status"] in ("failed", "finding"):
            ET.SubElement(case, "failure", message=f"{p['status']}: {p['label']}").text = text
        elif p["status"] == "error":
            ET.SubElement(case, "error", message=(p["error"] or "")[:200]).text = text
        elif p["status"] in ("skipped", "not-reached"):
            ET.SubElement(case, "skipped", message=p["detail"] or p["status"])
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


# ---------------------------------------------------------------------------------------------------------
# HTML with trend plots


def eventful_properties(history: list[dict[str, Any]], limit: int = PLOTTED_PROPERTIES) -> list[str]:
    """Labels whose clipped margin moved most over the history (ties: the tightest tonight)."""
    if not history:
        return []
    spans = {}
    for label in history[-1]["properties"]:
        values = [clipped(decode_number(n["properties"][label]["margin"])) for n in history if label in n["properties"]]
        values = [v for v in values if not math.isnan(v)]
        if values:
            spans[label] = (max(values) - min(values), -values[-1])
    return sorted(spans, key=spans.get, reverse=True)[:limit]


def trend_plots(history: list[dict[str, Any]]) -> bytes:
    """One PNG of three panels over the nights: clipped tightest margins of the most eventful
    properties, failing and not-reached pair counts, and times (total, and each benchmark's min relative to its
    first night)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8.5))
    ax_m, ax_f, ax_t = fig.subplots(3, 1, sharex=True)
    x = list(range(len(history)))
    for label in eventful_properties(history):
        ys = [
            clipped(decode_number(n["properties"][label]["margin"])) if label in n["properties"] else math.nan
            for n in history
        ]
        ax_m.plot(x, ys, marker="o", label=label)
    ax_m.set_ylim(-0.05, 1.05)
    ax_m.set_ylabel("tightest margin\n(clipped to [0, 1])")
    if ax_m.lines:
        ax_m.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    failing = [sum(p["status"] in FAILING for p in n["properties"].values()) for n in history]
    unreached = [sum(p["status"] == "not-reached" for p in n["properties"].values()) for n in history]
    ax_f.bar(x, failing, color="tab:red", label="failing pairs")
    ax_f.plot(x, unreached, color="tab:gray", marker="s", label="not reached")
    ax_f.set_ylabel("pairs")
    ax_f.legend(fontsize=7, loc="upper left")
    ax_t.plot(x, [n["elapsed_s"] for n in history], color="black", marker="o", label="whole night (s)")
    ax_t.set_ylabel("seconds")
    ax_r = ax_t.twinx()
    names = sorted({name for n in history for name in n["benchmarks"]})
    for name in names:
        first = next(n["benchmarks"][name] for n in history if name in n["benchmarks"])
        ax_r.plot(
            x, [n["benchmarks"].get(name, math.nan) / first for n in history], ls="--", lw=1, marker=".", label=name
        )
    ax_r.set_ylabel("benchmark min / first night")
    if names:
        ax_r.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.08, 0.5))
    ax_t.legend(fontsize=7, loc="upper left")
    ax_t.set_xticks(x, [n["started"][:16].replace("T", " ") for n in history], rotation=45, ha="right", fontsize=7)
    ax_t.set_xlabel("night")
    return figure_png(fig)


def render_html(doc: dict[str, Any], history: list[dict[str, Any]], images: dict[str, bytes], folder: Path) -> str:
    """The night's page: its own sections around the run's properties table and plots (``images``: the plots of
    the pairs that need attention, by label; ``folder``: where the counterexample links point from)."""
    cmp = doc["comparison"]
    e = html.escape
    css = "bad" if cmp["regressions"] else "ok"
    parts = [
        f"<h1>ntkverify nightly {e(doc['run_id'])}</h1>",
        f"<div class='banner {css}'>{e(headline(doc))}</div>",
        f"<p>Searched {e(_searched(doc))}. Baseline: {e(str(cmp['baseline_run_id'] or 'none'))}; device "
        f"{e(doc['environment']['device'])}; {doc['profile']['max_examples']} examples per property; margin drop "
        f"flagged above {cmp['margin_drop']:g}, benchmark slowdown above {cmp['bench_threshold']:.0%}.</p>",
        "<h2>Regressions</h2>",
    ]
    if cmp["regressions"]:
        rows = [[e(r[k]) for k in ("kind", "name", "before", "after", "detail")] for r in cmp["regressions"]]
        parts.append(html_table(REGRESSION_COLUMNS, rows, ["bad"] * len(rows)))
    else:
        parts.append("<p>None.</p>")
    if cmp["notes"]:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in cmp["notes"]) + "</ul>")
    if doc["not_reached"]:
        parts.append(
            "<h2>Not reached within the time budget</h2><p>"
            + ", ".join(f"<code>{e(x)}</code>" for x in doc["not_reached"])
        )
    if history:
        parts.append(f"<h2>Trends over {len(history)} nights</h2>")
        parts.append(img_tag(trend_plots(history), "trend plots"))
    properties = sorted(doc["properties"], key=_row_order)
    parts += ["<h2>Properties</h2>", properties_html(properties, folder), figures_html(properties, images)]
    bench = doc["benchmarks"]
    parts.append(f"<h2>Benchmarks ({e(bench['status'])})</h2>")
    if bench["results"]:
        rows = [[e(b["fullname"]), f"{b['min']:.4g}", f"{b['median']:.4g}", b["rounds"]] for b in bench["results"]]
        parts.append(f"<p>{e(bench['machine'])}</p>" + html_table(BENCHMARK_COLUMNS, rows))
    elif bench.get("error"):
        parts.append(f"<pre>{e(bench['error'][-1500:])}</pre>")
    env = ", ".join(f"{k} {v}" for k, v in doc["environment"].items())
    parts.append(f"<p><small>{e(env)}; schema {e(doc['schema'])} v{doc['schema_version']}</small></p>")
    return page(f"ntkverify nightly {doc['run_id']}", "\n".join(parts))


def write_all(
    doc: dict[str, Any], output: Path, history_path: Path, images: dict[str, bytes], *, history: bool = True
) -> dict[str, Path]:
    """Write ``nightly.json``, ``nightly.md`` and ``nightly.junit.xml``, append the night to the history (unless
    ``history`` is false: a partial night), then write ``nightly.html`` with the trends of the whole history and
    ``images`` (:func:`render_html`)."""
    output = Path(output)
    files = {
        "json": write_text_atomic(output / "nightly.json", dumps(doc)),
        "md": write_text_atomic(output / "nightly.md", render_markdown(doc)),
        "junit": write_text_atomic(output / "nightly.junit.xml", render_junit(doc)),
    }
    if history:
        append_jsonl(history_path, history_entry(doc))
    files["history"] = Path(history_path)
    page_text = render_html(doc, read_history(history_path), images, output)
    files["html"] = write_text_atomic(output / "nightly.html", page_text)
    return files
