"""Optuna's TPE with its pruners as peers (hpo_mab.peers.optuna_pruned) on tables with per-epoch curves."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import make_tiny_error_table, make_tiny_table

from hpo_mab.analysis.metrics import incumbent_rows
from hpo_mab.errors import HpoError
from hpo_mab.history import Trial
from hpo_mab.peers import PEERS, PRUNED_PEERS, make_peer, run_peer_on_table  # Optuna is imported when used
from hpo_mab.surrogates import get_table

pytest.importorskip("optuna")

PRUNER = {"optuna-tpe-sha": "SuccessiveHalvingPruner", "optuna-tpe-hyperband": "HyperbandPruner",
          "optuna-tpe-median": "MedianPruner"}
BUDGET = 12.0  # simulated seconds on digits-lenet: about 18 full trials, many more pruned ones


@pytest.fixture(scope="module")
def digits():
    return get_table("digits-lenet")


def _run(table, name, seed, monkeypatch=None, **kw):
    """A run and, with monkeypatch, the peer it built."""
    built = []
    if monkeypatch is not None:
        import hpo_mab.peers as peers

        real = peers.make_peer
        monkeypatch.setattr(peers, "make_peer", lambda *a: built.append(real(*a)) or built[-1])
    run = run_peer_on_table(table, name, seed, **kw)
    return run, (built[0] if built else None)


def _journal(run):
    return [{k: v for k, v in r.items() if k != "proposal_seconds"} for r in run.records]  # timings differ


@pytest.mark.parametrize("name", PRUNED_PEERS)
def test_pruned_trials_are_stopped_and_charged_only_their_epochs(digits, name, monkeypatch):
    run, peer = _run(digits, name, 0, monkeypatch, budget=BUDGET)
    records = run.records
    assert set(records[0]) == set(Trial.__dataclass_fields__)  # the journal's fields, as every run's
    assert len({r["row"] for r in records}) == len(records)  # nearest unused row: never a row twice
    pruned = [r for r in records if r["reason"] == f"pruned by optuna {PRUNER[name]}"]
    complete = [r for r in records if r["state"] == "complete"]
    assert len(pruned) >= 3 and complete
    assert all(r["state"] == "complete" or r in pruned or r is records[-1] for r in records)  # last: budget cut
    e = digits.n_epochs
    for r in records:
        assert r["epochs"] == len(r["curve"])
    for r in records[:-1]:  # the last trial, cut by the budget, is charged up to the deadline
        ran = digits.seconds[r["row"], :, r["epochs"] - 1]
        assert np.isclose(ran, r["seconds"], rtol=0, atol=1e-6).any()  # one seed's seconds up to its epoch
    assert records[-1]["reason"] == "time budget exhausted"
    for r in pruned:
        assert r["state"] == "stopped" and 1 <= r["epochs"] < e
        assert r["loss"] is None and r["value"] == r["curve"][-1]
    for r in complete:
        assert r["epochs"] == e and r["loss"] == -r["value"] == -r["curve"][-1]  # accuracy, maximised
    clocks = np.array([r["clock"] for r in records])
    assert np.allclose(np.diff(clocks, prepend=0.0), [r["seconds"] for r in records])
    assert sum(r["seconds"] for r in records) == pytest.approx(clocks[-1], abs=1e-6)
    assert clocks[-1] == pytest.approx(BUDGET)
    assert sum(r["seconds"] for r in pruned) < sum(digits.seconds[r["row"], :, -1].min() for r in pruned)
    # Optuna saw what was evaluated: one COMPLETE or PRUNED trial per evaluated record, its curve as losses
    told = [t for t in peer.study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert [t.state.name for t in told] == ["PRUNED" if r in pruned else "COMPLETE" for r in records[:-1]]
    for t, r in zip(told, records):
        assert [t.intermediate_values[k] for k in sorted(t.intermediate_values)] == [-v for v in r["curve"]]
    assert sum(t.state.name == "FAIL" for t in peer.study.trials) == run.snaps + run.moves + 1
    # a stopped trial never becomes the incumbent
    _, rows = incumbent_rows(records)
    assert {row for row in rows if row is not None} <= {r["row"] for r in complete}
    # the same seed gives the same journal; another seed another
    assert _journal(_run(digits, name, 0, budget=BUDGET)[0]) == _journal(run)
    assert _journal(_run(digits, name, 1, budget=BUDGET)[0]) != _journal(run)


def test_a_minimised_metric_is_reported_as_it_is(monkeypatch):
    table = make_tiny_error_table(n_rows=200)
    run, peer = _run(table, "optuna-tpe-median", 2, monkeypatch, budget=1e9, max_trials=40)
    assert any(r["reason"] == "pruned by optuna MedianPruner" for r in run.records)
    told = [t for t in peer.study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(told) == 40
    for t, r in zip(told, run.records):
        assert [t.intermediate_values[k] for k in sorted(t.intermediate_values)] == r["curve"]
        assert t.state.name == "COMPLETE" or t.value == r["curve"][-1]


def test_hyperband_gets_the_tables_epochs_as_its_maximum_resource(monkeypatch):
    table = make_tiny_table()
    _, peer = _run(table, "optuna-tpe-hyperband", 0, monkeypatch, max_trials=3)
    assert peer.study.pruner._max_resource == table.n_epochs == 4
    assert peer.study.study_name == "optuna-tpe-hyperband"


def test_a_one_epoch_table_is_refused_and_names_are_listed():
    table = make_tiny_table()
    flat = replace(table, values=table.values[:, :, -1:], seconds=table.seconds[:, :, -1:], test=None)
    with pytest.raises(HpoError, match="per-epoch curves.*1 epoch"):
        run_peer_on_table(flat, "optuna-tpe-sha", 0)
    with pytest.raises(HpoError, match="optuna-tpe-median"):
        make_peer("optuna-tpe-asha", table.space, 0)
    assert not set(PRUNED_PEERS) & set(PEERS)  # PEERS run on every table; the pruned ones need curves


def test_plain_ask_and_tell_still_works_without_start():
    table = make_tiny_table()
    peer = make_peer("optuna-tpe-sha", table.space, 0, max_resource=4)
    for k in range(5):
        config = peer.ask()
        peer.tell(config, float(k))
    assert [t.state.name for t in peer.study.trials] == ["COMPLETE"] * 5
