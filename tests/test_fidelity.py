"""Early-vs-final rank correlation of a table's curves (hpo_mab.analysis.fidelity)."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_mab.analysis.fidelity import correlation_markdown, early_final_correlation
from hpo_mab.space import Param, Space
from hpo_mab.surrogates.table import Metric, Table

ACC = Metric("acc", "accuracy", "max", lower=0.0, upper=1.0)
ERR = Metric("err", "error", "min", lower=0.0, upper=1.0)


def crafted(early: np.ndarray, final: np.ndarray, metric: Metric = ACC, seeds: int = 2) -> Table:
    """Rows whose epoch-1 value is `early` and epoch-2 (final) value `final`, the same on every seed."""
    n = len(final)
    values = np.stack([early, final], axis=1)[:, None, :].repeat(seeds, axis=1).astype(float)
    space = Space([Param("x", "uniform", low=0.0, high=1.0)])
    return Table(name="crafted", space=space, columns=[np.linspace(0, 1, n)], values=values,
                 seconds=np.cumsum(np.ones_like(values), axis=2), metric=metric)


def test_a_perfect_and_a_reversed_ranking():
    final = np.linspace(0.5, 0.9, 30)
    same = early_final_correlation(crafted(final / 2, final))
    assert same["epoch"].tolist() == [1, 2]
    assert same["spearman"].tolist() == pytest.approx([1.0, 1.0])
    assert same["top_kept"].tolist() == [1.0, 1.0]
    flipped = early_final_correlation(crafted(final[::-1], final))
    assert flipped["spearman"].iloc[0] == pytest.approx(-1.0)
    assert flipped["top_kept"].iloc[0] == 0.0  # the best row is the worst at epoch 1
    assert flipped.attrs["top_rows"] == 1 and flipped.attrs["kept_rows"] == 10


def test_a_minimised_metric_keeps_its_smallest_values():
    final = np.linspace(0.1, 0.5, 30)  # error: row 0 is the best
    frame = early_final_correlation(crafted(final + 0.2, final, ERR), top=0.1, epochs=[1])
    assert frame["top_kept"].iloc[0] == 1.0 and frame.attrs["top_rows"] == 3
    worst_early = crafted(np.r_[0.9, 0.9, 0.9, final[3:]], final, ERR)
    assert early_final_correlation(worst_early, top=0.1, epochs=[1])["top_kept"].iloc[0] == 0.0


def test_ties_at_the_cut_count_as_a_random_tie_break_would():
    final = np.linspace(0.5, 0.9, 9)
    early = np.full(9, 0.3)  # every row ties at epoch 1: a rung keeping 3 of 9 keeps the best one w.p. 1/3
    frame = early_final_correlation(crafted(early, final), epochs=[1])
    assert frame["top_kept"].iloc[0] == pytest.approx(1 / 3)
    assert np.isnan(frame["spearman"].iloc[0])  # undefined on a constant column


def test_nan_rows_are_dropped_and_counted():
    final = np.linspace(0.5, 0.9, 12)
    table = crafted(final - 0.1, final)
    table.values[3, :, 0] = np.nan  # no seed at epoch 1
    table.values[5, 0, :] = np.nan  # one seed missing: the other one counts
    frame = early_final_correlation(table)
    assert frame.attrs["dropped"] == 1 and (frame["rows"] == 11).all()
    assert frame["spearman"].tolist() == pytest.approx([1.0, 1.0])
    text = correlation_markdown(frame)
    assert "11 rows (1 dropped for NaN)" in text and "| 1 | 1.000 | 1.000 |" in text


def test_epochs_outside_the_table_are_refused():
    with pytest.raises(ValueError, match=r"1\.\.2.*\[3\]"):
        early_final_correlation(crafted(np.arange(5.0), np.arange(5.0)), epochs=[1, 3])
