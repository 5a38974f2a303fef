"""--candidates: a live task with a table trains the table's configurations (so live runs and table runs search
the same set); without one, or with `continuous`, the arms search the whole space."""

from __future__ import annotations

import json

import pytest

from hpo_mab.cli import main
from hpo_mab.journal import read_journal
from hpo_mab.surrogates import builder, load_table

LIVE = ["diabetes-mlp", "1", "--train", "--epochs", "1", "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A surrogates directory with a 20-row diabetes-mlp table (real training, 1 epoch)."""
    directory = tmp_path_factory.mktemp("surrogates")
    builder.build_table("diabetes-mlp", None, 20, 1, 1, 1, directory, task="diabetes-mlp", device="cpu")
    return directory


def run(out, *extra):
    return main([*LIVE, *extra, "-o", str(out)])


def test_with_a_table_the_arms_pick_its_rows_and_train_them(tmp_path, tables):
    table = load_table(tables / "diabetes-mlp.npz")
    out = tmp_path / "rows"
    assert run(out, "-m", "GP", "--max-trials", "14", "--surrogates-dir", str(tables)) == 0
    records = read_journal(out / "journal.jsonl")
    rows = [r["row"] for r in records]
    assert len(records) == 14 and None not in rows and len(set(rows)) == 14  # each row at most once
    assert all(r["config"] == json.loads(json.dumps(table.config(r["row"]))) for r in records)
    assert all(r["info"]["device"] == "cpu" and r["state"] in ("init", "complete") for r in records)
    assert records[-1]["arm"] == "GP-EI"
    assert json.loads((out / "experiment.json").read_text())["candidates"] == "table"


def test_every_row_trained_ends_the_run(tmp_path, tables):
    out = tmp_path / "all"
    assert run(out, "-m", "RANDOM", "--max-trials", "30", "--surrogates-dir", str(tables)) == 0
    assert sorted(r["row"] for r in read_journal(out / "journal.jsonl")) == list(range(20))
    summary = json.loads((out / "summary.json").read_text())[0]
    assert summary["stop_reason"] == "every one of the table's 20 rows has been evaluated"


def test_without_a_table_or_with_continuous_the_arms_search_the_space(tmp_path, tables):
    for name, extra in (("none", ["--surrogates-dir", str(tmp_path)]),
                        ("cont", ["--surrogates-dir", str(tables), "--candidates", "continuous"])):
        out = tmp_path / name
        assert run(out, "-m", "RANDOM", "--max-trials", "3", *extra) == 0
        assert all(r["row"] is None for r in read_journal(out / "journal.jsonl"))
        assert "candidates" not in json.loads((out / "experiment.json").read_text())  # as before the option


def test_a_resume_keeps_the_candidates_the_run_started_with(tmp_path, tables):
    args = ["-m", "RANDOM", "--seed", "5", "--surrogates-dir", str(tables)]
    out = tmp_path / "r"
    assert run(out, *args, "--max-trials", "4") == 0
    lines = (out / "journal.jsonl").read_bytes().split(b"\n")
    (out / "journal.jsonl").write_bytes(b"\n".join(lines[:2]) + b"\n")  # killed after two trials
    (out / "runs.jsonl").unlink()
    assert run(out, *args, "--max-trials", "4", "--resume") == 0
    records = read_journal(out / "journal.jsonl")
    assert [r["number"] for r in records] == list(range(4)) and len({r["row"] for r in records}) == 4
    assert records[2]["info"].get("rerun") is True
    # an experiment that searched the whole space (before the option: no key) resumes as it ran
    cont = tmp_path / "c"
    assert run(cont, *args, "--max-trials", "2", "--candidates", "continuous") == 0
    (cont / "runs.jsonl").unlink()
    assert run(cont, *args, "--max-trials", "2", "--resume") == 0
    assert all(r["row"] is None for r in read_journal(cont / "journal.jsonl"))


@pytest.mark.parametrize("extra, message", [
    (["--candidates", "table"], "--candidates table: no table "),
    (["--candidates", "rows"], "--candidates must be one of auto, table, continuous, but got 'rows'"),
])
def test_bad_candidates_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    assert run(tmp_path / "x", *extra, "--surrogates-dir", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "x").exists()


def test_candidates_on_a_table_run_is_refused(tmp_path, capsys):
    assert main(["digits-lenet", "1", "--candidates", "table", "-o", str(tmp_path / "x")]) == 2
    assert "--candidates applies to real training; add --train" in capsys.readouterr().err


def test_a_compare_task_follows_the_same_rule():
    from hpo_mab.compare.cells import build_problem
    from hpo_mab.compare.spec import ProblemSpec
    from hpo_mab.errors import HpoError

    spec = ProblemSpec("d", task="diabetes-mlp", epochs=1, device="cpu")
    problem = build_problem(spec)  # surrogates/ ships no diabetes-mlp table
    assert problem.meta["candidates"] == "continuous" and problem.rows is None
    with pytest.raises(HpoError, match="--candidates table: no table .*diabetes-mlp.npz"):
        build_problem(ProblemSpec("d", task="diabetes-mlp", epochs=1, device="cpu", candidates="table"))


def test_a_partial_table_is_not_taken_for_the_task(tmp_path, tables, capsys):
    from hpo_mab.surrogates import save_table

    table = load_table(tables / "diabetes-mlp.npz")
    table.meta["complete"] = False  # as the builder writes it while a build is in progress
    save_table(table, tmp_path / "diabetes-mlp.npz")
    out = tmp_path / "auto"
    assert run(out, "-m", "RANDOM", "--max-trials", "2", "--surrogates-dir", str(tmp_path)) == 0
    assert all(r["row"] is None for r in read_journal(out / "journal.jsonl"))
    assert run(tmp_path / "x", "--candidates", "table", "--surrogates-dir", str(tmp_path)) == 2
    assert "is a partial table (a build in progress)" in capsys.readouterr().err


def test_a_row_trained_live_with_a_recorded_seed_gives_the_recorded_curve(tables):
    """What the table replays is what live training gives: same configuration, same seed, same numbers (the
    protein-mlp table's rows 712 and 760 reproduce the same way, to 4 decimals, at full size)."""
    import numpy as np
    import torch

    from hpo_mab.tasks import get_task

    table = load_table(tables / "diabetes-mlp.npz")
    task = get_task("diabetes-mlp")
    data = task.data(None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for row in (0, 7):
            curves = task.train(table.config(row), data, table.n_epochs, 0, "cpu")
            np.testing.assert_allclose(curves.values, table.values[row, 0], rtol=1e-6)
            np.testing.assert_allclose(curves.test, table.test[row, 0], rtol=1e-6)
    finally:
        torch.set_num_threads(threads)
