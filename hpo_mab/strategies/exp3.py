"""EXP3 (Auer, Cesa-Bianchi, Freund & Schapire, SIAM J. Comput. 2002): Hedge for bandit feedback.

p_i = (1 - gamma) w_i / sum_j w_j + gamma / K. After arm j is played with probability p_j and earns the
plain reward x in [0, 1] (`rewards`), its importance-weighted estimate x / p_j updates
w_j <- w_j exp(gamma x / (p_j K)); the other weights stay. gamma = 0.1 by default (option "gamma").
Weights are kept as logarithms so that long runs cannot overflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, draw, hedge_probabilities, rounded


class Exp3(BaseStrategy):
    """EXP3 with gamma-mixing towards the uniform distribution."""

    name = "EXP3"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.gamma = self.option("gamma", 0.1)
        if not 0.0 < self.gamma <= 1.0:
            raise HpoError(f"EXP3: gamma must lie in (0, 1], but got {self.gamma}")
        self.log_w: np.ndarray = np.zeros(0)
        self.last_p: dict[str, float] = {}

    def _start(self) -> None:
        self.log_w = np.zeros(len(self.arms))

    def probabilities(self) -> np.ndarray:
        k = len(self.arms)
        return (1.0 - self.gamma) * hedge_probabilities(self.log_w, 1.0) + self.gamma / k

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        p = self.probabilities()
        i = draw(p, rng)
        self.last_p[self.arms[i]] = float(p[i])
        return self.arms[i]

    def importance_weighted(self, arm: str, reward: float) -> float:
        """The estimate x / p of the arm's reward, p its probability when it was chosen."""
        return reward / self.last_p[arm]

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if trial.arm not in self.last_p:
            return
        x = min(1.0, max(0.0, self.rewarder.of_trial(trial, history)))
        self.log_w[self.arms.index(trial.arm)] += self.gamma * self.importance_weighted(trial.arm, x) / len(self.arms)

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        return {"p": dict(zip(self.arms, rounded(self.probabilities()))),
                "log_w": dict(zip(self.arms, rounded(self.log_w))), "gamma": self.gamma}
