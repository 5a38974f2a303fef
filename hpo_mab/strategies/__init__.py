"""Strategies over arms; `STRATEGIES` is the registry (name -> class)."""

from hpo_mab.strategies.base import SingleArm, Strategy, StrategyContext

STRATEGIES: dict[str, type] = {}

__all__ = ["STRATEGIES", "SingleArm", "Strategy", "StrategyContext"]
