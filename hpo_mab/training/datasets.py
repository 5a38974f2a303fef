"""Regression datasets for the MLP tasks, read by path (never copied into the project).

- kin8nm: `<root>/kin8nm/{train,validation,test}.csv`, 8 inputs then the target, no header; DEEP-BO's split.
- protein: `<root>/protein/protein_structure.csv`, header `RMSD,F1..F9` (target first); split 60/20/20 by a
  fixed permutation (`split_seed`, default 0), optionally on a fixed subsample of its rows.
- diabetes: scikit-learn's bundled `load_diabetes` (no download), split 60/20/20 the same way; for tests.

`root` comes from the caller: an option, the HPO_MAB_DATASETS environment variable, or `../shared/datasets`
next to the repository (see `hpo_mab.tasks.datasets_dir`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hpo_mab.errors import HpoError


@dataclass(frozen=True)
class RegressionData:
    """Unscaled float32 inputs (n, d) and targets (n,) of the three splits; `meta` says where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.y_train), len(self.y_val), len(self.y_test)


def _read_csv(path: Path, header: bool) -> np.ndarray:
    if not path.is_file():
        raise HpoError(f"{path}: no such dataset file; give the datasets directory with --datasets DIR or the "
                       "HPO_MAB_DATASETS environment variable")
    import pandas as pd

    try:
        frame = pd.read_csv(path, header=0 if header else None)
        values = frame.to_numpy(dtype=np.float32)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise HpoError(f"{path}: not a numeric CSV file ({type(exc).__name__}: {str(exc)[:200]})")
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1)) if values.ndim == 2 else []
    if len(bad):
        line = int(bad[0]) + 1 + int(header)
        raise HpoError(f"{path}: line {line} holds an empty or non-finite value ({len(bad)} such row(s)); "
                       "expected a number in every column")
    return values


def split_60_20_20(x: np.ndarray, y: np.ndarray, split_seed: int, meta: dict[str, Any],
                   subsample: int | None = None) -> RegressionData:
    """A fixed random 60/20/20 split (after an optional fixed subsample of `subsample` rows)."""
    order = np.random.default_rng(split_seed).permutation(len(y))
    if subsample is not None:
        if not 10 <= subsample <= len(y):
            raise HpoError(f"subsample must be between 10 and {len(y)} rows, but got {subsample}")
        order = order[:subsample]
    n = len(order)
    a, b = int(round(0.6 * n)), int(round(0.8 * n))
    tr, va, te = order[:a], order[a:b], order[b:]
    meta = {**meta, "split": "60/20/20 random permutation", "split_seed": split_seed, "subsample": subsample}
    return RegressionData(x[tr], y[tr], x[va], y[va], x[te], y[te], meta)


@lru_cache(maxsize=4)
def load_kin8nm(root: Path) -> RegressionData:
    """kin8nm as split by the DEEP-BO study (6,530 / 824 / 838 rows)."""
    parts = [_read_csv(Path(root) / "kin8nm" / f"{s}.csv", header=False) for s in ("train", "validation", "test")]
    for name, part in zip(("train", "validation", "test"), parts):
        if part.ndim != 2 or part.shape[1] != 9:
            raise HpoError(f"{root}/kin8nm/{name}.csv: expected 9 columns (8 inputs, the target), got {part.shape}")
    meta = {"dataset": "kin8nm", "files": str(Path(root) / "kin8nm"), "split": "the files' own (DEEP-BO)"}
    return RegressionData(*(a for p in parts for a in (p[:, :8], p[:, 8])), meta=meta)


@lru_cache(maxsize=4)
def load_protein(root: Path, subsample: int | None = None, split_seed: int = 0) -> RegressionData:
    """UCI protein tertiary structure: target RMSD, inputs F1..F9; 60/20/20 by a fixed permutation."""
    path = Path(root) / "protein" / "protein_structure.csv"
    table = _read_csv(path, header=True)
    if table.ndim != 2 or table.shape[1] != 10:
        raise HpoError(f"{path}: expected 10 columns (RMSD, F1..F9), got {table.shape}")
    return split_60_20_20(table[:, 1:], table[:, 0], split_seed, {"dataset": "protein", "files": str(path)},
                          subsample)


@lru_cache(maxsize=2)
def load_diabetes_split(split_seed: int = 0) -> RegressionData:
    """scikit-learn's bundled diabetes data (442 rows, 10 inputs), 60/20/20; for tests and quick checks."""
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    return split_60_20_20(d.data.astype(np.float32), d.target.astype(np.float32), split_seed,
                          {"dataset": "sklearn diabetes"})
