"""Schedulers in the runner: rung promotion order and counts, time accounting of paused-then-promoted trials,
the arms' model data, resume, and the same journal for the same seed with every scheduler."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_error_table, make_tiny_table

from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.journal import read_journal
from hpo_mab.runner import Settings, run_experiment
from hpo_mab.schedulers import SCHEDULERS, Decision, make_scheduler


def _journal(path):
    return list(read_journal(path / "journal.jsonl"))


def _run(tmp_path, table, scheduler, runs=1, name="out", **kw):
    settings = Settings(table.name, runs, mode=kw.pop("mode", "RANDOM"), spec=None, scheduler=scheduler, **kw)
    summaries = run_experiment(settings, table, tmp_path / name)
    return summaries, _journal(tmp_path / name)


def test_asha_promotes_the_top_third_of_the_highest_rung_first():
    asha = make_scheduler("ASHA", 9, {"eta": 3})  # rungs 1, 3, 9
    assert asha.resources == [1, 3, 9]
    for tid, loss in enumerate([0.5, 0.2, 0.9]):
        assert asha.on_report(tid, 1, loss) == Decision.PAUSE
        asha.on_end(tid, "paused", 1)
    assert asha.next_to_resume() == 1  # top 1 of 3 at rung 0
    assert asha.next_to_resume() is None  # 1 is promoted already; 3 // 3 = 1
    assert asha.on_report(1, 2, 0.15) == Decision.CONTINUE
    assert asha.on_report(1, 3, 0.1) == Decision.PAUSE
    asha.on_end(1, "paused", 3)
    for tid, loss in zip((3, 4, 5), (0.05, 0.6, 0.7), strict=True):
        asha.on_report(tid, 1, loss)
        asha.on_end(tid, "paused", 1)
    # rung 1 holds one trial (1 // 3 = 0 promotable); rung 0 holds 6: top 2 are 3 and 1, and 1 is promoted
    assert asha.next_to_resume() == 3
    assert asha.next_to_resume() is None


def test_sha_runs_each_bracket_synchronously_best_first(tmp_path):
    table = make_tiny_table(n_rows=60, n_epochs=9)
    _, records = _run(tmp_path, table, "SHA", max_trials=10)
    assert [r["state"] for r in records[:9]] == ["paused"] * 9 and all(r["epochs"] == 1 for r in records[:9])
    rung0 = sorted(range(9), key=lambda i: (-records[i]["value"], i))  # accuracy: the highest first
    promoted = [r["info"]["resumes"] for r in records[9:12]]
    assert promoted == rung0[:3]
    assert all(r["epochs"] == 3 and r["info"]["from_epoch"] == 1 and r["state"] == "paused" for r in records[9:12])
    best3 = min(range(9, 12), key=lambda i: (-records[i]["value"], records[i]["info"]["resumes"]))
    last = records[12]
    assert last["info"]["resumes"] == records[best3]["info"]["resumes"] and last["epochs"] == 9
    assert last["state"] in ("init", "complete") and last["info"]["from_epoch"] == 3
    assert records[13]["epochs"] == 1 and "resumes" not in records[13]["info"]  # the next bracket


def test_a_promoted_trial_is_charged_only_its_extra_epochs(tmp_path):
    table = make_tiny_table(n_rows=60, n_epochs=9)
    summaries, records = _run(tmp_path, table, "ASHA", max_trials=30)
    by_id: dict[int, list[dict]] = {}
    for r in records:
        by_id.setdefault(r["info"].get("resumes", r["number"]), []).append(r)
    resumed = [parts for parts in by_id.values() if len(parts) > 1]
    assert resumed, "some trial must be promoted"
    for parts in resumed:
        row, (_, seed, epochs) = parts[0]["row"], parts[0]["info"]["checkpoint"]
        assert epochs == parts[0]["epochs"]
        cumulative = table.seconds[row, seed]
        for part in parts[1:]:
            if part["reason"] == "time budget exhausted":
                continue  # cut mid-epoch at the budget
            start, end = part["info"]["from_epoch"], part["epochs"]
            assert part["seconds"] == pytest.approx(cumulative[end - 1] - cumulative[start - 1], rel=1e-6)
            assert part["curve"] == pytest.approx(table.values[row, seed, start:end].tolist())
    assert sum(r["seconds"] for r in records) == pytest.approx(records[-1]["clock"])
    assert summaries[0].clock == pytest.approx(records[-1]["clock"])


def test_hyperband_follows_its_bracket_plan(tmp_path):
    table = make_tiny_table(n_rows=80, n_epochs=9)  # R = 9, eta = 3: (9@1, 3@3, 1@9), (3@3, 1@9), (3@9)
    _, records = _run(tmp_path, table, "HYPERBAND", max_trials=18)
    firsts = [r for r in records if "resumes" not in r["info"]]
    assert [r["epochs"] for r in firsts[:15]] == [1] * 9 + [3] * 3 + [9] * 3
    assert len(records) >= 9 + 3 + 1 + 3 + 1 + 3


@pytest.mark.parametrize("name", ["ASHA", "SHA", "HYPERBAND"])
def test_both_metric_directions_make_the_same_decisions(tmp_path, name):
    acc, err = make_tiny_table(n_rows=60, n_epochs=9), make_tiny_error_table(n_rows=60, n_epochs=9)
    _, a = _run(tmp_path, acc, name, max_trials=25, name="acc")
    _, e = _run(tmp_path, err, name, max_trials=25, name="err")
    assert [(r["row"], r["epochs"], r["state"]) for r in a] == [(r["row"], r["epochs"], r["state"]) for r in e]


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_same_seed_same_journal_and_resume_continues_it(tmp_path, name):
    table = make_tiny_table(n_rows=60, n_epochs=9)
    kw = dict(mode="TPE", max_trials=24, seed=3)
    _run(tmp_path, table, name, name="a", **kw)
    _run(tmp_path, table, name, name="b", **kw)
    strip = [{k: v for k, v in r.items() if k != "proposal_seconds"} for r in _journal(tmp_path / "a")]
    assert strip == [{k: v for k, v in r.items() if k != "proposal_seconds"} for r in _journal(tmp_path / "b")]
    # cut the journal after a continued trial and resume: the same journal results
    lines = (tmp_path / "b" / "journal.jsonl").read_text().splitlines(keepends=True)
    cut = next((i for i, r in enumerate(strip) if "resumes" in r["info"]), len(strip) // 2) + 1
    (tmp_path / "b" / "journal.jsonl").write_text("".join(lines[:cut]))
    (tmp_path / "b" / "runs.jsonl").unlink()
    settings = Settings(table.name, 1, mode="TPE", spec=None, scheduler=name, max_trials=24, seed=3)
    run_experiment(settings, table, tmp_path / "b", resume=True)
    again = [{k: v for k, v in r.items() if k != "proposal_seconds"} for r in _journal(tmp_path / "b")]
    assert again == strip


def test_a_scheduler_needs_trials_with_several_epochs():
    with pytest.raises(HpoError, match="several epochs"):
        make_scheduler("ASHA", 1)
    with pytest.raises(HpoError, match="unknown scheduler 'foo'"):
        make_scheduler("foo", 9)
    with pytest.raises(HpoError, match="max_resource"):
        make_scheduler("ASHA", 9, {"max_resource": 27})
    with pytest.raises(HpoError, match="'eta' must be an integer >= 2"):
        make_scheduler("HYPERBAND", 9, {"eta": 1})


def _trial(number, curve, state, **info):
    loss = -curve[-1] if state != "failed" else None
    return Trial(run=0, number=number, arm="X", config={}, state=state, epochs=info.pop("epochs", len(curve)),
                 curve=curve, value=curve[-1], loss=loss, info=info)


def test_largest_model_data_reads_the_largest_epoch_enough_trials_reached():
    h = History(1, "largest", min_points=2, direction="max")
    h.append(_trial(0, [0.1], "paused"), np.array([0.0]))
    h.append(_trial(1, [0.3], "paused"), np.array([0.5]))
    h.append(_trial(2, [0.2], "paused"), np.array([1.0]))
    assert h.model_epoch == 1 and h.y.tolist() == [-0.1, -0.3, -0.2]
    h.append(_trial(3, [0.4, 0.5], "paused", resumes=1, from_epoch=1, epochs=3), np.array([0.5]))
    assert h.model_epoch == 1  # one trial at epoch 3 is not enough
    h.append(_trial(4, [0.35, 0.45], "complete", resumes=2, from_epoch=1, epochs=3), np.array([1.0]))
    assert h.model_epoch == 3 and sorted(h.y.tolist()) == [-0.5, -0.45]
    assert h.best is not None and h.best.number == 4  # the best full-resource trial (this one finished)
    r = History(1, "resource", direction="max")
    for t in (_trial(0, [0.1], "paused"), _trial(1, [0.3, 0.6], "stopped")):
        r.append(t, np.array([0.0]))
    assert r.y.tolist() == [-0.1, -0.6] and r.n_finished == 2
    assert History(1, "largest").y.shape == (0,) and History(1, "largest").model_epoch is None


def test_cli_scheduler_options_are_checked(tmp_path, capsys):
    from hpo_mab.cli import main

    out = str(tmp_path / "o")
    assert main(["fcnet-protein", "1", "--scheduler", "ASHA", "-o", out, "--no-progress"]) == 2
    assert "several epochs" in capsys.readouterr().err
    assert main(["digits-lenet", "1", "--eta", "3", "-o", out, "--no-progress"]) == 2
    assert "--scheduler" in capsys.readouterr().err
    assert main(["digits-lenet", "1", "--scheduler", "ASHA", "--max-resource", "27", "-o", out]) == 2
    assert "15 epochs" in capsys.readouterr().err
    assert main(["digits-lenet", "1", "--scheduler", "BOHB", "--model-data", "full", "-o", out]) == 2
    assert "BOHB" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["digits-lenet", "1", "-m", "TPE", "--scheduler", "ASHA", "-et", "20", "-o", out,
                 "--no-progress"]) == 0
    settings = json.loads((tmp_path / "o" / "experiment.json").read_text())
    assert settings["scheduler"] == "ASHA" and "model_data" in settings


@pytest.mark.parametrize("mode", ["TPE", "RANDOM"])
def test_auto_config_completes_its_planned_schedule_within_the_budget(tmp_path, mode, capsys):
    from hpo_mab.cli import main

    out = tmp_path / "auto"
    assert main(["digits-lenet", "3", "-m", mode, "--auto-config", "-et", "25", "-o", str(out), "--no-progress",
                 "--seed", "7"]) == 0
    said = capsys.readouterr().out
    assert "auto-config: a budget of 25 s" in said and "plans ASHA with eta=" in said
    settings = json.loads((out / "experiment.json").read_text())
    eta, resources = settings["scheduler_options"]["eta"], None
    for summary in json.loads((out / "summary.json").read_text()):
        assert summary["stop_reason"].startswith("planned schedule complete") and summary["clock"] <= 25
        assert summary["clock"] >= 0.8 * 25
        records = [r for r in _journal(out) if r["run"] == summary["run"]]
        assert all(r["state"] in ("paused", "complete", "init") for r in records)  # nothing cut by the budget
        n = sum("resumes" not in r["info"] for r in records)
        resources = make_scheduler("ASHA", 15, settings["scheduler_options"]).resources
        reached = [sum(r["epochs"] == rk for r in records) for rk in resources]
        assert reached == [n // eta**k for k in range(len(resources))]  # every rung of an n-trial schedule


def test_otx_hpo_config_runs_as_is_on_the_table(tmp_path):
    from hpo_mab.cli import main

    out = tmp_path / "otx"
    assert main(["digits-lenet", "1", "-m", "TPE", "--hpo-config", "hp_conf/otx_hpo_config.yaml", "-et", "15",
                 "-o", str(out), "--no-progress"]) == 0
    settings = json.loads((out / "experiment.json").read_text())
    assert settings["scheduler"] == "ASHA" and settings["scheduler_options"]["min_resource"] == 1
    assert any(r["state"] == "paused" for r in _journal(out))


def test_early_stopping_thresholds_stop_the_search(tmp_path):
    from hpo_mab.cli import main

    (tmp_path / "rc").mkdir()
    (tmp_path / "rc" / "stop.yaml").write_text("early_stopping:\n  - {metric: val_acc, value: 0.9, "
                                              "optimization: maximize}\n")
    out = tmp_path / "es"
    assert main(["digits-lenet", "2", "-m", "RANDOM", "-rc", str(tmp_path / "rc"), "-c", "stop.yaml",
                 "--scheduler", "MEDIAN", "-o", str(out), "--no-progress"]) == 0
    records = _journal(out)
    for summary in json.loads((out / "summary.json").read_text()):
        last = [r for r in records if r["run"] == summary["run"]][-1]
        start = last["info"].get("from_epoch", 0)
        epoch, value = next((start + i + 1, v) for i, v in enumerate(last["curve"]) if v >= 0.9)
        assert summary["stop_reason"] == (f"early stopping: trial {last['number']} reported val_acc {value:.5g} "
                                          f"at epoch {epoch} (threshold 0.9)")
    (tmp_path / "rc" / "bad.yaml").write_text("early_stopping:\n  - {metric: loss, value: 0.9}\n")
    assert main(["digits-lenet", "1", "-rc", str(tmp_path / "rc"), "-c", "bad.yaml", "-o",
                 str(tmp_path / "bad")]) == 2


@pytest.mark.parametrize("checkpoint", [True, False])
def test_a_users_script_resumes_from_its_checkpoint_or_trains_again(tmp_path, checkpoint):
    from hpo_mab.cli import main

    ckpt = " --checkpoint {checkpoint}" if checkpoint else ""
    (tmp_path / "s.yaml").write_text(
        "script:\n  command: '{python} examples/train_quadratic.py --lr {lr} --width {width} --act {act} "
        f"--epochs {{epochs}} --seed {{seed}} --sleep 0{ckpt}'\n"
        "  metric_regex: 'epoch (?P<epoch>\\d+) val_loss=(?P<metric>\\S+)'\n  epochs: 3\n")
    out = tmp_path / "o"
    import gc
    import tempfile

    def folders():
        return set(Path(tempfile.gettempdir()).glob("hpo-mab-checkpoints-*"))

    before = folders()
    assert main(["quadratic", "1", "-rc", str(tmp_path), "-c", "s.yaml", "-hc", "examples", "-m", "RANDOM",
                 "--scheduler", "ASHA", "--max-trials", "6", "-o", str(out), "--no-progress"]) == 0
    gc.collect()
    assert folders() == before  # the run's checkpoint folder went with its backend
    records = _journal(out)
    resumed = [r for r in records if "resumes" in r["info"]]
    assert resumed
    for r in resumed:
        first = records[r["info"]["resumes"]]
        if checkpoint:  # continues after the paused epoch: only the new epochs are run and charged
            assert r["info"]["from_epoch"] == first["epochs"] == 1 and "restarted" not in r["info"]
            assert len(r["curve"]) == r["epochs"] - 1
        else:  # trained again from epoch 1
            assert r["info"]["from_epoch"] == 0 and r["info"]["restarted"] is True
            assert len(r["curve"]) == r["epochs"]


def test_the_report_counts_trials_not_journal_records(tmp_path, capsys):
    from hpo_mab.cli import main

    out = tmp_path / "asha"
    assert main(["digits-lenet", "1", "-m", "RANDOM", "--scheduler", "ASHA", "--max-trials", "30", "-o", str(out),
                 "--no-progress"]) == 0
    records = _journal(out)
    continued = sum(1 for r in records if "resumes" in r["info"])
    assert continued > 0 and len(records) == 30 + continued
    assert f"run 0: 30 trials ({30 + continued} journal records: {continued} continue paused trials)" in \
        capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())[0]["started"] == 30
