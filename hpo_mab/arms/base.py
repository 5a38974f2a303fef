"""Arms: each proposes the next configuration from everything observed so far, whoever proposed it."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from hpo_mab.arms.acquisition import ACQUISITIONS
from hpo_mab.arms.candidates import Candidates, Nominee
from hpo_mab.arms.forest import Forest
from hpo_mab.arms.gp import GaussianProcess, ModelFitError
from hpo_mab.arms.tpe import good_density, tpe_scores
from hpo_mab.errors import HpoError
from hpo_mab.history import History
from hpo_mab.space import Space

MIN_OBSERVATIONS = 2


class Arm(Protocol):
    name: str

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee: ...


def pick_best(scores: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the largest score; the run's generator breaks ties."""
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    top = np.flatnonzero(scores == scores.max())
    return int(top[rng.integers(top.size)]) if top.size > 1 else int(top[0])


class RandomArm:
    """Uniform random search (Bergstra & Bengio 2012)."""

    name = "RANDOM"

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        return candidates.random(rng, history)


class ModelArm:
    """A surrogate model (GP or RF) with an acquisition function scored over the candidate pool."""

    def __init__(self, model: str, acq: str, transform=None) -> None:
        if acq not in ACQUISITIONS:
            raise HpoError(f"unknown acquisition {acq!r} for {model}; expected one of {', '.join(ACQUISITIONS)}")
        self.model_name, self.acq_name = model, acq
        self.acquisition = ACQUISITIONS[acq]
        self.transform = transform
        self.name = f"{model}-{acq}"
        self._model = None

    def _new_model(self, space: Space, rng: np.random.Generator):
        if self.model_name == "GP":
            return GaussianProcess(space.dim_owner)
        return Forest(seed=int(rng.integers(2**31)))

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        if history.n_finished < MIN_OBSERVATIONS:
            nominee = candidates.random(rng, history)
            nominee.info["fallback"] = "too few observations"
            return nominee
        y = history.y if self.transform is None else self.transform(history.y)
        pool, rows = candidates.pool(history, rng)
        try:
            if self._model is None or self.model_name == "RF":
                self._model = self._new_model(space, rng)
            self._model.fit(history.X, y)
            mean, std = self._model.predict(pool)
            if not np.all(np.isfinite(mean)):
                raise ModelFitError("non-finite prediction")
        except (ModelFitError, np.linalg.LinAlgError, ValueError) as exc:
            nominee = candidates.random(rng, history)
            nominee.info["fallback"] = f"model fit failed: {exc}"
            return nominee
        best = float(self._model.standardise(np.min(y)))
        i = pick_best(self.acquisition(mean, std, best), rng)
        return candidates.nominee(pool[i], None if rows is None else int(rows[i]))


class TPEArm:
    """TPE over the candidate pool (plus draws from l(x) when there is no table)."""

    name = "TPE"

    def __init__(self, transform=None) -> None:
        self.transform = transform

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        if history.n_finished < MIN_OBSERVATIONS:
            nominee = candidates.random(rng, history)
            nominee.info["fallback"] = "too few observations"
            return nominee
        y = history.y if self.transform is None else self.transform(history.y)
        pool, rows = candidates.pool(history, rng)
        if rows is None:
            pool = np.vstack([pool, good_density(space, history.X, y).sample(64, rng)])
        i = pick_best(tpe_scores(space, history.X, y, pool), rng)
        return candidates.nominee(pool[i], None if rows is None else int(rows[i]))


def make_arm(model: str, acq: str | None = None) -> Arm:
    """An arm from a (model, acquisition) pair, e.g. ("GP", "EI"), ("TPE", None), ("RANDOM", None)."""
    model = model.upper()
    if model not in ARMS:
        raise HpoError(f"unknown model {model!r}; expected one of {', '.join(ARMS)}")
    return ARMS[model](acq)


def _needs_acq(model: str):
    def build(acq: str | None) -> Arm:
        if acq is None:
            raise HpoError(f"model {model} needs an acquisition function; expected one of {', '.join(ACQUISITIONS)}")
        return ModelArm(model, acq.upper())
    return build


def _no_acq(cls, model: str):
    def build(acq: str | None) -> Arm:
        if acq is not None and acq.upper() != model:
            raise HpoError(f"model {model} takes no acquisition function, but got {acq!r}")
        return cls()
    return build


ARMS = {"RANDOM": _no_acq(RandomArm, "RANDOM"), "GP": _needs_acq("GP"), "RF": _needs_acq("RF"),
        "TPE": _no_acq(TPEArm, "TPE")}
