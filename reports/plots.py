"""PNG plots of reports (matplotlib, Agg backend: no display needed).

* :func:`case_plot` — a case against its property, drawn as the property declares
  (:class:`~ntkverify.properties.core.Figure`, carried with its data by :class:`CaseFigure`): the spectrum of K
  (sorted eigenvalues of its symmetric part, ``eigvalsh``) with the verdict's bound and observed value, or beside
  its reference's spectrum; the entrywise error |A − B| / allowed as a log-scale heat map for an agreement check;
  per layer, the Lipschitz quotients against the bound; per layer, the eigenvalues of F_k F_kᵀ.
* :func:`property_plot` — the distribution of a property's normalised margins, with the tightest one marked,
  next to its tightest case drawn as above.

Every function returns the PNG bytes, so a caller can write a file or embed them (base64) in HTML.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib import colors, ticker  # noqa: E402

from ntkverify.properties.core import Figure, Verdict  # noqa: E402

_DPI = 80


def figure_png(fig) -> bytes:
    """The PNG bytes of a matplotlib figure (closed afterwards)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)  # layout="constrained" places everything: one draw, no tight bbox
    plt.close(fig)
    return buf.getvalue()


@dataclass
class CaseFigure:
    """What to draw for a case and its data: ``K`` (and ``reference``) for a spectrum, ``errors`` for an entrywise
    heat map, ``layers`` (one array per layer k = 1, 2, …) for quotients or feature spectra. A figure whose data
    could not be computed is drawn as the spectrum of ``K`` when there is one."""

    figure: Figure
    K: torch.Tensor | None = None
    reference: torch.Tensor | None = None
    errors: np.ndarray | None = None
    layers: list[np.ndarray] = field(default_factory=list)


def entry_errors(K: torch.Tensor, reference: torch.Tensor, allowed: torch.Tensor) -> np.ndarray:
    """|K − reference| / allowed entrywise (inf where the allowance is 0 and the entries differ)."""
    diff = (K - reference).abs()
    safe = torch.where(allowed > 0, allowed, torch.ones_like(allowed))
    ratio = torch.where(allowed > 0, diff / safe, torch.where(diff > 0, torch.inf, 0.0))
    return ratio.cpu().numpy()


def _text(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=9, transform=ax.transAxes)
    ax.set_axis_off()


def _spectrum(ax, K: torch.Tensor, verdict: Verdict | None, reference: torch.Tensor | None = None) -> None:
    """Eigenvalues of K with the verdict's bound; given ``reference``, its eigenvalues beside them instead (a
    comparison of two spectra, whose verdict is a ratio, not an eigenvalue)."""
    sym = ((K + K.T) / 2).cpu()
    eig = torch.linalg.eigvalsh(sym).numpy()
    ax.plot(np.arange(1, eig.size + 1), eig, "o-", ms=4, label="eigenvalues of (K + Kᵀ)/2")
    if reference is not None:
        ref = torch.linalg.eigvalsh(((reference + reference.T) / 2).cpu()).numpy()
        ax.plot(np.arange(1, ref.size + 1), ref, "s--", ms=4, mfc="none", label="eigenvalues of K_ref")
        eig = np.concatenate([eig, ref])
    elif verdict is not None and math.isfinite(verdict.bound):
        ax.axhline(verdict.bound, color="tab:red", ls="--", label=f"bound ({verdict.side}) {verdict.bound:.4g}")
        if math.isfinite(verdict.observed):
            ax.axhline(verdict.observed, color="tab:orange", ls=":", label=f"observed {verdict.observed:.4g}")
    # symlog: the small eigenvalues (λ_min near the bound 0) stay visible next to λ_max; few ticks keep it fast
    span = max(float(np.abs(eig).max()), 1e-300)
    linthresh = max(span * 1e-8, 1e-300)
    ax.set_yscale("symlog", linthresh=linthresh)
    locator = ticker.SymmetricalLogLocator(linthresh=linthresh, base=10)
    locator.set_params(numticks=6)
    ax.yaxis.set_major_locator(locator)
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.0e}" if v else "0"))  # no mathtext
    ax.set_xlabel("index (ascending)")
    ax.set_ylabel("eigenvalue")
    ax.legend(fontsize=7, loc="upper left")


def _heat(ax, fig, errors: np.ndarray) -> None:
    """|Δ| / allowed on a log colour scale (ratios span many decades: 1e-3 is fine, 1e6 a bug); exact zeros are
    grey, infinite ratios (an allowance of 0 with a nonzero gap) and NaN are marked in their cells."""
    positive = np.isfinite(errors) & (errors > 0)
    low = float(errors[positive].min()) if positive.any() else 1e-3
    high = float(errors[positive].max()) if positive.any() else 1.0
    norm = colors.LogNorm(vmin=min(low, 0.1), vmax=max(high, 10.0))
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="#cccccc")
    image = ax.imshow(np.ma.masked_where(~positive, errors), cmap=cmap, norm=norm, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="|Δ| / allowed, log scale (> 1 violates)")
    for (i, j), value in np.ndenumerate(errors):
        if not np.isfinite(value):
            ax.text(j, i, "NaN" if np.isnan(value) else "∞", ha="center", va="center", color="tab:red", fontsize=8)
    if errors.shape[0] <= 16:
        ax.set_xticks(range(errors.shape[1]))
        ax.set_yticks(range(errors.shape[0]))
    ax.set_xlabel("j (grey: exact agreement, or the marked ∞ / NaN)")
    ax.set_ylabel("i")


def _per_layer(ax, layers: list[np.ndarray], verdict: Verdict | None, *, ylabel: str, bound_line: bool) -> None:
    """One column of points per layer k (log scale), with the verdict's bound and observed value when they are
    quantities of the same kind (``bound_line``)."""
    for k, values in enumerate(layers, start=1):
        values = values[np.isfinite(values) & (values > 0)]
        if values.size:
            jitter = np.linspace(-0.2, 0.2, values.size) if values.size > 1 else np.zeros(1)
            ax.plot(k + jitter, np.sort(values), ".", ms=3, alpha=0.6, color="tab:blue")
    if bound_line and verdict is not None and math.isfinite(verdict.bound) and verdict.bound > 0:
        ax.axhline(verdict.bound, color="tab:red", ls="--", label=f"bound ({verdict.side}) {verdict.bound:.4g}")
        if math.isfinite(verdict.observed) and verdict.observed > 0:
            ax.axhline(verdict.observed, color="tab:orange", ls=":", label=f"observed max {verdict.observed:.4g}")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_yscale("log")
    ax.set_xticks(range(1, len(layers) + 1))
    ax.set_xlabel("layer k")
    ax.set_ylabel(ylabel)


def _draw_case(ax, fig, figure: CaseFigure | None, verdict: Verdict | None, note: str) -> None:
    kind = None if figure is None else figure.figure
    if kind in (Figure.ENTRYWISE, Figure.ASYMMETRY) and figure.errors is not None and figure.errors.size:
        _heat(ax, fig, figure.errors)
    elif kind is Figure.QUOTIENTS and figure.layers:
        _per_layer(ax, figure.layers, verdict, ylabel="‖f_k(x) − f_k(y)‖ / (Π‖W_l‖ ‖x − y‖)", bound_line=True)
    elif kind is Figure.FEATURE_SPECTRA and figure.layers:
        _per_layer(ax, figure.layers, None, ylabel="eigenvalues of F_k F_kᵀ (positive ones)", bound_line=False)
    elif kind is not Figure.MARGINS and figure is not None and figure.K is not None and figure.K.numel():
        reference = figure.reference if kind is Figure.SPECTRA else None
        _spectrum(ax, figure.K, verdict, reference)
    else:
        _text(ax, note or "no matrix to draw for this case")


def _draw_margins(ax, margins: list[float], tightest: float) -> None:
    values = np.asarray([m for m in margins if math.isfinite(m)], dtype=float)
    if not values.size:
        _text(ax, "no finite margins recorded")
        return
    ax.hist(values, bins=min(30, max(5, values.size // 2)), color="tab:blue", alpha=0.8)
    if math.isfinite(tightest):
        ax.axvline(tightest, color="tab:red", ls="--", label=f"tightest {tightest:.3g}")
        ax.legend(fontsize=7, loc="upper right")
    ax.set_xlabel("normalised margin (≥ 0 holds)")
    ax.set_ylabel("examples")


def case_plot(figure: CaseFigure | None, verdict: Verdict | None, *, title: str, note: str = "") -> bytes:
    """A case drawn as its property declares (module docstring), as PNG bytes."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6), layout="constrained")
    _draw_case(ax, fig, figure, verdict, note)
    fig.suptitle(title, fontsize=9)
    return figure_png(fig)


def property_plot(
    margins: list[float],
    tightest: float,
    *,
    title: str,
    figure: CaseFigure | None = None,
    verdict: Verdict | None = None,
) -> bytes:
    """One figure per property run: its margin distribution and, given ``figure``, its tightest case drawn as in
    :func:`case_plot` (one figure, one encoding: plots are a large share of a run's reporting time)."""
    with_case = figure is not None and figure.figure is not Figure.MARGINS
    fig, axes = plt.subplots(
        1, 2 if with_case else 1, figsize=(9.4 if with_case else 4.6, 3.2), squeeze=False, layout="constrained"
    )
    _draw_margins(axes[0, 0], margins, tightest)
    axes[0, 0].set_title("margins", fontsize=9)
    if with_case:
        _draw_case(axes[0, 1], fig, figure, verdict, verdict.notes if verdict else "")
        axes[0, 1].set_title(f"tightest case: {figure.figure.name.lower().replace('_', ' ')}", fontsize=9)
    fig.suptitle(title, fontsize=9)
    return figure_png(fig)
