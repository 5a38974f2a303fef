"""`hpo-runner`: the original tool's command line (seed 001), on lookup tables or real training (`--train`).

    hpo-runner CONFIG_NAME NUM_RUNS -m MODE -s SPEC -e TIME|GOAL -et 24h -eg 0.985 ...
    hpo-runner TASK NUM_RUNS --train [--epochs N --device cpu|cuda --datasets DIR] ...
    hpo-runner list [--json]
    hpo-runner build-table NAME ...
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from hpo_mab.catalog import MODES, SCHEDULER_NAMES, STRATEGY_NAMES, arm_names
from hpo_mab.defaults import DEFAULT_STRATEGY
from hpo_mab.errors import HpoError, OneLineParser
from hpo_mab.options import LOG_LEVELS, resolve_options
from hpo_mab.surrogates import DEFAULT_DIR


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="hpo-runner", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Hyperparameter optimization as a multi-armed bandit over optimizers, on lookup-table "
                    "surrogates (a simulated clock) or real training.",
        epilog="other commands:\n  hpo-runner list [--json]       surrogates, arms, strategies and training tasks\n"
               "  hpo-runner build-table NAME ... build a lookup table by real training (see --help there)\n"
               "  hpo-runner serve --port 6100   a remote train node for -w (see --help there)\n"
               "  hpo-runner compare SPEC.yaml   methods x problems x seeds, resumable, with a report\n"
               "  hpo-runner report DIR          redraw a compare folder's figures and report.md\n"
               "  hpo-runner plot DIR [DIR ...]  convergence of result folders in one figure\n"
               "  hpo-runner brackets            Hyperband's brackets for --max-resource and --eta")
    S = argparse.SUPPRESS
    p.add_argument("config_name", help="surrogate (lookup table) name, e.g. digits-lenet, fcnet-protein; "
                                       "or a path to a table .npz file; with --train a training task "
                                       "(digits-lenet, kin8nm-mlp, protein-mlp, diabetes-mlp)")
    p.add_argument("num_runs", type=int, help="number of independent repeated runs (the original's num_trials); "
                                              "run i uses child i of SeedSequence(--seed)")
    p.add_argument("-m", "--mode", default=S, help=f"optimization mode: one of {', '.join(MODES)} "
                                                   "(DIV: a portfolio of arms chosen by a strategy). Default DIV")
    p.add_argument("-s", "--spec", default=S, help="acquisition for GP/RF (EI, PI, UCB; default EI) or the "
                                                   f"strategy for DIV (default {DEFAULT_STRATEGY})")
    p.add_argument("-e", "--exp_crt", default=S, help="termination: TIME (run until the budget is spent) or "
                                                      "GOAL (until an observed value reaches -eg; TIME still caps "
                                                      "it). Default TIME")
    p.add_argument("-eg", "--exp_goal", type=float, default=S,
                   help="the goal in the metric's own units and direction (accuracy >= 0.985; loss <= 0.25)")
    p.add_argument("-et", "--exp_time", default=S, help="time budget per run: 30, 90s, 20m, 6h, 2d "
                                                        "(simulated seconds on tables). Default: the table's "
                                                        "default budget (see `hpo-runner list`)")
    p.add_argument("--max-trials", dest="max_trials", type=int, default=S, help="cap on trials per run")
    p.add_argument("--seed", type=int, default=S, help="experiment seed (default 0)")
    p.add_argument("-o", "--outdir", default=S, help="output directory (default results/NAME-MODE-CRITERION"
                                                     "[-train][-SCHEDULER][-CONF]-seedN)")
    p.add_argument("-c", "--conf", default=None, help="run configuration file in -rc (YAML or JSON) "
                                                      "holding any option and the DIV 'arms' list; "
                                                      "the command line overrides it. Default arms.json")
    p.add_argument("-rc", "--run_conf", default=None, help="run configuration directory (default run_conf/)")
    p.add_argument("-hc", "--hp_conf", default=None, help="search-space directory for a user's script (a run "
                                                          "configuration with 'script'): DIR/CONFIG_NAME.json; "
                                                          "tables and training tasks carry their own space")
    p.add_argument("-l", "--log_level", default=S, help=f"one of {', '.join(LOG_LEVELS)} (default warn)")
    p.add_argument("--charge-proposal-time", dest="charge_proposal_time", action="store_true", default=S,
                   help="charge the arms' proposal time to the simulated clock")
    p.add_argument("--resume", action="store_true", help="continue the journal in OUTDIR after a kill")
    p.add_argument("--overwrite", action="store_true", help="start OUTDIR's experiment again from scratch")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--surrogates-dir", default=str(DEFAULT_DIR), help="where our own tables live")
    mf = p.add_argument_group("early termination and multi-fidelity (trials with several epochs)")
    mf.add_argument("--scheduler", default=S, help="decides at each epoch whether a trial continues, pauses or "
                                                   "stops: SHA, ASHA, HYPERBAND, BOHB, MEDIAN, DECATERCET, "
                                                   "PENTATERCET, TETRATERCET, EXTRAPOLATION (`hpo-runner list`)")
    mf.add_argument("--max-resource", dest="max_resource", type=int, default=S,
                    help="epochs of a full trial (default: the table's or the task's)")
    mf.add_argument("--min-resource", dest="min_resource", type=int, default=S,
                    help="epochs of the first rung (SHA, ASHA, HYPERBAND, BOHB; default 1)")
    mf.add_argument("--eta", type=int, default=S, help="reduction factor: the best 1/eta of a rung go on (default 3)")
    mf.add_argument("--hpo-config", dest="hpo_config", default=S,
                    help="an OTX hpo_config.yaml (search_algorithm asha, metric, mode, hp_space, maximum_resource, "
                         "minimum_resource): ASHA with its options on the table or task named")
    mf.add_argument("--auto-config", dest="auto_config", action="store_true", default=S,
                    help="plan ASHA's trials, eta and min_resource so that the planned schedule fits the TIME "
                         "budget and uses at least 80%% of it; prints what it chose")
    mf.add_argument("--model-data", dest="model_data", default=S,
                    help="what the arms model under a scheduler: largest (the largest epoch enough trials "
                         "reached, BOHB's rule; default), resource (each trial at its epochs) or full (only "
                         "trials that ran every epoch)")
    live = p.add_argument_group("real training (--train)")
    live.add_argument("--train", action="store_true", default=S,
                      help="train CONFIG_NAME's task for real on the wall clock instead of replaying a table")
    live.add_argument("--epochs", type=int, default=S, help="epochs per trial (default: the task's, e.g. 27)")
    live.add_argument("--device", default=S, help="torch device (default: cuda if available, else cpu)")
    live.add_argument("--datasets", default=S, help="datasets directory (default: $HPO_MAB_DATASETS, else "
                                                    "../shared/datasets next to the repository)")
    live.add_argument("--candidates", default=S,
                      help="where the arms look: table (the configurations of the task's table in "
                           "--surrogates-dir, trained for real: live runs then search what table runs search), "
                           "continuous (the whole space) or auto (default: table when the task has one)")
    live.add_argument("-w", "--worker", dest="workers", action="append", default=S,
                      help="train on the remote node at this URL (hpo-runner serve); repeat for several nodes, "
                           "which take trials in turn. The secret: $HPO_MAB_TOKEN or the run configuration's "
                           "'credential'; 'worker_timeout' (default 10m) fails a trial whose node sends no epoch")
    return p


def cmd_list(argv: list[str]) -> int:
    from hpo_mab.surrogates.summaries import table_summaries
    from hpo_mab.tasks import TASKS

    p = OneLineParser(prog="hpo-runner list", description="surrogates, arms and strategies")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--surrogates-dir", default=str(DEFAULT_DIR))
    args = p.parse_args(argv)
    if not Path(args.surrogates_dir).is_dir():
        raise HpoError(f"--surrogates-dir {args.surrogates_dir}: no such directory")
    tables = table_summaries(Path(args.surrogates_dir))
    arms = arm_names()
    doc = {"surrogates": tables, "arms": arms, "strategies": sorted(STRATEGY_NAMES), "modes": list(MODES),
           "schedulers": list(SCHEDULER_NAMES), "tasks": list(TASKS)}
    if args.json:
        print(json.dumps(doc))
        return 0
    w = max([len("surrogate")] + [len(t["name"]) for t in tables]) + 2
    print(f"{'surrogate':<{w}}{'configs':>8}{'seeds':>6}{'epochs':>7}  {'metric':<9}{'dir':<4}{'budget_s':>12}"
          f"{'top1%_goal':>12}")
    for t in tables:
        print(f"{t['name']:<{w}}{t['configurations']:>8}{t['seeds']:>6}{t['epochs']:>7}  {t['metric']:<9}"
              f"{t['direction']:<4}{t['default_budget_s']:>12.0f}{t['top1_goal']:>12.5g}")
    print("(top1%_goal: the value that marks the table's top 1% by true value, a goal for -e GOAL -eg)")
    print("\narms:       " + ", ".join(arms))
    print("strategies: " + ", ".join(sorted(STRATEGY_NAMES)))
    print("schedulers: " + ", ".join(SCHEDULER_NAMES) + " (--scheduler; tables and tasks with several epochs)")
    print("tasks:      " + ", ".join(TASKS) + " (real training: hpo-runner TASK N --train; a task with a table of "
          "its name above trains the table's rows unless --candidates continuous)")
    return 0


def cmd_run(argv: list[str]) -> int:
    from hpo_mab.run_setup import setup_run
    from hpo_mab.runner import execute, plan_experiment

    args = build_parser().parse_args(argv)
    options = resolve_options(args, argv)
    logging.basicConfig(level=LOG_LEVELS[options["log_level"]], format="%(levelname)s %(message)s")
    if options["exp_goal"] is not None and options["exp_crt"] != "GOAL":
        logging.getLogger("hpo_mab").warning("-eg %g has no effect with -e %s: add -e GOAL to stop at the goal",
                                             options["exp_goal"], options["exp_crt"])
    if args.num_runs < 1:
        raise HpoError(f"NUM_RUNS must be at least 1, but got {args.num_runs}")
    table, settings, outdir = setup_run(args, options)
    # Everything is checked, and a resume's journal read, before OUTDIR is created or anything in it touched.
    plan = plan_experiment(settings, table, outdir, args.resume, args.overwrite)
    total = args.num_runs * plan.term.budget
    state: dict[str, Any] = {"base": 0.0, "bar": None}

    def bar():  # drawn at the first trial: an error before it (creating OUTDIR) is then the only line
        if state["bar"] is None and args.progress:
            state["bar"] = _progress(total, True, settings.describe(), "s" if table.live else "simulated s")
        return state["bar"]

    def on_trial(trial, clock: float) -> None:
        if bar() is not None:  # a live clock passes the budget a little while the last trial stops
            state["bar"].update(state["base"] + min(clock, plan.term.budget) - state["bar"].n)

    def on_run_end(summary) -> None:
        state["base"] += total / args.num_runs
        if summary.best_value is not None:  # the bar shows the best over the runs so far
            values = [v for v in (state.get("best"), summary.best_value) if v is not None]
            state["best"] = max(values) if table.metric.sense.maximised else min(values)
        if bar() is not None:
            state["bar"].update(state["base"] - state["bar"].n)
            state["bar"].set_postfix(best=f"{state['best']:.4g}" if state.get("best") is not None else "-")

    # The models' matrices are small: one BLAS thread is as fast, and OpenBLAS's spinning threads made an
    # 800x800 Cholesky take 0.57 s instead of 0.01 s while another process used the other core.
    from hpo_mab.threads import one_blas_thread

    try:
        with one_blas_thread():
            summaries = execute(plan, on_trial, on_run_end)
    except BaseException:
        if state["bar"] is not None:  # an error line must not be followed by a redrawn bar
            state["bar"].leave = False
            state["bar"].close()
        raise
    if state["bar"] is not None:
        state["bar"].close()
    _write_outputs(outdir, settings, table)
    print_report(summaries, table, settings, outdir)
    return 0


def _write_outputs(outdir: Path, settings, table) -> None:
    from hpo_mab.analysis.report import plot_convergence, write_trials_csv

    frame = write_trials_csv(outdir / "journal.jsonl", outdir / "trials.csv")
    if len(frame):
        plot_convergence(frame, outdir / "convergence.png", settings.describe(), table.metric.name,
                         table.metric.sense.maximised)


def _progress(total: float, enabled: bool, desc: str, unit: str = "simulated s"):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="s", unit_scale=True, mininterval=0.5, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} " + unit + " [{elapsed}<{remaining}{postfix}]")


def print_report(summaries, table, settings, outdir: Path) -> None:
    metric = table.metric
    for s in summaries:
        goal = f", goal at {s.time_to_goal:.0f} s" if s.time_to_goal is not None else ""
        true = f" (true {s.best_true_value:.5g})" if s.best_true_value is not None else ""
        value = f"{s.best_value:.5g}" if s.best_value is not None else "none"
        count = f"{s.trials} trials" if s.started in (None, s.trials) else \
            f"{s.started} trials ({s.trials} journal records: {s.trials - s.started} continue paused trials)"
        print(f"run {s.run}: {count}, best {metric.name} {value}{true}{goal}; stopped: {s.stop_reason}")
    values = [s.best_value for s in summaries if s.best_value is not None]
    trues = [s.best_true_value for s in summaries if s.best_true_value is not None]
    if values:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"best {metric.name} over {len(values)} runs: mean {statistics.mean(values):.5g} +- {spread:.2g} "
              f"(median {statistics.median(values):.5g}, min {min(values):.5g}, max {max(values):.5g})")
    if trues:
        import numpy as np

        table = getattr(table, "table", table)  # a Problem's table, or a Table
        print(f"true value of the incumbents: mean {statistics.mean(trues):.5g}, median {statistics.median(trues):.5g}"
              f"; table best {table.true_values[np.nanargmin(table.true_losses)]:.5g}")
    if settings.criterion == "GOAL":
        hits = [s.time_to_goal for s in summaries if s.time_to_goal is not None]
        median = f", median time to goal {statistics.median(hits):.0f} s" if hits else ""
        print(f"goal {settings.goal} reached in {len(hits)}/{len(summaries)} runs{median}")
    best_run = min((s for s in summaries if s.best_value is not None),
                   key=lambda s: metric.to_loss(s.best_value), default=None)
    if best_run is not None:
        true = f", true {best_run.best_true_value:.5g}" if best_run.best_true_value is not None else ""
        print(f"best configuration by observed value (run {best_run.run}, observed {best_run.best_value:.5g}{true}): "
              f"{json.dumps(best_run.best_config)}")
    best_true = min((s for s in summaries if s.best_true_value is not None),
                    key=lambda s: metric.to_loss(s.best_true_value), default=None)
    if best_true is not None and best_true is not best_run:
        print(f"best configuration by true value (run {best_true.run}, observed {best_true.best_value:.5g}, "
              f"true {best_true.best_true_value:.5g}): {json.dumps(best_true.best_config)}")
    if settings.mode == "DIV":
        chosen, found = {}, {}
        for s in summaries:
            for k, v in s.arm_counts.items():
                chosen[k] = chosen.get(k, 0) + v
            for k, v in s.incumbents_by_arm.items():
                found[k] = found.get(k, 0) + v
        print("arm         chosen  incumbents")
        for k in sorted(chosen, key=lambda a: -chosen[a]):
            print(f"{k:<12}{chosen[k]:>6}  {found.get(k, 0):>10}")
    print(f"results: {outdir}/journal.jsonl, trials.csv, summary.json, convergence.png")


# Subcommands other than a run and `list`: name -> (module, function taking argv), imported on use so that
# `hpo-runner list` and a table run load none of them.
SUBCOMMANDS = {
    "build-table": ("hpo_mab.surrogates.builder", "build_table_main"),
    "serve": ("hpo_mab.server", "serve_main"),
    "brackets": ("hpo_mab.schedulers.brackets", "brackets_main"),
    "compare": ("hpo_mab.compare.commands", "compare_main"),
    "report": ("hpo_mab.compare.commands", "report_main"),
    "plot": ("hpo_mab.compare.commands", "plot_main"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "list":
            return cmd_list(argv[1:])
        if argv and argv[0] in SUBCOMMANDS:
            module, function = SUBCOMMANDS[argv[0]]
            return getattr(importlib.import_module(module), function)(argv[1:])
        return cmd_run(argv)
    except HpoError as exc:
        print(f"hpo-runner: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = {"build-table": "the build record keeps every finished row (run the same command again)",
                "compare": "every finished cell is kept (run the same command again)"}
        what = kept.get(argv[0] if argv else "", "the journal keeps every finished trial (use --resume)")
        print(f"hpo-runner: interrupted; {what}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (`| head`): no traceback, as the docs of
        # signal advise, stdout is pointed at devnull so that Python's final flush does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
