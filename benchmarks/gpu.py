"""The GPU benchmark: one script, one short device window (about ten minutes on an NVIDIA H200), one table.

    python -m benchmarks.gpu OUT_DIR                  # on a CUDA machine: the full sizes
    python -m benchmarks.gpu OUT_DIR --smoke          # anywhere, tiny sizes: checks the script end to end

Steps, in order (each is timed after one warm-up call, with ``torch.cuda.synchronize``):

1. the limiting NTK (:func:`ntkverify.analytic.limiting_ntk`) of N = 8192, 16384, 32768 Gaussian points,
   d = 100, three hidden ReLU layers, in float64 and in float32 (a float32 row says "not available" when the
   engine returns float64 for float32 data);
2. certified λ_min of the float64 kernel of sphere data at the same sizes: the Cholesky certificate
   λ_min ≥ 1 (:func:`ntkverify.spectra.certify_lambda_min_ge`) and the certified value
   (:func:`ntkverify.spectra.lambda_min`, which is iterative above its threshold);
3. the layer-wise empirical NTK at N = 4096, width 4096 (σ_w = 1, σ_b = 0.1, standard parameterisation);
4. the ``lambda-min-scaling`` study at GPU sizes, when ``ntkverify.studies`` is importable ("not available"
   otherwise);
5. the CUDA tests, ``pytest -m gpu``.

Steps 1–4 share ``--time-budget`` (default 420 s): rows past it are recorded as skipped, so the script ends
within the window whatever the device. Memory: ``torch.cuda.max_memory_allocated`` over the warm-up call on
a GPU (inputs held by the step included), the workload's peak RSS on the CPU. From every row measured at
several sizes it fits ``a N² + c`` and states the largest N that fits in the device's memory. ``gpu.md``
and ``gpu.json`` are rewritten after every step, so a window that closes early still leaves the finished rows.
Exit codes: 0 every step ran and the CUDA tests passed; 1 a CUDA test failed; 2 usage error; 3 no CUDA device
for the full sizes, or a step failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks import measure, tables
from benchmarks import workloads as wl
from benchmarks.side_ntkverify import network
from ntkverify import spectra
from ntkverify.analytic import limiting_ntk
from ntkverify.empirical import empirical_ntk

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"full": (8192, 16384, 32768), "smoke": (48, 96, 192)}
EMPIRICAL = {"full": wl.Workload("empirical", "fast", 4096, 4096), "smoke": wl.Workload("empirical", "fast", 32, 16)}
REPEATS = {"analytic": 3, "lambda_min": 2, "empirical": 3}
STUDY_BUDGET_MINUTES = {"full": 3, "smoke": 0.5}
CLI = "import sys; from ntkverify.shell.cli import main; sys.exit(main())"


class Bench:
    """Runs the steps on one device and keeps the record that the table is rendered from."""

    def __init__(self, out: Path, device: torch.device, smoke: bool, time_budget_s: float):
        self.out, self.device, self.mode = out, device, "smoke" if smoke else "full"
        self.deadline = time.monotonic() + time_budget_s
        self.record = {
            "schema": "ntkverify-bench-gpu/1",
            "mode": self.mode,
            "machine": machine(device),
            "rows": [],
            "study": None,
            "cuda_tests": None,
            "scale_limits": [],
            "complete": False,
        }
        self.failed = False

    # -- measuring ---------------------------------------------------------------------------------------

    def _sync(self, result=None):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return result

    def time(self, call: Callable[[], object], repeats: int) -> tuple[dict, object]:
        """Warm up, then time ``repeats`` calls; returns the figures and the warm-up call's result. Memory is
        that of the warm-up call: ``max_memory_allocated`` on CUDA (what is held when the call starts, the
        step's inputs, included), the workload's peak RSS on the CPU (:func:`benchmarks.measure.first_call`)."""
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            first = self._sync(call())
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            first, memory = measure.first_call(call)
            peak = memory["workload_peak_bytes"]
        return {**measure.time_calls(call, repeats, self._sync), "peak_bytes": peak}, first

    def row(self, step: str, dtype: str, n: int, run: Callable[[], tuple[dict, str]]) -> None:
        """Run one row; an exception is recorded in the row (and makes the exit code 3), not raised. Past the
        time budget the row is recorded as skipped."""
        skipped = "skipped: the time budget was spent"
        row = {"step": step, "dtype": dtype, "n": n, "status": "skipped", "result": skipped}
        try:
            if time.monotonic() <= self.deadline:
                figures, result = run()
                row = {**row, "status": "ran", "result": result, **figures}
        except NotAvailable as exc:
            row = {**row, "status": "not available", "result": f"not available: {exc}"}
        except Exception as exc:  # noqa: BLE001 - an out-of-memory or a solver failure is a finding of the run
            self.failed = True
            first = (str(exc).strip().splitlines() or [""])[0]
            row = {**row, "status": "failed", "result": f"{type(exc).__name__}: {first}"}
            traceback.print_exc()
        finally:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        self.record["rows"].append(row)
        self.write()

    # -- steps -------------------------------------------------------------------------------------------

    def analytic(self) -> None:
        for n in SIZES[self.mode]:
            X = torch.from_numpy(wl.gaussian_data(n)).to(self.device)
            for dtype in (torch.float64, torch.float32):
                self.row("analytic NTK (limiting_ntk)", str(dtype).removeprefix("torch."), n,
                         lambda X=X, dtype=dtype: self._analytic(X.to(dtype)))
            del X

    def _analytic(self, X: torch.Tensor) -> tuple[dict, str]:
        probe = limiting_ntk(X[:2], wl.DEPTH, device=self.device).dtype
        if probe != X.dtype:
            raise NotAvailable(f"the engine returns {probe} for {X.dtype} data (its limiting kernels are float64)")
        figures, K = self.time(lambda: limiting_ntk(X, wl.DEPTH, device=self.device), REPEATS["analytic"])
        return figures, f"K[0, 0] = {float(K[0, 0]):.6g}"

    def lambda_min(self) -> None:
        for n in SIZES[self.mode]:
            held: dict[str, torch.Tensor] = {}  # the kernel, formed inside the first row (an OOM is that row's)

            def kernel(n=n, held=held) -> torch.Tensor:
                if "K" not in held:
                    held["K"] = self._sync(limiting_ntk(torch.from_numpy(wl.sphere_data(n)), wl.DEPTH,
                                                        device=self.device))
                return held["K"]

            def certificate(kernel=kernel):
                K = kernel()
                figures, verdict = self.time(lambda: spectra.certify_lambda_min_ge(K, wl.THRESHOLD),
                                             REPEATS["lambda_min"])
                bound = f": λ_min ≥ {verdict.lower:.6g}" if verdict.holds else ""
                return figures, verdict.outcome.value + bound

            def certified(kernel=kernel):
                K = kernel()
                figures, lam = self.time(lambda: spectra.lambda_min(K), REPEATS["lambda_min"])
                return figures, f"λ_min = {lam.value:.8g} ± {lam.error:.2g} ({lam.method})"

            self.row(f"Cholesky certificate λ_min ≥ {wl.THRESHOLD:g}", "float64", n, certificate)
            self.row("certified λ_min (spectra.lambda_min)", "float64", n, certified)
            held.clear()

    def empirical(self) -> None:
        w = EMPIRICAL[self.mode]

        def run():
            model = network(w).to(self.device)
            X = torch.from_numpy(wl.gaussian_data(w.n)).to(self.device)
            figures, K = self.time(lambda: empirical_ntk(model, X, "layerwise"), REPEATS["empirical"])
            return figures, f"width {w.width}, K̄[0, 0] = {float(K[0, 0]):.6g}"

        self.row(f"empirical NTK, layer-wise, width {w.width}", "float64", w.n, run)

    def study(self) -> None:
        minutes = min(STUDY_BUDGET_MINUTES[self.mode], (self.deadline - time.monotonic()) / 60)
        if importlib.util.find_spec("ntkverify.studies") is None:
            self.record["study"] = {"status": "not available", "reason": "ntkverify.studies is not importable"}
        elif minutes <= 0:
            self.record["study"] = {"status": "skipped", "reason": "the time budget was spent"}
        else:
            arguments = ["study", "lambda-min-scaling", "--device", self.device.type,
                         "--budget", f"{minutes:.2g}", "--output", str(self.out / "study")]
            self.record["study"] = self._subprocess([sys.executable, "-c", CLI, *arguments], "ntkverify", arguments)
        self.write()

    def cuda_tests(self) -> int:
        arguments = ["-m", "gpu", "-q", "-p", "no:cacheprovider"]
        self.record["cuda_tests"] = result = self._subprocess([sys.executable, "-m", "pytest", *arguments], "pytest",
                                                              arguments)
        self.write()
        return result["exit_code"]

    def _subprocess(self, command: list[str], program: str, arguments: list[str]) -> dict:
        """Run ``command`` from the repository root; the record names it as ``program arguments``."""
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        lines = (done.stdout + done.stderr).strip().splitlines()
        return {
            "command": " ".join([program, *arguments]),
            "exit_code": done.returncode,
            "seconds": time.perf_counter() - start,
            "last_line": lines[-1] if lines else "",
        }

    # -- output ------------------------------------------------------------------------------------------

    def scale_limits(self) -> None:
        budget = self.record["machine"].get("gpu_memory_bytes") or self.record["machine"]["memory_bytes"]
        steps = {(r["step"], r["dtype"]) for r in self.record["rows"]}
        for step, dtype in sorted(steps):
            points = [(r["n"], r["peak_bytes"]) for r in self.record["rows"]
                      if (r["step"], r["dtype"]) == (step, dtype) and r["status"] == "ran" and r["peak_bytes"]]
            fit = measure.fit_quadratic(points)
            if fit is not None:
                a, c = fit
                self.record["scale_limits"].append({"step": step, "dtype": dtype, "bytes_per_n2": a,
                                                    "constant_bytes": c, "largest_n": measure.largest_n(a, c, budget)})

    def write(self) -> None:
        tables.write(self.out, "gpu", self.record, render(self.record))


class NotAvailable(RuntimeError):
    """The engine cannot run this row (not a failure of the run)."""


def machine(device: torch.device) -> dict:
    m = {**measure.machine(), **measure.versions("ntkverify", "torch"), "device": str(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        m.update(gpu=props.name, gpu_memory_bytes=props.total_memory, cuda=torch.version.cuda)
    return m


def render(record: dict) -> str:
    m = record["machine"]
    memory = "torch.cuda.max_memory_allocated" if m["device"].startswith("cuda") else "the workload's peak RSS"
    lines = [
        "# ntkverify on a GPU" + (" (smoke run, tiny sizes)" if record["mode"] == "smoke" else ""),
        "",
        f"Measured with `python -m benchmarks.gpu` on {measure.describe_machine(m)}; device {m['device']}, "
        f"ntkverify {m['ntkverify']}, torch {m['torch']}" + (f", CUDA {m['cuda']}" if "cuda" in m else "") + ".",
        f"d = {wl.D}, three hidden ReLU layers (L = {wl.DEPTH}). Time: median of the timed calls after one warm-up "
        f"call; memory: {memory}." + ("" if record["complete"] else " **Incomplete: the run stopped early.**"),
        "",
        tables.markdown_table(
            ["step", "dtype", "N", "time", "peak memory", "result"],
            [[r["step"], r["dtype"], r["n"], measure.seconds(r.get("median_s")), measure.gib(r.get("peak_bytes")),
              r["result"]] for r in record["rows"]],
        ),
        "",
    ]
    study = record["study"]
    if study is not None:
        lines.append(f"Study `lambda-min-scaling`: {study.get('status') or 'exit ' + str(study['exit_code'])}; "
                     f"{study.get('reason') or study['last_line']}")
    tests = record["cuda_tests"]
    if tests is not None:
        lines.append(f"CUDA tests (`pytest -m gpu`): exit {tests['exit_code']} in {tests['seconds']:.0f} s; "
                     f"{tests['last_line']}")
    if record["scale_limits"]:
        lines += ["", "Largest N in this device's memory, from a N² + c fitted to the peaks above:", ""]
        lines.append(tables.markdown_table(
            ["step", "dtype", "bytes per N²", "constant", "largest N"],
            [[s["step"], s["dtype"], f"{s['bytes_per_n2']:.1f}", measure.gib(s["constant_bytes"]), s["largest_n"]]
             for s in record["scale_limits"]],
        ))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder for gpu.md and gpu.json (created if needed)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, on the CPU unless CUDA is present")
    parser.add_argument("--time-budget", type=float, default=420, metavar="SECONDS",
                        help="for steps 1-4; rows past it are recorded as skipped (default 420; the CUDA tests follow)")
    args = parser.parse_args(argv)
    if args.time_budget <= 0:
        parser.error(f"--time-budget must be > 0, got {args.time_budget}")
    if not torch.cuda.is_available() and not args.smoke:
        print("error: no CUDA device: the full sizes need one (--smoke checks the script on the CPU)", file=sys.stderr)
        return 3
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bench = Bench(Path(args.out), device, args.smoke, args.time_budget)
    for step in (bench.analytic, bench.lambda_min, bench.empirical, bench.study):
        step()
    tests_exit = bench.cuda_tests()
    bench.scale_limits()
    bench.record["complete"] = True
    bench.write()
    print(f"wrote {Path(args.out) / 'gpu.md'} and {Path(args.out) / 'gpu.json'}")
    if bench.failed:
        return 3
    return 0 if tests_exit == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
