"""Statistical judgement of PROB properties (docs/tolerances.md#statistical): never a per-example assert.

A PROB property claims P(violation) ≤ δ per independent trial. Over M trials with F violations, the claim is
rejected when the one-sided binomial tail P(Binomial(M, δ) ≥ F) is below the property's share of the run's
false-alarm budget. The budget (default 1e-6 per run) is split equally across the PROB properties run
(Bonferroni), so a correct suite raises a false alarm with probability at most the budget, whatever the seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binom

RUN_FALSE_ALARM_BUDGET = 1e-6


@dataclass(frozen=True)
class BinomialJudgement:
    trials: int
    failures: int
    delta: float
    alpha: float
    p_value: float

    @property
    def rejected(self) -> bool:
        return self.p_value < self.alpha

    @property
    def critical_failures(self) -> int:
        """The smallest failure count that would be rejected at this α."""
        return int(binom.isf(self.alpha, self.trials, self.delta)) + 1

    def __str__(self) -> str:
        return (
            f"{self.failures}/{self.trials} violations, claimed δ = {self.delta:g}: P(Bin ≥ {self.failures}) = "
            f"{self.p_value:.3g} vs α = {self.alpha:.3g} (reject at ≥ {self.critical_failures})"
        )


def judge(failures: int, trials: int, delta: float, alpha: float) -> BinomialJudgement:
    """One-sided exact binomial test of H0: P(violation) ≤ δ."""
    if trials < 1 or not 0 <= failures <= trials:
        raise ValueError(f"need 0 <= failures <= trials and trials >= 1, got {failures}/{trials}")
    if not 0 < delta < 1 or not 0 < alpha < 1:
        raise ValueError(f"delta and alpha must be in (0, 1), got delta={delta}, alpha={alpha}")
    p_value = float(binom.sf(failures - 1, trials, delta)) if failures else 1.0
    return BinomialJudgement(trials, failures, delta, alpha, p_value)


def alpha_share(n_prob_properties: int, budget: float = RUN_FALSE_ALARM_BUDGET) -> float:
    """Bonferroni share of the run's false-alarm budget for one PROB property."""
    return budget / max(1, n_prob_properties)
