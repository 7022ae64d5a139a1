"""The study folder: ``study.json`` (versioned), ``table.csv`` (one row per grid point), the plots, and
``index.html`` with one section per theorem (statement, source, design, plots, verdict, controls)."""

from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ntkverify.studies.runner import StudyRun  # noqa: E402
from ntkverify.studies.statistics import geometric_mean  # noqa: E402

SCHEMA_VERSION = 1


def figure(width: float = 6.4, height: float = 4.2, panels: int = 1):
    """A new figure with ``panels`` axes side by side (Agg backend): ``(fig, ax)`` for one panel, ``(fig,
    array of axes)`` for more."""
    return plt.subplots(1, panels, figsize=(width, height))


def log_axes(ax, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Log-log axes with their labels: how the studies draw a statistic against a size."""
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel)
    if title is not None:
        ax.set_title(title, fontsize=8)


def curve(ax, groups, style: str, label: str) -> None:
    """The geometric mean over the seeds against the size, from ``groups`` = [(size, [values]), …]."""
    ax.plot([x for x, _ in groups], [float(geometric_mean(np.asarray(v))) for _, v in groups], style, ms=3, label=label)


def finish(fig, folder: Path, name: str, title: str) -> str:
    """A legend on every panel with labelled artists that has none yet, ``title`` (the study and its verdict)
    over the figure, saved by :func:`save`; returns the file name."""
    for ax in fig.axes:
        if ax.get_legend() is None and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save(fig, folder, name)


def save(fig, folder: Path, name: str) -> str:
    """Save ``fig`` as ``folder/name`` (PNG) and return the file name."""
    fig.tight_layout()
    fig.savefig(Path(folder) / name, dpi=90)
    plt.close(fig)
    return name


def study_record(run: StudyRun) -> dict[str, Any]:
    s = run.study
    return {
        "name": s.name,
        "statement": s.statement,
        "citation": s.citation,
        "design": s.design,
        "scale": run.plan.scale,
        "device": run.plan.device,
        "kernel": None if run.plan.kernel is None else run.plan.kernel.origin,
        "points": len(run.records),
        "points_cached": run.cached,
        "seconds": run.seconds,
        "plots": run.plots,
        **run.decision.as_dict(),
    }


def _finite(value):
    """The record with every NaN or infinity replaced by None, so that ``study.json`` is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(folder: Path, runs: list[StudyRun], command: str, exit_code: int) -> Path:
    record = {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "exit_code": exit_code,
        "studies": [study_record(r) for r in runs],
    }
    path = Path(folder) / "study.json"
    path.write_text(json.dumps(_finite(record), indent=2, default=float, allow_nan=False))
    return path


def write_table(folder: Path, runs: list[StudyRun]) -> Path:
    rows = [{"study": r.study.name, **rec.point.as_dict(), **rec.values} for r in runs for rec in r.records]
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    path = Path(folder) / "table.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _outcome_rows(outcomes, kind: str) -> str:
    return "".join(
        f"<tr><td>{kind}</td><td>{html.escape(o.name)}</td><td class='{o.verdict}'>{o.verdict}</td>"
        f"<td>{o.expected}</td><td>{html.escape(o.reason)}</td></tr>"
        for o in outcomes
    )


def _section(run: StudyRun) -> str:
    s, d = run.study, run.decision
    esc = html.escape
    images = "".join(f"<figure><img src='{esc(p)}' alt='{esc(p)}'></figure>" for p in run.plots)
    constants = "".join(
        f"<tr><td>{esc(k)}</td><td>{v['value']:.4g}</td><td>[{v['low']:.4g}, {v['high']:.4g}]</td></tr>"
        for k, v in d.constants.items()
    )
    return f"""
<section class="theorem" id="{esc(s.name)}">
<h2>{esc(s.name)} <span class="verdict {d.verdict}">{d.verdict}</span></h2>
<p class="statement">{esc(s.statement)}</p>
<p class="source">Source: {esc(s.citation)}</p>
<p class="reason">{esc(d.reason)}. False-alarm rate α = {d.alpha:.3g}; power {d.power:.2f} against
{esc(d.power_against)}. {len(run.records)} grid points ({run.cached} from the cache), {run.seconds:.1f} s.</p>
{images}
<table><tr><th></th><th>rule</th><th>verdict</th><th>expected</th><th>reason</th></tr>
{_outcome_rows(d.series, "series")}{_outcome_rows(d.controls, "control")}</table>
<table><tr><th>fitted constant</th><th>value</th><th>interval</th></tr>{constants}</table>
<details><summary>Design</summary><pre>{esc(s.design)}</pre></details>
</section>"""


_STYLE = """body{font-family:sans-serif;max-width:60em;margin:auto}
.supported{color:#1a7f37}.rejected{color:#cf222e}.inconclusive{color:#9a6700}
img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px}"""


def write_html(folder: Path, runs: list[StudyRun], command: str) -> Path:
    sections = "".join(_section(r) for r in runs)
    summary = ", ".join(
        f"<a href='#{html.escape(r.study.name)}'>{html.escape(r.study.name)}</a>: {r.decision.verdict}" for r in runs
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ntkverify studies</title><style>{_STYLE}</style></head>
<body><h1>ntkverify studies</h1><p><code>{html.escape(command)}</code></p><p>{summary}</p>{sections}</body></html>
"""
    path = Path(folder) / "index.html"
    path.write_text(page)
    return path
