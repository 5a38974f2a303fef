"""Grid search in a shuffled order (the grid baseline of Bergstra & Bengio, JMLR 2012).

On a lookup table the grid is the table itself: its rows in an order shuffled once per run by the arm's
generator, skipping rows already evaluated (by any arm). Without a table the grid takes `levels` evenly
spaced values per numeric parameter (fewer where an integer or ordered parameter has fewer), every value of
a categorical, and visits its points in a shuffled order (a permutation for grids up to 2^20 points,
draws without replacement beyond), skipping configurations already evaluated; a finished grid falls back
to random search.
"""

from __future__ import annotations

import math

import numpy as np

from hpo_mab.arms.candidates import Candidates, Nominee, TableCandidates
from hpo_mab.history import History
from hpo_mab.space import Space

LEVELS = 5
MAX_PERMUTED = 2**20


def grid_levels(space: Space, levels: int = LEVELS) -> list[np.ndarray]:
    """Per parameter, the encoded blocks of its grid values, shape (values, width)."""
    out = []
    for i, p in enumerate(space.params):
        if p.kind == "choice":
            out.append(np.eye(p.width))
            continue
        u = np.zeros((levels, space.n_dims))
        u[:, space.dim_owner == i] = np.linspace(0.0, 1.0, levels)[:, None]
        col = space.snap(u)[:, space.dim_owner == i]
        out.append(np.unique(np.round(col, 12), axis=0))
    return out


def _key(x: np.ndarray) -> tuple:
    return tuple(np.round(np.asarray(x, dtype=float), 6))


class GridArm:
    """GRID: a shuffled grid over the candidates (table rows, or a few levels per parameter)."""

    name = "GRID"

    def __init__(self, levels: int = LEVELS) -> None:
        self.levels = levels
        self._order: np.ndarray | None = None
        self._pos = 0
        self._blocks: list[np.ndarray] | None = None
        self._drawn: set[int] = set()
        self._current: int | None = None
        self._seen: set[tuple] = set()
        self._n_seen = 0

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        if isinstance(candidates, TableCandidates):
            return self._table(candidates, history, rng)
        return self._continuous(space, history, candidates, rng)

    def _table(self, candidates: TableCandidates, history: History, rng: np.random.Generator) -> Nominee:
        if self._order is None:
            self._order = rng.permutation(candidates.n_rows)
        while self._pos < len(self._order) and int(self._order[self._pos]) in history.visited_rows:
            self._pos += 1
        if self._pos == len(self._order):
            return candidates.random(rng, history)
        row = int(self._order[self._pos])
        return candidates.nominee(candidates.encoded[row], row)

    def _continuous(self, space: Space, history: History, candidates: Candidates,
                    rng: np.random.Generator) -> Nominee:
        if self._blocks is None:
            self._blocks = grid_levels(space, self.levels)
            self._total = math.prod(len(b) for b in self._blocks)
            if self._total <= MAX_PERMUTED:
                self._order = rng.permutation(self._total)
        for trial in history.trials[self._n_seen:]:
            self._seen.add(_key(space.encode(trial.config)))
        self._n_seen = len(history.trials)
        while True:
            if self._current is None:
                self._current = self._next_index(rng)
                if self._current is None:
                    nominee = candidates.random(rng, history)
                    nominee.info["fallback"] = "grid exhausted"
                    return nominee
            nominee = candidates.nominee(self.point(self._current), None)
            if _key(nominee.x) not in self._seen:
                return nominee
            self._current = None

    def _next_index(self, rng: np.random.Generator) -> int | None:
        if self._order is not None:
            if self._pos >= len(self._order):
                return None
            self._pos += 1
            return int(self._order[self._pos - 1])
        while len(self._drawn) < self._total:  # huge grid: draw without replacement by rejection
            i = int(rng.integers(self._total))
            if i not in self._drawn:
                self._drawn.add(i)
                return i
        return None

    def point(self, index: int) -> np.ndarray:
        """The encoded grid point of a mixed-radix index (first parameter varies slowest)."""
        parts = []
        for block in reversed(self._blocks):
            index, j = divmod(index, len(block))
            parts.append(block[j])
        return np.concatenate(parts[::-1])
