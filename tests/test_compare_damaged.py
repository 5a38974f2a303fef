"""`hpo-runner report`, `plot` and `compare` on a damaged compare folder: one error line naming the file and what
was expected, exit 2, no traceback, and the folder left as it was."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_tiny import COMMITTED, KEPT, write_spec  # noqa: E402
from malformed import refused, snapshot  # noqa: E402


def _info(change) -> bytes:
    """The committed compare.json after `change` (a function that edits it in place)."""
    doc = json.loads((COMMITTED / "compare.json").read_text())
    change(doc)
    return json.dumps(doc).encode()


CURVES_HEAD = "problem,method,run,number,clock,inc_value,inc_true,regret,inc_row\n"

# id: (the file damaged, its new bytes (None: a directory in its place), text the error line holds beside its path)
DAMAGES = {
    "compare-garbage": ("compare.json", b"garbage{", "not valid JSON (Expecting value at line 1 column 1)"),
    "compare-list": ("compare.json", b"[1, 2]", "expected a JSON object, but got a list"),
    "compare-number": ("compare.json", b"3", "expected a JSON object, but got a number"),
    "compare-no-keys": ("compare.json", b'{"name": "x"}',
                        "lacks the key(s) path, seed, runs, criterion, problems, methods"),
    "compare-no-budget": ("compare.json", _info(lambda d: d["problems"]["tiny"].pop("budget")),
                          "problem 'tiny': lacks the key(s) budget"),
    "compare-method-number": ("compare.json", _info(lambda d: d["methods"].__setitem__(1, 7)),
                              "expected method 2 to be a JSON object, but got a number"),
    "compare-seed-string": ("compare.json", _info(lambda d: d.update(seed="x")),
                            "key 'seed' should be a number, but got a string"),
    "curves-not-gzip": ("curves.csv.gz", b"not gzip", "Not a gzipped file"),
    "curves-cut-short": ("curves.csv.gz", (COMMITTED / "curves.csv.gz").read_bytes()[:60], "ended before"),
    "curves-no-inc_row": ("curves.csv.gz", gzip.compress(b"problem,method,run\ntiny,RANDOM,0\n"),
                          "lacks the column(s) number, clock, inc_value, inc_true, regret, inc_row"),
    "curves-bad-row": ("curves.csv.gz", gzip.compress((CURVES_HEAD + "tiny,RANDOM,0,0,1,2,3,0.5,x\n").encode()),
                       "Unable to parse string 'x'"),
    "arms-not-gzip": ("arms.csv.gz", b"x\n", "Not a gzipped file"),
    "summary-empty": ("summary.csv", b"", "empty; expected the CSV table hpo-runner compare writes"),
    "summary-no-problem": ("summary.csv", b"a,b\n1,2\n", "lacks the column(s) problem, method, run"),
    "summary-binary": ("summary.csv", bytes(range(256)), "not the CSV table hpo-runner compare writes"),
    "timing-garbage": ("timing.json", b"{", "not valid JSON"),
    "timing-cell-number": ("timing.json", b'{"a": 3}', "expected cell 'a' to be a JSON object"),
    "figures-a-file": ("figures", b"", "not a directory; expected the folder the report draws its figures into"),
    "report-a-directory": ("report.md", None, "a directory; expected the file the report writes there"),
    "figure-a-directory": ("figures/convergence.png", None, "a directory; expected the file"),
}
PLOT_DAMAGES = ["compare-garbage", "compare-list", "compare-no-budget", "curves-not-gzip", "curves-no-inc_row"]


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> Path:
    """A valid compare folder (the committed tiny one's tables and report), made once; `report` accepts it."""
    folder = tmp_path_factory.mktemp("valid") / "cmp"
    folder.mkdir()
    for name in KEPT:
        shutil.copyfile(COMMITTED / name, folder / name)
    return folder


def damaged(valid: Path, tmp_path: Path, case: str) -> tuple[Path, Path, str]:
    """A copy of the valid folder with one file damaged: (folder, the damaged path, the text expected)."""
    folder = tmp_path / "cmp"
    shutil.copytree(valid, folder)
    name, content, text = DAMAGES[case]
    path = folder / name
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    if content is None:
        path.mkdir(parents=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder, path, text


@pytest.mark.parametrize("case", list(DAMAGES))
def test_report_refuses_a_damaged_folder(valid, tmp_path, capsys, case):
    folder, path, text = damaged(valid, tmp_path, case)
    before = snapshot(folder)
    refused(capsys, ["report", folder], f"{path}: ", text)
    assert snapshot(folder) == before


@pytest.mark.parametrize("case", PLOT_DAMAGES)
def test_plot_refuses_a_damaged_folder(valid, tmp_path, capsys, case):
    folder, path, text = damaged(valid, tmp_path, case)
    refused(capsys, ["plot", folder, "-o", tmp_path / "conv.png"], f"{path}: ", text)
    assert not (tmp_path / "conv.png").exists()


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    """The tiny experiment file and its tables (nothing run)."""
    return write_spec(tmp_path_factory.mktemp("spec"))


@pytest.mark.parametrize(("name", "content", "text"), [
    ("compare.json", b"garbage{", "not valid JSON (Expecting value at line 1 column 1); expected the JSON "
     "hpo-runner compare writes; delete it to resume this comparison here"),
    ("compare.json", None, "a directory; expected the file compare writes there; move it away or use another -o"),
    ("calibration.json", None, "a directory; expected the file compare writes there"),
    ("figures", b"", "not a directory; expected the folder the report draws its figures into"),
])
def test_compare_refuses_an_output_folder_in_the_way(spec, tmp_path, capsys, monkeypatch, name, content, text):
    """Before anything runs (content None: a directory in the file's place): the folder keeps what it holds."""
    out = tmp_path / "out"
    out.mkdir()
    if content is None:
        (out / name).mkdir()
        (out / name / "x").write_text("kept\n")
    else:
        (out / name).write_bytes(content)
    (out / "cells").mkdir()
    (out / "cells" / "kept.txt").write_text("a finished cell\n")
    before = snapshot(out)
    monkeypatch.chdir(spec.parent)
    refused(capsys, ["compare", spec.name, "-o", out, "--jobs", "1", "--no-progress"], f"{out / name}: ", text)
    assert snapshot(out) == before and sorted(p.name for p in out.iterdir()) == sorted([name, "cells"])


def _runner_experiment(spec: Path, out: Path) -> None:
    from hpo_mab.cli import main

    assert main([str(spec.parent / "tiny.npz"), "1", "-m", "RANDOM", "--max-trials", "3", "-o", str(out),
                 "--no-progress"]) == 0


def _notes(spec: Path, out: Path) -> None:
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    (out / "data").mkdir()


def _other_comparison(change):
    def make(spec: Path, out: Path) -> None:
        (out / "cells").mkdir(parents=True)
        (out / "cells" / "kept.txt").write_text("a finished cell\n")
        (out / "compare.json").write_bytes(_info(change))
    return make


# id: (how the folder is made from the spec fixture's folder, text the error line holds beside the folder's name)
NOT_OURS = {
    "runner-experiment": (_runner_experiment, "holds an hpo-runner experiment (journal.jsonl, runs.jsonl, "
                          "experiment.json, summary.json and 2 more), not a comparison; compare writes a folder of "
                          "its own: use another -o"),
    "foreign-files": (_notes, "not empty and not a compare folder (no compare.json): it holds data, notes.txt; use "
                      "another -o"),
    "other-name": (_other_comparison(lambda d: d.update(name="other")),
                   "holds another comparison (name 'other' there, 'tiny' in tiny.yaml); use another -o"),
    "other-seed": (_other_comparison(lambda d: d.update(seed=4)),
                   "holds another comparison (seed 4 there, 3 in tiny.yaml); use another -o"),
}


@pytest.mark.parametrize("case", list(NOT_OURS))
def test_compare_refuses_a_folder_not_its_own(spec, tmp_path, capsys, monkeypatch, case):
    """A folder that holds something other than this comparison is refused, with or without --dry-run, before
    anything is written: compare would mix its files into it (the runner's outputs beside its tables)."""
    make, text = NOT_OURS[case]
    out = tmp_path / "out"
    make(spec, out)
    before = snapshot(out)
    monkeypatch.chdir(spec.parent)
    for dry in ([], ["--dry-run"]):
        refused(capsys, ["compare", spec.name, "-o", out, "--jobs", "1", "--no-progress", *dry], f"{out}: {text}")
        assert snapshot(out) == before


def test_the_command_line_process_prints_one_line(valid, tmp_path):
    """The real process (as a user runs it): exit 2, one stderr line naming the file, no traceback."""
    folder, path, text = damaged(valid, tmp_path, "compare-garbage")
    res = subprocess.run([sys.executable, "-m", "hpo_mab", "report", str(folder)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith(f"hpo-runner: error: {path}: {text}"), res.stderr


def test_a_live_problems_bad_device_names_the_problem(tmp_path, capsys):
    spec = tmp_path / "live.yaml"
    spec.write_text("runs: 1\nproblems:\n  - {task: diabetes-mlp, device: nonsense, budget: 5}\nmethods: [RANDOM]\n")
    refused(capsys, ["compare", spec, "-o", tmp_path / "out", "--dry-run"],
            "problem 'diabetes-mlp' of the compare file: --device 'nonsense': not a torch device")
    assert not (tmp_path / "out").exists()
