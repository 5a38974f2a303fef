"""Sequential knock-out (SKO): round-robin over the arms still in the race, dropping the worst by rank sums.

Successive Rejects (Audibert & Bubeck, COLT 2010, "Best arm identification in multi-armed bandits"),
with rank sums in place of mean rewards so that the plain reward's scale does not matter:

- the remaining arms take turns, round-robin in the portfolio's order (continuing after the arm played
  last, so a knock-out does not restart the turn);
- after each trial, once every remaining arm has a reward, the remaining arms are ranked by their latest
  reward (1 = best; tied arms share the average of their ranks) and each arm's rank is added to its sum;
- phases are sized from the budget as Successive Rejects sizes them: with n the budget and
  logbar(K) = 1/2 + sum_{i=2..K} 1/i, phase k ends after n_k = (n - K) / (logbar(K) (K + 1 - k)) plays of
  each remaining arm, i.e. when the fraction f of the budget spent since the strategy's first step reaches
  F_k = (1 + sum_{i=K+2-k..K} 1/i) / logbar(K) (F_{K-1} = 1). At the end of phase k the arm with the largest
  rank sum is dropped (ties broken by the run's generator), until two remain (the original SKO keeps two);
  the sums run on over the whole race. f is the time spent under TIME (and GOAL's TIME cap), the trials
  under `--max-trials` alone, the larger where both are set (`budget`); a drop waits until every
  remaining arm has a reward;
- with no budget (ask/tell without `max_trials`), or with the option "period" R, the original hpo-mab rule
  by trial count: every R steps (default 10K) the arm with the largest rank sum of the window is dropped,
  and the sums restart from zero; from the first step, an arm not yet tried ranks below every tried one.

"Latest reward" of an arm is the reward of its most recent trial, whenever that was. The drop happens at
the start of the first select past a phase's end, because the generator that breaks ties comes with select.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, argmax_tie, rounded

MIN_REMAINING = 2


def ranks(values: np.ndarray) -> np.ndarray:
    """Rank 1 = largest value; ties share the average of their ranks (-inf: never tried, ranks last)."""
    values = np.asarray(values, dtype=float)
    better = (values[None, :] > values[:, None]).sum(1)
    tied = (values[None, :] == values[:, None]).sum(1)
    return 1.0 + better + 0.5 * (tied - 1)


def log_bar(k: int) -> float:
    """logbar(K) = 1/2 + sum_{i=2..K} 1/i (Audibert & Bubeck 2010)."""
    return 0.5 + sum(1.0 / i for i in range(2, k + 1))


def phase_ends(k: int) -> list[float]:
    """F_1, ..., F_{K-1}: the budget fractions at which the phases of Successive Rejects end."""
    return [(1.0 + sum(1.0 / i for i in range(k + 2 - j, k + 1))) / log_bar(k) for j in range(1, k)]


class SequentialKnockout(BaseStrategy):
    """SKO: round-robin over the remaining arms; drop the largest rank sum at Successive Rejects' phase ends."""

    name = "SKO"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.period = 0
        self.ends: list[float] = []
        self.remaining: list[str] = []
        self.latest: dict[str, float] = {}
        self.sums: dict[str, float] = {}
        self.window = 0
        self.last_index = -1
        self.dropped: list[tuple[int, str]] = []

    def _start(self) -> None:
        period = self.option("period", 10 * len(self.arms))
        if period < 1:
            raise HpoError(f"SKO: option 'period' must be at least 1, but got {period}")
        self.period = int(period)
        self.ends = phase_ends(len(self.arms))
        self.remaining = list(self.arms)
        self.sums = {a: 0.0 for a in self.arms}

    @property
    def by_period(self) -> bool:
        """Whether the original fixed-period rule applies (option "period" set, or no budget)."""
        return "period" in self.options or self.spent is None

    def _due(self) -> bool:
        if len(self.remaining) <= MIN_REMAINING:
            return False
        if self.by_period:
            return self.window >= self.period
        phase = len(self.arms) - len(self.remaining)
        return self.spent >= self.ends[phase] and all(a in self.latest for a in self.remaining)

    def _knock_out(self, rng: np.random.Generator) -> None:
        while self._due():
            worst = self.remaining[argmax_tie(np.array([self.sums[a] for a in self.remaining]), rng)]
            self.remaining.remove(worst)
            self.dropped.append((self.steps, worst))
            if self.by_period:
                self.sums = {a: 0.0 for a in self.remaining}
                self.window = 0

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        self._knock_out(rng)
        k = len(self.arms)
        for offset in range(1, k + 1):
            arm = self.arms[(self.last_index + offset) % k]
            if arm in self.remaining:
                self.last_index = self.arms.index(arm)
                return arm
        raise AssertionError("SKO has no remaining arm")  # unreachable: at least two remain

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if trial.arm not in self.remaining:
            return
        self.latest[trial.arm] = self.rewarder.of_trial(trial, history)
        self.window += 1
        if not self.by_period and not all(a in self.latest for a in self.remaining):
            return
        values = np.array([self.latest.get(a, -np.inf) for a in self.remaining])
        for arm, rank in zip(self.remaining, ranks(values)):
            self.sums[arm] += float(rank)

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        schedule = {"period": self.period} if self.by_period else {"phase_ends": rounded(self.ends)}
        return {"remaining": list(self.remaining), "rank_sums": rounded({a: self.sums[a] for a in self.remaining}),
                "window": self.window, **schedule, "dropped": [{"step": s, "arm": a} for s, a in self.dropped]}
