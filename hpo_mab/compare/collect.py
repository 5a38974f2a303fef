"""The tables of a comparison folder, and loading them (the notebook API), from compare folders or single runs.

- `trials.csv.gz`: one row per trial: problem, method, run, number, arm, state, clock (simulated seconds on
  tables, wall seconds live), value (observed, metric units), row (table row), inc_value (the incumbent's
  observed value: best finished trial so far), inc_true (the incumbent's true value, tables), regret (the
  incumbent's normalised regret, `hpo_mab.analysis.metrics.normalised_regret`: 0 the table's best row, 1 its
  median; 1 before the first finished trial), proposal_seconds, seconds, moved/snapped (peers: the asked
  configuration's nearest row was used, or it was not a row).
- `summary.csv`: one row per run: final regret and true value, regret at 25% and 50% of the budget, time to the
  table's top 1% by true value (`time_to_target`, NaN: not within the budget), time to the goal of GOAL runs,
  trials, stop reason, proposal seconds, moves and snaps.
- `compare.json`: the experiment (methods, problems with budgets, targets, metric directions), missing peers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo_mab.analysis.metrics import FINISHED, normalised_regret
from hpo_mab.errors import HpoError
from hpo_mab.journal import read_journal

KEYS = ["problem", "method", "run"]
FIELDS = ["run", "number", "arm", "state", "clock", "value", "loss", "row", "proposal_seconds", "seconds"]
FRACTIONS = (0.25, 0.5)


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


def collect(out: Path, info: dict[str, Any], cells: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every cell's trials, write trials.csv.gz and summary.csv; returns both frames."""
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
    write_tables(out, trials, summary)
    return trials, summary


def write_tables(out: Path, trials: pd.DataFrame, summary: pd.DataFrame) -> None:
    trials.to_csv(out / "trials.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})
    summary.to_csv(out / "summary.csv", index=False)


# -- loading (the notebook API) -------------------------------------------------------------------------------
def _need(path: Path) -> Path:
    if not path.is_file():
        raise HpoError(f"{path.parent}: not a compare folder ({path.name} is missing); run hpo-runner compare "
                       "SPEC.yaml -o DIR first")
    return path


def load(folder: str | Path) -> pd.DataFrame:
    """The trials of a compare folder, one row per trial (see the module docstring for the columns)."""
    frame = pd.read_csv(_need(Path(folder) / "trials.csv.gz"), dtype={"arm": str, "state": str})
    frame["row"] = frame["row"].astype("Int64")
    return frame


def load_summary(folder: str | Path) -> pd.DataFrame:
    """The runs of a compare folder, one row per run."""
    return pd.read_csv(_need(Path(folder) / "summary.csv"))


def load_info(folder: str | Path) -> dict[str, Any]:
    """The experiment a compare folder holds: methods, problems (budgets, targets, directions), missing peers."""
    path = _need(Path(folder) / "compare.json")
    return json.loads(path.read_text())


def load_run_dir(folder: str | Path, label: str | None = None, surrogates: str | Path | None = None
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A single-run OUTDIR of `hpo-runner TABLE N ...` (journal.jsonl + experiment.json) as a trials table and
    its problem info; true values and regret where its table loads (by name, from `surrogates` or ours)."""
    from hpo_mab.outdir import read_json_object
    from hpo_mab.surrogates import DEFAULT_DIR, get_table

    folder = Path(folder)
    settings = read_json_object(folder / "experiment.json")
    records = read_journal(folder / "journal.jsonl")
    if not records:
        raise HpoError(f"{folder}: the journal holds no trial")
    what = settings.get("mode", "?") + (f"-{settings['spec']}" if settings.get("spec") not in (None, settings.get(
        "mode")) else "")
    method = label or f"{folder.name} ({what})"
    table = None
    if not settings.get("train") and not settings.get("script"):
        try:
            table = get_table(str(settings["config_name"]), Path(surrogates or DEFAULT_DIR))
        except (HpoError, OSError, KeyError):
            table = None
    name = str(settings.get("config_name", folder.name))
    trials = add_incumbents(records_frame(records, name, method), table)
    live = table is None
    problem = {"source": name, "live": live, "budget": float(settings.get("budget") or trials["clock"].max()),
               "goal": settings.get("goal") if settings.get("criterion") == "GOAL" else None,
               "metric": table.metric.name if table is not None else "value",
               "direction": table.metric.direction if table is not None else _direction(records)}
    if table is not None:
        losses = table.true_losses
        problem.update(target=float(table.goal_at_top(1.0)), rows=table.n_rows,
                       best_true=float(table.metric.from_loss(np.min(losses))),
                       median_true=float(table.metric.from_loss(np.median(losses))))
    return trials, problem


def _direction(records: list[dict[str, Any]]) -> str:
    """min or max, from how loss relates to value in the journal (a live run's metric is not stored apart)."""
    for r in records:
        if r.get("loss") is not None and r.get("value") not in (None, 0):
            return "min" if r["loss"] == r["value"] else "max"
    return "min"
