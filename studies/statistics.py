"""The statistics of the studies' decision rules: fitted slopes with bootstrap intervals, the power of a slope
test against a named alternative slope, and Clopper–Pearson intervals for failure probabilities.

Every rule here is a one-sided test at a stated level α. A slope rule reads "the slope is at least (or within
a band around) a threshold": it *rejects* when the whole (1 − α) interval lies on the wrong side of the
threshold, so a statement that holds is rejected with probability at most α (up to the normal approximation of
the bootstrap distribution); it *supports* when the whole interval lies on the right side; otherwise the study
is inconclusive. See ``docs/studies.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, binom, norm

BOOTSTRAP_REPLICATES = 2000


def ols_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slopes of the rows of ``y`` (shape R × k, or k) against ``x`` (k)."""
    x = np.asarray(x, dtype=float)
    xc = x - x.mean()
    y = np.asarray(y, dtype=float)
    return (y - y.mean(axis=-1, keepdims=True)) @ xc / (xc @ xc)


@dataclass(frozen=True)
class Slope:
    """A fitted slope with its bootstrap standard error and the two-sided (1 − 2α) normal interval."""

    estimate: float
    se: float
    alpha: float

    @property
    def z(self) -> float:
        return float(norm.isf(self.alpha))

    @property
    def low(self) -> float:
        return self.estimate - self.z * self.se

    @property
    def high(self) -> float:
        return self.estimate + self.z * self.se

    def as_dict(self) -> dict:
        return {"estimate": self.estimate, "se": self.se, "low": self.low, "high": self.high, "alpha": self.alpha}


def median(y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(y, axis=axis)


def geometric_mean(y: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(mean log y): the efficient centre of a positive quantity whose logarithm is roughly normal."""
    return np.exp(np.mean(np.log(y), axis=axis))


def rms(y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Root mean square: for an error whose square has mean ∝ m^(−1), the efficient centre."""
    return np.sqrt(np.mean(np.square(y), axis=axis))


def log_log_slope(groups: Sequence[tuple[float, Sequence[float]]], alpha: float, centre=median, seed: int = 0) -> Slope:
    """Slope of log(centre of y) against log x over ``groups`` = [(x, [y over seeds]), …]; ``centre`` is
    :func:`median`, :func:`geometric_mean` or :func:`rms`.

    The standard error is the bootstrap one: the seeds of each x are resampled with replacement
    (``BOOTSTRAP_REPLICATES`` times, a fixed generator so the verdict is deterministic), the centres refitted.
    Needs at least three x values and positive y."""
    if len(groups) < 3:
        raise ValueError(f"a slope needs at least 3 grid values, got {len(groups)}")
    rng = np.random.default_rng(seed)
    x = np.log([g[0] for g in groups])
    ys = [np.asarray(g[1], dtype=float) for g in groups]
    point = np.log([centre(y) for y in ys])
    boot = np.log(np.stack([centre(rng.choice(y, size=(BOOTSTRAP_REPLICATES, len(y)))) for y in ys], axis=1))
    slopes = ols_slope(x, boot)
    return Slope(float(ols_slope(x, point)), float(np.std(slopes, ddof=1)), alpha)


def slope_at_least(slope: Slope, threshold: float) -> str:
    """``supported`` (interval ≥ threshold), ``rejected`` (interval < threshold) or ``inconclusive``."""
    if slope.low >= threshold:
        return "supported"
    if slope.high < threshold:
        return "rejected"
    return "inconclusive"


def slope_at_most(slope: Slope, threshold: float) -> str:
    """``supported`` (interval ≤ threshold), ``rejected`` (interval > threshold) or ``inconclusive``."""
    if slope.high <= threshold:
        return "supported"
    if slope.low > threshold:
        return "rejected"
    return "inconclusive"


def slope_within(slope: Slope, target: float, band: float) -> str:
    """``supported`` (interval inside target ± band), ``rejected`` (disjoint from it) or ``inconclusive``."""
    if target - band <= slope.low and slope.high <= target + band:
        return "supported"
    if slope.high < target - band or slope.low > target + band:
        return "rejected"
    return "inconclusive"


def power_against(se: float, distance: float, alpha: float) -> float:
    """Power of a one-sided level-α rule to reject a slope ``distance`` beyond its threshold, given the slope's
    standard error: P(estimate + z_α·se is on the far side) = Φ(distance/se − z_α)."""
    if se <= 0:
        return 1.0
    return float(norm.cdf(distance / se - norm.isf(alpha)))


def clopper_pearson(failures: int, trials: int, alpha: float) -> tuple[float, float]:
    """Exact two-sided (1 − α) interval for a binomial probability."""
    low = 0.0 if failures == 0 else float(beta.ppf(alpha / 2, failures, trials - failures + 1))
    high = 1.0 if failures == trials else float(beta.isf(alpha / 2, failures + 1, trials - failures))
    return low, high


def binomial_tail(failures: int, trials: int, rate: float) -> float:
    """P(Bin(trials, rate) ≥ failures): the p-value of ``failures`` under the claimed violation ``rate``."""
    return float(binom.sf(failures - 1, trials, rate)) if failures > 0 else 1.0


def binomial_critical(trials: int, rate: float, alpha: float) -> int:
    """The smallest count k with P(Bin(trials, rate) ≥ k) ≤ α: the one-sided test of "violation rate ≤ rate"
    rejects from k violations on, so its false-alarm rate is at most α."""
    return int(binom.isf(alpha, trials, rate)) + 1


def binomial_power(trials: int, rate: float, alternative: float, alpha: float) -> float:
    """The power of that test when the true violation rate is ``alternative``."""
    return float(binom.sf(binomial_critical(trials, rate, alpha) - 1, trials, alternative))


def median_interval(values: Sequence[float], alpha: float, seed: int = 0) -> tuple[float, float, float]:
    """The median with its bootstrap percentile (1 − α) interval (fixed generator: deterministic)."""
    v = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    boot = np.median(rng.choice(v, size=(BOOTSTRAP_REPLICATES, len(v))), axis=1)
    return float(np.median(v)), float(np.quantile(boot, alpha / 2)), float(np.quantile(boot, 1 - alpha / 2))
