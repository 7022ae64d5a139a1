"""ntkverify and JAX neural-tangents side by side: one command, one table (``tox -e bench-peers``).

    python -m benchmarks.peers --out bench-results/peers [--rounds 5] [--smoke]

Design. Every workload of :mod:`benchmarks.workloads` runs on each side in a fresh process
(:mod:`benchmarks.side_ntkverify`, :mod:`benchmarks.side_neural_tangents`), so neither side's libraries,
threads or allocator state touch the other's figures. First, each side computes every workload once and the
results are compared (:func:`compare`); a disagreement stops the run before any timing (exit 1). Then
``--rounds`` rounds: in each, every workload runs on both sides back to back, the side that goes first
alternating from round to round, so that a slow stretch of a shared machine falls on both sides alike. Within
a process, one warm-up call (JIT compilation for JAX) precedes the timed calls and the process reports their
median; the table gives the median over rounds of those medians (and their range), each side's peak RSS
(:mod:`benchmarks.measure`), the ratio neural-tangents / ntkverify, the machine and the load average before
and after. From the peaks it fits ``a N² + c`` and states the largest N that fits in 24 GiB of RAM and, for the
N² part alone, in one 139 GiB GPU (on paper: the GPU side is not measured here).

Writes ``peers.md`` and ``peers.json`` to ``--out``. Exit codes: 0 table written; 1 the two sides disagree;
2 usage error; 3 environment failure (neural-tangents not installed, a worker crashed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import measure, tables
from benchmarks import workloads as wl
from benchmarks.workloads import Workload
from ntkverify import tolerances
from ntkverify.architecture import Architecture
from ntkverify.empirical import agreement_tolerance

ROOT = Path(__file__).resolve().parent.parent
SIDES = {"ntkverify": "benchmarks.side_ntkverify", "neural-tangents": "benchmarks.side_neural_tangents"}
PEER = "neural-tangents"
RAM_BUDGET = 24 * measure.GIB  # the project's machines
GPU_BUDGET = 139 * measure.GIB  # one NVIDIA H200
WORKER_TIMEOUT_S = 1800
PEER_METHODS = {
    ("analytic", "bias-free"): "stax kernel_fn, jit",
    ("analytic", "biased"): "stax kernel_fn, jit",
    ("empirical", "fast"): "structured derivatives, jit",
    ("empirical", "jacobian"): "Jacobian contraction, jit",
    ("lambda_min", "cholesky"): "jnp.linalg.eigvalsh, jit",
    ("lambda_min", "eigvalsh"): "jnp.linalg.eigvalsh, jit",
}
NTKVERIFY_METHODS = {
    ("analytic", "bias-free"): "limiting_ntk",
    ("analytic", "biased"): "standard_ntk, σ_b = 0.1",
    ("empirical", "fast"): "layer-wise Gram products",
    ("empirical", "jacobian"): "torch.func Jacobian contraction",
    ("lambda_min", "cholesky"): f"Cholesky certificate λ_min ≥ {wl.THRESHOLD:g}",
    ("lambda_min", "eigvalsh"): "certified eigvalsh",
}


class WorkerFailed(RuntimeError):
    """A worker process exited with an error (an environment or internal failure)."""


def run_side(side: str, workload: Workload, save: Path | None = None) -> dict:
    """Run one workload in a fresh process of ``side``; return its JSON record."""
    command = [sys.executable, "-m", SIDES[side], workload.to_json()] + (["--save", str(save)] if save else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}  # TensorFlow's import chatter
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, env=env)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise WorkerFailed(f"{side} failed on {workload.name} (exit {done.returncode}): {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------------------
# agreement


def _analytic_entry_error(w: Workload, both_arccos: bool) -> float:
    """Entrywise bound on |K_ntkverify − K_peer| for the analytic kernels, in the units of the compared matrix.

    Both errors come from :func:`ntkverify.tolerances.limiting_entry_error`. neural-tangents takes arccos of
    correlations, the diagonal included (ρ = 1), so its side is the √u regime with ρ̄ = 1; ntkverify's bias-free
    ReLU path is the stable one, its biased path the √u regime too (``both_arccos``). The scale bounds every
    |G⁽ˡ⁾_ij|: max‖x‖² in the seed normalisation; in the standard one with σ_w = 1 every Σ⁽ˡ⁾_ii =
    Σ⁽ˡ⁻¹⁾_ii/2 + σ_b² stays below max(σ_w² max‖x‖²/d + σ_b², 2σ_b²) and every factor σ_w² E[σ'σ'] lies in
    [0, 1/2], so the seed derivation holds with that scale. The rescaling by a constant (one rounding) is
    absorbed by the factor 10 of ε_ρ.
    """
    sq = float((wl.gaussian_data(w.n) ** 2).sum(1).max()) if w.family == "analytic" else float(wl.D)
    if w.method == "biased":
        sq = max(wl.SIGMA_W**2 * sq / wl.D + wl.SIGMA_B**2, 2 * wl.SIGMA_B**2)
    peer = tolerances.limiting_entry_error(wl.D, wl.DEPTH, sq, rho_bar=1.0)
    own = tolerances.limiting_entry_error(wl.D, wl.DEPTH, sq, rho_bar=1.0 if both_arccos else None)
    return peer + own


def compare(w: Workload, ours: np.ndarray, peer: np.ndarray) -> dict:
    """Check that both sides computed the same quantity; returns the relation, the largest difference and its
    derived tolerance. A difference above the tolerance is a disagreement (``agree`` false)."""
    if w.family == "analytic":
        if w.method == "bias-free":
            relation = "Θ⁽ᴸ⁾ = (σ_w²/d)(σ_w²/2)^{L−1} K⁽ᴸ⁾"
            peer = peer / wl.standard_from_seed()
        else:
            relation = "the same Θ⁽ᴸ⁾ (standard parameterisation, σ_w = 1, σ_b = 0.1)"
        diff, tol = float(np.abs(ours - peer).max()), _analytic_entry_error(w, w.method == "biased")
    elif w.family == "empirical":
        relation = "the same J Jᵀ (same weights and biases)"
        arch = Architecture(wl.D, w.widths, sigma_w=wl.SIGMA_W, sigma_b=wl.SIGMA_B, parameterization="ntk")
        kernels = tuple(map(_torch, (ours, peer)))
        diff = float(np.abs(ours - peer).max())
        # neural-tangents contracts per-parameter Jacobian blocks: the "jacobian" budget of entry_error bounds it
        tol = agreement_tolerance(arch, ("layerwise" if w.method == "fast" else "jacobian", "jacobian"), kernels)
    else:
        relation, diff, tol = _compare_lambda(w, ours, float(peer[0]))
    return {"workload": w.name, "relation": relation, "max_abs_diff": diff, "tolerance": tol, "agree": diff <= tol}


def _torch(array: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))


def _compare_lambda(w: Workload, ours: np.ndarray, peer_lambda: float) -> tuple[str, float, float]:
    """λ_min of two matrices formed by the two libraries: |Δλ| ≤ ntkverify's certified error + the peer's
    backward error (:func:`ntkverify.tolerances.eig_backward_error`, ‖K‖₂ ≤ N max K_ii = N L d on the sphere of
    radius √d) + Weyl on the entry differences (:func:`ntkverify.tolerances.perturbation_norm`)."""
    entry = _analytic_entry_error(w, both_arccos=False)
    peer_error = tolerances.eig_backward_error(w.n, w.n * wl.DEPTH * wl.D)
    weyl = tolerances.perturbation_norm(w.n, entry)
    if w.method == "eigvalsh":
        value, error = ours
        return "the same λ_min", abs(value - peer_lambda), error + peer_error + weyl
    holds, lower = ours
    relation = f"certificate λ_min ≥ {wl.THRESHOLD:g} holds and its lower bound ≤ the peer's λ_min"
    if holds != 1.0 or peer_lambda + peer_error + weyl < wl.THRESHOLD:
        return relation, math.inf, 0.0
    return relation, max(lower - peer_lambda, 0.0), peer_error + weyl


def check(workloads: list[Workload], scratch: Path) -> list[dict]:
    records = []
    for k, w in enumerate(workloads):
        paths = {side: scratch / f"{k}-{side}.npy" for side in SIDES}
        for side, path in paths.items():
            run_side(side, w, save=path)
        records.append(compare(w, np.load(paths["ntkverify"]), np.load(paths[PEER])))
        for path in paths.values():
            path.unlink()
    return records


# ----------------------------------------------------------------------------------------------------------
# timing


def time_rounds(workloads: list[Workload], rounds: int, after_round) -> dict[str, dict[str, list[dict]]]:
    """``rounds`` alternating rounds; returns, per workload name and side, the records of its processes.
    ``after_round(runs, done)`` is called after each round (the table is written then, so a run stopped
    early leaves the rounds it finished)."""
    runs = {w.name: {side: [] for side in SIDES} for w in workloads}
    for r in range(rounds):
        order = list(SIDES) if r % 2 == 0 else list(SIDES)[::-1]
        for w in workloads:
            for side in order:
                runs[w.name][side].append(run_side(side, w))
        after_round(runs, r + 1)
    return runs


def summarise(records: list[dict]) -> dict:
    medians = [r["median_s"] for r in records]
    workload_peaks = [r["workload_peak_bytes"] for r in records if r["workload_peak_bytes"] is not None]
    return {
        "median_s": statistics.median(medians),
        "range_s": [min(medians), max(medians)],
        "process_peak_bytes": max(r["process_peak_bytes"] for r in records),
        "workload_peak_bytes": max(workload_peaks) if workload_peaks else None,
        "environment": records[0]["environment"],
    }


def scale_limits(rows: list[dict]) -> list[dict]:
    """Fit ``process peak ≈ a N² + c`` per ntkverify workload over its sizes and state the largest N that fits
    in :data:`RAM_BUDGET` (all of it) and in :data:`GPU_BUDGET` (the N² part only: the libraries and the
    CUDA context live elsewhere, the fixed-size tiles are a few GiB at most)."""
    limits = []
    for (family, method), label in NTKVERIFY_METHODS.items():
        key = (family, method)
        if family == "empirical":  # its size is (N, width): no single N to fit
            continue
        points = [(r["n"], r["ntkverify"]["process_peak_bytes"]) for r in rows if (r["family"], r["method"]) == key]
        fit = measure.fit_quadratic(points)
        if fit is None:
            continue
        a, c = fit
        limits.append({
            "workload": f"{family} {method}: {label}",
            "bytes_per_n2": a,
            "constant_bytes": c,
            "largest_n_ram": measure.largest_n(a, c, RAM_BUDGET),
            "largest_n_gpu": measure.largest_n(a, 0.0, GPU_BUDGET),
        })
    return limits


# ----------------------------------------------------------------------------------------------------------
# the table


def _peak(summary: dict) -> str:
    return f"{measure.gib(summary['process_peak_bytes'])} ({measure.gib(summary['workload_peak_bytes'])})"


def render(record: dict) -> str:
    m, env = record["machine"], record["environments"]
    ours, peer = env["ntkverify"], env[PEER]
    lines = [
        "# ntkverify and neural-tangents, side by side",
        "",
        f"Measured with `python -m benchmarks.peers` (`tox -e bench-peers`) on {measure.describe_machine(m)}.",
        f"Load average (1, 5, 15 min) before: {m['load_average']}, after: {record['load_average_after']}.",
        f"ntkverify {ours['ntkverify']}, torch {ours['torch']} ({ours['threads']} threads), numpy {ours['numpy']}; "
        f"neural-tangents {peer['neural-tangents']}, jax {peer['jax']}, jaxlib {peer['jaxlib']}, "
        f"tensorflow {peer['tensorflow']}, numpy {peer['numpy']}, scipy {peer['scipy']}, x64 {peer['x64']}.",
        f"float64 on the CPU; d = {wl.D}, three hidden ReLU layers (L = {wl.DEPTH}), σ_w = {wl.SIGMA_W:g}. "
        f"Each time is the median over {record['rounds']} rounds (of {record['rounds_planned']} planned) of "
        "separate processes (the two sides "
        "alternating) of the per-process median after one warm-up call; the range over rounds is in brackets. "
        "Peak RSS: the process's high-water mark (in brackets: the workload's own peak above the memory held "
        "before it).",
        "",
    ]
    body = []
    for r in record["rows"]:
        a, b = r["ntkverify"], r[PEER]
        body.append([
            r["workload"],
            r["ntkverify_method"],
            f"{measure.seconds(a['median_s'])} [{measure.seconds(a['range_s'][0])}–{measure.seconds(a['range_s'][1])}]",
            r["peer_method"],
            f"{measure.seconds(b['median_s'])} [{measure.seconds(b['range_s'][0])}–{measure.seconds(b['range_s'][1])}]",
            f"{b['median_s'] / a['median_s']:.2f}×",
            _peak(a),
            _peak(b),
        ])
    lines.append(tables.markdown_table(
        ["workload", "ntkverify", "time", "neural-tangents", "time", "ratio nt / ntkverify", "peak RSS ntkverify",
         "peak RSS neural-tangents"],
        body,
    ))
    lines += ["", "Agreement, checked before timing (largest entrywise or eigenvalue difference and its derived "
              "tolerance):", ""]
    lines.append(tables.markdown_table(
        ["workload", "relation", "max \\|Δ\\|", "tolerance"],
        [[c["workload"], c["relation"], f"{c['max_abs_diff']:.2e}", f"{c['tolerance']:.2e}"] for c in record["checks"]],
    ))
    if record["scale_limits"]:
        lines += ["", "Scale limits on paper, from the measured process peaks fitted by a N² + c (ntkverify):", ""]
        lines.append(tables.markdown_table(
            ["workload", "bytes per N²", "constant", "largest N in 24 GiB RAM", "largest N in 139 GiB GPU (N² part)"],
            [[s["workload"], f"{s['bytes_per_n2']:.1f}", measure.gib(s["constant_bytes"]), s["largest_n_ram"],
              s["largest_n_gpu"]] for s in record["scale_limits"]],
        ))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for peers.md and peers.json")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of processes (default 5)")
    parser.add_argument("--smoke", action="store_true", help="tiny workloads, to check the machinery quickly")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if importlib.util.find_spec("neural_tangents") is None:
        print("error: neural-tangents is not installed in this environment; run `tox -e bench-peers`", file=sys.stderr)
        return 3
    workloads = wl.smoke_workloads() if args.smoke else wl.table_workloads()
    progress = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    start = measure.machine()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            checks = check(workloads, Path(scratch))
        bad = [c for c in checks if not c["agree"]]
        if bad:
            for c in bad:
                print(f"disagreement: {c['workload']}: |Δ| = {c['max_abs_diff']:.3g} > {c['tolerance']:.3g}",
                      file=sys.stderr)
            return 1
        progress("agreement checked")

        def after_round(runs, done):
            record = build_record(workloads, runs, checks, start, done, args.rounds)
            json_path, md_path = tables.write(args.out, "peers", record, render(record))
            progress(f"round {done}/{args.rounds} done: wrote {md_path} and {json_path}")

        time_rounds(workloads, args.rounds, after_round)
    except (WorkerFailed, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


def build_record(workloads, runs, checks, start: dict, done: int, planned: int) -> dict:
    """The table's record after ``done`` of ``planned`` rounds."""
    rows = []
    for w in workloads:
        key = (w.family, w.method)
        summaries = {side: summarise(runs[w.name][side]) for side in SIDES}
        rows.append({"workload": w.name, "family": w.family, "method": w.method, "n": w.n, "width": w.width,
                     "ntkverify_method": NTKVERIFY_METHODS[key], "peer_method": PEER_METHODS[key], **summaries})
    return {
        "schema": "ntkverify-bench-peers/1",
        "machine": start,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "rounds": done,
        "rounds_planned": planned,
        "environments": {side: rows[0][side]["environment"] for side in SIDES},
        "rows": rows,
        "checks": checks,
        "scale_limits": scale_limits(rows),
        "raw": runs,
    }


if __name__ == "__main__":
    sys.exit(main())
