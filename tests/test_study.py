"""experiments/study*.py: cell files on a tiny table, paired seeds, resume, the dev choice, the eval gate, reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_tiny_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import study  # noqa: E402
import study_cells as sc  # noqa: E402
import study_report as sr  # noqa: E402

from hpo_mab.errors import HpoError  # noqa: E402


def test_cells_on_a_tiny_table(tmp_path, monkeypatch):
    table = make_tiny_table()
    docs = {m: sc.run_cell(table, m, runs=2, seed=7, out=tmp_path) for m in ("DIV-SEQ", "TPE", "optuna-tpe")}
    for method, doc in docs.items():
        assert json.loads(sc.cell_path(tmp_path, "tiny", method).read_text()) == doc
        assert doc["runs"] == 2 and doc["factor"] == 1.0 and doc["budget"] == pytest.approx(table.default_budget_s)
        for r in doc["results"]:
            assert r["trials"] > 0 and len(r["curve"]) == sc.GRID_POINTS
            assert min(r["regret_100"], r["regret_50"], r["regret_25"], *r["curve"]) >= 0.0
            assert r["curve"][-1] == pytest.approx(r["regret_100"], abs=1e-6)
            losses = table.true_losses
            target = (sc.target_loss(table) - losses.min()) / (np.median(losses) - losses.min())
            if r["time_to_target"] is None:  # the incumbent (best observed) may leave the top 1% again
                assert min(r["curve"]) > target
            else:
                assert r["time_to_target"] <= doc["budget"]
    assert "moves" in docs["optuna-tpe"]["results"][0] and "arm_counts" in docs["DIV-SEQ"]["results"][0]
    assert not (tmp_path / "_work" / "tiny" / "DIV-SEQ").exists()

    def fail(*args, **kwargs):
        raise AssertionError("a finished cell was run again")

    monkeypatch.setattr(sc, "run_experiment", fail)
    assert sc.run_cell(table, "DIV-SEQ", runs=2, seed=7, out=tmp_path) == docs["DIV-SEQ"]  # a restart skips it
    with pytest.raises(HpoError, match="other settings"):
        sc.run_cell(table, "DIV-SEQ", runs=3, seed=7, out=tmp_path)


def test_peers_and_arms_see_the_same_evaluation_draws(tmp_path):
    """Run i of a peer and of an arm observe the same seed of a row (paired runs); the 4x budget is 4x."""
    table = make_tiny_table(n_seeds=5)
    a = sc.run_cell(table, "RANDOM", runs=2, seed=3, out=tmp_path / "a", factor=4.0)
    b = sc.run_cell(table, "optuna-random", runs=2, seed=3, out=tmp_path / "b", factor=4.0)
    assert a["budget"] == b["budget"] == pytest.approx(4 * table.default_budget_s)
    work = sc.run_cell(table, "RANDOM", runs=2, seed=3, out=tmp_path / "c", factor=4.0)
    assert work["results"] == a["results"]  # deterministic for a seed


def test_time_to_target_is_the_first_incumbent_in_the_top_percent():
    table = make_tiny_table()
    order = np.argsort(table.true_losses)
    bad, good = int(order[-1]), int(order[0])
    records = [{"state": "complete", "loss": 0.0, "row": bad, "clock": 5.0},
               {"state": "complete", "loss": -1.0, "row": good, "clock": 9.0}]
    row = sc.summarise_run(table, records, 10.0, 0)
    assert row["time_to_target"] == 9.0 and row["regret_100"] == 0.0 and row["regret_25"] == 1.0
    assert sc.summarise_run(table, records[:1], 10.0, 0)["time_to_target"] is None


def _doc(regrets: list[float], method: str, hits: list[float | None] | None = None) -> dict:
    hits = hits or [None] * len(regrets)
    return {"method": method, "budget": 100.0, "n_rows": 50, "runs": len(regrets),
            "results": [{"regret_25": r + 0.2, "regret_50": r + 0.1, "regret_100": r, "trials": 10,
                         "time_to_target": h} for r, h in zip(regrets, hits)]}


def test_dev_choice_is_the_best_mean_rank_with_ties_broken_by_runs():
    methods = ["DIV-SEQ", "DIV-HEDGE", "DIV-EG"]
    cells = {"t1": {"DIV-SEQ": _doc([0.1, 0.2, 0.3], "DIV-SEQ"), "DIV-HEDGE": _doc([0.0, 0.3, 0.3], "DIV-HEDGE"),
                    "DIV-EG": _doc([0.5, 0.5, 0.5], "DIV-EG")},
             "t2": {"DIV-SEQ": _doc([0.1, 0.1, 0.1], "DIV-SEQ"), "DIV-HEDGE": _doc([0.0, 0.0, 0.0], "DIV-HEDGE"),
                    "DIV-EG": _doc([0.2, 0.2, 0.2], "DIV-EG")}}
    choice = sr.dev_choice(cells, ["t1", "t2"], methods)
    # medians: t1 SEQ 0.2 < HEDGE 0.3; t2 HEDGE 0.0 < SEQ 0.1: mean ranks tie at 1.5; HEDGE wins more runs
    assert choice["mean_rank"] == {"DIV-SEQ": 1.5, "DIV-HEDGE": 1.5, "DIV-EG": 3.0}
    assert choice["method"] == "DIV-HEDGE" and choice["strategy"] == "HEDGE"
    assert "DIV-HEDGE" in sr.choice_text(choice)


def test_evaluation_refuses_without_a_committed_choice(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        study.main(["--phase", "eval", "--out", str(tmp_path), "--tables", "fcnet-naval", "--methods", "TPE"])
    assert exc.value.code == 2 and "no development choice yet" in capsys.readouterr().err
    study.choice_path(tmp_path).write_text(json.dumps({"method": "DIV-SEQ"}))
    with pytest.raises(HpoError, match="must be committed"):
        study.require_choice(tmp_path)  # tmp_path is no git checkout: nothing there is committed


def test_plan_is_disjoint_and_complete():
    assert not set(study.DEV_TABLES) & set(study.EVAL_TABLES) and len(study.EVAL_TABLES) >= 10
    assert study.DEV_SEED != study.EVAL_SEED
    assert {"optuna-tpe", "optuna-tpe-mv", "optuna-gp", "hyperopt-tpe", "optuna-random"} <= set(study.EVAL_METHODS)
    assert set(study.DEV_METHODS) == {m for m in sc.DIV_METHODS if not sc.is_oracle(m)}
    cells = study.cells_of("eval")
    assert {t for t, f, _ in cells if f == 4.0} == set(study.LONG_TABLES)


def test_eval_report_ranks_checks_the_goal_and_keeps_oracles_apart():
    names = ["GP-EI", "RF-EI", "DIV-SEQ", "optuna-tpe", "DIV-BO-HEDGE-T"]
    vals = {"t1": [0.05, 0.30, 0.11, 0.2, 0.0], "t2": [0.40, 0.10, 0.09, 0.2, 0.0], "t3": [0.3, 0.2, 0.1, 0.4, 0.0]}
    cells = {1.0: {t: {m: _doc([v, v + 0.01, v - 0.01 if v > 0 else 0.0], m, [10.0, None, 50.0])
                       for m, v in zip(names, row)} for t, row in vals.items()}}
    text = sr.eval_report(cells, ["t1", "t2", "t3"], [], names, {"method": "DIV-SEQ"}, 1000, 3)
    headline = text.split("## Mean ranks at 4x")[0]
    assert "| DIV-SEQ | 1.33 |" in headline and "DIV-BO-HEDGE-T |" not in headline.split("## Goal")[0]
    assert "Friedman test over 3 problems and 4 methods" in headline
    assert "Best mean rank: MET" in text and "Wilcoxon-Holm p = " in text.split("## Goal")[1]
    assert "| t1 | 0.1100 | GP-EI 0.0500 | 0.0650 | NOT MET |" in text
    assert "| t2 | 0.0900 | RF-EI 0.1000 | 0.1200 | MET |" in text
    assert "Met on 2 of 3 checked table(s) of 3." in text
    assert "## Oracle variants" in text and "| t1 | 1x | 0.0000 |" in text
    km = sr.km(cells[1.0]["t1"]["GP-EI"])
    assert km.reached == 2 and km.n == 3 and km.median == pytest.approx(0.5)
