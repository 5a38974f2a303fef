from __future__ import annotations

import numpy as np

from hpo_mab.arms import TableCandidates
from hpo_mab.backends.lookup import LookupBackend
from hpo_mab.history import History, Trial
from hpo_mab.optimizer import Optimizer


def test_simulated_clock_advances_by_recorded_seconds(tiny_table):
    backend = LookupBackend(tiny_table)
    out = backend.evaluate(7, draw=0.0)
    assert out.state == "complete" and out.epochs == 4
    assert backend.clock.now == tiny_table.seconds[7, 0, -1]
    assert out.value == tiny_table.values[7, 0, -1] and out.test == tiny_table.test[7, 0, -1]
    backend.evaluate(8, draw=0.99)
    assert backend.clock.now == tiny_table.seconds[7, 0, -1] + tiny_table.seconds[8, 2, -1]


def test_a_trial_past_the_deadline_is_cut_and_stopped(tiny_table):
    backend = LookupBackend(tiny_table)
    secs = tiny_table.seconds[3, 1]
    deadline = (secs[1] + secs[2]) / 2  # between the 2nd and 3rd epoch
    out = backend.evaluate(3, draw=0.5, deadline=deadline)
    assert out.state == "stopped" and out.epochs == 2
    assert backend.clock.now == deadline and out.seconds == deadline


def test_sampling_without_replacement_until_exhausted(tiny_table):
    cands = TableCandidates(tiny_table.space, tiny_table.encoded, tiny_table.config)
    opt = Optimizer(tiny_table.space, "RANDOM", None, "max", seed=3, candidates=cands)
    rows = []
    while not cands.exhausted(opt.history):
        proposal = opt.propose()
        rows.append(proposal.nominee.row)
        opt.record(opt.make_trial(proposal, float(tiny_table.true_values[proposal.nominee.row])), proposal)
    assert sorted(rows) == list(range(tiny_table.n_rows))


def test_model_arm_takes_its_next_best_when_rows_are_used(tiny_table):
    cands = TableCandidates(tiny_table.space, tiny_table.encoded, tiny_table.config)
    opt = Optimizer(tiny_table.space, "GP", "EI", "max", seed=0, candidates=cands)
    seen = set()
    for _ in range(40):
        proposal = opt.propose()
        assert proposal.nominee.row not in seen
        seen.add(proposal.nominee.row)
        opt.record(opt.make_trial(proposal, float(tiny_table.true_values[proposal.nominee.row])), proposal)


def test_failed_trials_count_as_visited_but_stay_out_of_fits(tiny_table):
    history = History(tiny_table.space.n_dims)
    config = tiny_table.config(0)
    history.append(Trial(0, 0, "X", config, "failed", row=0, reason="crash"), tiny_table.encoded[0])
    history.append(Trial(0, 1, "X", config, "complete", row=1, value=0.7, loss=-0.7), tiny_table.encoded[1])
    assert history.visited_rows == {0, 1}
    assert history.n_finished == 1 and np.array_equal(history.X[0], tiny_table.encoded[1])
