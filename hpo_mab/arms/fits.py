"""One model fit per step, shared by every arm that models the same targets (issue 7).

The GP arms (EI, PI, UCB) and GP-Hedge's judge fit the same data; so do the RF arms. `SharedFits` keeps one
model per (model, target) key and refits it only when the history has grown since its last fit, so a
portfolio with three GP arms fits one GP per step. Each model has its own generator (restarts of the GP's
hyperparameter fit, the forest's bootstrap), spawned from the run's seed and the key, so adding an arm
changes no model's draws.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from hpo_mab.arms.forest import Forest
from hpo_mab.arms.gp import GaussianProcess
from hpo_mab.history import History
from hpo_mab.space import Space


def child_generator(seed: np.random.SeedSequence, name: str) -> np.random.Generator:
    """A generator for the component `name`, independent of which other components exist."""
    key = zlib.crc32(name.encode())
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, key)))


class SharedFits:
    """Fitted models keyed by (model, target key), refitted at most once per history length."""

    def __init__(self, space: Space, seed: np.random.SeedSequence | int = 0) -> None:
        self.space = space
        self.seed = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._models: dict[tuple[str, str], Any] = {}
        self._fitted_at: dict[tuple[str, str], tuple[int, int]] = {}
        self.fit_count = 0

    def _new(self, model: str, key: str) -> Any:
        rng = child_generator(self.seed, f"{model}:{key}")
        if model == "GP":
            return GaussianProcess(self.space.dim_owner, rng=rng)
        return Forest(rng=rng)

    def get(self, model: str, key: str, history: History, y: np.ndarray) -> Any:
        """The `model` ("GP" or "RF") fitted to the history's inputs and the targets `y` called `key`.

        Raises whatever the fit raises (ModelFitError, LinAlgError); a failed fit is retried next call.
        """
        slot = (model, key)
        stamp = (id(history), len(history.trials))
        if slot not in self._models:
            self._models[slot] = self._new(model, key)
        if self._fitted_at.get(slot) != stamp:
            self._fitted_at.pop(slot, None)
            self._models[slot].fit(np.asarray(history.X), np.asarray(y, dtype=float))
            self._fitted_at[slot] = stamp
            self.fit_count += 1
        return self._models[slot]
