"""Issue 9: every bad command line gets one stderr line, exit 2, and leaves OUTDIR as it was."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from malformed import refused, snapshot

from hpo_mab.cli import main
from hpo_mab.surrogates import load_table

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A finished 2-run experiment on the tiny table, made once; each test gets a copy."""
    from conftest import make_tiny_table

    from hpo_mab.surrogates import save_table

    root = tmp_path_factory.mktemp("recorded")
    save_table(make_tiny_table(), root / "tiny.npz")
    args = ["tiny", "2", "-m", "RANDOM", "--max-trials", "6", "--surrogates-dir", str(root), "-o",
            str(root / "out"), "--no-progress"]
    assert main(args) == 0
    return root


@pytest.fixture
def exp(recorded, tmp_path):
    """(surrogates dir, OUTDIR holding a finished experiment, the base command)."""
    shutil.copytree(recorded, tmp_path / "r")
    root = tmp_path / "r"
    base = ["tiny", "2", "-m", "RANDOM", "--max-trials", "6", "--surrogates-dir", root, "-o", root / "out",
            "--no-progress"]
    return root, root / "out", base


def _swap(base: list, option: str, value) -> list:
    """The base command with one option's value replaced (or appended)."""
    args = list(base)
    if option in args:
        args[args.index(option) + 1] = value
        return args
    return args + [option, value]


# (extra arguments, text the one line must hold): each runs against a finished experiment's OUTDIR.
BAD_RUNS = [
    (["--overwrite", "-m", "GP", "-s", "HEDGE"], "HEDGE"),
    (["--overwrite", "-m", "DIV", "-s", "NOPE"], "unknown strategy 'NOPE'"),
    (["--overwrite", "-m", "DIV", "-s", "EI"], "unknown strategy 'EI'"),
    (["--overwrite", "-m", "TPE", "-s", "EI"], "EI"),
    (["--overwrite", "--seed", "-1"], "--seed must be a non-negative integer"),
    (["--overwrite", "-eg", "nan", "-e", "GOAL"], "-eg must be a finite number"),
    (["--overwrite", "-eg", "inf", "-e", "GOAL"], "-eg must be a finite number"),
    (["--overwrite", "-eg=-inf", "-e", "GOAL"], "-eg must be a finite number"),
    (["--overwrite", "--max-trials", "0"], "--max-trials must be at least 1"),
    (["--overwrite", "-et=-5m"], "bad duration"),
    (["--overwrite", "--resume"], "give one of them"),
    (["--overwrite", "--con", "missing.yaml"], "no such run configuration"),
    (["--overwrite", "-cmissing.yaml"], "no such run configuration"),
    (["--overwrite", "-hc", "hp_conf"], "-hc"),
    (["--overwrite", "-rc", "no/such/dir"], "no such run configuration directory"),
    (["--overwrite", "-rc", REPO / "README.md"], "README.md: a file, not a directory of run configurations"),
    (["--overwrite", "-rc", REPO, "-c", "hp_conf"], "hp_conf: is a directory, not a run configuration file"),
    (["--overwrite", "-l", "loud"], "unknown log level"),
    (["--overwrite", "-m", "XGB"], "unknown mode 'XGB'"),
    (["--overwrite", "--surrogates-dir", "/nonexistent-dir"], "--surrogates-dir /nonexistent-dir: no such directory"),
    ([], "holds a journal already"),
    (["--resume", "-m", "GP"], "different settings (mode, spec)"),
    (["--resume", "--seed", "3"], "different settings (seed)"),
]


@pytest.mark.parametrize("extra, message", BAD_RUNS, ids=[" ".join(map(str, e)) or "again" for e, _ in BAD_RUNS])
def test_bad_run_options_leave_the_experiment_untouched(exp, capsys, extra, message):
    root, out, base = exp
    before = snapshot(out)
    refused(capsys, base + extra, message)
    assert snapshot(out) == before


@pytest.mark.parametrize("name", ["journal.jsonl", "runs.jsonl", "summary.json", "trials.csv", "convergence.png"])
@pytest.mark.parametrize("how", ["--resume", "--overwrite"])
def test_an_output_that_is_a_directory_is_refused_before_anything_is_written(exp, capsys, name, how):
    root, out, base = exp
    (out / name).unlink()
    (out / name).mkdir()
    (out / name / "keep").write_text("x")
    before = snapshot(out)
    refused(capsys, base + [how], f"{name} there is not a file")
    assert snapshot(out) == before


def test_resume_with_fewer_runs_is_refused(exp, capsys):
    root, out, base = exp
    before = snapshot(out)
    args = list(base)
    args[1] = "1"
    refused(capsys, args + ["--resume"], "has 2 runs", "not 1")
    assert snapshot(out) == before


@pytest.mark.parametrize("conf, message", [
    ("strategy_options: {eta: -1}\n", "eta must be a positive finite number"),
    ("strategy_options: {eta: .nan}\n", "eta must be a positive finite number"),
    ("strategy_options: {colour: 1}\n", "has no option 'colour'"),
    ("strategy_options: {gamma: 0.1}\n", "has no option 'gamma'"),
    ("strategy_options: [1, 2]\n", "option 'strategy_options' must be a mapping"),
    ("seed: -1\n", "bad.yaml: 'seed' must be a non-negative integer"),
    ("exp_time: -5\n", "bad.yaml: 'exp_time': bad duration -5"),
    ("worker_timeout: 0\n", "bad.yaml: 'worker_timeout': bad duration 0"),
    ("fit_budget: 'no'\n", "option 'fit_budget' must be bool"),
    ("mode: &a [&b [1, 2], *b, *b, *b]\nspec: &c [*a, *a, *a, *a]\nexp_crt: [*c, *c, *c, *c]\n",
     "option 'exp_crt' must be str, but got [["),
    ("mode: [DIV,\n  x: 1\n", "(line 3, column 1)"),
    ("seed: true\n", "option 'seed' must be int"),
    ("exp_goal: .nan\nexp_crt: GOAL\n", "bad.yaml: 'exp_goal' must be a finite number"),
    ("arms: [{model: GP, acq_func: XYZ}]\n", "arms[0]"),
    ("arms: []\n", "'arms' must be a non-empty list"),
    ("arms: [{model: TPE}, {model: GP, acq_func: EI}, {model: tpe}]\n", "arms[2] repeats arms[0] (TPE)"),
    ("- 1\n- 2\n", "expected a mapping of options"),
    ("mode: [DIV\n", "not valid YAML"),
])
def test_bad_run_configurations_leave_the_experiment_untouched(exp, capsys, conf, message):
    root, out, base = exp
    (root / "rc").mkdir()
    (root / "rc" / "bad.yaml").write_text(conf)
    before = snapshot(out)
    args = _swap(base, "-m", "DIV") + ["--overwrite", "-s", "HEDGE", "-rc", root / "rc", "-c", "bad.yaml"]
    line = refused(capsys, args, message)
    assert "bad.yaml" in line and len(line) < 400
    assert snapshot(out) == before


def test_a_bad_duration_in_strategy_options_names_the_file_and_key(exp, capsys):
    root, out, base = exp
    (root / "rc").mkdir()
    (root / "rc" / "gt.yaml").write_text("strategy_options: {time_unit: -5}\n")
    args = _swap(base, "-m", "DIV") + ["--overwrite", "-s", "GT", "-rc", root / "rc", "-c", "gt.yaml"]
    refused(capsys, args, "gt.yaml: strategy_options.time_unit: bad duration -5")


@pytest.mark.parametrize("make, message", [
    (lambda root: (root / "afile").write_text("x") and root / "afile", "exists and is not a directory"),
    (lambda root: (root / "afile").write_text("x") and root / "afile" / "sub", "is a file"),
    (lambda root: "/proc/x", "/proc/x"),
    (lambda root: "", "must name a directory"),
    (lambda root: root / ("x" * 300), "unusable (File name too long)"),
])
def test_unusable_output_directories(exp, capsys, make, message):
    root, out, base = exp
    target = make(root)
    before = snapshot(root)
    refused(capsys, _swap(base, "-o", target), message)
    assert snapshot(root) == before


@pytest.mark.parametrize("line, message", [
    (b"{}\n", "a trial record needs run, number, arm, config, state"),
    (b"[1, 2]\n", "expected a trial record"),
    (b"not json\n", "is not valid JSON"),
    (b'{"run": 0, "number": 6, "arm": "RANDOM", "config": {}, "state": "done"}\n', "'state' must be one of"),
    (b'{"run": 9, "number": 0, "arm": "RANDOM", "config": {}, "state": "complete", "row": 1}\n', "holds run 9"),
])
def test_a_bad_journal_line_stops_resume_before_anything_is_written(exp, capsys, line, message):
    root, out, base = exp
    with open(out / "journal.jsonl", "ab") as fh:
        fh.write(line)
    before = snapshot(out)
    refused(capsys, base + ["--resume"], "journal.jsonl", message)
    assert snapshot(out) == before


@pytest.mark.parametrize("edit", [lambda c: {**c, "lr": "zz"}, lambda c: {k: c[k] for k in list(c)[1:]},
                                  lambda c: {**c, "extra": 1}])
def test_a_journaled_configuration_that_is_not_its_rows_stops_resume(exp, capsys, edit):
    root, out, base = exp
    lines = (out / "journal.jsonl").read_bytes().splitlines(keepends=True)
    record = json.loads(lines[3])
    record["config"] = edit(record["config"])
    lines[3] = json.dumps(record).encode() + b"\n"
    (out / "journal.jsonl").write_bytes(b"".join(lines))
    before = snapshot(out)
    refused(capsys, base + ["--resume"], "journal.jsonl: run 0 trial 3 has a configuration that is not row")
    assert snapshot(out) == before


@pytest.mark.parametrize("content, message", [
    ("", "not valid JSON"), ('{"config_name": "tiny", "num', "not valid JSON"), ("[1]", "expected a JSON object"),
])
def test_a_damaged_experiment_json_stops_resume(exp, capsys, content, message):
    root, out, base = exp
    (out / "experiment.json").write_text(content)
    before = snapshot(out)
    refused(capsys, base + ["--resume"], "experiment.json", message)
    assert snapshot(out) == before


def test_resume_of_a_journal_without_experiment_json_is_refused(exp, capsys):
    root, out, base = exp
    (out / "experiment.json").unlink()
    before = snapshot(out)
    refused(capsys, base + ["--resume"], "holds a journal without one")
    assert snapshot(out) == before


def test_resume_in_an_empty_directory_starts_the_experiment(exp, capsys):
    root, out, base = exp
    assert main([str(a) for a in _swap(base, "-o", root / "new") + ["--resume"]]) == 0
    assert len(json.loads((root / "new" / "summary.json").read_text())) == 2


@pytest.mark.parametrize("data", [b"garbage", b"PK\x03\x04" + b"\x00" * 40])
def test_a_damaged_table_file(exp, capsys, data):
    root, out, base = exp
    (root / "bad.npz").write_bytes(data)
    args = ["bad", "1", "--surrogates-dir", root, "-o", root / "o2", "--no-progress"]
    line = refused(capsys, args, "bad.npz: not a valid lookup table")
    assert "allow_pickle" not in line
    refused(capsys, [root / "bad.npz", "1", "-o", root / "o3", "--no-progress"], "not a valid lookup table")
    assert not (root / "o2").exists() and not (root / "o3").exists()


def test_a_fresh_directory_is_not_created_by_a_bad_command(exp, capsys):
    root, out, base = exp
    for extra in (["-s", "HEDGE", "-m", "GP"], ["--seed", "-1"], ["-m", "DIV", "-s", "EI"]):
        refused(capsys, _swap(base, "-o", root / "fresh") + extra)
        assert not (root / "fresh").exists()


def test_a_corrected_command_runs_after_refusals(exp, capsys):
    root, out, base = exp
    fresh = _swap(base, "-o", root / "fresh")
    refused(capsys, fresh + ["-m", "TPE", "-s", "EI"])
    assert main([str(a) for a in fresh]) == 0


def test_torn_complete_last_line_is_replayed_not_lost(exp, capsys):
    """A last line without its newline is torn even when it parses: resume re-runs it (12 stay 12)."""
    root, out, base = exp
    journal = out / "journal.jsonl"
    full = journal.read_bytes()
    journal.write_bytes(full[:-1])
    assert main([str(a) for a in base + ["--resume"]]) == 0
    assert journal.read_bytes().count(b"\n") == 12
    strip = [{k: v for k, v in json.loads(x).items() if k != "proposal_seconds"} for x in full.splitlines()]
    again = [{k: v for k, v in json.loads(x).items() if k != "proposal_seconds"}
             for x in journal.read_bytes().splitlines()]
    assert again == strip
    assert len(json.loads((out / "summary.json").read_text())) == 2


def test_resume_of_a_finished_experiment_uses_saved_run_summaries(exp, capsys):
    root, out, base = exp
    journal = (out / "journal.jsonl").read_bytes()
    summary = json.loads((out / "summary.json").read_text())
    assert main([str(a) for a in base + ["--resume"]]) == 0
    assert (out / "journal.jsonl").read_bytes() == journal
    assert json.loads((out / "summary.json").read_text()) == summary
    assert len((out / "runs.jsonl").read_bytes().splitlines()) == 2


def test_resume_of_a_lost_journal_runs_again_without_duplicate_run_lines(exp, capsys):
    """An emptied journal beside a full runs.jsonl: both runs are replayed, each summarised once."""
    root, out, base = exp
    def trials():
        return [{k: v for k, v in json.loads(x).items() if k != "proposal_seconds"}
                for x in (out / "journal.jsonl").read_bytes().splitlines()]

    journal = trials()
    (out / "journal.jsonl").write_bytes(b"")
    assert main([str(a) for a in base + ["--resume"]]) == 0
    assert trials() == journal  # the same seed re-derives the same trials
    runs = [json.loads(line)["run"] for line in (out / "runs.jsonl").read_bytes().splitlines()]
    assert runs == [0, 1]


def test_runs_are_seeded_as_their_spawned_children():
    """The runner makes run i's SeedSequence when it starts it; it is the i-th child of spawn(NUM_RUNS)."""
    import numpy as np

    for i, child in enumerate(np.random.SeedSequence(11).spawn(4)):
        lazy = np.random.SeedSequence(11, spawn_key=(i,))
        assert list(lazy.generate_state(4)) == list(child.generate_state(4))


def test_resume_with_more_runs_finishes_them(exp, capsys):
    root, out, base = exp
    args = list(base)
    args[1] = "3"
    assert main([str(a) for a in args + ["--resume"]]) == 0
    assert len(json.loads((out / "summary.json").read_text())) == 3
    assert json.loads((out / "experiment.json").read_text())["num_runs"] == 3


def test_resume_warns_and_keeps_the_journal_where_a_proposal_re_derives_differently(exp, caplog):
    root, out, base = exp
    journal = out / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[8])  # run 1, trial 2
    used = {json.loads(x)["row"] for x in lines[6:]}
    record["row"] = next(r for r in range(120) if r not in used)
    record["config"] = json.loads(json.dumps(load_table(root / "tiny.npz").config(record["row"])))
    kept = lines[:8] + [json.dumps(record).encode() + b"\n"]
    journal.write_bytes(b"".join(kept))
    (out / "runs.jsonl").write_bytes((out / "runs.jsonl").read_bytes().splitlines(keepends=True)[0])
    assert main([str(a) for a in base + ["--resume"]]) == 0
    assert "continuing from the journal's records" in caplog.text and "run 1 trial 2" in caplog.text
    after = journal.read_bytes().splitlines(keepends=True)
    assert after[:9] == kept and len(after) == 12


def test_no_progress_bar_around_an_error_line(exp):
    """Errors found while planning and while starting the run (creating /proc/x) are the only stderr line,
    with the progress bar on (a subprocess: stderr as a user sees it)."""
    root, out, base = exp
    for extra in (["-o", root / "o4", "-eg", "nan", "-e", "GOAL"], ["-o", "/proc/x"]):
        res = subprocess.run([sys.executable, "-m", "hpo_mab", *map(str, base[:-3]), *map(str, extra)],
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and res.stderr.startswith("hpo-runner: error: "), res.stderr
        assert res.stderr.count("\n") == 1 and "\r" not in res.stderr and "%|" not in res.stderr


def test_build_table_bad_inputs_create_nothing(tmp_path, capsys):
    import torch

    space = tmp_path / "space.json"
    shutil.copy("hp_conf/digits-lenet.json", space)
    (tmp_path / "afile").write_text("x")
    common = ["build-table", "t", "--space", space, "--configs", "2", "--out-dir", tmp_path / "o"]
    cases = [(["--device", "foo"], "not a torch device"), (["--sobol-seed", "-1"], "--sobol-seed must be"),
             (["--out-dir", tmp_path / "afile"], "exists and is not a directory"),
             (["--out-dir", tmp_path / "afile" / "sub"], "is a file")]
    if not torch.cuda.is_available():
        cases.append((["--device", "cuda"], "CUDA is not available"))
    before = snapshot(tmp_path)
    for extra, message in cases:
        refused(capsys, common + extra, message)
        assert snapshot(tmp_path) == before


def test_a_folder_named_like_a_table_is_not_listed(exp, capsys):
    root, out, base = exp
    (root / "x.npz").mkdir()
    assert main(["list", "--surrogates-dir", str(root)]) == 0
    listed = capsys.readouterr().out
    assert "tiny" in listed and "\nx " not in listed
    refused(capsys, ["x", "1", "--surrogates-dir", root], "unknown surrogate 'x'; expected one of tiny,")
