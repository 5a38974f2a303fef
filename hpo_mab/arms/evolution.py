"""Regularized (aging) evolution (Real, Aggarwal, Huang & Le, AAAI 2019).

The population is the last P finished trials (by any arm), so the oldest member dies as a new one
arrives. A tournament samples S members without replacement and the best of them (ties broken by the
run's generator) is the parent; the child changes one parameter picked uniformly: a categorical or ordered
parameter takes a different value uniformly at random, a numeric one a fresh uniform value in the
unit-cube encoding (redrawn while it decodes to the old value). On a table the child goes to the nearest
unused row. P = 20 and S = 5 by default, smaller than the paper's 100/25 because HPO runs see hundreds
rather than thousands of trials.
"""

from __future__ import annotations

import numpy as np

from hpo_mab.arms.candidates import Candidates, Nominee, random_fallback
from hpo_mab.history import History
from hpo_mab.space import Space

MIN_OBSERVATIONS = 2
MAX_REDRAWS = 20


def mutate(space: Space, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of the encoded point `x` with one parameter changed."""
    child = np.array(x, dtype=float)
    i = int(rng.integers(len(space.params)))
    p = space.params[i]
    cols = np.flatnonzero(space.dim_owner == i)
    if p.kind in ("choice", "ordered"):
        n = len(p.values)
        if n > 1:
            now = int(np.argmax(child[cols])) if p.kind == "choice" else int(round(child[cols[0]] * (n - 1)))
            new = int(rng.integers(n - 1))
            new += new >= now
            child[cols] = np.eye(n)[new] if p.kind == "choice" else new / (n - 1)
        return space.snap(child)[0]
    old = p.decode(child[cols])
    for _ in range(MAX_REDRAWS):  # an int or quantized parameter may snap back to its old value
        child[cols] = rng.random()
        child = space.snap(child)[0]
        if p.decode(child[cols]) != old:
            break
    return child


class EvolutionArm:
    """EVOLUTION: tournament selection over the last P trials and one-parameter mutation."""

    name = "EVOLUTION"

    def __init__(self, population: int = 20, tournament: int = 5) -> None:
        self.population, self.tournament = population, tournament

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        if history.n_finished < MIN_OBSERVATIONS:
            return random_fallback(candidates, history, rng, "too few observations")
        X, y = history.X[-self.population:], history.y[-self.population:]
        members = rng.choice(len(y), size=min(self.tournament, len(y)), replace=False)
        best = np.flatnonzero(y[members] == y[members].min())
        parent = int(members[best[rng.integers(best.size)]])
        return candidates.nearest(mutate(space, X[parent], rng), history)
