"""One workload in one process: the protocol that both sides of :mod:`benchmarks.peers` follow.

A side module defines ``prepare(workload) -> Prepared`` (inputs built outside the timing) and the versions of
its stack, then calls :func:`serve`. The process makes one warm-up call (JIT compilation, allocator, caches)
and records its memory (:func:`benchmarks.measure.first_call`), then either saves that call's result for the
agreement check (``--save``) or times ``workload.repeats`` further calls and prints one JSON line: the times,
their median, the workload's and the process's peak RSS and the environment.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.measure import first_call, process_peak_bytes, time_calls
from benchmarks.workloads import Workload


@dataclass(frozen=True)
class Prepared:
    """A workload ready to run: ``call`` computes it, ``sync`` blocks until a result is computed (JAX and
    CUDA return before the work is done) and ``to_numpy`` turns a result into what the check compares."""

    call: Callable[[], object]
    to_numpy: Callable[[object], np.ndarray]
    sync: Callable[[object], object] = lambda result: result


def serve(side: str, prepare: Callable[[Workload], Prepared], environment: Callable[[], dict]) -> None:
    parser = argparse.ArgumentParser(description=f"run one workload on the {side} side")
    parser.add_argument("workload", type=Workload.from_json, help="the workload as JSON (Workload.to_json)")
    parser.add_argument("--save", help="save the warm-up call's result to this .npy file instead of timing")
    args = parser.parse_args()
    prepared = prepare(args.workload)
    result, memory = first_call(prepared.call, prepared.sync)
    record = {"side": side, "workload": args.workload.name, "environment": environment()}
    if args.save:
        np.save(args.save, prepared.to_numpy(result))
    else:
        del result
        record.update(time_calls(prepared.call, args.workload.repeats, prepared.sync))
        record.update(workload_peak_bytes=memory["workload_peak_bytes"], process_peak_bytes=process_peak_bytes(memory))
    print(json.dumps(record))
