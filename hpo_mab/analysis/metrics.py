"""Metrics over journal records on a lookup table: incumbents' true values, regret, time to goal.

Regret = true value of the incumbent minus the table's best true value (as a loss, so >= 0); normalised
regret divides it by (median true value - best true value). Only finished trials become incumbents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hpo_mab.surrogates import Table

FINISHED = ("init", "complete")


def normalised_regret(table: Table, row: int | None) -> float:
    """(true loss of `row` - best true loss) / (median true loss - best true loss); 1.0 with no incumbent."""
    losses = table.true_losses
    best, median = float(np.min(losses)), float(np.median(losses))
    if row is None:
        return 1.0
    return float((losses[row] - best) / max(median - best, 1e-12))


def incumbent_rows(records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, list[int | None]]:
    """For each trial of one run in order: the clock at its end and the incumbent's row after it."""
    clocks, rows = [], []
    best_loss, best_row = np.inf, None
    for r in records:
        if r["state"] in FINISHED and r["loss"] is not None and r["loss"] < best_loss:
            best_loss, best_row = r["loss"], r["row"]
        clocks.append(r["clock"])
        rows.append(best_row)
    return np.asarray(clocks, dtype=float), rows


def regret_at(table: Table, records: Sequence[dict[str, Any]], times: Sequence[float]) -> list[float]:
    """Normalised regret of the incumbent at each of `times` (simulated seconds) for one run."""
    clocks, rows = incumbent_rows(records)
    out = []
    for t in times:
        k = int(np.searchsorted(clocks, t, side="right")) - 1
        out.append(normalised_regret(table, rows[k] if k >= 0 else None))
    return out


def true_value_curve(table: Table, records: Sequence[dict[str, Any]], grid: np.ndarray) -> np.ndarray:
    """True value (metric units) of the incumbent on a time grid; NaN before the first finished trial."""
    clocks, rows = incumbent_rows(records)
    idx = np.searchsorted(clocks, grid, side="right") - 1
    out = np.full(grid.shape, np.nan)
    for i, k in enumerate(idx):
        if k >= 0 and rows[k] is not None:
            out[i] = table.true_values[rows[k]]
    return out
