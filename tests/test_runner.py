from __future__ import annotations

import json

import numpy as np
import pytest

from hpo_mab.errors import HpoError
from hpo_mab.journal import read_journal
from hpo_mab.runner import Settings, run_experiment, strip_wall_clock


def run(table, tmp_path, name="out", **kw):
    settings = Settings(config_name="tiny", **{"num_runs": 2, "mode": "GP", "spec": "EI", **kw})
    summaries = run_experiment(settings, table, tmp_path / name)
    return summaries, read_journal(tmp_path / name / "journal.jsonl")


def test_time_budget_cuts_the_last_trial(tiny_table, tmp_path):
    summaries, records = run(tiny_table, tmp_path, budget=300.0)
    for s in summaries:
        trials = [r for r in records if r["run"] == s.run]
        assert s.stop_reason == "time budget exhausted"
        assert trials[-1]["clock"] == pytest.approx(300.0)
        assert trials[-1]["state"] in ("stopped", "complete", "init")
        assert all(r["state"] in ("init", "complete") for r in trials[:-1])
        assert [r["number"] for r in trials] == list(range(len(trials)))
        init = [r for r in trials if r["state"] == "init" or r["arm"] == "INIT"]
        assert len(init) == 5  # max(d + 1, 5) with d = 3
        finished = [r for r in trials if r["state"] in ("init", "complete")]
        assert s.best_value == max(r["value"] for r in finished)  # a stopped trial never becomes the incumbent


def test_goal_stops_the_run_at_the_goal(tiny_table, tmp_path):
    goal = tiny_table.goal_at_top(5)
    summaries, records = run(tiny_table, tmp_path, criterion="GOAL", goal=goal, budget=1e9)
    for s in summaries:
        trials = [r for r in records if r["run"] == s.run]
        assert s.stop_reason == "goal reached" and trials[-1]["value"] >= goal
        assert all(r["value"] < goal for r in trials[:-1] if r["value"] is not None)
        assert s.time_to_goal == trials[-1]["clock"]


def test_max_trials_and_goal_outside_bounds(tiny_table, tmp_path):
    summaries, records = run(tiny_table, tmp_path, max_trials=7, budget=1e9)
    assert [s.trials for s in summaries] == [7, 7] and len(records) == 14
    with pytest.raises(HpoError, match="outside the bounds"):
        run(tiny_table, tmp_path, name="o2", criterion="GOAL", goal=1.5)


def test_exhausting_the_table_stops_and_says_so(tiny_table, tmp_path):
    summaries, records = run(tiny_table, tmp_path, mode="RANDOM", spec=None, budget=1e9, num_runs=1)
    assert "every one of the table's 120 rows" in summaries[0].stop_reason
    assert sorted(r["row"] for r in records) == list(range(120))


@pytest.mark.parametrize("mode, spec", [("GP", "EI"), ("RF", "UCB"), ("TPE", None), ("RANDOM", None)])
def test_same_seed_same_journal(tiny_table, tmp_path, mode, spec):
    _, a = run(tiny_table, tmp_path, name="a", mode=mode, spec=spec, budget=400.0, seed=5)
    _, b = run(tiny_table, tmp_path, name="b", mode=mode, spec=spec, budget=400.0, seed=5)
    _, c = run(tiny_table, tmp_path, name="c", mode=mode, spec=spec, budget=400.0, seed=6)
    assert strip_wall_clock(a) == strip_wall_clock(b)
    assert strip_wall_clock(a) != strip_wall_clock(c)


def test_true_value_and_observed_seed(tiny_table, tmp_path):
    summaries, records = run(tiny_table, tmp_path, budget=500.0)
    for r in records:
        if r["state"] in ("init", "complete"):
            assert r["value"] in [pytest.approx(v) for v in tiny_table.values[r["row"], :, -1]]
    s = summaries[0]
    best = next(r for r in records if r["run"] == 0 and r["number"] == s.best_trial)
    assert s.best_true_value == pytest.approx(float(np.mean(tiny_table.values[best["row"], :, -1])))


def test_resume_refuses_other_settings(tiny_table, tmp_path):
    settings = Settings(config_name="tiny", num_runs=1, budget=200.0)
    run_experiment(settings, tiny_table, tmp_path / "r")
    with pytest.raises(HpoError, match="holds a journal"):
        run_experiment(settings, tiny_table, tmp_path / "r")
    other = Settings(config_name="tiny", num_runs=1, budget=300.0)
    with pytest.raises(HpoError, match="different settings"):
        run_experiment(other, tiny_table, tmp_path / "r", resume=True)
    assert json.loads((tmp_path / "r" / "experiment.json").read_text())["budget"] == 200.0
    # an experiment with a later feature's setting (here a scheduler) is not resumed by a run without it
    with_scheduler = Settings(config_name="tiny", num_runs=1, budget=200.0, scheduler="ASHA")
    run_experiment(with_scheduler, tiny_table, tmp_path / "s")
    with pytest.raises(HpoError, match=r"different settings \(model_data, scheduler"):
        run_experiment(settings, tiny_table, tmp_path / "s", resume=True)


def test_proposal_time_is_journaled_apart_and_charged_only_on_request(tiny_table, tmp_path):
    _, free = run(tiny_table, tmp_path, name="free", budget=1e9, max_trials=12, num_runs=1)
    _, charged = run(tiny_table, tmp_path, name="charged", budget=1e9, max_trials=12, num_runs=1,
                     charge_proposal_time=True)
    assert all(r["proposal_seconds"] > 0 for r in free)
    assert free[-1]["clock"] == pytest.approx(sum(r["seconds"] for r in free))
    expected = sum(r["seconds"] + r["proposal_seconds"] for r in charged)
    assert charged[-1]["clock"] == pytest.approx(expected)
