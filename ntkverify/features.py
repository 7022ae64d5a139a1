"""Feature matrices, their smallest singular values, and Lipschitz constants of the feature maps
(docs/model.md#seed-normalisation, docs/statements.md#nmm21-feature-matrices, #nmm21-lipschitz, #B3, #B5, #B7, #C7,
#C8).

Notation as in :mod:`ntkverify.network`: F_l ∈ R^{N×n_l} has rows f_l(x_i) (F_0 = X), B_l ∈ R^{N×n_l} has
rows b_l(x_i) = ∂f_L(x_i)/∂g_l(x_i), s_l is the layer's weight scale (1 in the seed parameterisation,
σ_w/√n_{l−1} in the standard one). The feature map of layer k is x ↦ f_k(x) (f_L is the output).
"""

from __future__ import annotations

import math

import torch
from torch.func import jacrev, vmap

from ntkverify.activations import Activation
from ntkverify.architecture import Architecture
from ntkverify.network import MLP, Signals
from ntkverify.validation import as_data, check_int

#: sup_t |φ'(t)|, the Lipschitz constant of each registered activation: 1 for ReLU, leaky ReLU (slope 0.1),
#: tanh and softplus (σ' = sigmoid < 1); erf' = (2/√π) e^{−t²} peaks at t = 0; GELU' = Φ(t) + tφ(t) has
#: GELU'' = φ(t)(2 − t²), so its maximum is at t = √2: Φ(√2) + √2 φ(√2).
ACTIVATION_LIPSCHITZ = {
    "relu": 1.0,
    "leaky_relu": 1.0,
    "tanh": 1.0,
    "softplus": 1.0,
    "erf": 2 / math.sqrt(math.pi),
    "gelu": 0.5 * (1 + math.erf(1.0)) + math.sqrt(2) * math.exp(-1.0) / math.sqrt(2 * math.pi),
}


def _check_mlp(model) -> MLP:
    if not isinstance(model, MLP):
        raise ValueError(f"model must be an ntkverify MLP (Architecture.build), got {type(model).__name__}")
    return model


def _check_layer(model: MLP, k, lowest: int) -> int:
    k = check_int(k, "k", lowest)
    if k > model.depth:
        raise ValueError(f"k must be <= L={model.depth}, got {k}")
    return k


def _data(model: MLP, X) -> torch.Tensor:
    p = model.weights[0]
    X = as_data(X, "X", device=p.device, dtype=p.dtype)
    model.check_input(X)
    return X


def feature_matrices(model: MLP, X) -> Signals:
    """F_0..F_{L−1}, the pre-activations G_1..G_L and the backward signals B_1..B_L of ``model`` on the rows of
    X (docs/model.md#layer-decomposition), as :class:`ntkverify.network.Signals`: ``F[l]`` = F_l, ``G[l-1]`` = G_l,
    ``B[l-1]`` = B_l.
    B_l uses the activation's registered derivative (φ'(0) = 0)."""
    model = _check_mlp(model)
    return model.propagate(_data(model, X))


def smallest_singular_value(F: torch.Tensor) -> float:
    """σ_min(F) in the sense of docs/statements.md#nmm21-feature-matrices, σ_min(F)² = λ_min(F Fᵀ) for F ∈ R^{N×n}:
    the N-th singular value,
    which is 0 when n < N (rank(F) ≤ n, docs/statements.md#nmm21-feature-matrices). Computed by
    ``torch.linalg.svdvals``."""
    if not isinstance(F, torch.Tensor) or F.ndim != 2:
        raise ValueError(f"F must be a 2-D tensor, got {getattr(F, 'shape', type(F).__name__)}")
    n_rows, n_cols = F.shape
    if n_cols < n_rows:
        return 0.0
    return float(torch.linalg.svdvals(F)[n_rows - 1])


def feature_sigma_min(model: MLP, X) -> tuple[float, ...]:
    """σ_min(F_l) for l = 0..L−1 (``[0]`` is σ_min(X)); the quantity of NMM21's feature-matrix theorem
    (docs/statements.md#nmm21-feature-matrices, recalled form: σ_min(F_k)² = Θ(d Π_{l≤k} n_l) when n_k = Ω̃(N))."""
    return tuple(smallest_singular_value(F) for F in feature_matrices(model, X).F)


def activation_lipschitz(activation: Activation) -> float:
    """sup_t |φ'(t)| for a registered activation (:data:`ACTIVATION_LIPSCHITZ`); ``ValueError`` otherwise."""
    try:
        return ACTIVATION_LIPSCHITZ[activation.name]
    except KeyError:
        raise ValueError(
            f"unsupported activation {activation.name!r} for Lipschitz bounds; known: {sorted(ACTIVATION_LIPSCHITZ)}"
        ) from None


def lipschitz_upper_bound(model: MLP, k: int) -> float:
    """Deterministic upper bound on the Lipschitz constant of x ↦ f_k(x), k = 1..L
    (docs/statements.md#nmm21-lipschitz, #B7):

        ‖f_k(x) − f_k(y)‖ ≤ Lip(φ)^{a_k} Π_{l≤k} s_l ‖W_l‖_op ‖x − y‖,

    with a_k = min(k, L − 1) activations on the way (composition of Lipschitz maps; biases do not matter).
    Spectral norms are exact (``torch.linalg.matrix_norm(ord=2)``, an SVD).
    """
    model = _check_mlp(model)
    k = _check_layer(model, k, 1)
    lip = activation_lipschitz(model.activation) ** min(k, model.depth - 1)
    norms = [model.scales[l] * float(torch.linalg.matrix_norm(model.weights[l].detach(), ord=2)) for l in range(k)]
    return lip * math.prod(norms)


def jacobian_norms(model: MLP, X, k: int, chunk: int | None = None) -> torch.Tensor:
    """‖∂f_k/∂x (x_i)‖_op for every row x_i of X (``torch.func.jacrev`` and ``vmap``, in blocks of ``chunk``
    rows; each Jacobian is n_k × d). Uses the registered φ', so at a point with a pre-activation exactly 0 this
    is the norm of one element of the generalised Jacobian."""
    model = _check_mlp(model)
    k = _check_layer(model, k, 1)
    X = _data(model, X)
    if chunk is not None:
        check_int(chunk, "chunk", 1)
    jac = vmap(jacrev(lambda x: model.feature_map(x[None], k)[0]))
    size = len(X) if chunk is None else chunk
    with torch.no_grad():
        parts = [torch.linalg.matrix_norm(jac(X[s : s + size]), ord=2) for s in range(0, len(X), size)]
    return torch.cat(parts)


def lipschitz_lower_bound(model: MLP, X, k: int, chunk: int | None = None) -> float:
    """max_i ‖∂f_k/∂x (x_i)‖_op over the given points (:func:`jacobian_norms`): a lower bound on the Lipschitz
    constant of f_k, since a Lipschitz map has ‖Df(x)‖_op ≤ Lip(f) wherever it is differentiable (for ReLU
    networks: wherever no pre-activation is exactly 0, which holds almost surely for continuous data)."""
    return float(jacobian_norms(model, X, k, chunk).max())


def lipschitz_scale(architecture: Architecture, k: int) -> float:
    """The typical size √(Π_{l≤k} s_l² n_l e_l) of ‖∂f_k/∂x‖_op, with e_l = E[φ'(g)²] (g ~ N(0, 1)) for the
    layers followed by φ (l < L) and e_L = 1: for ReLU in the seed parameterisation, √(Π_{l≤k} n_l/2), the
    scale near which the true Lipschitz constant sits (docs/statements.md#nmm21-lipschitz, #C8 — a heuristic, not a
    bound).

    Derivation: for a fixed unit v, each layer maps ‖u‖² to ‖D_l s_l W_lᵀ u‖², whose expectation over W_l is
    s_l² n_l E[φ'(g)²] ‖u‖² when φ' is scale-free, i.e. for positively homogeneous φ (ReLU, leaky ReLU);
    ``ValueError`` for other activations.
    """
    if not architecture.act.homogeneous:
        raise ValueError(f"lipschitz_scale needs a positively homogeneous activation, got {architecture.activation!r}")
    k = check_int(k, "k", 1)
    if k > architecture.depth:
        raise ValueError(f"k must be <= L={architecture.depth}, got {k}")
    one = torch.ones((), dtype=torch.float64)
    e_phi = float(architecture.act.dual(one, one, one)[1])
    sizes = architecture.layer_sizes
    gain = 1.0
    for l in range(1, k + 1):
        s2 = architecture.sigma_w**2 / sizes[l - 1] if architecture.parameterization == "ntk" else 1.0
        gain *= s2 * sizes[l] * (e_phi if l < architecture.depth else 1.0)
    return math.sqrt(gain)
