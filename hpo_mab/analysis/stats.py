"""Statistics for comparing HPO methods over problems and seeded runs.

Conventions: a score matrix has one row per problem (table) and one column per method, lower is better
(regret, error); per-run arrays add a middle axis of runs, (problems, runs, methods), run i of every
method using the same seed. Every random draw comes from the `numpy.random.Generator` passed in.

- mean ranks (ties averaged) with bootstrap percentile intervals, resampling problems and, for per-run
  arrays, runs within each problem (Efron & Tibshirani, An Introduction to the Bootstrap, 1993);
- Friedman's test (`scipy.stats.friedmanchisquare`) with the Nemenyi critical difference of mean ranks
  (Demsar, JMLR 2006, sec. 3.2.2), and pairwise Wilcoxon signed-rank tests with Holm's step-down correction
  (Holm, Scand. J. Statist. 1979; Benavoli, Corani & Mangili, JMLR 2016 argue for these over Nemenyi);
- medians with an exact order-statistic (binomial) interval or a bootstrap percentile interval;
- time to a target with censoring: the Kaplan-Meier median (`scipy.stats.ecdf` on `CensoredData`, scipy >= 1.11)
  with the interval obtained by inverting the pointwise log-log band of the survival function
  (Brookmeyer & Crowley, Biometrics 1982);
- a one-sided Mann-Whitney U test (`scipy.stats.mannwhitneyu`) for "x is stochastically smaller than y".
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    """Ranks within each problem (row), 1 = smallest score, ties sharing the mean of their ranks."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (problems x methods), but got shape {scores.shape}")
    return stats.rankdata(scores, axis=1)


def mean_ranks(scores: np.ndarray) -> np.ndarray:
    """Mean rank of each method over the problems."""
    return rank_matrix(scores).mean(axis=0)


@dataclass(frozen=True)
class RankIntervals:
    """Mean ranks, their bootstrap percentile interval and how often each method ranked first."""

    names: list[str]
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_first: np.ndarray
    level: float
    n_boot: int


def _per_problem(values: np.ndarray, aggregate: Callable[..., np.ndarray]) -> np.ndarray:
    return values if values.ndim == 2 else aggregate(values, axis=1)


def bootstrap_ranks(values: np.ndarray, names: Sequence[str], rng: np.random.Generator, n_boot: int = 2000,
                    level: float = 0.90, aggregate: Callable[..., np.ndarray] = np.median) -> RankIntervals:
    """Mean ranks with bootstrap intervals.

    `values`: (problems, methods) scores, or (problems, runs, methods) per-run scores reduced per problem by
    `aggregate` (the median by default). Each resample draws problems with replacement and, for per-run
    arrays, runs with replacement within each drawn problem (the same run indices for every method, so
    seed-paired runs stay paired), then ranks. `p_first` is the share of resamples in which a method has
    the smallest mean rank (shared equally on ties).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim not in (2, 3) or values.shape[-1] != len(names):
        raise ValueError(f"values must be (problems, [runs,] methods) with {len(names)} methods, "
                         f"but got shape {values.shape}")
    n_problems = values.shape[0]
    boot = np.empty((n_boot, len(names)))
    first = np.zeros(len(names))
    for b in range(n_boot):
        rows = values[rng.integers(n_problems, size=n_problems)]
        if rows.ndim == 3:
            runs = rng.integers(rows.shape[1], size=rows.shape[:2])
            rows = np.take_along_axis(rows, runs[:, :, None], axis=1)
        boot[b] = mean_ranks(_per_problem(rows, aggregate))
        top = boot[b] == boot[b].min()
        first[top] += 1.0 / top.sum()
    alpha = 1.0 - level
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    return RankIntervals(list(names), mean_ranks(_per_problem(values, aggregate)), low, high, first / n_boot,
                         level, n_boot)


@dataclass(frozen=True)
class Friedman:
    """Friedman's test and the Nemenyi critical difference (CD) of the mean ranks."""

    names: list[str]
    mean_ranks: np.ndarray
    statistic: float
    pvalue: float
    cd: float
    alpha: float
    n_problems: int

    def different(self) -> list[tuple[str, str]]:
        """Pairs whose mean ranks differ by more than the CD (significant only if Friedman rejects)."""
        return [(a, b) for (i, a), (j, b) in itertools.combinations(enumerate(self.names), 2)
                if abs(self.mean_ranks[i] - self.mean_ranks[j]) > self.cd]

    def groups(self) -> list[list[str]]:
        """Maximal runs of methods, in rank order, spanning at most the CD (the bars of a CD diagram)."""
        order = np.argsort(self.mean_ranks, kind="stable")
        r = self.mean_ranks[order]
        spans = [(i, int(np.searchsorted(r, r[i] + self.cd, side="right")) - 1) for i in range(len(r))]
        maximal = [(i, j) for i, j in spans if j > i and not any(a <= i and j <= b and (a, b) != (i, j)
                                                                for a, b in spans)]
        return [[self.names[k] for k in order[i:j + 1]] for i, j in maximal]

    def summary(self) -> str:
        """Plain sentences: the test, the CD, and which differences are significant."""
        lines = [f"Friedman test over {self.n_problems} problems and {len(self.names)} methods: "
                 f"chi2 = {self.statistic:.3f}, p = {self.pvalue:.4g}."]
        lines.append(f"Nemenyi critical difference at alpha = {self.alpha}: {self.cd:.3f} mean-rank units.")
        if self.pvalue >= self.alpha:
            lines.append(f"Friedman's test does not reject equal performance at alpha = {self.alpha}: "
                         "no difference between these methods is significant.")
            return "\n".join(lines)
        pairs = self.different()
        lines.append("Significant differences: " + ("; ".join(f"{a} vs {b}" for a, b in pairs) if pairs else
                                                    "none (no pair of mean ranks differs by more than the CD)."))
        groups = self.groups()
        if groups:
            lines.append("Not significantly different from each other: "
                         + "; ".join("{" + ", ".join(g) + "}" for g in groups) + ".")
        return "\n".join(lines)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """CD = q_alpha sqrt(k (k + 1) / (6 N)), q_alpha the studentized range quantile / sqrt(2) (Demsar 2006)."""
    if k < 2 or n < 1:
        raise ValueError(f"the critical difference needs k >= 2 methods and n >= 1 problems, got k={k}, n={n}")
    q = stats.studentized_range.ppf(1.0 - alpha, k, np.inf) / np.sqrt(2.0)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))


def friedman(scores: np.ndarray, names: Sequence[str], alpha: float = 0.05) -> Friedman:
    """Friedman's test on a (problems, methods) score matrix (at least 3 methods), with the Nemenyi CD."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != len(names) or len(names) < 3:
        raise ValueError(f"friedman needs a (problems, methods) matrix with >= 3 named methods, got {scores.shape}")
    result = stats.friedmanchisquare(*scores.T)
    return Friedman(list(names), mean_ranks(scores), float(result.statistic), float(result.pvalue),
                    nemenyi_cd(len(names), scores.shape[0], alpha), alpha, scores.shape[0])


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: p_(i) -> max_{j <= i} min(1, (m - j + 1) p_(j)), in input order."""
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


@dataclass(frozen=True)
class Pairwise:
    """One pair's Wilcoxon signed-rank test on paired scores: median difference a - b, raw and Holm p."""

    a: str
    b: str
    median_difference: float
    pvalue: float
    holm_pvalue: float

    def significant(self, alpha: float = 0.05) -> bool:
        return self.holm_pvalue < alpha


def pairwise_wilcoxon(scores: np.ndarray, names: Sequence[str]) -> list[Pairwise]:
    """Two-sided Wilcoxon signed-rank tests of every pair of methods over problems, Holm-adjusted together.

    A pair whose scores are equal on every problem gets p = 1.
    """
    scores = np.asarray(scores, dtype=float)
    pairs = list(itertools.combinations(range(len(names)), 2))
    raw, diffs = [], []
    for i, j in pairs:
        d = scores[:, i] - scores[:, j]
        diffs.append(float(np.median(d)))
        raw.append(1.0 if np.all(d == 0) else float(stats.wilcoxon(scores[:, i], scores[:, j]).pvalue))
    adjusted = holm(raw)
    return [Pairwise(names[i], names[j], diffs[k], raw[k], float(adjusted[k])) for k, (i, j) in enumerate(pairs)]


def median_interval(x: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Median and the exact order-statistic interval [x_(j), x_(n+1-j)] covering it with >= `level`.

    j is the largest index with P(B <= j - 1) <= (1 - level) / 2, B ~ Binomial(n, 1/2); when even j = 1
    falls short, the interval is the sample's range (its coverage is then below `level`).
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0:
        raise ValueError("median_interval needs at least one value")
    tail = stats.binom.cdf(np.arange(n), n, 0.5)  # tail[j - 1] = P(B <= j - 1)
    ok = np.flatnonzero(tail <= (1.0 - level) / 2)
    j = int(ok[-1]) + 1 if ok.size else 1
    j = min(j, (n + 1) // 2)
    return float(np.median(x)), float(x[j - 1]), float(x[n - j])


def bootstrap_median_interval(x: Sequence[float], rng: np.random.Generator, level: float = 0.95,
                              n_boot: int = 2000) -> tuple[float, float, float]:
    """Median and its bootstrap percentile interval."""
    x = np.asarray(x, dtype=float)
    medians = np.median(x[rng.integers(x.size, size=(n_boot, x.size))], axis=1)
    low, high = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(x)), float(low), float(high)


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier median time to a target (inf: the survival curve never falls to 1/2) and its interval."""

    median: float
    low: float
    high: float
    n: int
    reached: int


def _first_at_or_below(times: np.ndarray, values: np.ndarray, level: float) -> float:
    below = np.flatnonzero(values <= level)
    return float(times[below[0]]) if below.size else float("inf")


def _forward_fill(values: np.ndarray, start: float) -> np.ndarray:
    out, last = values.copy(), start
    for i, v in enumerate(out):
        last = out[i] = v if np.isfinite(v) else last
    return out


def km_median(times: Sequence[float], reached: Sequence[bool], level: float = 0.95) -> KaplanMeier:
    """Median time to target with right-censoring; `reached[i]` False: run i never reached it by `times[i]`.

    The median is the first time at which the Kaplan-Meier survival S(t) = P(T > t) is <= 1/2 (inf if S stays
    above 1/2: fewer than half the runs are known to reach the target). Its interval is the set of times whose
    pointwise log-log band of S contains 1/2 (Brookmeyer & Crowley 1982): from the first time the lower band is
    <= 1/2 to the first time the upper band is (inf if never). Where the band is undefined (S = 0 after the
    last event) the lower band is 0 and the upper band keeps its last value, as R's survival package leaves
    such an upper limit open.
    """
    times, reached = np.asarray(times, dtype=float), np.asarray(reached, dtype=bool)
    if times.shape != reached.shape or times.size == 0:
        raise ValueError("km_median needs as many times as reached flags, and at least one run")
    if not reached.any():
        return KaplanMeier(float("inf"), float("inf"), float("inf"), times.size, 0)
    sf = stats.ecdf(stats.CensoredData(uncensored=times[reached], right=times[~reached])).sf
    median = _first_at_or_below(sf.quantiles, sf.probabilities, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "undefined at some observations": S = 0 there
        band = sf.confidence_interval(level, method="log-log")
    upper = _forward_fill(band.high.probabilities, 1.0)
    lower = np.nan_to_num(band.low.probabilities, nan=0.0)
    low = _first_at_or_below(band.low.quantiles, lower, 0.5)
    high = _first_at_or_below(band.high.quantiles, upper, 0.5)
    return KaplanMeier(median, low, high, times.size, int(reached.sum()))


@dataclass(frozen=True)
class MannWhitney:
    """One-sided Mann-Whitney U test of "x tends to be smaller than y"; `p_smaller` = P(X < Y) + P(X = Y) / 2."""

    u: float
    pvalue: float
    p_smaller: float


def mann_whitney_less(x: Sequence[float], y: Sequence[float]) -> MannWhitney:
    """scipy.stats.mannwhitneyu(x, y, alternative="less"); U counts pairs with x > y (ties 1/2)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    result = stats.mannwhitneyu(x, y, alternative="less")
    return MannWhitney(float(result.statistic), float(result.pvalue), 1.0 - float(result.statistic) / (x.size * y.size))
