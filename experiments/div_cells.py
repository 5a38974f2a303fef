"""Cells of the diversification benchmark (issue 3): one (table, method) pair, its seeded runs, its file.

A cell's runs go through `run_experiment` (our arms and strategies) or `run_optuna_on_table` (Optuna's
TPESampler) and are summarised into OUT/<table>/<method>.json: per run the normalised regret at 25%, 50% and
100% of the budget, the incumbent's final true value, the number of trials and the incumbent true-value curve
on a 50-point grid over the budget. Our methods journal into OUT/<table>/_work/<method>/ while they run, so a
killed cell resumes at its last trial; the work directory is removed once the cell file is written.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import make_sampler, optuna_distributions, run_optuna_on_table  # noqa: E402

from hpo_mab.analysis.metrics import regret_at, true_value_curve  # noqa: E402
from hpo_mab.arms import TableCandidates, make_arm  # noqa: E402
from hpo_mab.cli import parse_arms  # noqa: E402
from hpo_mab.errors import HpoError  # noqa: E402
from hpo_mab.history import History, Trial  # noqa: E402
from hpo_mab.journal import read_journal  # noqa: E402
from hpo_mab.runner import Settings, run_experiment  # noqa: E402
from hpo_mab.strategies import STRATEGIES  # noqa: E402
from hpo_mab.surrogates import Table  # noqa: E402

ARMS_CONF = Path(__file__).resolve().parents[1] / "run_conf" / "arms.json"
SINGLE_ARMS: dict[str, tuple[str, str | None]] = {
    "GP-EI": ("GP", "EI"), "GP-PI": ("GP", "PI"), "GP-UCB": ("GP", "UCB"), "RF-EI": ("RF", "EI"),
    "RF-PI": ("RF", "PI"), "RF-UCB": ("RF", "UCB"), "TPE": ("TPE", None), "GP-HLE-EI": ("GP-HLE", "EI"),
    "RANDOM": ("RANDOM", None),
}
DIV_METHODS: dict[str, str] = {f"DIV-{name}": name for name in STRATEGIES}
PEERS = ("optuna-tpe",)
METHODS = [*SINGLE_ARMS, *DIV_METHODS, *PEERS]
FRACTIONS = (0.25, 0.5, 1.0)
GRID_POINTS = 50


def portfolio() -> list[tuple[str, str | None]]:
    """The default DIV portfolio of run_conf/arms.json."""
    return parse_arms(json.loads(ARMS_CONF.read_text())["arms"], str(ARMS_CONF))


def is_oracle(method: str) -> bool:
    """Whether a method peeks at true table values (reported apart, never ranked)."""
    return method in DIV_METHODS and bool(getattr(STRATEGIES[DIV_METHODS[method]], "oracle", False))


def check_methods(methods: list[str]) -> None:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise HpoError(f"unknown method(s) {unknown}; expected some of {', '.join(METHODS)}")


def settings_for(method: str, table: Table, runs: int, seed: int, budget: float | None) -> Settings:
    if method in SINGLE_ARMS:
        mode, spec = SINGLE_ARMS[method]
        return Settings(config_name=table.name, num_runs=runs, mode=mode, spec=spec, budget=budget, seed=seed)
    return Settings(config_name=table.name, num_runs=runs, mode="DIV", spec=DIV_METHODS[method], budget=budget,
                    seed=seed, arms=portfolio())


def cell_path(out: Path, table: str, method: str) -> Path:
    return Path(out) / table / f"{method}.json"


def cell_key(table: Table, runs: int, seed: int, budget: float | None) -> dict[str, Any]:
    """What a finished cell must match to be reused (a rebuilt table changes rows and budget)."""
    return {"runs": runs, "seed": seed, "n_rows": table.n_rows,
            "budget": round(float(budget if budget is not None else table.default_budget_s), 6)}


def load_cell(path: Path, key: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A finished cell's document, or None if absent or made with other settings than `key`."""
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    if key is not None and any(doc.get(k) != v for k, v in key.items()):
        return None
    return doc


def summarise_run(table: Table, records: list[dict[str, Any]], budget: float, grid: np.ndarray,
                  index: int, **extra: Any) -> dict[str, Any]:
    """One run's row of a cell file."""
    curve = true_value_curve(table, records, grid)
    regrets = regret_at(table, records, [f * budget for f in FRACTIONS])
    final = curve[-1]
    return {"run": index, **{f"regret_{int(f * 100)}": r for f, r in zip(FRACTIONS, regrets)},
            "final_true_value": None if np.isnan(final) else float(final), "trials": len(records),
            "curve": [None if np.isnan(v) else float(v) for v in curve], **extra}


def run_cell(table: Table, method: str, runs: int, seed: int, out: Path, budget: float | None = None,
             max_trials: int | None = None) -> dict[str, Any]:
    """Run (or reuse) one cell and write its file; returns the cell document."""
    key = cell_key(table, runs, seed, budget)
    path = cell_path(out, table.name, method)
    done = load_cell(path, key)
    if done is not None:
        return done
    if path.exists():
        raise HpoError(f"{path}: made with other settings than {key}; use another --out or delete it")
    span = float(budget if budget is not None else table.default_budget_s)
    grid = np.linspace(span / GRID_POINTS, span, GRID_POINTS)
    cpu = time.process_time()
    if method in PEERS:
        rows = []
        for i, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
            peer = run_optuna_on_table(table, method, int(child.generate_state(1)[0]), span, max_trials)
            rows.append(summarise_run(table, peer.records, span, grid, i, repeats=peer.repeats))
    else:
        rows = _run_ours(table, method, settings_for(method, table, runs, seed, budget), path, grid, max_trials)
    doc = {"table": table.name, "method": method, **key, "oracle": is_oracle(method),
           "metric": table.metric.name, "direction": table.metric.direction,
           "cpu_seconds": round(time.process_time() - cpu, 2), "grid": grid.tolist(), "results": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc) + "\n")
    os.replace(tmp, path)
    shutil.rmtree(path.parent / "_work" / method, ignore_errors=True)
    return doc


def _run_ours(table: Table, method: str, settings: Settings, path: Path, grid: np.ndarray,
              max_trials: int | None) -> list[dict[str, Any]]:
    settings.max_trials = max_trials
    work = path.parent / "_work" / method
    stamp = {"n_rows": table.n_rows, "budget": float(grid[-1]), "runs": settings.num_runs, "seed": settings.seed,
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
        extra = {"arm_counts": dict(Counter(r["arm"] for r in records))} if method in DIV_METHODS else {}
        rows.append(summarise_run(table, records, float(grid[-1]), grid, i, **extra))
    return rows


# -- ranks ------------------------------------------------------------------------------------------------
def average_ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1 (smallest value), ties sharing the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def mean_ranks(medians: dict[str, dict[str, float]], methods: list[str]) -> tuple[dict[str, float], list[str]]:
    """Mean rank of each method over the tables where every one of `methods` has a value."""
    tables = [t for t, row in medians.items() if all(m in row for m in methods)]
    if not tables or not methods:
        return {}, tables
    ranks = np.array([average_ranks([medians[t][m] for m in methods]) for t in tables])
    return dict(zip(methods, ranks.mean(axis=0).tolist())), tables


# -- projection of CPU time ------------------------------------------------------------------------------
def _observed(table: Table, n_obs: int, rng: np.random.Generator) -> History:
    history = History(table.space.n_dims)
    for i, row in enumerate(rng.choice(table.n_rows, size=n_obs, replace=False)):
        value = float(table.values[row, 0, -1])
        history.append(Trial(0, i, "PROBE", table.config(int(row)), "complete", row=int(row), value=value,
                             loss=float(table.metric.to_loss(value))), table.encoded[row])
    return history


def arm_seconds(table: Table, n_obs: int = 100, proposals: int = 5, seed: int = 0) -> dict[str, float]:
    """Mean seconds per proposal of every single arm, every portfolio arm and optuna-tpe at `n_obs`."""
    import optuna

    rng = np.random.default_rng(seed)
    n_obs = min(n_obs, table.n_rows - proposals)
    history = _observed(table, n_obs, rng)
    candidates = TableCandidates(table.space, table.encoded, table.config)
    pairs = {**SINGLE_ARMS, **{f"{m}-{a}" if a else m: (m, a) for m, a in portfolio()}}
    out = {}
    for label, (model, acq) in pairs.items():
        arm = make_arm(model, acq, metric=table.metric)
        arm.propose(table.space, history, candidates, rng)  # warm-up (imports, caches)
        start = time.perf_counter()
        for _ in range(proposals):
            arm.propose(table.space, history, candidates, rng)
        out[label] = (time.perf_counter() - start) / proposals
    dists = optuna_distributions(table)
    study = optuna.create_study(direction="minimize", sampler=make_sampler("optuna-tpe", seed))
    study.add_trials([optuna.trial.create_trial(params=t.config, distributions=dists, value=t.loss)
                      for t in history.trials])
    start = time.perf_counter()
    for _ in range(proposals):
        study.ask(dists)
    out["optuna-tpe"] = (time.perf_counter() - start) / proposals
    return out


def method_seconds(method: str, arm_cost: dict[str, float]) -> float:
    """Seconds per proposal: the arm's; a strategy's mean arm's, or every arm's (+ a GP fit) for GP-Hedge."""
    if method in SINGLE_ARMS or method in PEERS:
        return arm_cost[method]
    costs = [arm_cost[f"{m}-{a}" if a else m] for m, a in portfolio()]
    if getattr(STRATEGIES[DIV_METHODS[method]], "wants_nominees", False):
        return float(sum(costs) + arm_cost["GP-EI"])
    return float(np.mean(costs))


def expected_trials(table: Table, budget: float | None = None, sims: int = 30, seed: int = 0) -> float:
    """Mean trials a run makes in the budget drawing rows and seeds at random (simulated on the table)."""
    span = budget if budget is not None else table.default_budget_s
    rng = np.random.default_rng(seed)
    counts = []
    for _ in range(sims):
        rows = rng.choice(table.n_rows, size=min(table.n_rows, 5000), replace=False)
        seconds = np.nan_to_num(table.seconds[rows, rng.integers(table.n_seeds, size=rows.size), -1])
        counts.append(min(table.n_rows, int(np.searchsorted(np.cumsum(seconds), span)) + 1))
    return float(np.mean(counts))
