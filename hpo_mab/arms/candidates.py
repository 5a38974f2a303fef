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
# Unused rows nearest to each of the TOP_POINTS best points, added to the pool: the local half of the
# acquisition search (the arm option `neighbours`). 200 rather than 50 was measured in issue 2 with the
# earlier GP (GP-EI median normalised regret over 8 seeds, fcnet-protein 0.065 -> 0.025, nb201-cifar100
# 0.092 -> 0.024; that script was replaced by experiments/synthetic.py, which can rerun it with
# --variant 'n50={"neighbours": 50}' --tables). EI over a random pool of all rows chases empty corners.
NEIGHBOURS = 200
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

    def pool(self, history: History, rng: np.random.Generator,
             neighbours: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Encoded points to score and their table rows (None off tables); `neighbours`: local points per
        best point (None: the candidates' own default)."""
        raise NotImplementedError

    def random(self, rng: np.random.Generator, history: History) -> Nominee:
        raise NotImplementedError

    def nominee(self, x: np.ndarray, row: int | None) -> Nominee:
        raise NotImplementedError

    def exhausted(self, history: History) -> bool:
        return False


def random_fallback(candidates: Candidates, history: History, rng: np.random.Generator, reason: str) -> Nominee:
    """A random proposal that the journal records as a fallback, with its reason."""
    nominee = candidates.random(rng, history)
    nominee.info["fallback"] = reason
    return nominee


def top_points(history: History, k: int = TOP_POINTS) -> np.ndarray:
    """Encodings of the k best finished trials."""
    if history.n_finished == 0:
        return np.zeros((0, history.X.shape[1]))
    order = np.argsort(history.y, kind="stable")[:k]
    return history.X[order]


class TableCandidates(Candidates):
    """The rows of a lookup table, each taken at most once per run.

    Neighbour look-ups go through a k-d tree of the encoded rows (scipy's cKDTree, built once per table):
    a brute-force scan of 62,208 rows for five best points took about 60 ms a step, the tree about 1 ms.
    """

    def __init__(self, space: Space, encoded: np.ndarray, configs, neighbours: int = NEIGHBOURS) -> None:
        self.space = space
        self.neighbours = neighbours
        self.encoded = encoded
        self._configs = configs  # callable row -> Config
        self.n_rows = encoded.shape[0]
        self._tree = None

    @property
    def tree(self):
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.encoded)
        return self._tree

    def unused(self, history: History) -> np.ndarray:
        return np.flatnonzero(~self.visited_mask(history))

    def exhausted(self, history: History) -> bool:
        return len(history.visited_rows) >= self.n_rows

    def near_unused(self, points: np.ndarray, k: int, history: History) -> np.ndarray:
        """Unused rows among the k nearest rows of each point (one array per point, nearest first)."""
        k = min(k, self.n_rows)
        _, idx = self.tree.query(points, k=k)
        idx = np.asarray(idx).reshape(len(points), k)
        free = ~self.visited_mask(history)[idx]
        return [row[ok] for row, ok in zip(idx, free)]

    def visited_mask(self, history: History) -> np.ndarray:
        """A boolean mask of visited rows, updated incrementally from the history's new trials."""
        if getattr(self, "_mask_of", None) is not history or self._mask_len > len(history.trials):
            self._mask, self._mask_of, self._mask_len = np.zeros(self.n_rows, dtype=bool), history, 0
        for trial in history.trials[self._mask_len :]:
            if trial.row is not None:
                self._mask[trial.row] = True
        self._mask_len = len(history.trials)
        return self._mask

    def pool(self, history: History, rng: np.random.Generator,
             neighbours: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A fresh random subset of unused rows plus the unused neighbours of the best points."""
        neighbours = self.neighbours if neighbours is None else neighbours
        free_count = self.n_rows - len(history.visited_rows)
        if free_count <= 2 * POOL_SIZE:
            rows = self.unused(history)
        else:
            draw = rng.integers(self.n_rows, size=POOL_SIZE + len(history.visited_rows) // 8 + 16)
            _, first = np.unique(draw, return_index=True)
            draw = draw[np.sort(first)]  # distinct, in random order
            rows = draw[~self.visited_mask(history)[draw]][:POOL_SIZE]
            best = top_points(history)
            if len(best) and neighbours > 0:
                rows = np.unique(np.concatenate([rows, *self.near_unused(best, neighbours, history)]))
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

    def nearest_rows(self, points: np.ndarray, history: History) -> np.ndarray:
        """For each point the nearest unused row (rows may repeat across points)."""
        _, out = self.tree.query(points, k=1)  # the nearest row is usually free: one cheap query (k=16 costs 2x)
        out = np.asarray(out, dtype=int).reshape(len(points))
        taken = np.flatnonzero(self.visited_mask(history)[out])
        for i, found in zip(taken, self.near_unused(points[taken], 16, history) if taken.size else []):
            if found.size:
                out[i] = found[0]
            else:  # the 16 nearest are all taken: scan the unused rows
                free = self.unused(history)
                out[i] = free[np.argmin(np.sum((self.encoded[free] - points[i]) ** 2, axis=1))]
        return out

    def nearest(self, x: np.ndarray, history: History) -> Nominee:
        """The unused row nearest to an encoded point (initial design on tables)."""
        row = int(self.nearest_rows(np.atleast_2d(x), history)[0])
        return self.nominee(self.encoded[row], row)

    def nominee(self, x: np.ndarray, row: int | None) -> Nominee:
        return Nominee(self.encoded[row], self._configs(row), row)


class ContinuousCandidates(Candidates):
    """A fresh Sobol sample of the cube at each step plus perturbations around the best points."""

    def __init__(self, space: Space, n_sobol: int = 1024, n_local: int = NEIGHBOURS, scale: float = 0.05) -> None:
        self.space = space
        self.n_sobol, self.n_local, self.scale = n_sobol, n_local, scale

    def pool(self, history: History, rng: np.random.Generator,
             neighbours: int | None = None) -> tuple[np.ndarray, None]:
        n_local = self.n_local if neighbours is None else neighbours
        parts = [self.space.sobol(self.n_sobol, rng)]
        best = top_points(history)
        if len(best) and n_local > 0:
            centre = best[rng.integers(len(best), size=n_local)]
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
