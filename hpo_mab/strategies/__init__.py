"""Strategies over arms; `STRATEGIES` is the registry (name -> class, each built as `Cls(context)`)."""

from hpo_mab.strategies.base import BaseStrategy, SingleArm, Strategy, StrategyContext
from hpo_mab.strategies.budget import Budget
from hpo_mab.strategies.epsilon_greedy import EpsilonGreedy, EpsilonGreedyLE
from hpo_mab.strategies.exp3 import Exp3
from hpo_mab.strategies.gp_hedge import GPHedge, GPHedgeLE, GPHedgeLETrue, GPHedgeTrue
from hpo_mab.strategies.greedy_time import GreedyTime, GreedyTimeLE
from hpo_mab.strategies.hedge import Hedge, HedgeOriginal
from hpo_mab.strategies.knockout import SequentialKnockout
from hpo_mab.strategies.sequential import Sequential, UniformRandom

STRATEGIES: dict[str, type] = {
    cls.name: cls
    for cls in (Sequential, UniformRandom, Hedge, HedgeOriginal, Exp3, GPHedge, GPHedgeLE, GPHedgeTrue, GPHedgeLETrue,
                EpsilonGreedy, EpsilonGreedyLE, GreedyTime, GreedyTimeLE, SequentialKnockout)
}


def is_oracle_strategy(name: str | None) -> bool:
    """Whether a strategy peeks at true table values (`oracle = True` on its class: BO-HEDGE-T, -LET)."""
    return bool(getattr(STRATEGIES.get(name or ""), "oracle", False))


__all__ = ["STRATEGIES", "BaseStrategy", "is_oracle_strategy", "Budget", "SingleArm", "Strategy", "StrategyContext"]
