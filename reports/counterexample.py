"""Counterexample reports: one folder per failure, readable by a person and replayable by ``ntkverify repro``.

A folder holds ``report.md`` (statement, citation, kind, the case in a few lines, observed vs bound with the
margin and the tolerance, what was minimised), ``report.json`` (the same, schema ``counterexample.schema.json``,
see ``SCHEMA.md``), ``case.npz`` (the data, the weights where the case has them, the kernel matrix) and
``plot.png`` (the spectrum with the bound, or the entrywise error heat map of a differential failure).

Before writing, the case is minimised beyond Hypothesis' shrinking (:mod:`ntkverify.reports.minimise`). The case
encodes itself (:meth:`ntkverify.case.Case.encode`); a version-2 ``report.json`` (case type names of the old report
adapters, the law as its repr) is read by :func:`upgrade_case_record`.
Writing is atomic and safe under concurrent writers (:mod:`ntkverify.reports.store`).

Replay integrity: a report records the absolute location of a user's kernel (``path.py:CALLABLE`` resolved
against the folder it was checked from, or ``MODULE:CALLABLE`` with the file it resolved to) and the SHA-256 of
that source file and of ``case.npz``. :func:`replay` refuses (:class:`ReplayError`, exit 2) a report whose
``report.json`` does not follow its schema, whose ``case.npz`` changed or is not a float64 archive, or whose
kernel source changed — unless ``allow_changed_kernel``, the path for "I fixed my kernel: does it pass now?",
which then says that the source differs from the recorded one. Only the file defining the callable is hashed:
a change in a module it imports is not detected.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import platform
import shlex
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ntkverify.case import Case, KernelCase
from ntkverify.device import default_device
from ntkverify.distributions import ADVERSARIAL, DISTRIBUTIONS
from ntkverify.features import feature_matrices
from ntkverify.properties.accuracy import AccuracyProfile
from ntkverify.properties.core import Figure, Kind, Property, Verdict, get_property
from ntkverify.properties.runner import Counterexample, PropertyResult
from ntkverify.properties.subjects import BUILTIN_SUBJECTS, Claim, KernelError, Subject
from ntkverify.reports import plots
from ntkverify.reports.exits import InputError
from ntkverify.reports.explain import explain_case
from ntkverify.reports.minimise import Minimisation, minimise
from ntkverify.reports.schema import read_document
from ntkverify.reports.store import (
    append_index,
    decode_number,
    dumps,
    encode_number,
    staged_folder,
    timestamp,
    utc_now,
    write_bytes_atomic,
    write_text_atomic,
)

REPORT_SCHEMA = "ntkverify-counterexample"
REPORT_SCHEMA_VERSION = 3
#: The versions ``repro`` still reads (version 2: the case record of the old report adapters).
READ_VERSIONS = (2, 3)
FILES = {"markdown": "report.md", "json": "report.json", "case": "case.npz", "plot": "plot.png"}


class ReplayError(InputError):
    """A report cannot be replayed (no origin for a user's kernel, unsupported case type, missing, corrupt or
    changed files, a changed kernel source): a usage error, never "fixed" and never "still reproduces"."""


# ---------------------------------------------------------------------------------------------------------
# Records


def verdict_record(v: Verdict) -> dict[str, Any]:
    return {
        "holds": v.holds,
        "observed": encode_number(v.observed),
        "bound": encode_number(v.bound),
        "margin": encode_number(v.margin),
        "tolerance": encode_number(v.tolerance),
        "side": v.side,
        "notes": v.notes,
    }


def verdict_from_record(r: dict[str, Any]) -> Verdict:
    return Verdict(
        r["holds"],
        decode_number(r["observed"]),
        decode_number(r["bound"]),
        decode_number(r["margin"]),
        decode_number(r["tolerance"]),
        r["side"],
        r["notes"],
    )


def property_record(p: Property) -> dict[str, Any]:
    return {
        "name": p.name,
        "statement": p.statement,
        "citation": p.citation,
        "kind": p.kind.value,
        "tolerance_rule": p.tolerance_rule,
        "limits": list(p.limits),
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_path_origin(module: str) -> bool:
    return module.endswith(".py") or "/" in module


def absolute_origin(origin: str) -> str:
    """``path.py:CALLABLE`` with the path made absolute (a replay from another folder loads the same file);
    ``MODULE:CALLABLE`` unchanged."""
    module, _, attr = origin.rpartition(":")
    return f"{Path(module).resolve()}:{attr}" if _is_path_origin(module) else origin


def origin_source(origin: str) -> Path | None:
    """The source file an origin loads (None when it has none, e.g. a module that cannot be found), without
    running the kernel's module (parent packages of a dotted module are imported to find it)."""
    module = origin.rpartition(":")[0]
    if _is_path_origin(module):
        return Path(module).resolve()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).resolve() if spec is not None and spec.origin and Path(spec.origin).is_file() else None


def source_record(origin: str) -> dict[str, Any] | None:
    """``{"path", "sha256"}`` of the source file of ``origin`` (module docstring)."""
    path = origin_source(origin)
    if path is None or not path.is_file():
        return None
    return {"path": str(path), "sha256": sha256(path.read_bytes())}


def subject_record(subject: Subject | None) -> dict[str, Any] | None:
    """How to rebuild the kernel: a built-in one by name, a user's one from its absolute origin, the hash of its
    source file and its claim."""
    if subject is None:
        return None
    c = subject.claim
    origin = None if subject.origin is None else absolute_origin(subject.origin)
    return {
        "name": subject.name,
        "description": str(subject),
        "builtin": BUILTIN_SUBJECTS.get(subject.name) is subject,
        "origin": origin,
        "source": None if origin is None else source_record(origin),
        "claim": {"name": c.name, "depth": c.depth, "sigma_w": c.sigma_w, "sigma_b": c.sigma_b},
    }


def kernel_change(record: dict[str, Any]) -> str | None:
    """How a user's kernel source differs from the one recorded (None: unchanged, or a built-in kernel)."""
    if record["builtin"] or not record["origin"]:
        return None
    recorded, now = record["source"], source_record(record["origin"])
    if recorded == now:
        return None
    if recorded is None:
        return f"the report recorded no source file for {record['origin']}, now {now['path']}"
    if now is None:
        return f"kernel source {recorded['path']} no longer exists"
    if now["path"] != recorded["path"]:
        return f"{record['origin']} now loads {now['path']}, the report was made with {recorded['path']}"
    return (
        f"kernel source {now['path']} changed since the report "
        f"(sha256 {recorded['sha256'][:12]}… recorded, now {now['sha256'][:12]}…)"
    )


def load_subject(record: dict[str, Any] | None) -> Subject | None:
    from ntkverify.properties.verify import load_callable

    if record is None:
        return None
    if record["builtin"]:
        if record["name"] not in BUILTIN_SUBJECTS:
            raise ReplayError(f"unknown built-in kernel {record['name']!r}")
        return BUILTIN_SUBJECTS[record["name"]]
    if not record["origin"]:
        raise ReplayError(
            f"kernel {record['name']!r} was passed as a Python object without an origin; reports replay only "
            "kernels given as MODULE:CALLABLE (ntkverify check, or verify(..., origin=...))"
        )
    return Subject(record["name"], load_callable(record["origin"]), Claim(**record["claim"]), origin=record["origin"])


def environment() -> dict[str, Any]:
    """Versions, platform and device of this process: the same block in every file a job writes."""
    import hypothesis

    import ntkverify

    device = default_device()
    return {
        "ntkverify": ntkverify.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "hypothesis": hypothesis.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or None,
        "dtype": "float64",
    }


def replay_command(path: Path) -> str:
    return f"ntkverify repro {shlex.quote(str(path))}"


# ---------------------------------------------------------------------------------------------------------
# Writing


def case_kernel(subject, case) -> torch.Tensor | None:
    """The kernel matrix of a case (CPU float64, or None): the subject's on a kernel case, else the case's own."""
    if not isinstance(case, Case):
        return None
    try:
        K = subject(case.X, case.depth) if subject is not None and isinstance(case, KernelCase) else case.kernel()
    except KernelError:
        return None
    return None if K is None else K.detach().to("cpu", torch.float64)


def _reference(subject, case) -> torch.Tensor:
    return subject.reference_kernel(case.X, subject.depth_for(case.depth)).cpu()


def _network_layers(case, figure: Figure) -> list[np.ndarray]:
    """Per hidden layer k of a network case: the eigenvalues of F_k F_kᵀ, or every quotient
    ‖f_k(x_i) − f_k(x_j)‖ / (Π_{l≤k} ‖W_l‖₂ ‖x_i − x_j‖) over the pairs of distinct rows (the Lipschitz bound's
    quotient, docs/statements.md#B7)."""
    model = case.model()
    F = [Fk.detach().cpu() for Fk in feature_matrices(model, case.X).F]
    if figure is Figure.FEATURE_SPECTRA:
        return [torch.linalg.eigvalsh(Fk @ Fk.T).numpy() for Fk in F[1:]]
    dx = torch.cdist(F[0], F[0])
    pairs = torch.triu(torch.ones_like(dx, dtype=torch.bool), diagonal=1) & (dx > 0)
    layers, product = [], 1.0
    for k in range(1, len(F)):
        product *= float(torch.linalg.matrix_norm(model.weights[k - 1].detach().cpu(), ord=2))
        layers.append((torch.cdist(F[k], F[k])[pairs] / (product * dx[pairs])).numpy())
    return layers


def case_figure(prop: Property, subject, case, K: torch.Tensor | None = None) -> plots.CaseFigure:
    """What to draw for ``case`` of ``prop``, as the property declares (:class:`Figure`): its kernel and, for
    an agreement check, the entrywise error over the allowance against the claim's reference kernel (Kᵀ for the
    symmetry check); for λ_min agreement the reference kernel; for a network case, its layers' quotients or
    feature spectra. Data that cannot be computed leave the spectrum of K (a plot never hides a report)."""
    from ntkverify.properties.catalogue import entry_budget

    figure = plots.CaseFigure(prop.figure, K=case_kernel(subject, case) if K is None else K)
    try:
        kernel_case = subject is not None and isinstance(case, KernelCase)
        if prop.figure in (Figure.ENTRYWISE, Figure.ASYMMETRY) and figure.K is not None and kernel_case:
            if prop.figure is Figure.ASYMMETRY:
                partner = figure.K.T
            elif subject.claim.has_reference:
                partner = _reference(subject, case)
            else:
                return figure
            figure.errors = plots.entry_errors(figure.K, partner, entry_budget(subject, case, partner))
        elif prop.figure is Figure.SPECTRA and subject is not None and isinstance(case, KernelCase):
            figure.reference = _reference(subject, case)
        elif prop.figure in (Figure.QUOTIENTS, Figure.FEATURE_SPECTRA):
            figure.layers = _network_layers(case, prop.figure)
    except Exception:  # a plot must never hide the report; the spectrum is drawn instead
        pass
    return figure


def _npz(arrays: dict[str, np.ndarray], K: torch.Tensor | None) -> bytes:
    arrays = dict(arrays)
    if K is not None and "K" not in arrays:
        arrays["K"] = K.detach().to("cpu", torch.float64).numpy()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _cell(value: float, fmt: str) -> str:
    """``fmt`` of a number; ``"r"`` is the shortest text that reads back to the same float64."""
    return repr(float(value)) if fmt == "r" else format(value, fmt)


def _table(rows: list[list[Any]], fmt: str) -> list[str]:
    """A matrix as a markdown table with row and column indices."""
    n = len(rows[0]) if rows else 0
    lines = ["| | " + " | ".join(str(j) for j in range(n)) + " |", "|---" * (n + 1) + "|"]
    for i, row in enumerate(rows):
        lines.append(f"| **{i}** | " + " | ".join(_cell(decode_number(v), fmt) for v in row) + " |")
    return lines


def _explanation_lines(e: dict[str, Any] | None, accuracy: dict[str, Any] | None, diagnosis: list[str]) -> list[str]:
    if e is None and accuracy is None and not diagnosis:
        return []
    lines = ["", "## What is wrong", ""]
    lines += [f"- diagnosis: {finding}" for finding in diagnosis]
    if e is not None:
        lines += [f"- worst entry: {e['in_words']}", f"- the claimed diagonal: {e['diagonal']}"]
    if accuracy is not None:
        parts = [
            f"{name.replace('_', '-')} {decode_number(accuracy[name]['relative_error']):.2g} "
            f"({decode_number(accuracy[name]['digits']):.1f} digits)"
            for name in ("off_diagonal", "diagonal", "lambda_min")
        ]
        lines.append(
            f"- accuracy profile (max relative errors on {accuracy['data_sets']} near-degenerate sets, "
            f"docs/accuracy.md#profile): " + ", ".join(parts)
        )
    if e is not None and e["K"] is not None:
        for title, key, fmt in (
            ("X (the data, one row per point)", "X", "r"),
            ("K (the kernel under test)", "K", ".12g"),
            ("K_ref (the reference)", "K_ref", ".12g"),
            ("|K − K_ref| / √(K_ref,ii K_ref,jj) (entrywise relative error)", "relative_error", ".2e"),
        ):
            lines += ["", f"### {title}", ""] + _table(e[key], fmt)
    return lines


def _verdict_lines(v: dict[str, Any], p: dict[str, Any], found: dict[str, Any]) -> list[str]:
    observed, bound = decode_number(v["observed"]), decode_number(v["bound"])
    if observed != observed and bound != bound:  # NaN: the check could not be evaluated on the case
        return ["", "## Verdict", "", f"- the check could not be evaluated on this case: {v['notes']}"]
    return [
        "",
        "## Verdict",
        "",
        f"- observed: {_fmt(observed)} vs bound {_fmt(bound)} ({v['side']} bound)",
        f"- normalised margin: {_fmt(decode_number(v['margin']))} (≥ 0 holds; the check fails when the slack is below "
        "−tolerance)",
        f"- tolerance used: {_fmt(decode_number(v['tolerance']))} — {p['tolerance_rule']}",
        f"- notes: {v['notes']}",
        f"- as found: observed {_fmt(decode_number(found['verdict']['observed']))}, "
        f"margin {_fmt(decode_number(found['verdict']['margin']))}",
    ]


def _applicable_steps(record: dict[str, Any]) -> set[str]:
    """Minimisation steps that can apply to the case: points and digits always; depth only where the kernel's
    claim leaves it free; widths only for cases with a network."""
    steps = {"points", "digits"}
    subject, case_type = record["subject"], record["case"].get("type")
    if case_type == "kernel" and (subject is None or subject["claim"]["depth"] is None):
        steps.add("depth")
    elif case_type == "network":
        steps |= {"depth", "widths"}
    return steps


def _minimisation_lines(record: dict[str, Any]) -> list[str]:
    m = record["minimisation"]
    lines = [
        "",
        "## Minimisation",
        "",
        "- Hypothesis shrinking: done by the runner (the case above started from its final example)",
    ]
    if m is None:
        return lines + ["- not minimised (the case is not an ntkverify.case.Case)"]
    applicable = _applicable_steps(record)
    for step in m["steps"]:
        if step["achieved"] or step["step"] in applicable:
            lines.append(f"- {step['step']}: {'achieved' if step['achieved'] else 'nothing to do'} — {step['detail']}")
    if m["n_after"] == 1:
        lines.append("- 1-minimal: yes (a single point)")
    else:
        one = {True: "yes (removing any single point makes the check pass)", False: "no", None: "not verified"}
        lines.append(
            f"- 1-minimal: {one[m['one_minimal']]}; {m['checks']} checks"
            + (" (check budget exhausted)" if m["exhausted"] else "")
        )
    return lines


def _markdown(record: dict[str, Any]) -> str:
    p, c = record["property"], record["case"]
    subject = record["subject"]
    lines = [
        f"# Counterexample: {record['label']}",
        "",
        f"**{record['status'].upper()}** ({p['kind']}) — found by {record['found_by']} on {record['created']}",
        "",
        "## Property",
        "",
        f"- statement: {p['statement']}",
        f"- citation: {p['citation']}",
        f"- kind: {p['kind']}",
        f"- tolerance rule: {p['tolerance_rule']}",
    ]
    lines += [f"- known limit: {limit}" for limit in p["limits"]]
    lines += ["", "## Kernel", ""]
    if subject is None:
        lines.append("- engine-level property: the check builds its kernels from the case")
    else:
        lines.append(f"- {subject['description']}" + (" (built-in)" if subject["builtin"] else ""))
        if subject["origin"]:
            lines.append(f"- loaded from `{subject['origin']}`")
    lines += ["", "## Case (after minimisation)", ""]
    lines += [f"- {k}: {val}" for k, val in c["description"].items() if val is not None]
    lines.append(f"- as found: `{record['found']['case']}`")
    lines += _verdict_lines(record["verdict"], p, record["found"])
    lines += _explanation_lines(record.get("explanation"), record.get("accuracy"), record.get("diagnosis", []))
    lines += _minimisation_lines(record)
    lines += ["", "## Files", ""]
    lines += [f"- `{name}`" for name in record["files"].values() if name]
    lines += ["", "## Replay", "", "```", record["replay"]["command"], "```", ""]
    if not record["replay"]["replayable"]:
        lines += [f"Not replayable: {record['replay']['reason']}", ""]
    return "\n".join(lines)


@dataclass
class WrittenReport:
    path: Path
    record: dict[str, Any]


def write_report(
    counterexample: Counterexample,
    root: str | Path,
    *,
    found_by: str = "ntkverify",
    minimise_case: bool = True,
    max_checks: int = 2000,
    accuracy: AccuracyProfile | None = None,
    diagnosis: list[str] | None = None,
) -> WrittenReport:
    """Minimise ``counterexample`` and write its report folder under ``root`` (created if needed).
    ``accuracy``: the kernel's accuracy profile, stored beside the verdict; ``diagnosis``: what the kernel
    computes instead of its claim (``ntkverify.properties.diagnosis``)."""
    prop, subject, case, verdict = (
        counterexample.property,
        counterexample.subject,
        counterexample.case,
        counterexample.verdict,
    )
    label = prop.name if subject is None else f"{prop.name}[{subject.name}]"
    encodable = isinstance(case, Case)
    minimised: Minimisation | None = None
    if encodable and minimise_case:
        minimised = minimise(prop, subject, case, verdict, max_checks=max_checks)
        case, verdict = minimised.case, minimised.verdict

    reason = None
    if not encodable:
        reason = f"the case type {type(case).__name__} is not an ntkverify.case.Case"
    elif subject is not None and BUILTIN_SUBJECTS.get(subject.name) is not subject and not subject.origin:
        reason = "the kernel was passed as a Python object without an origin (MODULE:CALLABLE)"
    with staged_folder(root, label) as (staging, final):
        files = {"markdown": FILES["markdown"], "json": FILES["json"], "case": None, "plot": FILES["plot"]}
        K = None
        case_sha256 = None
        if encodable:
            fields, arrays = case.encode()
            K = case_kernel(subject, case)
            npz = _npz(arrays, K)
            case_sha256 = sha256(npz)
            write_bytes_atomic(staging / FILES["case"], npz)
            files["case"] = FILES["case"]
            case_record = {
                **fields,
                "description": case.describe(),
                "repr": repr(case),
                "arrays": sorted(set(arrays) | ({"K"} if K is not None else set())),
            }
        else:
            case_record = {"type": None, "description": {"case": repr(case)}, "repr": repr(case), "arrays": []}
        title = f"{label}: observed {verdict.observed:.4g} vs bound {verdict.bound:.4g}"
        png = plots.case_plot(case_figure(prop, subject, case, K), verdict, title=title, note=verdict.notes)
        write_bytes_atomic(staging / FILES["plot"], png)
        status = "finding" if prop.kind is Kind.CONJ else "failed"
        record = {
            "schema": REPORT_SCHEMA,
            "schema_version": REPORT_SCHEMA_VERSION,
            "id": final.name,
            "created": utc_now().isoformat(timespec="seconds"),
            "label": label,
            "status": status,
            "found_by": found_by,
            "property": property_record(prop),
            "subject": subject_record(subject),
            "case": case_record,
            "verdict": verdict_record(verdict),
            "found": {"case": repr(counterexample.case), "verdict": verdict_record(counterexample.verdict)},
            "minimisation": None if minimised is None else minimised.as_dict(),
            "explanation": explain_case(subject, case),
            "accuracy": None if accuracy is None else accuracy.as_dict(),
            "diagnosis": list(diagnosis or []),
            "files": files,
            "case_sha256": case_sha256,
            "replay": {"command": replay_command(final.resolve()), "replayable": reason is None, "reason": reason},
            "environment": environment(),
        }
        write_text_atomic(staging / FILES["json"], dumps(record))
        write_text_atomic(staging / FILES["markdown"], _markdown(record))
    append_index(
        root,
        {
            "id": final.name,
            "path": final.name,
            "label": label,
            "property": prop.name,
            "subject": None if subject is None else subject.name,
            "kind": prop.kind.value,
            "status": status,
            "margin": encode_number(verdict.margin),
            "created": record["created"],
            "found_by": found_by,
        },
    )
    return WrittenReport(final, record)


def write_result_report(result: PropertyResult, root: str | Path, **kw) -> WrittenReport | None:
    """The report of a failed or finding result (``None`` when it has no counterexample)."""
    if result.counterexample is None:
        return None
    return write_report(result.counterexample, root, **kw)


def default_root(kind: str) -> Path:
    return Path("ntk-reports") / f"{kind}-{timestamp()}"


# ---------------------------------------------------------------------------------------------------------
# Replay


@dataclass
class Replay:
    path: Path
    record: dict[str, Any]
    verdict: Verdict
    kernel_change: str | None = None  # how the kernel source differs from the recorded one (allowed changes)

    @property
    def fails(self) -> bool:
        return not self.verdict.holds

    @property
    def identical(self) -> bool:
        """The replayed verdict equals the stored one (observed, bound and margin, NaN = NaN)."""
        stored = verdict_from_record(self.record["verdict"])
        same = [
            (a == b) or (a != a and b != b)
            for a, b in (
                (stored.observed, self.verdict.observed),
                (stored.bound, self.verdict.bound),
                (stored.margin, self.verdict.margin),
            )
        ]
        return all(same) and stored.holds == self.verdict.holds


def read_record(json_path: Path) -> dict[str, Any]:
    """A ``report.json`` that is valid JSON, of this schema and version, and follows the schema."""
    return read_document(
        json_path, "counterexample", schema=REPORT_SCHEMA, version=READ_VERSIONS, what=str(json_path),
        error=ReplayError,
    )  # fmt: skip


def read_case_arrays(npz_path: Path, record: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of ``case.npz``, refused when its SHA-256 differs from the recorded one, when it is not an
    archive of the recorded float64 arrays, or when its data are not finite."""
    try:
        data = npz_path.read_bytes()
    except OSError as exc:
        raise ReplayError(f"cannot read {npz_path}: {exc.strerror or exc}") from None
    if sha256(data) != record["case_sha256"]:
        raise ReplayError(
            f"{npz_path} changed since the report was written (sha256 {record['case_sha256'][:12]}… recorded, "
            f"now {sha256(data)[:12]}…)"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ReplayError(f"{npz_path} is not a readable .npz archive of arrays ({type(exc).__name__})") from None
    if sorted(arrays) != sorted(record["case"]["arrays"]):
        raise ReplayError(f"{npz_path} holds {sorted(arrays)}, the report lists {record['case']['arrays']}")
    for name, a in arrays.items():
        if a.dtype != np.float64:
            raise ReplayError(f"{npz_path}: array {name} has dtype {a.dtype}, expected float64")
    if "X" in arrays and not np.isfinite(arrays["X"]).all():
        raise ReplayError(f"{npz_path}: the data X have non-finite entries")
    return arrays


#: Version 2's case types (the old report adapters) and the case types they are now.
V2_CASE_TYPES = {
    "dataset": "points",
    "kernel-case": "kernel",
    "bound-case": "kernel",
    "network-case": "network",
    "network-seed-case": "network",
    "empirical-case": "weights",
}


def upgrade_case_record(
    fields: dict[str, Any], arrays: dict[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A version-2 case record as a version-3 one. Version 2 stored the law as its repr: a bare family name
    (``sphere``) names a law with its default parameters; a repr with parameters is not parsed back, and the
    points, stored bit for bit, replay as explicit points (the law was provenance only)."""
    fields = dict(fields)
    fields["type"] = V2_CASE_TYPES.get(fields["type"], fields["type"])
    name = fields.pop("distribution", None)
    known = name in DISTRIBUTIONS or name in ADVERSARIAL
    fields["law"] = {"family": name, "parameters": {}} if known else None
    fields.setdefault("weight_seed", None)
    if fields["type"] == "weights":  # version 2 kept the kernel under test as K
        arrays = {**arrays, "K_under_test": arrays["K"]}
    return fields, arrays


def load_report(
    path: str | Path, *, allow_changed_kernel: bool = False
) -> tuple[dict[str, Any], Property, Subject | None, Any]:
    """``(record, property, subject, case)`` of a report folder (or its report.json), checked as the module
    docstring says; a changed kernel source is refused unless ``allow_changed_kernel``."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    json_path = folder / FILES["json"]
    if not json_path.is_file():
        raise ReplayError(f"no {FILES['json']} in {folder}")
    record = read_record(json_path)
    if not record["replay"]["replayable"]:
        raise ReplayError(f"report is not replayable: {record['replay']['reason']}")
    if record["subject"] is not None and not allow_changed_kernel:
        change = kernel_change(record["subject"])
        if change:
            raise ReplayError(f"{change}; pass --allow-changed-kernel to replay the kernel as it is now")
    try:
        prop = get_property(record["property"]["name"])
    except KeyError:
        raise ReplayError(f"no registered property {record['property']['name']!r}") from None
    try:
        subject = load_subject(record["subject"])
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise ReplayError(f"the kernel of {json_path} cannot be rebuilt: {exc}") from None
    arrays = read_case_arrays(folder / FILES["case"], record)
    fields = {k: v for k, v in record["case"].items() if k not in ("description", "repr", "arrays")}
    if record["schema_version"] == 2:
        fields, arrays = upgrade_case_record(fields, arrays)
    try:
        case = Case.decode(fields, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplayError(f"the case of {json_path} cannot be rebuilt: {type(exc).__name__}: {exc}") from None
    return record, prop, subject, case


def replay(path: str | Path, *, allow_changed_kernel: bool = False) -> Replay:
    """Rerun a report's check on its stored case (on the CPU: the case is rebuilt from CPU float64 arrays)."""
    record, prop, subject, case = load_report(path, allow_changed_kernel=allow_changed_kernel)
    change = None if record["subject"] is None else kernel_change(record["subject"])
    return Replay(Path(path), record, prop.check(subject, case), change)


def main_repro(path: str, stream=None, *, allow_changed_kernel: bool = False) -> int:
    """``ntkverify repro PATH``: 1 while the failure persists, 0 once fixed; a report that cannot be replayed
    raises :class:`ReplayError` (exit 2 under :func:`ntkverify.reports.exits.run_command`)."""
    from ntkverify.properties.verify import UsageError

    stream = stream or sys.stdout
    try:
        outcome = replay(path, allow_changed_kernel=allow_changed_kernel)
    except (ReplayError, UsageError) as exc:
        raise ReplayError(f"cannot replay {path}: {exc}") from None
    v, stored = outcome.verdict, outcome.record["verdict"]
    if outcome.fails:
        state = "FAILS (still reproduces)"
    elif outcome.kernel_change:
        state = "PASSES (fixed: the kernel source differs from the recorded one)"
    else:
        state = "PASSES (no longer reproduces, with the recorded kernel source unchanged)"
    print(f"{outcome.record['label']}: {state}", file=stream)
    if outcome.kernel_change:
        print(f"  {outcome.kernel_change}", file=stream)
    print(
        f"  observed {v.observed:.6g} vs bound {v.bound:.6g} ({v.side}), tolerance {v.tolerance:.3g}, "
        f"margin {v.margin:.3g}",
        file=stream,
    )
    if outcome.fails:
        same = "bit-for-bit identical to" if outcome.identical else "different from"
        print(
            f"  replayed verdict is {same} the stored one (observed {stored['observed']}, margin {stored['margin']})",
            file=stream,
        )
    if v.notes:
        print(f"  {v.notes}", file=stream)
    return 1 if outcome.fails else 0
