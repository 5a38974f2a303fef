"""Epsilon-greedy (EG) over the arms' mean rewards, with epsilon decaying over the run's budget.

Epsilon-greedy (Sutton & Barto, Reinforcement Learning, 1998, sec. 2.2) with the epsilon_n = min(1, cK/n)
decay of Auer, Cesa-Bianchi & Fischer (Machine Learning 2002, "epsilon_n-greedy", c = 5 here), sized from
the budget, t being the strategy's steps so far:

- with a budget (time, trials, or both; `budget`), f in [0, 1] the fraction of it spent since the strategy's
  first step: epsilon = min(1, 5K / t, eps_end / f), eps_end = 0.1 (option "eps_end"). For a run of N steps
  this is epsilon_n-greedy with cK = min(5K, eps_end N): on a short budget (N < 50K) the 1/n decay is
  compressed so that epsilon reaches eps_end when the budget is spent, whatever its size (the original rule,
  epsilon = 1 for 5K steps then -0.1 every 5K steps, explored through every budget under 35K steps); on a
  long one it is Auer's schedule, whose exploration grows as log N, so the share of exploiting steps grows
  with the budget. Under a time budget f is the fraction of the time spent, that is, of the steps at the
  run's pace (t / f estimates N);
- with no budget (ask/tell without `max_trials`), by trial count only: epsilon = min(1, 5K / t).

With probability epsilon the step explores, uniformly over all K arms (the greedy one included); otherwise
it plays the greedy arm (largest mean reward; ties broken by the run's generator). Arms never tried come
first: while some arm has no reward yet, the step plays one of the untried arms uniformly at random (no
epsilon draw). EG uses plain rewards, EG-LE log-error rewards (`rewards`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, argmax_tie

EPS_END = 0.1
ANYTIME_C = 5.0


def budget_epsilon(spent: float, eps_end: float = EPS_END) -> float:
    """min(1, eps_end / f) at budget fraction f (1 at f = 0)."""
    return 1.0 if spent <= eps_end else eps_end / spent


def step_epsilon(t: int, k: int) -> float:
    """min(1, 5K / t) after t steps (Auer et al. 2002's epsilon_n with cK / d^2 = 5K)."""
    return 1.0 if t <= ANYTIME_C * k else ANYTIME_C * k / t


class EpsilonGreedy(BaseStrategy):
    """EG: epsilon-greedy over mean plain rewards; epsilon = min(1, 5K / t, 0.1 / f), f the budget spent."""

    name = "EG"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.eps_end = self.option("eps_end", EPS_END)
        if not 0.0 < self.eps_end <= 1.0:
            raise HpoError(f"{self.name}: option 'eps_end' must lie in (0, 1], but got {self.eps_end}")
        self.sums: np.ndarray = np.zeros(0)
        self.counts: np.ndarray = np.zeros(0, dtype=int)

    def _start(self) -> None:
        self.sums = np.zeros(len(self.arms))
        self.counts = np.zeros(len(self.arms), dtype=int)

    def epsilon(self) -> float:
        """Epsilon of the coming step, from `spent` (set by select, and by update for the journal's state)."""
        by_steps = step_epsilon(self.steps, len(self.arms))
        return by_steps if self.spent is None else min(by_steps, budget_epsilon(self.spent, self.eps_end))

    def means(self) -> np.ndarray:
        return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        eps = self.epsilon()
        untried = np.flatnonzero(self.counts == 0)
        if untried.size:
            return self.arms[int(untried[rng.integers(untried.size)])]
        greedy = argmax_tie(self.means(), rng)
        if rng.random() < eps:
            return self.arms[int(rng.integers(len(self.arms)))]
        return self.arms[greedy]

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if trial.arm in self.arms:
            i = self.arms.index(trial.arm)
            self.sums[i] += self.rewarder.of_trial(trial, history)
            self.counts[i] += 1
        self.spent = self.progress(history)

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        means = {a: (None if not np.isfinite(m) else round(float(m), 6)) for a, m in zip(self.arms, self.means())}
        spent = None if self.spent is None else round(self.spent, 6)
        return {"epsilon": round(self.epsilon(), 6), "t": self.steps, "spent": spent, "means": means,
                "counts": dict(zip(self.arms, self.counts.tolist()))}


class EpsilonGreedyLE(EpsilonGreedy):
    """EG-LE: epsilon-greedy over mean log-error rewards."""

    name = "EG-LE"
    reward_scale = "le"
