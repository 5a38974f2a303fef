"""Cells of the issue-8 study: one (table, budget factor, method) triple, its seeded runs, its file.

Run i of every cell uses child i of SeedSequence(seed): our methods through `run_experiment` (which spawns
the run's optimizer and evaluation generators from it), peers through `hpo_mab.peers.run_peer_on_table`
(which spawns the peer's seed and the same evaluation generator from it), so run i of every method sees the
same evaluation draws. A cell file OUT/<table>/<method>.json holds, per run: normalised regret at 25%, 50%
and 100% of the budget, the incumbent's final true value, the number of trials, the simulated time at which
the incumbent first reached the table's top 1% by true value (None: censored at the budget), the incumbent's
normalised-regret curve on a 50-point grid over the budget, arm counts (DIV) or moves and snaps (peers).
Journals of our methods go to OUT/_work/<table>/<method>/ while a cell runs (a killed cell resumes at its
last trial) and are deleted once the cell file is written; they are never committed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from hpo_mab.analysis.metrics import incumbent_rows, normalised_regret
from hpo_mab.defaults import DEFAULT_ARMS
from hpo_mab.errors import HpoError
from hpo_mab.journal import read_journal
from hpo_mab.peers import PEERS, run_peer_on_table
from hpo_mab.runner import Settings, run_experiment
from hpo_mab.strategies import STRATEGIES, is_oracle_strategy
from hpo_mab.surrogates import Table

# Single arms: every (model, acquisition) of the arm registry, by the name `hpo-runner list` prints.
SINGLE_ARMS: dict[str, tuple[str, str | None]] = {
    **{f"{m}-{a}": (m, a) for m in ("GP", "RF", "GP-HLE", "RF-HLE") for a in ("EI", "PI", "UCB")},
    **{m: (m, None) for m in ("TPE", "TPE-HLE", "RANDOM", "ANNEAL", "EVOLUTION", "GRID")},
}
DIV_METHODS: dict[str, str] = {f"DIV-{name}": name for name in STRATEGIES}
METHODS = [*SINGLE_ARMS, *DIV_METHODS, *PEERS]
FRACTIONS = (0.25, 0.5, 1.0)
GRID_POINTS = 50
TARGET_QUANTILE = 0.01  # time to target: the incumbent's true value in the table's top 1%


def kind(method: str) -> str:
    """`arm`, `div` or `peer`."""
    if method in SINGLE_ARMS:
        return "arm"
    if method in DIV_METHODS:
        return "div"
    if method in PEERS:
        return "peer"
    raise HpoError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def is_oracle(method: str) -> bool:
    """Whether a method peeks at true table values (reported apart, never ranked)."""
    return method in DIV_METHODS and is_oracle_strategy(DIV_METHODS[method])


def budget_of(table: Table, factor: float) -> float:
    return float(factor) * float(table.default_budget_s)


def cell_key(table: Table, runs: int, seed: int, factor: float) -> dict[str, Any]:
    """What a finished cell must match to be reused (a rebuilt table changes rows and budget)."""
    return {"runs": runs, "seed": seed, "n_rows": table.n_rows, "factor": factor,
            "budget": round(budget_of(table, factor), 6)}


def cell_path(out: Path, table: str, method: str) -> Path:
    return Path(out) / table / f"{method}.json"


def load_cell(path: Path, key: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A finished cell's document, or None if absent or made with other settings than `key`."""
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    if key is not None and any(doc.get(k) != v for k, v in key.items()):
        return None
    return doc


def target_loss(table: Table) -> float:
    """The true loss that marks the table's top `TARGET_QUANTILE` of rows."""
    return float(np.quantile(table.true_losses, TARGET_QUANTILE))


def summarise_run(table: Table, records: list[dict[str, Any]], budget: float, index: int,
                  **extra: Any) -> dict[str, Any]:
    """One run's row of a cell file (see the module docstring)."""
    clocks, rows = incumbent_rows(records)
    grid = np.linspace(budget / GRID_POINTS, budget, GRID_POINTS)

    def regret(t: float) -> float:
        k = int(np.searchsorted(clocks, t, side="right")) - 1
        return normalised_regret(table, rows[k] if k >= 0 else None)

    target = target_loss(table)
    hit = next((c for c, r in zip(clocks, rows) if r is not None and table.true_losses[r] <= target), None)
    final_row = rows[-1] if rows else None
    return {"run": index, **{f"regret_{int(f * 100)}": regret(f * budget) for f in FRACTIONS},
            "final_true_value": None if final_row is None else float(table.true_values[final_row]),
            "trials": len(records), "time_to_target": None if hit is None else float(hit),
            "curve": [round(regret(t), 6) for t in grid], **extra}


def settings_for(method: str, table: Table, runs: int, seed: int, budget: float) -> Settings:
    if kind(method) == "arm":
        mode, spec = SINGLE_ARMS[method]
        return Settings(config_name=table.name, num_runs=runs, mode=mode, spec=spec, budget=budget, seed=seed)
    return Settings(config_name=table.name, num_runs=runs, mode="DIV", spec=DIV_METHODS[method], budget=budget,
                    seed=seed, arms=[tuple(a) for a in DEFAULT_ARMS])


def code_version() -> str:
    """The git commit of the code that runs, with `+dirty` if hpo_mab/ or experiments/ has uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "hpo_mab", "experiments/study*.py"], cwd=root,
                           capture_output=True, text=True).stdout.strip()
    return (head.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def run_cell(table: Table, method: str, runs: int, seed: int, out: Path, factor: float = 1.0,
             max_trials: int | None = None, code: str | None = None) -> dict[str, Any]:
    """Run (or reuse) one cell and write its file atomically; returns the cell document. `code`: the code
    version recorded in the file (see `code_version`)."""
    key = cell_key(table, runs, seed, factor)
    path = cell_path(out, table.name, method)
    done = load_cell(path, key)
    if done is not None:
        return done
    if path.exists():
        raise HpoError(f"{path}: made with other settings than {key}; use another --out or delete it")
    budget = budget_of(table, factor)
    cpu = time.process_time()
    if kind(method) == "peer":
        rows = []
        for i, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
            run = run_peer_on_table(table, method, child, budget, max_trials, run=i)
            rows.append(summarise_run(table, run.records, budget, i, moves=run.moves, snaps=run.snaps))
    else:
        rows = _run_ours(table, method, settings_for(method, table, runs, seed, budget), Path(out), max_trials)
    doc = {"table": table.name, "method": method, **key, "oracle": is_oracle(method),
           "metric": table.metric.name, "direction": table.metric.direction, "target_loss": target_loss(table),
           "cpu_seconds": round(time.process_time() - cpu, 2), "max_trials": max_trials, "code": code,
           "results": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc) + "\n")
    os.replace(tmp, path)
    shutil.rmtree(Path(out) / "_work" / table.name / method, ignore_errors=True)
    return doc


def _run_ours(table: Table, method: str, settings: Settings, out: Path,
              max_trials: int | None) -> list[dict[str, Any]]:
    settings.max_trials = max_trials
    work = out / "_work" / table.name / method
    stamp = {"n_rows": table.n_rows, "budget": settings.budget, "runs": settings.num_runs, "seed": settings.seed,
             "max_trials": max_trials}
    stamp_path = work / "cell.json"
    if work.exists() and (not stamp_path.is_file() or json.loads(stamp_path.read_text()) != stamp):
        shutil.rmtree(work)  # a journal of another table build or other settings: start the cell again
    work.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps(stamp))
    run_experiment(settings, table, work, resume=True)
    by_run: dict[int, list[dict[str, Any]]] = {}
    for record in read_journal(work / "journal.jsonl"):
        by_run.setdefault(record["run"], []).append(record)
    rows = []
    for i in range(settings.num_runs):
        records = by_run.get(i, [])
        extra = {"arm_counts": dict(Counter(r["arm"] for r in records))} if kind(method) == "div" else {}
        rows.append(summarise_run(table, records, float(settings.budget), i, **extra))
    return rows


# -- projection of CPU time ------------------------------------------------------------------------------
def expected_trials(table: Table, factor: float, draws: int = 20, seed: int = 0) -> float:
    """Mean number of trials of a random-row run at `factor` x the default budget (an upper estimate: model
    arms favour slower rows)."""
    rng = np.random.default_rng(seed)
    budget = budget_of(table, factor)
    final = np.nanmean(table.seconds[:, :, -1], axis=1)
    counts = []
    for _ in range(draws):
        seconds = final[rng.permutation(table.n_rows)[: min(table.n_rows, 5000)]]
        counts.append(min(table.n_rows, int(np.searchsorted(np.cumsum(seconds), budget)) + 1))
    return float(np.mean(counts))


def calibrate(table: Table, method: str, trials: tuple[int, int, int] = (40, 100, 160),
              seed: int = 123) -> dict[str, float]:
    """CPU seconds per trial of `method` on `table` as a + b n over the trial number n.

    The same seeded run is stopped after each of `trials` trials (each a prefix of the next); the cost of the
    trials between two stops, divided by their number, is the cost at their midpoint; a line through the two
    midpoints gives a and b (b >= 0). Start-up costs (imports, first fits) fall in the first stretch only.
    """
    import tempfile

    costs = []
    for n in trials:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.process_time()
            doc = run_cell(table, method, 1, seed, Path(tmp), factor=4.0, max_trials=n)
            costs.append(time.process_time() - start)
        if doc["results"][0]["trials"] < n:
            raise HpoError(f"calibration of {method} on {table.name}: the budget ended before {n} trials")
    (n0, n1, n2), (c0, c1, c2) = trials, costs
    m1, m2 = (c1 - c0) / (n1 - n0), (c2 - c1) / (n2 - n1)
    b = max(0.0, (m2 - m1) / ((n2 - n0) / 2))
    a = max(0.0, m1 - b * (n0 + n1) / 2)
    return {"a": a, "b": b, **{f"cpu_{n}": round(c, 3) for n, c in zip(trials, costs)}}


def projected_seconds(cost: dict[str, float], trials: float, runs: int) -> float:
    """Projected CPU seconds of a cell: runs x (a T + b T^2 / 2) + 2 ms per trial (runner, journal, replay)."""
    return runs * (cost["a"] * trials + cost["b"] * trials**2 / 2 + 0.002 * trials)
