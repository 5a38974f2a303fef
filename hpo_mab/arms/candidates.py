"""Where arms look for the next configuration: the unused rows of a table, or fresh points of the cube.

Scoring all 62,208 rows of a large table at every step costs seconds for a GP (see issue 2), so model
arms score a pool: a fresh random subset of the unused rows plus the unused neighbours of the best points.
Without a table the pool is a fresh Sobol sample plus local perturbations around the best points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo_mab.history import History
from hpo_mab.space import Config, Space

POOL_SIZE = 2000
NEIGHBOURS = 50
TOP_POINTS = 5


@dataclass(frozen=True)
class Nominee:
    """A proposed configuration: its encoding, its table row (if any) and the decoded values."""

    x: np.ndarray
    config: Config
    row: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Candidates:
    """Base: a pool of encoded points to score and a way to turn a chosen point into a Nominee."""

    space: Space

    def pool(self, history: History, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def random(self, rng: np.random.Generator, history: History) -> Nominee:
        raise NotImplementedError

    def nominee(self, x: np.ndarray, row: int | None) -> Nominee:
        raise NotImplementedError

    def exhausted(self, history: History) -> bool:
        return False


def top_points(history: History, k: int = TOP_POINTS) -> np.ndarray:
    """Encodings of the k best finished trials."""
    if history.n_finished == 0:
        return np.zeros((0, history.X.shape[1]))
    order = np.argsort(history.y, kind="stable")[:k]
    return history.X[order]


class TableCandidates(Candidates):
    """The rows of a lookup table, each taken at most once per run."""

    def __init__(self, space: Space, encoded: np.ndarray, configs) -> None:
        self.space = space
        self.encoded = encoded
        self._configs = configs  # callable row -> Config
        self.n_rows = encoded.shape[0]

    def unused(self, history: History) -> np.ndarray:
        mask = np.ones(self.n_rows, dtype=bool)
        if history.visited_rows:
            mask[list(history.visited_rows)] = False
        return np.flatnonzero(mask)

    def exhausted(self, history: History) -> bool:
        return len(history.visited_rows) >= self.n_rows

    def pool(self, history: History, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        free = self.unused(history)
        if free.size <= POOL_SIZE:
            rows = free
        else:
            rows = rng.choice(free, size=POOL_SIZE, replace=False)
            best = top_points(history)
            if len(best):
                near = []
                for b in best:
                    dist = np.sum((self.encoded[free] - b) ** 2, axis=1)
                    near.append(free[np.argpartition(dist, NEIGHBOURS)[:NEIGHBOURS]])
                rows = np.unique(np.concatenate([rows, *near]))
        return self.encoded[rows], rows

    def random(self, rng: np.random.Generator, history: History) -> Nominee:
        if len(history.visited_rows) < self.n_rows // 2:
            while True:  # rejection is O(1) while most rows are free
                row = int(rng.integers(self.n_rows))
                if row not in history.visited_rows:
                    return self.nominee(self.encoded[row], row)
        free = self.unused(history)
        row = int(free[rng.integers(free.size)])
        return self.nominee(self.encoded[row], row)

    def nearest(self, x: np.ndarray, history: History) -> Nominee:
        """The unused row nearest to an encoded point (initial design on tables)."""
        free = self.unused(history)
        dist = np.sum((self.encoded[free] - x) ** 2, axis=1)
        row = int(free[np.argmin(dist)])
        return self.nominee(self.encoded[row], row)

    def nominee(self, x: np.ndarray, row: int | None) -> Nominee:
        return Nominee(self.encoded[row], self._configs(row), row)


class ContinuousCandidates(Candidates):
    """A fresh Sobol sample of the cube at each step plus perturbations around the best points."""

    def __init__(self, space: Space, n_sobol: int = 1024, n_local: int = 200, scale: float = 0.05) -> None:
        self.space = space
        self.n_sobol, self.n_local, self.scale = n_sobol, n_local, scale

    def pool(self, history: History, rng: np.random.Generator) -> tuple[np.ndarray, None]:
        parts = [self.space.sobol(self.n_sobol, rng)]
        best = top_points(history)
        if len(best):
            centre = best[rng.integers(len(best), size=self.n_local)]
            noisy = np.clip(centre + rng.normal(0.0, self.scale, centre.shape), 0.0, 1.0)
            parts.append(self.space.snap(noisy))
        return np.vstack(parts), None

    def random(self, rng: np.random.Generator, history: History) -> Nominee:
        return self.nominee(self.space.sobol(1, rng)[0], None)

    def nearest(self, x: np.ndarray, history: History) -> Nominee:
        return self.nominee(x, None)

    def nominee(self, x: np.ndarray, row: int | None) -> Nominee:
        config = self.space.decode(x)
        return Nominee(self.space.encode(config), config, None)
