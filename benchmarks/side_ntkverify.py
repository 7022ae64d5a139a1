"""The ntkverify side of the peer table: torch on the CPU, float64 (see :mod:`benchmarks.workloads`).

Run by :mod:`benchmarks.peers`: ``python -m benchmarks.side_ntkverify '<workload JSON>' [--save K.npy]``.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks import workloads as wl
from benchmarks.measure import versions
from benchmarks.worker import Prepared, serve
from ntkverify import spectra
from ntkverify.analytic import limiting_ntk, standard_ntk
from ntkverify.architecture import Architecture
from ntkverify.empirical import empirical_ntk
from ntkverify.network import MLP

EMPIRICAL_METHODS = {"fast": "layerwise", "jacobian": "jacobian"}


def network(w: wl.Workload) -> MLP:
    """The empirical workloads' network, with the shared weights and biases of
    :func:`benchmarks.workloads.network_parameters`."""
    arch = Architecture(wl.D, w.widths, sigma_w=wl.SIGMA_W, sigma_b=wl.SIGMA_B, parameterization="ntk")
    params = wl.network_parameters(w.widths)
    return MLP(arch, [torch.from_numpy(W) for W, _ in params], [torch.from_numpy(b) for _, b in params])


def prepare(w: wl.Workload) -> Prepared:
    kernel = lambda K: K.numpy()  # noqa: E731
    if w.family == "analytic":
        X = torch.from_numpy(wl.gaussian_data(w.n))
        if w.method == "bias-free":
            return Prepared(lambda: limiting_ntk(X, wl.DEPTH, device="cpu"), kernel)
        return Prepared(
            lambda: standard_ntk(X, wl.DEPTH, sigma_w=wl.SIGMA_W, sigma_b=wl.SIGMA_B, device="cpu"), kernel
        )
    if w.family == "empirical":
        model, X = network(w), torch.from_numpy(wl.gaussian_data(w.n))
        return Prepared(lambda: empirical_ntk(model, X, EMPIRICAL_METHODS[w.method]), kernel)
    K = limiting_ntk(torch.from_numpy(wl.sphere_data(w.n)), wl.DEPTH, device="cpu")
    if w.method == "cholesky":
        return Prepared(
            lambda: spectra.certify_lambda_min_ge(K, wl.THRESHOLD),
            lambda verdict: np.array([float(bool(verdict.holds)), verdict.lower or np.nan]),
        )
    return Prepared(lambda: spectra.lambda_min(K, method="dense"), lambda lam: np.array([lam.value, lam.error]))


def environment() -> dict:
    return {**versions("ntkverify", "torch", "numpy"), "threads": torch.get_num_threads()}


if __name__ == "__main__":
    serve("ntkverify", prepare, environment)
