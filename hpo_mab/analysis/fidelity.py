"""How well a table's early values predict its final ones: the bound on what any early-stopping rule can gain.

For each epoch k, over the table's rows:

- `spearman`: Spearman's rank correlation (`scipy.stats.spearmanr`) between each row's mean-over-seeds value
  at epoch k and its true value (`Table.true_values`, the mean over seeds at the last epoch);
- `top_kept`: the share of the top rows by true value (default the best 1%, at least one row, best as the
  metric's direction says) that are among the best third at epoch k: what a rung keeping the top 1/3 of all
  rows (floor(n / 3), as Hyperband's rungs with eta = 3) would keep. Ties at the cut are shared out as a
  random tie-break would, in expectation (at epoch 1 many rows share a value).

A row whose true value or any selected epoch's mean is NaN (no seed recorded there) is dropped before any of
it; `dropped` says how many.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hpo_mab.surrogates import Table


def early_final_correlation(table: Table, epochs: Sequence[int] | None = None, top: float = 0.01,
                            keep: float = 1 / 3) -> pd.DataFrame:
    """Per epoch (counted from 1; default every epoch): rows, spearman, top_kept (see the module docstring).

    The frame's `attrs` hold `table`, `rows` (used), `dropped` (rows with NaN), `top_rows` (how many rows are
    the top `top` share) and `kept_rows` (how many the rung keeps, floor(rows * keep)).
    """
    n_epochs = table.n_epochs
    chosen = list(range(1, n_epochs + 1)) if epochs is None else [int(k) for k in epochs]
    bad = [k for k in chosen if not 1 <= k <= n_epochs]
    if bad:
        raise ValueError(f"epochs must lie in 1..{n_epochs} for table {table.name!r}, but got {bad}")
    if not 0 < top <= 1 or not 0 < keep <= 1:
        raise ValueError(f"top and keep must lie in (0, 1], but got top={top}, keep={keep}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-NaN slice: a dropped row
        early = np.nanmean(table.values[:, :, [k - 1 for k in chosen]], axis=1)  # (rows, len(chosen))
    final = np.asarray(table.true_values, dtype=float)
    ok = np.isfinite(final) & np.all(np.isfinite(early), axis=1)
    early_loss = np.asarray(table.metric.to_loss(early[ok]), dtype=float)
    final_loss = np.asarray(table.metric.to_loss(final[ok]), dtype=float)
    n = int(ok.sum())
    n_top = max(1, math.ceil(top * n - 1e-9)) if n else 0
    n_keep = max(1, math.floor(keep * n + 1e-9)) if n else 0
    best = np.argsort(final_loss, kind="stable")[:n_top]
    out = []
    for j, k in enumerate(chosen):
        col = early_loss[:, j]
        out.append({"epoch": k, "rows": n, "spearman": _spearman(col, final_loss),
                    "top_kept": _kept_share(col, best, n_keep) if n else math.nan})
    frame = pd.DataFrame(out, columns=["epoch", "rows", "spearman", "top_kept"])
    frame.attrs.update(table=table.name, rows=n, dropped=int((~ok).sum()), top_rows=n_top, kept_rows=n_keep,
                       top=top, keep=keep)
    return frame


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho, NaN where it is undefined (fewer than 2 rows, or a constant column)."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(stats.spearmanr(a, b).statistic)


def _kept_share(loss: np.ndarray, rows: np.ndarray, n_keep: int) -> float:
    """Expected share of `rows` among the `n_keep` smallest of `loss`, ties at the cut broken at random."""
    cut = np.sort(loss)[n_keep - 1]
    better = int(np.sum(loss < cut))
    tied = int(np.sum(loss == cut))
    chance = (n_keep - better) / tied  # each row tied at the cut is kept with this probability
    kept = np.where(loss[rows] < cut, 1.0, np.where(loss[rows] == cut, chance, 0.0))
    return float(kept.mean())


def correlation_markdown(frame: pd.DataFrame) -> str:
    """A Markdown table of `early_final_correlation`'s result, with a line saying what was dropped."""
    a = frame.attrs
    top_pct = f"{100 * a.get('top', 0.01):g}%"
    keep = a.get("keep", 1 / 3)
    keep_txt = "1/3" if abs(keep - 1 / 3) < 1e-12 else f"{keep:g}"
    lines = [f"Early vs final values on {a.get('table', '?')}: {a.get('rows', '?')} rows "
             f"({a.get('dropped', 0)} dropped for NaN); top {top_pct} = {a.get('top_rows', '?')} rows; "
             f"a top-{keep_txt} rung keeps {a.get('kept_rows', '?')}.", "",
             f"| epoch | Spearman rho | top {top_pct} in top {keep_txt} |", "|---:|---:|---:|"]
    for r in frame.itertuples(index=False):
        lines.append(f"| {r.epoch} | {r.spearman:.3f} | {r.top_kept:.3f} |")
    return "\n".join(lines) + "\n"
