"""`hpo-runner compare`, `report` and `plot` end to end on tiny synthetic tables (real components, no mocks)."""

from __future__ import annotations

import filecmp
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_tiny import COMMITTED, KEPT, write_spec  # noqa: E402
from malformed import snapshot  # noqa: E402

from hpo_mab import compare  # noqa: E402
from hpo_mab.cli import main  # noqa: E402
from hpo_mab.compare.curves import run_curves  # noqa: E402
from hpo_mab.journal import read_journal  # noqa: E402
from hpo_mab.runner import strip_wall_clock  # noqa: E402

FIGURES = ("convergence", "success", "arm_usage", "mean_rank", "final_boxes", "cd_diagram")


def _state(out: Path) -> dict[str, float]:
    """mtime of every file of every cell (a rerun that recomputes anything changes one)."""
    return {str(p): p.stat().st_mtime_ns for p in sorted((out / "cells").rglob("*")) if p.is_file()
            and p.name != ".lock"}


@pytest.fixture(scope="module")
def tiny_compare(tmp_path_factory):
    """The tiny comparison (tests/compare_tiny.py) run once, from its own folder."""
    folder = tmp_path_factory.mktemp("compare")
    spec = write_spec(folder)
    old = Path.cwd()
    import os

    os.chdir(folder)
    try:
        assert main(["compare", spec.name, "-o", "out", "--jobs", "2", "--no-progress", "--full-trials"]) == 0
    finally:
        os.chdir(old)
    return folder


def test_compare_writes_tables_figures_report(tiny_compare):
    out = tiny_compare / "out"
    trials, runs, info = compare.load(out), compare.load_summary(out), compare.load_info(out)
    assert set(runs["method"]) == {m["name"] for m in info["methods"]} and len(runs) == 2 * 3 * 2
    assert runs.groupby(["problem", "method", "run"])["trials"].sum().equals(
        trials.groupby(["problem", "method", "run"]).size().rename("trials").astype(runs["trials"].dtype))
    assert (trials["regret"] >= 0).all() and (runs["trials"] <= 12).all()
    assert runs.groupby("method")["proposal_seconds"].sum().equals(trials.groupby("method")["proposal_seconds"].sum())
    curves, arms = compare.load_curves(out), compare.load_arms(out)
    assert curves.groupby(["problem", "method", "run"]).size().size == len(runs) < len(curves) < len(trials)
    assert set(arms["method"]) == {"DIV-SEQ"} and arms["count"].sum() == (trials["method"] == "DIV-SEQ").sum()
    for name in FIGURES:
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert (out / "figures" / f"{name}.pdf").is_file()
    text = (out / "report.md").read_text()
    assert "## Ranking by final score" in text and "Friedman test over 2 problems and 3 methods" in text


def test_compare_tables_match_the_committed_folder(tiny_compare):
    """The same experiment gives the same trials and run summaries as the committed folder (wall-clock columns
    aside), and the same report apart from its time section."""
    out = tiny_compare / "out"
    wall = ["proposal_seconds", "proposal_median"]
    pd.testing.assert_frame_equal(compare.load_curves(out), compare.load_curves(COMMITTED))
    pd.testing.assert_frame_equal(compare.load_arms(out), compare.load_arms(COMMITTED))
    pd.testing.assert_frame_equal(compare.load(COMMITTED), compare.load_curves(COMMITTED))  # no trials.csv.gz
    pd.testing.assert_frame_equal(compare.load_summary(out).drop(columns=wall),
                                  compare.load_summary(COMMITTED).drop(columns=wall))
    ours, committed = ((p / "report.md").read_text().split("## Time")[0] for p in (out, COMMITTED))
    assert ours == committed


def test_the_compact_tables_give_the_report_of_the_full_trials(tiny_compare, tmp_path):
    """A folder with only the compact tables reports the same numbers and draws the same figures as one with only
    the full trials table (from which `report` derives the compact tables, as for folders written before them)."""
    out = tiny_compare / "out"
    compact, full = tmp_path / "compact", tmp_path / "full"
    for folder, left_out in ((compact, ("trials.csv.gz",)), (full, ("curves.csv.gz", "arms.csv.gz"))):
        folder.mkdir()
        for name in ("compare.json", "summary.csv", "timing.json", "trials.csv.gz", "curves.csv.gz", "arms.csv.gz"):
            if name not in left_out:
                shutil.copyfile(out / name, folder / name)
        assert main(["report", str(folder)]) == 0
    assert (compact / "report.md").read_text() == (full / "report.md").read_text()
    for name in FIGURES:
        assert filecmp.cmp(compact / "figures" / f"{name}.png", full / "figures" / f"{name}.png", shallow=False)
    pd.testing.assert_frame_equal(compare.load_curves(compact), compare.load_curves(full))
    pd.testing.assert_frame_equal(compare.load_arms(compact), compare.load_arms(full))
    trials = compare.load(full)
    assert len(trials) == compare.load_summary(compact)["trials"].sum()
    # the curves are the trials' step functions: on any grid the same values as all the trials give
    curves, grid = compare.load_curves(compact), np.linspace(0, 400, 997)
    mine_of = dict(list(curves.groupby(["problem", "method", "run"])))
    for key, run in trials.groupby(["problem", "method", "run"]):
        mine = mine_of[key]
        np.testing.assert_array_equal(run_curves(run, "regret", grid), run_curves(mine, "regret", grid))
        np.testing.assert_array_equal(run_curves(run, "inc_value", grid), run_curves(mine, "inc_value", grid))


def test_rerun_recomputes_nothing_and_an_interrupted_cell_resumes(tiny_compare, capsys, monkeypatch):
    out = tiny_compare / "out"
    before = _state(out)
    monkeypatch.chdir(tiny_compare)
    # rerun from the folder's own copy of the experiment file (the same file: not copied onto itself)
    assert main(["compare", "out/experiment.yaml", "-o", "out", "--jobs", "1", "--no-progress"]) == 0
    assert "all 6 cells are finished" in capsys.readouterr().out
    assert _state(out) == before
    assert not (out / "trials.csv.gz").exists() and (out / "curves.csv.gz").is_file()  # no --full-trials
    # A kill in the middle of run 1 of one of our cells: its marker gone, the journal cut, run 1 unfinished.
    cell = out / "cells" / "tiny" / "DIV-SEQ"
    journal = cell / "journal.jsonl"
    complete = strip_wall_clock(read_journal(journal))
    lines = journal.read_bytes().split(b"\n")[:-1]
    run1 = [line for line in lines if json.loads(line)["run"] == 1]
    keep = [line for line in lines if json.loads(line)["run"] == 0] + run1[:3]
    journal.write_bytes(b"\n".join(keep) + b"\n" + run1[3][:30])  # run 1 killed while writing its 4th trial
    (cell / "runs.jsonl").write_text((cell / "runs.jsonl").read_text().splitlines()[0] + "\n")
    (cell / "cell.json").unlink()
    peer = out / "cells" / "tiny_err" / compare.load_info(out)["methods"][2]["name"]
    (peer / "run-1.json").unlink()
    (peer / "cell.json").unlink()
    untouched = {k: v for k, v in before.items() if "/DIV-SEQ/" not in k and str(peer) not in k}
    assert main(["compare", "tiny.yaml", "-o", "out", "--jobs", "2", "--no-progress"]) == 0
    assert "2 of 6 cells to run" in capsys.readouterr().out
    after = _state(out)
    assert all(after[k] == v for k, v in untouched.items())
    assert strip_wall_clock(read_journal(journal)) == complete
    assert (peer / "run-0.json").stat().st_mtime_ns == before[str(peer / "run-0.json")]


def test_a_dry_run_writes_nothing(tmp_path, capsys, monkeypatch):
    """--dry-run checks and projects (calibrating in temporary folders) but leaves OUTDIR absent, or as it was:
    a new folder, a compare folder with cells to run (no calibration.json cached), one whose damaged compare.json
    was deleted (as its error line says) and an empty one."""
    spec = write_spec(tmp_path, runs=1, methods=("RANDOM",))  # the committed folder's name, seed and max_trials
    monkeypatch.chdir(tmp_path)
    copy, bare, empty = tmp_path / "copy", tmp_path / "bare", tmp_path / "empty"
    for folder in (copy, bare):
        folder.mkdir()
        for name in KEPT:
            shutil.copyfile(COMMITTED / name, folder / name)
    (bare / "compare.json").unlink()
    empty.mkdir()
    before = {p.name: snapshot(p) for p in tmp_path.iterdir()}
    for out in ("new", copy, bare, empty):
        assert main(["compare", spec.name, "-o", str(out), "--jobs", "1", "--dry-run"]) == 0
        printed = capsys.readouterr().out
        assert "projection (an estimate): 2 of 2 cells to run" in printed and "a dry run writes nothing" in printed
        assert {p.name: snapshot(p) for p in tmp_path.iterdir()} == before


def test_report_reproduces_the_committed_folder(tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in KEPT:
        shutil.copyfile(COMMITTED / name, folder / name)
    (folder / "report.md").unlink()
    assert main(["report", str(folder)]) == 0
    assert filecmp.cmp(folder / "report.md", COMMITTED / "report.md", shallow=False)
    assert all((folder / "figures" / f"{name}.png").is_file() for name in FIGURES)


def test_report_without_proposal_times_or_timing(tmp_path):
    """A folder whose summary has no proposal times and that has no timing.json (e.g. converted from the
    study's cell files, experiments/study_to_compare.py) reports "-" for them, not 0 or nan."""
    folder = tmp_path / "bare"
    folder.mkdir()
    for name in KEPT:
        if name != "timing.json":
            shutil.copyfile(COMMITTED / name, folder / name)
    summary = pd.read_csv(folder / "summary.csv")
    summary[["proposal_seconds", "proposal_median"]] = np.nan
    summary.to_csv(folder / "summary.csv", index=False)
    assert main(["report", str(folder)]) == 0
    text = (folder / "report.md").read_text()
    rows = text[text.index("## Time"):].splitlines()[6:]
    methods = [m["name"] for m in compare.load_info(folder)["methods"] if not m.get("missing")]
    assert [r.split(" | ")[0] for r in rows] == [f"| {m}" for m in methods]
    assert all(r.endswith("| - | - | - | - |") for r in rows)


def test_references_are_ranked_apart(tmp_path):
    """A method marked as a reference keeps its per-problem rows and leaves the ranks and tests."""
    folder = tmp_path / "apart"
    folder.mkdir()
    for name in KEPT:
        shutil.copyfile(COMMITTED / name, folder / name)
    info = json.loads((folder / "compare.json").read_text())
    apart = info["methods"][0]["name"]
    info["methods"][0]["reference"] = True
    (folder / "compare.json").write_text(json.dumps(info))
    assert main(["report", str(folder)]) == 0
    text = (folder / "report.md").read_text()
    ranking = text[text.index("## Ranking"):text.index("## Per problem")]
    per_problem = text[text.index("## Per problem"):text.index("## Figures")]
    assert f"| {apart} |" not in ranking and f"| {apart} (reference) |" in per_problem
    assert f"References ({apart})" in text and "ranked apart" in text
    others = [m["name"] for m in info["methods"][1:] if not m.get("missing")]
    assert all(f"| {m} |" in ranking for m in others)


def test_plot_single_runs_and_compare_folders(tiny_compare, tmp_path):
    table = str(tiny_compare / "tiny.npz")
    a, b = tmp_path / "a", tmp_path / "b"
    assert main([table, "2", "-m", "RANDOM", "--max-trials", "10", "-o", str(a), "--no-progress"]) == 0
    assert main([table, "2", "-m", "DIV", "-s", "SEQ", "--max-trials", "10", "-o", str(b), "--no-progress"]) == 0
    assert main(["plot", str(a), str(b), "-o", str(tmp_path / "two.png"), "--surrogates-dir", str(tiny_compare)]) == 0
    assert (tmp_path / "two.png").stat().st_size > 1000
    assert main(["plot", str(b), str(tiny_compare / "out"), "-o", str(tmp_path / "mixed.pdf")]) == 0
    assert (tmp_path / "mixed.pdf").is_file()
    trials, problem = compare.load_run_dir(b, surrogates=tiny_compare)
    assert problem["target"] > 0 and trials["regret"].notna().all() and trials["run"].nunique() == 2
    assert compare.arm_usage(trials, {"tiny": problem}, [trials["method"].iloc[0]], tmp_path / "arms")
    assert main(["plot", str(a), "-o", str(tmp_path / "x.txt")]) == 2


def test_the_projection_calibrates_each_method_once(tiny_compare):
    # One calibration run per method on the first table: proposal seconds a + b i per trial (a, b >= 0) and how
    # slow its picked rows are against the table's average (random search: about the average).
    cache = json.loads((tiny_compare / "out" / "calibration.json").read_text())
    names = sorted(json.loads(key)["name"] for key in cache)
    assert names == sorted(m["name"] for m in compare.load_info(tiny_compare / "out")["methods"])
    for entry in cache.values():
        assert entry["a"] > 0 and entry["b"] >= 0 and entry["slower"] > 0
    random = next(v for k, v in cache.items() if json.loads(k)["name"] == "RANDOM")
    assert 0.5 < random["slower"] < 2.0
