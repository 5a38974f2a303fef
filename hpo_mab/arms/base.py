"""Arms: each proposes the next configuration from everything observed so far, whoever proposed it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from hpo_mab.arms.acq_search import maximise
from hpo_mab.arms.acquisition import ACQUISITIONS
from hpo_mab.arms.anneal import AnnealArm
from hpo_mab.arms.candidates import Candidates, Nominee, TableCandidates, random_fallback
from hpo_mab.arms.evolution import EvolutionArm
from hpo_mab.arms.fits import SharedFits
from hpo_mab.arms.gp import ModelFitError
from hpo_mab.arms.grid import GridArm
from hpo_mab.arms.outputs import output_transform
from hpo_mab.arms.tpe import split_densities, tpe_scores
from hpo_mab.arms.transforms import HLEArm
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


# Chosen on the development functions and tables by experiments/dev_sweep.sh (results/synthetic/dev_sweep.md):
# GP-EI with `tail` had a lower median regret than Optuna's GPSampler on 9 of 10 functions where `copula` had
# 0 of 10 and `raw` 5; on the three development tables the output made no significant difference. The forest
# with `copula` had the lowest mean regret on the tables (0.011; `log` 0.016, `raw` 0.052) and the lowest
# median on 5 of 10 functions.
DEFAULT_OPTIONS: dict[str, Any] = {
    "gp_output": "tail",    # what a GP arm models (outputs.OUTPUTS)
    "rf_output": "copula",  # what a forest arm models
    "acq_starts": 10,       # starts of the GP's continuous acquisition search (0: score the pool only)
    "tpe_gamma": "linear",  # TPE's good fraction: "linear" (Optuna) or "sqrt" (Hyperopt)
    "tpe_bandwidth": "scott",  # TPE's numeric bandwidth: "scott" (the data's spread) or "fixed" (Optuna's)
    "tpe_kernel": "multivariate",  # TPE's densities: "multivariate" (product kernels) or "univariate"
    "tpe_bandwidth_factor": 0.6,  # multiplies TPE's numeric bandwidths (tpe.BANDWIDTH_FACTOR)
}
ARM_OPTIONS = (*DEFAULT_OPTIONS, "neighbours")


def check_arm_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The arm options with defaults filled in; HpoError naming an unknown key or a bad value."""
    merged = dict(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        if key not in ARM_OPTIONS:
            raise HpoError(f"unknown arm option {key!r}; expected one of {', '.join(ARM_OPTIONS)}")
        merged[key] = value
    for key in ("gp_output", "rf_output"):
        output_transform(merged[key])
    for key, valid in (("tpe_gamma", ("linear", "sqrt")), ("tpe_bandwidth", ("scott", "fixed")),
                       ("tpe_kernel", ("multivariate", "univariate"))):
        if merged[key] not in valid:
            raise HpoError(f"arm option {key!r} must be one of {', '.join(valid)}, but got {merged[key]!r}")
    factor = merged["tpe_bandwidth_factor"]
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < math.inf:
        raise HpoError(f"arm option 'tpe_bandwidth_factor' must be a positive number, but got {factor!r}")
    for key in ("acq_starts", "neighbours"):
        value = merged.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise HpoError(f"arm option {key!r} must be a non-negative integer, but got {value!r}")
    return merged


def observed_keys(history: History) -> set[bytes]:
    return {row.tobytes() for row in np.asarray(history.X)}


class ModelArm:
    """A surrogate model (GP or RF) with an acquisition function.

    Both score a pool of candidates (`Candidates.pool`); a GP then also climbs its acquisition's gradient
    from the best of them (`acq_search.maximise`), and on a table takes the unused rows nearest to where
    it climbed. The model comes from `fits`, shared by every arm of the portfolio that models the same
    targets, so three GP arms fit one GP per step.
    """

    def __init__(self, model: str, acq: str, transform=None, options: Mapping[str, Any] | None = None) -> None:
        if acq not in ACQUISITIONS:
            raise HpoError(f"unknown acquisition {acq!r} for {model}; expected one of {', '.join(ACQUISITIONS)}")
        self.model_name, self.acq_name = model, acq
        self.acquisition = ACQUISITIONS[acq]
        self.transform, self.transform_key = transform, None
        self.options = check_arm_options(options)
        self.output = self.options["gp_output" if model == "GP" else "rf_output"]
        self.name = f"{model}-{acq}"
        self.fits: SharedFits | None = None

    def _targets(self, history: History) -> tuple[np.ndarray, str]:
        """What the model fits and its key: the HLE arms' transform, else the arm's output transform."""
        if self.transform is not None:
            return self.transform(history.y), self.transform_key or f"custom:{id(self.transform)}"
        return output_transform(self.output)(history.y), self.output

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        if history.n_finished < MIN_OBSERVATIONS:
            return random_fallback(candidates, history, rng, "too few observations")
        if self.fits is None:  # an arm used on its own; a portfolio shares one SharedFits
            self.fits = SharedFits(space, np.random.SeedSequence(int(rng.integers(2**63))))
        y, key = self._targets(history)
        pool, rows = candidates.pool(history, rng, neighbours=self.options.get("neighbours"))
        try:
            model = self.fits.get(self.model_name, key, history, y)
            mean, std = model.predict(pool)
            if not np.all(np.isfinite(mean)):
                raise ModelFitError("non-finite prediction")
        except (ModelFitError, np.linalg.LinAlgError, FloatingPointError) as exc:
            return random_fallback(candidates, history, rng, f"model fit failed: {exc}")
        best = float(model.standardise(np.min(y)))
        scores = self.acquisition(mean, std, best)[0]
        if self.model_name == "GP" and self.options["acq_starts"] > 0 and len(pool):
            pool, rows, scores = self._climb(space, history, candidates, model, best, pool, rows, scores)
        if rows is None:  # fresh points: never propose an already evaluated configuration again
            seen = observed_keys(history)
            scores = np.where([p.tobytes() in seen for p in pool], -np.inf, scores)
        i = pick_best(scores, rng)
        return candidates.nominee(pool[i], None if rows is None else int(rows[i]))

    def _climb(self, space: Space, history: History, candidates: Candidates, model: Any, best: float,
               pool: np.ndarray, rows: np.ndarray | None, scores: np.ndarray):
        """Add the local maxima of the acquisition, from the best pool points and the incumbent."""
        order = np.argsort(-np.where(np.isfinite(scores), scores, -np.inf), kind="stable")
        starts = np.vstack([pool[order[: self.options["acq_starts"]]], history.X[np.argmin(history.y)][None, :]])

        def score(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mean, std, d_mean, d_std = model.predict_with_grad(x)
            value, by_mean, by_std = self.acquisition(mean, std, best)
            return value, by_mean[:, None] * d_mean + by_std[:, None] * d_std

        peaks, peak_scores = maximise(score, space, starts)
        if rows is None:
            return np.vstack([pool, peaks]), None, np.concatenate([scores, peak_scores])
        near = np.unique(np.concatenate(candidates.near_unused(peaks, 8, history)).astype(int))
        near = near[~np.isin(near, rows)]
        if near.size == 0:
            return pool, rows, scores
        mean, std = model.predict(candidates.encoded[near])
        near_scores = self.acquisition(mean, std, best)[0]
        return (np.vstack([pool, candidates.encoded[near]]), np.concatenate([rows, near]),
                np.concatenate([scores, near_scores]))


class TPEArm:
    """TPE: candidates drawn from l(x) (on tables, the unused rows nearest to those draws), ranked by
    l(x)/g(x). Drawing from l(x), as Hyperopt and Optuna do, rather than maximising the ratio over a wide
    pool keeps TPE from chasing empty corners where g(x) is small (measured on Branin: median best 1.39
    over a 1,224-point pool vs. below random search's 1.03 with draws from l(x), 30 evaluations, 6 seeds).
    """

    name = "TPE"
    n_draws = 64

    def __init__(self, transform=None, options: Mapping[str, Any] | None = None) -> None:
        self.transform = transform
        self.options = check_arm_options(options)

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        if history.n_finished < MIN_OBSERVATIONS:
            return random_fallback(candidates, history, rng, "too few observations")
        y = history.y if self.transform is None else self.transform(history.y)
        good, bad = split_densities(space, history.X, y, self.options["tpe_gamma"], self.options["tpe_bandwidth"],
                                    self.options["tpe_kernel"], self.options["tpe_bandwidth_factor"])
        draws = good.sample(self.n_draws, rng)
        rows = None
        if isinstance(candidates, TableCandidates):
            rows = np.unique(candidates.nearest_rows(draws, history))
            pool = candidates.encoded[rows]
        else:
            pool = draws
        i = pick_best(tpe_scores(good, bad, pool), rng)
        return candidates.nominee(pool[i], None if rows is None else int(rows[i]))


def make_arm(model: str, acq: str | None = None, metric: Any = None,
             options: Mapping[str, Any] | None = None) -> Arm:
    """An arm from a (model, acquisition) pair, e.g. ("GP", "EI"), ("TPE", None), ("GP-HLE", "EI").

    `metric`: the table's Metric, for the cost-transformed arms (GP-HLE, RF-HLE, TPE-HLE), whose error
    depends on the metric's kind and scale; None treats the loss as unbounded. `options`: the model arms'
    options (`ARM_OPTIONS`: output transforms, acquisition starts, pool neighbours).
    """
    model = model.upper()
    if model not in ARMS:
        raise HpoError(f"unknown model {model!r}; expected one of {', '.join(ARMS)}")
    return ARMS[model](acq, metric, check_arm_options(options))


def _check_acq(model: str, acq: str | None) -> str:
    if acq is None:
        raise HpoError(f"model {model} needs an acquisition function; expected one of {', '.join(ACQUISITIONS)}")
    if str(acq).upper() not in ACQUISITIONS:
        raise HpoError(f"unknown acquisition {acq!r} for {model}; expected one of {', '.join(ACQUISITIONS)}")
    return str(acq).upper()


Builder = Callable[[Any, Any, Mapping[str, Any]], Arm]


def _needs_acq(model: str) -> Builder:
    def build(acq: str | None, metric: Any, options: Mapping[str, Any]) -> Arm:
        return ModelArm(model, _check_acq(model, acq), options=options)
    return build


def _no_acq(factory: Callable[..., Arm], model: str, takes_options: bool = False) -> Builder:
    def build(acq: str | None, metric: Any, options: Mapping[str, Any]) -> Arm:
        if acq is not None and str(acq).upper() != model:
            raise HpoError(f"model {model} takes no acquisition function, but got {acq!r}")
        return factory(options=options) if takes_options else factory()
    return build


def _hle(base: str) -> Builder:
    """DEEP-BO's HLE cost transformation around a GP/RF model arm or TPE (see arms/transforms.py)."""
    model = f"{base}-HLE"

    def build(acq: str | None, metric: Any, options: Mapping[str, Any]) -> Arm:
        if base == "TPE":
            inner = _no_acq(TPEArm, model, takes_options=True)(acq, metric, options)
        else:
            inner = ModelArm(base, _check_acq(model, acq), options=options)
        return HLEArm(inner, metric)
    return build


ARMS: dict[str, Builder] = {
    "RANDOM": _no_acq(RandomArm, "RANDOM"), "GP": _needs_acq("GP"), "RF": _needs_acq("RF"),
    "TPE": _no_acq(TPEArm, "TPE", takes_options=True), "GP-HLE": _hle("GP"), "RF-HLE": _hle("RF"),
    "TPE-HLE": _hle("TPE"),
    "GRID": _no_acq(GridArm, "GRID"), "ANNEAL": _no_acq(AnnealArm, "ANNEAL"),
    "EVOLUTION": _no_acq(EvolutionArm, "EVOLUTION"),
}
