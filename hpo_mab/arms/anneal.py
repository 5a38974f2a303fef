"""Simulated annealing as in Hyperopt's `anneal.suggest` (Bergstra, Yamins & Cox, ICML 2013; hyperopt/anneal.py).

For each parameter separately, a reference trial is drawn among the finished ones sorted by loss, at index
min(Geometric(1 / avg_best_idx) - 1, n - 1) (avg_best_idx = 2: mostly the best, sometimes the next ones).
With T finished trials the neighbourhood shrinks as s = 1 / (1 + T shrink_coef), shrink_coef = 0.1:
a numeric or ordered parameter is drawn uniformly from a window of width s (in the unit-cube encoding,
i.e. the log scale for log parameters) centred on the reference value and shifted to stay inside [0, 1];
a categorical keeps the reference value, except with probability s when it is redrawn uniformly. On a
table the point goes to the nearest unused row.
"""

from __future__ import annotations

import numpy as np

from hpo_mab.arms.candidates import Candidates, Nominee
from hpo_mab.history import History
from hpo_mab.space import Space


class AnnealArm:
    """ANNEAL: sample near good trials with a neighbourhood that shrinks with the number of trials."""

    name = "ANNEAL"

    def __init__(self, avg_best_idx: float = 2.0, shrink_coef: float = 0.1) -> None:
        self.avg_best_idx, self.shrink_coef = avg_best_idx, shrink_coef

    def shrinking(self, n_trials: int) -> float:
        """s = 1 / (1 + T shrink_coef)."""
        return 1.0 / (1.0 + n_trials * self.shrink_coef)

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        n = history.n_finished
        if n == 0:
            nominee = candidates.random(rng, history)
            nominee.info["fallback"] = "no finished trial"
            return nominee
        order = np.argsort(history.y, kind="stable")
        X = history.X
        s = self.shrinking(n)
        x = np.zeros(space.n_dims)
        for i, p in enumerate(space.params):
            cols = np.flatnonzero(space.dim_owner == i)
            ref = X[order[min(int(rng.geometric(1.0 / self.avg_best_idx)) - 1, n - 1)], cols]
            if p.kind == "choice":
                x[cols] = np.eye(p.width)[rng.integers(p.width)] if rng.random() < s else ref
            else:
                half = 0.5 * s
                mid = float(np.clip(ref[0], half, 1.0 - half))
                x[cols] = rng.uniform(mid - half, mid + half)
        return candidates.nearest(space.snap(x)[0], history)
