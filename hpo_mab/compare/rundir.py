"""A single run's OUTDIR (`hpo-runner TABLE N ...`: journal.jsonl, experiment.json) as the trials table of a
compare folder (`hpo_mab.compare.collect`), so that `hpo-runner plot` draws runs and comparisons alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo_mab.compare.collect import add_incumbents, records_frame
from hpo_mab.errors import HpoError
from hpo_mab.journal import read_journal


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
