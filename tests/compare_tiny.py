"""A tiny comparison for the compare tests: two synthetic tables, three methods, two seeds, short runs.

`python tests/compare_tiny.py` regenerates the committed folder tests/data/compare-tiny (its compact tables and
report, as a study's folder is committed; the journals, trials.csv.gz and figures are left out), run from a
temporary directory so the paths it records are relative.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from conftest import make_tiny_error_table, make_tiny_table  # noqa: E402

from hpo_mab.surrogates import save_table  # noqa: E402

COMMITTED = Path(__file__).resolve().parent / "data" / "compare-tiny"
KEPT = ("compare.json", "experiment.yaml", "summary.csv", "timing.json", "curves.csv.gz", "arms.csv.gz",
        "report.md")
PEER = "optuna-random" if importlib.util.find_spec("optuna") else "TPE"


def write_spec(folder: Path, runs: int = 2, methods: tuple[str, ...] = ("RANDOM", "DIV-SEQ", PEER),
               max_trials: int = 12) -> Path:
    """tiny.npz, tiny_err.npz and tiny.yaml in `folder` (the spec names the tables by relative path)."""
    save_table(make_tiny_table(), folder / "tiny.npz")
    save_table(make_tiny_error_table(), folder / "tiny_err.npz")
    spec = folder / "tiny.yaml"
    listed = "".join(f"  - {m}\n" for m in methods)
    spec.write_text(f"name: tiny\nseed: 3\nruns: {runs}\nmax_trials: {max_trials}\nproblems:\n  - tiny.npz\n"
                    f"  - {{table: tiny_err.npz, budget: 150}}\nmethods:\n{listed}")
    return spec


def regenerate() -> None:
    from hpo_mab.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            write_spec(Path("."))
            assert main(["compare", "tiny.yaml", "-o", "out", "--jobs", "1", "--no-progress"]) == 0
            shutil.rmtree(COMMITTED, ignore_errors=True)
            COMMITTED.mkdir(parents=True)
            for name in KEPT:
                shutil.copyfile(Path("out") / name, COMMITTED / name)
        finally:
            os.chdir(cwd)


if __name__ == "__main__":
    regenerate()
