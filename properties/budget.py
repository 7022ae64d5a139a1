"""The search budget: how large a property run's cases may be, as data attached to a Hypothesis profile.

A :class:`SearchBudget` holds a per-example time budget, which caps the sizes a property draws through its
declared cost growth (:class:`~ntkverify.properties.core.Cost`), hard caps on n, d, widths and depth, and the
factor on a PROB property's declared trials. The runner finds the budget of the Hypothesis profile in force by
the profile's name (Hypothesis' public ``settings.get_current_profile_name()``) in a small registry, filled by
whoever registers the profiles (:func:`register_budget`; the command line and the pytest plugin register the
project's ``dev``, ``ci`` and ``nightly``); a profile with no registered budget — Hypothesis' own, or none
loaded — gets :data:`DEFAULT_BUDGET`. The name only finds the budget: what a run draws follows from the budget's
fields, never from the name (``docs/search.md#cost-model``). A budget may also be passed explicitly
(``run_property(..., budget=...)``).

A :class:`SearchProfile` is a profile by value — its name, settings and budget — so that a fresh worker process
loads exactly what this process runs under (``docs/distributed.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import settings as Settings


@dataclass(frozen=True)
class SearchBudget:
    """The case sizes of a profile. ``example_seconds`` is the time one example may take: a property draws n
    only up to where its cost model predicts that time (``Cost.largest``); ``max_n``, ``max_d``,
    ``max_width`` and ``max_depth`` are hard caps whatever the cost. A PROB property runs ``trial_factor``
    times its declared trials (more trials: more power at the same false-alarm rate)."""

    example_seconds: float
    max_n: int
    max_d: int
    max_width: int
    max_depth: int
    trial_factor: int = 1


#: The budget of a profile that registered none: small cases (a hundred-odd rows) and the declared trials.
DEFAULT_BUDGET = SearchBudget(example_seconds=0.01, max_n=256, max_d=64, max_width=128, max_depth=4)

_BUDGETS: dict[str, SearchBudget] = {}


def register_budget(profile: str, budget: SearchBudget) -> None:
    """Attach ``budget`` to the Hypothesis profile named ``profile`` (registering again replaces it)."""
    _BUDGETS[profile] = budget


def search_budget(profile: str | None = None) -> SearchBudget:
    """The budget of ``profile`` (default: the profile in force); :data:`DEFAULT_BUDGET` if it registered none."""
    name = Settings.get_current_profile_name() if profile is None else profile
    return _BUDGETS.get(name, DEFAULT_BUDGET)


@dataclass(frozen=True)
class SearchProfile:
    """A Hypothesis profile by value: its ``name``, its ``settings`` and its ``budget``."""

    name: str
    settings: Settings
    budget: SearchBudget

    @classmethod
    def current(cls) -> SearchProfile:
        """The profile in force in this process."""
        name = Settings.get_current_profile_name()
        return cls(name, Settings(), search_budget(name))

    def load(self) -> None:
        """Register this profile and its budget in this process and load it."""
        Settings.register_profile(self.name, self.settings)
        register_budget(self.name, self.budget)
        Settings.load_profile(self.name)
