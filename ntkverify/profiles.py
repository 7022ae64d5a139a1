"""Hypothesis profiles of the suite, registered in one place.

=========  =====================================================================================
profile    use
=========  =====================================================================================
dev        local runs: derandomised (the same examples every run), few examples, no database
ci         pull-request CI: derandomised, more examples, no database, prints reproduction blobs
nightly    nightly job: random exploration, many examples, a persistent example database
=========  =====================================================================================

Every profile has ``deadline=None``: torch's first call on a shape pays one-off costs that would make
Hypothesis' deadline flaky. The profile in force is, in order of precedence: pytest's
``--hypothesis-profile``, the environment variable ``NTKVERIFY_PROFILE``, ``ci`` when ``CI`` is set (this
overrides Hypothesis' own built-in ``ci`` profile, which it auto-loads in that case), else ``dev``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILES = ("dev", "ci", "nightly")
ENV_VAR = "NTKVERIFY_PROFILE"

_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


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
    current = settings._current_profile
    if current in PROFILES:
        return current
    return load_profile()
