"""hpo_mab.analysis.stats on hand-worked cases and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hpo_mab.analysis.stats import (
    bootstrap_median_interval,
    bootstrap_ranks,
    friedman,
    holm,
    km_median,
    mann_whitney_less,
    mean_ranks,
    median_interval,
    nemenyi_cd,
    pairwise_wilcoxon,
    rank_matrix,
)

NAMES = ["A", "B", "C"]


def test_ranks_average_ties_and_lower_is_better():
    scores = np.array([[0.1, 0.2, 0.2], [0.3, 0.1, 0.2]])
    assert rank_matrix(scores).tolist() == [[1.0, 2.5, 2.5], [3.0, 1.0, 2.0]]
    assert mean_ranks(scores) == pytest.approx([2.0, 1.75, 2.25])
    with pytest.raises(ValueError):
        rank_matrix(np.zeros(3))


def test_bootstrap_ranks_on_two_problems_split_first_place_evenly():
    # A wins problem 1, B problem 2: a resample of two copies of one problem crowns its winner, a mixed
    # resample ties A and B at 1.5 (first place shared), so P(A first) = 1/4 + 1/2 * 1/2 = 1/2
    scores = np.array([[0.1, 0.2, 0.9], [0.2, 0.1, 0.9]])
    r = bootstrap_ranks(scores, NAMES, np.random.default_rng(0), n_boot=4000)
    assert r.mean == pytest.approx([1.5, 1.5, 3.0])
    assert r.p_first == pytest.approx([0.5, 0.5, 0.0], abs=0.03)
    assert r.low.tolist() == [1.0, 1.0, 3.0] and r.high.tolist() == [2.0, 2.0, 3.0]
    again = bootstrap_ranks(scores, NAMES, np.random.default_rng(0), n_boot=4000)
    assert np.array_equal(again.p_first, r.p_first)  # deterministic for a seed


def test_bootstrap_ranks_resample_runs_within_problems():
    rng = np.random.default_rng(1)
    runs = rng.normal(0.0, 1.0, (6, 10, 3)) + np.array([0.0, 0.5, 3.0])  # C is clearly worst
    r = bootstrap_ranks(runs, NAMES, np.random.default_rng(2), n_boot=500, level=0.9)
    assert r.mean == pytest.approx(mean_ranks(np.median(runs, axis=1)))
    assert r.low[2] == r.high[2] == 3.0 and r.p_first[2] == 0.0
    assert np.all(r.low <= r.mean) and np.all(r.mean <= r.high)
    with pytest.raises(ValueError):
        bootstrap_ranks(runs, ["A", "B"], rng)


def test_friedman_by_hand_and_against_scipy():
    # ranks (1, 2, 3) on three problems, (2, 1, 3) on one: mean ranks 1.25, 1.75, 3;
    # chi2 = 12 N / (k (k + 1)) * (sum R^2 - k (k + 1)^2 / 4) = 4 * (13.625 - 12) = 6.5, p = exp(-6.5 / 2)
    scores = np.array([[1.0, 2.0, 3.0], [0.1, 0.2, 0.3], [5.0, 6.0, 7.0], [0.5, 0.4, 0.9]])
    f = friedman(scores, NAMES)
    assert f.mean_ranks == pytest.approx([1.25, 1.75, 3.0])
    assert f.statistic == pytest.approx(6.5) and f.pvalue == pytest.approx(math.exp(-3.25))
    expected = stats.friedmanchisquare(*scores.T)
    assert (f.statistic, f.pvalue) == pytest.approx((expected.statistic, expected.pvalue))
    assert f.cd == pytest.approx(2.343 * math.sqrt(12 / 24), abs=1e-3)
    assert f.different() == [("A", "C")]  # 1.75 > CD 1.657; A-B 0.5 and B-C 1.25 are not
    assert f.groups() == [["A", "B"], ["B", "C"]]
    text = f.summary()
    assert "p = 0.03877" in text and "Significant differences: A vs C" in text and "{A, B}; {B, C}" in text


def test_friedman_that_does_not_reject_says_nothing_is_significant():
    scores = np.array([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0], [2.0, 3.0, 1.0]])
    f = friedman(scores, NAMES)
    assert f.statistic == pytest.approx(0.0) and f.pvalue == pytest.approx(1.0)
    assert "no difference between these methods is significant" in f.summary()
    with pytest.raises(ValueError):
        friedman(scores[:, :2], ["A", "B"])


def test_nemenyi_critical_values_match_demsars_table():
    # q_alpha for k = 2..10 (Demsar 2006, Table 5, to three decimals); CD = q sqrt(k (k + 1) / (6 N))
    q05 = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}
    q10 = {2: 1.645, 3: 2.052, 4: 2.291, 5: 2.459, 6: 2.589, 7: 2.693, 8: 2.780, 9: 2.855, 10: 2.920}
    for alpha, table in ((0.05, q05), (0.10, q10)):
        for k, q in table.items():
            assert nemenyi_cd(k, 12, alpha) / math.sqrt(k * (k + 1) / 72) == pytest.approx(q, abs=1e-3)
    with pytest.raises(ValueError):
        nemenyi_cd(1, 5)


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005 = 0.02, 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.04, 0.06)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]).size == 0


def test_pairwise_wilcoxon_against_scipy_with_holm():
    base = np.array([0.10, 0.30, 0.25, 0.40, 0.05, 0.60])
    scores = np.column_stack([base, base + [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], base])  # B worse on all six
    pairs = {(p.a, p.b): p for p in pairwise_wilcoxon(scores, NAMES)}
    # all six differences of one sign: exact two-sided p = 2 / 2^6
    assert pairs[("A", "B")].pvalue == pytest.approx(2 / 64)
    assert pairs[("A", "B")].pvalue == pytest.approx(stats.wilcoxon(scores[:, 0], scores[:, 1]).pvalue)
    assert pairs[("A", "C")].pvalue == 1.0 and pairs[("A", "C")].median_difference == 0.0  # identical
    raw = [pairs[k].pvalue for k in (("A", "B"), ("A", "C"), ("B", "C"))]
    assert [pairs[k].holm_pvalue for k in (("A", "B"), ("A", "C"), ("B", "C"))] == pytest.approx(holm(raw))
    assert pairs[("A", "B")].holm_pvalue == pytest.approx(3 * 2 / 64)  # the smallest of three, times 3
    assert pairs[("A", "B")].median_difference == pytest.approx(-0.35)
    assert not pairs[("A", "B")].significant(0.05) and pairs[("A", "B")].significant(0.1)


def test_median_order_statistic_interval_by_hand():
    # n = 10: P(B <= 1) = 11 / 1024 <= 0.025 < P(B <= 2) = 56 / 1024, so [x_(2), x_(9)], coverage 0.979
    x = [7.0, 1.0, 9.0, 3.0, 5.0, 10.0, 2.0, 8.0, 4.0, 6.0]
    assert median_interval(x, 0.95) == (5.5, 2.0, 9.0)
    # n = 5: even [x_(1), x_(5)] covers only 1 - 2 / 32 = 0.9375 < 0.95: the range
    assert median_interval([3.0, 1.0, 2.0, 5.0, 4.0], 0.95) == (3.0, 1.0, 5.0)
    assert median_interval([4.0], 0.95) == (4.0, 4.0, 4.0)
    n = 50
    y = np.arange(1.0, n + 1)
    _, low, high = median_interval(y, 0.95)
    j = int(low)
    assert 1 - 2 * stats.binom.cdf(j - 1, n, 0.5) >= 0.95 > 1 - 2 * stats.binom.cdf(j, n, 0.5) and high == n + 1 - j


def test_bootstrap_median_interval_is_seeded_and_near_the_exact_one():
    x = np.random.default_rng(3).normal(0.0, 1.0, 200)
    m, low, high = bootstrap_median_interval(x, np.random.default_rng(4), 0.95)
    assert (m, low, high) == bootstrap_median_interval(x, np.random.default_rng(4), 0.95)
    _, exact_low, exact_high = median_interval(x, 0.95)
    assert low < m < high and abs(low - exact_low) < 0.1 and abs(high - exact_high) < 0.1


def test_kaplan_meier_median_by_hand():
    # reached at 1, 2, 3, 5; censored at 4, 6, 6. S(1) = 6/7, S(2) = 5/7, S(3) = 4/7; 4 is censored, so
    # 3 remain at risk at 5: S(5) = 4/7 * 2/3 = 8/21 = 0.381 <= 1/2 -> median 5
    times, reached = [1, 2, 3, 5, 4, 6, 6], [True] * 4 + [False] * 3
    km = km_median(times, reached)
    assert km.median == 5.0 and km.n == 7 and km.reached == 4
    sf = stats.ecdf(stats.CensoredData(uncensored=[1, 2, 3, 5], right=[4, 6, 6])).sf
    assert sf.evaluate([1, 2, 3, 5]) == pytest.approx([6 / 7, 5 / 7, 4 / 7, 8 / 21])
    assert km_median(times, [True] * 7).median == 4.0  # ignoring censoring would answer 4
    assert km.low <= km.median <= km.high


def test_kaplan_meier_without_censoring_and_with_too_few_reaching():
    t = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    assert km_median(t, [True] * 5).median == 3.0  # S = 0.8, 0.6, 0.4: the sample median
    never = km_median([10.0, 10.0, 10.0], [False] * 3)
    assert never.median == math.inf and never.reached == 0
    few = km_median([1.0, 10.0, 10.0, 10.0], [True, False, False, False])
    assert few.median == math.inf  # S stays at 3/4: fewer than half are known to reach the target
    big = km_median(np.arange(1.0, 41.0), [True] * 30 + [False] * 10)
    assert big.median == 20.0 and 1.0 < big.low < 20.0 < big.high < 40.0
    with pytest.raises(ValueError):
        km_median([1.0, 2.0], [True])


def test_mann_whitney_one_sided_by_hand_and_against_scipy():
    # every x below every y: U = 0, exact p = 1 / C(6, 3) = 1 / 20
    r = mann_whitney_less([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert r.u == 0.0 and r.pvalue == pytest.approx(1 / 20) and r.p_smaller == 1.0
    assert mann_whitney_less([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]).pvalue == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, 30), rng.normal(0.5, 1, 25)
    ref = stats.mannwhitneyu(x, y, alternative="less")
    got = mann_whitney_less(x, y)
    assert (got.u, got.pvalue) == pytest.approx((ref.statistic, ref.pvalue))
    assert got.p_smaller == pytest.approx(np.mean(x[:, None] < y[None, :]))
