"""Statistical quality tier of the studies: every negative control and planted alternative is rejected, and the
correct engine is supported, over repeated fixed seeds, at budgets small enough for seconds per study.

A study whose control is not rejected cannot fail, which is a defect like a test that cannot fail
(``docs/studies.md``). Each run states its power; the tests assert it reaches the study's target, so a
rejection of the planted alternative is evidence at the power the study claims, not luck.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ntkverify.studies import KernelSpec, Plan, get_study, run_study
from ntkverify.studies.core import POWER_TARGET

pytestmark = pytest.mark.quality
PLANTED = Path(__file__).with_name("planted_studies.py")

#: (study, scale): the smallest budgets at which each study keeps its stated power.
BUDGETS = {
    "lambda-min-scaling": 0.01,
    "convergence-rate": 0.01,
    "wide-layer": 0.05,
    "explicit-bounds": 1.0,
    "lambda-min-probability": 0.1,
    "gd-dynamics": 0.1,
    "generalization": 0.1,
}
SEED_SETS = (0, 1000)  # two disjoint sets of seeds: the engine must be supported on both


def _run(name: str, tmp_path: Path, kernel: KernelSpec | None = None, first_seed: int = 0):
    plan = Plan(BUDGETS[name], "cpu", kernel, first_seed)
    return run_study(get_study(name), plan, tmp_path).decision


@pytest.mark.parametrize("first_seed", SEED_SETS)
@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_engine_supported_and_controls_rejected(name, first_seed, tmp_path):
    decision = _run(name, tmp_path, first_seed=first_seed)
    assert decision.verdict == "supported", decision.reason
    assert decision.power >= POWER_TARGET
    assert decision.controls and all(c.verdict == "rejected" for c in decision.controls), decision.controls


@pytest.mark.parametrize(
    "name, kernel",
    [
        ("lambda-min-scaling", "ntk_of_unit_rows"),
        ("convergence-rate", "nngp_for_ntk"),
    ],
)
def test_planted_kernel_rejected(name, kernel, tmp_path):
    decision = _run(name, tmp_path, KernelSpec(f"{PLANTED}:{kernel}", "relu-ntk", 2))
    assert decision.verdict == "rejected", decision.reason
