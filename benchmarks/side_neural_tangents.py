"""The neural-tangents side of the peer table: JAX on the CPU with x64 enabled (see :mod:`benchmarks.workloads`).

Needs neural-tangents 0.6.5 and the stack it works with (``tox -e bench-peers`` installs it). Run by
:mod:`benchmarks.peers`: ``python -m benchmarks.side_neural_tangents '<workload JSON>' [--save K.npy]``.
Every computation is ``jax.jit``-compiled; the warm-up call of :func:`benchmarks.worker.serve` compiles it.
"""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import neural_tangents as nt  # noqa: E402
import numpy as np  # noqa: E402
from neural_tangents import stax  # noqa: E402

from benchmarks import workloads as wl  # noqa: E402
from benchmarks.measure import versions  # noqa: E402
from benchmarks.worker import Prepared, serve  # noqa: E402

EMPIRICAL_METHODS = {
    "fast": nt.NtkImplementation.STRUCTURED_DERIVATIVES,
    "jacobian": nt.NtkImplementation.JACOBIAN_CONTRACTION,
}


def network(width: int, bias: bool):
    """``stax.serial`` of L − 1 Dense + ReLU layers and a Dense readout, standard parameterisation."""
    dense = lambda out: stax.Dense(out, W_std=wl.SIGMA_W, b_std=wl.SIGMA_B if bias else None, parameterization="ntk")  # noqa: E731
    layers = []
    for _ in range(wl.DEPTH - 1):
        layers += [dense(width), stax.Relu()]
    return stax.serial(*layers, dense(1))


def parameters(widths: tuple[int, ...]) -> list:
    """The shared weights and biases in stax's layout: per Dense layer (W, b) with b of shape (1, n_l), and
    an empty tuple for each ReLU."""
    params = []
    for W, b in wl.network_parameters(widths):
        params += [(jnp.asarray(W), jnp.asarray(b[None, :])), ()]
    return params[:-1]


def prepare(w: wl.Workload) -> Prepared:
    block = lambda result: result.block_until_ready()  # noqa: E731
    if w.family == "analytic":
        _, _, kernel_fn = network(512, bias=w.method == "biased")
        X = jnp.asarray(wl.gaussian_data(w.n))
        ntk = jax.jit(lambda x: kernel_fn(x, None, "ntk"))
        return Prepared(lambda: ntk(X), np.asarray, block)
    if w.family == "empirical":
        _, apply_fn, _ = network(w.width, bias=True)
        ntk_fn = jax.jit(nt.empirical_ntk_fn(apply_fn, vmap_axes=0, implementation=EMPIRICAL_METHODS[w.method]))
        X, params = jnp.asarray(wl.gaussian_data(w.n)), parameters(w.widths)
        return Prepared(lambda: ntk_fn(X, None, params), np.asarray, block)
    _, _, kernel_fn = network(512, bias=False)
    K = kernel_fn(jnp.asarray(wl.sphere_data(w.n)), None, "ntk") / wl.standard_from_seed()
    smallest = jax.jit(lambda A: jnp.linalg.eigvalsh(A)[0])
    return Prepared(lambda: smallest(K), lambda lam: np.array([float(lam)]), block)


def environment() -> dict:
    return {
        **versions("neural-tangents", "jax", "jaxlib", "tensorflow", "numpy", "scipy"),
        "x64": bool(jax.config.jax_enable_x64),
        "platform": jax.devices()[0].platform,
    }


if __name__ == "__main__":
    serve("neural-tangents", prepare, environment)
