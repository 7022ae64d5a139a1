"""Infinite-width kernels of bias-free and biased MLPs: limiting NTK, NNGP and Du et al.'s H∞.

Notation (docs/model.md#notation; NMM21): X ∈ R^{N×d} holds the data as rows, L is the number of weight matrices
(L − 1 hidden layers). In the seed paper's normalisation (NMM21 eq. (4), N(0,1) weights, Π_l 2/n_l):

    G⁽¹⁾ = K⁽¹⁾ = X Xᵀ
    G⁽ˡ⁾ = c_σ E[σ(u)σ(v)],  Ġ⁽ˡ⁾ = c_σ E[σ'(u)σ'(v)],  (u, v) ~ N(0, [[G_ii, G_ij], [G_ij, G_jj]]), G = G⁽ˡ⁻¹⁾
    K⁽ˡ⁾ = K⁽ˡ⁻¹⁾ ∘ Ġ⁽ˡ⁾ + G⁽ˡ⁾                                     (l = 2..L)

with c_σ = 1/E[σ(g)²] (= 2 for ReLU). G⁽ᴸ⁾ is the NNGP (the covariance of the output), K⁽ᴸ⁾ the NTK.

The standard NTK parameterisation (neural-tangents ``stax.Dense(parameterization='ntk')``; JGH18) with the
same σ_w, σ_b in every layer, readout included, is the same recursion with other constants:

    Σ⁽¹⁾ = σ_w² X Xᵀ/d + σ_b²,  Θ⁽¹⁾ = Σ⁽¹⁾
    Σ⁽ˡ⁾ = σ_w² E[σ(u)σ(v)] + σ_b²,  Θ⁽ˡ⁾ = Σ⁽ˡ⁾ + σ_w² E[σ'(u)σ'(v)] ∘ Θ⁽ˡ⁻¹⁾,  (u, v) ~ N(0, Σ⁽ˡ⁻¹⁾ block).

Relation (derived from positive homogeneity of ReLU; tested exactly): for ReLU and σ_b = 0,

    Θ⁽ᴸ⁾ = (σ_w²/d) (σ_w²/2)^{L−1} K⁽ᴸ⁾,    Σ⁽ᴸ⁾ = (σ_w²/d) (σ_w²/2)^{L−1} G⁽ᴸ⁾.

Numerics (docs/kernels.md#stable-evaluation). For ReLU without bias every matrix is a function of the norms ‖x_i‖ and
of the angles
θ⁽ˡ⁾_ij, since G⁽ˡ⁾_ij = ‖x_i‖‖x_j‖ cos θ⁽ˡ⁾_ij and Ġ⁽ˡ⁺¹⁾_ij = (π − θ⁽ˡ⁾_ij)/π. This engine tracks the angles
instead of correlations, so that nothing is lost near ρ = ±1:

* layer 1: θ = 2·atan2(‖x̂_i − x̂_j‖, ‖x̂_i + x̂_j‖) (computed from the rows themselves when |ρ| > 0.9);
* later layers: with h = 1 − cos θ, the arc-cosine map (Cho & Saul 2009) reads
  h' = h − (sin θ − θ cos θ)/π, where sin θ − θ cos θ is summed from its Taylor series for θ < 1/2,
  and θ' = 2 arcsin √(h'/2) is well-conditioned because θ' ≤ π/2.

Every entry is then accurate to a few units of roundoff relative to ‖x_i‖‖x_j‖, not √u as with arccos.
Other activations or a bias use the activation's dual (:mod:`ntkverify.activations`) on correlations, where
the √u regime of docs/kernels.md#stable-evaluation remains. All paths compute only the upper-triangular tiles, mirror
them (exact
symmetry), and set the diagonal from its own one-dimensional recursion (exact diagonals); memory is
O(N² + tile²) per returned matrix. Zero rows give zero rows and columns (σ'(0) = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ntkverify.activations import Activation, get_activation
from ntkverify.scaling import check_finite, check_squared_norms, homogeneous_evaluation
from ntkverify.validation import as_data, check_int, check_nonneg

CPU_TILE = 256  # 256² float64 = 512 KiB per block: elementwise passes stay in cache (measured best on CPU)
GPU_TILE = 8192  # large blocks keep a GPU busy; memory O(N² + 8192²·const)
_DIRECT_ANGLE_THRESHOLD = 0.9  # |ρ| above which layer-1 angles are recomputed from x̂_i ∓ x̂_j
_SERIES_THRESHOLD = 0.5  # θ below which sin θ − θ cos θ is summed from its Taylor series
_SERIES_TERMS = 10  # term k ~ θ^{2k+1}/(2k)!·…; at θ = 1/2 the 10th term is < 1e-30 of the first


@dataclass(frozen=True)
class LayerKernels:
    """Every layer of a limiting-kernel recursion.

    ``K`` is the NTK of depth L; ``G[l-1]`` is G⁽ˡ⁾ (NNGP of depth l; ``G[0] = X Xᵀ`` up to the input scaling)
    and ``Gdot[l-1]`` is Ġ⁽ˡ⁾ for l ≥ 2 (``Gdot[0]`` is None). In the standard parameterisation G and Ġ hold
    Σ⁽ˡ⁾ and σ_w²E[σ'σ'] respectively.
    """

    K: torch.Tensor
    G: tuple[torch.Tensor, ...]
    Gdot: tuple[torch.Tensor | None, ...]

    @property
    def nngp(self) -> torch.Tensor:
        return self.G[-1]


@dataclass(frozen=True)
class _Recursion:
    """Constants of one recursion: Σ⁽¹⁾ = w1·XXᵀ + b, Σ⁽ˡ⁾ = w·T(Σ⁽ˡ⁻¹⁾) + b, Ġ⁽ˡ⁾ = w·Ṫ(Σ⁽ˡ⁻¹⁾)."""

    activation: Activation
    depth: int
    w1: float
    w: float
    b: float


# --------------------------------------------------------------------------------------------------------------
# tiles


def _tile(X: torch.Tensor, tile: int | None) -> int:
    if tile is None:
        return CPU_TILE if X.device.type == "cpu" else GPU_TILE
    return check_int(tile, "tile", 1)


def _tiles(n: int, tile: int):
    """Upper-triangular block pairs (I, J), J ≥ I, of an n × n matrix."""
    starts = range(0, n, tile)
    for i in starts:
        for j in starts:
            if j >= i:
                yield slice(i, min(i + tile, n)), slice(j, min(j + tile, n))


def _store(out: torch.Tensor, I: slice, J: slice, block: torch.Tensor) -> None:
    """Write a block and its mirror image; diagonal blocks are symmetrised first (exact symmetry)."""
    if I == J:
        block = (block + block.T) / 2
        out[I, J] = block
    else:
        out[I, J] = block
        out[J, I] = block.T


# --------------------------------------------------------------------------------------------------------------
# ReLU angle tracking


def _unit_rows(X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row norms and unit rows (zero rows stay zero)."""
    norms = torch.linalg.vector_norm(X, dim=1)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    return norms, X / safe[:, None]


def first_layer_angles(Xi: torch.Tensor, Xj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """θ_ij = ∠(x_i, x_j) ∈ [0, π] between the unit rows of ``Xi`` and ``Xj``, with h = 1 − cos θ and
    h̄ = 1 + cos θ (docs/kernels.md#stable-evaluation).

    arccos of the Gram entry ρ where it is well-conditioned (|ρ| ≤ 0.9, slope ≤ 2.3; there 1 ∓ ρ lose
    nothing), otherwise the stable θ = 2·atan2(‖x̂_i − x̂_j‖, ‖x̂_i + x̂_j‖), h = ‖x̂_i − x̂_j‖²/2 and
    h̄ = ‖x̂_i + x̂_j‖²/2 from the rows themselves; so θ, h and h̄ are accurate to O(d·u) everywhere, and
    sin θ = √(h h̄) keeps its absolute accuracy next to θ = 0 and θ = π alike. A zero row has θ = π/2 to
    everything (its kernel entries vanish anyway).
    """
    rho = (Xi @ Xj.T).clamp_(-1.0, 1.0)
    theta = torch.arccos(rho)
    h, hbar = 1 - rho, 1 + rho
    near = (rho.abs() > _DIRECT_ANGLE_THRESHOLD).nonzero()
    chunk = max(1, (1 << 22) // max(1, Xi.shape[1]))
    for start in range(0, len(near), chunk):
        i, j = near[start : start + chunk].unbind(1)
        diff = torch.linalg.vector_norm(Xi[i] - Xj[j], dim=1)
        summ = torch.linalg.vector_norm(Xi[i] + Xj[j], dim=1)
        theta[i, j] = 2 * torch.atan2(diff, summ)
        h[i, j], hbar[i, j] = diff * diff / 2, summ * summ / 2
    return theta, h, hbar


def _series_fix(s: torch.Tensor, theta: torch.Tensor) -> None:
    """Replace s(θ) = sin θ − θ cos θ where θ < 1/2 by Σ_{k≥1} (−1)^{k+1} 2k θ^{2k+1}/(2k+1)! (no cancellation)."""
    if float(theta.min()) >= _SERIES_THRESHOLD:
        return
    small = theta < _SERIES_THRESHOLD
    t = theta[small]
    t2 = t * t
    series = torch.zeros_like(t)
    for k in range(_SERIES_TERMS, 0, -1):  # Horner in θ²
        series = series * t2 + (-1) ** (k + 1) * 2 * k / math.factorial(2 * k + 1)
    s[small] = series * t2 * t


def _relu_blocks(theta, h, hbar, outer_norm, live, depth: int, keep: bool):
    """Seed-normalised (K, [G], [Ġ]) of one tile from its layer-1 angles θ, h = 1 − cos θ, h̄ = 1 + cos θ.

    One step of the arc-cosine map (Cho & Saul 2009), cancellation-free (module docstring):
    sin θ = √(h h̄),  h' = h − (sin θ − θ cos θ)/π,  θ' = 2 arcsin √(h'/2),  h̄' = 2 − h' (θ' ≤ π/2, h̄' ≥ 1).
    ``live`` is None when no row is zero. The G, Ġ lists hold every layer only when ``keep``.
    """
    cos = torch.rsub(h, 1.0)
    G = outer_norm * cos
    K = G.clone() if keep else G
    Gs, Gds = [G], [None]
    for layer in range(2, depth + 1):
        # fused passes (addcmul, rsub, alpha=): this loop is the hot path of the analytic kernels
        Gdot = torch.rsub(theta, 1.0, alpha=1 / math.pi)
        if live is not None:
            Gdot.mul_(live)
        s = torch.sqrt(h * hbar).addcmul_(theta, cos, value=-1.0)
        _series_fix(s, theta)
        h = h.sub(s, alpha=1 / math.pi).clamp_(0.0, 1.0)
        theta = torch.sqrt(h * 0.5).arcsin_().mul_(2)
        cos, hbar = torch.rsub(h, 1.0), torch.rsub(h, 2.0)
        K.mul_(Gdot)
        if keep or layer == depth:
            G = outer_norm * cos
            K.add_(G)
        else:
            K.addcmul_(outer_norm, cos)
        if keep:
            Gs.append(G)
            Gds.append(Gdot)
    if not keep:
        Gs = [G]
    return K, Gs, Gds


# --------------------------------------------------------------------------------------------------------------
# general recursion (any activation, optional bias)


def _diagonal_variances(rec: _Recursion, sq_norms: torch.Tensor) -> list[torch.Tensor]:
    """Σ⁽ˡ⁾_ii for l = 1..L (a one-dimensional recursion)."""
    q = [rec.w1 * sq_norms + rec.b]
    for _ in range(2, rec.depth + 1):
        t, _ = rec.activation.dual(q[-1], q[-1], q[-1])
        q.append(rec.w * t + rec.b)
    return q


def _diagonal_ntk(rec: _Recursion, q: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Θ⁽ᴸ⁾_ii and Ġ⁽ˡ⁾_ii by the same recursion on the diagonal."""
    theta = q[0]
    gdots = [None]
    for layer in range(1, rec.depth):
        _, tdot = rec.activation.dual(q[layer - 1], q[layer - 1], q[layer - 1])
        gdots.append(rec.w * tdot)
        theta = q[layer] + gdots[-1] * theta
    return theta, gdots


def _general_blocks(rec: _Recursion, gram: torch.Tensor, qi: list, qj: list, keep: bool):
    S = rec.w1 * gram + rec.b
    K = S
    Gs, Gds = [S], [None]
    for layer in range(1, rec.depth):
        t, tdot = rec.activation.dual(qi[layer - 1][:, None], qj[layer - 1][None, :], S)
        S = rec.w * t + rec.b
        Gdot = rec.w * tdot
        K = S + Gdot * K
        if keep:
            Gs.append(S)
            Gds.append(Gdot)
    if not keep:
        Gs = [S]
    return K, Gs, Gds


# --------------------------------------------------------------------------------------------------------------
# driver


def _run(X, rec: _Recursion, *, keep: bool, device, tile, nngp: bool = True) -> LayerKernels:
    """Evaluate the recursion, with data of any magnitude (:mod:`ntkverify.scaling`): bias-free kernels of
    homogeneous activations are evaluated at 2^{−k}X and scaled back exactly (K, G⁽ˡ⁾ are 2-homogeneous, Ġ⁽ˡ⁾
    0-homogeneous); the others need finite squared norms. Overflow is a ``ValueError``, never inf or NaN."""
    X = as_data(X, "X", device=device)
    what = "limiting kernel"
    n_G = rec.depth if keep else int(nngp)

    def flat(Y):
        layers = _evaluate(Y, rec, keep=keep, tile=tile, nngp=nngp)
        return [layers.K, *layers.G, *layers.Gdot[1:]]

    if rec.b == 0.0 and rec.activation.homogeneous:
        outputs = homogeneous_evaluation(flat, X, [2] * (1 + n_G) + [0] * max(n_G - 1, 0), what)
    else:
        check_squared_norms(X, what)
        outputs = [check_finite(T, what) for T in flat(X)]
    return LayerKernels(outputs[0], tuple(outputs[1 : 1 + n_G]), (None, *outputs[1 + n_G :]))


def _evaluate(X, rec: _Recursion, *, keep: bool, tile, nngp: bool) -> LayerKernels:
    """Evaluate the recursion tile by tile. ``keep``: store every G⁽ˡ⁾ and Ġ⁽ˡ⁾; otherwise only K and, when
    ``nngp``, G⁽ᴸ⁾ (so the NTK alone costs one N × N matrix, not two)."""
    tile = _tile(X, tile)
    n = X.shape[0]
    count = rec.depth if keep else int(nngp)
    new = lambda: torch.empty((n, n), dtype=X.dtype, device=X.device)  # noqa: E731
    K, Gs, Gds = new(), [new() for _ in range(count)], [None] + [new() for _ in range(count - 1)]
    relu_path = rec.activation.name == "relu" and rec.b == 0.0
    norms, unit = _unit_rows(X)
    sq_norms = (X * X).sum(1)
    if relu_path:
        live = (norms > 0).to(X.dtype) if bool((norms == 0).any()) else None
    else:
        q = _diagonal_variances(rec, sq_norms)
    for I, J in _tiles(n, tile):
        if relu_path:
            theta, h, hbar = first_layer_angles(unit[I], unit[J])
            Kb, Gb, Gdb = _relu_blocks(
                theta,
                h,
                hbar,
                norms[I, None] * norms[None, J],
                None if live is None else live[I, None] * live[None, J],
                rec.depth,
                keep,
            )
        else:
            Kb, Gb, Gdb = _general_blocks(rec, X[I] @ X[J].T, [v[I] for v in q], [v[J] for v in q], keep)
        _store(K, I, J, Kb)
        for out, block in zip(Gs, Gb):
            _store(out, I, J, block)
        for out, block in zip(Gds[1:], Gdb[1:]):
            _store(out, I, J, block)
    if relu_path:
        _relu_rescale(rec, K, Gs, Gds, sq_norms, keep)
    else:
        diag_K, diag_gdot = _diagonal_ntk(rec, q)
        K.diagonal().copy_(diag_K)
        layers = range(rec.depth) if keep else [rec.depth - 1]
        for out, layer in zip(Gs, layers):
            out.diagonal().copy_(q[layer])
        for out, gd in zip(Gds[1:], diag_gdot[1:]):
            out.diagonal().copy_(gd)
    return LayerKernels(K, tuple(Gs), tuple(Gds))


def _relu_rescale(rec: _Recursion, K, Gs, Gds, sq_norms, keep: bool) -> None:
    """Exact diagonals of the seed-normalised ReLU kernels (G⁽ˡ⁾_ii = ‖x_i‖², Ġ_ii = 1{x_i ≠ 0},
    K⁽ᴸ⁾_ii = L‖x_i‖²), then the constants of the recursion: G⁽ˡ⁾ ← w1 (w/2)^{l−1} G⁽ˡ⁾, Ġ ← (w/2) Ġ."""
    K.diagonal().copy_(rec.depth * sq_norms)
    for G in Gs:
        G.diagonal().copy_(sq_norms)
    for Gd in Gds[1:]:
        Gd.diagonal().copy_((sq_norms > 0).to(Gd.dtype))
    if rec.w1 == 1.0 and rec.w == 2.0:
        return
    layers = range(1, rec.depth + 1) if keep else [rec.depth]
    K.mul_(rec.w1 * (rec.w / 2) ** (rec.depth - 1))
    for G, layer in zip(Gs, layers):
        G.mul_(rec.w1 * (rec.w / 2) ** (layer - 1))
    for Gd in Gds[1:]:
        Gd.mul_(rec.w / 2)


def _seed(depth: int, activation) -> _Recursion:
    act = get_activation(activation)
    return _Recursion(act, check_int(depth, "depth", 1), 1.0, act.c_sigma, 0.0)


def _standard(X, depth: int, sigma_w, sigma_b, activation) -> _Recursion:
    sw2 = check_nonneg(sigma_w, "sigma_w") ** 2
    sb2 = check_nonneg(sigma_b, "sigma_b") ** 2
    d = as_data(X, "X").shape[1]
    return _Recursion(get_activation(activation), check_int(depth, "depth", 1), sw2 / d, sw2, sb2)


def limiting_layers(X, depth: int, *, activation="relu", device=None, tile: int | None = None) -> LayerKernels:
    """K⁽ᴸ⁾ with every G⁽ˡ⁾ and Ġ⁽ˡ⁾ in the seed paper's normalisation (NMM21 eq. (4); docs/kernels.md#recursion)."""
    return _run(X, _seed(depth, activation), keep=True, device=device, tile=tile)


def limiting_ntk(X, depth: int, *, activation="relu", device=None, tile: int | None = None) -> torch.Tensor:
    """The limiting NTK K⁽ᴸ⁾ of a bias-free MLP with L = ``depth`` weight matrices (NMM21; docs/kernels.md#recursion,
    #relu-closed-forms).

    K⁽ᴸ⁾_ii = L‖x_i‖² for ReLU. Raises ``ValueError`` for invalid X (see :func:`ntkverify.validation.as_data`),
    depth < 1 or an unknown activation.
    """
    return _run(X, _seed(depth, activation), keep=False, device=device, tile=tile, nngp=False).K


def limiting_nngp(X, depth: int, *, activation="relu", device=None, tile: int | None = None) -> torch.Tensor:
    """The NNGP G⁽ᴸ⁾ (covariance of the output at depth L) in the seed normalisation (docs/kernels.md#recursion)."""
    return _run(X, _seed(depth, activation), keep=False, device=device, tile=tile).nngp


def standard_layers(
    X, depth: int, *, sigma_w=1.0, sigma_b=0.0, activation="relu", device=None, tile: int | None = None
) -> LayerKernels:
    """Θ⁽ᴸ⁾ with every Σ⁽ˡ⁾ in the standard NTK parameterisation (JGH18; neural-tangents ``'ntk'``)."""
    rec = _standard(X, depth, sigma_w, sigma_b, activation)
    return _run(X, rec, keep=True, device=device, tile=tile)


def standard_ntk(
    X, depth: int, *, sigma_w=1.0, sigma_b=0.0, activation="relu", device=None, tile: int | None = None
) -> torch.Tensor:
    """The limiting NTK Θ⁽ᴸ⁾ in the standard parameterisation (module docstring; σ_w, σ_b in every layer)."""
    rec = _standard(X, depth, sigma_w, sigma_b, activation)
    return _run(X, rec, keep=False, device=device, tile=tile, nngp=False).K


def standard_nngp(
    X, depth: int, *, sigma_w=1.0, sigma_b=0.0, activation="relu", device=None, tile: int | None = None
) -> torch.Tensor:
    """The NNGP Σ⁽ᴸ⁾ (output covariance) in the standard parameterisation."""
    rec = _standard(X, depth, sigma_w, sigma_b, activation)
    return _run(X, rec, keep=False, device=device, tile=tile).nngp


def h_infinity(X, *, device=None, tile: int | None = None) -> torch.Tensor:
    """Du et al.'s two-layer Gram matrix (DZPS19 §3; docs/kernels.md#normalisations):

    H∞_ij = E_{w~N(0,I)}[x_iᵀx_j 1{wᵀx_i ≥ 0, wᵀx_j ≥ 0}] = x_iᵀx_j (π − θ_ij)/(2π) = ½ (XXᵀ ∘ Ġ⁽²⁾)_ij,

    which for unit-norm data is x_iᵀx_j (π − arccos x_iᵀx_j)/(2π). Valid for data of any norm (the indicator
    is invariant under positive scaling); H∞_ii = ‖x_i‖²/2 and zero rows give zero rows.
    """
    X = as_data(X, "X", device=device)
    tile = _tile(X, tile)

    def evaluate(Y):
        n = Y.shape[0]
        norms, unit = _unit_rows(Y)
        H = torch.empty((n, n), dtype=Y.dtype, device=Y.device)
        for I, J in _tiles(n, tile):
            theta, h, _ = first_layer_angles(unit[I], unit[J])
            _store(H, I, J, norms[I, None] * norms[None, J] * (1 - h) * (math.pi - theta) / (2 * math.pi))
        H.diagonal().copy_((Y * Y).sum(1) / 2)
        return [H]

    return homogeneous_evaluation(evaluate, X, [2], "H∞")[0]  # 2-homogeneous: exact for data of any magnitude
