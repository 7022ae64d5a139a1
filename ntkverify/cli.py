"""The ``ntkverify`` command line."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ntkverify import analytic
from ntkverify.tolerances import tau_id


def _self_check(args) -> int:
    """Kernel self-checks on sphere data: diagonal identity, symmetry, PSD, seed/standard relation."""
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
    parser = argparse.ArgumentParser(prog="ntkverify", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite on the built-in kernels")
    run.add_argument("--seed", type=int, default=0)
    run.set_defaults(func=_self_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
