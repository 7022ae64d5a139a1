"""pytest plugin of ntkverify (entry point ``pytest11``).

Loading the plugin registers the Hypothesis profiles and loads the one chosen by the environment
(:mod:`ntkverify.shell.profiles`); Hypothesis' own ``--hypothesis-profile`` option, applied later, still wins.

It also adds:

* ``--ntk-device cpu|cuda`` — the device policy of the run (sets ``NTKVERIFY_DEVICE``, see
  :mod:`ntkverify.device`);
* ``--ntk-report-dir DIR`` — a failing property writes a counterexample report there
  (:mod:`ntkverify.reports.counterexample`), through the ``ntk_record`` fixture;
* ``--ntk-kernel MODULE:CALLABLE`` with ``--ntk-claim``, ``--ntk-depth``, ``--ntk-sigma-w``, ``--ntk-sigma-b``,
  ``--ntk-domain`` —
  the suite also runs every property that applies to that kernel's claim (or only those named by
  ``--ntk-property``), as extra items (``test_user_kernel[...]``), exactly as ``ntkverify check`` would;
* these options are validated when pytest starts: a kernel that cannot be loaded or checked, a property name
  that matches nothing, or a report folder that cannot be written is a one-line usage error (pytest's exit 4),
  never a collection traceback;
* the markers ``gpu`` (skipped cleanly without CUDA), ``slow`` and ``nightly``, so that
  ``pytest --pyargs ntkverify.properties`` works outside the repository;
* the fixture ``ntk_record(result)``: records a :class:`~ntkverify.properties.runner.PropertyResult` as JUnit
  properties (kind, examples, failures, tightest margin — CI dashboards chart them) and writes its report;
* a terminal summary: per property, examples run, failures and the tightest margin found (collected from the
  JUnit properties of each test report, so it also works under pytest-xdist).
"""

from __future__ import annotations

import os

import pytest

from ntkverify.device import ENV_VAR as DEVICE_ENV_VAR
from ntkverify.device import cuda_available, resolve_device
from ntkverify.distributions import DOMAINS
from ntkverify.properties.subjects import CLAIMS
from ntkverify.shell.profiles import load_profile

load_profile()

MARKERS = {
    "gpu": "needs a CUDA device; skipped cleanly without one",
    "slow": "longer-running test, excluded from the default run with -m 'not slow'",
    "nightly": "only in the nightly job",
}
_PREFIX = "ntk_"  # JUnit property names written by ntk_record


def pytest_addoption(parser):
    group = parser.getgroup("ntkverify", "NTK property-based verification")
    group.addoption("--ntk-device", choices=("cpu", "cuda"), default=None, help="device policy (NTKVERIFY_DEVICE)")
    group.addoption("--ntk-report-dir", default=None, help="write counterexample reports of failing properties here")
    group.addoption("--ntk-kernel", default=None, metavar="MODULE:CALLABLE", help="also verify this kernel function")
    group.addoption("--ntk-claim", choices=CLAIMS, default="relu-ntk", help="what --ntk-kernel computes")
    group.addoption("--ntk-depth", type=int, default=None, help="number of weight matrices L of --ntk-kernel")
    group.addoption("--ntk-sigma-w", type=float, default=None, help="standard parameterisation weight std")
    group.addoption("--ntk-sigma-b", type=float, default=None, help="standard parameterisation bias std")
    group.addoption(
        "--ntk-property", action="append", default=None, help="only this property of --ntk-kernel (repeatable)"
    )
    group.addoption("--ntk-domain", choices=DOMAINS, default="any", help="where --ntk-kernel is defined")


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    device = config.getoption("ntk_device", None)
    if device is not None:
        try:
            resolve_device(device)
        except ValueError as exc:
            raise pytest.UsageError(f"--ntk-device: {exc}") from None
        os.environ[DEVICE_ENV_VAR] = device
    report_dir = config.getoption("ntk_report_dir", None)
    if report_dir:
        from ntkverify.reports.exits import InputError, writable_folder

        try:
            writable_folder(report_dir, "--ntk-report-dir")
        except InputError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[_USER_PROPERTIES] = user_properties(config)
    config.pluginmanager.register(_Summary(), "ntkverify-summary")


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu``-marked tests cleanly when no CUDA device is present."""
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------------------------------------------------
# The user's kernel as extra items


_USER_PROPERTIES = pytest.StashKey[list]()


def user_properties(config) -> list:
    """``(property, subject)`` pairs of ``--ntk-kernel`` (empty without it), as ``verify`` selects them; a kernel
    that cannot be checked at all, or an ``--ntk-property`` that names none of its properties, is a usage error of
    the pytest run."""
    spec = config.getoption("ntk_kernel", None)
    if not spec:
        if config.getoption("ntk_property", None):
            raise pytest.UsageError("--ntk-property needs --ntk-kernel")
        return []
    from ntkverify.properties.verify import UsageError, load_callable, make_subject, select_for

    try:
        subject = make_subject(
            load_callable(spec),
            config.getoption("ntk_claim"),
            depth=config.getoption("ntk_depth"),
            sigma_w=config.getoption("ntk_sigma_w"),
            sigma_b=config.getoption("ntk_sigma_b"),
            domain=config.getoption("ntk_domain"),
            origin=spec,
        )
    except UsageError as exc:
        raise pytest.UsageError(f"--ntk-kernel {spec}: {exc}") from None
    try:
        return [(p, subject) for p in select_for(subject, config.getoption("ntk_property", None))]
    except UsageError as exc:
        raise pytest.UsageError(f"--ntk-property: {exc}") from None


def pytest_generate_tests(metafunc):
    """Parametrise ``ntk_user_property`` over the properties that apply to ``--ntk-kernel`` (as in ``verify``)."""
    if "ntk_user_property" not in metafunc.fixturenames:
        return
    pairs = metafunc.config.stash[_USER_PROPERTIES]
    params = [pytest.param(p, s, id=f"{p.name}[{s.name}]") for p, s in pairs] or [
        pytest.param(None, None, id="no-ntk-kernel", marks=pytest.mark.skip(reason="no --ntk-kernel"))
    ]
    metafunc.parametrize("ntk_user_property,ntk_user_subject", params)


# ---------------------------------------------------------------------------------------------------------
# Recording results


@pytest.fixture
def ntk_record(request, record_property):
    """``ntk_record(result)``: the result record of every job (``ntkverify.reports.summary.result_record``) as
    JUnit properties (and, with ``--ntk-report-dir``, as a line of its ``results.jsonl``) and, when the property
    failed, its counterexample report there (path returned, also recorded as ``ntk_report``). A report that
    cannot be written is recorded as ``ntk_report_error`` and never hides the counterexample itself."""
    report_dir = request.config.getoption("ntk_report_dir", None)

    def record(result):
        from ntkverify.reports.job import RESULTS
        from ntkverify.reports.store import append_jsonl
        from ntkverify.reports.summary import Entry, result_record

        entry = Entry(result)
        if report_dir and result.counterexample is not None:
            from ntkverify.reports.counterexample import write_result_report

            try:
                entry.report = write_result_report(result, report_dir, found_by=f"pytest {request.node.nodeid}").path
            except OSError as exc:
                record_property(f"{_PREFIX}report_error", f"{type(exc).__name__}: {exc}")
        line = result_record(entry)
        for key in ("label", "kind", "status", "examples", "failures", "tightest_margin"):
            record_property(f"{_PREFIX}{key}", line[key])
        if line["margins"]["count"]:
            record_property(f"{_PREFIX}margin_p05", line["margins"]["p05"])
            record_property(f"{_PREFIX}margin_median", line["margins"]["median"])
        if entry.report is not None:
            record_property(f"{_PREFIX}report", str(entry.report))
        if report_dir:
            append_jsonl(os.path.join(report_dir, RESULTS), line)
        return entry.report

    return record


class _Summary:
    """Collects the ``ntk_*`` JUnit properties of every test report and prints one table at the end."""

    def __init__(self):
        self.rows: list[dict] = []

    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        props = {k[len(_PREFIX) :]: v for k, v in report.user_properties if k.startswith(_PREFIX)}
        if "examples" in props:
            self.rows.append(props)

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rows:
            return
        tr = terminalreporter
        tr.write_sep("=", "ntkverify properties")
        width = max(len(str(r["label"])) for r in self.rows)
        tr.write_line(f"{'property':{width}s}  kind  {'status':8s} {'examples':>8s} {'failures':>8s}  tightest margin")
        for r in sorted(self.rows, key=lambda r: str(r["label"])):
            margin = r["tightest_margin"]
            margin = f"{margin:.3g}" if isinstance(margin, float) else str(margin)
            line = (
                f"{r['label']:{width}s}  {r['kind']:4s}  {r['status']:8s} {r['examples']:8d} {r['failures']:8d}  "
                f"{margin}"
            )
            if "report" in r:
                line += f"  report: {r['report']}"
            tr.write_line(line)
