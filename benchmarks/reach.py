"""How far each profile's search reaches: ``python benchmarks/reach.py PROFILE [MAX_EXAMPLES] [PROPERTY...]``.

Runs the built-in (property, kernel) pairs whose name contains one of the PROPERTY substrings (default: the
kernel catalogue) under PROFILE's settings and budget, and prints per pair and overall the largest n, d and
width and the smallest angle and row norms drawn (``PropertyResult.reach``), with the time taken.
"""

from __future__ import annotations

import sys
import time

from hypothesis import settings

from ntkverify.properties.core import select
from ntkverify.properties.runner import builtin_pairs, run_property
from ntkverify.shell.profiles import load_profile
from ntkverify.strategies.reach import merge

CATALOGUE = ["well-formed", "psd", "diagonal", "reference", "permutation", "rotation", "scaling", "degenerate"]


def main(argv: list[str]) -> None:
    profile = load_profile(argv[0] if argv else "dev")
    base = settings(max_examples=int(argv[1])) if len(argv) > 1 else settings()
    total, start = {}, time.perf_counter()
    for prop, subject in builtin_pairs(select(argv[2:] or CATALOGUE, ["DET"])):
        result = run_property(prop, subject, settings=base)
        total = merge(total, result.reach)
        print(f"{result.label:48s} {result.elapsed:7.1f} s  {result.status:7s} {result.reach}", flush=True)
    print(f"{profile}: {time.perf_counter() - start:.0f} s, reach {total}")


if __name__ == "__main__":
    main(sys.argv[1:])
