"""Fault injection: the tools around the checks, attacked as a hostile user and a CI system would.

One section per problem of the reliability issue (1 replay integrity, 2 selections that match nothing, 3 the
nightly job's inputs, 4 promotion of a filtered night, 5 exit codes, 6 interrupts, 7 smaller ones). Every
command must answer a user's mistake with one line and exit 2, a broken environment or tool with one line, a
log file and exit 3, and keep what finished. Read-only folders are read-only bind mounts (permission bits do
not stop root); the tests that need one are skipped, saying why, where mounting is impossible.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings as Settings

from ntkverify import bounds
from ntkverify.device import cuda_available
from ntkverify.properties.core import get_property
from ntkverify.properties.runner import PropertyResult
from ntkverify.properties.verify import UsageError, load_callable, make_subject, verify
from ntkverify.reports import nightly, nightly_output, validate, write_report
from ntkverify.reports.job import RESULTS, run_pairs
from ntkverify.reports.summary import Entry
from ntkverify.shell.cli import main
from ntkverify.shell.profiles import load_profile
from tests.test_nightly import at_most, integer_property
from tests.test_plugin import pytest_in
from tests.test_reports import BUGGY, FIXED, failing, planted_subject, sphere_case

CHEAP = ["--property", "diagonal-identity", "--max-examples", "3", "--no-benchmarks"]  # a night of seconds


@pytest.fixture(autouse=True)
def _process_state(monkeypatch):
    """Commands load Hypothesis profiles and set NTKVERIFY_DEVICE for the process: pin the device, undo both."""
    monkeypatch.setenv("NTKVERIFY_DEVICE", "cpu")
    for name in ("NTKVERIFY_PROFILE", "CI"):
        monkeypatch.delenv(name, raising=False)
    previous = Settings.get_current_profile_name()
    yield
    load_profile(previous)


def one_line(err: str, *fragments: str) -> str:
    """The error output is one line, without a traceback, containing every fragment."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def logged_traceback(line: str) -> str:
    """The log file named by an exit-3 line holds the traceback."""
    path = Path(line.rsplit("traceback in ", 1)[1].rstrip(")"))
    text = path.read_text()
    path.unlink()
    assert "Traceback (most recent call last)" in text
    return text


@pytest.fixture
def read_only(tmp_path):
    """``read_only(path)`` makes the folder ``path`` a read-only bind mount of itself (undone afterwards)."""
    mounted = []

    def make(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        if shutil.which("mount") is None:
            pytest.skip("cannot make a read-only bind mount here: no mount command")
        for args in (["mount", "--bind", str(path), str(path)], ["mount", "-o", "remount,ro,bind", str(path)]):
            proc = subprocess.run(args, capture_output=True, text=True)
            if proc.returncode:
                if mounted or args[1] == "-o":
                    subprocess.run(["umount", str(path)], capture_output=True)
                pytest.skip(f"cannot make a read-only bind mount here: {proc.stderr.strip()}")
        mounted.append(path)
        return path

    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", str(path)], check=True)


# ---------------------------------------------------------------------------------------------------------
# 1. Replay integrity


@pytest.fixture
def report(tmp_path) -> Path:
    """A counterexample report of the planted two-point bug (not minimised: the replay is what is tested)."""
    subject = planted_subject(tmp_path)
    case = sphere_case(10, 3, seed=1)
    return write_report(
        failing(get_property("reference-agreement"), subject, case), tmp_path / "r", minimise_case=False
    ).path


def test_repro_from_another_folder_replays_the_recorded_kernel(tmp_path, monkeypatch, capsys):
    first, other = tmp_path / "first", tmp_path / "other"
    for folder, source in ((first, BUGGY), (other, FIXED)):
        folder.mkdir()
        (folder / "kern.py").write_text(source)
    monkeypatch.chdir(first)
    subject = make_subject(load_callable("kern.py:kernel"), "two-layer-h", origin="kern.py:kernel")
    written = write_report(
        failing(get_property("reference-agreement"), subject, sphere_case(10, 3, seed=1)),
        tmp_path / "r",
        minimise_case=False,
    )
    assert written.record["subject"]["origin"] == f"{(first / 'kern.py').resolve()}:kernel"
    monkeypatch.chdir(other)  # a kern.py that passes lies here: it must not be the one replayed
    assert main(["repro", str(written.path)]) == 1
    assert "FAILS (still reproduces)" in capsys.readouterr().out


def _rewrite_npz(folder: Path, **arrays) -> bytes:
    with np.load(folder / "case.npz") as data:
        new = {k: data[k] for k in data.files} | arrays
    path = folder / "case.npz"
    np.savez(path, **new)
    return path.read_bytes()


TAMPERINGS = {
    "X zeroed": lambda f: _rewrite_npz(f, X=np.zeros_like(np.load(f / "case.npz")["X"])),
    "X integers": lambda f: _rewrite_npz(f, X=np.load(f / "case.npz")["X"].astype(np.int64)),
    "truncated": lambda f: (f / "case.npz").write_bytes((f / "case.npz").read_bytes()[:200]),
    "empty": lambda f: (f / "case.npz").write_bytes(b""),
    "random bytes": lambda f: (f / "case.npz").write_bytes(np.random.default_rng(0).bytes(4096)),
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_changed_case_is_refused_never_fixed_nor_still_failing(report, capsys, how):
    TAMPERINGS[how](report)
    assert main(["repro", str(report)]) == 2
    one_line(capsys.readouterr().err, "usage error", "case.npz changed since the report was written")


@pytest.mark.parametrize("how", ["X integers", "truncated", "empty", "random bytes"])
def test_forged_case_hash_still_cannot_pass_a_corrupt_case(report, capsys, how):
    """Even with report.json edited to the tampered file's hash, a corrupt or integer case is refused."""
    import hashlib

    TAMPERINGS[how](report)
    record = json.loads((report / "report.json").read_text())
    record["case_sha256"] = hashlib.sha256((report / "case.npz").read_bytes()).hexdigest()
    (report / "report.json").write_text(json.dumps(record))
    assert main(["repro", str(report)]) == 2
    line = one_line(capsys.readouterr().err, "usage error")
    assert ("dtype int64" if how == "X integers" else "not a readable .npz archive") in line
    assert "allow_pickle" not in line


CORRUPT_RECORDS = {
    "[]": "[]",
    "null": "null",
    "{}": "{}",
    "not JSON": "{'schema': ",
    "empty": "",
    "missing verdict": "drop:verdict",
    "wrong type": "set:verdict=5",
}


@pytest.mark.parametrize("how", CORRUPT_RECORDS)
def test_corrupt_report_json_is_a_usage_error(report, capsys, how):
    text = CORRUPT_RECORDS[how]
    if ":" in text and text.split(":")[0] in ("drop", "set"):
        record = json.loads((report / "report.json").read_text())
        action, key = text.split(":")
        if action == "drop":
            del record[key]
        else:
            record[key.split("=")[0]] = int(key.split("=")[1])
        text = json.dumps(record)
    (report / "report.json").write_text(text)
    assert main(["repro", str(report)]) == 2
    one_line(capsys.readouterr().err, "usage error", "cannot replay")


def test_changed_kernel_is_refused_unless_allowed(report, tmp_path, capsys):
    source = tmp_path / "planted_kernels.py"
    source.write_text(BUGGY + "\n# an edit that changes nothing but the file\n")
    assert main(["repro", str(report)]) == 2
    one_line(capsys.readouterr().err, "changed since the report", "--allow-changed-kernel")
    assert main(["repro", str(report), "--allow-changed-kernel"]) == 1  # allowed, and still wrong: says so
    out = capsys.readouterr().out
    assert "FAILS (still reproduces)" in out and "changed since the report" in out
    source.unlink()
    assert main(["repro", str(report)]) == 2
    one_line(capsys.readouterr().err, "no longer exists")


# ---------------------------------------------------------------------------------------------------------
# 2. A selection that matches nothing


NAN_KERNEL = "import torch\n\ndef kernel(X):\n    return torch.full((X.shape[0], X.shape[0]), float('nan'))\n"


def test_check_with_a_property_typo_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "nan_kernel.py").write_text(NAN_KERNEL)
    spec = f"{tmp_path / 'nan_kernel.py'}:kernel"
    assert main(["check", spec, "--depth", "2", "--property", "PSD", "--report-dir", str(tmp_path / "r")]) == 2
    one_line(capsys.readouterr().err, "'PSD'", "choose from", "psd")


def test_verify_with_a_property_typo_or_an_empty_selection_raises(tmp_path):
    kernel = planted_subject(tmp_path).kernel
    for selection in (["PSD"], [], ["psd", "no-such-property"]):
        with pytest.raises(UsageError, match="no property named"):
            verify(kernel, "two-layer-h", properties=selection)


def test_plugin_property_typo_and_broken_options_are_one_line_usage_errors(tmp_path, read_only):
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    spec = planted_subject(tmp_path).origin
    cases = {
        "--ntk-property": [f"--ntk-kernel={spec}", "--ntk-claim=two-layer-h", "--ntk-property=PSD"],
        "--ntk-kernel": ["--ntk-kernel=no_such_file.py:kernel"],
        "--ntk-report-dir": [f"--ntk-report-dir={read_only(tmp_path / 'ro')}"],
    }
    for option, args in cases.items():
        proc = pytest_in(tmp_path, "-q", *args, "test_nothing.py")
        assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage-error status
        one_line(proc.stderr, "ERROR:", option)


# ---------------------------------------------------------------------------------------------------------
# 3. The nightly job checks its inputs before spending its budget


@pytest.fixture
def no_night(monkeypatch):
    """Fails the test if a night starts running its pairs."""
    ran = []
    monkeypatch.setattr(nightly, "search", lambda *a, **k: ran.append(1) or [])
    yield
    assert not ran, "the night started before its inputs were checked"


@pytest.fixture(scope="module")
def baseline_text(tmp_path_factory) -> str:
    """A real, valid baseline from one cheap night (the profile in force is restored afterwards)."""
    previous, folder = Settings.get_current_profile_name(), tmp_path_factory.mktemp("state")
    path = folder / "baseline.json"
    try:
        assert nightly.main(["--output", str(folder / "first"), *CHEAP, "--baseline", str(path), "--promote"]) == 0
    finally:
        load_profile(previous)
    return path.read_text()


BAD_BASELINES = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "[]": lambda text: "[]",
    "null": lambda text: "null",
    "wrong schema": lambda text: json.dumps({"schema": "something-else"}),
    "wrong types": lambda text: text.replace('"status": "passed"', '"status": 5', 1),
}


@pytest.mark.parametrize("how", BAD_BASELINES)
def test_bad_baseline_fails_in_seconds(tmp_path, baseline_text, capsys, no_night, how):
    baseline = tmp_path / "baseline.json"
    baseline.write_text(BAD_BASELINES[how](baseline_text))
    start = time.perf_counter()
    assert nightly.main(["--output", str(tmp_path / "night"), *CHEAP, "--baseline", str(baseline)]) == 2
    assert time.perf_counter() - start < 10
    one_line(capsys.readouterr().err, "usage error", "baseline")


@pytest.mark.parametrize(
    "args",
    [
        ["--margin-drop", "nan"],
        ["--margin-drop", "inf"],
        ["--time-budget", "inf"],
        ["--time-budget", "nan"],
        ["--bench-threshold", "nan"],
        ["--max-examples", "0"],
    ],  # fmt: skip
    ids=lambda a: " ".join(a),
)
def test_non_finite_numbers_are_usage_errors(tmp_path, capsys, no_night, args):
    assert nightly.main(["--output", str(tmp_path / "n"), "--property", "psd", "--no-benchmarks", *args]) == 2
    one_line(capsys.readouterr().err, "usage error", args[0])


@pytest.mark.parametrize("where", ["output", "history", "db", "baseline"])
def test_read_only_state_fails_before_the_night(tmp_path, read_only, capsys, no_night, where):
    ro = read_only(tmp_path / "ro")
    paths = {"output": tmp_path / "out", "history": tmp_path / "h.jsonl", "db": tmp_path / "db"}
    extra = ["--baseline", str(ro / "baseline.json"), "--promote"] if where == "baseline" else []
    if where in paths:
        paths[where] = ro / paths[where].name
    args = [a for key, path in paths.items() for a in (f"--{key}", str(path))]
    assert nightly.main([*args, *extra, *CHEAP]) == 2
    one_line(capsys.readouterr().err, "usage error", "writable")


def test_database_path_that_is_a_file_is_an_error(tmp_path, capsys, no_night):
    (tmp_path / "db").write_text("not a folder")
    assert nightly.main(["--output", str(tmp_path / "out"), "--db", str(tmp_path / "db"), *CHEAP]) == 2
    one_line(capsys.readouterr().err, "example database", "not a writable folder")


def test_malformed_history_lines_are_skipped_and_reported(tmp_path, capsys):
    history = tmp_path / "history.jsonl"
    good = {"run_id": "n1", "started": "2025-01-01T00:00:00+00:00", "elapsed_s": 1.0, "regressions": 0,
            "properties": {"p": {"status": "passed", "examples": 1, "margin": 0.5, "elapsed_s": 0.1}},
            "benchmarks": {}}  # fmt: skip
    wrong_types = {**good, "run_id": 5, "properties": {"p": {"status": "passed", "margin": "high"}}}
    lines = [json.dumps(good), json.dumps(wrong_types), "[]", '"text"', "null", json.dumps(good)[:30]]
    history.write_text("\n".join(lines) + "\n")
    assert nightly_output.scan_history(history) == ([good], [2, 3, 4, 5, 6])
    out = tmp_path / "out"
    assert nightly.main(["--output", str(out), "--history", str(history), *CHEAP]) == 0
    doc = json.loads((out / "nightly.json").read_text())
    assert any("skipped 5 malformed lines (2, 3, 4, 5, 6)" in note for note in doc["comparison"]["notes"])
    assert "Trends over 2 nights" in (out / "nightly.html").read_text()


def test_two_nights_on_one_state_do_not_run_together(tmp_path, capsys, no_night):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / ".nightly.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the first night holds the state
    try:
        assert nightly.main(["--output", str(out), *CHEAP]) == 3
    finally:
        os.close(fd)
    logged_traceback(one_line(capsys.readouterr().err, "environment error", "another night is running"))


# ---------------------------------------------------------------------------------------------------------
# 4. Promotion of a filtered night merges into the baseline


def test_filtered_promotion_keeps_the_rest_of_the_baseline(tmp_path):
    base = Settings(Settings.get_profile("dev"), max_examples=5)
    a, b = integer_property("planted:alpha", at_most(10**7)), integer_property("planted:beta", at_most(10**7))
    path = tmp_path / "baseline.json"

    def night(pairs, selection):
        config = nightly.NightConfig(
            output=tmp_path / "out", db=None, history=tmp_path / "h.jsonl", baseline=path, promote=True,
            selection={"properties": selection, "kinds": None},
        )  # fmt: skip
        return nightly.run_night(pairs, config, base=base, log=str)

    assert night([(a, None), (b, None)], None).promoted
    assert night([(a, None)], ["planted:alpha"]).promoted
    kept = json.loads(path.read_text())
    validate(kept, "nightly")
    assert {p["label"] for p in kept["properties"]} == {"planted:alpha", "planted:beta"}
    # the kept entry is still compared: beta stopping would be flagged on the next full night
    regressions = night([(a, None)], None).document["comparison"]["regressions"]
    assert [(r["kind"], r["name"]) for r in regressions] == [("stopped-running", "planted:beta")]


# ---------------------------------------------------------------------------------------------------------
# 5. Exit codes: the tool breaking is never "a counterexample was found"

KERNELS = """
import torch
from ntkverify import analytic


def huge(X):
    return 1e155 * analytic.limiting_ntk(X, 2)


def meta(X):
    return torch.empty(X.shape[0], X.shape[0], device="meta")


def good(X):
    return analytic.limiting_ntk(X, 2)
"""


@pytest.fixture
def kernels(tmp_path) -> str:
    (tmp_path / "kernels.py").write_text(KERNELS)
    return str(tmp_path / "kernels.py")


def check(kernels: str, name: str, tmp_path, *args) -> int:
    return main(["check", f"{kernels}:{name}", "--depth", "2", "--report-dir", str(tmp_path / "r"), *args])


@pytest.mark.skipif(cuda_available(), reason="a CUDA device is present")
def test_missing_cuda_is_an_environment_failure_with_a_log(kernels, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NTKVERIFY_DEVICE", "cuda")
    assert check(kernels, "good", tmp_path) == 3
    logged_traceback(one_line(capsys.readouterr().err, "environment error", "CUDA"))


def test_out_of_range_sigma_is_a_usage_error(kernels, tmp_path, capsys):
    assert check(kernels, "good", tmp_path, "--sigma-w", "1e200") == 2
    one_line(capsys.readouterr().err, "usage error", "sigma_w")


def test_meta_device_output_is_a_usage_error(kernels, tmp_path, capsys):
    assert check(kernels, "meta", tmp_path) == 2
    one_line(capsys.readouterr().err, "usage error", "meta device")


def test_huge_kernel_is_never_a_silent_traceback(kernels, tmp_path, capsys):
    """1e155·K: either the tool reports the wrong kernel (exit 1, with its failures) or it failed (exit 3, one
    line and a log) — never a traceback read as "bug found"."""
    code = check(kernels, "huge", tmp_path, "--property", "reference-agreement", "--profile", "dev")
    out, err = capsys.readouterr()
    assert code in (1, 3) and "Traceback" not in out + err
    if code == 1:
        assert "failed   reference-agreement" in out
    else:
        logged_traceback(one_line(err, "internal error"))


def test_internal_error_is_exit_3_with_the_traceback_in_a_log(kernels, tmp_path, capsys, monkeypatch):
    verify_module = sys.modules["ntkverify.properties.verify"]  # the package re-exports the function verify

    def broken(*args, **kwargs):
        raise RuntimeError("planted internal failure")

    monkeypatch.setattr(verify_module, "verify", broken)
    assert check(kernels, "good", tmp_path) == 3
    text = logged_traceback(one_line(capsys.readouterr().err, "internal error", "RuntimeError", "planted"))
    assert "planted internal failure" in text


def test_read_only_report_folders_are_usage_errors(kernels, tmp_path, read_only, capsys):
    ro = read_only(tmp_path / "ro")
    assert main(["check", f"{kernels}:good", "--depth", "2", "--report-dir", str(ro / "reports")]) == 2
    one_line(capsys.readouterr().err, "usage error", "--report-dir", "writable")
    assert main(["run", "--property", "psd", "--output", str(ro)]) == 2
    one_line(capsys.readouterr().err, "usage error", "--output", "writable")


# ---------------------------------------------------------------------------------------------------------
# 6. Interrupts lose nothing that finished


def _interrupting_runner(after: int):
    calls = []

    def runner(prop, subject):
        calls.append(prop.name)
        if len(calls) > after:
            raise KeyboardInterrupt
        return PropertyResult(prop, subject, examples=1, elapsed=0.01)

    return runner


def test_interrupted_run_leaves_a_partial_report(tmp_path):
    pairs = [(get_property(name), None) for name in ("empirical-methods-agree", "lipschitz-scaling")] * 2
    with pytest.raises(KeyboardInterrupt, match="partial report of 2 finished"):
        run_pairs(pairs, tmp_path, profile="dev", command="test", runner=_interrupting_runner(2), stream=io.StringIO())
    (folder,) = tmp_path.iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    validate(summary, "summary")
    assert summary["partial"] and summary["exit_code"] == 3 and len(summary["not_run"]) == 2
    assert len(summary["properties"]) == 2 == len((folder / RESULTS).read_text().splitlines())
    assert "PARTIAL" in (folder / "summary.md").read_text() and "PARTIAL" in (folder / "index.html").read_text()


def test_interrupt_while_drawing_plots_keeps_the_summary(tmp_path, monkeypatch):
    import ntkverify.reports.summary as summary_module

    def interrupted(entry: Entry):
        raise KeyboardInterrupt

    monkeypatch.setattr(summary_module, "entry_plot", interrupted)
    pairs = [(get_property("empirical-methods-agree"), None)]
    with pytest.raises(KeyboardInterrupt):
        run_pairs(pairs, tmp_path, profile="dev", command="test", runner=_interrupting_runner(5), stream=io.StringIO())
    (folder,) = tmp_path.iterdir()
    assert {p.name for p in folder.iterdir()} >= {"summary.json", "summary.md", "index.html", RESULTS}


def test_an_interrupt_that_python_drops_still_stops_the_run(tmp_path, capsys):
    """A KeyboardInterrupt raised by the signal handler inside a garbage-collector callback is printed and dropped
    by Python; the job still stops at its next property and writes a partial report."""
    from ntkverify.reports import exits

    def runner(prop, subject):
        try:
            exits._on_interrupt(signal.SIGTERM, None)  # as if it fired where Python ignores exceptions
        except KeyboardInterrupt:
            pass
        return PropertyResult(prop, subject, examples=1, elapsed=0.01)

    def job() -> int:
        pairs = [(get_property("psd"), None)] * 3
        return run_pairs(pairs, tmp_path, profile="dev", command="t", runner=runner, stream=io.StringIO()).exit_code

    assert exits.run_command("ntkverify run", job) == 3
    one_line(capsys.readouterr().err, "interrupted", "SIGTERM", "partial report of 1 finished")
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "summary.json").read_text())["not_run"] == ["psd", "psd"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NTKVERIFY_DEVICE": "cpu"}
    env.pop("CI", None)
    env.pop("NTKVERIFY_PROFILE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "ntkverify.shell.cli", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(proc: subprocess.Popen, prefix: str, count: int = 2) -> None:
    """Read the command's output until ``count`` lines start with ``prefix`` (properties that finished)."""
    for line in proc.stdout:
        count -= line.startswith(prefix)
        if count <= 0:
            return
    pytest.fail(f"fewer lines starting with {prefix!r} than expected: {proc.stderr.read()}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_writes_a_partial_report(tmp_path, sig):
    proc = _start(["run", "--output", str(tmp_path)], tmp_path)  # every property: far longer than the signal
    _wait_for(proc, "[")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 3 and err.strip(), out[-2000:] + err
    one_line(err, "interrupted", "partial report of")
    (folder,) = [p for p in tmp_path.iterdir() if p.name.startswith("run-")]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["partial"] and len(summary["properties"]) >= 2 and summary["not_run"]
    assert len((folder / RESULTS).read_text().splitlines()) == len(summary["properties"])


def test_signal_mid_night_writes_a_partial_night(tmp_path):
    out, history = tmp_path / "out", tmp_path / "history.jsonl"
    proc = _start(["nightly", "--output", str(out), "--no-benchmarks", "--max-examples", "3",
                   "--baseline", str(tmp_path / "baseline.json"), "--promote"], tmp_path)  # fmt: skip
    _wait_for(proc, "[")
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 3 and err.strip(), stdout[-2000:] + err
    one_line(err, "interrupted", "SIGTERM", "partial night")
    doc = json.loads((out / "nightly.json").read_text())
    validate(doc, "nightly")
    statuses = [p["status"] for p in doc["properties"]]
    assert doc["partial"] and "passed" in statuses, statuses
    assert "PARTIAL" in (out / "nightly.html").read_text()
    assert not history.exists() and not (tmp_path / "baseline.json").exists()


def test_interrupt_during_the_benchmarks_keeps_the_finished_pairs(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nightly, "run_benchmarks", interrupted)
    config = nightly.NightConfig(
        output=tmp_path / "out", db=None, history=tmp_path / "h.jsonl", benchmarks=nightly.BenchmarkOptions()
    )
    pair = (integer_property("planted:alpha", at_most(10**7)), None)
    with pytest.raises(KeyboardInterrupt, match="partial night"):
        nightly.run_night([pair], config, base=Settings(Settings.get_profile("dev"), max_examples=5), log=str)
    doc = json.loads((tmp_path / "out" / "nightly.json").read_text())
    assert doc["partial"] and doc["properties"][0]["status"] == "passed" and "benchmarks" in doc["not_reached"]
    assert not (tmp_path / "h.jsonl").exists()


# ---------------------------------------------------------------------------------------------------------
# 7. Smaller problems


@pytest.mark.parametrize("env", [{"NTKVERIFY_PROFILE": "ci"}, {"CI": "true"}], ids=["NTKVERIFY_PROFILE", "CI"])
def test_run_honours_the_profile_of_the_environment(tmp_path, monkeypatch, capsys, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["run", "--property", "well-formed", "--kind", "DET", "--output", str(tmp_path)]) == 0
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "summary.json").read_text())["profile"] == "ci"


@pytest.mark.parametrize(
    "output",
    [
        lambda n: torch.ones(n, n, dtype=torch.int64),
        lambda n: torch.ones(n, n, dtype=torch.bool),
        lambda n: np.ones((n, n), dtype=np.int64),
        lambda n: np.ones((n, n), dtype=bool),
    ],  # fmt: skip
    ids=["torch int", "torch bool", "numpy int", "numpy bool"],
)
def test_integer_and_boolean_outputs_are_refused_alike(output):
    with pytest.raises(UsageError, match="expected real floats"):
        verify(lambda X: output(X.shape[0]), "psd-kernel", properties=["psd"])


def test_tiny_data_are_not_called_zero_rows():
    X = torch.nn.functional.normalize(torch.randn(4, 3, dtype=torch.float64), dim=1) * 1e-200
    with pytest.raises(ValueError, match="underflows to 0") as info:
        bounds.get_bound("hermite_gershgorin_lower").margin(bounds.KernelCase(X, depth=2))
    assert "some x_i = 0" not in str(info.value)


def test_night_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        out, path = tmp_path / "out", tmp_path / "baseline.json"
        assert nightly.main(["--output", str(out), *CHEAP, "--baseline", str(path), "--promote"]) == 0
    finally:
        os.umask(previous)
    for f in (out / "nightly.json", out / "nightly.html", out / "nightly.md", path, tmp_path / "history.jsonl"):
        assert f.stat().st_mode & 0o777 == 0o644, f
