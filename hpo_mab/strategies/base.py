"""Strategies: the bandit that picks which arm proposes next."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.history import History, Trial
from hpo_mab.space import Space


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy may know besides the history.

    `metric`: the table's Metric (kind, scale, direction), or None in ask/tell use (then rewards treat the
    value as an unbounded loss in the given `direction`); `oracle`: row -> true value in the metric's units
    (tables only, for the oracle variants BO-HEDGE-T/-LET); `time_unit`: seconds for GT's epsilon schedule.
    """

    space: Space
    direction: str
    metric: Any = None
    oracle: Callable[[int], float] | None = None
    time_unit: float = 3600.0
    options: Mapping[str, Any] | None = None


class Strategy(Protocol):
    """Picks an arm at each step and learns from the trial it led to.

    `wants_nominees`: GP-Hedge asks every arm for a nominee before it selects.
    `state()` returns what the journal records of the choice (probabilities, epsilon, remaining arms).
    """

    name: str
    wants_nominees: bool

    def select(self, arms: Sequence[str], history: History, rng: np.random.Generator,
               nominees: Mapping[str, Nominee] | None = None) -> str: ...

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None: ...

    def state(self) -> dict[str, Any]: ...


class SingleArm:
    """The degenerate strategy of single-arm modes: always the one arm."""

    name = "SINGLE"
    wants_nominees = False

    def select(self, arms, history, rng, nominees=None) -> str:
        return arms[0]

    def update(self, trial, history, nominees=None) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {}
