"""Counterexample reports: minimisation to a 1-minimal case, replay before and after a fix, concurrent writers,
the run summary (valid HTML, only existing links, JSON against its schema)."""

from __future__ import annotations

import json
import multiprocessing
import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

from ntkverify.architecture import Architecture
from ntkverify.case import Case, KernelCase, NetworkCase, WeightsCase, degeneracy
from ntkverify.distributions import GaussianCovariance, NearDuplicates, Scaled
from ntkverify.properties.core import Figure, Verdict, get_property
from ntkverify.properties.empirical_claim import ModuleCase
from ntkverify.properties.runner import Counterexample, run_property
from ntkverify.properties.subjects import BUILTIN_SUBJECTS
from ntkverify.properties.verify import load_callable, make_subject
from ntkverify.reports import (
    ReplayError,
    load_report,
    minimise,
    read_index,
    replay,
    run_pairs,
    validate,
    write_report,
    write_result_report,
)
from ntkverify.reports.counterexample import case_figure
from ntkverify.reports.minimise import ddmin, round_significant
from ntkverify.reports.store import append_index, staged_folder, write_text_atomic
from ntkverify.reports.summary import Entry, entry_plot
from ntkverify.strategies import get_distribution

# A planted bug that needs two points: H∞ (DZPS19) scaled by 1.5 wherever two inputs have a negative inner
# product (as if the sign of the π − arccos term were mishandled). A single point, or points in one half-space,
# give the right kernel, so a minimal counterexample is one pair with ⟨x_i, x_j⟩ < 0.
BUGGY = """
import torch
from ntkverify import analytic


def kernel(X):
    K = analytic.h_infinity(X)
    return torch.where(X @ X.T < 0, 1.5 * K, K)
"""
FIXED = """
from ntkverify import analytic


def kernel(X):  # the fix: the plain H-infinity kernel
    return analytic.h_infinity(X)
"""


def planted_subject(folder: Path, source: str = BUGGY):
    """The planted-bug kernel as a user's kernel loaded from a file (so a report can reload it)."""
    path = folder / "planted_kernels.py"
    path.write_text(source)
    spec = f"{path}:kernel"
    return make_subject(load_callable(spec), "two-layer-h", origin=spec)


def sphere_case(n: int, d: int, seed: int, depth: int = 2) -> KernelCase:
    law = get_distribution("sphere")
    return KernelCase(law.sample(n, d, np.random.default_rng(seed), device="cpu"), depth, law=law, seed=seed)


def failing(prop, subject, case) -> Counterexample:
    verdict = prop.check(subject, case)
    assert not verdict.holds
    return Counterexample(prop, subject, case, verdict)


def test_ddmin_is_one_minimal_on_a_known_predicate():
    # fails iff the subset contains both 3 and 7: the unique 1-minimal answer is [3, 7]
    assert ddmin(10, lambda rows: 3 in rows and 7 in rows) == [3, 7]
    assert ddmin(1, lambda rows: True) == [0]


def test_planted_bug_report_is_one_minimal_and_replays(tmp_path, monkeypatch):
    monkeypatch.setenv("NTKVERIFY_DEVICE", "cpu")
    subject = planted_subject(tmp_path)
    prop = get_property("reference-agreement")
    written = write_report(failing(prop, subject, sphere_case(10, 3, seed=1)), tmp_path / "reports")

    record = json.loads((written.path / "report.json").read_text())
    validate(record, "counterexample")
    m = record["minimisation"]
    assert (m["n_before"], m["n_after"], m["one_minimal"]) == (10, 2, True)
    assert {s["step"]: s["achieved"] for s in m["steps"]}["points"]
    # independently of the minimiser's own claim: removing either point makes the check pass
    _, prop2, subject2, case = load_report(written.path)
    assert not prop2.check(subject2, case).holds
    for i in range(case.n):
        assert prop2.check(subject2, case.subset([j for j in range(case.n) if j != i])).holds
    # the two remaining points have a negative inner product: the planted condition, nothing else
    assert float(case.X[0] @ case.X[1]) < 0
    assert record["case"]["description"]["depth"] == 2  # the claim fixes depth 2: no depth step
    digits = {s["step"]: s["achieved"] for s in m["steps"]}["digits"]
    assert digits and m["digits"] < 17 and torch.equal(round_significant(case.X, m["digits"]), case.X)

    with np.load(written.path / "case.npz") as data:
        assert set(data.files) == {"X", "K"} and data["K"].shape == (2, 2)
        assert torch.equal(torch.from_numpy(data["X"]), case.X)
    assert (written.path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (written.path / "report.md").read_text()
    assert record["replay"]["command"] in md and "1-minimal: yes" in md and prop.citation in md

    outcome = replay(written.path)
    assert outcome.fails and outcome.identical  # bit-for-bit: same observed value, bound and margin

    planted_subject(tmp_path, FIXED)  # the fix lands in the kernel's module
    with pytest.raises(ReplayError, match="changed since the report"):
        replay(written.path)
    assert not replay(written.path, allow_changed_kernel=True).fails

    assert [line["id"] for line in read_index(tmp_path / "reports")] == [written.path.name]


def test_hypothesis_counterexample_is_minimised_and_rounded(tmp_path):
    subject = planted_subject(tmp_path)
    result = run_property(get_property("reference-agreement"), subject)
    assert result.status == "failed"
    written = write_result_report(result, tmp_path / "reports")
    m = written.record["minimisation"]
    assert m["n_after"] == 2 and m["one_minimal"]
    assert written.record["found"]["case"] == repr(result.counterexample.case)


def test_depth_and_widths_are_minimised():
    # a property on network cases that fails whenever the network has a hidden layer wider than 3:
    # the minimiser must halve the widths and drop layers while that stays true
    from dataclasses import replace

    prop = replace(
        get_property("psd"),
        name="planted-width",
        check=lambda subject, case: Verdict.inequality(max(case.architecture.widths, default=0), 3.0, 0.0),
    )
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    case = NetworkCase(X, Architecture(2, (40, 9, 33)))
    m = minimise(prop, None, case, prop.check(None, case))
    assert m.case.architecture.widths == (5,) and m.n_after == 1
    assert {s.name for s in m.steps if s.achieved} == {"points", "depth", "widths"}


def test_kernel_case_depth_is_minimised_when_the_claim_leaves_it_free():
    from dataclasses import replace

    prop = replace(
        get_property("psd"),
        name="planted-depth",
        check=lambda subject, case: Verdict.inequality(case.depth, 1.5, 0.0),  # fails for depth >= 2
    )
    m = minimise(prop, BUILTIN_SUBJECTS["limiting-ntk"], sphere_case(3, 2, 0, depth=4), Verdict.failure("x"))
    assert m.case.depth == 2 and m.n_after == 1


_GAUSSIAN_COV = GaussianCovariance(condition_number=3.0)
_SCALED = Scaled(NearDuplicates(gap=1e-3), scale=10.0, outlier=0.5)


def test_a_minimised_degenerate_counterexample_keeps_its_degenerate_pair():
    """A planted ridge (K + 0.01·max K_ii·I: PSD, but never singular) fails the degeneracy statement on a case with
    a parallel pair; the minimiser shrinks it to that pair, because the check finds other points out of scope by
    the one predicate (docs/statements.md#A9)."""
    from ntkverify import analytic

    def ridge(X):
        K = analytic.limiting_ntk(X, 2)
        return K + 0.01 * float(K.diagonal().max()) * torch.eye(X.shape[0], dtype=X.dtype)

    subject = make_subject(ridge, "relu-ntk", depth=2)
    prop = get_property("degenerate-zero-eigenvalue")
    X = sphere_case(5, 3, seed=2).X
    case = KernelCase(torch.cat([X, 2 * X[:1]]), 2)
    m = minimise(prop, subject, case, prop.check(subject, case))
    assert m.n_after == 2 and degeneracy(m.case.X) is not None and not m.verdict.holds
    assert prop.check(subject, KernelCase(X, 2)).notes.startswith("out of scope")  # the negative control


@pytest.mark.parametrize(
    "case",
    [
        sphere_case(4, 3, 5),
        Case(_SCALED.sample(3, 2, np.random.default_rng(2), device="cpu"), law=_SCALED, seed=2),
        NetworkCase(torch.eye(3, dtype=torch.float64), Architecture(3, (4, 2)), wide_layer=1),
        NetworkCase(
            _GAUSSIAN_COV.sample(5, 2, np.random.default_rng(3), device="cpu"),
            Architecture(2, (6,), activation="tanh", sigma_b=0.1, parameterization="ntk"),
            law=_GAUSSIAN_COV,
            seed=3,
        ),
        KernelCase(torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64), 3, delta=0.05),
        WeightsCase(
            torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64),
            [torch.full((2, 3), 0.5, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64)],
        ),
        NetworkCase(torch.eye(3, dtype=torch.float64), Architecture(3, (4, 2)), wide_layer=1, weight_seed=7),
        ModuleCase(torch.eye(3, dtype=torch.float64), "conv", 2, 1, 3, 5),
    ],
    ids=[
        "kernel",
        "points-scaled-law",
        "network-explicit",
        "network-law",
        "kernel-delta",
        "weights",
        "network-seed",
        "module",
    ],
)
def test_case_round_trip(case):
    """Every case type encodes to JSON and float64 arrays and decodes to the same case, its law rebuilt from its
    family and declared parameters (no repr is parsed)."""
    fields, arrays = case.encode()
    back = Case.decode(json.loads(json.dumps(fields)), arrays)
    assert type(back) is type(case) and torch.equal(back.X, case.X) and repr(back) == repr(case)
    assert back.law == case.law and back.seed == case.seed
    if isinstance(case, WeightsCase):
        assert torch.equal(back.K, case.K) and all(torch.equal(a, b) for a, b in zip(back.weights, case.weights))
    if isinstance(case, ModuleCase):  # a case type of the upper floor, reportable by subclassing alone
        assert all(torch.equal(a, b) for a, b in zip(back.model().parameters(), case.model().parameters()))


def test_a_law_is_kept_only_when_it_reproduces_the_points():
    case = sphere_case(3, 2, 0)
    fields, arrays = case.encode()
    arrays["X"] = arrays["X"] * 2  # stored points that the recorded law and seed do not reproduce
    back = Case.decode(fields, arrays)
    assert back.law is None and back.seed is None and torch.equal(back.X, 2 * case.X)


def test_subset_and_smaller_keep_the_case_type_and_its_kernel_under_test():
    X = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=torch.float64)
    K = X @ X.T
    sub = KernelCase(X, 3, kernel=K).subset([0, 2])
    assert torch.equal(sub.kernel_under_test, K[[0, 2]][:, [0, 2]]) and sub.law is None
    assert [c.depth for _, _, c in KernelCase(X, 3).smaller()] == [2] and not list(KernelCase(X, 3).smaller(True))
    with pytest.raises(NotImplementedError):
        KernelCase(X, 3, kernel=K).with_points(X)
    steps = [step for step, _, _ in NetworkCase(X, Architecture(2, (4, 2)), wide_layer=1).smaller()]
    assert steps == ["depth", "widths"]  # the wide layer keeps its width


FIXTURES = Path(__file__).parent / "fixtures" / "counterexample-v2"


@pytest.mark.parametrize("name", ["kernel-case", "network-seed-case"])
def test_version_2_folders_still_decode_and_replay(name):
    """Folders written by the version-2 writer (the case record of the old report adapters, the law as its repr):
    the case decodes (a bare family name keeps its law, a repr with parameters replays as explicit points) and
    the check replays on it."""
    record, _, _, case = load_report(FIXTURES / name)
    assert record["schema_version"] == 2
    if name == "kernel-case":
        assert isinstance(case, KernelCase) and case.depth == 2 and case.law == get_distribution("sphere")
    else:
        assert isinstance(case, NetworkCase) and case.weight_seed == 7 and case.wide_layer == 1 and case.law is None
    outcome = replay(FIXTURES / name)
    assert not outcome.fails  # the fixtures carry a planted verdict: the honest check holds


def test_engine_level_counterexample_is_replayable(tmp_path):
    """A failure of an engine-level property (a network rebuilt from its weight seed) is written, shrunk and
    replayed like a kernel property's; with an honest check the replay passes."""
    nc = NetworkCase(sphere_case(3, 2, 0).X, Architecture(2, (4,)), weight_seed=1)
    prop = get_property("empirical-methods-agree")
    planted = Verdict.inequality(2.0, 1.0, 0.0, scale=1.0, notes="planted")
    written = write_report(Counterexample(prop, None, nc, planted), tmp_path)
    assert written.record["replay"]["replayable"]
    assert not replay(written.path).fails


def test_rounding_keeps_the_requested_significant_digits():
    X = torch.tensor([[0.123456, -98765.4321, 0.0]], dtype=torch.float64)
    assert round_significant(X, 2).tolist() == [[0.12, -99000.0, 0.0]]


def test_unreplayable_kernel_is_said_so(tmp_path):
    subject = make_subject(lambda X: -1.0 * BUILTIN_SUBJECTS["h-infinity"](X, 2), "two-layer-h")  # no origin
    written = write_report(failing(get_property("psd"), subject, sphere_case(2, 2, 0)), tmp_path)
    assert not written.record["replay"]["replayable"]
    with pytest.raises(ReplayError, match="origin"):
        replay(written.path)


# ---------------------------------------------------------------------------------------------------------
# Concurrent writers


def _write_reports(root: str, worker: int, count: int, barrier) -> None:
    """A writer process: ``count`` full reports with a known failing verdict, started with the others."""
    subject = BUILTIN_SUBJECTS["h-infinity"]
    verdict = Verdict.inequality(-1.0, 0.0, 0.0, side="lower", notes=f"writer {worker}")
    barrier.wait()
    for k in range(count):
        case = sphere_case(2 + k, 2, seed=worker)
        write_report(Counterexample(get_property("psd"), subject, case, verdict), root, minimise_case=False)


def _write_folders(root: str, worker: int, count: int, barrier) -> None:
    """A writer process using only the primitives ``write_report`` relies on (no torch after the fork)."""
    barrier.wait()
    for k in range(count):
        with staged_folder(Path(root), "stress") as (staging, final):
            write_text_atomic(staging / "report.json", json.dumps({"notes": f"writer {worker}"}))
        append_index(Path(root), {"id": final.name, "notes": f"writer {worker}", "k": k})


def _run_writers(target, context: str, root: Path, workers: int, count: int) -> None:
    ctx = multiprocessing.get_context(context)
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=target, args=(str(root), w, count, barrier)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def _check_root(root: Path, workers: int, count: int) -> None:
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    index = read_index(root)  # every line parses as JSON
    assert len(folders) == len(index) == workers * count
    assert sorted(line["id"] for line in index) == folders
    assert not [name for name in os.listdir(root) if name.startswith(".")]  # no staging or temp files left
    records = [json.loads((root / f / "report.json").read_text()) for f in folders]
    notes = sorted(r["verdict"]["notes"] if "verdict" in r else r["notes"] for r in records)
    assert notes == sorted(f"writer {w}" for w in range(workers) for _ in range(count))


def test_concurrent_report_writers_lose_nothing(tmp_path):
    # full reports from two processes (spawned: no fork after torch's thread pools exist)
    _run_writers(_write_reports, "spawn", tmp_path, workers=2, count=4)
    _check_root(tmp_path, 2, 4)


def test_many_concurrent_writers_keep_the_index_valid(tmp_path):
    # a stress test of the folder and index primitives: 8 forked processes, 25 reports each
    _run_writers(_write_folders, "fork", tmp_path, workers=8, count=25)
    _check_root(tmp_path, 8, 25)


# ---------------------------------------------------------------------------------------------------------
# The run folder


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [value for name, value in attrs if name in ("href", "src")]


@pytest.mark.parametrize(
    "name, subject, figure, data",
    [
        ("bound:emp_lipschitz", None, Figure.QUOTIENTS, "layers"),
        ("bound:emp_feature_rank_zero", None, Figure.FEATURE_SPECTRA, "layers"),
        ("reference-agreement", "limiting-ntk", Figure.ENTRYWISE, "errors"),
        ("well-formed-symmetric", "nngp", Figure.ASYMMETRY, "errors"),
        ("lambda-min-agreement", "limiting-ntk", Figure.SPECTRA, "reference"),
        ("psd", "nngp", Figure.SPECTRUM, "K"),
    ],
)
def test_a_tightest_case_is_drawn_as_its_property_declares(name, subject, figure, data):
    """The figure is declared metadata (a property's ``figure``, a bound's ``measure``), never read from a name:
    the quotients for a Lipschitz bound, the feature spectra for a rank statement, the entrywise error for an
    agreement check, the spectrum for a spectral bound."""
    prop = get_property(name)
    result = run_property(prop, subject and BUILTIN_SUBJECTS[subject], settings=settings(max_examples=3, database=None))
    drawn = case_figure(prop, result.subject, result.tightest_case)
    assert prop.figure is drawn.figure is figure
    value = getattr(drawn, data)
    assert value is not None and len(value) > 0
    assert entry_plot(Entry(result)).startswith(b"\x89PNG")


def test_run_folder_is_complete_and_self_contained(tmp_path):
    subject = planted_subject(tmp_path)
    pairs = [
        (get_property("reference-agreement"), subject),  # fails: a counterexample report and a link
        (get_property("psd"), BUILTIN_SUBJECTS["h-infinity"]),  # passes
        (get_property("well-formed-symmetric"), BUILTIN_SUBJECTS["nngp"]),  # errors (runner below)
    ]

    def runner(prop, subj):
        if prop.name == "well-formed-symmetric":
            raise RuntimeError("planted crash")
        return run_property(prop, subj)

    out = run_pairs(pairs, tmp_path / "out", profile="dev", command="test", runner=runner, tty=False)
    assert out.exit_code == 1
    assert [e.status for e in out.entries] == ["failed", "passed", "error"]
    for name in ("summary.md", "summary.json", "index.html"):
        assert (out.folder / name).is_file()
    summary = json.loads((out.folder / "summary.json").read_text())
    validate(summary, "summary")
    assert summary["counts"] == {"passed": 1, "failed": 1, "finding": 0, "skipped": 0, "error": 1}
    assert "planted crash" in summary["properties"][2]["error"]
    report = out.folder / summary["properties"][0]["report"]
    validate(json.loads((report / "report.json").read_text()), "counterexample")

    page = _Links()
    page.feed((out.folder / "index.html").read_text())
    page.close()
    assert {"html", "table", "img", "a"} <= set(page.tags)
    assert page.refs and all(r.startswith("data:image/png;base64,") or (out.folder / r).is_file() for r in page.refs)
    assert any(r.endswith("report.md") for r in page.refs)
