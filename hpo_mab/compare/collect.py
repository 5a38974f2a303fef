"""The tables of a comparison folder, and loading them (the notebook API; a single run's OUTDIR: `rundir`).

What `report` reads is compact (a folder stays small enough to commit: see "Sizes" below):

- `curves.csv.gz`: the incumbent over time, one row per trial where a run's incumbent changes, plus each run's
  first and last trial (so every run is there, with its end clock): problem, method, run, number (the trial),
  clock (simulated seconds on tables, wall seconds live; when that trial ended), inc_value (the incumbent's
  observed value: best finished trial so far), inc_true (its true value, tables), regret (its normalised
  regret, `hpo_mab.analysis.metrics.normalised_regret`: 0 the table's best row, 1 its median; 1 before the
  first finished trial), inc_row (its table row). A run's curve is a step function of these rows, the same as
  over all its trials (runs whose clock ever goes back keep every trial, so that this stays exact).
- `arms.csv.gz`: for DIV methods, how many trials each arm proposed in each of `ARM_BINS` (50) equal bins of
  the problem's budget: problem, method, run, bin (0..49, by the trial's end clock; past the budget: the last
  bin), arm, count (rows with a count of 0 left out).
- `summary.csv`: one row per run: trials, final regret and true value, best observed value, end clock, regret
  at 25% and 50% of the budget, time to the table's top 1% by true value (`time_to_target`, NaN: not within the
  budget), time to the goal of GOAL runs, total and median proposal seconds, moves and snaps (peers), stop
  reason. Every per-run number of the report (ranks, tests, medians, Kaplan-Meier times, success curves,
  trials, moves, proposal times) comes from here.
- `compare.json`: the experiment (methods, problems with budgets, targets, metric directions), missing peers.
- `trials.csv.gz`, only with `hpo-runner compare --full-trials` (and in folders written before the compact
  tables): one row per trial: problem, method, run, number, arm, state, clock, value (observed, metric units),
  row, proposal_seconds, seconds, moved/snapped (peers: the asked configuration's nearest row was used, or it
  was not a row), inc_value, inc_true, regret. `report` does not need it; where curves.csv.gz or arms.csv.gz
  is missing it derives them from it (`compact`), so old folders still report, to the same numbers.

Sizes (experiments/quick.yaml, 75 runs of about 20 trials): trials.csv.gz about 46 bytes per trial; curves and
arms together a few hundred bytes per run whatever its length (the incumbent changes about log(trials) times).
The journals under cells/ hold everything and `compare --full-trials` rewrites trials.csv.gz from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo_mab.analysis.metrics import FINISHED, normalised_regret
from hpo_mab.compare.files import NUMBER, check_keys, read_csv, read_json
from hpo_mab.errors import HpoError
from hpo_mab.journal import read_journal

KEYS = ["problem", "method", "run"]
FIELDS = ["run", "number", "arm", "state", "clock", "value", "loss", "row", "proposal_seconds", "seconds"]
FRACTIONS = (0.25, 0.5)
ARM_BINS = 50
CURVES, ARMS, TRIALS = "curves.csv.gz", "arms.csv.gz", "trials.csv.gz"
CURVE_COLUMNS = [*KEYS, "number", "clock", "inc_value", "inc_true", "regret", "inc_row"]
ARM_COLUMNS = [*KEYS, "bin", "arm", "count"]
# What the loaders require of the files (report reads proposal_median where summary.csv has it; older folders).
TRIAL_COLUMNS = [*KEYS, "number", "arm", "clock", "row", "inc_value", "inc_true", "regret"]
SUMMARY_COLUMNS = [*KEYS, "kind", "trials", "final_regret", "best_value", "regret_25", "regret_50", "time_to_target",
                   "time_to_goal", "proposal_seconds", "moves", "snaps"]
INFO_KEYS = {"name": str, "path": str, "seed": int, "runs": int, "criterion": str, "problems": dict, "methods": list}
PROBLEM_KEYS = {"source": str, "metric": str, "direction": str, "budget": NUMBER}
METHOD_KEYS = {"name": str, "kind": str, "definition": str}
GZIP = {"method": "gzip", "mtime": 0}


def records_frame(records: list[dict[str, Any]], problem: str, method: str) -> pd.DataFrame:
    """Journal records as the trials table's first columns (no incumbents yet)."""
    frame = pd.DataFrame.from_records(records, columns=[*FIELDS, "info"])
    info = frame.pop("info")
    moved = info.map(lambda i: bool(i) and bool(i.get("moved", False)))
    snapped = info.map(lambda i: bool(i) and "asked" in i) & ~moved
    frame.insert(0, "method", method)
    frame.insert(0, "problem", problem)
    frame["moved"], frame["snapped"] = moved.astype(bool), snapped.astype(bool)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def add_incumbents(frame: pd.DataFrame, table: Any | None) -> pd.DataFrame:
    """inc_value, inc_true and regret columns; the incumbent is the first finished trial of least loss."""
    loss = frame["loss"].where(frame["state"].isin(FINISHED)).astype(float)
    groups = [frame[k] for k in KEYS]
    best = loss.fillna(np.inf).groupby(groups).cummin()
    improved = loss < best.groupby(groups).shift(fill_value=np.inf)
    frame["inc_value"] = frame["value"].where(improved).astype(float).groupby(groups).ffill()
    inc_row = frame["row"].where(improved).groupby(groups).ffill()
    if table is None:
        frame["inc_true"], frame["regret"] = np.nan, np.nan
    else:
        rows = inc_row.dropna().astype(int).unique()
        frame["inc_true"] = inc_row.map({r: float(table.true_values[r]) for r in rows}).astype(float)
        frame["regret"] = inc_row.map({r: normalised_regret(table, int(r)) for r in rows}).astype(float).fillna(1.0)
    return frame.drop(columns=["loss"])


def summarise(trials: pd.DataFrame, info: dict[str, Any], stops: dict[tuple, dict[str, Any]] | None = None
              ) -> pd.DataFrame:
    """One row per run (see the module docstring); `stops`: the runner's run summaries by (problem, method, run)."""
    problems = info["problems"]
    kinds = {m["name"]: m["kind"] for m in info.get("methods", [])}
    groups = trials.groupby(KEYS, sort=False)
    out = groups.tail(1).set_index(KEYS)[["regret", "inc_true", "inc_value", "clock"]].rename(
        columns={"regret": "final_regret", "inc_true": "final_true_value", "inc_value": "best_value",
                 "clock": "end_clock"})
    out.insert(0, "trials", groups.size())
    budget = trials["problem"].map({k: v["budget"] for k, v in problems.items()})
    for f in FRACTIONS:
        early = trials[trials["clock"] <= f * budget].groupby(KEYS)["regret"].last()
        out[f"regret_{int(f * 100)}"] = early.reindex(out.index).fillna(1.0).where(out["final_regret"].notna())
    target = trials["problem"].map({k: v.get("target", np.nan) for k, v in problems.items()})
    maximise = trials["problem"].map({k: v["direction"] == "max" for k, v in problems.items()})
    hit = np.where(maximise, trials["inc_true"] >= target, trials["inc_true"] <= target)
    out["time_to_target"] = trials[hit].groupby(KEYS)["clock"].min().reindex(out.index)
    goal = trials["problem"].map({k: v.get("goal") for k, v in problems.items()}).astype(float)
    done = trials["state"].isin(FINISHED)
    reach = done & np.where(maximise, trials["value"] >= goal, trials["value"] <= goal)
    out["time_to_goal"] = trials[reach].groupby(KEYS)["clock"].min().reindex(out.index)
    out["proposal_seconds"] = groups["proposal_seconds"].sum()
    out["proposal_median"] = groups["proposal_seconds"].median()
    out["moves"], out["snaps"] = groups["moved"].sum(), groups["snapped"].sum()
    out = out.reset_index()
    out.insert(2, "kind", out["method"].map(kinds).fillna("arm"))
    stops = stops or {}
    out["stop_reason"] = [stops.get(k, {}).get("stop_reason") or _stop(r, problems[r.problem])
                          for k, r in zip(out[KEYS].itertuples(index=False, name=None), out.itertuples())]
    return out


def _stop(row: Any, problem: dict[str, Any]) -> str:
    if not pd.isna(row.time_to_goal):
        return "goal reached"
    return "time budget exhausted" if row.end_clock >= problem["budget"] else "max trials or rows"


def collect(out: Path, info: dict[str, Any], cells: list[Any], full: bool = False
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every cell's trials, write the compact tables (curves.csv.gz, arms.csv.gz), summary.csv and, with
    `full`, trials.csv.gz; returns the trials and the summary."""
    from hpo_mab.compare.cells import build_problem, peer_records

    frames, stops = [], {}
    for cell in cells:
        if cell.method.peer is not None:
            records = peer_records(cell.path, cell.runs)
        else:
            records = [r for r in read_journal(cell.path / "journal.jsonl") if r["run"] < cell.runs]
            for line in (cell.path / "runs.jsonl").read_text().splitlines():
                doc = json.loads(line)
                stops[(cell.problem.id, cell.method.name, doc["run"])] = doc
        problem = build_problem(cell.problem)
        frames.append(add_incumbents(records_frame(records, cell.problem.id, cell.method.name), problem.table))
    trials = pd.concat(frames, ignore_index=True)
    summary = summarise(trials, info, stops)
    write_tables(out, trials, summary, info, full)
    return trials, summary


def write_tables(out: Path, trials: pd.DataFrame, summary: pd.DataFrame, info: dict[str, Any],
                 full: bool = False) -> None:
    """The compact tables and summary.csv; trials.csv.gz with `full`, else a stale one is removed (it would
    disagree with the rest after a rerun; `compare --full-trials` writes it again from the journals)."""
    curves, arms = compact(trials, info)
    curves.to_csv(out / CURVES, index=False, compression=GZIP)
    arms.to_csv(out / ARMS, index=False, compression=GZIP)
    summary.to_csv(out / "summary.csv", index=False)
    if full:
        trials.to_csv(out / TRIALS, index=False, compression=GZIP)
    else:
        (out / TRIALS).unlink(missing_ok=True)


def div_methods(info: dict[str, Any]) -> list[str]:
    return [m["name"] for m in info.get("methods", []) if m.get("kind") == "div"]


def compact(trials: pd.DataFrame, info: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, arms): the compact tables of a trials table (see the module docstring)."""
    return incumbent_rows(trials), arm_counts(trials, info["problems"], div_methods(info))


def incumbent_rows(trials: pd.DataFrame) -> pd.DataFrame:
    """The rows of curves.csv.gz: each run's first and last trial and those where its incumbent changes; every
    trial of a run whose clock goes back somewhere (its step function is then not a function of the rest)."""
    groups = [trials[k] for k in KEYS]
    values = trials[["inc_value", "inc_true", "regret"]]
    before = values.groupby(groups).shift()
    same = ((values == before) | (values.isna() & before.isna())).all(axis=1)
    first = ~trials.duplicated(KEYS, keep="first")
    last = ~trials.duplicated(KEYS, keep="last")
    back = trials["clock"].groupby(groups).diff() < 0
    unsorted = back.groupby(groups).transform("any")
    keep = ~same | first | last | unsorted
    changed = ~same | first
    row = trials["row"] if "row" in trials else pd.Series(pd.NA, index=trials.index, dtype="Int64")
    inc_row = row.where(changed & trials["inc_value"].notna()).groupby(groups).ffill().astype("Int64")
    return trials.assign(inc_row=inc_row).loc[keep, CURVE_COLUMNS].reset_index(drop=True)


def arm_counts(trials: pd.DataFrame, problems: dict[str, dict[str, Any]], methods: list[str] | None = None,
               bins: int = ARM_BINS) -> pd.DataFrame:
    """Trials per (problem, method, run, bin of the budget, arm) for `methods` (all where None); see the module
    docstring."""
    here = trials if methods is None else trials[trials["method"].isin(methods)]
    budget = here["problem"].map({k: v["budget"] for k, v in problems.items()}).astype(float)
    part = np.clip((here["clock"] / budget * bins).astype(int), 0, bins - 1)
    counts = here.assign(bin=part).groupby([*KEYS, "bin", "arm"], sort=True).size().rename("count")
    return counts.reset_index().astype({"bin": int, "count": int})


# -- loading (the notebook API) -------------------------------------------------------------------------------
def _need(path: Path) -> Path:
    if not path.is_file():
        raise HpoError(f"{path.parent}: not a compare folder ({path.name} is missing); run hpo-runner compare "
                       "SPEC.yaml -o DIR first")
    return path


def load(folder: str | Path) -> pd.DataFrame:
    """The trials of a compare folder: one row per trial from trials.csv.gz where the folder has it (`compare
    --full-trials`; the columns are in the module docstring), else the compact incumbent rows of curves.csv.gz
    (`load_curves`: each run's first and last trial and those where its incumbent changes; no arm, state, value,
    proposal or peers' columns: those are in `load_arms` and `load_summary`)."""
    folder = Path(folder)
    if (folder / TRIALS).is_file() or not (folder / CURVES).is_file():
        return load_trials(folder)
    return load_curves(folder)


def load_trials(folder: str | Path) -> pd.DataFrame:
    """trials.csv.gz, one row per trial (written by `compare --full-trials` only)."""
    return read_csv(_need(Path(folder) / TRIALS), TRIAL_COLUMNS, dtype={"arm": str, "state": str, "row": "Int64"})


def load_curves(folder: str | Path) -> pd.DataFrame:
    """The incumbent rows (curves.csv.gz; derived from trials.csv.gz where a folder lacks it): what the
    convergence and mean-rank figures need, the same step functions as all the trials give."""
    path = Path(folder) / CURVES
    if not path.is_file() and (Path(folder) / TRIALS).is_file():
        return incumbent_rows(load_trials(folder))
    return read_csv(_need(path), CURVE_COLUMNS, dtype={"inc_row": "Int64"})


def load_arms(folder: str | Path) -> pd.DataFrame:
    """The DIV methods' arm counts per bin of the budget (arms.csv.gz; derived from trials.csv.gz where a folder
    lacks it)."""
    path = Path(folder) / ARMS
    if not path.is_file() and (Path(folder) / TRIALS).is_file():
        info = load_info(folder)
        return arm_counts(load_trials(folder), info["problems"], div_methods(info))
    return read_csv(_need(path), ARM_COLUMNS, dtype={"arm": str})


def load_summary(folder: str | Path) -> pd.DataFrame:
    """The runs of a compare folder, one row per run."""
    return read_csv(_need(Path(folder) / "summary.csv"), SUMMARY_COLUMNS)


def load_info(folder: str | Path) -> dict[str, Any]:
    """The experiment a compare folder holds: methods, problems (budgets, targets, directions), missing peers."""
    path = _need(Path(folder) / "compare.json")
    hint = f"delete it and rerun hpo-runner compare SPEC -o {path.parent} (its finished cells are kept)"
    info = read_json(path, INFO_KEYS, hint)
    for name, problem in info["problems"].items():
        check_keys(path, problem, PROBLEM_KEYS, hint, f"problem {name!r}")
    for i, method in enumerate(info["methods"]):
        check_keys(path, method, METHOD_KEYS, hint, f"method {i + 1}")
    return info
