"""Hypothesis profiles of the suite, registered in one place.

=========  =====================================================================================
profile    use
=========  =====================================================================================
dev        local runs: derandomised (the same examples every run), few examples, no database
ci         pull-request CI: derandomised, more examples, no database, prints reproduction blobs
nightly    nightly job: random exploration, many examples, a persistent example database
=========  =====================================================================================

Each profile also declares its case sizes as data, a :class:`~ntkverify.properties.budget.SearchBudget` in
:data:`BUDGETS`: a per-example time budget, which caps the sizes a property draws through the property's declared
cost growth (:class:`ntkverify.properties.core.Cost`), hard caps on n, d, widths and depth, and the factor on a
PROB property's trials. Registering the profiles attaches each budget to its profile
(:func:`ntkverify.properties.budget.register_budget`), where the runner finds it; sizes and trials follow from
these settings alone, never from a profile's name; see ``docs/search.md``.

Every profile has ``deadline=None``: torch's first call on a shape pays one-off costs that would make
Hypothesis' deadline flaky. The profile in force is, in order of precedence: pytest's
``--hypothesis-profile``, the environment variable ``NTKVERIFY_PROFILE``, ``ci`` when ``CI`` is set (this
overrides Hypothesis' own built-in ``ci`` profile, which it auto-loads in that case), else ``dev``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from ntkverify.properties.budget import DEFAULT_BUDGET, SearchBudget, register_budget

PROFILES = ("dev", "ci", "nightly")
ENV_VAR = "NTKVERIFY_PROFILE"

_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


#: The sizes of each profile (see ``docs/search.md`` for what each reaches). ``ci`` reaches n ≥ 600 for the
#: kernel properties (O(n³) spectra included) and so the tiled analytic path (n > 256); ``nightly`` reaches
#: thousands on a CPU and 10⁴ on a GPU, above the iterative λ_min threshold (N > 6000), and runs ten times the
#: declared trials of every PROB property. ``dev`` is the default budget of a profile that declares none.
BUDGETS: dict[str, SearchBudget] = {
    "dev": DEFAULT_BUDGET,
    "ci": SearchBudget(example_seconds=0.35, max_n=1024, max_d=128, max_width=512, max_depth=4),
    "nightly": SearchBudget(example_seconds=2.0, max_n=16384, max_d=1024, max_width=4096, max_depth=6, trial_factor=10),
}


def register_profiles() -> None:
    """Register ``dev``, ``ci`` and ``nightly`` with their budgets (idempotent)."""
    settings.register_profile("dev", max_examples=20, derandomize=True, database=None, **_COMMON)
    settings.register_profile("ci", max_examples=40, derandomize=True, database=None, print_blob=True, **_COMMON)
    settings.register_profile("nightly", max_examples=1000, derandomize=False, print_blob=True, **_COMMON)
    for name, budget in BUDGETS.items():
        register_budget(name, budget)


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
    pytest's ``--hypothesis-profile``). Used by ``ntkverify.verify`` (:mod:`ntkverify.shell.api`)."""
    register_profiles()
    current = settings.get_current_profile_name()
    if current in PROFILES:
        return current
    return load_profile()
