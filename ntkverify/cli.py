"""The ``ntkverify`` command line: ``run`` (the main job), ``check`` (verify a user's kernel), ``repro`` (replay a
counterexample report).

Exit codes: 0 all checks passed (``repro``: the failure is fixed); 1 a check failed (a counterexample was found;
``repro``: it still fails); 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from ntkverify.profiles import PROFILES
from ntkverify.properties.subjects import CLAIMS


def _check(args) -> int:
    from ntkverify.profiles import load_profile
    from ntkverify.properties.verify import UsageError, load_callable, verify
    from ntkverify.reports.counterexample import default_root, write_result_report

    if args.profile:
        load_profile(args.profile)
    try:
        fn = load_callable(args.kernel)
        result = verify(
            fn,
            args.claim,
            depth=args.depth,
            sigma_w=args.sigma_w,
            sigma_b=args.sigma_b,
            properties=args.property or None,
            origin=args.kernel,
        )
    except UsageError as exc:
        print(f"ntkverify check: usage error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    root = Path(args.report_dir) if args.report_dir else default_root("check")
    for failed in result.failures:
        written = write_result_report(failed, root, found_by="ntkverify check")
        if written is not None:
            print(f"counterexample report: {written.path}")
    return 0 if result.ok else 1


def _set_device(device: str | None) -> None:
    """``--device``: the device policy of this process (``NTKVERIFY_DEVICE``), validated up front."""
    from ntkverify.device import ENV_VAR, resolve_device

    if device is not None:
        resolve_device(device)  # ValueError (e.g. cuda without CUDA) becomes a usage error
        os.environ[ENV_VAR] = device


def _run(args) -> int:
    from ntkverify.device import default_device
    from ntkverify.profiles import load_profile
    from ntkverify.properties.core import select
    from ntkverify.properties.runner import builtin_pairs
    from ntkverify.reports.job import run_pairs

    try:
        _set_device(args.device)
    except ValueError as exc:
        print(f"ntkverify run: usage error: {exc}", file=sys.stderr)
        return 2
    profile = load_profile(args.profile)
    props = select(args.property, args.kind)
    if not props:
        print("ntkverify run: usage error: no property matches --property/--kind", file=sys.stderr)
        return 2
    pairs = builtin_pairs(props)
    command = "ntkverify run " + " ".join(shlex.quote(a) for a in args.argv)
    print(f"ntkverify run: {len(pairs)} property runs, profile {profile}, device {default_device()}")
    outcome = run_pairs(pairs, args.output, profile=profile, command=command.strip())
    counts = outcome.record["counts"]
    print(", ".join(f"{n} {status}" for status, n in counts.items() if n))
    print(f"report: {outcome.folder / 'index.html'}")
    return outcome.exit_code


def _repro(args) -> int:
    from ntkverify.reports.counterexample import main_repro

    os.environ["NTKVERIFY_DEVICE"] = "cpu"  # replays are on the CPU, from the stored float64 arrays
    return main_repro(args.path)


def _study(args) -> int:
    from ntkverify.studies.command import main as study_main

    return study_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ntkverify", description="Property-based verification of NTK theory.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="the main job: every property on the built-in kernels, with a report folder",
        description="Run every registered property on the built-in kernels and write "
        "OUTPUT/run-<time>/ (summary.md, summary.json, index.html, counterexample reports). "
        "Exit 1 if a DET property failed or a PROB claim was rejected, else 0.",
    )
    run.add_argument("--profile", choices=PROFILES, default="dev", help="Hypothesis profile (default: dev)")
    run.add_argument("--device", choices=("cpu", "cuda"), default=None, help="sets NTKVERIFY_DEVICE")
    run.add_argument("--output", default="ntk-reports", help="root of the report folders (default: ntk-reports)")
    run.add_argument("--property", action="append", help="property name, exact or substring (repeatable)")
    run.add_argument("--kind", action="append", choices=("DET", "PROB", "CONJ"), help="property kind (repeatable)")
    run.set_defaults(func=_run)

    check = sub.add_parser(
        "check",
        help="verify a kernel function against a claim",
        description="Verify MODULE:CALLABLE (or path/to/file.py:CALLABLE), a function from an "
        "n×d float64 torch tensor to the n×n kernel matrix.",
    )
    check.add_argument("kernel", metavar="MODULE:CALLABLE")
    # validated by verify(), so that an unknown claim is a one-line usage error (exit 2) like the others
    check.add_argument("--claim", default="relu-ntk", metavar="{" + ",".join(CLAIMS) + "}")
    check.add_argument("--depth", type=int, default=None, help="number of weight matrices L")
    check.add_argument("--sigma-w", type=float, default=None, help="standard parameterisation weight std")
    check.add_argument("--sigma-b", type=float, default=None, help="standard parameterisation bias std")
    check.add_argument("--property", action="append", help="run only this property (repeatable)")
    check.add_argument("--profile", choices=PROFILES, default=None)
    check.add_argument(
        "--report-dir", default=None, help="where counterexample reports go (default: ntk-reports/check-<time>)"
    )
    check.set_defaults(func=_check)

    repro = sub.add_parser(
        "repro",
        help="replay a counterexample report",
        description="Rerun a counterexample report's check on its stored case (CPU, float64). "
        "Exit 1 while the failure persists, 0 once fixed, 2 if the report cannot be replayed.",
    )
    repro.add_argument("path", metavar="PATH", help="a report folder (or its report.json)")
    repro.set_defaults(func=_repro)

    from ntkverify.studies.command import add_arguments as study_arguments

    study = sub.add_parser(
        "study",
        help="the theorems at scale: designed studies with verdicts, controls, tables and plots",
        description="Run the registered studies (default: all) and write OUTPUT/study.json, table.csv, plots "
        "and index.html. Exit 0 all supported, 1 a study rejected or inconclusive or a control not rejected, "
        "2 usage error, 3 internal failure.",
    )
    study_arguments(study)
    study.set_defaults(func=_study)

    # listed for the help text; its own parser (ntkverify.reports.nightly) takes the arguments, see main()
    sub.add_parser("nightly", help="the nightly job: long random search, benchmarks, regressions against a baseline")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["nightly"]:
        from ntkverify.reports.nightly import main as nightly_main

        return nightly_main(argv[1:])
    args = parser.parse_args(argv)
    args.argv = argv[1:]
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
