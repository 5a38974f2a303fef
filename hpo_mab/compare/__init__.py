"""Comparisons as a tool: an experiment file (problems x methods x seeds) run as a resumable matrix, its tables,
figures and Markdown report (`hpo-runner compare`, `report`, `plot`; see `commands`).

For notebooks:

    from hpo_mab import compare
    curves = compare.load_curves("results/compare-quick")   # the incumbent's changes, per run
    arms = compare.load_arms("results/compare-quick")       # DIV methods' arm counts per 1/50 of the budget
    runs = compare.load_summary("results/compare-quick")    # one row per run
    trials = compare.load("results/compare-quick")          # all trials with --full-trials, else the curves
    info = compare.load_info("results/compare-quick")       # methods, problems (budgets, targets)
    colors = compare.method_colors([m["name"] for m in info["methods"]])
    compare.convergence(curves, info["problems"], list(colors), colors, Path("conv"))  # conv.png, conv.pdf

Modules: `spec` (the experiment file), `methods` (its method entries), `cells` (one problem x method cell),
`matrix` (planning, projection, the worker pool), `collect` (the tables and their loaders), `rundir` (a single
run's OUTDIR as such a table), `files` (reading the folder's files: a damaged one is one error line), `curves`,
`figures` and `finals` (the figures), `report` (report.md), `commands` (the command lines).
"""

from __future__ import annotations

from hpo_mab.compare.collect import load, load_arms, load_curves, load_info, load_summary, load_trials
from hpo_mab.compare.curves import method_colors
from hpo_mab.compare.figures import arm_usage, convergence, mean_rank, rank_curves, success_rate
from hpo_mab.compare.finals import boxes, cd_diagram, score_array
from hpo_mab.compare.report import write_report
from hpo_mab.compare.rundir import load_run_dir
from hpo_mab.compare.spec import Experiment, load_experiment

__all__ = ["Experiment", "arm_usage", "boxes", "cd_diagram", "convergence", "load", "load_arms", "load_curves",
           "load_experiment", "load_info", "load_run_dir", "load_summary", "load_trials", "mean_rank",
           "method_colors", "rank_curves", "score_array", "success_rate", "write_report"]
