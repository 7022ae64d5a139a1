"""Empirical (finite-width) NTK K̄ = J Jᵀ of a network at its current parameters, three ways
(docs/model.md#layer-decomposition, docs/statements.md#B2).

* ``"layerwise"`` — for an :class:`~ntkverify.network.MLP` only, the fast path. Since ∂f_L(x)/∂W_l =
  s_l f_{l−1}(x) b_l(x)ᵀ and ∂f_L(x)/∂b_l = σ_b b_l(x) (docs/model.md#layer-decomposition; NMM21 eq. (3); KMM24 Lemma
  "NTKdecomp"),

      K̄ = Σ_{l=1}^{L} (B_l B_lᵀ) ∘ (s_l² F_{l−1} F_{l−1}ᵀ + σ_b² 1 1ᵀ)

  (s_l = 1 and no σ_b term in the seed parameterisation), from one forward and one backward pass
  (:meth:`~ntkverify.network.MLP.propagate`), never forming the N × P Jacobian.
* ``"jacobian"`` — any ``nn.Module``: per-example Jacobians by ``torch.func`` (``functional_call``,
  ``jacrev``, ``vmap``), contracted parameter by parameter. The generic path and the reference. The module
  must act on rows independently (as an MLP does): the Jacobian of row i is taken from ``model(x_i[None])``.
* ``"ntvp"`` — any ``nn.Module``: NTK-vector products K̄v = J(Jᵀv), a ``vjp`` followed by a ``jvp``, one
  per basis vector (batched with ``vmap``). Never stores a Jacobian; memory O(chunk · P).

Outputs. A module returning shape ``(N,)`` has the N × N kernel. A module returning ``(N, k)`` has, with
``outputs="full"``, the N × N × k × k kernel ``K[i, j, a, b] = <∂f_a(x_i)/∂θ, ∂f_b(x_j)/∂θ>``, and with
``outputs="mean"`` the N × N average over outputs ``(1/k) Σ_a K[i, j, a, a]`` (the kernel of each output
of a network whose outputs are exchangeable). The layer-wise path needs scalar output (an MLP).

Per-layer terms (``per_layer=True``) are returned as a tuple that sums to K̄: for an MLP one term per layer
l = 1..L (the parameters W_l and b_l), whatever the method; for any other module one term per parameter
tensor, in ``named_parameters()`` order.

Memory and chunks (``chunk``). With ``chunk=None`` everything is computed in one block. With
``chunk = c`` the rows are split into blocks of c points and only the upper-triangular block pairs (I, J),
I ≤ J, are computed and mirrored (exact symmetry): the features of block I are computed once per row of
blocks and those of block J are *recomputed* for each pair. So at most two blocks of features (O(c Σ n_l)
numbers for the layer-wise path, O(c P) for the Jacobian path) and one c × c Hadamard temporary are held
beyond the result. Recomputing costs up to N/(2c) extra forward/backward passes, cheap next to the
N² Σ n_l Gram products once c is in the thousands, while keeping every feature of every point would need
N Σ_l (n_{l−1} + n_l) numbers (2 GB at N = 10⁴, width 4096, L = 4, on top of the 0.8 GB result), a cost
that grows with depth. For N = 10⁴ and width 4096 on one GPU, ``chunk=2048`` holds ≈ 0.8 GB of features.
For ``"ntvp"``, ``chunk`` is the number of basis vectors pushed through one batched vjp/jvp.

The normalised kernel :func:`normalised_empirical_ntk` multiplies by ``architecture.normalisation()``
(Π_{l<L} c_σ/n_l in the seed parameterisation, NMM21 eq. (4); 1 in the standard one) so that it converges
to ``architecture.analytic_ntk(X)`` as the widths grow (JGH18). For the seed parameterisation this holds for
positively homogeneous activations (ReLU, leaky ReLU), for which the N(0, 1) network is a rescaling of the
normalised one (docs/model.md#seed-normalisation); for other activations use the standard parameterisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from ntkverify import tolerances
from ntkverify.activations import get_activation
from ntkverify.architecture import Architecture
from ntkverify.device import DEFAULT_DTYPE
from ntkverify.network import MLP
from ntkverify.scaling import check_finite, homogeneous_evaluation
from ntkverify.validation import as_data, check_int

METHODS = ("layerwise", "jacobian", "ntvp")
OUTPUTS = ("full", "mean")

Kernel = torch.Tensor | tuple[torch.Tensor, ...]


def parameter_groups(model: nn.Module) -> tuple[tuple[str, ...], ...]:
    """Names of the parameters of each per-layer term: ``(weights.{l-1}, biases.{l-1})`` for layer l of an
    MLP, one parameter per group for any other module (``named_parameters()`` order)."""
    if isinstance(model, MLP):
        names = dict(model.named_parameters())
        return tuple(tuple(n for n in (f"weights.{l}", f"biases.{l}") if n in names) for l in range(model.depth))
    return tuple((name,) for name, _ in model.named_parameters())


def _check_model(model, method: str, outputs: str, chunk) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs must be one of {OUTPUTS}, got {outputs!r}")
    if chunk is not None:
        check_int(chunk, "chunk", 1)
    if method == "layerwise" and not isinstance(model, MLP):
        raise ValueError(
            "method='layerwise' needs an ntkverify MLP (Architecture.build); "
            f"got {type(model).__name__}: use method='jacobian' or 'ntvp'"
        )
    if next(model.parameters(), None) is None:
        raise ValueError(f"model {type(model).__name__} has no parameters, so its NTK is not defined")


def _data(model: nn.Module, X) -> torch.Tensor:
    p = next(model.parameters())
    X = as_data(X, "X", device=p.device, dtype=p.dtype)
    if isinstance(model, MLP):
        model.check_input(X)
    return X


def _output_width(model: nn.Module, X: torch.Tensor) -> int | None:
    """k for an output of shape (n, k), None for shape (n,); ``ValueError`` for anything else."""
    probe = X[: min(len(X), 2)]
    with torch.no_grad():
        out = model(probe)
    if not isinstance(out, torch.Tensor) or out.ndim not in (1, 2) or out.shape[0] != len(probe):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"model output must have shape (N,) or (N, k) for input of shape (N, d); for N={len(probe)} got {shape}"
        )
    if not bool(torch.isfinite(out).all()):
        raise ValueError("model output contains NaN or Inf")
    return None if out.ndim == 1 else int(out.shape[1])


def _blocks(n: int, chunk: int | None) -> list[slice]:
    size = n if chunk is None else min(chunk, n)
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def _swap(block: torch.Tensor) -> torch.Tensor:
    """The mirrored block: K[j, i] (and K[j, i, b, a] for multi-output kernels)."""
    return block.transpose(0, 1) if block.ndim == 2 else block.permute(1, 0, 3, 2)


def _store(out: torch.Tensor, I: slice, J: slice, block: torch.Tensor) -> None:
    if I == J:
        out[I, I] = (block + _swap(block)) / 2
    else:
        out[I, J] = block
        out[J, I] = _swap(block)


def _blockwise(n: int, chunk: int | None, features: Callable, contract: Callable, outs: list[torch.Tensor]):
    """Fill ``outs`` with the symmetric kernels ``contract(features(I), features(J))`` over block pairs I ≤ J
    (module docstring: features of block J are recomputed per pair, never all held at once)."""
    blocks = _blocks(n, chunk)
    for a, I in enumerate(blocks):
        fI = features(I)
        for J in blocks[a:]:
            terms = contract(fI, fI if J == I else features(J))
            for out, term in zip(outs, terms):
                _store(out, I, J, term)
    return outs


def _layerwise(model: MLP, X: torch.Tensor, per_layer: bool, chunk: int | None) -> list[torch.Tensor]:
    sb2 = model.bias_scale**2 if model.biases is not None else None

    def contract(sI, sJ):
        terms = []
        for l in range(1, model.depth + 1):
            t = sI.F[l - 1] @ sJ.F[l - 1].T
            if model.scales[l - 1] != 1.0:
                t.mul_(model.scales[l - 1] ** 2)
            if sb2 is not None:
                t.add_(sb2)
            t.mul_(sI.B[l - 1] @ sJ.B[l - 1].T)
            if per_layer or not terms:
                terms.append(t)
            else:
                terms[0].add_(t)
        return terms

    outs = [X.new_empty(len(X), len(X)) for _ in range(model.depth if per_layer else 1)]
    return _blockwise(len(X), chunk, lambda I: model.propagate(X[I]), contract, outs)


def _contract(A: torch.Tensor, B: torch.Tensor, k: int | None, outputs: str) -> torch.Tensor:
    """Kernel block from per-example Jacobians A (n, k', P), B (m, k', P) (k' = 1 for scalar output)."""
    if k is None:
        return A[:, 0] @ B[:, 0].T
    if outputs == "mean":
        return torch.einsum("iap,jap->ij", A, B) / k
    n, m = len(A), len(B)
    return (A.reshape(n * k, -1) @ B.reshape(m * k, -1).T).reshape(n, k, m, k).permute(0, 2, 1, 3)


def _kernel_shape(n: int, k: int | None, outputs: str) -> tuple[int, ...]:
    return (n, n) if k is None or outputs == "mean" else (n, n, k, k)


def _jacobian(model, X, groups, k, outputs, chunk) -> list[torch.Tensor]:
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = dict(model.named_buffers())

    def single(p, x):
        return functional_call(model, (p, buffers), (x[None],))[0]

    per_example = vmap(jacrev(single), in_dims=(None, 0))

    def features(I):
        J = per_example(params, X[I])
        n = len(X[I])
        return [torch.cat([J[name].reshape(n, k or 1, -1) for name in group], dim=2) for group in groups]

    def contract(fI, fJ):
        return [_contract(A, B, k, outputs) for A, B in zip(fI, fJ)]

    outs = [X.new_empty(_kernel_shape(len(X), k, outputs)) for _ in groups]
    return _blockwise(len(X), chunk, features, contract, outs)


def _ntvp(model, X, groups, k, outputs, chunk) -> list[torch.Tensor]:
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = dict(model.named_buffers())
    n, width = len(X), k or 1
    out, pullback = vjp(lambda p: functional_call(model, (p, buffers), (X,)), params)

    def push(tangent, primal):
        f = lambda sub: functional_call(model, ({**params, **sub}, buffers), (X,))  # noqa: E731
        return jvp(f, (primal,), (tangent,))[1]

    # M holds K̄ e_(j,b) in column j·k + b: M[i, j] (scalar), M[i, j] (mean), M[i, a, j, b] (full).
    Ms = [X.new_zeros((n, n) if k is None or outputs == "mean" else (n, k, n, k)) for _ in groups]
    for cols in _blocks(n * width, chunk):
        idx = torch.arange(cols.start, cols.stop, device=X.device)
        cotangents = out.new_zeros(len(idx), n * width)
        cotangents[torch.arange(len(idx), device=X.device), idx] = 1.0  # basis vectors e_(j,b), j·k + b = idx
        (pulled,) = vmap(pullback)(cotangents.reshape(-1, *out.shape))
        for M, group in zip(Ms, groups):
            primal = {name: params[name] for name in group}
            columns = vmap(push, in_dims=(0, None))({name: pulled[name] for name in group}, primal)
            if k is None:  # columns: (c, n) or (c, n, k)
                M[:, cols] = columns.T
            elif outputs == "mean":
                picked = columns[torch.arange(len(idx), device=X.device), :, idx % k]  # K̄[i, j, a, a]
                M.index_add_(1, idx // k, picked.T / k)
            else:
                M.view(n, k, n * k)[:, :, cols] = columns.permute(1, 2, 0)
    results = []
    for M in Ms:
        K = M if M.ndim == 2 else M.permute(0, 2, 1, 3)
        results.append((K + _swap(K)) / 2)
    return results


def empirical_ntk(
    model: nn.Module,
    X,
    method: str = "layerwise",
    *,
    per_layer: bool = False,
    chunk: int | None = None,
    outputs: str = "full",
) -> Kernel:
    """The empirical NTK K̄ = J Jᵀ of ``model`` on the rows of ``X`` (docs/model.md#layer-decomposition, NMM21 eqs.
    (2)–(3)).

    See the module docstring for the three ``method``\\ s, the output conventions (``outputs``), the per-layer
    terms (``per_layer=True`` returns a tuple that sums to K̄) and ``chunk``. X is validated
    (:func:`ntkverify.validation.as_data`) and moved to the device and dtype of the model's parameters.
    Raises ``ValueError`` for a bad X (non-finite, not 2-D, wrong d for an MLP), an unknown method, the
    layer-wise method on a module that is not an MLP, or a module whose output is not (N,) or (N, k).
    """
    _check_model(model, method, outputs, chunk)
    X = _data(model, X)

    def evaluate(Y):
        if method == "layerwise":
            return list(_layerwise(model, Y, per_layer, chunk))
        k = _output_width(model, Y)
        groups = parameter_groups(model) if per_layer else (tuple(n for n, _ in model.named_parameters()),)
        run = _jacobian if method == "jacobian" else _ntvp
        return list(run(model, Y, groups, k, outputs, chunk))

    what = "empirical NTK"
    if _homogeneous(model):  # every term is 2-homogeneous in X: evaluated exactly at any magnitude
        terms = homogeneous_evaluation(evaluate, X, 2, what)
    else:
        terms = [check_finite(T, what) for T in evaluate(X)]
    return tuple(terms) if per_layer else terms[0]


def _homogeneous(model: nn.Module) -> bool:
    """A bias-free MLP of a positively homogeneous activation: K̄(cX) = c²K̄(X) for c > 0 (each layer's features
    scale by c, the backward factors do not)."""
    return isinstance(model, MLP) and model.biases is None and get_activation(model.architecture.activation).homogeneous


def normalised_empirical_ntk(model: MLP, X, method: str = "layerwise", **kw) -> Kernel:
    """``architecture.normalisation() · K̄`` (NMM21 eq. (4)): comparable with ``architecture.analytic_ntk(X)``
    (see the module docstring for when it converges to it). Keyword arguments as :func:`empirical_ntk`."""
    if not isinstance(model, MLP):
        raise ValueError(f"normalised_empirical_ntk needs an ntkverify MLP, got {type(model).__name__}")
    c = model.architecture.normalisation()
    K = empirical_ntk(model, X, method, **kw)
    return tuple(c * t for t in K) if isinstance(K, tuple) else c * K


def entry_error(architecture: Architecture, method: str, max_diag: float, dtype: torch.dtype = DEFAULT_DTYPE) -> float:
    """A bound on ``max_ij |δK̄_ij|`` for the kernel computed by ``method`` (docs/tolerances.md#empirical).

    All three methods form the features and backward signals by chains of at most L matrix–vector products
    of length ≤ d + Σ n_l, bounded by :func:`ntkverify.tolerances.empirical_entry_error`
    (``10 L (d + Σ n_l) u max_i K̄_ii``; the layer-wise Gram products are dot products of length n_{l−1} and
    n_l inside that budget, the jvp of ``"ntvp"`` runs the same chains forward). The Jacobian contraction
    adds, for each layer, a dot product of length P_l = (n_{l−1} + [bias]) n_l between the flattened
    gradients, whose error is ≤ γ_{P_l} ‖J_l(x_i)‖ ‖J_l(x_j)‖ (Higham eq. (3.5) and Cauchy–Schwarz); summed
    over layers with Cauchy–Schwarz again this is ≤ γ_{max P_l} √(K̄_ii K̄_jj) ≤ γ_{max P_l} max_i K̄_ii.
    Two kernels computed by methods a and b therefore differ entrywise by at most
    ``entry_error(a) + entry_error(b)``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    error = tolerances.empirical_entry_error(architecture.d, architecture.widths, max_diag, dtype)
    if method == "jacobian":
        sizes = architecture.layer_sizes
        longest = max((sizes[l - 1] + architecture.has_bias) * sizes[l] for l in range(1, len(sizes)))
        error += tolerances.gamma(longest, dtype) * max_diag
    return error


def agreement_tolerance(architecture: Architecture, methods: Sequence[str], kernels: Sequence[torch.Tensor]) -> float:
    """The entrywise tolerance for comparing kernels of one network computed by several methods:
    ``Σ_m entry_error(m)`` at the largest diagonal entry seen (triangle inequality; :func:`entry_error`)."""
    max_diag = max(float(K.diagonal().max()) for K in kernels)
    return sum(entry_error(architecture, m, max_diag, kernels[0].dtype) for m in methods)
