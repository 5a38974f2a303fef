"""Greedy-time (GT): epsilon-greedy whose epsilon decays with the elapsed (simulated) clock.

epsilon = max(0.1, 1 / sqrt(u + 1)), u = ceil(elapsed clock / time unit), the clock being `Trial.clock` of
the latest trial and the unit `context.options["time_unit"]` (seconds or a duration such as "30m") or
`context.time_unit` (3600 s by default). Everything else is as in EG (`epsilon_greedy`): untried arms
first, exploration uniform among the non-greedy arms. The decay follows the epsilon_t proportional to
1/sqrt(t) schedules of Auer, Cesa-Bianchi & Fischer (Machine Learning 2002), with time instead of steps,
so that portfolios of arms with very different trial costs are compared on the budget actually spent.
GT uses plain rewards, GT-LE log-error rewards.
"""

from __future__ import annotations

import math
from typing import Any

from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import StrategyContext
from hpo_mab.strategies.epsilon_greedy import MIN_EPSILON, EpsilonGreedy
from hpo_mab.termination import parse_duration


def clock_epsilon(clock: float, time_unit: float) -> float:
    """max(0.1, 1 / sqrt(u + 1)) with u = ceil(clock / time_unit)."""
    u = math.ceil(max(clock, 0.0) / time_unit)
    return max(MIN_EPSILON, 1.0 / math.sqrt(u + 1))


class GreedyTime(EpsilonGreedy):
    """GT: epsilon-greedy with epsilon = max(0.1, 1/sqrt(ceil(clock / unit) + 1))."""

    name = "GT"

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        unit = self.options.get("time_unit", context.time_unit)
        try:
            self.time_unit = parse_duration(unit)
        except HpoError as exc:
            raise HpoError(f"{self.name}: time_unit: {exc}") from None
        self.clock = 0.0

    def epsilon(self, history: History) -> float:
        if history.trials:
            self.clock = float(history.trials[-1].clock)
        return clock_epsilon(self.clock, self.time_unit)

    def update(self, trial: Trial, history: History, nominees=None) -> None:
        super().update(trial, history, nominees)
        self.clock = float(trial.clock)

    def _schedule_state(self) -> dict[str, Any]:
        return {"epsilon": round(clock_epsilon(self.clock, self.time_unit), 6), "clock": self.clock,
                "time_unit": self.time_unit}


class GreedyTimeLE(GreedyTime):
    """GT-LE: greedy-time over mean log-error rewards."""

    name = "GT-LE"
    reward_scale = "le"
