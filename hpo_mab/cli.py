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
import math
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

from hpo_mab.catalog import CANDIDATE_CHOICES, MODES, SCHEDULER_NAMES, STRATEGY_NAMES, arm_names
from hpo_mab.defaults import DEFAULT_ARMS, DEFAULT_MODE, DEFAULT_STRATEGY
from hpo_mab.errors import HpoError, OneLineParser
from hpo_mab.surrogates import DEFAULT_DIR
from hpo_mab.termination import parse_duration

DEFAULTS: dict[str, Any] = {
    "mode": DEFAULT_MODE, "spec": None, "exp_crt": "TIME", "exp_goal": None, "exp_time": None, "max_trials": None,
    "seed": 0, "outdir": None, "log_level": "warn", "arms": None, "charge_proposal_time": False,
    "strategy_options": None, "arm_options": None, "train": False, "epochs": None, "device": None, "datasets": None,
    "script": None, "workers": None, "credential": None, "worker_timeout": None,
    "scheduler": None, "scheduler_options": None, "model_data": None, "hpo_config": None, "auto_config": False,
    "early_stopping": None, "fit_budget": False, "candidates": None,
}
# Options of the strategies (`strategy_options` in a run configuration): which strategies read each, and its rule.
STRATEGY_OPTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "eta": (("HEDGE", "HEDGE-ORIG", "BO-HEDGE", "BO-HEDGE-LE", "BO-HEDGE-T", "BO-HEDGE-LET"), "positive"),
    "gamma": (("EXP3",), "fraction"),
    "eps_end": (("EG", "EG-LE", "GT", "GT-LE"), "fraction"),
    "time_unit": (("GT", "GT-LE"), "duration"),
    "period": (("SKO",), "count"),
}
LOG_LEVELS = {"debug": logging.DEBUG, "log": logging.INFO, "info": logging.INFO, "warn": logging.WARNING,
              "error": logging.ERROR}


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="hpo-runner", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Hyperparameter optimization as a multi-armed bandit over optimizers, on lookup-table "
                    "surrogates (a simulated clock) or real training.",
        epilog="other commands:\n  hpo-runner list [--json]       surrogates, arms, strategies and training tasks\n"
               "  hpo-runner build-table NAME ... build a lookup table by real training (see --help there)\n"
               "  hpo-runner serve --port 6100   a remote train node for -w (see --help there)")
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
    p.add_argument("-o", "--outdir", default=S, help="output directory (default results/<name>-<mode>-...)")
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


def load_run_conf(directory: str, name: str, explicit: bool) -> dict[str, Any]:
    """Options from a run configuration file; a missing default file is fine, a missing named one is not."""
    if not name or not isinstance(name, str):
        raise HpoError(f"-c must name a run configuration file, but got {name!r}")
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
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise HpoError(f"{path}: cannot read the run configuration ({type(exc).__name__}: {exc})")
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise HpoError(f"{path}: not valid {kind}: {(str(exc).splitlines() or [type(exc).__name__])[0]}")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected a mapping of options, but got {type(doc).__name__}")
    unknown = sorted(map(str, set(doc) - set(DEFAULTS)))
    if unknown:
        raise HpoError(f"{path}: unknown key(s) {unknown}; expected some of {sorted(DEFAULTS)}")
    if "arms" in doc:
        doc["arms"] = parse_arms(doc["arms"], str(path))
    return doc


def parse_arms(items: Any, where: str) -> list[tuple[str, str | None]]:
    """The DIV portfolio: a list of {model, acq_func} entries (model names as in `ARMS`, e.g. GP-HLE)."""
    from hpo_mab.arms import make_arm

    if not isinstance(items, list) or not items:
        raise HpoError(f"{where}: 'arms' must be a non-empty list of {{model, acq_func}} entries, but got {items!r}")
    arms = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "model" not in item:
            raise HpoError(f"{where}: arms[{i}] must be a mapping with a 'model' key, but got {item!r}")
        unknown = sorted(map(str, set(item) - {"model", "acq_func"}))
        if unknown:
            raise HpoError(f"{where}: arms[{i}]: unknown key(s) {unknown}; expected 'model' and, for GP/RF models, "
                           "'acq_func' (a transformed arm is a model name such as GP-HLE)")
        model, acq = item["model"], item.get("acq_func")
        if not isinstance(model, str) or not (acq is None or isinstance(acq, str)):
            raise HpoError(f"{where}: arms[{i}]: model and acq_func must be names, but got {item!r}")
        model = model.upper()
        try:
            make_arm(model, None if acq is None else str(acq))  # the registry's own rules and messages
        except HpoError as exc:
            raise HpoError(f"{where}: arms[{i}]: {exc}") from None
        arms.append((model, None if acq is None else str(acq).upper()))
    return arms


_TYPES: dict[str, tuple[type, ...]] = {
    "mode": (str,), "spec": (str,), "exp_crt": (str,), "exp_goal": (int, float), "exp_time": (int, float, str),
    "max_trials": (int,), "seed": (int,), "outdir": (str,), "log_level": (str,), "charge_proposal_time": (bool,),
    "strategy_options": (dict,), "arm_options": (dict,), "train": (bool,), "epochs": (int,), "device": (str,),
    "datasets": (str,), "script": (dict,), "workers": (list,), "credential": (str,),
    "worker_timeout": (int, float, str), "scheduler": (str,), "scheduler_options": (dict,), "model_data": (str,),
    "hpo_config": (str,), "auto_config": (bool,), "early_stopping": (list,), "candidates": (str,),
}


def _check_types(options: dict[str, Any], conf: str) -> None:
    """A run configuration's values must have the option's type (the command line's are parsed already)."""
    for key, types in _TYPES.items():
        value = options.get(key)
        if value is None:
            continue
        bad_bool = isinstance(value, bool) and bool not in types
        if bad_bool or not isinstance(value, types):
            names = " or ".join("a mapping" if t is dict else t.__name__ for t in types)
            shown = "a value of another type" if key == "credential" else repr(value)  # a secret is never echoed
            raise HpoError(f"{conf}: option '{key}' must be {names}, but got {shown}")


def _names_script(args: argparse.Namespace) -> bool:
    """Whether the run configuration holds a `script` (then -hc gives its search space)."""
    directory = args.run_conf if args.run_conf is not None else "run_conf"
    if args.conf is None or not Path(directory).is_dir():
        return False
    return load_run_conf(directory, args.conf, True).get("script") is not None


def resolve_options(args: argparse.Namespace, argv: list[str] | None = None) -> dict[str, Any]:
    """Defaults, then the run configuration, then the command line; every value checked."""
    if args.hp_conf is not None and not _names_script(args):
        raise HpoError(f"-hc {args.hp_conf}: lookup tables carry their own search space, so -hc has no use here; "
                       "drop it (search spaces for the Python API load with hpo_mab.load_space)")
    directory = args.run_conf if args.run_conf is not None else "run_conf"
    if args.run_conf is not None and not Path(directory).is_dir():
        raise HpoError(f"-rc {directory}: no such run configuration directory")
    conf = args.conf if args.conf is not None else "arms.json"
    options = dict(DEFAULTS)
    options["arms"] = parse_arms([{"model": m, **({"acq_func": a} if a else {})} for m, a in DEFAULT_ARMS],
                                 "default arms")
    options.update(load_run_conf(directory, conf, args.conf is not None))
    options.update({k: v for k, v in vars(args).items() if k in DEFAULTS})
    where = str(Path(directory) / conf)
    _check_types(options, where)
    options["mode"] = str(options["mode"]).upper()
    if options["mode"] not in MODES:
        raise HpoError(f"unknown mode {options['mode']!r}; expected one of {', '.join(MODES)}")
    if options["spec"] is not None:
        options["spec"] = str(options["spec"]).upper()
    elif options["mode"] in ("GP", "RF", "GP-HLE", "RF-HLE"):
        options["spec"] = "EI"
    elif options["mode"] == "DIV":
        options["spec"] = DEFAULT_STRATEGY
    options["exp_crt"] = str(options["exp_crt"]).upper()
    if options["exp_crt"] not in ("TIME", "GOAL"):
        raise HpoError(f"-e must be TIME or GOAL, but got {options['exp_crt']!r}")
    if options["exp_crt"] == "GOAL" and options["exp_goal"] is None:
        raise HpoError("-e GOAL needs a goal: give -eg VALUE (in the metric's own units)")
    goal = options["exp_goal"]
    if goal is not None and not math.isfinite(goal):
        raise HpoError(f"-eg must be a finite number in the metric's units, but got {goal!r}")
    if options["seed"] < 0:
        raise HpoError(f"--seed must be a non-negative integer, but got {options['seed']}")
    if options["epochs"] is not None and options["epochs"] < 1:
        raise HpoError(f"--epochs must be at least 1, but got {options['epochs']}")
    if options["workers"] is not None and options["datasets"] is not None:
        raise HpoError("--datasets applies to local training; a train node reads its own (hpo-runner serve "
                       "--datasets)")
    if options["script"] is not None and options["candidates"] not in (None, "auto", "continuous"):
        raise HpoError(f"--candidates {options['candidates']}: a script has no table; its arms search the whole "
                       "space of -hc")
    if not options["train"]:
        for key in ("epochs", "device", "datasets", "workers", "candidates"):
            if options[key] is not None and not (key == "candidates" and options["script"] is not None):
                flag = "-w" if key == "workers" else f"--{key}"
                raise HpoError(f"{flag} applies to real training; add --train (tables replay recorded curves)")
    if options["candidates"] is not None and options["candidates"] not in CANDIDATE_CHOICES:
        raise HpoError(f"--candidates must be one of {', '.join(CANDIDATE_CHOICES)}, but got "
                       f"{options['candidates']!r}")
    if options["max_trials"] is not None and options["max_trials"] < 1:
        raise HpoError(f"--max-trials must be at least 1, but got {options['max_trials']}")
    if options["outdir"] is not None and not options["outdir"].strip():
        raise HpoError("-o/--outdir must name a directory, but got an empty string")
    if options["log_level"] not in LOG_LEVELS:
        raise HpoError(f"unknown log level {options['log_level']!r}; expected one of {', '.join(LOG_LEVELS)}")
    if options["mode"] == "DIV" and options["spec"] not in STRATEGY_NAMES:
        raise HpoError(f"unknown strategy {options['spec']!r} for -m DIV; expected one of {', '.join(STRATEGY_NAMES)} "
                       "(EI, PI and UCB are acquisitions of -m GP and -m RF)")
    _scheduler_options(options, args, where)
    options["strategy_options"] = check_strategy_options(options["strategy_options"], options["mode"],
                                                         options["spec"], where)
    if options["arm_options"] is not None:
        from hpo_mab.arms.base import check_arm_options

        try:
            check_arm_options(options["arm_options"])
        except HpoError as exc:
            raise HpoError(f"{where}: arm_options: {exc}") from None
    return options


def _scheduler_options(options: dict[str, Any], args: argparse.Namespace, where: str) -> None:
    """--scheduler and its options: the flags join (and override) the run configuration's `scheduler_options`."""
    flags = {k: getattr(args, k) for k in ("max_resource", "min_resource", "eta") if hasattr(args, k)}
    if options["scheduler"] is None and not options["hpo_config"] and not options["auto_config"]:
        if flags or options["scheduler_options"] is not None:
            given = ", ".join(f"--{k.replace('_', '-')}" for k in flags) or "scheduler_options"
            raise HpoError(f"{given} configure a scheduler; name one with --scheduler (e.g. --scheduler ASHA)")
        if options["model_data"] is not None:
            raise HpoError("--model-data applies under a scheduler; name one with --scheduler")
        return
    from hpo_mab.history import MODEL_DATA
    from hpo_mab.schedulers import SCHEDULERS

    name = (options["scheduler"] or "ASHA").upper()  # --hpo-config and --auto-config plan ASHA
    if name not in SCHEDULERS:
        raise HpoError(f"unknown scheduler {options['scheduler']!r}; expected one of {', '.join(SCHEDULERS)}")
    if options["scheduler"] is not None:
        options["scheduler"] = name
    merged = {**(options["scheduler_options"] or {}), **flags}
    unknown = sorted(set(merged) - set(SCHEDULERS[name].OPTIONS))
    if unknown:
        raise HpoError(f"{where}: scheduler {name} has no option {unknown[0]!r}; valid: "
                       f"{', '.join(SCHEDULERS[name].OPTIONS) or '(none)'}")
    options["scheduler_options"] = merged or None
    model_data = options["model_data"]
    if model_data is not None and model_data not in MODEL_DATA:
        raise HpoError(f"--model-data must be one of {', '.join(MODEL_DATA)}, but got {model_data!r}")
    required = getattr(SCHEDULERS[name], "model_data", None)
    if required is not None and model_data not in (None, required):
        raise HpoError(f"scheduler {name} models the {required} data (that is what makes it {name}); drop "
                       f"--model-data {model_data} or use HYPERBAND")


def check_strategy_options(value: Any, mode: str, strategy: str | None, where: str) -> dict[str, Any] | None:
    """`strategy_options` of a run configuration: a mapping such as {eta: 0.5}, each key read by the strategy."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise HpoError(f"{where}: strategy_options must be a mapping (e.g. {{eta: 0.5}}), but got {value!r}")
    if value and mode != "DIV":
        raise HpoError(f"{where}: strategy_options apply to -m DIV (a strategy over arms), not -m {mode}")
    for key, v in value.items():
        users, rule = STRATEGY_OPTIONS.get(key, ((), ""))
        if strategy not in users:
            known = sorted(k for k, (names, _) in STRATEGY_OPTIONS.items() if strategy in names)
            raise HpoError(f"{where}: strategy {strategy} has no option {key!r}; expected "
                           + (f"one of {known}" if known else "none (it takes no options)"))
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if rule == "duration":
            parse_duration(v)
        elif rule == "count" and not (number and v >= 1 and v == int(v)):
            raise HpoError(f"{where}: strategy_options.{key} must be a whole number >= 1, but got {v!r}")
        elif rule == "fraction" and not (number and 0 < v <= 1):
            raise HpoError(f"{where}: strategy_options.{key} must be a number in (0, 1], but got {v!r}")
        elif rule == "positive" and not (number and v > 0):
            raise HpoError(f"{where}: strategy_options.{key} must be a positive finite number, but got {v!r}")
    return dict(value)


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
    print("tasks:      " + ", ".join(TASKS) + " (real training: hpo-runner TASK N --train)")
    return 0


def make_settings(args: argparse.Namespace, options: dict[str, Any], problem: Any):
    """The experiment's Settings from checked options."""
    from hpo_mab.runner import Settings

    budget = None if options["exp_time"] is None else parse_duration(options["exp_time"])
    live = getattr(problem, "live", False)
    train = live and options["script"] is None
    return Settings(config_name=problem.name, train=train, epochs=problem.meta["epochs"] if train else None,
                    script=options["script"],
                    num_runs=args.num_runs, mode=options["mode"], spec=options["spec"],
                    criterion=options["exp_crt"], goal=options["exp_goal"], budget=budget,
                    max_trials=options["max_trials"], seed=options["seed"],
                    arms=options["arms"] if options["mode"] == "DIV" else None,
                    charge_proposal_time=bool(options["charge_proposal_time"]),
                    strategy_options=options["strategy_options"], arm_options=options["arm_options"],
                    scheduler=options["scheduler"], scheduler_options=options["scheduler_options"],
                    model_data=options["model_data"], early_stopping=options["early_stopping"],
                    fit_budget=options["fit_budget"],
                    probe=problem.meta.get("probe") if live and options["auto_config"] else None,
                    # absent means continuous, as in live experiments from before --candidates
                    candidates="table" if train and problem.meta.get("candidates") == "table" else None)


def prepare_schedule(options: dict[str, Any], problem: Any, conf: str) -> Any:
    """--hpo-config, --auto-config and `early_stopping`, which need the problem; the problem (the OTX file's
    space replaces a live task's)."""
    from hpo_mab.schedulers import setup

    if options["hpo_config"]:
        problem = setup.apply_otx_config(options["hpo_config"], options, problem)
    if options["auto_config"]:
        budget = parse_duration(options["exp_time"]) if options["exp_time"] is not None else problem.default_budget_s
        print(setup.auto_config(options, problem, budget))
    options["early_stopping"] = setup.check_early_stopping(options["early_stopping"], problem.metric, conf)
    return problem


def make_problem(args: argparse.Namespace, options: dict[str, Any]) -> Any:
    """The run's problem: a task trained for real (--train) or a lookup table."""
    from hpo_mab.backends.problem import table_problem
    from hpo_mab.surrogates import get_table

    if options["script"] is not None:
        return _script_problem(args, options)
    if options["train"] and options["workers"] is not None:
        from hpo_mab.backends.remote import find_token, remote_problem
        from hpo_mab.tasks import get_task

        timeout = 600.0 if options["worker_timeout"] is None else parse_duration(options["worker_timeout"])
        if timeout <= 0:
            raise HpoError(f"worker_timeout must be a positive duration, but got {options['worker_timeout']!r}")
        return remote_problem(get_task(args.config_name), options["workers"], find_token(options["credential"]),
                              options["epochs"], options["device"], timeout)
    if options["train"]:
        from hpo_mab.backends.train import task_problem
        from hpo_mab.tasks import get_task

        return task_problem(get_task(args.config_name), options["epochs"], options["device"], options["datasets"])
    try:
        return table_problem(get_table(args.config_name, Path(args.surrogates_dir)))
    except HpoError as exc:
        from hpo_mab.tasks import TASKS

        if args.config_name in TASKS:
            raise HpoError(f"{exc}; {args.config_name} is a training task: add --train to train it for real")
        raise


def saved_setting(outdir: Path, key: str, absent: Any) -> Any:
    """`key` of OUTDIR/experiment.json (`absent` when the experiment predates it; None when there is no
    readable file: plan_experiment says what is wrong with OUTDIR)."""
    try:
        saved = json.loads((outdir / "experiment.json").read_text())
    except (OSError, ValueError):
        return None
    return saved.get(key, absent) if isinstance(saved, dict) else None


def _script_problem(args: argparse.Namespace, options: dict[str, Any]) -> Any:
    """A user's script (run configuration `script`) over the search space -hc DIR/CONFIG_NAME.json|.yaml."""
    from hpo_mab.backends.script import parse_script, script_problem
    from hpo_mab.space import load_space

    if options["train"]:
        raise HpoError("a run configuration with 'script' runs the script; drop --train")
    if args.hp_conf is None:
        raise HpoError("a script's search space comes from -hc DIR (DIR/CONFIG_NAME.json or .yaml); give -hc")
    candidates = [Path(args.hp_conf) / f"{args.config_name}{suffix}" for suffix in (".json", ".yaml", ".yml")]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise HpoError(f"-hc {args.hp_conf}: no search space {args.config_name}.json or .yaml there")
    space = load_space(path)
    spec = parse_script(options["script"], space.names, "script run configuration")
    options["script"] = {**options["script"], "space": str(path)}
    return script_problem(args.config_name, space, spec)


def cmd_run(argv: list[str]) -> int:
    from hpo_mab.runner import describe_run, execute, plan_experiment

    args = build_parser().parse_args(argv)
    options = resolve_options(args, argv)
    logging.basicConfig(level=LOG_LEVELS[options["log_level"]], format="%(levelname)s %(message)s")
    if args.num_runs < 1:
        raise HpoError(f"NUM_RUNS must be at least 1, but got {args.num_runs}")
    problem = make_problem(args, options)
    outdir = Path(options["outdir"] or "results/" + describe_run(problem.name, options["mode"], options["spec"],
                                                                 options["exp_crt"]).replace(" ", "-")
                  + f"-seed{options['seed']}")
    if problem.live and options["script"] is None:
        from hpo_mab.backends.problem import with_candidates

        choice = options["candidates"] or (saved_setting(outdir, "candidates", "continuous") if args.resume
                                           else None) or "auto"
        problem = with_candidates(problem, choice, args.surrogates_dir)
    if args.resume and options["auto_config"] and problem.live:
        from hpo_mab.schedulers.setup import restore_probe

        restore_probe(problem, outdir)  # plan as the run did, not with a new probe's figures
    table = prepare_schedule(options, problem, args.conf or "arms.json")
    settings = make_settings(args, options, table)
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
        if bar() is not None:
            state["bar"].update(state["base"] - state["bar"].n)
            state["bar"].set_postfix(best=f"{summary.best_value:.4g}" if summary.best_value is not None else "-")

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
        print(f"run {s.run}: {s.trials} trials, best {metric.name} {value}{true}{goal}; stopped: {s.stop_reason}")
    values = [s.best_value for s in summaries if s.best_value is not None]
    trues = [s.best_true_value for s in summaries if s.best_true_value is not None]
    if values:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"best {metric.name} over {len(values)} runs: mean {statistics.mean(values):.5g} +- {spread:.2g} "
              f"(median {statistics.median(values):.5g}, min {min(values):.5g}, max {max(values):.5g})")
    if trues:
        table = getattr(table, "table", table)  # a Problem's table, or a Table
        print(f"true value of the incumbents: mean {statistics.mean(trues):.5g}, median {statistics.median(trues):.5g}"
              f"; table best {table.true_values[table.true_losses.argmin()]:.5g}")
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
        print("hpo-runner: interrupted; the journal keeps every finished trial (use --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
