"""`hpo-runner`: the original tool's command line (seed 001), on lookup tables.

    hpo-runner CONFIG_NAME NUM_RUNS -m MODE -s SPEC -e TIME|GOAL -et 24h -eg 0.985 ...
    hpo-runner list [--json]
    hpo-runner build-table NAME ...
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

from hpo_mab.arms import ARMS, make_arm
from hpo_mab.arms.acquisition import ACQUISITIONS
from hpo_mab.errors import HpoError, OneLineParser
from hpo_mab.surrogates import DEFAULT_DIR, get_table, table_names
from hpo_mab.termination import parse_duration

MODES = ("DIV", *ARMS)
DEFAULTS: dict[str, Any] = {
    "mode": "DIV", "spec": None, "exp_crt": "TIME", "exp_goal": None, "exp_time": None, "max_trials": None,
    "seed": 0, "outdir": None, "log_level": "warn", "arms": None, "charge_proposal_time": False,
    "strategy_options": None,
}
DEFAULT_ARMS = [{"model": m, "acq_func": a} for m in ("GP", "RF") for a in ("EI", "PI", "UCB")] + [{"model": "TPE"}]
LOG_LEVELS = {"debug": logging.DEBUG, "log": logging.INFO, "info": logging.INFO, "warn": logging.WARNING,
              "error": logging.ERROR}


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="hpo-runner", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Hyperparameter optimization as a multi-armed bandit over optimizers, on lookup-table "
                    "surrogates (a simulated clock) or real training.",
        epilog="other commands:\n  hpo-runner list [--json]       surrogates, arms and strategies\n"
               "  hpo-runner build-table NAME ... build a lookup table by real training (see --help there)")
    S = argparse.SUPPRESS
    p.add_argument("config_name", help="surrogate (lookup table) name, e.g. digits-lenet, fcnet-protein; "
                                       "or a path to a table .npz file")
    p.add_argument("num_runs", type=int, help="number of independent repeated runs (the original's num_trials); "
                                              "run i uses child i of SeedSequence(--seed)")
    p.add_argument("-m", "--mode", default=S, help=f"optimization mode: one of {', '.join(MODES)} "
                                                   "(DIV: a portfolio of arms chosen by a strategy). Default DIV")
    p.add_argument("-s", "--spec", default=S, help="acquisition for GP/RF (EI, PI, UCB; default EI) or the "
                                                   "strategy for DIV (default SEQ)")
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
    p.add_argument("-o", "--outdir", default=S, help="output directory (default results/<name>-<mode>-...)")
    p.add_argument("-c", "--conf", default="arms.json", help="run configuration file in -rc (YAML or JSON) "
                                                             "holding any option and the DIV 'arms' list; "
                                                             "the command line overrides it. Default arms.json")
    p.add_argument("-rc", "--run_conf", default="run_conf", help="run configuration directory (default run_conf/)")
    p.add_argument("-hc", "--hp_conf", default="hp_conf", help="hyperparameter configuration directory "
                                                               "(default hp_conf/)")
    p.add_argument("-l", "--log_level", default=S, help=f"one of {', '.join(LOG_LEVELS)} (default warn)")
    p.add_argument("--charge-proposal-time", dest="charge_proposal_time", action="store_true", default=S,
                   help="charge the arms' proposal time to the simulated clock")
    p.add_argument("--resume", action="store_true", help="continue the journal in OUTDIR after a kill")
    p.add_argument("--overwrite", action="store_true", help="start OUTDIR's experiment again from scratch")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--surrogates-dir", default=str(DEFAULT_DIR), help="where our own tables live")
    return p


def load_run_conf(directory: str, name: str, explicit: bool) -> dict[str, Any]:
    """Options from a run configuration file; a missing default file is fine, a missing named one is not."""
    path = Path(directory) / name
    if not path.suffix:
        for suffix in (".json", ".yaml", ".yml"):
            if path.with_suffix(suffix).is_file():
                path = path.with_suffix(suffix)
                break
    if not path.is_file():
        if explicit:
            raise HpoError(f"{path}: no such run configuration")
        return {}
    try:
        doc = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise HpoError(f"{path}: not valid {path.suffix[1:].upper()}: {str(exc).splitlines()[0]}")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected a mapping of options, but got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(DEFAULTS))
    if unknown:
        raise HpoError(f"{path}: unknown key(s) {unknown}; expected some of {sorted(DEFAULTS)}")
    if "arms" in doc:
        doc["arms"] = parse_arms(doc["arms"], str(path))
    return doc


def parse_arms(items: Any, where: str) -> list[tuple[str, str | None]]:
    """The DIV portfolio: a list of {model, acq_func} entries (model names as in `ARMS`, e.g. GP-HLE)."""
    if not isinstance(items, list) or not items:
        raise HpoError(f"{where}: 'arms' must be a non-empty list of {{model, acq_func}} entries, but got {items!r}")
    arms = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "model" not in item:
            raise HpoError(f"{where}: arms[{i}] must be a mapping with a 'model' key, but got {item!r}")
        unknown = sorted(set(item) - {"model", "acq_func"})
        if unknown:
            raise HpoError(f"{where}: arms[{i}]: unknown key(s) {unknown}; expected 'model' and, for GP/RF models, "
                           "'acq_func' (a transformed arm is a model name such as GP-HLE)")
        model, acq = str(item["model"]).upper(), item.get("acq_func")
        try:
            make_arm(model, None if acq is None else str(acq))  # the registry's own rules and messages
        except HpoError as exc:
            raise HpoError(f"{where}: arms[{i}]: {exc}") from None
        arms.append((model, None if acq is None else str(acq).upper()))
    return arms


_TYPES: dict[str, tuple[type, ...]] = {
    "mode": (str,), "spec": (str,), "exp_crt": (str,), "exp_goal": (int, float), "exp_time": (int, float, str),
    "max_trials": (int,), "seed": (int,), "outdir": (str,), "log_level": (str,), "charge_proposal_time": (bool,),
}


def _check_types(options: dict[str, Any], conf: str) -> None:
    """A run configuration's values must have the option's type (the command line's are parsed already)."""
    for key, types in _TYPES.items():
        value = options.get(key)
        if value is None:
            continue
        bad_bool = isinstance(value, bool) and bool not in types
        if bad_bool or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise HpoError(f"{conf}: option '{key}' must be {names}, but got {value!r}")


def resolve_options(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    explicit_conf = any(a == "-c" or a.startswith(("-c=", "--conf")) for a in argv)
    options = dict(DEFAULTS)
    options["arms"] = parse_arms(DEFAULT_ARMS, "default arms")
    options.update(load_run_conf(args.run_conf, args.conf, explicit_conf))
    options.update({k: v for k, v in vars(args).items() if k in DEFAULTS})
    _check_types(options, str(Path(args.run_conf) / args.conf))
    options["mode"] = str(options["mode"]).upper()
    if options["mode"] not in MODES:
        raise HpoError(f"unknown mode {options['mode']!r}; expected one of {', '.join(MODES)}")
    if options["spec"] is not None:
        options["spec"] = str(options["spec"]).upper()
    elif options["mode"] in ("GP", "RF", "GP-HLE", "RF-HLE"):
        options["spec"] = "EI"
    options["exp_crt"] = str(options["exp_crt"]).upper()
    if options["log_level"] not in LOG_LEVELS:
        raise HpoError(f"unknown log level {options['log_level']!r}; expected one of {', '.join(LOG_LEVELS)}")
    return options


def _strategy_options(value: Any) -> dict[str, Any] | None:
    """`strategy_options` of a run configuration: a mapping such as {eta: 0.5, time_unit: 30m}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise HpoError(f"strategy_options must be a mapping (e.g. {{eta: 0.5}}), but got {value!r}")
    return dict(value)


def cmd_list(argv: list[str]) -> int:
    from hpo_mab.strategies import STRATEGIES

    p = OneLineParser(prog="hpo-runner list", description="surrogates, arms and strategies")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--surrogates-dir", default=str(DEFAULT_DIR))
    args = p.parse_args(argv)
    tables = [get_table(n, Path(args.surrogates_dir)).summary() for n in table_names(Path(args.surrogates_dir))]
    with_acq = ("GP", "RF", "GP-HLE", "RF-HLE")
    arms = [f"{m}-{a}" for m in with_acq for a in ACQUISITIONS] + [m for m in ARMS if m not in with_acq]
    doc = {"surrogates": tables, "arms": arms, "strategies": sorted(STRATEGIES), "modes": list(MODES)}
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
    print("strategies: " + (", ".join(sorted(STRATEGIES)) or "(none)"))
    return 0


def cmd_run(argv: list[str]) -> int:
    from hpo_mab.analysis.report import plot_convergence, write_trials_csv
    from hpo_mab.runner import Settings, run_experiment

    args = build_parser().parse_args(argv)
    options = resolve_options(args, argv)
    logging.basicConfig(level=LOG_LEVELS[options["log_level"]], format="%(levelname)s %(message)s")
    if args.num_runs < 1:
        raise HpoError(f"NUM_RUNS must be at least 1, but got {args.num_runs}")
    budget = None if options["exp_time"] is None else parse_duration(options["exp_time"])
    if options["exp_crt"] == "GOAL" and options["exp_goal"] is None:
        raise HpoError("-e GOAL needs a goal: give -eg VALUE (in the metric's own units)")
    if options["exp_crt"] not in ("TIME", "GOAL"):
        raise HpoError(f"-e must be TIME or GOAL, but got {options['exp_crt']!r}")
    table = get_table(args.config_name, Path(args.surrogates_dir))
    settings = Settings(config_name=table.name, num_runs=args.num_runs, mode=options["mode"], spec=options["spec"],
                        criterion=options["exp_crt"], goal=options["exp_goal"], budget=budget,
                        max_trials=options["max_trials"], seed=options["seed"],
                        arms=options["arms"] if options["mode"] == "DIV" else None,
                        charge_proposal_time=bool(options["charge_proposal_time"]),
                        strategy_options=_strategy_options(options["strategy_options"]))
    outdir = Path(options["outdir"] or f"results/{settings.describe().replace(' ', '-')}-seed{settings.seed}")
    total = args.num_runs * (budget if budget is not None else table.default_budget_s)
    bar = _progress(total, args.progress, settings.describe())
    done = {"clock": 0.0, "base": 0.0}

    def on_trial(trial, clock: float) -> None:
        if bar is not None:
            bar.update(done["base"] + clock - bar.n)

    def on_run_end(summary) -> None:
        done["base"] += total / args.num_runs
        if bar is not None:
            bar.update(done["base"] - bar.n)
            bar.set_postfix(best=f"{summary.best_value:.4g}" if summary.best_value is not None else "-")

    # The models' matrices are small: one BLAS thread is as fast, and OpenBLAS's spinning threads made an
    # 800x800 Cholesky take 0.57 s instead of 0.01 s while another process used the other core.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        summaries = run_experiment(settings, table, outdir, args.resume, args.overwrite, on_trial, on_run_end)
    if bar is not None:
        bar.close()
    frame = write_trials_csv(outdir / "journal.jsonl", outdir / "trials.csv")
    if len(frame):
        plot_convergence(frame, outdir / "convergence.png", settings.describe(), table.metric.name,
                         table.metric.direction == "max")
    print_report(summaries, table, settings, outdir)
    return 0


def _progress(total: float, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="s", unit_scale=True, mininterval=0.5, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} simulated s [{elapsed}<{remaining}{postfix}]")


def print_report(summaries, table, settings, outdir: Path) -> None:
    metric = table.metric
    for s in summaries:
        goal = f", goal at {s.time_to_goal:.0f} s" if s.time_to_goal is not None else ""
        true = f" (true {s.best_true_value:.5g})" if s.best_true_value is not None else ""
        value = f"{s.best_value:.5g}" if s.best_value is not None else "none"
        print(f"run {s.run}: {s.trials} trials, best {metric.name} {value}{true}{goal}; stopped: {s.stop_reason}")
    values = [s.best_value for s in summaries if s.best_value is not None]
    trues = [s.best_true_value for s in summaries if s.best_true_value is not None]
    if values:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"best {metric.name} over {len(values)} runs: mean {statistics.mean(values):.5g} +- {spread:.2g} "
              f"(median {statistics.median(values):.5g}, min {min(values):.5g}, max {max(values):.5g})")
    if trues:
        print(f"true value of the incumbents: mean {statistics.mean(trues):.5g}, median {statistics.median(trues):.5g}"
              f"; table best {table.true_values[table.true_losses.argmin()]:.5g}")
    if settings.criterion == "GOAL":
        hits = [s.time_to_goal for s in summaries if s.time_to_goal is not None]
        median = f", median time to goal {statistics.median(hits):.0f} s" if hits else ""
        print(f"goal {settings.goal} reached in {len(hits)}/{len(summaries)} runs{median}")
    best_run = min((s for s in summaries if s.best_value is not None),
                   key=lambda s: metric.to_loss(s.best_value), default=None)
    if best_run is not None:
        print(f"best configuration (run {best_run.run}): {json.dumps(best_run.best_config)}")
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "list":
            return cmd_list(argv[1:])
        if argv and argv[0] == "build-table":
            from hpo_mab.surrogates.builder import build_table_main

            return build_table_main(argv[1:])
        return cmd_run(argv)
    except HpoError as exc:
        print(f"hpo-runner: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hpo-runner: interrupted; the journal keeps every finished trial (use --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
