from __future__ import annotations

import numpy as np
import pytest

from hpo_mab.errors import HpoError
from hpo_mab.surrogates import get_table, load_table, save_table
from tests.conftest import make_tiny_table


def test_save_and_load_round_trip(tmp_path):
    table = make_tiny_table()
    save_table(table, tmp_path / "t.npz")
    again = load_table(tmp_path / "t.npz")
    assert again.values.shape == (120, 3, 4)
    assert np.allclose(again.values, table.values, atol=1e-6)
    assert again.test is not None and again.metric == table.metric
    assert again.config(5)["act"] in ("relu", "tanh") and isinstance(again.config(5)["units"], int)
    assert np.allclose(again.encoded, table.encoded, atol=1e-6)
    assert again.meta["build_command"] == "conftest"


def test_truth_top_and_budget():
    table = make_tiny_table()
    assert np.allclose(table.true_values, table.values[:, :, -1].mean(1))
    top = table.top_rows(10)
    cut = np.quantile(-table.true_values, 0.10)
    assert set(top) == set(np.flatnonzero(-table.true_values <= cut))
    median = np.median(table.seconds[:, :, -1])
    assert table.default_budget_s == pytest.approx(min(200, 120 / 10) * median)


def test_rows_with_fewer_seeds(tmp_path):
    table = make_tiny_table()
    table.values[0, 2, :] = np.nan
    save_table(table, tmp_path / "t.npz")
    again = load_table(tmp_path / "t.npz")
    assert again.seeds_per_row[0] == 2
    assert again.true_values[0] == pytest.approx(np.mean(table.values[0, :2, -1]), rel=1e-6)


def test_bad_table_file(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a table")
    with pytest.raises(HpoError, match="not a valid lookup table"):
        load_table(tmp_path / "x.npz")
    with pytest.raises(HpoError, match="unknown surrogate"):
        get_table("no-such-table", tmp_path)


def test_literature_table_from_the_installed_package():
    table = get_table("nb201-cifar10")
    assert table.n_rows == 15625 and table.n_epochs == 1
    assert table.metric.scale == 100.0 and table.metric.direction == "max"
    assert set(table.seeds_per_row) <= {2, 3}
    assert table.config(0) == {f"Op{i}": "none" for i in range(6)}
