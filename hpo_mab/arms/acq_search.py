"""Continuous optimisation of a GP's acquisition over a mixed space, from the best scored candidates.

As Optuna's GPSampler and BoTorch do (optuna/_gp/optim_mixed.py; Balandat et al. 2020): the starts are
the best points of a scored pool plus the incumbent; continuous dimensions follow the acquisition's
gradient with L-BFGS-B inside the unit cube (all starts in one call: the objective is the sum over starts,
whose gradient separates, so one scipy call serves the whole batch); categorical parameters and numeric
parameters with at most `MAX_LEVELS` values are searched exhaustively, one parameter at a time, holding the
rest. The two phases alternate until nothing changes (at most `ROUNDS` times). Points are snapped to valid
configurations before they are scored for the last time, so the returned scores are those of real points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from hpo_mab.space import Space

MAX_LEVELS = 16
ROUNDS = 3
MAX_ITER = 100


@dataclass(frozen=True)
class SearchDims:
    """Which encoded columns move continuously, and the levels of each exhaustively searched parameter."""

    continuous: np.ndarray
    discrete: list[tuple[slice, np.ndarray]]  # (columns, encodings of every level: shape (levels, width))


def _levels(param) -> np.ndarray | None:
    """Encodings of every value of a parameter with at most MAX_LEVELS values; None for the rest."""
    if param.kind == "choice":
        return np.eye(len(param.values))
    if param.kind == "ordered":
        values = list(param.values)
    elif param.kind == "int":
        if param.high - param.low + 1 > MAX_LEVELS:
            return None
        values = list(range(int(param.low), int(param.high) + 1))
    elif param.kind == "quniform" and param.step:
        count = int(np.floor((param.high - param.low) / param.step + 1e-9)) + 1
        if count > MAX_LEVELS:
            return None
        values = [param.low + k * param.step for k in range(count)]
    else:
        return None
    if len(values) > MAX_LEVELS:
        return None
    return np.vstack([param.encode(v) for v in values])


def search_dims(space: Space) -> SearchDims:
    continuous, discrete, start = [], [], 0
    for p in space.params:
        levels = _levels(p)
        if levels is None:
            continuous.extend(range(start, start + p.width))
        else:
            discrete.append((slice(start, start + p.width), levels))
        start += p.width
    return SearchDims(np.array(continuous, dtype=int), discrete)


Scorer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # x (m, D) -> value (m,), gradient (m, D)


def _gradient_phase(score: Scorer, x: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """L-BFGS-B on the continuous columns of every start at once (maximising the summed score)."""
    m = len(x)

    def negative(flat: np.ndarray) -> tuple[float, np.ndarray]:
        trial = x.copy()
        trial[:, cols] = flat.reshape(m, cols.size)
        value, grad = score(trial)
        value = np.where(np.isfinite(value), value, -1e10)
        return -float(np.sum(value)), -np.nan_to_num(grad[:, cols]).ravel()

    result = minimize(negative, x[:, cols].ravel(), jac=True, method="L-BFGS-B",
                      bounds=[(0.0, 1.0)] * (m * cols.size), options={"maxiter": MAX_ITER})
    moved = x.copy()
    moved[:, cols] = np.clip(result.x.reshape(m, cols.size), 0.0, 1.0)
    return moved


def _discrete_phase(score: Scorer, x: np.ndarray, dims: SearchDims) -> tuple[np.ndarray, bool]:
    """For each exhaustively searched parameter in turn, move every start to its best level."""
    changed = False
    for cols, levels in dims.discrete:
        m, k = len(x), len(levels)
        trial = np.repeat(x, k, axis=0)
        trial[:, cols] = np.tile(levels, (m, 1))
        values = score(trial)[0].reshape(m, k)
        values = np.where(np.isfinite(values), values, -np.inf)
        best = np.argmax(values, axis=1)
        new = levels[best]
        if not np.allclose(new, x[:, cols]):
            changed = True
        x = x.copy()
        x[:, cols] = new
    return x, changed


def maximise(score: Scorer, space: Space, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of `score` from each start: snapped points and their scores."""
    dims = search_dims(space)
    x = space.snap(starts)
    for _ in range(ROUNDS):
        if dims.continuous.size:
            moved = space.snap(_gradient_phase(score, x, dims.continuous))
            better = score(moved)[0] > score(x)[0]  # keep a start where snapping undid the gain
            x = np.where(better[:, None], moved, x)
        changed = False
        if dims.discrete:
            x, changed = _discrete_phase(score, x, dims)
        if not changed:
            break
    return x, score(x)[0]
