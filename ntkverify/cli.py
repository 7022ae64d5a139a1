"""The ``ntkverify`` command line: ``run`` (the main job), ``check`` (verify a user's kernel).

Exit codes: 0 all checks passed; 1 a check failed (a counterexample was found); 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from ntkverify.properties.subjects import CLAIMS


def _check(args) -> int:
    from ntkverify.profiles import load_profile
    from ntkverify.properties.verify import UsageError, load_callable, verify

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
    return 0 if result.ok else 1


def _self_check(args) -> int:
    """Kernel self-checks on sphere data: diagonal identity, symmetry, PSD, seed/standard relation."""
    import numpy as np
    import torch

    from ntkverify import analytic
    from ntkverify.tolerances import tau_id

    gen = np.random.default_rng(args.seed)
    failures = 0
    print(f"{'N':>5} {'d':>4} {'L':>3}  {'diag':>9} {'sym':>5} {'lambda_min':>12} {'std-rel':>9}  verdict")
    for N, d, L in ((8, 4, 2), (32, 16, 3), (64, 32, 5)):
        X = gen.standard_normal((N, d))
        X *= np.sqrt(d) / np.linalg.norm(X, axis=1, keepdims=True)
        K = analytic.limiting_ntk(X, L)
        diag = float((K.diagonal() - L * torch.as_tensor((X * X).sum(1))).abs().max()) / (L * d)
        sym = bool(torch.equal(K, K.T))
        lam = float(torch.linalg.eigvalsh(K)[0])
        factor = 2 / d
        rel = float(
            torch.linalg.matrix_norm(analytic.standard_ntk(X, L, sigma_w=2**0.5) - factor * K)
            / torch.linalg.matrix_norm(factor * K)
        )
        ok = diag <= tau_id(L, d) and sym and lam > 0 and rel <= tau_id(L, d)
        failures += not ok
        print(f"{N:>5} {d:>4} {L:>3}  {diag:9.1e} {sym!s:>5} {lam:12.5g} {rel:9.1e}  {'ok' if ok else 'FAIL'}")
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ntkverify", description="Property-based verification of NTK theory.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the suite on the built-in kernels")
    run.add_argument("--seed", type=int, default=0)
    run.set_defaults(func=_self_check)

    check = sub.add_parser(
        "check",
        help="verify a kernel function against a claim",
        description="Verify MODULE:CALLABLE (or path/to/file.py:CALLABLE), a function from an "
        "n×d float64 torch tensor to the n×n kernel matrix.",
    )
    check.add_argument("kernel", metavar="MODULE:CALLABLE")
    check.add_argument("--claim", choices=CLAIMS, default="relu-ntk")
    check.add_argument("--depth", type=int, default=None, help="number of weight matrices L")
    check.add_argument("--sigma-w", type=float, default=None, help="standard parameterisation weight std")
    check.add_argument("--sigma-b", type=float, default=None, help="standard parameterisation bias std")
    check.add_argument("--property", action="append", help="run only this property (repeatable)")
    check.add_argument("--profile", choices=("dev", "ci", "nightly"), default=None)
    check.set_defaults(func=_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
