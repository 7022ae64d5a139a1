"""Timing, peak memory and the machine's description, shared by the benchmark scripts.

Importable without torch (the peer side of :mod:`benchmarks.peers` runs in a process that never loads it):
torch is imported only by the CUDA helpers, which only a torch process calls.

Memory figures (Linux):

* ``peak RSS`` of a process is its high-water mark ``VmHWM`` in ``/proc/self/status``; writing ``5`` to
  ``/proc/self/clear_refs`` (Linux ≥ 4.0) resets it to the current RSS, so the peak *of one workload* is read
  as ``VmHWM`` after its first call minus ``VmRSS`` before it, with the reset in between (:func:`first_call`).
  Without the reset (another kernel, no permission) only the process's whole-life peak is known and the
  workload's share is ``None``.
* on a GPU, ``torch.cuda.max_memory_allocated`` after ``torch.cuda.reset_peak_memory_stats`` (the tensors
  torch allocated; the CUDA context itself, some hundreds of MB, is not counted).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import math
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

GIB = 2**30


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_bytes() -> int | None:
    """Current resident set size of this process."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def peak_rss_bytes() -> int:
    """High-water mark of this process's resident set since it started or since :func:`reset_peak_rss`."""
    kib = _status_kib("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux reports KiB
    return kib * 1024


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark to the current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def first_call(call: Callable[[], object], sync: Callable[[object], object] = lambda r: r) -> tuple[object, dict]:
    """Run the warm-up call of a workload and record the memory it needs; returns its result and the figures.

    ``sync`` receives the result and must block until it is computed (JAX dispatches asynchronously, CUDA
    kernels run after the call returns). Memory is read around this first call, before the allocator holds
    on to freed blocks of earlier calls (glibc keeps a freed large block resident and reuses it, so a later
    call's RSS rise understates what the workload needs). ``workload_peak_bytes`` is the peak above the RSS
    before the call (``None`` where the high-water mark cannot be reset); ``life_peak_bytes`` the process's
    high-water mark before it (imports and set-up), to be combined by :func:`process_peak_bytes`.
    """
    before, life_peak = rss_bytes(), peak_rss_bytes()
    resettable = before is not None and reset_peak_rss()
    result = sync(call())
    workload = peak_rss_bytes() - before if resettable else None
    return result, {"workload_peak_bytes": workload, "life_peak_bytes": life_peak}


def process_peak_bytes(figures: dict) -> int:
    """The process's whole-life peak RSS: the larger of the peak before :func:`first_call` and the one since."""
    return max(figures["life_peak_bytes"], peak_rss_bytes())


def time_calls(call: Callable[[], object], repeats: int, sync: Callable[[object], object] = lambda r: r) -> dict:
    """Time ``repeats`` calls (after the warm-up); returns the times in seconds and their median."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sync(call())
        times.append(time.perf_counter() - start)
    return {"times_s": times, "median_s": statistics.median(times)}


def measure(call: Callable[[], object], repeats: int, sync: Callable[[object], object] = lambda r: r) -> dict:
    """:func:`first_call` (memory), then :func:`time_calls`; every figure in one dict."""
    result, memory = first_call(call, sync)
    del result
    figures = {**time_calls(call, repeats, sync), "workload_peak_bytes": memory["workload_peak_bytes"]}
    figures["process_peak_bytes"] = process_peak_bytes(memory)
    return figures


def versions(*distributions: str) -> dict[str, str]:
    """Installed versions of the named distributions (``"absent"`` for those not installed)."""
    found = {}
    for name in distributions:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def machine() -> dict:
    """The machine a table was measured on: CPU, cores, memory, OS, Python, UTC time and load average."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": _memory_total_bytes(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def describe_machine(m: dict) -> str:
    """One line for a table's caption."""
    memory = f"{m['memory_bytes'] / GIB:.0f} GiB" if m.get("memory_bytes") else "memory unknown"
    line = f"{m['cpu']}, {m['cores']} cores, {memory}, {m['os']}, Python {m['python']}, {m['utc']}"
    if "gpu" in m:
        line += f", GPU {m['gpu']}"
    return line


def gib(n_bytes: float | None) -> str:
    """A byte count for a table: ``1.25 GiB``, ``312 MiB``, or ``—`` when unknown."""
    if n_bytes is None:
        return "—"
    if abs(n_bytes) >= GIB:
        return f"{n_bytes / GIB:.2f} GiB"
    return f"{n_bytes / 2**20:.0f} MiB"


def seconds(t: float | None) -> str:
    """A duration for a table: ``35 ms``, ``0.37 s``, ``12.4 s``, or ``—``."""
    if t is None:
        return "—"
    if t < 0.1:
        return f"{t * 1e3:.3g} ms"
    if t < 10:
        return f"{t:.2f} s"
    return f"{t:.1f} s"


def fit_quadratic(points: Sequence[tuple[int, float]]) -> tuple[float, float] | None:
    """Least-squares ``bytes ≈ a N² + c`` through (N, bytes) points with at least two distinct N; None otherwise.

    Dense N × N matrices dominate every workload measured here, so memory grows like N² plus a constant
    (the process's libraries, the input, fixed-size tiles)."""
    sizes = {n for n, _ in points}
    if len(sizes) < 2:
        return None
    xs = [float(n) ** 2 for n, _ in points]
    ys = [float(b) for _, b in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    a = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return a, my - a * mx


def largest_n(a: float, c: float, budget_bytes: float) -> int | None:
    """The largest N with ``a N² + c ≤ budget_bytes`` (None when even N = 1 does not fit or a ≤ 0)."""
    if a <= 0 or budget_bytes <= c:
        return None
    return int(math.isqrt(int((budget_bytes - c) / a)))
