"""Greedy-time (GT): epsilon-greedy whose epsilon decays as 1/sqrt of the time spent, sized from the budget.

The decay follows the epsilon_t proportional to 1/sqrt(t) schedules of Auer, Cesa-Bianchi & Fischer
(Machine Learning 2002), with the budget spent instead of steps, so that portfolios of arms with very
different trial costs are compared on the budget actually spent:

- with a budget (`budget`), f in [0, 1] the fraction spent since the strategy's first step (time under
  TIME and GOAL's TIME cap, trials under `--max-trials` alone, the larger where both are set):
  epsilon = max(eps_end, 1 / sqrt(1 + (1 / eps_end^2 - 1) f)), eps_end = 0.1 (option "eps_end"): 1 at the
  start, 1 / sqrt(1 + 99 f), reaching eps_end exactly when the budget is spent;
- with no budget (ask/tell without `max_trials`), by trial count: epsilon = max(eps_end, 1 / sqrt(1 + t / K)),
  t the strategy's steps so far (eps_end from t = 99K on);
- with a fixed time unit (option "time_unit", seconds or a duration such as "30m", or `context.time_unit`),
  the original hpo-mab rule, for reproducing it: epsilon = max(0.1, 1 / sqrt(u + 1)), u = ceil(clock / unit),
  the clock being `Trial.clock` of the latest trial. With the original one-hour unit epsilon stays at 0.71
  through any budget under an hour.

Everything else is as in EG (`epsilon_greedy`): untried arms first, exploration uniform over all arms.
GT uses plain rewards, GT-LE log-error rewards.
"""

from __future__ import annotations

import math
from typing import Any

from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import StrategyContext
from hpo_mab.strategies.epsilon_greedy import EpsilonGreedy
from hpo_mab.termination import parse_duration

ORIGINAL_MIN_EPSILON = 0.1


def clock_epsilon(clock: float, time_unit: float) -> float:
    """The original rule: max(0.1, 1 / sqrt(u + 1)) with u = ceil(clock / time_unit)."""
    u = math.ceil(max(clock, 0.0) / time_unit)
    return max(ORIGINAL_MIN_EPSILON, 1.0 / math.sqrt(u + 1))


def sqrt_epsilon(spent: float, eps_end: float) -> float:
    """max(eps_end, 1 / sqrt(1 + (1 / eps_end^2 - 1) f)) at budget fraction f: eps_end at f = 1."""
    return max(eps_end, 1.0 / math.sqrt(1.0 + (1.0 / eps_end**2 - 1.0) * max(spent, 0.0)))


class GreedyTime(EpsilonGreedy):
    """GT: epsilon-greedy with epsilon = 1/sqrt(1 + 99 f), f the fraction of the budget spent."""

    name = "GT"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        unit = self.options.get("time_unit", context.time_unit)
        try:
            self.time_unit = None if unit is None else parse_duration(unit)
        except HpoError as exc:
            raise HpoError(f"{self.name}: time_unit: {exc}") from None
        self.clock = 0.0

    def epsilon(self) -> float:
        if self.time_unit is not None:
            return clock_epsilon(self.clock, self.time_unit)
        if self.spent is None:
            return max(self.eps_end, 1.0 / math.sqrt(1.0 + self.steps / len(self.arms)))
        return sqrt_epsilon(self.spent, self.eps_end)

    def select(self, arms, history: History, rng, nominees=None) -> str:
        if history.trials:
            self.clock = float(history.trials[-1].clock)
        return super().select(arms, history, rng, nominees)

    def update(self, trial: Trial, history: History, nominees=None) -> None:
        super().update(trial, history, nominees)
        self.clock = float(trial.clock)

    def state(self) -> dict[str, Any]:
        out = super().state()
        if out:
            out.update(clock=self.clock, time_unit=self.time_unit)
        return out


class GreedyTimeLE(GreedyTime):
    """GT-LE: greedy-time over mean log-error rewards."""

    name = "GT-LE"
    reward_scale = "le"
