"""Live mode end to end through the CLI: real torch training of the diabetes MLP task, tiny epochs, CPU."""

from __future__ import annotations

import json

import pytest

from hpo_mab.cli import main
from hpo_mab.journal import read_journal

LIVE = ["diabetes-mlp", "--train", "--epochs", "2", "--device", "cpu", "--no-progress"]


def live(tmp_path, name, *extra):
    out = tmp_path / name
    rc = main([LIVE[0], *extra[:1], *LIVE[1:], *extra[1:], "-o", str(out)])
    return rc, out


def test_a_live_run_writes_what_a_table_run_writes(tmp_path, capsys):
    rc, out = live(tmp_path, "tpe", "2", "-m", "TPE", "--max-trials", "14", "--seed", "3")
    assert rc == 0
    records = read_journal(out / "journal.jsonl")
    assert [(r["run"], r["number"]) for r in records] == [(r, n) for r in range(2) for n in range(14)]
    assert all(r["row"] is None and r["info"]["device"] == "cpu" and r["epochs"] == 2 for r in records)
    assert {r["arm"] for r in records} == {"INIT", "TPE"} and all(r["state"] in ("init", "complete") for r in records)
    assert all(r["value"] == r["curve"][-1] and r["test"] > 0 for r in records)
    for name in ("summary.json", "trials.csv", "convergence.png", "runs.jsonl"):
        assert (out / name).is_file()
    saved = json.loads((out / "experiment.json").read_text())
    assert saved["train"] is True and saved["epochs"] == 2 and saved["config_name"] == "diabetes-mlp"
    text = capsys.readouterr().out
    assert "run 1: 14 trials, best val_rmse" in text and "stopped: max trials" in text and "true" not in text


def test_gp_proposes_off_a_table_and_a_goal_stops_the_run(tmp_path):
    rc, out = live(tmp_path, "gp", "1", "-m", "GP", "-s", "EI", "--max-trials", "14", "-e", "GOAL", "-eg", "500")
    records = read_journal(out / "journal.jsonl")
    assert rc == 0 and len(records) == 1  # any RMSE is below 500: the first trial reaches the goal
    assert json.loads((out / "summary.json").read_text())[0]["stop_reason"] == "goal reached"
    rc, out = live(tmp_path, "gp2", "1", "-m", "GP", "-s", "EI", "--max-trials", "14")
    records = read_journal(out / "journal.jsonl")
    assert rc == 0 and records[-1]["arm"] == "GP-EI" and records[-1]["state"] == "complete"


def test_the_trial_running_at_the_budget_is_stopped(tmp_path):
    out = tmp_path / "t"
    rc = main(["diabetes-mlp", "1", "-m", "RANDOM", "--train", "--epochs", "100000", "-et", "2s", "--no-progress",
               "-o", str(out)])
    records = read_journal(out / "journal.jsonl")
    assert rc == 0 and len(records) == 1
    assert records[0]["state"] == "stopped" and records[0]["reason"] == "time budget exhausted"
    assert 2.0 <= records[0]["clock"] < 4.0
    assert json.loads((out / "summary.json").read_text())[0]["stop_reason"] == "time budget exhausted"


def test_resume_after_a_kill_runs_the_trial_in_flight_again(tmp_path):
    args = ("1", "-m", "RANDOM", "--max-trials", "6", "--seed", "2")
    rc, whole = live(tmp_path, "whole", *args)
    assert rc == 0
    rc, cut = live(tmp_path, "cut", *args)
    before = read_journal(cut / "journal.jsonl")
    lines = (cut / "journal.jsonl").read_bytes().split(b"\n")
    (cut / "journal.jsonl").write_bytes(b"\n".join(lines[:4]) + b"\n" + lines[4][:30])  # killed mid-write
    (cut / "runs.jsonl").unlink()
    rc = main([LIVE[0], "1", *LIVE[1:], *args[1:], "-o", str(cut), "--resume"])
    a, b = read_journal(whole / "journal.jsonl"), read_journal(cut / "journal.jsonl")
    assert rc == 0 and [r["number"] for r in b] == list(range(6))
    assert [r["config"] for r in a] == [r["config"] for r in b]
    assert [r["value"] for r in a] == [pytest.approx(r["value"]) for r in b]  # same seeds, same training
    assert b[4]["info"].get("rerun") is True and not any(r["info"].get("rerun") for r in b[:4] + b[5:])
    assert b[:4] == before[:4]  # journaled trials are kept as they were, wall-clock fields included


@pytest.mark.parametrize("argv, message", [
    (["diabetes-mlp", "1", "--epochs", "3"], "--epochs applies to real training; add --train"),
    (["nope-mlp", "1", "--train"], "unknown training task 'nope-mlp'"),
    (["diabetes-mlp", "1", "--train", "--epochs", "0"], "--epochs must be at least 1"),
    (["kin8nm-mlp", "1", "--train", "--datasets", "/nonexistent/x"], "--datasets /nonexistent/x: no such datasets"),
    (["diabetes-mlp", "1", "--train", "--device", "tpu"], "--device 'tpu': not a torch device"),
])
def test_bad_live_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    assert main([*argv, "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "x").exists()


def test_killed_with_sigkill_and_resumed_every_trial_exactly_once(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["diabetes-mlp", "1", "-m", "RANDOM", "--train", "--epochs", "40", "--device", "cpu", "--max-trials", "5",
            "--seed", "4", "--no-progress"]
    out = tmp_path / "k"
    proc = subprocess.Popen([sys.executable, "-m", "hpo_mab", *args, "-o", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = read_journal(journal)
    assert 2 <= len(kept) < 5
    assert main([*args, "-o", str(out), "--resume"]) == 0
    records = read_journal(journal)
    assert [r["number"] for r in records] == list(range(5)) and records[: len(kept)] == kept
    assert [i for i, r in enumerate(records) if r["info"].get("rerun")] == [len(kept)]
    assert main([*args, "-o", str(tmp_path / "whole")]) == 0
    whole = read_journal(tmp_path / "whole" / "journal.jsonl")
    assert [r["config"] for r in whole] == [r["config"] for r in records]


def test_a_live_problem_checks_journaled_configurations():
    from hpo_mab.backends.train import task_problem
    from hpo_mab.errors import HpoError
    from hpo_mab.tasks import get_task

    problem = task_problem(get_task("diabetes-mlp"), epochs=1, device="cpu")
    config = problem.space.defaults()
    assert problem.live and problem.table is None and problem.oracle is None and problem.true_value(None) is None
    assert problem.nominee_of({"row": None, "config": config}).config == config
    with pytest.raises(HpoError, match="outside the search space"):
        problem.check_record({"row": None, "config": {**config, "layers": 9}}, "journal: run 0 trial 3")


def test_live_auto_config_plans_with_its_probe_and_resumes_with_the_same_plan(tmp_path):
    # The probe (a warm-up trial, then 5 configurations x 3 epochs) measures seconds per epoch and per start;
    # experiment.json keeps them, so --resume plans the same schedule instead of refusing a re-measured one.
    args = ["diabetes-mlp", "1", "-m", "RANDOM", "--train", "--epochs", "9", "--device", "cpu", "--no-progress",
            "--auto-config", "-et", "4s", "--seed", "3", "-o", str(tmp_path / "a")]
    assert main(args) == 0
    saved = json.loads((tmp_path / "a" / "experiment.json").read_text())
    probe = saved["probe"]
    assert probe["configurations"] == 5 and probe["seconds_per_epoch"] > 0 and probe["seconds_per_start"] >= 0
    records = read_journal(tmp_path / "a" / "journal.jsonl")
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())[0]
    assert summary["clock"] <= 4.0 and len(records) >= 1
    assert main([*args, "--resume"]) == 0
    assert read_journal(tmp_path / "a" / "journal.jsonl") == records
    assert json.loads((tmp_path / "a" / "experiment.json").read_text())["probe"] == probe
