"""The strategies of the cases kernel and engine properties are checked on (the cases of :mod:`ntkverify.case`)."""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from ntkverify.case import KernelCase, NetworkCase
from ntkverify.properties.core import SizeLimits
from ntkverify.strategies import cases, datasets

#: The sizes of a strategy called without limits (the strategies' own small defaults).
SMALL_LIMITS = SizeLimits(max_n=12, max_d=12, max_width=64, max_depth=4)


def kernel_cases(
    subject, *, limits: SizeLimits = SMALL_LIMITS, distribution=None, n=None, d=None, scales: bool = False
) -> st.SearchStrategy[KernelCase]:
    """Cases for a subject, n and d up to ``limits``, in the claim's domain: its fixed depth if the claim has
    one, else (or with no subject) depth in [1, limits.max_depth]. ``scales``: rows across scales
    (:func:`ntkverify.strategies.datasets`)."""
    fixed = None if subject is None else subject.claim.depth
    domain = "any" if subject is None else subject.claim.domain
    depth = st.just(fixed) if fixed is not None else st.integers(1, limits.max_depth)
    sizes = dict(max_n=limits.max_n, max_d=limits.max_d)
    data = datasets(n=n, d=d, distribution=distribution, scales=scales, domain=domain, device="cpu", **sizes)
    return st.builds(lambda points, L: KernelCase(points.X, L, law=points.law, seed=points.seed), data, depth)


def scaled_kernel_cases(subject, **kw) -> st.SearchStrategy[KernelCase]:
    """:func:`kernel_cases` with rows across scales (1e-100 to 1e100, mixed in one data set)."""
    return kernel_cases(subject, scales=True, **kw)


#: The degeneracies :func:`degenerate_cases` appends (docs/statements.md#A9 (i), (ii)): the new row is this multiple
#: of x_1 (a positively parallel row, a zero row, a duplicate).
EXTRA_ROWS = {"parallel": 2.0, "zero": 0.0, "duplicate": 1.0}


def with_degeneracy(case: KernelCase, kind: str) -> KernelCase:
    """The case with a row ``EXTRA_ROWS[kind]·x_1`` appended, so that :meth:`~ntkverify.case.Case.degeneracy` holds."""
    return case.with_points(torch.cat([case.X, EXTRA_ROWS[kind] * case.X[:1]]))


def degenerate_cases(subject, *, kinds=("parallel", "zero"), **kw) -> st.SearchStrategy[KernelCase]:
    """Cases with an exact degeneracy appended (:func:`with_degeneracy`): a row 2·x_1 or a zero row; for a claim
    on a sphere, a copy of x_1 (which stays on it)."""
    if subject is not None and subject.claim.domain != "any":
        kinds = ("duplicate",)
    return st.tuples(scaled_kernel_cases(subject, **kw), st.sampled_from(kinds)).map(lambda t: with_degeneracy(*t))


#: angles of the close pairs of :func:`near_degenerate_cases`, from well resolved to the √u regime of arccos
NEAR_ANGLES = (1e-2, 1e-4, 1e-6, 1e-8)
#: the configurations of :func:`near_degenerate_cases`, simplest first
NEAR_CONFIGURATIONS = ("pair", "duplicate", "antipodal", "cluster")
#: overall scales of the near-degenerate sets: ordinary, and rows far below 1 (where a norm floor shows)
NEAR_SCALES = (1.0, 1e-13)


def near_degenerate_data(configuration: str, angle: float, d: int, extra: int, seed: int, scale: float = 1.0):
    """A near-degenerate data set (docs/accuracy.md#lambda-min): a unit-scale row x and, per configuration, a
    row at ``angle`` from it (``pair``), a copy (``duplicate``), a row at π − ``angle`` (``antipodal``), or
    two rows at ±``angle`` (``cluster``); then ``extra`` generic rows; all times ``scale``. λ_min is smallest,
    and most sensitive to the √u regime of arccos, on exactly these sets."""
    if configuration not in NEAR_CONFIGURATIONS:
        raise ValueError(f"configuration must be one of {NEAR_CONFIGURATIONS}, got {configuration!r}")
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(2, d, dtype=torch.float64, generator=g)
    x = x / torch.linalg.vector_norm(x)
    y = y - (y @ x) * x
    y = y / torch.linalg.vector_norm(y)
    c, s = math.cos(angle), math.sin(angle)
    rows = {
        "pair": [x, c * x + s * y],
        "duplicate": [x, x.clone()],
        "antipodal": [x, -(c * x + s * y)],
        "cluster": [x, c * x + s * y, c * x - s * y],
    }[configuration]
    rows += list(torch.randn(extra, d, dtype=torch.float64, generator=g) / math.sqrt(d))
    return scale * torch.stack(rows)


def near_degenerate_cases(subject, *, max_depth: int = 4) -> st.SearchStrategy[KernelCase]:
    """Cases on :func:`near_degenerate_data` (configuration, angle, d ∈ [2, 6], 0–3 extra rows, seed, scale)
    at the subject's depth (drawn in [1, max_depth] when its claim fixes none)."""
    fixed = None if subject is None else subject.claim.depth
    data = st.builds(
        near_degenerate_data,
        st.sampled_from(NEAR_CONFIGURATIONS),
        st.sampled_from(NEAR_ANGLES),
        st.integers(2, 6),
        st.integers(0, 3),
        st.integers(0, 2**16),
        st.sampled_from(NEAR_SCALES),
    )
    depth = st.just(fixed) if fixed is not None else st.integers(1, max_depth)
    return st.builds(KernelCase, data, depth)


def network_cases(subject=None, *, limits: SizeLimits = SMALL_LIMITS, **kw) -> st.SearchStrategy[NetworkCase]:
    """Networks (any activation and parameterisation unless ``kw`` restricts them) with data on the CPU, sizes up
    to ``limits``."""
    sizes = dict(max_n=limits.max_n, max_d=limits.max_d, max_width=limits.max_width, max_depth=limits.max_depth)
    networks = cases(device="cpu", **sizes, **kw)
    return st.builds(lambda case, seed: case.replace(weight_seed=seed), networks, st.integers(0, 2**16))
