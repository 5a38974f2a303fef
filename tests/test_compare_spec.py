"""The experiment file of `hpo-runner compare`: every bad input is one line naming file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo_mab.cli import main
from hpo_mab.compare.spec import load_experiment, parse_experiment
from hpo_mab.errors import HpoError

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"runs": 2, "problems": ["digits-lenet"], "methods": ["TPE"]}


@pytest.mark.parametrize("change, expected", [
    ({"runs": 0}, "'runs' must be a positive integer, but got 0"),
    ({"runs": "5"}, "'runs' must be a positive integer, but got '5'"),
    ({"seed": -1}, "'seed' must be a non-negative integer"),
    ({"colour": 1}, "unknown key(s) ['colour']"),
    ({"criterion": "SOON"}, "'criterion' must be TIME or GOAL, but got 'SOON'"),
    ({"problems": []}, "'problems' must be a non-empty list"),
    ({"problems": ["no-such-table"]}, "problems[0]: table 'no-such-table' is not a lookup table"),
    ({"problems": [{"table": "digits-lenet", "budget": "soon"}]}, "problems[0]: budget: bad duration 'soon'"),
    ({"problems": [{"table": "digits-lenet", "task": "kin8nm-mlp"}]}, "give exactly one of 'table'"),
    ({"problems": [{"task": "no-task"}]}, "task 'no-task' is not a training task"),
    ({"problems": [{"table": "digits-lenet", "epochs": 3}]}, "'epochs' applies to live tasks"),
    ({"problems": [{"table": "digits-lenet", "candidates": "table"}]}, "'candidates' applies to live tasks"),
    ({"problems": [{"task": "kin8nm-mlp", "candidates": "rows"}]},
     "'candidates' must be one of auto, table, continuous, but got 'rows'"),
    ({"problems": ["digits-lenet", "digits-lenet"]}, "two problems are named 'digits-lenet'"),
    ({"methods": ["GP-XX"]}, "methods[0]: unknown method 'GP-XX'"),
    ({"methods": [{"name": "a", "mode": "GP", "spec": "XX"}]}, "methods[0] (a): spec 'XX' is not an acquisition"),
    ({"methods": [{"name": "a", "mode": "DIV", "spec": "NOPE"}]}, "spec 'NOPE' is not a strategy"),
    ({"methods": [{"name": "a", "mode": "TPE", "strategy_options": {"eta": 1}}]}, "strategy_options apply to -m DIV"),
    ({"methods": [{"name": "a", "mode": "DIV", "spec": "HEDGE", "strategy_options": {"eta": -1}}]},
     "strategy_options.eta must be a positive finite number"),
    ({"methods": [{"name": "a", "mode": "GP", "arm_options": {"bogus": 1}}]}, "arm_options: unknown arm option"),
    ({"methods": [{"name": "a", "peer": "skopt"}]}, "unknown peer 'skopt'"),
    ({"methods": [{"name": "a", "peer": "optuna-tpe", "mode": "GP"}]},
     "a peer takes only 'name', 'peer' and 'reference'"),
    ({"methods": [{"name": "TPE", "reference": "yes"}]}, "methods[0] (TPE): 'reference' must be true or false"),
    ({"methods": [{"name": "a b", "mode": "GP"}]}, "'name' must be letters, digits"),
    ({"methods": ["TPE", {"name": "TPE", "mode": "TPE"}]}, "two methods are named 'TPE'"),
    ({"methods": ["optuna-tpe"], "problems": [{"task": "kin8nm-mlp"}]}, "peers run on lookup tables only"),
])
def test_bad_experiment_is_one_line(change, expected):
    with pytest.raises(HpoError) as err:
        parse_experiment({**GOOD, **change}, "x.yaml")
    message = str(err.value)
    assert message.startswith("x.yaml: ") and expected in message and "\n" not in message


def test_scheduler_passes_through_and_unknown_ones_are_refused():
    doc = {**GOOD, "methods": [{"name": "s", "mode": "GP", "scheduler": "ASHA", "scheduler_options": {"eta": 3}}]}
    method = parse_experiment(doc, "x.yaml").methods[0]
    assert (method.scheduler, method.scheduler_options) == ("ASHA", {"eta": 3})
    doc["methods"][0]["scheduler"] = "FOO"
    with pytest.raises(HpoError, match="unknown scheduler 'FOO'"):
        parse_experiment(doc, "x.yaml")


def test_standard_names_and_problem_ids():
    exp = parse_experiment({**GOOD, "problems": ["fcnet-naval", {"table": "fcnet-naval", "budget_factor": 4}],
                            "methods": ["GP-UCB", "RF-HLE-PI", "TPE-HLE", "DIV-BO-HEDGE", "hyperopt-tpe"]}, "x")
    assert [p.id for p in exp.problems] == ["fcnet-naval", "fcnet-naval-4x"]
    assert [(m.mode, m.spec, m.peer, m.kind) for m in exp.methods] == [
        ("GP", "UCB", None, "arm"), ("RF-HLE", "PI", None, "arm"), ("TPE-HLE", None, None, "arm"),
        ("DIV", "BO-HEDGE", None, "div"), (None, None, "hyperopt-tpe", "peer")]


def test_oracle_variants_are_references_unless_told_otherwise():
    """A DIV method whose strategy sees true values is ranked apart by default; any method can be marked."""
    exp = parse_experiment({**GOOD, "methods": [
        "DIV-BO-HEDGE-T", "DIV-BO-HEDGE", {"name": "DIV-BO-HEDGE-LET", "reference": False},
        {"name": "TPE", "reference": True}, {"name": "o", "mode": "DIV", "spec": "BO-HEDGE-LET"},
        {"name": "p", "peer": "optuna-tpe", "reference": True}]}, "x")
    assert [m.reference for m in exp.methods] == [True, False, False, True, True, True]
    assert (exp.methods[3].mode, exp.methods[3].spec) == ("TPE", None)


def test_shipped_experiment_files_load():
    quick = load_experiment(ROOT / "experiments" / "quick.yaml")
    assert quick.runs == 5 and len(quick.problems) >= 2 and any(m.peer for m in quick.methods)
    study = load_experiment(ROOT / "experiments" / "study.yaml")
    assert len(study.methods) == 38 and len(study.problems) == 13 + 8 and study.seed == 1000 and study.runs == 20
    assert [m.name for m in study.methods if m.reference] == ["DIV-BO-HEDGE-T", "DIV-BO-HEDGE-LET"]


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text("runs: 2\nproblems: [digits-lenet]\nmethods: [{name: x, mode: GP, spec: XX}]\n")
    assert main(["compare", str(spec), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{spec}: methods[0] (x): spec 'XX'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert main(["compare", str(tmp_path / "none.yaml")]) == 2
    assert "no such experiment file" in capsys.readouterr().err
    spec.write_text("runs: [1\n")
    assert main(["compare", str(spec)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "not a compare folder" in capsys.readouterr().err
    assert main(["plot", str(tmp_path)]) == 2
    assert "not a result folder" in capsys.readouterr().err
