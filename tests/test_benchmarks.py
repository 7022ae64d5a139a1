"""The benchmark scripts: the peer table's agreement check can fail, its rounds alternate, its scale fit is
exact on exact data, the ntkverify worker runs end to end, and the GPU script runs end to end on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import measure, peers
from benchmarks import workloads as wl
from benchmarks.side_ntkverify import network
from ntkverify import spectra
from ntkverify.analytic import limiting_ntk, standard_ntk
from ntkverify.empirical import empirical_ntk

ROOT = Path(__file__).resolve().parent.parent


def _standard(w: wl.Workload, depth: int = wl.DEPTH) -> np.ndarray:
    """neural-tangents' analytic kernel, stood in for by ntkverify's standard parameterisation (the same Θ)."""
    sigma_b = wl.SIGMA_B if w.method == "biased" else 0.0
    return standard_ntk(torch.from_numpy(wl.gaussian_data(w.n)), depth, sigma_w=wl.SIGMA_W, sigma_b=sigma_b).numpy()


@pytest.mark.parametrize("method", ["bias-free", "biased"])
def test_analytic_agreement_holds_for_the_same_kernel_and_fails_for_a_planted_one(method):
    w = wl.Workload("analytic", method, 30)
    X = torch.from_numpy(wl.gaussian_data(w.n))
    ours = limiting_ntk(X, wl.DEPTH).numpy() if method == "bias-free" else _standard(w)
    assert peers.compare(w, ours, _standard(w))["agree"]
    # planted: one layer short (an off-by-one depth), and the same kernel with its diagonal 1 % too large
    assert not peers.compare(w, ours, _standard(w, wl.DEPTH - 1))["agree"]
    assert not peers.compare(w, ours, _standard(w) * (1 + 0.01 * np.eye(w.n)))["agree"]


def test_empirical_agreement_holds_across_methods_and_fails_for_another_network():
    w = wl.Workload("empirical", "fast", 12, 16)
    model, X = network(w), torch.from_numpy(wl.gaussian_data(w.n))
    ours, jac = empirical_ntk(model, X).numpy(), empirical_ntk(model, X, "jacobian").numpy()
    assert peers.compare(w, ours, jac)["agree"]
    other = network(wl.Workload("empirical", "fast", 12, 17))  # planted: a different width, other weights
    assert not peers.compare(w, ours, empirical_ntk(other, X).numpy())["agree"]


def test_lambda_min_agreement_holds_for_eigvalsh_and_fails_for_a_shifted_value():
    w = wl.Workload("lambda_min", "eigvalsh", 40)
    K = limiting_ntk(torch.from_numpy(wl.sphere_data(w.n)), wl.DEPTH)
    lam = spectra.lambda_min(K, method="dense")
    ours, exact = np.array([lam.value, lam.error]), np.array([float(torch.linalg.eigvalsh(K)[0])])
    assert peers.compare(w, ours, exact)["agree"]
    assert not peers.compare(w, ours, exact * 1.001)["agree"]
    cert = spectra.certify_lambda_min_ge(K, wl.THRESHOLD)
    w = wl.Workload("lambda_min", "cholesky", 40)
    assert peers.compare(w, np.array([1.0, cert.lower]), exact)["agree"]
    assert not peers.compare(w, np.array([0.0, np.nan]), exact)["agree"]  # a certificate that did not hold


def test_rounds_alternate_which_side_goes_first_and_summaries_take_medians(monkeypatch):
    calls = []
    environments = {
        "ntkverify": {"ntkverify": "0", "torch": "0", "numpy": "0", "threads": 2},
        peers.PEER: {"neural-tangents": "0", "jax": "0", "jaxlib": "0", "tensorflow": "0", "numpy": "0", "scipy": "0",
                     "x64": True},
    }

    def fake(side, workload, save=None):
        calls.append(side)
        t = {"ntkverify": 1.0, peers.PEER: 3.0}[side] + len(calls) / 100
        return {"median_s": t, "workload_peak_bytes": 10, "process_peak_bytes": len(calls),
                "environment": environments[side]}

    monkeypatch.setattr(peers, "run_side", fake)
    work = [wl.Workload("analytic", "bias-free", 10)]
    rounds_seen = []
    runs = peers.time_rounds(work, 3, after_round=lambda runs, done: rounds_seen.append(done))
    assert rounds_seen == [1, 2, 3]
    assert calls == ["ntkverify", peers.PEER, peers.PEER, "ntkverify", "ntkverify", peers.PEER]
    summary = peers.summarise(runs[work[0].name]["ntkverify"])
    assert summary["median_s"] == pytest.approx(1.04) and summary["range_s"] == pytest.approx([1.01, 1.05])
    assert summary["process_peak_bytes"] == 5
    record = peers.build_record(work, runs, [], measure.machine(), 3, 3)
    table = peers.render(record)
    assert "| analytic bias-free (N=10) | limiting_ntk | 1.04 s [1.01 s–1.05 s] |" in table and "| 2.91× |" in table


def test_scale_fit_is_exact_on_exact_quadratic_memory():
    a, c = 24.0, 3e8
    fit = measure.fit_quadratic([(n, a * n * n + c) for n in (1000, 4000, 8000)])
    assert fit == pytest.approx((a, c))
    n = measure.largest_n(a, c, 24 * measure.GIB)
    assert a * n * n + c <= 24 * measure.GIB < a * (n + 1) ** 2 + c
    assert measure.fit_quadratic([(1000, 1.0), (1000, 2.0)]) is None


def test_peer_table_needs_neural_tangents(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(peers.importlib.util, "find_spec", lambda name: None)
    assert peers.main(["--out", str(tmp_path)]) == 3
    assert "tox -e bench-peers" in capsys.readouterr().err


def test_ntkverify_worker_runs_one_workload_end_to_end():
    w = wl.Workload("analytic", "biased", 20, repeats=2)
    done = subprocess.run([sys.executable, "-m", "benchmarks.side_ntkverify", w.to_json()], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["side"] == "ntkverify" and len(record["times_s"]) == 2
    assert record["process_peak_bytes"] > 0 and record["environment"]["torch"] == torch.__version__


def test_gpu_script_runs_end_to_end_on_the_cpu_with_smoke_sizes(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu", str(tmp_path), "--smoke"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((tmp_path / "gpu.json").read_text())
    assert record["complete"] and record["mode"] == "smoke"
    ran = {(r["step"], r["dtype"]) for r in record["rows"] if r["status"] == "ran"}
    assert ("analytic NTK (limiting_ntk)", "float64") in ran and len(ran) >= 4
    assert all(r["status"] in ("ran", "not available") for r in record["rows"])
    assert record["study"].get("status") == "not available" or record["study"]["exit_code"] in (0, 1)
    assert record["cuda_tests"]["exit_code"] == 0
    assert "| step | dtype | N |" in (tmp_path / "gpu.md").read_text()


def test_gpu_rows_past_the_time_budget_are_skipped_and_failures_recorded(tmp_path):
    from benchmarks.gpu import Bench

    bench = Bench(tmp_path, torch.device("cpu"), smoke=True, time_budget_s=0.0)
    bench.row("late", "float64", 8, lambda: pytest.fail("a row past the budget must not run"))
    bench.deadline = float("inf")
    bench.row("broken", "float64", 8, lambda: 1 / 0)
    assert [r["status"] for r in bench.record["rows"]] == ["skipped", "failed"] and bench.failed
    assert "ZeroDivisionError" in json.loads((tmp_path / "gpu.json").read_text())["rows"][1]["result"]
