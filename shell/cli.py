"""The ``ntkverify`` command line: ``run`` (the main job), ``check`` (verify a user's kernel), ``repro`` (replay a
counterexample report), ``list`` (the properties with their citations), ``nightly`` (the nightly job).

Every command runs under one exit-code contract (:mod:`ntkverify.reports.exits`): 0 all checks hold; 1 a
counterexample, a regression, or a failure that still reproduces; 2 usage or input error; 3 environment or
internal failure (one line on stderr, the traceback in a log file; ``run --scheduler``: the
scheduler cannot be reached, or a pair was lost: docs/distributed.md).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from ntkverify.properties.subjects import SUBJECTS
from ntkverify.reports import users_kernel
from ntkverify.reports.executor import add_arguments as executor_arguments
from ntkverify.reports.exits import HELP, InputError, checked_device, run_command, writable_folder
from ntkverify.shell.profiles import PROFILES, load_profile, register_profiles


def _load_profile(name: str | None) -> str:
    """The profile named on the command line, else the environment's (``NTKVERIFY_PROFILE``, ``CI``)."""
    try:
        return load_profile(name)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _check(args) -> int:
    from ntkverify.properties.verify import load_callable, verify
    from ntkverify.reports.counterexample import default_root, write_result_report
    from ntkverify.reports.summary import write_check_summary

    _set_device(None)
    profile = _load_profile(args.profile)
    root = Path(args.report_dir) if args.report_dir else default_root("check")
    writable_folder(root if args.report_dir else root.parent, "--report-dir")
    result = verify(
        load_callable(args.kernel),
        args.claim,
        depth=args.depth,
        sigma_w=args.sigma_w,
        sigma_b=args.sigma_b,
        properties=args.property,
        domain=args.domain,
        origin=args.kernel,
        kernel_timeout=args.kernel_timeout,
    )
    print(result.summary())
    reports = {}
    for failed in result.failures:
        written = write_result_report(
            failed, root, found_by="ntkverify check", accuracy=result.accuracy, diagnosis=result.diagnosis
        )
        if written is not None:
            reports[failed.label] = written.path
            print(f"counterexample report: {written.path}")
    command = "ntkverify check " + " ".join(shlex.quote(a) for a in args.argv)
    write_check_summary(root, result, reports, profile=profile, command=command)
    print(f"summary: {root / 'index.html'}")
    return 0 if result.ok else 1


def _set_device(device: str | None) -> None:
    """``--device`` (else ``NTKVERIFY_DEVICE``): the device policy of this process, validated up front."""
    from ntkverify.device import ENV_VAR

    checked_device(device)
    if device is not None:
        os.environ[ENV_VAR] = device


def _run(args) -> int:
    from ntkverify.device import default_device
    from ntkverify.reports import executor as executors
    from ntkverify.reports.job import run_pairs

    _set_device(args.device)
    profile = _load_profile(args.profile)
    pairs, _ = users_kernel.selected_pairs(args)  # a kernel that cannot be checked: exit 2, nothing written
    command = "ntkverify run " + " ".join(shlex.quote(a) for a in args.argv)
    with executors.from_arguments(args) as executor:  # the scheduler is reached before anything is written
        writable_folder(args.output, "--output")
        print(f"ntkverify run: {len(pairs)} property runs, profile {profile}, device {default_device()}")
        outcome = run_pairs(pairs, args.output, profile=profile, command=command.strip(), executor=executor)
    counts = outcome.record["counts"]
    print(", ".join(f"{n} {status}" for status, n in counts.items() if n))
    print(f"report: {outcome.folder / 'index.html'}")
    labels = [entry.label for entry in outcome.entries]
    return executors.report_accounting(executor, labels, "ntkverify run") or outcome.exit_code


def _repro(args) -> int:
    from ntkverify.reports.counterexample import main_repro

    os.environ["NTKVERIFY_DEVICE"] = "cpu"  # replays are on the CPU, from the stored float64 arrays
    return main_repro(args.path, allow_changed_kernel=args.allow_changed_kernel)


def _list(args) -> int:
    from ntkverify.properties.listing import main as list_main

    return list_main(args.cite, args.kind, args.subject)


def _study(args) -> int:
    from ntkverify.studies.command import main as study_main

    return study_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ntkverify", description="Property-based verification of NTK theory.", epilog=HELP
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="the main job: every property on the built-in kernels, with a report folder",
        description="Run every registered property on the built-in kernels and write "
        "OUTPUT/run-<time>/ (summary.md, summary.json, index.html, counterexample reports). "
        "Exit 1 if a DET property failed or a PROB claim was rejected, else 0. Results are appended to "
        "results.jsonl as each property finishes: an interrupt leaves a partial report.",
        epilog=HELP,
    )
    run.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="Hypothesis profile (default: NTKVERIFY_PROFILE, ci under CI, else dev)",
    )
    run.add_argument("--device", choices=("cpu", "cuda"), default=None, help="sets NTKVERIFY_DEVICE")
    run.add_argument("--output", default="ntk-reports", help="root of the report folders (default: ntk-reports)")
    users_kernel.add_selection_arguments(run)
    executor_arguments(run)
    run.set_defaults(func=_run)

    check = sub.add_parser(
        "check",
        help="verify a kernel function against a claim",
        description="Verify MODULE:CALLABLE (or path/to/file.py:CALLABLE), a function from an "
        "n×d float64 torch tensor to the n×n kernel matrix.",
        epilog=HELP,
    )
    users_kernel.add_arguments(check, positional=True)
    check.add_argument(
        "--property", action="append", help="run only this property (repeatable; a name that matches none is exit 2)"
    )
    check.add_argument("--profile", choices=PROFILES, default=None)
    check.add_argument(
        "--report-dir", default=None, help="where counterexample reports go (default: ntk-reports/check-<time>)"
    )
    check.set_defaults(func=_check)

    repro = sub.add_parser(
        "repro",
        help="replay a counterexample report",
        description="Rerun a counterexample report's check on its stored case (CPU, float64). "
        "Exit 1 while the failure persists, 0 once fixed, 2 if the report cannot be replayed: corrupt or "
        "changed report.json or case.npz, or a kernel whose source changed since the report (unless "
        "--allow-changed-kernel).",
        epilog=HELP,
    )
    repro.add_argument("path", metavar="PATH", help="a report folder (or its report.json)")
    repro.add_argument(
        "--allow-changed-kernel",
        action="store_true",
        help="replay a user's kernel whose source file changed since the report (e.g. after a fix)",
    )
    repro.set_defaults(func=_repro)

    listing = sub.add_parser(
        "list",
        help="the properties with their statement, citation, kind and subjects",
        description="List the registered properties (and studies) matching every filter given.",
        epilog=HELP,
    )
    listing.add_argument("--cite", metavar="TEXT", help="text of the citation or name (case-insensitive)")
    listing.add_argument("--kind", choices=("DET", "PROB", "CONJ", "STUDY"), type=str.upper, help="kind")
    listing.add_argument("--subject", choices=tuple(SUBJECTS), help="what the property is about")
    listing.set_defaults(func=_list)

    from ntkverify.studies.command import add_arguments as study_arguments

    study = sub.add_parser(
        "study",
        help="the theorems at scale: designed studies with verdicts, controls, tables and plots",
        description="Run the registered studies (default: all) and write OUTPUT/study.json, table.csv, plots "
        "and index.html. Exit 0 all supported, 1 a study rejected or inconclusive or a control not rejected, "
        "2 usage error, 3 internal failure.",
        epilog=HELP,
    )
    study_arguments(study)
    study.set_defaults(func=_study)

    # listed for the help text; its own parser (ntkverify.reports.nightly) takes the arguments, see main()
    sub.add_parser("nightly", help="the nightly job: long random search, benchmarks, regressions against a baseline")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse and run one command under the exit-code contract (module docstring)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["nightly"]:
        from ntkverify.reports.nightly import main as nightly_main
        from ntkverify.studies.night import night_studies

        register_profiles()  # the night loads the profile registered as ``nightly``
        return nightly_main(argv[1:], studies=night_studies)
    args = parser.parse_args(argv)
    args.argv = argv[1:]
    return run_command(f"ntkverify {args.command}", args.func, args)


if __name__ == "__main__":
    sys.exit(main())
