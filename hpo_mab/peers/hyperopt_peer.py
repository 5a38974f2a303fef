"""Hyperopt's TPE (Bergstra et al., NeurIPS 2011) as a peer, driven step by step without `fmin`.

`fmin` owns the loop and evaluates the objective itself; here each ask calls `hyperopt.tpe.suggest` (the
algorithm `fmin` calls) on the carried `Trials`, with a seed drawn from the peer's generator as `fmin` draws
it from `rstate`, and each tell inserts a finished trial document holding the configuration actually
evaluated. The asked document is never inserted, so Hyperopt learns only evaluated configurations.

Kinds: `choice` is `hp.choice`; `ordered` is `hp.quniform` over the index (-0.5 to n - 0.5, step 1: ordered,
each index an equal share); `int` likewise over its values; `uniform` / `loguniform` are `hp.uniform` /
`hp.loguniform`; the stepped kinds are `hp.quniform` / `hp.qloguniform`, snapped onto our lattice.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from hpo_mab.peers.base import seed_int
from hpo_mab.space import Config, Param, Space


def hyperopt_expression(p: Param) -> Any:
    """Hyperopt's search-space expression for one parameter (see the module docstring)."""
    from hyperopt import hp

    if p.kind == "choice":
        return hp.choice(p.name, list(p.values))
    if p.kind == "ordered":
        return hp.quniform(p.name, -0.5, len(p.values) - 0.5, 1)
    if p.kind == "int":
        return hp.quniform(p.name, p.low - 0.5, p.high + 0.5, 1)
    if p.kind == "intlog":
        return hp.qloguniform(p.name, math.log(p.low - 0.5), math.log(p.high + 0.5), p.int_step)
    if p.kind == "uniform":
        return hp.uniform(p.name, p.low, p.high)
    if p.kind == "quniform":
        return hp.quniform(p.name, p.low, p.high, p.step)
    if p.kind == "loguniform":
        return hp.loguniform(p.name, math.log(p.low), math.log(p.high))
    return hp.qloguniform(p.name, math.log(p.low), math.log(p.high), p.step)


def from_hyperopt(space: Space, vals: dict[str, Any]) -> Config:
    """Our configuration from Hyperopt's stored values (choice indices, rounded floats)."""
    out: Config = {}
    for p in space.params:
        v = float(vals[p.name])
        if p.kind in ("choice", "ordered"):
            out[p.name] = p.values[int(np.clip(round(v), 0, len(p.values) - 1))]
        elif p.kind in ("int", "intlog"):
            out[p.name] = int(p.decode(p.encode(int(round(v)))))
        elif p.kind in ("quniform", "qloguniform"):
            out[p.name] = p.decode(p.encode(v))  # onto our lattice
        else:
            out[p.name] = min(max(v, float(p.low)), float(p.high))
    return out


def to_hyperopt(space: Space, config: Config) -> dict[str, Any]:
    """Hyperopt's stored values for one of our configurations (the inverse of `from_hyperopt`)."""
    out: dict[str, Any] = {}
    for p in space.params:
        v = config[p.name]
        if p.kind == "choice":
            out[p.name] = p.index_of(v)
        elif p.kind == "ordered":
            out[p.name] = float(p.index_of(v))
        else:
            out[p.name] = float(v)
    return out


class HyperoptPeer:
    """Hyperopt's TPE at its defaults (20 random start-up trials, 24 EI candidates, gamma 0.25)."""

    def __init__(self, space: Space, seed: int | np.random.SeedSequence, name: str = "hyperopt-tpe") -> None:
        import logging

        from hyperopt import Domain, Trials, tpe

        logging.getLogger("hyperopt").setLevel(logging.WARNING)
        self.name = name
        self.space = space
        self.domain = Domain(lambda config: 0.0, {p.name: hyperopt_expression(p) for p in space.params})
        self.trials = Trials()
        self.rng = np.random.default_rng(seed_int(seed))
        self._suggest = functools.partial(tpe.suggest, verbose=False)
        self._pending: int | None = None

    def ask(self) -> Config:
        if self._pending is not None:
            raise RuntimeError(f"{self.name}: ask() again before tell() of the last configuration")
        tid = self.trials.new_trial_ids(1)
        doc = self._suggest(tid, self.domain, self.trials, int(self.rng.integers(2**31 - 1)))[0]
        self._pending = tid[0]
        return from_hyperopt(self.space, {k: v[0] for k, v in doc["misc"]["vals"].items()})

    def tell(self, config: Config, loss: float | None) -> None:
        """Insert a finished trial of `config` (the evaluated configuration, whatever was asked)."""
        from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK

        if self._pending is None:  # an observation made without asking (a warm start)
            tid = self.trials.new_trial_ids(1)[0]
        else:
            tid, self._pending = self._pending, None
        ok = loss is not None and bool(np.isfinite(loss))
        result = {"status": STATUS_OK, "loss": float(loss)} if ok else {"status": STATUS_FAIL}
        vals = to_hyperopt(self.space, config)
        misc = {"tid": tid, "cmd": self.domain.cmd, "workdir": self.domain.workdir,
                "idxs": {k: [tid] for k in vals}, "vals": {k: [v] for k, v in vals.items()}}
        doc = self.trials.new_trial_docs([tid], [None], [result], [misc])[0]
        doc["state"] = JOB_STATE_DONE
        self.trials.insert_trial_docs([doc])
        self.trials.refresh()
