"""A user's kernel on the command line: the flags ``check``, ``run`` and ``nightly`` share (defined once here) and
the (property, kernel) pairs ``run`` and ``nightly`` select with them, validated before any budget is spent
(docs/pipeline.md#users-kernels).

``check`` takes the kernel as its positional ``MODULE:CALLABLE``; ``run`` and ``nightly`` take ``--kernel
MODULE:CALLABLE`` and then search that kernel instead of the built-in ones, with every selected property that
applies to its claim (the kernel checks of the catalogue and the bounds that hold for the claimed kernel). A
kernel that cannot be loaded or checked, a claim flag without ``--kernel``, or a selection that leaves no
property for the kernel is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
from typing import Any

from ntkverify.distributions import DOMAINS
from ntkverify.properties.core import Kind, select
from ntkverify.properties.runner import builtin_pairs
from ntkverify.properties.subjects import CLAIMS
from ntkverify.properties.verify import DEFAULT_KERNEL_TIMEOUT, user_properties, user_subject
from ntkverify.reports.exits import InputError

#: the claim flags and their defaults once a kernel is given
CLAIM_DEFAULTS = {
    "claim": "relu-ntk",
    "depth": None,
    "sigma_w": None,
    "sigma_b": None,
    "domain": "any",
    "kernel_timeout": DEFAULT_KERNEL_TIMEOUT,
}


def add_arguments(parser: argparse.ArgumentParser, *, positional: bool) -> None:
    """The kernel (``check``'s positional argument, else ``--kernel``) and its claim flags."""
    if positional:
        parser.add_argument("kernel", metavar="MODULE:CALLABLE")
    else:
        parser.add_argument(
            "--kernel",
            metavar="MODULE:CALLABLE",
            default=None,
            help="search this kernel function (or path/to/file.py:CALLABLE) instead of the built-in kernels",
        )
    defaults = CLAIM_DEFAULTS if positional else dict.fromkeys(CLAIM_DEFAULTS)
    # the claim is validated by make_subject, so that an unknown claim is a one-line usage error (exit 2)
    parser.add_argument("--claim", default=defaults["claim"], metavar="{" + ",".join(CLAIMS) + "}")
    parser.add_argument("--depth", type=int, default=None, help="number of weight matrices L")
    parser.add_argument("--sigma-w", type=float, default=None, help="standard parameterisation weight std")
    parser.add_argument("--sigma-b", type=float, default=None, help="standard parameterisation bias std")
    parser.add_argument(
        "--domain", choices=DOMAINS, default=defaults["domain"], help="where the kernel is defined (default: any)"
    )
    parser.add_argument(
        "--kernel-timeout",
        type=float,
        default=defaults["kernel_timeout"],
        metavar="SECONDS",
        help="per-call time limit: a call that takes longer is a finding with its case (default: 60)",
    )


def subject_from_args(args: argparse.Namespace):
    """The user's kernel subject of ``--kernel`` with its claim (first call checked), or None without
    ``--kernel``; a claim flag without it is a usage error."""
    if args.kernel is None:
        given = [f"--{k.replace('_', '-')}" for k in CLAIM_DEFAULTS if getattr(args, k) is not None]
        if given:
            raise InputError(f"{', '.join(given)} needs --kernel MODULE:CALLABLE")
        return None
    claim = {k: CLAIM_DEFAULTS[k] if getattr(args, k) is None else getattr(args, k) for k in CLAIM_DEFAULTS}
    timeout = claim.pop("kernel_timeout")
    return user_subject(args.kernel, claim.pop("claim"), timeout=timeout, **claim)


def pairs_for(properties: list, subject) -> list[tuple[Any, Any]]:
    """The (property, subject) pairs of ``properties`` for a user's ``subject``: those that apply to its claim;
    none is a usage error naming the choices."""
    applicable, selected = user_properties(subject), {p.name for p in properties}
    chosen = [(p, subject) for p in applicable if p.name in selected]
    if not chosen:
        names = ", ".join(sorted(p.name for p in applicable))
        raise InputError(f"no selected property applies to {subject}; choose from {names}")
    return chosen


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--property`` and ``--kind`` of ``run`` and ``nightly``, and ``--kernel`` with its claim flags."""
    parser.add_argument("--property", action="append", help="property name, exact or substring (repeatable)")
    parser.add_argument("--kind", action="append", choices=[k.value for k in Kind], help="property kind (repeatable)")
    add_arguments(parser, positional=False)


def selected_pairs(args: argparse.Namespace, *, others: bool = False) -> tuple[list[tuple[Any, Any]], Any]:
    """The (property, subject) pairs ``args`` select — on the built-in kernels, or on ``--kernel`` — and the
    user's kernel subject (None without ``--kernel``); a selection of nothing is a usage error unless the
    command selected ``others`` to run (a night's studies)."""
    props = select(args.property, args.kind)
    subject = subject_from_args(args)
    if not props and others:
        return [], subject
    if not props:
        raise InputError(
            f"no property matches --property {args.property} --kind {args.kind} (a study, kind STUDY, runs with "
            "`ntkverify study NAME` or in `ntkverify nightly`)"
        )
    return (builtin_pairs(props) if subject is None else pairs_for(props, subject)), subject
