"""The script backend: a user's script as a subprocess, the metric read from its output, failures recorded."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import yaml

from hpo_mab.arms import Nominee
from hpo_mab.backends.base import Decision
from hpo_mab.backends.script import ScriptBackend, parse_script
from hpo_mab.cli import main
from hpo_mab.errors import HpoError
from hpo_mab.journal import read_journal

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "train_quadratic.py"
NAMES = ["lr", "width", "act", "fail"]


def spec(timeout="20s", epochs=3, sleep=0.0, **kw):
    command = (f"{{python}} {SCRIPT} --lr {{lr}} --width {{width}} --act {{act}} --epochs {epochs} --seed {{seed}} "
               f"--sleep {sleep} --fail {{fail}}")
    return parse_script({"command": command, "metric_regex": r"epoch (?P<epoch>\d+) val_loss=(?P<metric>\S+)",
                         "timeout": timeout, **kw}, NAMES, "test")


def nominee(fail="none", lr=0.01):
    config = {"lr": lr, "width": 64, "act": "relu", "fail": fail}
    return Nominee(None, config, None)


def test_a_good_script_reports_every_epoch():
    seen = []
    out = ScriptBackend(spec()).run_trial(nominee(), draw=0.5, report=lambda e, v, s: seen.append((e, v)))
    assert out.state == "complete" and out.epochs == 3 and out.value == out.curve[-1]
    assert [e for e, _ in seen] == [1, 2, 3] and [v for _, v in seen] == out.curve
    assert out.info["seed"] == 2**30 and out.curve[0] > out.curve[-1]


@pytest.mark.parametrize("fail, reason, tail", [
    ("crash", "exit code 1", "CUDA out of memory"),
    ("hang", "timeout after 1 s", "training lr="),
    ("silent", "no metric in the output", "training lr="),
    ("nan", "non-finite metric 'nan'", "val_loss=nan"),
])
def test_failures_are_recorded_with_reason_and_last_output(fail, reason, tail):
    start = time.monotonic()
    out = ScriptBackend(spec(timeout="1s")).run_trial(nominee(fail), draw=0.0)
    assert out.state == "failed" and out.reason == reason and out.value is None
    assert any(tail in line for line in out.info["output_tail"])
    assert time.monotonic() - start < 10


def test_a_scheduler_stop_and_the_budget_end_the_script_early():
    backend = ScriptBackend(spec(epochs=50, sleep=0.05))
    out = backend.run_trial(nominee(), draw=0.0, report=lambda e, v, s: Decision.STOP if e == 2 else None)
    assert out.state == "stopped" and out.epochs == 2 and out.seconds < 2
    out = backend.run_trial(nominee(), draw=0.0, deadline=backend.clock.now + 0.5)
    assert out.state == "stopped" and out.reason == "time budget exhausted" and 0 < out.epochs < 50


@pytest.mark.parametrize("conf, message", [
    ({"command": "python x.py {nope}", "metric_regex": "(?P<metric>.*)"}, "names {nope}, which is neither"),
    ({"command": "python x.py {lr}", "metric_regex": "loss=(.*)"}, "needs a named group (?P<metric>"),
    ({"command": "python x.py {lr}", "metric_regex": "(?P<metric>"}, "not a valid regular expression"),
    ({"command": "", "metric_regex": "(?P<metric>.*)"}, "script.command must be a command line"),
    ({"command": "x {lr}", "metric_regex": "(?P<metric>.*)", "direction": "up"}, "direction must be 'min' or 'max'"),
    ({"command": "x {lr}", "metric_regex": "(?P<metric>.*)", "cmd": 1}, "unknown key(s) ['cmd']"),
])
def test_bad_script_settings_are_one_line(conf, message):
    with pytest.raises(HpoError) as info:
        parse_script(conf, NAMES, "conf.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)


def _conf_dir(tmp_path: Path, timeout: str = "20s") -> Path:
    space = json.loads((ROOT / "examples" / "quadratic.json").read_text())
    space["hyperparams"]["fail"] = {"type": "str", "value_type": "categorical",
                                    "range": ["crash", "hang", "silent", "nan", "none"]}
    space["param_order"].append("fail")
    (tmp_path / "faulty.json").write_text(json.dumps(space))
    conf = yaml.safe_load((ROOT / "examples" / "script.yaml").read_text())
    conf["script"]["command"] += " --fail {fail} --sleep 0"
    conf["script"]["timeout"] = timeout
    (tmp_path / "faulty.yaml").write_text(yaml.safe_dump(conf))
    return tmp_path


def test_the_example_runs_through_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "o"
    assert main(["quadratic", "1", "-rc", "examples", "-c", "script.yaml", "-hc", "examples", "-m", "TPE",
                 "--max-trials", "7", "--no-progress", "-o", str(out)]) == 0
    records = read_journal(out / "journal.jsonl")
    assert len(records) == 7 and all(r["state"] in ("init", "complete") and r["epochs"] == 5 for r in records)
    assert records[-1]["arm"] == "TPE"
    saved = json.loads((out / "experiment.json").read_text())
    assert saved["script"]["space"].endswith("quadratic.json") and "train" not in saved
    assert "best val_loss" in capsys.readouterr().out


def test_failed_trials_are_journaled_and_the_search_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    conf = _conf_dir(tmp_path, timeout="1s")
    out = tmp_path / "o"
    assert main(["faulty", "1", "-rc", str(conf), "-c", "faulty.yaml", "-hc", str(conf), "-m", "RANDOM",
                 "--max-trials", "14", "--no-progress", "-o", str(out), "--seed", "1"]) == 0
    records = read_journal(out / "journal.jsonl")
    assert len(records) == 14
    reasons = {r["config"]["fail"]: r["reason"] for r in records if r["state"] == "failed"}
    assert set(reasons) == {"crash", "hang", "silent", "nan"}
    assert reasons["hang"] == "timeout after 1 s" and reasons["crash"] == "exit code 1"
    assert all(r["state"] in ("init", "complete") for r in records if r["config"]["fail"] == "none")
    assert all(math.isfinite(r["value"]) for r in records if r["state"] != "failed")


@pytest.mark.parametrize("extra, message", [
    ([], "a script's search space comes from -hc DIR"),
    (["-hc", "nowhere"], "-hc nowhere: no search space quadratic.json"),
    (["-hc", "examples", "--train"], "drop --train"),
])
def test_bad_script_runs_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(ROOT)
    argv = ["quadratic", "1", "-rc", "examples", "-c", "script.yaml", *extra, "-o", str(tmp_path / "x")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "x").exists()
