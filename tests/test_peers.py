"""Peers (hpo_mab.peers) with the real Optuna and Hyperopt: kinds, moves taught as evaluated, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import optuna.distributions as od
import pytest
from conftest import make_tiny_table

from hpo_mab.errors import HpoError
from hpo_mab.peers import PEERS, make_peer, run_peer_on_table
from hpo_mab.peers.hyperopt_peer import from_hyperopt, to_hyperopt
from hpo_mab.peers.optuna_peer import from_optuna, optuna_distributions, to_optuna
from hpo_mab.space import Param, Space
from hpo_mab.surrogates.table import Metric, Table

ALL_KINDS = Space([
    Param("u", "uniform", low=-1.0, high=2.0), Param("q", "quniform", low=0.0, high=1.0, step=0.25),
    Param("lu", "loguniform", low=1e-4, high=1.0), Param("qlu", "qloguniform", low=1.0, high=100.0, step=1.0),
    Param("i", "int", low=1, high=9), Param("il", "intlog", low=1, high=512),
    Param("c", "choice", values=("relu", "tanh", 3)), Param("o", "ordered", values=(8, 16, 64, 256)),
])


def grid_table(n: int = 3) -> Table:
    """An n x n grid of two ordered parameters (every asked configuration is a row), one seed, one epoch."""
    space = Space([Param("a", "ordered", values=tuple(range(n))), Param("b", "ordered", values=tuple(range(n)))])
    a, b = (np.array(c, dtype=float) for c in zip(*itertools.product(range(n), range(n))))
    values = (1.0 - ((a - 1) ** 2 + (b - 1) ** 2) / 10)[:, None, None]
    return Table(name="grid", space=space, columns=[a, b], values=values, seconds=np.ones_like(values),
                 metric=Metric("acc", "accuracy", "max", lower=0.0, upper=1.0))


def test_optuna_distributions_keep_kinds():
    d = optuna_distributions(ALL_KINDS)
    assert d["o"] == od.IntDistribution(0, 3)  # ordered: an ordered index, not an unordered categorical
    assert d["c"] == od.CategoricalDistribution(["relu", "tanh", 3])
    assert d["i"] == od.IntDistribution(1, 9)
    assert d["il"] == od.IntDistribution(1, 512, log=True)
    assert d["lu"] == od.FloatDistribution(1e-4, 1.0, log=True)
    assert d["qlu"] == od.FloatDistribution(1.0, 100.0, log=True)
    assert d["q"] == od.FloatDistribution(0.0, 1.0, step=0.25)
    assert d["u"] == od.FloatDistribution(-1.0, 2.0)


@pytest.mark.parametrize("to, back", [(to_optuna, from_optuna), (to_hyperopt, from_hyperopt)])
def test_configurations_round_trip(to, back):
    rng = np.random.default_rng(0)
    for _ in range(20):
        config = ALL_KINDS.decode(rng.random(ALL_KINDS.n_dims))
        assert back(ALL_KINDS, to(ALL_KINDS, config)) == config


@pytest.mark.parametrize("name", ["optuna-tpe", "hyperopt-tpe", "optuna-random"])
def test_asked_configurations_are_valid_and_ordered_lists_are_searched_as_indices(name):
    peer = make_peer(name, ALL_KINDS, 3)
    seen = set()
    for k in range(25):
        config = peer.ask()
        assert all(p.contains(config[p.name]) for p in ALL_KINDS.params), config
        seen.add(config["o"])
        peer.tell(config, float(ALL_KINDS.params[7].index_of(config["o"])) + k)
    assert seen == {8, 16, 64, 256}
    if name == "hyperopt-tpe":
        assert peer.trials.trials[0]["misc"]["vals"]["o"][0] in (0.0, 1.0, 2.0, 3.0)


def test_unknown_peer_is_one_error():
    with pytest.raises(HpoError, match="unknown peer 'smac'.*optuna-tpe"):
        make_peer("smac", ALL_KINDS, 0)


def _tpe_proposals(name: str, n: int = 25) -> list[dict]:
    peer = make_peer(name, ALL_KINDS, 3)
    out = []
    for k in range(n):
        config = peer.ask()
        out.append(config)
        peer.tell(config, float(np.sin(3.0 * k)))
    return out


def test_univariate_tpe_is_a_different_sampler():
    """optuna-tpe-uni (Optuna 4's defaults) leaves the random start-up and then proposes otherwise than the
    multivariate TPE; under Optuna >= 5 optuna-tpe is the multivariate one (its new default)."""
    import optuna

    uni, default, mv = (_tpe_proposals(n) for n in ("optuna-tpe-uni", "optuna-tpe", "optuna-tpe-mv"))
    assert uni[:10] == mv[:10] and uni[10:] != mv[10:]
    assert (default == mv) == (int(optuna.__version__.split(".")[0]) >= 5)


@pytest.mark.parametrize("name", ["optuna-tpe", "optuna-tpe-mv", "optuna-tpe-uni", "hyperopt-tpe", "optuna-random"])
def test_a_move_teaches_the_configuration_evaluated(name, monkeypatch):
    table = grid_table()
    built = []
    import hpo_mab.peers as peers

    real = peers.make_peer
    monkeypatch.setattr(peers, "make_peer", lambda *a: built.append(real(*a)) or built[-1])
    run = run_peer_on_table(table, name, 1, budget=9.0)
    records = run.records
    assert len({r["row"] for r in records}) == len(records)  # never a row twice
    assert len(records) == 9 and run.snaps == 0  # every asked configuration is a row of the grid
    moved = []
    for i, r in enumerate(records):
        asked_row = next(k for k in range(table.n_rows) if table.config(k) == r["info"].get("asked", r["config"]))
        taken = asked_row in {q["row"] for q in records[:i]}
        assert r["info"].get("moved", False) == taken
        moved.append(taken)
    assert run.moves == sum(moved) > 0
    peer = built[0]
    evaluated = [(r["config"]["a"], r["config"]["b"]) for r in records]
    if name == "hyperopt-tpe":
        taught = [(d["misc"]["vals"]["a"][0], d["misc"]["vals"]["b"][0]) for d in peer.trials.trials]
        assert taught == [(float(a), float(b)) for a, b in evaluated]
        assert [d["result"]["loss"] for d in peer.trials.trials] == [r["loss"] for r in records]
    else:
        complete = [t for t in peer.study.trials if t.state.name == "COMPLETE"]
        assert [(t.params["a"], t.params["b"]) for t in complete] == evaluated
        assert [t.value for t in complete] == [r["loss"] for r in records]
        assert sum(t.state.name == "FAIL" for t in peer.study.trials) == run.moves


def test_snaps_on_continuous_parameters_are_not_moves():
    run = run_peer_on_table(make_tiny_table(), "optuna-tpe", 0, max_trials=10)
    assert run.snaps + run.moves == len(run.records) == 10  # lr is continuous: no asked point is a row
    assert all("asked" in r["info"] for r in run.records)


@pytest.mark.parametrize("name", PEERS)
def test_deterministic_for_a_seed(name):
    table = make_tiny_table()
    trials = 12 if name == "optuna-gp" else 25

    def rows(seed):
        run = run_peer_on_table(table, name, seed, budget=1e9, max_trials=trials)
        return [(r["row"], r["value"], r["clock"]) for r in run.records], run.moves

    first = rows(5)
    assert first == rows(5)
    assert first != rows(6)


@pytest.mark.parametrize("name", ["optuna-tpe", "hyperopt-tpe"])
def test_tell_without_ask_is_an_observation(name):
    peer = make_peer(name, ALL_KINDS, 0)
    config = ALL_KINDS.decode(np.full(ALL_KINDS.n_dims, 0.3))
    peer.tell(config, 0.5)
    if name == "hyperopt-tpe":
        assert from_hyperopt(ALL_KINDS, {k: v[0] for k, v in peer.trials.trials[0]["misc"]["vals"].items()}) == config
    else:
        assert [from_optuna(ALL_KINDS, t.params) for t in peer.study.trials] == [config]
    asked = peer.ask()
    assert all(p.contains(asked[p.name]) for p in ALL_KINDS.params)
