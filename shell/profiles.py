"""Hypothesis profiles of the suite, registered in one place.

=========  =====================================================================================
profile    use
=========  =====================================================================================
dev        local runs: derandomised (the same examples every run), few examples, no database
ci         pull-request CI: derandomised, more examples, no database, prints reproduction blobs
nightly    nightly job: random exploration, many examples, a persistent example database
=========  =====================================================================================

Each profile also declares its case sizes as data, a :class:`SearchBudget` in :data:`BUDGETS`: a per-example
time budget, which caps the sizes a property draws through the property's declared cost growth
(:class:`ntkverify.properties.core.Cost`), and hard caps on n, d, widths and depth. Sizes follow from these
settings alone, never from a profile's name; see ``docs/search.md``.

Every profile has ``deadline=None``: torch's first call on a shape pays one-off costs that would make
Hypothesis' deadline flaky. The profile in force is, in order of precedence: pytest's
``--hypothesis-profile``, the environment variable ``NTKVERIFY_PROFILE``, ``ci`` when ``CI`` is set (this
overrides Hypothesis' own built-in ``ci`` profile, which it auto-loads in that case), else ``dev``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings

PROFILES = ("dev", "ci", "nightly")
ENV_VAR = "NTKVERIFY_PROFILE"

_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class SearchBudget:
    """The case sizes of a profile. ``example_seconds`` is the time one example may take: a property draws n
    only up to where its cost model predicts that time (``Cost.largest``); ``max_n``, ``max_d``,
    ``max_width`` and ``max_depth`` are hard caps whatever the cost."""

    example_seconds: float
    max_n: int
    max_d: int
    max_width: int
    max_depth: int


#: The sizes of each profile (see ``docs/search.md`` for what each reaches). ``ci`` reaches n ≥ 600 for the
#: kernel properties (O(n³) spectra included) and so the tiled analytic path (n > 256); ``nightly`` reaches
#: thousands on a CPU and 10⁴ on a GPU, above the iterative λ_min threshold (N > 6000).
BUDGETS: dict[str, SearchBudget] = {
    "dev": SearchBudget(example_seconds=0.01, max_n=256, max_d=64, max_width=128, max_depth=4),
    "ci": SearchBudget(example_seconds=0.35, max_n=1024, max_d=128, max_width=512, max_depth=4),
    "nightly": SearchBudget(example_seconds=2.0, max_n=16384, max_d=1024, max_width=4096, max_depth=6),
}


def search_budget(name: str | None = None) -> SearchBudget:
    """The budget of profile ``name`` (default: the profile in force; Hypothesis' own profiles get ``dev``'s)."""
    name = settings.get_current_profile_name() if name is None else name
    return BUDGETS.get(name, BUDGETS["dev"])


def register_profiles() -> None:
    """Register ``dev``, ``ci`` and ``nightly`` (idempotent)."""
    settings.register_profile("dev", max_examples=20, derandomize=True, database=None, **_COMMON)
    settings.register_profile("ci", max_examples=40, derandomize=True, database=None, print_blob=True, **_COMMON)
    settings.register_profile("nightly", max_examples=1000, derandomize=False, print_blob=True, **_COMMON)


def chosen_profile() -> str:
    """The profile named by the environment (see the module docstring)."""
    name = os.environ.get(ENV_VAR, "").strip()
    if name:
        if name not in PROFILES:
            raise ValueError(f"{ENV_VAR} must be one of {PROFILES}, got {name!r}")
        return name
    return "ci" if os.environ.get("CI") else "dev"


def load_profile(name: str | None = None) -> str:
    """Register the profiles and load ``name`` (default: :func:`chosen_profile`). Returns the name loaded."""
    register_profiles()
    name = name or chosen_profile()
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {name!r}")
    settings.load_profile(name)
    return name


def ensure_project_profile() -> str:
    """Load the environment's profile unless one of the project's profiles is already in force (e.g. from
    pytest's ``--hypothesis-profile``). Used by ``verify`` and the command line outside pytest."""
    register_profiles()
    current = settings.get_current_profile_name()
    if current in PROFILES:
        return current
    return load_profile()
