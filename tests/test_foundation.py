"""Device policy, Hypothesis profiles and input validation."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from ntkverify import device
from ntkverify.shell import profiles
from ntkverify.validation import as_data, check_widths


def test_default_is_float64_and_env_selects_cpu(monkeypatch):
    monkeypatch.setenv(device.ENV_VAR, "cpu")
    assert device.default_device() == torch.device("cpu")
    assert as_data(torch.ones(2, 2, dtype=torch.float32)).dtype == torch.float64


def test_bad_device_choice(monkeypatch):
    monkeypatch.setenv(device.ENV_VAR, "tpu")
    with pytest.raises(ValueError, match="NTKVERIFY_DEVICE must be one of"):
        device.default_device()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            device.resolve_device("cuda")


def test_tf32_is_off():
    assert torch.backends.cuda.matmul.allow_tf32 is False


def test_unit_roundoff():
    assert device.unit_roundoff(torch.float64) == 2.0**-53
    assert device.unit_roundoff(torch.float32) == 2.0**-24


def _profile_in_subprocess(env: dict, *args: str) -> str:
    code = "import ntkverify.shell.plugin; from hypothesis import settings; print(settings.get_current_profile_name())"
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_ci_env_loads_the_projects_ci_profile(monkeypatch):
    """With CI set, Hypothesis auto-loads its own 'ci' profile; ours must replace it (no database, derandomised)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("CI", profiles.ENV_VAR)}
    assert _profile_in_subprocess({**env, "CI": "true"}) == "ci"
    assert _profile_in_subprocess(env) == "dev"
    assert _profile_in_subprocess({**env, profiles.ENV_VAR: "nightly"}) == "nightly"
    profiles.register_profiles()
    from hypothesis import settings

    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None


def test_ntkverify_verify_loads_the_environments_profile_outside_pytest():
    """``ntkverify.verify`` in a script (no profile loaded) runs under the profile the environment names, with that
    profile's budget."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("CI", profiles.ENV_VAR)}
    code = (
        "import ntkverify; from hypothesis import settings; from ntkverify.analytic import limiting_ntk; "
        "from ntkverify.properties.budget import search_budget; "
        "ok = ntkverify.verify(lambda X: limiting_ntk(X, 2), depth=2, properties=['well-formed-symmetric']).ok; "
        "print(settings.get_current_profile_name(), search_budget().max_n, ok)"
    )
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, env={**env, profiles.ENV_VAR: "ci"}, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ci", str(profiles.BUDGETS["ci"].max_n), "True"]


def test_unknown_profile():
    with pytest.raises(ValueError, match="profile must be one of"):
        profiles.load_profile("fast")


def test_widths_validation():
    assert check_widths([3, 4]) == (3, 4)
    for bad, msg in (
        ([0], r"widths\[0\] must be >= 1, got 0"),
        ([2, -1], r"widths\[1\]"),
        ("12", "sequence"),
    ):
        with pytest.raises(ValueError, match=msg):
            check_widths(bad)
