"""Peers on our lookup tables: Optuna's samplers through the same simulated clock and without-replacement rule.

Optuna proposes a configuration in the table's own parameter ranges; it is mapped to the nearest unused row
(in our unit-cube encoding). A proposal whose nearest row is already taken counts as a repeat.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from hpo_mab.arms import TableCandidates
from hpo_mab.backends.lookup import LookupBackend
from hpo_mab.history import History, Trial
from hpo_mab.surrogates import Table


def optuna_distributions(table: Table) -> dict:
    """Optuna distributions for a table's space (categorical for choice/ordered lists)."""
    import optuna.distributions as d

    out = {}
    for p in table.space.params:
        if p.kind in ("choice", "ordered"):
            out[p.name] = d.CategoricalDistribution(list(p.values))
        elif p.kind == "int":
            out[p.name] = d.IntDistribution(int(p.low), int(p.high))
        elif p.kind in ("loguniform", "qloguniform"):
            out[p.name] = d.FloatDistribution(p.low, p.high, log=True)
        else:
            out[p.name] = d.FloatDistribution(p.low, p.high)
    return out


def make_sampler(name: str, seed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if name == "optuna-tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "optuna-gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(name)


@dataclass
class PeerRun:
    records: list[dict] = field(default_factory=list)
    repeats: int = 0
    ask_seconds: list[float] = field(default_factory=list)


def run_optuna_on_table(table: Table, sampler_name: str, seed: int, budget: float,
                        max_trials: int | None = None) -> PeerRun:
    """One seeded Optuna run on a table at a simulated-time budget; records look like journal records."""
    import optuna

    study = optuna.create_study(direction="maximize" if table.metric.direction == "max" else "minimize",
                                sampler=make_sampler(sampler_name, seed))
    dists = optuna_distributions(table)
    candidates = TableCandidates(table.space, table.encoded, table.config)
    history = History(table.space.n_dims)
    backend = LookupBackend(table)
    draws = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    out = PeerRun()
    while backend.clock.now < budget and not candidates.exhausted(history):
        if max_trials is not None and len(history) >= max_trials:
            break
        start = time.perf_counter()
        trial = study.ask(dists)
        out.ask_seconds.append(time.perf_counter() - start)
        nominee = candidates.nearest(table.space.encode(trial.params), history)
        if not np.allclose(nominee.x, table.space.encode(trial.params)):
            out.repeats += int(_is_taken(table, trial.params, history))
        result = backend.evaluate(nominee.row, draw=float(draws.random()), deadline=budget)
        value = result.value if result.state == "complete" else None
        loss = None if value is None else float(table.metric.to_loss(value))
        state = "complete" if result.state == "complete" else result.state
        record = Trial(0, len(history), sampler_name, nominee.config, state, row=nominee.row, value=value,
                       loss=loss, clock=backend.clock.now, seconds=result.seconds)
        history.append(record, nominee.x)
        out.records.append(record.__dict__)
        if value is None or not math.isfinite(value):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)  # Optuna learns the value of the row it was given
    return out


def _is_taken(table: Table, params: dict, history: History) -> bool:
    """Whether the exact configuration Optuna asked for is a row already evaluated."""
    x = table.space.encode(params)
    visited = list(history.visited_rows)
    if not visited:
        return False
    return bool(np.any(np.all(np.isclose(table.encoded[visited], x), axis=1)))
