"""The two baselines without learning: round-robin (SEQ) and uniformly random (RANDOM) arm choice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.history import History
from hpo_mab.strategies.base import BaseStrategy


class Sequential(BaseStrategy):
    """SEQ: the arms in turn, round-robin (the original hpo-mab's default portfolio schedule)."""

    name = "SEQ"

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        return self.arms[self.steps % len(self.arms)]

    def state(self) -> dict[str, Any]:
        return {"next": self.arms[self.steps % len(self.arms)]} if self.arms else {}


class UniformRandom(BaseStrategy):
    """RANDOM: an arm uniformly at random at each step (the non-adaptive control of Hoffman et al. 2011)."""

    name = "RANDOM"

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        return self.arms[int(rng.integers(len(self.arms)))]

    def state(self) -> dict[str, Any]:
        return {"p": {a: round(1.0 / len(self.arms), 6) for a in self.arms}} if self.arms else {}
