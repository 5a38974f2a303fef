"""The metric's direction: one sign flip (`Direction`), and minimised metrics end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from hpo_mab import Optimizer, Param, Space
from hpo_mab.errors import HpoError
from hpo_mab.history import MAXIMISE, MINIMISE, direction_of
from hpo_mab.journal import read_journal
from hpo_mab.runner import Settings, run_experiment
from hpo_mab.surrogates.table import save_table
from hpo_mab.termination import Termination
from tests.conftest import make_tiny_error_table, make_tiny_table

CLI = [sys.executable, "-m", "hpo_mab"]


def hpo(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_direction_maps_values_to_losses_and_back():
    values = np.array([0.25, -1.5, 0.0])
    assert MAXIMISE.to_loss(0.9) == -0.9 and MINIMISE.to_loss(0.9) == 0.9
    assert np.array_equal(MAXIMISE.from_loss(MAXIMISE.to_loss(values)), values)
    assert np.array_equal(MINIMISE.to_loss(values), values)
    assert MAXIMISE.reached(0.95, 0.9) and not MAXIMISE.reached(0.85, 0.9) and MAXIMISE.reached(0.9, 0.9)
    assert MINIMISE.reached(0.1, 0.2) and not MINIMISE.reached(0.3, 0.2)
    assert not MAXIMISE.reached(math.nan, 0.9) and not MINIMISE.reached(math.nan, 0.9)
    assert direction_of("max") is MAXIMISE and direction_of(MINIMISE) is MINIMISE
    with pytest.raises(HpoError, match="direction must be 'min' or 'max', but got 'up'"):
        direction_of("up")


def test_termination_reaches_the_goal_in_the_metric_direction():
    assert Termination("GOAL", 10.0, goal=0.9, direction="max").goal_reached(0.95)
    assert not Termination("GOAL", 10.0, goal=0.9, direction=MAXIMISE).goal_reached(0.85)
    assert Termination("GOAL", 10.0, goal=0.2).goal_reached(0.1)
    assert not Termination("GOAL", 10.0, goal=0.2, direction="min").goal_reached(0.3)


def test_ask_tell_best_follows_the_direction():
    space = Space([Param("x", "uniform", low=0.0, high=1.0)])
    for direction, best in (("min", 0.1), ("max", 0.7)):
        opt = Optimizer(space, mode="RANDOM", direction=direction, seed=0)
        for value in (0.5, 0.1, 0.7, 0.3):
            trial = opt.tell(opt.ask(), value)
        assert opt.best.value == best and trial.best_so_far == best
        assert trial.loss == (-0.3 if direction == "max" else 0.3)


def test_a_direction_contradicting_the_metric_is_refused():
    table = make_tiny_table()
    with pytest.raises(HpoError, match="contradicts the metric's direction 'max'"):
        Optimizer(table.space, mode="TPE", direction="min", metric=table.metric)


@pytest.fixture
def error_table_dir(tmp_path):
    save_table(make_tiny_error_table(), tmp_path / "tiny_err.npz")
    return tmp_path


def test_a_minimised_metric_end_to_end_through_the_cli(error_table_dir, tmp_path):
    out = tmp_path / "o"
    res = hpo("tiny_err", 2, "-m", "TPE", "-et", "1500", "--surrogates-dir", error_table_dir, "-o", out,
              "--no-progress")
    assert res.returncode == 0, res.stderr
    records = read_journal(out / "journal.jsonl")
    summaries = json.loads((out / "summary.json").read_text())
    for s in summaries:
        done = [r for r in records if r["run"] == s["run"] and r["state"] in ("init", "complete")]
        best = min(done, key=lambda r: r["value"])
        assert s["best_value"] == best["value"] and s["best_trial"] == best["number"]
        assert best["value"] < max(r["value"] for r in done)
        assert [r["best_so_far"] for r in done] == list(np.minimum.accumulate([r["value"] for r in done]))
        assert all(r["loss"] == r["value"] for r in done)
    values = [s["best_value"] for s in summaries]
    assert f"best val_err over 2 runs: mean {np.mean(values):.5g}" in res.stdout
    assert f"min {min(values):.5g}, max {max(values):.5g}" in res.stdout
    best_run = min(summaries, key=lambda s: s["best_value"])
    assert f"best configuration by observed value (run {best_run['run']}, observed {best_run['best_value']:.5g}" \
        in res.stdout


def test_goal_termination_on_a_minimised_metric(error_table_dir, tmp_path):
    goal = make_tiny_error_table().goal_at_top(10)
    out = tmp_path / "g"
    res = hpo("tiny_err", 2, "-m", "RANDOM", "-e", "GOAL", "-eg", goal, "-et", "100d", "--surrogates-dir",
              error_table_dir, "-o", out, "--no-progress")
    assert res.returncode == 0, res.stderr
    records = read_journal(out / "journal.jsonl")
    summaries = json.loads((out / "summary.json").read_text())
    for s in summaries:
        done = [r for r in records if r["run"] == s["run"] and r["state"] in ("init", "complete")]
        assert s["stop_reason"] == "goal reached"
        assert len(done) > 1 and done[-1]["value"] <= goal  # stopped at the first value at or below the goal
        assert all(r["value"] > goal for r in done[:-1])
        assert s["time_to_goal"] == done[-1]["clock"]
    assert f"goal {goal} reached in 2/2 runs" in res.stdout


@pytest.mark.parametrize("mode,spec", [("TPE", None), ("GP", "EI"), ("RF", "EI"), ("DIV", "EG-LE")])
def test_maximised_accuracy_and_minimised_error_give_the_same_proposals(tmp_path, mode, spec):
    journals = []
    for table in (make_tiny_table(), make_tiny_error_table()):
        settings = Settings(config_name=table.name, num_runs=1, mode=mode, spec=spec, budget=1e9, max_trials=12,
                            seed=4)
        run_experiment(settings, table, tmp_path / table.name)
        journals.append(read_journal(tmp_path / table.name / "journal.jsonl"))
    acc, err = journals
    assert [(r["row"], r["arm"], r["state"]) for r in acc] == [(r["row"], r["arm"], r["state"]) for r in err]
    assert [r["info"].get("strategy") for r in acc] == [r["info"].get("strategy") for r in err]
    assert [1 - r["value"] for r in acc] == pytest.approx([r["value"] for r in err], abs=1e-12)
    assert [1 - r["best_so_far"] for r in acc] == pytest.approx([r["best_so_far"] for r in err], abs=1e-12)
