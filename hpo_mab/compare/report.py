"""report.md and the figures of a compare folder, from that folder alone (curves.csv.gz, arms.csv.gz,
summary.csv, compare.json, timing.json; see `hpo_mab.compare.collect`): `hpo-runner report DIR` redraws every
figure and recomputes every number. The full trials table (`compare --full-trials`) is not read: where a folder
has it but not the compact tables, they are derived from it, to the same numbers and figures.

Statistics (`hpo_mab.analysis.stats`): mean ranks per problem with 90% bootstrap intervals (resampling problems
and runs; the generator seeded with the experiment's seed), Friedman's test with the Nemenyi critical
difference, pairwise Wilcoxon signed-rank tests with Holm's correction, medians with exact 95% order-statistic
intervals, Kaplan-Meier median times to the target with runs that never reach it censored at the budget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hpo_mab.analysis import stats
from hpo_mab.compare import curves as cv
from hpo_mab.compare import figures as fg
from hpo_mab.compare import finals
from hpo_mab.compare.collect import load_arms, load_curves, load_info, load_summary
from hpo_mab.compare.files import check_keys, read_json, rewrite_hint
from hpo_mab.errors import HpoError

FIGURES = {
    "convergence": "Convergence per problem: the incumbent's normalised regret (0 = the table's best row, 1 = its "
                   "median row; on live tasks the best value so far) against time, median over runs with the "
                   "interquartile band.",
    "success": "Success rate: the share of runs whose incumbent has reached the table's top 1% by true value (the "
               "goal, for GOAL runs) by each time.",
    "arm_usage": "Arm usage of the DIV methods: which arm proposed the trials, as shares per tenth of the budget.",
    "mean_rank": "Mean rank over time: at each fraction of the budget, each method's rank per problem (by its "
                 "median over runs), averaged over the problems; 1 is best.",
    "final_boxes": "Final scores: box plots of every run's final normalised regret per method and problem.",
    "cd_diagram": "Critical-difference diagram: mean ranks by final score; methods joined by a bar are not "
                  "significantly different (Nemenyi test after Friedman's, alpha 0.05).",
}


def _f(x: float, digits: int = 4) -> str:
    return "inf" if np.isinf(x) else "-" if x != x else f"{x:.{digits}f}"


def run_methods(info: dict[str, Any]) -> list[str]:
    """The methods that ran (a missing peer's package leaves its method out)."""
    return [m["name"] for m in info["methods"] if not m.get("missing")]


def ranked_methods(info: dict[str, Any]) -> list[str]:
    """The methods that ran, less the references (oracle variants, or `reference: true`), which are ranked apart."""
    return [m["name"] for m in info["methods"] if not m.get("missing") and not m.get("reference")]


def draw_figures(folder: Path, curves: pd.DataFrame, arms: pd.DataFrame, summary: pd.DataFrame,
                 info: dict[str, Any]) -> dict[str, list[Path]]:
    """Every figure of the report into folder/figures, from the incumbent rows (`load_curves`), the arm counts
    (`load_arms`) and the runs (`load_summary`); returns the paths by figure name. References are drawn in the
    per-problem figures and left out of the rank figures."""
    methods, ranked = run_methods(info), ranked_methods(info)
    colors = cv.method_colors([m["name"] for m in info["methods"]])
    problems = info["problems"]
    out = folder / "figures"
    div = [m["name"] for m in info["methods"] if m["kind"] == "div" and not m.get("missing")]
    return {
        "convergence": fg.convergence(curves, problems, methods, colors, out / "convergence", info["name"]),
        "success": fg.success_rate(summary, problems, methods, colors, out / "success"),
        "arm_usage": fg.arm_usage(arms, problems, div, out / "arm_usage"),
        "mean_rank": fg.mean_rank(curves, problems, ranked, colors, out / "mean_rank"),
        "final_boxes": finals.boxes(summary, problems, methods, colors, out / "final_boxes"),
        "cd_diagram": finals.cd_diagram(summary, problems, ranked, colors, out / "cd_diagram"),
    }


def ranking_lines(summary: pd.DataFrame, info: dict[str, Any], methods: list[str]) -> list[str]:
    """Mean ranks with bootstrap intervals, Friedman with the Nemenyi CD, Wilcoxon-Holm."""
    used, values = finals.score_array(summary, info["problems"], methods)
    lines = ["## Ranking by final score", ""]
    if not used or len(methods) < 2:
        return lines + ["Ranking needs at least 2 methods with every run finished on a problem.", ""]
    boot = stats.bootstrap_ranks(values, methods, np.random.default_rng(info["seed"]), n_boot=2000)
    medians = np.median(values, axis=1)
    lines += [f"Problems ({len(used)}): {', '.join(used)}. Score: final normalised regret (tables; on live tasks the "
              "loss of the best value). Rank per problem by the median over "
              f"{values.shape[1]} runs, ties averaged; 90% bootstrap interval resampling problems and runs "
              f"({boot.n_boot} resamples, generator seeded with {info['seed']}); P(first): share of resamples "
              "with the best mean rank.", "",
              "| method | mean rank | 90% interval | P(first) | mean of medians |", "|---|---|---|---|---|"]
    for k in np.argsort(boot.mean, kind="stable"):
        lines.append(f"| {methods[k]} | {boot.mean[k]:.2f} | {boot.low[k]:.2f} - {boot.high[k]:.2f} | "
                     f"{boot.p_first[k]:.2f} | {medians[:, k].mean():.4f} |")
    lines.append("")
    fr = finals.friedman_of(summary, info["problems"], methods)
    if fr is None:
        return lines + ["(Friedman's test and the pairwise tests need at least 2 problems and 3 methods.)", ""]
    pairs = stats.pairwise_wilcoxon(medians, methods)
    significant = [q for q in pairs if q.significant(finals.ALPHA)]
    lines += [fr.summary(), "",
              f"Pairwise Wilcoxon signed-rank tests over problems, Holm-corrected across all {len(pairs)} pairs: "
              f"{len(significant)} significant at {finals.ALPHA}"
              + (": " + "; ".join(f"{q.a} vs {q.b} (p_Holm {q.holm_pvalue:.3g})" for q in significant)
                 if significant else "") + ".", ""]
    return lines


def problem_lines(name: str, problem: dict[str, Any], summary: pd.DataFrame, methods: list[str],
                  references: frozenset[str] = frozenset()) -> list[str]:
    """Medians with 95% intervals, early regret, time to target, trials, peers' moves; references marked."""
    regret = cv.uses_regret(problem)
    goal = problem.get("goal") is not None
    when = "time_to_goal" if goal else "time_to_target"
    target = f"goal {problem['goal']:g}" if goal else "top 1%"
    head = (f"### {name} ({problem['source']}, {problem['metric']} "
            f"{'maximised' if problem['direction'] == 'max' else 'minimised'}, budget {problem['budget']:.0f} s"
            + (f", top 1% from {problem['target']:.5g}" if "target" in problem else "") + ")")
    score = "median final regret [95% CI]" if regret else f"median best {problem['metric']} [95% CI]"
    lines = [head, "", f"| method | {score} | at 25% | at 50% | time to {target} (KM median [95% CI], budget units) "
             "| reached | trials (median) | moved / snapped |", "|---|---|---|---|---|---|---|---|"]
    for m in methods:
        runs = summary[(summary["problem"] == name) & (summary["method"] == m)]
        if not len(runs):
            lines.append(f"| {m} | not run | | | | | | |")
            continue
        values = runs["final_regret" if regret else "best_value"].to_numpy(dtype=float)
        med, lo, hi = stats.median_interval(values[~np.isnan(values)]) if (~np.isnan(values)).any() else (
            np.nan, np.nan, np.nan)
        times = runs[when].to_numpy(dtype=float)
        if regret or goal:
            reached = ~np.isnan(times)
            km = stats.km_median(np.where(reached, times, problem["budget"]) / problem["budget"], reached)
            ttt = f"{_f(km.median)} [{_f(km.low)}, {_f(km.high)}] | {km.reached}/{km.n}"
        else:
            ttt = "- | -"
        early = " | ".join(_f(float(runs[c].median())) if regret else "-" for c in ("regret_25", "regret_50"))
        note = "-"
        if runs["kind"].iloc[0] == "peer":
            n = runs["trials"].sum()
            note = f"{runs['moves'].sum()} ({100 * runs['moves'].sum() / max(n, 1):.1f}%) / {runs['snaps'].sum()}"
        label = f"{m} (reference)" if m in references else m
        lines.append(f"| {label} | {_f(med)} [{_f(lo)}, {_f(hi)}] | {early} | {ttt} | {runs['trials'].median():.0f} "
                     f"| {note} |")
    return lines + [""]


def load_timing(folder: Path) -> dict[str, dict[str, Any]]:
    """timing.json: each cell's wall and CPU seconds by its folder; empty where the folder has none."""
    path = folder / "timing.json"
    timing = read_json(path) if path.is_file() else {}
    for key, value in timing.items():
        check_keys(path, value, {}, rewrite_hint(path), f"cell {key!r}")
    return timing


def time_lines(timing: dict[str, dict[str, Any]], summary: pd.DataFrame, methods: list[str]) -> list[str]:
    """Where the time went: proposal seconds per trial (from the runs' totals and medians), and each method's
    cells' wall and CPU seconds (`timing`: `load_timing`)."""
    lines = ["## Time", "", "Proposal seconds: the time an arm, strategy or peer took to propose a trial (measured "
             "while the runs ran). Cells: wall-clock and CPU seconds of the method's cells in their worker processes "
             "(the last session that ran them). Median proposal s per trial: the median over the method's runs of each "
             "run's median.", "",
             "| method | trials | median proposal s per trial | total proposal s | cells wall s | cells CPU s |",
             "|---|---|---|---|---|---|"]
    for m in methods:
        mine = summary[summary["method"] == m]
        cells = [v for v in timing.values() if v.get("method") == m]
        wall, cpu = (_total([v.get(k) for v in cells], 1) for k in ("wall_seconds", "cpu_seconds"))
        median = mine["proposal_median"].median() if "proposal_median" in mine else np.nan  # older folders
        total = _total(mine["proposal_seconds"].tolist(), 1)
        lines.append(f"| {m} | {mine['trials'].sum()} | {_f(median)} | {total} | {wall} | {cpu} |")
    return lines + [""]


def _total(values: list[Any], digits: int) -> str:
    """The sum of the known values; "-" where none is known (a folder without timing.json or proposal times,
    e.g. one converted from other results)."""
    known = [float(v) for v in values if v is not None and v == v]
    return f"{sum(known):.{digits}f}" if known else "-"


def check_outputs(folder: Path) -> None:
    """HpoError naming what stands where the report writes: a file named figures, a directory named report.md
    or like a figure."""
    figures = folder / "figures"
    if figures.exists() and not figures.is_dir():
        raise HpoError(f"{figures}: not a directory; expected the folder the report draws its figures into; "
                       "move the file away")
    for path in [folder / "report.md", *(figures / f"{name}{ext}" for name in FIGURES for ext in (".png", ".pdf"))]:
        if path.is_dir():
            raise HpoError(f"{path}: a directory; expected the file the report writes there; move it away")


def write_report(folder: str | Path) -> Path:
    """Redraw every figure and write folder/report.md from the folder's tables alone."""
    folder = Path(folder)
    check_outputs(folder)
    info, summary, timing = load_info(folder), load_summary(folder), load_timing(folder)
    methods, ranked = run_methods(info), ranked_methods(info)
    references = frozenset(methods) - frozenset(ranked)
    figures = draw_figures(folder, load_curves(folder), load_arms(folder), summary, info)
    lines = [f"# Comparison: {info['name']}", "",
             f"Experiment file: `{info['path']}`. {info['runs']} runs per cell; run i of every cell uses child i "
             f"of SeedSequence({info['seed']}), so run i of every method observes the same evaluation draws "
             f"(paired runs). Criterion: {info['criterion']}"
             + (f"; at most {info['max_trials']} trials per run" if info.get("max_trials") else "") + ".", "",
             "## Methods", "", "| method | kind | definition |", "|---|---|---|"]
    for m in info["methods"]:
        lines.append(f"| {m['name']} | {m['kind']} | {m['definition']}"
                     + ("; **reference**, ranked apart" if m.get("reference") else "")
                     + (f" (**not run**: {m['missing']})" if m.get("missing") else "") + " |")
    missing = [m for m in info["methods"] if m.get("missing")]
    if missing:
        lines += ["", "Peers not run because their package is missing: " + "; ".join(
            f"{m['name']} ({m['missing']})" for m in missing) + "."]
    if references:
        lines += ["", f"References ({', '.join(sorted(references))}): shown per problem and in the convergence, "
                  "success and box figures, left out of the ranks, the tests and the rank figures (an oracle "
                  "variant sees the table's true values, which no other method has)."]
    lines += ["", *ranking_lines(summary, info, ranked)]
    lines += ["## Per problem", "", "Normalised regret: (true loss of the incumbent - the table's best) / (median - "
              "best), 0 = the table's best row, 1 = its median. 95% CI: exact order-statistic interval of the "
              "median. Time to target: Kaplan-Meier median over runs in units of the budget, runs that never reach "
              "it censored at the budget (inf: fewer than half reach it). Moved / snapped (peers): proposals "
              "moved to the nearest unused row because the nearest row was taken / proposals that were not a "
              "row of the table (share of the peer's trials).", ""]
    for name, problem in info["problems"].items():
        lines += problem_lines(name, problem, summary, methods, references)
    lines += ["## Figures", ""]
    for name, paths in figures.items():
        if paths:
            lines += [f"![{name}](figures/{name}.png)", "", FIGURES[name] + f" (also `figures/{name}.pdf`)", ""]
        else:
            lines += [f"- {name}: not drawn (" + ("no DIV method" if name == "arm_usage" else "needs at least 2 "
                      "problems and 3 methods" if name == "cd_diagram" else "no data") + ").", ""]
    lines += time_lines(timing, summary, methods)
    path = folder / "report.md"
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
    return path
