"""What every figure shares: incumbent curves on a time grid, one colour per method, axis scales, saving.

A run's curve at time t is the value after its last trial ended by t (a step function): the incumbent's
normalised regret on tables (1 before the first finished trial), else the incumbent's observed value.
Across runs the figures draw the median and the interquartile band (25th to 75th percentile).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GRID_POINTS = 101
ARM_COLORS = "tab20"
FORMATS = (".png", ".pdf", ".svg")


def use_agg() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def method_colors(names: Sequence[str]) -> dict[str, Any]:
    """One colour per method, the same in every figure: tab10 for up to 10 methods, tab20 up to 20, then a
    continuous colour map."""
    plt = use_agg()
    n = len(names)
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20" if n <= 20 else "turbo")
    return {m: cmap(i if n <= 20 else i / max(1, n - 1)) for i, m in enumerate(names)}


def uses_regret(problem: dict[str, Any]) -> bool:
    """Whether a problem has true values (a table), so curves show normalised regret."""
    return not problem.get("live", False) and "target" in problem


def quantity(problem: dict[str, Any]) -> str:
    return "regret" if uses_regret(problem) else "inc_value"


def time_label(problem: dict[str, Any]) -> str:
    return "wall-clock time (s)" if problem.get("live") else "simulated time (s)"


def value_label(problem: dict[str, Any]) -> str:
    if uses_regret(problem):
        return "normalised regret of the incumbent\n(0 = table's best, 1 = its median)"
    better = "higher" if problem.get("direction") == "max" else "lower"
    return f"best {problem.get('metric', 'value')} so far ({better} is better)"


def run_curves(trials: pd.DataFrame, column: str, grid: np.ndarray) -> np.ndarray:
    """(runs, grid) values of `column` after each run's last trial ended by each grid time."""
    out = []
    fill = 1.0 if column == "regret" else np.nan
    for _, run in trials.groupby("run", sort=True):
        clocks = run["clock"].to_numpy(dtype=float)
        values = run[column].to_numpy(dtype=float)
        idx = np.searchsorted(clocks, grid, side="right") - 1
        out.append(np.where(idx >= 0, values[np.maximum(idx, 0)], fill))
    return np.vstack(out) if out else np.empty((0, grid.size))


def grid_of(problem: dict[str, Any], trials: pd.DataFrame | None = None) -> np.ndarray:
    end = float(problem.get("budget") or 0.0)
    if trials is not None and len(trials):
        end = max(end, float(trials["clock"].max())) if not end else end
    return np.linspace(0.0, max(end, 1e-9), GRID_POINTS)


def band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, 25th and 75th percentiles over runs (NaN where no run has a value yet)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: before any run's first trial
        low, med, high = np.nanpercentile(curves, [25, 50, 75], axis=0)
    return med, low, high


def log_scale(ax: Any, values: np.ndarray, axis: str = "y") -> bool:
    """A symmetric-log scale when the positive values span two decades or more (zeros stay on the axis:
    linear below the smallest positive decade). Returns whether it was set."""
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size < 2 or positive.max() / positive.min() < 100 or np.any(values[np.isfinite(values)] < 0):
        return False
    linthresh = 10 ** math.floor(math.log10(positive.min()))
    (ax.set_yscale if axis == "y" else ax.set_xscale)("symlog", linthresh=linthresh, linscale=0.5)
    return True


def panels(n: int, width: float = 4.2, height: float = 3.2, ncols: int = 3) -> tuple[Any, list[Any]]:
    """A figure with n panels in rows of up to `ncols`; unused axes hidden."""
    plt = use_agg()
    cols = min(n, ncols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols + 2.4, height * rows + 0.6), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def legend_outside(fig: Any, handles: list[Any], labels: list[str], title: str | None = None) -> None:
    """One legend for the whole figure, right of the panels (clear of the data)."""
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, title=title)


def save(fig: Any, stem: Path) -> list[Path]:
    """`stem`.png and `stem`.pdf, or the one file `stem` names (.png, .pdf, .svg); no timestamps in them."""
    plt = use_agg()
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    single = stem.suffix.lower() in FORMATS  # a file named by the user (`plot -o FILE`): that format only
    paths = [stem] if single else [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")]
    for path in paths:
        kind = path.suffix.lower()
        metadata = {"Software": None} if kind == ".png" else {"Creator": None} if kind == ".svg" else {
            "CreationDate": None, "Producer": None, "Creator": None}
        fig.savefig(path, dpi=120, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return paths
