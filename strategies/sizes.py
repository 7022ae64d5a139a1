"""Sizes across scales: small sizes that shrink as before, and boundary sizes where tiled and blocked code fails.

A bug in blocked code (tiles of T rows, a fast path above a size, a chunked loop) shows only above its block
size T, and T is usually a power of two times a small odd number (256, 384, 96), a round number (100, 1000)
or one of those plus or minus one. Uniform sizes in [1, 600] hit n = T + 1 rarely and say nothing about
which T; sizes drawn *at* the boundaries hit every such T with a few dozen examples. :func:`sizes` draws

* with a branch choice of 0 (the one Hypothesis shrinks towards; drawn one time in
  ``BOUNDARY_WEIGHT + 1``), a small size in ``[min_value, small]`` exactly as a plain ``integers`` does;
* otherwise, a boundary b from :func:`boundary_sizes` (k·2^j − 1, k·2^j, k·2^j + 1 for k = 1, 3, 5, 7;
  multiples of 10 up to 100 and of 100 above, each ± 1) *and* an integer v in ``[min_value, 2·max_value]``,
  and returns n = min(b, v).

Why min(b, v) shrinks to the smallest failing size. The choice sequence of the boundary branch is (i, v), i
the index of b in the sorted boundary list. Let a failure need n > T. Hypothesis lowers each choice while the
test still fails: lowering i keeps failing while b > T, so i stops at the smallest boundary b* > T; lowering
v keeps failing while min(b*, v) > T, so v stops at T + 1 and n = min(b*, T + 1) = T + 1. The order of the
two passes does not matter (lowering v first stops at v = T + 1 as well, and b* > T then still holds). A
design that *adds* an offset to a boundary (n = b + o) cannot do this: from n = b* the shrinker can lower
neither i (then n = b_{i−1} ≤ T passes) nor o (already 0), and it stops at b*, not at T + 1.

Generation: v exceeds b with probability ≥ 1/2 (its range reaches 2·max_value), so about half the boundary
draws are exactly a boundary and the rest are uniform sizes below it; a failure above T is found when some
drawn boundary lies above T.
"""

from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

#: The small branch: sizes in [min_value, SMALL_SIZES] as before the boundary branch existed.
SMALL_SIZES = 12
#: The boundary branch is drawn this many times as often as the small one (the branch choice shrinks to 0, the
#: small branch): with three cases in four at boundary sizes, a property's 40 ``ci`` examples reach past a
#: block size of a few hundred rows in practice, while most examples stay cheap.
BOUNDARY_WEIGHT = 3
#: Odd multipliers of powers of two in the boundary list (k·2^j: 64, 96, 160, 224, 256, 384, ...).
BOUNDARY_MULTIPLIERS = (1, 3, 5, 7)


@lru_cache(maxsize=64)
def boundary_sizes(min_value: int, max_value: int) -> tuple[int, ...]:
    """Sorted sizes in [min_value, max_value] next to usual block sizes: k·2^j and multiples of 10 (≤ 100) and
    of 100, each with its neighbours ± 1."""
    centres = {k << j for k in BOUNDARY_MULTIPLIERS for j in range(max_value.bit_length() + 1)}
    centres |= set(range(10, 101, 10)) | set(range(100, max_value + 2, 100))
    sizes = {c + delta for c in centres for delta in (-1, 0, 1)}
    return tuple(sorted(s for s in sizes if min_value <= s <= max_value))


def _boundary_branch(min_value: int, max_value: int, small: int) -> SearchStrategy[int]:
    boundaries = boundary_sizes(max(min_value, small + 1), max_value)  # the small branch covers the rest
    return st.tuples(st.sampled_from(boundaries), st.integers(min_value, 2 * max_value)).map(min)


def sizes(min_value: int, max_value: int, *, small: int = SMALL_SIZES) -> SearchStrategy[int]:
    """Integers in [min_value, max_value]: small ones (≤ ``small``) and boundary sizes, shrinking to the smallest
    failing size (module docstring). With max_value ≤ small this is ``integers(min_value, max_value)``."""
    for name, value in (("min_value", min_value), ("max_value", max_value), ("small", small)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"{name} must be an int, got {value!r}")
    if min_value < 0 or max_value < min_value:
        raise InvalidArgument(f"need 0 <= min_value <= max_value, got min_value={min_value}, max_value={max_value}")
    plain = st.integers(min_value, min(max_value, max(small, min_value)))
    if max_value <= max(small, min_value):
        return plain
    boundary = _boundary_branch(min_value, max_value, small)
    return st.integers(0, BOUNDARY_WEIGHT).flatmap(lambda branch: boundary if branch else plain)
