"""Final scores of a comparison: the (problems, runs, methods) score array, box plots and the critical-
difference diagram (Demsar, JMLR 2006), with the tests of `hpo_mab.analysis.stats`.

A run's score is its final normalised regret on tables (lower is better), else the loss of its best observed
value (the metric with its sign flipped where it is maximised). A method's score on a problem is its median
over the runs; ranks are taken per problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo_mab.analysis import stats
from hpo_mab.compare import curves as cv

ALPHA = 0.05


def run_scores(summary: pd.DataFrame, problems: dict[str, dict[str, Any]]) -> pd.Series:
    """Each run's score (see the module docstring)."""
    regret = summary["problem"].map({k: cv.uses_regret(v) for k, v in problems.items()}).astype(bool)
    sign = summary["problem"].map({k: -1.0 if v["direction"] == "max" else 1.0 for k, v in problems.items()})
    return summary["final_regret"].where(regret, sign * summary["best_value"])


def score_array(summary: pd.DataFrame, problems: dict[str, dict[str, Any]], methods: Sequence[str]
                ) -> tuple[list[str], np.ndarray]:
    """(problems, runs, methods) scores over the problems where every method has every run; run i of every
    method shares its seed."""
    table = summary.assign(score=run_scores(summary, problems)).pivot_table(
        index=["problem", "run"], columns="method", values="score", aggfunc="first")
    used, blocks = [], []
    for name in problems:
        if name not in table.index.get_level_values(0):
            continue
        block = table.loc[name].reindex(columns=list(methods))
        if len(block) and not block.isna().to_numpy().any():
            used.append(name)
            blocks.append(block.to_numpy(dtype=float))
    runs = min((b.shape[0] for b in blocks), default=0)
    return used, np.array([b[:runs] for b in blocks]) if blocks else np.empty((0, 0, len(methods)))


def boxes(summary: pd.DataFrame, problems: dict[str, dict[str, Any]], methods: Sequence[str],
          colors: dict[str, Any], stem: Path) -> list[Path]:
    """Per problem: box plots of the runs' final scores per method (box: quartiles, whiskers: 1.5 IQR, dots:
    runs beyond), symlog scale where they span decades."""
    names = [p for p in problems if (summary["problem"] == p).any()]
    if not names:
        return []
    fig, axes = cv.panels(len(names), width=max(4.2, 0.45 * len(methods) + 1.5))
    scores = run_scores(summary, problems)
    for ax, name in zip(axes, names):
        problem = problems[name]
        shown = [m for m in methods if ((summary["problem"] == name) & (summary["method"] == m)).any()]
        data = [scores[(summary["problem"] == name) & (summary["method"] == m)].to_numpy(dtype=float)
                for m in shown]
        parts = ax.boxplot(data, patch_artist=True, widths=0.6, flierprops={"markersize": 3})
        for patch, m in zip(parts["boxes"], shown):
            patch.set_facecolor(colors[m])
            patch.set_alpha(0.6)
        ax.set_xticks(range(1, len(shown) + 1), shown, rotation=60, ha="right", fontsize=7)
        label = ("final normalised regret\n(0 = table's best, 1 = its median)" if cv.uses_regret(problem)
                 else f"final loss of the best {problem.get('metric', 'value')}")
        if cv.log_scale(ax, np.concatenate(data) if data else np.array([])):
            label += "\nsymlog scale"
        ax.set_ylabel(label, fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("Final scores per run (lower is better); box = quartiles, whiskers = 1.5 x IQR", fontsize=10)
    handles = [cv.use_agg().Rectangle((0, 0), 1, 1, color=colors[m], alpha=0.6) for m in methods]
    cv.legend_outside(fig, handles, list(methods), "method")
    return cv.save(fig, stem)


def friedman_of(summary: pd.DataFrame, problems: dict[str, dict[str, Any]], methods: Sequence[str]
                ) -> stats.Friedman | None:
    """Friedman's test with the Nemenyi CD on per-problem medians; None with under 2 problems or 3 methods."""
    used, values = score_array(summary, problems, methods)
    if len(used) < 2 or len(methods) < 3:
        return None
    return stats.friedman(np.median(values, axis=1), list(methods), ALPHA)


def cd_diagram(summary: pd.DataFrame, problems: dict[str, dict[str, Any]], methods: Sequence[str],
               colors: dict[str, Any], stem: Path) -> list[Path]:
    """The critical-difference diagram: mean ranks on an axis (1 = best, left), methods joined by a bar when
    their mean ranks differ by less than the Nemenyi CD, the CD drawn as a scale bar (Demsar 2006, fig. 1)."""
    fr = friedman_of(summary, problems, methods)
    if fr is None:
        return []
    plt = cv.use_agg()
    k = len(methods)
    order = list(np.argsort(fr.mean_ranks, kind="stable"))
    half = (k + 1) // 2
    height = 1.6 + 0.28 * half
    fig, ax = plt.subplots(figsize=(8, height))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(-(half + 1.5), 2.2)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black", lw=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.15, color="black", lw=1)
        ax.text(r, 0.3, str(r), ha="center", va="bottom", fontsize=8)
    ax.text((k + 1) / 2, 1.0, "mean rank (1 = best)", ha="center", fontsize=9)
    for pos, idx in enumerate(order):
        rank, name = fr.mean_ranks[idx], methods[idx]
        left = pos < half
        level = -(pos + 1) if left else -(k - pos)
        x_text = 0.6 if left else k + 0.4
        ax.plot([rank, rank, x_text], [0, level, level], color=colors[name], lw=1.2)
        ax.text(x_text, level, f"{name} ({rank:.2f})", ha="right" if left else "left", va="center", fontsize=8,
                color="black")
    for g, group in enumerate(fr.groups()):
        ranks = [fr.mean_ranks[methods.index(m)] for m in group]
        y = -0.35 - 0.18 * g
        ax.hlines(y, min(ranks) - 0.05, max(ranks) + 0.05, color="black", lw=3)
    ax.hlines(1.7, 1, 1 + fr.cd, color="black", lw=1.5)
    ax.text(1 + fr.cd / 2, 1.8, f"CD = {fr.cd:.2f} (Nemenyi, alpha {fr.alpha})", ha="center", fontsize=8)
    verdict = "rejects" if fr.pvalue < fr.alpha else "does not reject"
    ax.set_title(f"Critical-difference diagram over {fr.n_problems} problems: Friedman p = {fr.pvalue:.3g} "
                 f"({verdict} equal performance); bars join methods not significantly different", fontsize=9)
    fig.subplots_adjust(left=0.22, right=0.78)
    return cv.save(fig, stem)
