"""Optuna's samplers as peers: TPE (default and multivariate), GPSampler and RandomSampler.

Kinds map to Optuna's distributions so that Optuna sees what our arms see: `ordered` lists become an
`IntDistribution` over the value's index (ordered, as our encoding keeps them, not an unordered
categorical), `choice` a `CategoricalDistribution`, `int` an `IntDistribution`, `intlog` an
`IntDistribution(log=True)` (with a step > 1 Optuna has no log scale: a stepped linear one), `uniform` /
`quniform` a `FloatDistribution` (with its step), `loguniform` / `qloguniform` a log `FloatDistribution`
(the q-step is applied to Optuna's value, as our decoding does).

When the configuration evaluated is not the one asked, the asked trial is told FAIL (Optuna's samplers
learn nothing from failed trials) and the evaluated configuration is added as a complete trial with
`study.add_trial(create_trial(...))`, so Optuna models what was actually observed.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hpo_mab.peers.base import same_config, seed_int
from hpo_mab.space import Config, Param, Space

SAMPLERS = ("optuna-tpe", "optuna-tpe-mv", "optuna-tpe-uni", "optuna-gp", "optuna-random")


def optuna_distribution(p: Param) -> Any:
    """The Optuna distribution of one parameter (see the module docstring)."""
    import optuna.distributions as d

    if p.kind == "choice":
        return d.CategoricalDistribution(list(p.values))
    if p.kind == "ordered":
        return d.IntDistribution(0, len(p.values) - 1)
    if p.kind == "int":
        return d.IntDistribution(int(p.low), int(p.high))
    if p.kind == "intlog":
        if p.int_step == 1:
            return d.IntDistribution(int(p.low), int(p.high), log=True)
        return d.IntDistribution(int(p.low), p.top, step=p.int_step)
    if p.kind in ("loguniform", "qloguniform"):
        return d.FloatDistribution(p.low, p.high, log=True)
    if p.kind == "quniform":
        return d.FloatDistribution(p.low, p.low + (p.high - p.low) // p.step * p.step, step=p.step)
    return d.FloatDistribution(p.low, p.high)


def optuna_distributions(space: Space) -> dict[str, Any]:
    """Optuna distributions for every parameter of a space, by name."""
    return {p.name: optuna_distribution(p) for p in space.params}


def from_optuna(space: Space, params: dict[str, Any]) -> Config:
    """Our configuration from Optuna's parameter values (indices of ordered lists -> values; q-steps applied)."""
    out: Config = {}
    for p in space.params:
        v = params[p.name]
        if p.kind == "ordered":
            out[p.name] = p.values[int(v)]
        elif p.kind == "choice":
            out[p.name] = p.values[p.index_of(v)]
        elif p.kind in ("int", "intlog"):
            out[p.name] = int(p.decode(p.encode(int(v))))
        elif p.kind in ("quniform", "qloguniform"):
            out[p.name] = p.decode(p.encode(float(v)))  # onto our lattice
        else:
            out[p.name] = min(max(float(v), float(p.low)), float(p.high))
    return out


def to_optuna(space: Space, config: Config) -> dict[str, Any]:
    """Optuna's parameter values for one of our configurations (the inverse of `from_optuna`)."""
    out: dict[str, Any] = {}
    for p in space.params:
        v = config[p.name]
        if p.kind == "ordered":
            out[p.name] = p.index_of(v)
        elif p.kind == "choice":
            out[p.name] = p.values[p.index_of(v)]
        elif p.kind in ("int", "intlog"):
            out[p.name] = int(v)
        else:
            out[p.name] = float(v)
    return out


def make_sampler(name: str, seed: int) -> Any:
    """One of Optuna's samplers by peer name, at its defaults except `multivariate=True` for optuna-tpe-mv and
    Optuna 4's defaults for optuna-tpe-uni (univariate TPE, no constant liar; Optuna 5 made TPESampler
    multivariate with constant liar by default, so under it optuna-tpe and optuna-tpe-mv are the same sampler)."""
    import optuna

    if name == "optuna-tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "optuna-tpe-mv":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if name == "optuna-tpe-uni":
        return optuna.samplers.TPESampler(seed=seed, multivariate=False, constant_liar=False)
    if name == "optuna-gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "optuna-random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown Optuna peer {name!r}; expected one of {', '.join(SAMPLERS)}")


class OptunaPeer:
    """An Optuna study minimising our loss, asked and told in our configurations."""

    def __init__(self, name: str, space: Space, seed: int | np.random.SeedSequence, *, sampler: str | None = None,
                 pruner: Any = None) -> None:
        """`sampler`: the sampler's peer name when `name` is not one (a pruned peer's); `pruner`: an Optuna
        pruner (the study is then named after the peer: HyperbandPruner hashes the study's name)."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.name = name
        self.space = space
        self.distributions = optuna_distributions(space)
        self.study = optuna.create_study(direction="minimize", sampler=make_sampler(sampler or name, seed_int(seed)),
                                         pruner=pruner, study_name=None if pruner is None else name)
        self._asked: tuple[Any, Config] | None = None

    def ask(self) -> Config:
        if self._asked is not None:
            raise RuntimeError(f"{self.name}: ask() again before tell() of the last configuration")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature notices of multivariate TPE and GPSampler
            trial = self.study.ask(self.distributions)
        config = from_optuna(self.space, trial.params)
        self._asked = (trial, config)
        return config

    def tell(self, config: Config, loss: float | None) -> None:
        """Tell the evaluation of `config`: the pending ask's trial if it is that configuration, else the ask
        fails and `config` is added as evaluated; with no ask pending, `config` is added (a warm start)."""
        from optuna.trial import TrialState

        ok = loss is not None and bool(np.isfinite(loss))
        if self._asked is None:  # an observation made without asking (a warm start)
            self._add(config, loss if ok else None)
            return
        trial, asked = self._asked
        self._asked = None
        if same_config(self.space, asked, config):
            if ok:
                self.study.tell(trial, float(loss))
            else:
                self.study.tell(trial, state=TrialState.FAIL)
            return
        self.study.tell(trial, state=TrialState.FAIL)  # not evaluated: Optuna learns nothing from it
        self._add(config, loss if ok else None)

    def _add(self, config: Config, loss: float | None) -> None:
        from optuna.trial import TrialState, create_trial

        self.study.add_trial(create_trial(params=to_optuna(self.space, config), distributions=self.distributions,
                                          value=None if loss is None else float(loss),
                                          state=TrialState.FAIL if loss is None else TrialState.COMPLETE))
