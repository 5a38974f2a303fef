"""HEDGE over arms with full cumulative gains of the chosen arm (as in the original hpo-mab).

Hedge (Freund & Schapire, J. Comput. Syst. Sci. 1997): each arm keeps a cumulative gain G_i; the arm
chosen at a step adds its trial's plain reward (`rewards`); arms are drawn with p_i proportional to
exp(eta (G_i - max G)), eta = 1 by default (option "eta").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, draw, hedge_probabilities, rounded


class Hedge(BaseStrategy):
    """HEDGE: p_i proportional to exp(eta (G_i - max G)); the chosen arm's G_i adds its reward."""

    name = "HEDGE"
    default_eta = 1.0

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.eta = self.option("eta", self.default_eta)
        self.gains: np.ndarray = np.zeros(0)

    def _start(self) -> None:
        self.gains = np.zeros(len(self.arms))

    def probabilities(self) -> np.ndarray:
        return hedge_probabilities(self.gains, self.eta)

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        return self.arms[draw(self.probabilities(), rng)]

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if trial.arm in self.arms:
            self.gains[self.arms.index(trial.arm)] += self.rewarder.of_trial(trial, history)

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        return {"p": dict(zip(self.arms, rounded(self.probabilities()))),
                "gains": dict(zip(self.arms, rounded(self.gains))), "eta": self.eta}
