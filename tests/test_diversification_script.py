"""experiments/diversification.py: cell files on a tiny table, resume, ranks with ties, the goal check."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import make_tiny_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import div_cells as dc  # noqa: E402
import diversification as div  # noqa: E402

from hpo_mab.errors import HpoError  # noqa: E402


def test_cells_on_a_tiny_table(tmp_path, monkeypatch):
    table = make_tiny_table()
    for method in ("DIV-SEQ", "optuna-tpe"):
        doc = dc.run_cell(table, method, runs=2, seed=0, out=tmp_path)
        path = tmp_path / "tiny" / f"{method}.json"
        assert json.loads(path.read_text()) == doc
        assert doc["runs"] == 2 and doc["n_rows"] == table.n_rows and len(doc["grid"]) == 50
        assert doc["grid"][-1] == pytest.approx(table.default_budget_s)
        assert [r["run"] for r in doc["results"]] == [0, 1]
        for r in doc["results"]:
            assert r["trials"] > 0 and len(r["curve"]) == 50
            assert 0.0 <= r["regret_100"] <= r["regret_50"] <= r["regret_25"] <= 1.5
            assert r["final_true_value"] == r["curve"][-1]
        assert ("repeats" in doc["results"][0]) == (method == "optuna-tpe")
    seq = json.loads((tmp_path / "tiny" / "DIV-SEQ.json").read_text())
    assert sum(seq["results"][0]["arm_counts"].values()) == seq["results"][0]["trials"]
    assert not (tmp_path / "tiny" / "_work" / "DIV-SEQ").exists()

    def fail(*args, **kwargs):
        raise AssertionError("a finished cell was run again")

    monkeypatch.setattr(dc, "run_experiment", fail)
    assert dc.run_cell(table, "DIV-SEQ", runs=2, seed=0, out=tmp_path) == seq  # restart skips the cell
    with pytest.raises(HpoError, match="other settings"):
        dc.run_cell(table, "DIV-SEQ", runs=3, seed=0, out=tmp_path)


def test_ranks_average_ties():
    assert dc.average_ranks([0.1, 0.3, 0.1, 0.2]) == [1.5, 4.0, 1.5, 3.0]
    assert dc.average_ranks([0.0, 0.0, 0.0]) == [2.0, 2.0, 2.0]
    medians = {"a": {"x": 0.1, "y": 0.2, "z": 0.2}, "b": {"x": 0.3, "y": 0.1, "z": 0.2}, "c": {"x": 0.0}}
    ranks, used = dc.mean_ranks(medians, ["x", "y", "z"])
    assert used == ["a", "b"]  # table c lacks y and z
    assert ranks == pytest.approx({"x": 2.0, "y": 1.75, "z": 2.25})


def _cell(regret: float) -> dict:
    row = {"regret_25": regret + 0.2, "regret_50": regret + 0.1, "regret_100": regret, "trials": 10}
    return {"budget": 100.0, "n_rows": 50, "runs": 1, "results": [row]}


def test_report_goal_check_and_oracles():
    cells = {"t1": {"GP-EI": _cell(0.05), "RF-EI": _cell(0.30), "DIV-SEQ": _cell(0.11), "DIV-BO-HEDGE-T": _cell(0.0)},
             "t2": {"GP-EI": _cell(0.40), "RF-EI": _cell(0.10), "DIV-SEQ": _cell(0.09), "DIV-BO-HEDGE-T": _cell(0.0)}}
    text = div.report(cells, ["t1", "t2"], ["GP-EI", "RF-EI", "DIV-SEQ", "DIV-BO-HEDGE-T"], "DIV-SEQ")
    ranking = text.split("## Per problem")[0]
    assert "| DIV-SEQ | 1.50 |" in ranking and "DIV-BO-HEDGE-T" not in ranking  # oracles are not ranked
    assert "best mean rank: PASS" in text
    assert "| t1 | 0.1100 | GP-EI 0.0500 | 0.0650 | FAIL |" in text
    assert "| t2 | 0.0900 | RF-EI 0.1000 | 0.1200 | PASS |" in text
    assert "## Oracle variants" in text and "| t1 | DIV-BO-HEDGE-T | 0.2000 | 0.1000 | 0.0000 |" in text
