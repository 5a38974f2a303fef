"""The figures of a comparison, as functions over the tables of a compare folder (`hpo_mab.compare.load_curves`,
`load_arms`, `load_summary`; a full trials table works wherever the curves or the arm counts do).

Each takes the tables, the problems' info (`compare.json`'s `problems`), the methods in order and their colours
(`method_colors`, one per method in every figure), and an output stem; it writes stem.png and stem.pdf and
returns their paths (an empty list where the figure does not apply). Curves are medians across runs with the
interquartile band (25th-75th percentile); see `hpo_mab.compare.curves`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo_mab.analysis import stats
from hpo_mab.compare import curves as cv

Problems = dict[str, dict[str, Any]]


def convergence(trials: pd.DataFrame, problems: Problems, methods: Sequence[str], colors: dict[str, Any],
                stem: Path, title: str = "Convergence") -> list[Path]:
    """Per problem: the incumbent's normalised regret (tables) or best value so far against time; median line,
    interquartile band; symlog scale where regret spans decades; the goal of GOAL runs as a dashed line."""
    names = [p for p in problems if (trials["problem"] == p).any()]
    fig, axes = cv.panels(len(names))
    handles: dict[str, Any] = {}
    for ax, name in zip(axes, names):
        problem = problems[name]
        column = cv.quantity(problem)
        here = trials[trials["problem"] == name]
        grid = cv.grid_of(problem, here)
        shown = []
        for method in methods:
            runs = here[here["method"] == method]
            if not len(runs):
                continue
            med, low, high = cv.band(cv.run_curves(runs, column, grid))
            (line,) = ax.step(grid, med, where="post", color=colors[method], lw=1.8)
            ax.fill_between(grid, low, high, step="post", color=colors[method], alpha=0.15, lw=0)
            handles.setdefault(method, line)
            shown.append(np.concatenate([low, high]))
        goal = _goal_in_units(problem)
        if goal is not None:
            line = ax.axhline(goal, color="black", ls="--", lw=1)
            handles.setdefault("goal (GOAL runs)", line)
        if shown and cv.log_scale(ax, np.concatenate(shown)):
            ax.set_ylabel(cv.value_label(problem) + "\nsymlog scale", fontsize=8)
        else:
            ax.set_ylabel(cv.value_label(problem), fontsize=8)
        ax.set_xlabel(cv.time_label(problem))
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title}: median over runs, band = interquartile range (25th-75th percentile)", fontsize=10)
    cv.legend_outside(fig, list(handles.values()), list(handles), "method")
    return cv.save(fig, stem)


def _goal_in_units(problem: dict[str, Any]) -> float | None:
    """The goal as drawn: in the metric's units on value plots, as normalised regret on regret plots."""
    goal = problem.get("goal")
    if goal is None:
        return None
    if not cv.uses_regret(problem):
        return float(goal)
    sign = -1.0 if problem["direction"] == "max" else 1.0
    best, median = sign * problem["best_true"], sign * problem["median_true"]
    return float((sign * goal - best) / max(median - best, 1e-12))


def success_rate(summary: pd.DataFrame, problems: Problems, methods: Sequence[str], colors: dict[str, Any],
                 stem: Path) -> list[Path]:
    """Per problem: the share of runs whose incumbent has reached the target by each time (the goal for GOAL
    runs, else the table's top 1% by true value); live problems without a goal are left out."""
    names = [p for p in problems if (summary["problem"] == p).any()
             and (problems[p].get("goal") is not None or cv.uses_regret(problems[p]))]
    if not names:
        return []
    fig, axes = cv.panels(len(names))
    handles: dict[str, Any] = {}
    for ax, name in zip(axes, names):
        problem = problems[name]
        column = "time_to_goal" if problem.get("goal") is not None else "time_to_target"
        grid = cv.grid_of(problem)
        for j, method in enumerate(methods):
            runs = summary[(summary["problem"] == name) & (summary["method"] == method)]
            if not len(runs):
                continue
            times = runs[column].to_numpy(dtype=float)
            share = (times[None, :] <= grid[:, None]).mean(axis=1)  # NaN (not reached) never counts
            offset = 0.01 * (j - (len(methods) - 1) / 2)  # equal curves stay visible side by side
            (line,) = ax.step(grid, share + offset, where="post", color=colors[method], lw=1.5)
            handles.setdefault(method, line)
        target = "the goal" if column == "time_to_goal" else "the table's top 1%"
        ax.set_ylabel(f"share of runs that reached\n{target}", fontsize=8)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(cv.time_label(problem))
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    fig.suptitle("Success rate: share of runs whose incumbent reached the target by each time (lines offset by "
                 "up to +-0.01 so that equal ones stay visible)", fontsize=10)
    cv.legend_outside(fig, list(handles.values()), list(handles), "method")
    return cv.save(fig, stem)


def arm_usage(trials: pd.DataFrame, problems: Problems, div_methods: Sequence[str], stem: Path,
              bins: int = 10) -> list[Path]:
    """Per DIV method: which arm proposed the trials, as stacked shares over tenths of the budget (all problems
    and runs pooled). `trials`: one row per trial, or arm counts per bin of the budget (`compare.load_arms`,
    `ARM_BINS` bins, a multiple of `bins`)."""
    from hpo_mab.compare.collect import ARM_BINS, arm_counts

    if "count" in trials.columns:
        fine = ARM_BINS
        div = trials[trials["method"].isin(div_methods) & (trials["count"] > 0)]
    else:  # the same counts the compact table holds, so that both give the same figure
        fine = ARM_BINS if ARM_BINS % bins == 0 else bins
        div = arm_counts(trials, problems, list(div_methods), fine)
    if fine % bins:
        raise ValueError(f"arm_usage: {bins} bins do not divide the {fine} bins of the arm counts")
    if not len(div):
        return []
    plt = cv.use_agg()
    arms = sorted(div["arm"].unique())
    cmap = plt.get_cmap(cv.ARM_COLORS)
    arm_colors = {a: cmap(i % 20) for i, a in enumerate(a for a in arms if a != "INIT")}
    arm_colors["INIT"] = "lightgrey"  # the initial design, before any arm is chosen
    names = [m for m in div_methods if (div["method"] == m).any()]
    fig, axes = cv.panels(len(names))
    part = div["bin"] // (fine // bins)
    edges = np.arange(bins + 1) / bins
    for ax, method in zip(axes, names):
        mine = div["method"] == method
        counts = div[mine].groupby([part[mine], div.loc[mine, "arm"]])["count"].sum().unstack(fill_value=0).reindex(
            index=range(bins), columns=arms, fill_value=0)
        shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
        ax.stackplot(edges, *[np.append(shares[a].to_numpy(), shares[a].to_numpy()[-1]) for a in arms],
                     colors=[arm_colors[a] for a in arms], step="post")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("fraction of the time budget")
        ax.set_ylabel("share of trials proposed by each arm", fontsize=8)
        ax.set_title(method, fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=arm_colors[a]) for a in arms]
    fig.suptitle("Arm usage of the DIV methods over time (all problems and runs pooled)", fontsize=10)
    cv.legend_outside(fig, handles, arms, "arm")
    return cv.save(fig, stem)


def rank_curves(trials: pd.DataFrame, problems: Problems, methods: Sequence[str], points: int = 50
                ) -> tuple[np.ndarray, np.ndarray]:
    """Mean rank over problems (rank per problem of the median over runs, ties averaged) at each fraction of
    the budget; returns (fractions, (points, methods) mean ranks). Uses regret on tables, else the loss."""
    fractions = np.linspace(1.0 / points, 1.0, points)
    used = [p for p in problems if all(((trials["problem"] == p) & (trials["method"] == m)).any() for m in methods)]
    scores = np.empty((len(used), points, len(methods)))
    for i, name in enumerate(used):
        problem = problems[name]
        here = trials[trials["problem"] == name]
        column = cv.quantity(problem)
        sign = -1.0 if column == "inc_value" and problem["direction"] == "max" else 1.0
        for j, method in enumerate(methods):
            curves = cv.run_curves(here[here["method"] == method], column, fractions * problem["budget"])
            med = cv.band(sign * curves)[0]
            scores[i, :, j] = np.where(np.isnan(med), np.inf, med)
    ranks = np.array([stats.mean_ranks(scores[:, k, :]) for k in range(points)]) if used else np.empty((0, 0))
    return fractions, ranks


def mean_rank(trials: pd.DataFrame, problems: Problems, methods: Sequence[str], colors: dict[str, Any],
              stem: Path) -> list[Path]:
    """Mean rank of each method over the problems against the fraction of the budget spent (1 = best)."""
    if len(methods) < 2:
        return []
    fractions, ranks = rank_curves(trials, problems, methods)
    if not ranks.size:
        return []
    plt = cv.use_agg()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lines = [ax.plot(fractions, ranks[:, j], color=colors[m], lw=1.8)[0] for j, m in enumerate(methods)]
    ax.set_xlabel("fraction of each problem's time budget")
    ax.set_ylabel("mean rank over problems (1 = best)")
    ax.set_ylim(len(methods) + 0.3, 0.7)
    ax.grid(alpha=0.3)
    ax.set_title("Mean rank over time (rank per problem of the median over runs)", fontsize=10)
    cv.legend_outside(fig, lines, list(methods), "method")
    return cv.save(fig, stem)
