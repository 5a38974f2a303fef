"""HEDGE: exponential weights on importance-weighted, centred gains; HEDGE-ORIG, the original tool's rule.

HEDGE (Freund & Schapire, J. Comput. Syst. Sci. 1997, with bandit feedback as in Exp3 without explicit
exploration: Bubeck & Cesa-Bianchi, Found. Trends Mach. Learn. 2012, sec. 3.1 and Thm 3.1):

- p_i proportional to exp(eta_t G_i), with no uniform mixing (that is EXP3, `exp3`);
- eta_t = c sqrt(ln K / (t K)), t = 1, 2, ... the strategy's step (the anytime schedule of Thm 3.1), c = 1
  by default (option "eta"). It depends on the step count only, so HEDGE needs no budget and runs the same
  under TIME, GOAL, `--max-trials` and ask/tell;
- after arm j, chosen with probability p_j, earns reward x (the plain reward of `rewards`; a failure earns
  the worst), x is replaced by its mid-rank u in [0, 1] among the earlier rewards the strategy has seen
  (u = 1/2 for the first), so the rule does not depend on the reward's scale (accuracies near 0.9 differ
  by 0.01 while the schedule of eta_t assumes rewards spread over [0, 1]). The ranking is our choice, not
  part of Hedge or Exp3; the test suite's simulated arms show its effect;
- there is no uniform mixing, so an arm's p_j can become small; its rare good result then counts 1 / p_j,
  which is what lets a neglected arm come back;
- the gain estimate is centred on the running baseline b, the mean of the earlier u (1/2 before any), and
  importance-weighted: G_j += (u - b) / p_j, the other G_i stay. Its expectation is E[u_i] - b for every
  arm whether it was played or not, so gains no longer grow with the number of plays.

HEDGE-ORIG keeps the original hpo-mab rule for reproducing it: the chosen arm's G_i adds its raw plain
reward, eta = 1 fixed (option "eta"). Rewards are positive, so the arm played most gains most.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, draw, hedge_probabilities, rounded


def hedge_eta(t: int, k: int, c: float = 1.0) -> float:
    """eta_t = c sqrt(ln K / (t K)) at step t >= 1 (Bubeck & Cesa-Bianchi 2012, Thm 3.1); 0 when K = 1."""
    return c * math.sqrt(math.log(k) / (max(t, 1) * k)) if k > 1 else 0.0


def mid_rank(x: float, seen: list[float]) -> float:
    """(#below + #equal / 2) / n over the n earlier rewards `seen`, in [0, 1]; 1/2 when none were seen."""
    if not seen:
        return 0.5
    values = np.asarray(seen, dtype=float)
    return float((np.sum(values < x) + 0.5 * np.sum(values == x)) / values.size)


class Hedge(BaseStrategy):
    """HEDGE: p_i ~ exp(eta_t G_i), eta_t = sqrt(ln K / (t K)); G_j += (u - b) / p_j for the chosen arm j."""

    name = "HEDGE"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.c = self.option("eta", 1.0)
        self.gains: np.ndarray = np.zeros(0)
        self.seen: list[float] = []
        self.baseline = 0.5
        self.last_p: dict[str, float] = {}

    def _start(self) -> None:
        self.gains = np.zeros(len(self.arms))

    def eta(self) -> float:
        """eta_t of the coming step t = steps + 1."""
        return hedge_eta(self.steps + 1, len(self.arms), self.c)

    def probabilities(self) -> np.ndarray:
        return hedge_probabilities(self.gains, self.eta())

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        p = self.probabilities()
        i = draw(p, rng)
        self.last_p[self.arms[i]] = float(p[i])
        return self.arms[i]

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if trial.arm not in self.last_p:
            return
        x = self.rewarder.of_trial(trial, history)
        u = mid_rank(x, self.seen)
        self.gains[self.arms.index(trial.arm)] += (u - self.baseline) / self.last_p[trial.arm]
        self.seen.append(x)
        self.baseline += (u - self.baseline) / len(self.seen)  # the running mean of the u seen so far

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        return {"p": dict(zip(self.arms, rounded(self.probabilities()))),
                "gains": dict(zip(self.arms, rounded(self.gains))), "eta": round(self.eta(), 6),
                "baseline": round(self.baseline, 6)}


class HedgeOriginal(BaseStrategy):
    """HEDGE-ORIG: the original hpo-mab rule, p_i ~ exp(eta (G_i - max G)); the chosen arm's G_i adds x."""

    name = "HEDGE-ORIG"
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
