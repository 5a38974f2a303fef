"""Epsilon-greedy over the arms' mean rewards, with a step-wise decaying epsilon.

Epsilon-greedy (Sutton & Barto, Reinforcement Learning, 1998, sec. 2.2; the schedule decays as in
Auer, Cesa-Bianchi & Fischer, Machine Learning 2002, "epsilon_n-greedy"): with K arms and t strategy
steps so far, epsilon_t = max(0.1, 1 - 0.1 floor(t / (5K))). With probability epsilon the step explores,
uniformly among the non-greedy arms; otherwise it plays the greedy arm (largest mean reward; ties broken
by the run's generator). Arms never tried come first: while some arm has no reward yet, the step plays one
of the untried arms uniformly at random (no epsilon draw), so every arm has a mean before the greedy rule
starts. EG uses plain rewards, EG-LE log-error rewards (`rewards`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, argmax_tie

MIN_EPSILON = 0.1


def step_epsilon(t: int, k: int) -> float:
    """epsilon_t = max(0.1, 1 - 0.1 floor(t / (5K)))."""
    return max(MIN_EPSILON, 1.0 - 0.1 * math.floor(t / (5 * k)))


class EpsilonGreedy(BaseStrategy):
    """EG: epsilon-greedy over mean plain rewards with epsilon_t decaying every 5K steps."""

    name = "EG"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.sums: np.ndarray = np.zeros(0)
        self.counts: np.ndarray = np.zeros(0, dtype=int)

    def _start(self) -> None:
        self.sums = np.zeros(len(self.arms))
        self.counts = np.zeros(len(self.arms), dtype=int)

    def epsilon(self, history: History) -> float:
        """Epsilon of the coming step."""
        return step_epsilon(self.steps, len(self.arms))

    def means(self) -> np.ndarray:
        return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        eps = self.epsilon(history)
        untried = np.flatnonzero(self.counts == 0)
        if untried.size:
            return self.arms[int(untried[rng.integers(untried.size)])]
        greedy = argmax_tie(self.means(), rng)
        if len(self.arms) > 1 and rng.random() < eps:
            others = [i for i in range(len(self.arms)) if i != greedy]
            return self.arms[others[int(rng.integers(len(others)))]]
        return self.arms[greedy]

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if trial.arm in self.arms:
            i = self.arms.index(trial.arm)
            self.sums[i] += self.rewarder.of_trial(trial, history)
            self.counts[i] += 1

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        means = {a: (None if not np.isfinite(m) else round(float(m), 6)) for a, m in zip(self.arms, self.means())}
        return {**self._schedule_state(), "means": means, "counts": dict(zip(self.arms, self.counts.tolist()))}

    def _schedule_state(self) -> dict[str, Any]:
        return {"epsilon": step_epsilon(self.steps, len(self.arms)), "t": self.steps}


class EpsilonGreedyLE(EpsilonGreedy):
    """EG-LE: epsilon-greedy over mean log-error rewards."""

    name = "EG-LE"
    reward_scale = "le"

