"""Shared fixtures: a tiny synthetic lookup table on disk and in memory."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hpo_mab.space import Param, Space
from hpo_mab.surrogates.table import Metric, Table, save_table


def make_tiny_table(n_rows: int = 120, n_seeds: int = 3, n_epochs: int = 4, seed: int = 0) -> Table:
    """A smooth accuracy landscape over 3 parameters, noisy seeds, growing curves, varied trial times."""
    rng = np.random.default_rng(seed)
    space = Space([Param("lr", "loguniform", low=1e-4, high=1.0), Param("units", "int", low=1, high=64),
                   Param("act", "choice", values=("relu", "tanh"))])
    lr = 10 ** rng.uniform(-4, 0, n_rows)
    units = rng.integers(1, 65, n_rows)
    act = rng.integers(0, 2, n_rows)
    quality = np.exp(-((np.log10(lr) + 2) ** 2)) * (0.6 + 0.4 * units / 64) * (1.0 - 0.1 * act)
    final = 0.5 + 0.45 * quality
    noise = rng.normal(0, 0.01, (n_rows, n_seeds))
    growth = np.linspace(0.6, 1.0, n_epochs)
    values = np.clip((final[:, None] + noise)[:, :, None] * growth[None, None, :], 0, 1)
    per_epoch = rng.uniform(1.0, 10.0, n_rows)[:, None, None] * np.ones((1, n_seeds, n_epochs))
    seconds = np.cumsum(per_epoch, axis=2)
    test = values - 0.01
    return Table(name="tiny", space=space, columns=[lr, units.astype(float), act], values=values,
                 seconds=seconds, metric=Metric("val_acc", "accuracy", "max", lower=0.0, upper=1.0), test=test,
                 meta={"dataset": "synthetic", "model": "none", "hardware": "none", "build_command": "conftest"})


def make_tiny_error_table(**kw) -> Table:
    """make_tiny_table's landscape as a minimised error, 1 - accuracy (`tiny_err`, metric val_err)."""
    acc = make_tiny_table(**kw)
    return replace(acc, name="tiny_err", values=1.0 - acc.values, test=1.0 - acc.test,
                   metric=Metric("val_err", "error", "min", lower=0.0, upper=1.0))


@pytest.fixture
def tiny_table() -> Table:
    return make_tiny_table()


@pytest.fixture
def tiny_table_dir(tmp_path):
    """A surrogates directory holding `tiny.npz`."""
    save_table(make_tiny_table(), tmp_path / "tiny.npz")
    return tmp_path
