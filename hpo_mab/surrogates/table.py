"""Lookup tables: recorded learning curves and training times, in memory and on disk.

On-disk format (`surrogates/<name>.npz`, written by `numpy.savez_compressed`; see surrogates/README.md):

- `values`  float32 (rows, seeds, epochs): the validation metric after each epoch, NaN where absent
  (a row with fewer seeds than the table).
- `seconds` float32 (rows, seeds, epochs): cumulative training seconds at the end of each epoch.
- `test`    float32 (rows, seeds, epochs), optional: the test metric.
- `param_<i>` (rows,): the i-th hyperparameter's value for each row; for `choice`/`ordered` kinds the
  index into the parameter's value list.
- `meta`    a JSON string: name, dataset, model, metric {name, kind, scale, direction, lower, upper},
  epochs, seeds, hardware, build_command, default_budget_s, space (see `space_to_dict`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.history import Direction, direction_of
from hpo_mab.space import Config, Space, space_from_dict, space_to_dict

METRIC_KINDS = ("accuracy", "error", "loss")


@dataclass(frozen=True)
class Metric:
    """What a table records: its name, kind, units and direction.

    kind: `accuracy` (in [0, scale]), `error` (in [0, 1]) or `loss` (unbounded above);
    scale: 1 for fractions, 100 for percent; direction: `max` or `min`.
    """

    name: str
    kind: str
    direction: str
    scale: float = 1.0
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in METRIC_KINDS:
            raise HpoError(f"metric kind must be one of {METRIC_KINDS}, but got {self.kind!r}")
        if self.direction not in ("max", "min"):
            raise HpoError(f"metric direction must be 'max' or 'min', but got {self.direction!r}")

    @property
    def sense(self) -> Direction:
        """The metric's `Direction`, the one place where a maximised metric's sign flips."""
        return direction_of(self.direction)

    def to_loss(self, value: float | np.ndarray) -> float | np.ndarray:
        """The minimised internal value (`Direction.to_loss`)."""
        return self.sense.to_loss(value)

    def from_loss(self, loss: float | np.ndarray) -> float | np.ndarray:
        """The value in the metric's units of a minimised loss (`Direction.from_loss`)."""
        return self.sense.from_loss(loss)

    def error(self, value: float | np.ndarray) -> float | np.ndarray:
        """The error e of issue 3: 1 - accuracy (accuracy/scale), else the error or loss itself."""
        if self.kind == "accuracy":
            return 1.0 - np.asarray(value) / self.scale
        return value

    def check_goal(self, goal: float) -> None:
        """Raise HpoError if a goal lies outside the metric's bounds."""
        if (self.lower is not None and goal < self.lower) or (self.upper is not None and goal > self.upper):
            raise HpoError(f"goal {goal} is outside the bounds of metric '{self.name}' "
                           f"[{self.lower}, {self.upper if self.upper is not None else 'inf'}]")

    def reached(self, value: float, goal: float) -> bool:
        return self.sense.reached(value, goal)


@dataclass
class Table:
    """A lookup table: configurations x seeds x epochs of a metric and cumulative seconds."""

    name: str
    space: Space
    columns: list[np.ndarray]
    values: np.ndarray
    seconds: np.ndarray
    metric: Metric
    test: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_seeds(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_epochs(self) -> int:
        return int(self.values.shape[2])

    @cached_property
    def seeds_per_row(self) -> np.ndarray:
        return np.sum(~np.isnan(self.values[:, :, -1]), axis=1)

    @cached_property
    def true_values(self) -> np.ndarray:
        """Each row's true value: the mean over its seeds of the final-epoch metric."""
        return np.nanmean(self.values[:, :, -1], axis=1)

    @cached_property
    def true_losses(self) -> np.ndarray:
        return np.asarray(self.metric.to_loss(self.true_values), dtype=float)

    @cached_property
    def encoded(self) -> np.ndarray:
        """Every row encoded to the unit cube, (rows, n_dims)."""
        blocks = []
        for p, col in zip(self.space.params, self.columns):
            if p.kind == "choice":
                blocks.append(np.eye(p.width)[col.astype(int)])
            elif p.kind == "ordered":
                n = len(p.values)
                blocks.append((col.astype(float) / (n - 1) if n > 1 else np.full(col.shape, 0.5))[:, None])
            else:
                blocks.append(_encode_numeric(p, col)[:, None])
        return np.hstack(blocks).astype(float)

    @cached_property
    def _python_columns(self) -> list[tuple[str, list]]:
        """Each parameter's values as a Python list (indexing numpy scalars per trial is slow)."""
        out = []
        for p, col in zip(self.space.params, self.columns):
            if p.kind in ("choice", "ordered"):
                out.append((p.name, [p.values[int(i)] for i in col]))
            elif p.kind in ("int", "intlog"):
                out.append((p.name, [int(v) for v in col]))
            else:
                out.append((p.name, [float(v) for v in col]))
        return out

    def config(self, row: int) -> Config:
        """The configuration of one row, in the parameters' own types."""
        return {name: values[row] for name, values in self._python_columns}

    @cached_property
    def median_trial_seconds(self) -> float:
        return float(np.nanmedian(self.seconds[:, :, -1]))

    @property
    def default_budget_s(self) -> float:
        """min(200, rows/10) median trials' worth of seconds, unless the metadata says otherwise."""
        if "default_budget_s" in self.meta:
            return float(self.meta["default_budget_s"])
        return min(200.0, self.n_rows / 10) * self.median_trial_seconds

    def top_rows(self, percent: float) -> np.ndarray:
        """Rows whose true value is at least as good as the `percent`-quantile (ties included)."""
        cut = np.quantile(self.true_losses, percent / 100.0)
        return np.flatnonzero(self.true_losses <= cut)

    def goal_at_top(self, percent: float) -> float:
        """The metric value (own units) that marks the top `percent`% of the table."""
        return float(self.metric.from_loss(np.quantile(self.true_losses, percent / 100.0)))

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name, "configurations": self.n_rows, "seeds": self.n_seeds, "epochs": self.n_epochs,
            "metric": self.metric.name, "kind": self.metric.kind, "direction": self.metric.direction,
            "default_budget_s": round(self.default_budget_s, 3), "top1_goal": self.goal_at_top(1.0),
            "dataset": self.meta.get("dataset"),
            "model": self.meta.get("model"),
        }


def _encode_numeric(p, col: np.ndarray) -> np.ndarray:
    lo, hi = p.bounds()
    return np.clip((p.transform(col.astype(float)) - lo) / (hi - lo), 0.0, 1.0)


def metric_from_dict(d: dict[str, Any]) -> Metric:
    if not isinstance(d, dict):
        raise HpoError(f"'metric' must be a mapping, but got {d!r}")
    return Metric(**{k: d[k] for k in ("name", "kind", "direction", "scale", "lower", "upper") if k in d})


def save_table(table: Table, path: str | Path) -> None:
    """Write a table in the documented compressed format (atomically: temp file, then rename)."""
    path = Path(path)
    meta = dict(table.meta)
    meta.update(name=table.name, metric=table.metric.__dict__, space=space_to_dict(table.space),
                epochs=table.n_epochs, seeds=table.n_seeds, rows=table.n_rows)
    arrays = {"values": table.values.astype(np.float32), "seconds": table.seconds.astype(np.float32),
              "meta": np.array(json.dumps(meta))}
    if table.test is not None:
        arrays["test"] = table.test.astype(np.float32)
    for i, col in enumerate(table.columns):
        arrays[f"param_{i}"] = col
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def load_table(path: str | Path) -> Table:
    """Read a table written by `save_table`; a malformed file gets one HpoError line."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if not isinstance(meta, dict):
                raise ValueError("'meta' is not a JSON object")
            space = space_from_dict(meta["space"])
            columns = [np.asarray(data[f"param_{i}"]) for i in range(len(space.params))]
            values, seconds = data["values"].astype(float), data["seconds"].astype(float)
            test = data["test"].astype(float) if "test" in data.files else None
            metric = metric_from_dict(meta["metric"])
    except HpoError as exc:
        raise HpoError(f"{path}: not a valid lookup table ({exc})")
    except Exception as exc:  # zipfile, numpy and JSON each raise their own kinds for a damaged file
        # numpy's text for a file that is not an .npz suggests allow_pickle=True, which is never safe here
        text = "not an .npz archive" if "allow_pickle" in str(exc) else f"{type(exc).__name__}: {str(exc)[:200]}"
        raise HpoError(f"{path}: not a valid lookup table ({text})")
    if values.shape != seconds.shape or values.ndim != 3 or values.shape[0] == 0:
        raise HpoError(f"{path}: 'values' and 'seconds' must share a (rows, seeds, epochs) shape with rows > 0, "
                       f"but got {values.shape} and {seconds.shape}")
    if test is not None and test.shape != values.shape:
        raise HpoError(f"{path}: 'test' must have the shape of 'values' {values.shape}, but got {test.shape}")
    for p, col in zip(space.params, columns):
        _check_column(path, p, col, values.shape[0])
    return Table(name=str(meta.get("name", path.stem)), space=space, columns=columns, values=values,
                 seconds=seconds, metric=metric, test=test, meta=meta)


def _check_column(path: Path, p, col: np.ndarray, rows: int) -> None:
    """A parameter column: one entry per row, numeric, indices in range for choice/ordered kinds."""
    if col.shape != (rows,) or col.dtype.kind not in "iuf":
        raise HpoError(f"{path}: column of parameter '{p.name}' must be {rows} numbers, but got "
                       f"shape {col.shape} of {col.dtype}")
    if p.kind in ("choice", "ordered"):
        if np.any(col < 0) or np.any(col >= len(p.values)) or np.any(col != np.round(col)):
            raise HpoError(f"{path}: column of parameter '{p.name}' must hold indices 0 to {len(p.values) - 1}")
    elif not np.all(np.isfinite(col.astype(float))):
        raise HpoError(f"{path}: column of parameter '{p.name}' holds non-finite values")
