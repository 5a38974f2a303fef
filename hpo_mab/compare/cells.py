"""One cell of a comparison: a (problem, method) pair and its seeded runs, in its own folder, resumable.

Run i of every cell uses child i of SeedSequence(seed): our methods through `hpo_mab.runner` (which spawns
the run's optimizer and evaluation generators from it) into OUT/cells/<problem>/<method>/ (journal.jsonl,
runs.jsonl, experiment.json: the runner's own resume machinery skips finished runs and continues the
interrupted one at its last journaled trial); peers through `hpo_mab.peers.run_peer_on_table` (which spawns the
peer's seed and the same evaluation generator from it) into one file per finished run, run-<i>.json. So run i
of every method sees the same evaluation draws. `cell.json` marks a finished cell (and holds its timing).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hpo_mab.compare.spec import MethodSpec, ProblemSpec
from hpo_mab.defaults import DEFAULT_ARMS
from hpo_mab.errors import HpoError
from hpo_mab.journal import write_atomically

TARGET_PERCENT = 1.0  # success: the incumbent's true value in the table's top 1% (or the goal, GOAL runs)


@dataclass(frozen=True)
class Cell:
    """What a worker needs to run one cell (picklable)."""

    problem: ProblemSpec
    method: MethodSpec
    seed: int
    runs: int
    criterion: str
    max_trials: int | None
    folder: str

    @property
    def path(self) -> Path:
        return Path(self.folder)


def cell_folder(out: Path, problem: str, method: str) -> Path:
    return Path(out) / "cells" / problem / method


def build_problem(spec: ProblemSpec) -> Any:
    """The runner's Problem of a problem entry (a table is loaded once per process)."""
    from hpo_mab.backends.problem import table_problem, with_candidates
    from hpo_mab.surrogates import DEFAULT_DIR, get_table

    if spec.table is not None:
        return table_problem(get_table(spec.table))
    from hpo_mab.backends.train import task_problem
    from hpo_mab.tasks import get_task

    try:
        problem = task_problem(get_task(spec.task), spec.epochs, spec.device, spec.datasets)
        return with_candidates(problem, spec.candidates, DEFAULT_DIR)
    except HpoError as exc:  # the task's checks name the runner's flags; here the values come from the file
        raise HpoError(f"problem {spec.id!r} of the compare file: {exc}") from None


def budget_of(spec: ProblemSpec, problem: Any) -> float:
    """Seconds per run: the entry's budget (or the problem's default) times its budget factor."""
    base = spec.budget if spec.budget is not None else float(problem.default_budget_s)
    return float(base) * spec.budget_factor


def goal_of(spec: ProblemSpec, problem: Any, criterion: str) -> float | None:
    """The goal of GOAL runs: the entry's, else the table's top-1% value; None for TIME."""
    if criterion != "GOAL":
        return None
    if spec.goal is not None:
        return spec.goal
    if problem.table is None:
        raise HpoError(f"problem {spec.id}: criterion GOAL on a live task needs a 'goal' in the experiment file")
    return float(problem.table.goal_at_top(TARGET_PERCENT))


def settings_of(cell: Cell, problem: Any, max_trials: int | None = None, budget: float | None = None) -> Any:
    """The runner's Settings of one of our cells."""
    from hpo_mab.settings import Settings

    m = cell.method
    extra: dict[str, Any] = {}
    if m.scheduler is not None:  # checked by the spec: Settings has the field
        names = {f.name for f in dataclasses.fields(Settings)}
        extra = {k: v for k, v in (("scheduler", m.scheduler), ("scheduler_options", m.scheduler_options))
                 if k in names}
    arms = (m.arms or [tuple(a) for a in DEFAULT_ARMS]) if m.mode == "DIV" else None
    return Settings(config_name=problem.name, num_runs=cell.runs, mode=m.mode, spec=m.spec,
                    criterion=cell.criterion, goal=goal_of(cell.problem, problem, cell.criterion),
                    budget=budget_of(cell.problem, problem) if budget is None else budget,
                    max_trials=cell.max_trials if max_trials is None else max_trials, seed=cell.seed, arms=arms,
                    strategy_options=m.strategy_options, arm_options=m.arm_options, train=problem.live,
                    epochs=problem.meta.get("epochs") if problem.live else None,
                    candidates=problem.candidates_setting, **extra)


def plan_cell(cell: Cell) -> None:
    """Check a cell before anything is written: our methods through `plan_experiment` (arms and strategy
    built, a resumed cell's settings and journal checked); peers: the cell's saved key."""
    from hpo_mab.runner import plan_experiment

    problem = build_problem(cell.problem)
    if cell.method.peer is not None:
        key_path = cell.path / "peer.json"
        if key_path.is_file() and json.loads(key_path.read_text()) != peer_key(cell, problem):
            raise HpoError(f"{cell.path}: made with other settings (budget, seed, goal or table); delete the "
                           "folder or choose another -o")
        return
    try:
        plan_experiment(settings_of(cell, problem), problem, cell.path, resume=True)
    except HpoError as exc:
        raise HpoError(f"cell {cell.problem.id} x {cell.method.name}: {exc}") from None


def peer_key(cell: Cell, problem: Any) -> dict[str, Any]:
    return {"peer": cell.method.peer, "table": problem.name, "rows": problem.n_rows, "seed": cell.seed,
            "budget": budget_of(cell.problem, problem), "goal": goal_of(cell.problem, problem, cell.criterion),
            "max_trials": cell.max_trials}


def finished_runs(cell: Cell) -> int:
    """How many of the cell's runs have finished (read from its files; cheap, for the progress bar)."""
    if cell.method.peer is not None:
        return sum((cell.path / f"run-{i}.json").is_file() for i in range(cell.runs))
    try:
        return min(cell.runs, (cell.path / "runs.jsonl").read_bytes().count(b"\n"))
    except OSError:
        return 0


def is_finished(cell: Cell) -> bool:
    path = cell.path / "cell.json"
    if not path.is_file():
        return False
    return json.loads(path.read_text()).get("runs") == cell.runs


def run_cell(cell: Cell, on_run: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run (or finish) one cell; returns and saves its timing (cell.json). Another process running the same
    cell is refused (a lock file)."""
    cell.path.mkdir(parents=True, exist_ok=True)
    with open(cell.path / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise HpoError(f"{cell.path}: another process is running this cell; wait for it or stop it")
        if is_finished(cell):
            return json.loads((cell.path / "cell.json").read_text())
        wall, cpu = time.perf_counter(), time.process_time()
        problem = build_problem(cell.problem)
        if cell.method.peer is not None:
            _run_peer(cell, problem, on_run)
        else:
            from hpo_mab.runner import run_experiment

            run_experiment(settings_of(cell, problem), problem, cell.path, resume=True,
                           on_run_end=(lambda _s: on_run()) if on_run else None)
        doc = {"problem": cell.problem.id, "method": cell.method.name, "runs": cell.runs,
               "wall_seconds": round(time.perf_counter() - wall, 3),
               "cpu_seconds": round(time.process_time() - cpu, 3)}
        write_atomically(cell.path / "cell.json", json.dumps(doc) + "\n")
        return doc


def _run_peer(cell: Cell, problem: Any, on_run: Callable[[], None] | None) -> None:
    from hpo_mab.peers import run_peer_on_table

    write_atomically(cell.path / "peer.json", json.dumps(peer_key(cell, problem)) + "\n")
    budget = budget_of(cell.problem, problem)
    goal = goal_of(cell.problem, problem, cell.criterion)
    metric = problem.metric
    for i, child in enumerate(np.random.SeedSequence(cell.seed).spawn(cell.runs)):
        path = cell.path / f"run-{i}.json"
        if path.is_file():
            continue
        run = run_peer_on_table(problem.table, cell.method.peer, child, budget, cell.max_trials, run=i)
        records = run.records
        if goal is not None:  # stopping at the goal is the same run cut after the first trial reaching it
            hit = next((k for k, r in enumerate(records) if r["state"] == "complete" and r["value"] is not None
                        and metric.reached(r["value"], goal)), None)
            records = records if hit is None else records[: hit + 1]
        write_atomically(path, json.dumps({"run": i, "records": records}) + "\n")
        if on_run is not None:
            on_run()


def peer_records(cell_path: Path, runs: int) -> list[dict[str, Any]]:
    """The trial records of a peer cell's finished runs, in run order."""
    out: list[dict[str, Any]] = []
    for i in range(runs):
        path = cell_path / f"run-{i}.json"
        if path.is_file():
            out.extend(json.loads(path.read_text())["records"])
    return out
