"""The matrix of a comparison: plan every cell, project the time, run the unfinished cells in N processes.

Resumable at two levels: a finished cell (its `cell.json`) is skipped, and inside an unfinished cell every
finished run is skipped (see `hpo_mab.compare.cells`). A worker process dies with the process that started
it, so a killed `compare` leaves no orphan writing into a cell; each cell is locked while it runs.

The projection printed before anything runs is an estimate, and says so. One calibration run of each method
(CALIBRATION_TRIALS trials on the experiment's first table, in the worker processes; cached in
OUT/calibration.json) gives (1) its proposal seconds per trial as a line a + b i in the trial's index i (through
the medians of the run's two halves: a GP's fit grows with its history, and a median ignores one slow first
fit), so n trials cost a n + b n^2 / 2 plus REPLAY_SECONDS each; and (2) how much slower than an average row
its picks are (model-based arms pick slower, better rows), `slower`. A run's trials are those of random rows
spending budget / slower. Checked on issue 8's study, 1 run per cell, 827 CPU s measured
(experiments/results/compare_speed_study.txt): this projection said 1,423 CPU s there (1,395 in another run);
the earlier one (random rows' trial counts, a line through the CPU seconds of two separate runs of 10 and 30
trials, which also counted their fixed start-up) said 5,000 (commit 7e4cda9's compare_speed_study.txt).
Live tasks take their wall-clock budget.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from hpo_mab.compare.cells import Cell, budget_of, build_problem, cell_folder, finished_runs, is_finished, plan_cell
from hpo_mab.compare.cells import run_cell as _run_cell
from hpo_mab.compare.files import read_json
from hpo_mab.compare.spec import Experiment

PEER_PACKAGES = {"optuna-tpe": "optuna", "optuna-tpe-mv": "optuna", "optuna-gp": "optuna",
                 "optuna-random": "optuna", "hyperopt-tpe": "hyperopt"}
CALIBRATION_TRIALS = 40
REPLAY_SECONDS = 0.001  # per trial beside proposals: 51 s over the study's 50,788 trials (compare_speed_study.txt)


def missing_peers(exp: Experiment) -> dict[str, str]:
    """Peer methods whose package is not installed: method name -> the reason (the optional `peers` extra)."""
    out = {}
    for m in exp.methods:
        package = PEER_PACKAGES.get(m.peer or "")
        if package and importlib.util.find_spec(package) is None:
            out[m.name] = (f"{package} is not installed (the optional `peers` extra: "
                           "pip install -c constraints.txt -e '.[peers]')")
    return out


def make_cells(exp: Experiment, out: Path, skip: set[str] = frozenset()) -> list[Cell]:
    """Every (problem, method) cell of the experiment, in the file's order, apart from skipped methods."""
    return [Cell(p, m, exp.seed, exp.runs, exp.criterion, exp.max_trials, str(cell_folder(out, p.id, m.name)))
            for p in exp.problems for m in exp.methods if m.name not in skip]


def plan(cells: list[Cell]) -> None:
    """Check every cell (tables loaded, arms and strategies built, resumed cells' settings checked)."""
    for cell in cells:
        plan_cell(cell)


# -- projection --------------------------------------------------------------------------------------------
def row_seconds(table: Any) -> np.ndarray:
    """Each row's seconds for a whole trial, the mean over its seeds."""
    return np.nanmean(table.seconds[:, :, -1], axis=1)


def expected_trials(problem: Any, budget: float, draws: int = 20, seed: int = 0) -> float:
    """Mean trials of a random-row run within `budget` on a table (see the module docstring)."""
    table = problem.table
    rng = np.random.default_rng(seed)
    final = row_seconds(table)
    counts = []
    for _ in range(draws):
        seconds = final[rng.permutation(table.n_rows)[: min(table.n_rows, 5000)]]
        counts.append(min(table.n_rows, int(np.searchsorted(np.cumsum(seconds), budget)) + 1))
    return float(np.mean(counts))


def _calibrate(cell: Cell) -> dict[str, float]:
    """Proposal seconds per trial a + b i, and `slower`, from one seeded run of the cell's method."""
    from hpo_mab.compare.cells import peer_records
    from hpo_mab.journal import read_journal

    problem = build_problem(cell.problem)
    with tempfile.TemporaryDirectory() as tmp:
        probe = replace(cell, runs=1, criterion="TIME", max_trials=CALIBRATION_TRIALS, folder=tmp,
                        problem=replace(cell.problem, budget=1e12, budget_factor=1.0))
        _run_cell(probe)
        records = peer_records(Path(tmp), 1) if cell.method.peer is not None else read_journal(
            Path(tmp) / "journal.jsonl")
    spent = np.array([r.get("proposal_seconds") or 0.0 for r in records], dtype=float)
    half = max(1, len(spent) // 2)
    later = spent[half:] if len(spent) > 1 else spent
    (i0, m0), (i1, m1) = ((half - 1) / 2, np.median(spent[:half])), ((len(spent) + half - 1) / 2, np.median(later))
    b = max(0.0, float(m1 - m0) / (i1 - i0)) if i1 > i0 else 0.0
    a = max(1e-5, float(m0) - b * i0)
    seconds = np.array([r["seconds"] for r in records if r.get("seconds") is not None], dtype=float)
    rows = row_seconds(problem.table) if problem.table is not None else None
    slower = float(np.nanmean(seconds) / np.nanmean(rows)) if rows is not None and seconds.size else 1.0
    return {"a": a, "b": b, "slower": slower if np.isfinite(slower) and slower > 0 else 1.0}


def calibration(cells: list[Cell], out: Path, jobs: int = 1, save: bool = True) -> dict[str, dict[str, float]]:
    """Per-method cost per trial, measured on the first table problem in `jobs` worker processes (the
    matrix's: one BLAS thread each), cached in OUT/calibration.json (read where it is there; written with
    `save`)."""
    path = out / "calibration.json"
    cache = read_json(path, hint="delete it (compare then calibrates again)") if path.is_file() else {}
    first = next((c.problem.id for c in cells if c.problem.table is not None), None)
    todo = {}
    for c in cells:
        key = json.dumps(asdict(c.method), sort_keys=True)
        if c.problem.id == first and "slower" not in cache.get(key, {}):  # absent, or an older calibration's
            todo[key] = c
    if todo:
        pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo))), mp_context=get_context("fork"),
                                   initializer=_worker_init)
        try:
            cache.update(zip(todo, pool.map(_calibrate, todo.values())))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if save:
            path.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    return cache


def project(cells: list[Cell], out: Path, jobs: int, save: bool = True) -> float:
    """Print the projected time of the unfinished cells (see the module docstring); returns wall seconds.
    `save`: cache the calibration in OUT (a dry run writes nothing there)."""
    todo = [c for c in cells if not is_finished(c)]
    if not todo:
        print(f"projection: all {len(cells)} cells are finished; nothing to run", flush=True)
        return 0.0
    start = time.perf_counter()
    cost = calibration(todo, out, jobs, save)
    took = time.perf_counter() - start
    cpu, live = 0.0, 0.0
    for c in todo:
        problem = build_problem(c.problem)
        left = c.runs - finished_runs(c)
        if problem.live:
            live += left * budget_of(c.problem, problem)
            continue
        k = cost.get(json.dumps(asdict(c.method), sort_keys=True), {"a": 0.01, "b": 0.0})
        n = expected_trials(problem, budget_of(c.problem, problem) / k.get("slower", 1.0))
        n = min(n, c.max_trials or n)
        cpu += left * (k["a"] * n + k["b"] * n * n / 2 + REPLAY_SECONDS * n)
    wall = cpu / max(1, min(jobs, len(todo))) + live / max(1, min(jobs, len(todo)))
    kept = f"cached in {out / 'calibration.json'}" if save else "not kept: a dry run writes nothing"
    print(f"projection (an estimate): {len(todo)} of {len(cells)} cells to run, about {cpu:.0f} CPU s"
          + (f" + {live:.0f} s of live training" if live else "")
          + f", about {wall:.0f} s wall with {jobs} worker(s) on idle cores. Trials per run from rows as slow as each "
          f"method's picks spending each budget; CPU s per trial from {CALIBRATION_TRIALS}-trial calibration "
          f"runs of each method (took {took:.1f} s; {kept})", flush=True)
    return wall


# -- running ---------------------------------------------------------------------------------------------------
def _worker_init() -> None:
    """One BLAS thread per worker; die with the parent (Linux), so a killed compare leaves no orphan."""
    from hpo_mab.threads import one_blas_thread

    global _LIMITS
    _LIMITS = one_blas_thread()  # held for the worker's life: the arms' own limits inside it cost nothing
    _LIMITS.__enter__()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_LIMITS: Any = None


def _job(cell: Cell) -> dict[str, Any]:
    return _run_cell(cell)


def run_matrix(cells: list[Cell], jobs: int, progress: bool = True) -> dict[str, dict[str, Any]]:
    """Run every unfinished cell in `jobs` processes, with one progress bar over all runs of the matrix;
    returns each cell's timing (cell.json) by folder."""
    from tqdm import tqdm

    total = sum(c.runs for c in cells)
    bar = tqdm(total=total, desc="compare", unit="run", file=sys.stderr, disable=not progress, mininterval=0.5,
               dynamic_ncols=True)
    bar.update(sum(finished_runs(c) for c in cells))
    todo = [c for c in cells if not is_finished(c)]
    timing: dict[str, dict[str, Any]] = {}
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(todo) or 1)), mp_context=get_context("fork"),
                               initializer=_worker_init)
    try:
        pending = {pool.submit(_job, c): c for c in todo}
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                cell = pending.pop(future)
                timing[cell.folder] = future.result()
            bar.update(sum(finished_runs(c) for c in cells) - bar.n)
    except BaseException:
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)  # our own workers: a rerun resumes their cells
        bar.leave = False
        bar.close()
        raise
    pool.shutdown()
    bar.close()
    for c in cells:
        if c.folder not in timing:
            timing[c.folder] = json.loads((Path(c.folder) / "cell.json").read_text())
    return timing


def problems_info(exp: Experiment) -> dict[str, dict[str, Any]]:
    """What analysis needs of each problem, so that `report` reads the output folder alone."""
    from hpo_mab.compare.cells import TARGET_PERCENT, goal_of

    out = {}
    for spec in exp.problems:
        problem = build_problem(spec)
        doc = {"source": spec.table or spec.task, "live": bool(problem.live), "metric": problem.metric.name,
               "direction": problem.metric.direction, "budget": budget_of(spec, problem),
               "goal": goal_of(spec, problem, exp.criterion), "rows": problem.n_rows}
        if problem.table is not None:
            losses = problem.table.true_losses
            doc.update(best_true=float(problem.metric.from_loss(np.min(losses))),
                       median_true=float(problem.metric.from_loss(np.median(losses))),
                       target=float(problem.table.goal_at_top(TARGET_PERCENT)))
        out[spec.id] = doc
    return out
