"""Strategies: the bandit that picks which arm proposes next."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.space import Space
from hpo_mab.strategies.budget import Budget, Progress
from hpo_mab.strategies.rewards import Rewarder


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy may know besides the history.

    `metric`: the table's Metric (kind, scale, direction), or None in ask/tell use (then rewards treat the
    value as an unbounded loss in the given `direction`); `oracle`: row -> true value in the metric's units
    (tables only; `BaseStrategy` hands it on only to the oracle variants BO-HEDGE-T/-LET, every other strategy
    sees None); `time_unit`: seconds, only to replay the original GT's fixed time unit (None: sized from the
    budget); `budget`: the run's time and trial budget (`budget.Budget`; None: no budget, strategies schedule
    by their step count).
    """

    space: Space
    direction: str
    metric: Any = None
    oracle: Callable[[int], float] | None = None
    time_unit: float | None = None
    options: Mapping[str, Any] | None = None
    budget: Budget | None = None


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


class BaseStrategy:
    """Shared plumbing: the context, options, a reward scale, and the arm list learnt at the first select.

    Subclasses set `name`, `reward_scale` ("plain" or "le", see `rewards`) and implement `_choose`
    (select's body) and `update`; `oracle = True` marks variants that peek at true table values: only they
    keep `context.oracle`, the others get a context without it. `spent` is the fraction of the budget spent
    since the strategy's first step when the coming choice is made (`budget.Progress`; None: no budget).
    """

    name = ""
    wants_nominees = False
    oracle = False
    reward_scale = "plain"

    def __init__(self, context: StrategyContext) -> None:
        if not self.oracle and context.oracle is not None:
            context = replace(context, oracle=None)
        self.context = context
        self.options: dict[str, Any] = dict(context.options or {})
        self.rewarder = Rewarder(context.metric, self.reward_scale)
        self.arms: list[str] = []
        self.steps = 0
        self.progress = Progress(context.budget)
        self.spent: float | None = None

    def option(self, key: str, default: float) -> float:
        """A numeric option from `context.options`, else `default`."""
        value = self.options.get(key, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise HpoError(f"strategy {self.name}: option {key!r} must be a number, but got {value!r}") from None

    def _bind(self, arms: Sequence[str]) -> None:
        if not self.arms:
            if not arms:
                raise HpoError(f"strategy {self.name} needs at least one arm")
            self.arms = list(arms)
            self._start()
        elif list(arms) != self.arms:
            raise HpoError(f"strategy {self.name}: the arms changed from {self.arms} to {list(arms)}")

    def _start(self) -> None:
        """Initialise per-arm state once the arms are known."""

    def select(self, arms: Sequence[str], history: History, rng: np.random.Generator,
               nominees: Mapping[str, Nominee] | None = None) -> str:
        self._bind(arms)
        self.spent = self.progress(history)
        name = self._choose(history, rng, nominees)
        self.steps += 1
        return name

    def _choose(self, history: History, rng: np.random.Generator,
                nominees: Mapping[str, Nominee] | None) -> str:
        raise NotImplementedError

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {}


def rounded(values: Mapping[str, float] | Sequence[float], digits: int = 6) -> Any:
    """JSON-friendly rounding of per-arm numbers for the journal."""
    if isinstance(values, Mapping):
        return {k: round(float(v), digits) for k, v in values.items()}
    return [round(float(v), digits) for v in values]


def hedge_probabilities(gains: np.ndarray, eta: float) -> np.ndarray:
    """p_i proportional to exp(eta (G_i - max G)) (Freund & Schapire 1997), stable for large gains."""
    gains = np.asarray(gains, dtype=float)
    w = np.exp(eta * (gains - gains.max()))
    return w / w.sum()


def draw(p: np.ndarray, rng: np.random.Generator) -> int:
    """An index drawn with probabilities `p` from one uniform of `rng`."""
    i = int(np.searchsorted(np.cumsum(p), rng.random() * float(np.sum(p)), side="right"))
    return min(i, len(p) - 1)


def argmax_tie(values: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the largest value; `rng` breaks ties."""
    values = np.asarray(values, dtype=float)
    top = np.flatnonzero(values == values.max())
    return int(top[rng.integers(top.size)]) if top.size > 1 else int(top[0])
