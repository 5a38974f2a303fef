"""Sequential knock-out (SKO): round-robin over the arms still in the race, dropping the worst by rank sums.

A successive-rejects style elimination (Audibert, Bubeck & Munos, COLT 2010, "Successive Rejects"),
here with rank sums in place of mean rewards so that the plain reward's scale does not matter:

- the remaining arms take turns, round-robin in the portfolio's order (continuing after the arm played
  last, so a knock-out does not restart the turn);
- after each trial, the remaining arms are ranked by their latest reward (1 = best; tied arms share the
  average of their ranks) and each arm's rank is added to its running sum;
- every R steps (option "period", default 10 x the portfolio size K), the arm with the largest sum is
  dropped (ties broken by the run's generator), unless only two remain; the sums restart from zero.

"Latest reward" of an arm is the reward of its most recent trial, whenever that was: an arm not yet
re-tried in the current window keeps the reward of its last trial from an earlier window. An arm with no
trial at all ranks below every tried arm (such arms tie among themselves). The drop happens at the start of
the first select after the R-th trial of the window, because the generator that breaks ties comes with
select.
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


class SequentialKnockout(BaseStrategy):
    """SKO: round-robin over the remaining arms; every R steps drop the arm with the largest rank sum."""

    name = "SKO"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.period = 0
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
        self.remaining = list(self.arms)
        self.sums = {a: 0.0 for a in self.arms}

    def _knock_out(self, rng: np.random.Generator) -> None:
        if self.window < self.period or len(self.remaining) <= MIN_REMAINING:
            return
        worst = self.remaining[argmax_tie(np.array([self.sums[a] for a in self.remaining]), rng)]
        self.remaining.remove(worst)
        self.dropped.append((self.steps, worst))
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
        values = np.array([self.latest.get(a, -np.inf) for a in self.remaining])
        for arm, rank in zip(self.remaining, ranks(values)):
            self.sums[arm] += float(rank)
        self.window += 1

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        return {"remaining": list(self.remaining), "rank_sums": rounded({a: self.sums[a] for a in self.remaining}),
                "window": self.window, "period": self.period,
                "dropped": [{"step": s, "arm": a} for s, a in self.dropped]}
