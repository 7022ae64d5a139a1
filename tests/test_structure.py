"""Structural metadata: bounds and properties declare what they apply to, and the engine does not import the floors
above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from ntkverify import analytic, bounds
from ntkverify.bounds import Citation, Data, Kind, Side, Target
from ntkverify.properties import get_property, verify
from ntkverify.properties.core import Property, all_properties
from ntkverify.properties.verify import make_subject, user_properties

ROOT = Path(__file__).resolve().parents[1]


def _sphere(n: int, d: int, seed: int = 0) -> torch.Tensor:
    X = torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return X / torch.linalg.vector_norm(X, dim=1, keepdim=True) * d**0.5


# ------------------------------------------------------------------------------------------------ bounds


def test_every_bound_declares_its_target_data_and_a_structured_citation():
    for b in bounds.all_bounds():
        assert isinstance(b.target, Target) and isinstance(b.data, Data) and isinstance(b.citation, Citation)
        assert b.citation.source and b.citation.docs and b.min_depth >= 1 and b.min_points >= 1
        assert b.kind is not Kind.PROB or b.data.random, f"{b.name}: a PROB bound names the law it holds under"


def test_a_bound_is_declared_with_keywords_only():
    fields = dict(name="x", quantity="q", side=Side.LOWER, kind=Kind.DET, statement="s", target=Target.ANY_MATRIX)
    with pytest.raises(TypeError):
        bounds.Bound("x", "q", Side.LOWER, Kind.DET, "s", Target.ANY_MATRIX)  # positional: the planted mistake
    bound = bounds.Bound(
        **fields, assumptions="a", citation=Citation("test"), bound_fn=lambda c: None, observe_fn=lambda c: None
    )
    assert bound.data is Data.ANY and bound.scope_fn is None


def test_out_of_scope_says_why_from_the_typed_fields():
    X = _sphere(4, 3)
    case = bounds.KernelCase(X, 1)
    assert "needs depth L >= 2" in bounds.get_bound("loewner_g_half").out_of_scope(case)
    assert "needs rows of unit norm" in bounds.get_bound("hinf_gershgorin_lower").out_of_scope(case)
    assert bounds.get_bound("nmm21_scaling_upper").out_of_scope(case) is None  # rows of squared norm d
    assert "needs the empirical NTK" in bounds.get_bound("emp_schur_lower").out_of_scope(case)
    net = bounds.WeightsCase(X, [torch.randn(3, 5, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)])
    assert "needs the limiting NTK" in bounds.get_bound("schur_sum_lower").out_of_scope(net)


def test_a_kernel_under_test_is_observed_and_its_layers_are_not_claimed():
    X = _sphere(6, 4)
    K = analytic.limiting_ntk(X, 3)
    case = bounds.KernelCase(X, 3, kernel=K - 0.5 * float(K.diagonal().max()) * torch.eye(6, dtype=torch.float64))
    assert not bounds.get_bound("schur_sum_lower").margin(case).holds  # λ_min of the kernel under test
    assert bounds.get_bound("schur_sum_lower").margin(bounds.KernelCase(X, 3, kernel=K)).holds
    assert "the case provides" in bounds.get_bound("loewner_k_half").out_of_scope(case)


# ------------------------------------------------------------------------------------------------ properties


def test_property_subjects_come_from_one_vocabulary():
    with pytest.raises(ValueError, match="unknown subjects \\['limiting-ntk-bounds'\\]"):
        Property("p", "s", "c", Kind.DET, ("limiting-ntk-bounds",), "t", check=lambda s, c: None, strategy=id)
    subjects = {s for p in all_properties() for s in p.subjects}
    assert {"limiting-ntk", "user-kernel", "empirical-ntk", "sphere-data"} <= subjects


def test_users_kernels_get_the_bounds_their_claim_provides():
    ntk = {p.name for p in user_properties(make_subject(lambda X: X @ X.T, "relu-ntk", depth=2))}
    assert {"bound:hermite_gershgorin_lower", "bound:schur_sum_lower", "bound:nmm21_scaling_upper"} <= ntk
    assert {"bound:psd", "bound:trivial_upper", "bound:degenerate_zero"} <= ntk
    assert "bound:loewner_k_top" in ntk  # the Loewner step that observes the kernel itself; the others need layers
    layered = ("bound:loewner_g", "bound:loewner_k_half", "bound:hinf", "bound:emp_")
    assert not any(name.startswith(layered) for name in ntk)
    hinf = {p.name for p in user_properties(make_subject(lambda X: X @ X.T, "two-layer-h"))}
    assert {"bound:hinf_gershgorin_lower", "bound:hinf_rayleigh_upper", "bound:psd"} <= hinf
    assert "bound:hermite_gershgorin_lower" not in hinf
    reason = get_property("bound:hermite_gershgorin_lower").applies(make_subject(lambda X: X @ X.T, "two-layer-h"))
    assert "the limiting NTK" in reason
    any_kernel = {p.name for p in user_properties(make_subject(lambda X: X @ X.T, "psd-kernel"))}
    assert "bound:psd" in any_kernel and "bound:schur_sum_lower" not in any_kernel


def test_a_bound_catches_a_planted_shift_of_a_users_kernel():
    """λ_min(K) − ½ max K_ii is below Σ_l λ_min(G^(l)): the Schur step must reject it, and pass the true kernel."""

    def shifted(X):
        K = analytic.limiting_ntk(X, 2)
        return K - 0.5 * float(K.diagonal().max()) * torch.eye(X.shape[0], dtype=torch.float64)

    only = ["bound:schur_sum_lower"]
    assert verify(lambda X: analytic.limiting_ntk(X, 2), "relu-ntk", depth=2, properties=only).ok
    bad = verify(shifted, "relu-ntk", depth=2, properties=only)
    assert not bad.ok and bad.failures[0].counterexample.case.n <= 2


def test_the_last_loewner_step_catches_a_users_kernel_without_its_last_layer_term():
    """A kernel that forgot the ``+ G^(L)`` of the recursion (docs/kernels.md#recursion) is K^(L) − G^(L): the
    Loewner step K ⪰ K^(L−1)/2 + G^(L) must reject it, and pass the true kernel."""

    def without_g(X):
        return analytic.limiting_ntk(X, 2) - bounds.KernelCase(X, 2).layers.G[1]

    only = ["bound:loewner_k_top"]
    assert verify(lambda X: analytic.limiting_ntk(X, 2), "relu-ntk", depth=2, properties=only).ok
    assert not verify(without_g, "relu-ntk", depth=2, properties=only).ok


# ------------------------------------------------------------------------------------------------ layers

ENGINE = ROOT / "ntkverify"
#: The package's folders below the shell, bottom-up (``pyproject.toml`` maps each to ``ntkverify.<floor>``).
FLOORS = ("ntkverify", "strategies", "properties", "reports", "studies")
SHELL = ("ntkverify.shell", "shell")
UPPER = (*SHELL, *(prefix + floor for prefix in ("ntkverify.", "") for floor in FLOORS[1:]))
#: The one import of the shell below it: the package's lazy front door ``ntkverify.verify`` is the shell's.
FRONT_DOOR = {("ntkverify/__init__.py", "ntkverify.shell.api")}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _found(folders, names: tuple[str, ...]) -> set[tuple[str, str]]:
    """(file, imported module) for every import of a module under ``names`` in the ``folders``' Python files."""
    return {
        (str(path.relative_to(ROOT)), name)
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        for name in _imports(path)
        if name.startswith(names)
    }


def test_the_engine_imports_nothing_from_the_floors_above():
    assert not _found(["ntkverify"], UPPER) - FRONT_DOOR, sorted(_found(["ntkverify"], UPPER) - FRONT_DOOR)


def test_nothing_below_the_shell_imports_it():
    """The shell (command line, pytest plugin, profiles) may import every floor; no floor imports the shell. What a
    floor needs from a profile it defines itself (``ntkverify.properties.budget``) and the shell fills in."""
    assert _found(FLOORS, SHELL) == FRONT_DOOR


def test_the_command_and_the_plugin_are_the_shells():
    from importlib.metadata import entry_points

    assert [e.value for e in entry_points(group="console_scripts", name="ntkverify")] == ["ntkverify.shell.cli:main"]
    assert [e.value for e in entry_points(group="pytest11", name="ntkverify")] == ["ntkverify.shell.plugin"]


def test_the_import_scan_sees_an_upward_import(tmp_path):
    planted = tmp_path / "engine_module.py"
    planted.write_text(
        "from ntkverify.properties.core import Property\nimport ntkverify.reports\nimport ntkverify.shell\n"
    )
    found = {n for n in _imports(planted) if n.startswith(UPPER)}
    assert found == {"ntkverify.properties.core", "ntkverify.reports", "ntkverify.shell"}
