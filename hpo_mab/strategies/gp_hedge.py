"""GP-Hedge (Hoffman, Brochu & de Freitas, UAI 2011) and its log-error and oracle variants.

At each step every arm nominates a candidate (the optimizer asks them); one nominee is drawn with
p_i proportional to exp(eta (g_i - max g)), eta = 0.1 by default (option "eta"). After the evaluation a
GP fitted on every finished observation (one GaussianProcess kept across steps for its warm start)
predicts each nominee's loss; g_i adds the reward of its own nominee's prediction, the same GP for every
arm so that the gains share one scale. The predicted loss goes back to the metric's value and through the
plain reward (BO-HEDGE) or the LE reward (BO-HEDGE-LE) of `rewards`.

The oracle variants BO-HEDGE-T and BO-HEDGE-LET credit each nominee with its true table value
(`context.oracle(row)`) instead of the GP's prediction: they peek at the table, so reports label them
and leave them out of rankings (`oracle = True`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.arms.gp import GaussianProcess, ModelFitError
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, draw, hedge_probabilities, rounded

MIN_OBSERVATIONS = 2


class GPHedge(BaseStrategy):
    """BO-HEDGE: gains from the GP's predicted plain reward of every arm's nominee."""

    name = "BO-HEDGE"
    wants_nominees = True

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.eta = self.option("eta", 0.1)
        self.gains: np.ndarray = np.zeros(0)
        self.gp = GaussianProcess(context.space.dim_owner)
        self.last_rewards: dict[str, float] = {}

    def _start(self) -> None:
        self.gains = np.zeros(len(self.arms))

    def probabilities(self) -> np.ndarray:
        return hedge_probabilities(self.gains, self.eta)

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        if nominees is None:
            raise HpoError(f"{self.name} needs every arm's nominee (wants_nominees) but got none")
        return self.arms[draw(self.probabilities(), rng)]

    def nominee_losses(self, nominees: Mapping[str, Nominee], history: History) -> np.ndarray | None:
        """The GP's predicted loss of each arm's nominee (None if the GP cannot be fitted yet)."""
        if history.n_finished < MIN_OBSERVATIONS:
            return None
        x = np.vstack([nominees[a].x for a in self.arms])
        try:
            self.gp.fit(np.asarray(history.X), np.asarray(history.y))
            mean, _ = self.gp.predict(x)
        except (ModelFitError, np.linalg.LinAlgError, ValueError):
            return None
        losses = mean * self.gp.std_ + self.gp.mean_
        return losses if np.all(np.isfinite(losses)) else None

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if not nominees or not self.arms:
            return
        losses = self.nominee_losses(nominees, history)
        if losses is None:
            return
        rewards = np.array([self.rewarder.reward(float(v), history) for v in losses])
        self.gains += rewards
        self.last_rewards = dict(zip(self.arms, rounded(rewards)))

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        return {"p": dict(zip(self.arms, rounded(self.probabilities()))),
                "gains": dict(zip(self.arms, rounded(self.gains))), "eta": self.eta}


class GPHedgeLE(GPHedge):
    """BO-HEDGE-LE: GP-Hedge with gains on the log-error scale."""

    name = "BO-HEDGE-LE"
    reward_scale = "le"


class GPHedgeTrue(GPHedge):
    """BO-HEDGE-T: GP-Hedge crediting each nominee's true table value (an oracle; tables only)."""

    name = "BO-HEDGE-T"
    oracle = True

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        if context.oracle is None:
            raise HpoError(f"{self.name} reads the true table values, so it runs on lookup tables only")
        if context.metric is None:
            raise HpoError(f"{self.name} needs the table's metric")

    def nominee_losses(self, nominees: Mapping[str, Nominee], history: History) -> np.ndarray:
        missing = [a for a in self.arms if nominees[a].row is None]
        if missing:
            raise HpoError(f"{self.name}: the nominees of {missing} have no table row; oracle variants run on "
                           "lookup tables only")
        values = np.array([self.context.oracle(int(nominees[a].row)) for a in self.arms], dtype=float)
        return np.asarray(self.context.metric.to_loss(values), dtype=float)


class GPHedgeLETrue(GPHedgeTrue):
    """BO-HEDGE-LET: the oracle variant on the log-error scale."""

    name = "BO-HEDGE-LET"
    reward_scale = "le"
