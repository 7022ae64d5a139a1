"""``ntkverify study``: run the registered studies and write their folder.

Exit codes: 0 every study supported with its controls rejected; 1 a study rejected or inconclusive, a
control not rejected (a study that cannot fail), or a user's kernel failing on a valid input; 2 usage or
input error (one line, before any budget is spent); 3 environment or internal failure.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ntkverify.reports import executor as executors
from ntkverify.reports.exits import InputError
from ntkverify.studies.core import KernelSpec, all_studies, get_study

DEFAULT_OUTPUT = "ntk-reports/studies"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="studies to run (default: all)")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="MINUTES",
        help="minutes for the selected studies together on 2 CPU cores (default: the sum of their defaults); "
        "the grids scale with it and the report says what power is left",
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None, help="where the grid points run")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"study folder and point cache ({DEFAULT_OUTPUT})")
    parser.add_argument("--list", action="store_true", help="list the studies with their statements and sources")
    parser.add_argument("--kernel", default=None, metavar="MODULE:CALLABLE", help="study your own kernel")
    parser.add_argument("--claim", default="relu-ntk", help="what --kernel computes (default: relu-ntk)")
    parser.add_argument("--depth", type=int, default=None, help="the depth L of --kernel (weight matrices)")
    executors.add_arguments(parser)  # grid points on a Dask cluster (docs/distributed.md)


def _select(names: list[str]):
    try:
        return [get_study(n) for n in names] if names else all_studies()
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _kernel(args, studies) -> KernelSpec | None:
    if args.kernel is None:
        return None
    from ntkverify.properties.verify import UsageError

    spec = KernelSpec(args.kernel, args.claim, args.depth)
    try:
        spec.subject()
    except UsageError as exc:
        raise InputError(str(exc)) from None
    unfit = [s.name for s in studies if args.claim not in s.claims]
    if unfit:
        raise InputError(f"--claim {args.claim} cannot be studied by {', '.join(unfit)} (name studies that take it)")
    return spec


def _device(name: str | None) -> str:
    from ntkverify.device import resolve_device

    try:
        return resolve_device(name).type
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _list() -> int:
    for s in all_studies():
        print(f"{s.name}  (default {s.default_minutes:g} min)\n  {s.statement}\n  source: {s.citation}")
    return 0


def main(args) -> int:
    """The ``study`` subcommand on parsed arguments (see :func:`add_arguments`)."""
    if args.list:
        return _list()
    # every input is checked before any point runs; a mistake is an InputError (exit 2, one line)
    studies = _select(args.names)
    kernel = _kernel(args, studies)
    device = _device(args.device)
    if args.budget is not None and not args.budget > 0:
        raise InputError(f"--budget must be > 0 minutes, got {args.budget}")
    command = "ntkverify study " + " ".join(shlex.quote(a) for a in getattr(args, "argv", []))
    from ntkverify.properties.subjects import KernelError

    try:  # an engine or environment failure escapes to the command's exit-code contract (exit 3, logged)
        with executors.from_arguments(args) as executor:
            mapper = executor.map if executor.distributed else map
            return _run(studies, args.budget, device, kernel, Path(args.output), command.strip(), mapper)
    except KernelError as exc:  # the user's kernel failed on a valid input: a finding, not a crash
        print(f"ntkverify study: {exc}", file=sys.stderr)
        return 1


def _run(studies, budget, device, kernel, output: Path, command: str, mapper=map) -> int:
    from ntkverify.studies.runner import exit_code, run_studies

    runs = run_studies(
        studies, output, budget=budget, device=device, kernel=kernel, executor=mapper, command=command, echo=print
    )
    print(f"report: {output / 'index.html'}")
    return exit_code(runs)
