"""Per-experiment outputs from the journal: a CSV of all trials and a convergence plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hpo_mab.journal import read_journal


def _curve_text(curve: object) -> str:
    """A journaled curve as space-separated numbers; an epoch that was not finite (null) reads nan."""
    if not isinstance(curve, list):
        return ""
    return " ".join("nan" if v is None else f"{v:.6g}" for v in curve)


def trials_frame(journal_path: str | Path) -> pd.DataFrame:
    """One row per trial; configuration values spread into `cfg.<name>` columns."""
    records = read_journal(journal_path)
    if not records:
        return pd.DataFrame()
    frame = pd.DataFrame.from_records(records)
    configs = pd.DataFrame.from_records(frame.pop("config").tolist()).add_prefix("cfg.")
    frame["curve"] = frame["curve"].map(_curve_text) if "curve" in frame else ""
    frame["info"] = frame["info"].map(lambda i: "" if not i else str(i))
    return pd.concat([frame, configs], axis=1)


def write_trials_csv(journal_path: str | Path, out: str | Path) -> pd.DataFrame:
    frame = trials_frame(journal_path)
    frame.to_csv(out, index=False)
    return frame


def plot_convergence(frame: pd.DataFrame, out: str | Path, title: str, metric: str, maximise: bool) -> None:
    """Best observed value against (simulated) time, one thin line per run and the median in bold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    finished = frame[frame["state"].isin(["init", "complete"])] if len(frame) else frame
    grid_end = float(frame["clock"].max()) if len(frame) else 1.0
    grid = np.linspace(0.0, grid_end, 200)
    curves = []
    for _, run in finished.groupby("run"):
        best = run["value"].cummax() if maximise else run["value"].cummin()
        ax.step(run["clock"], best, where="post", alpha=0.25, lw=0.8, color="tab:blue")
        idx = np.searchsorted(run["clock"].to_numpy(), grid, side="right") - 1
        curves.append(np.where(idx >= 0, best.to_numpy()[np.maximum(idx, 0)], np.nan))
    if curves:
        stacked = np.vstack(curves)
        started = ~np.all(np.isnan(stacked), axis=0)  # before any run's first finished trial: no median
        median = np.full(grid.shape, np.nan)
        median[started] = np.nanmedian(stacked[:, started], axis=0)
        ax.plot(grid, median, color="tab:blue", lw=2,
                label="median over runs")
        ax.legend()
    ax.set_xlabel("time (s, simulated on tables)")
    ax.set_ylabel(f"best {metric} so far")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
