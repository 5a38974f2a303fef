"""The options of a run: defaults, then the run configuration (-c, under -rc), then the command line, each value
checked with one clear line naming the file, key or flag and what was expected (`resolve_options`)."""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path
from typing import Any

from hpo_mab.catalog import CANDIDATE_CHOICES, MODES, STRATEGY_NAMES
from hpo_mab.config_text import read_config
from hpo_mab.defaults import DEFAULT_ARMS, DEFAULT_MODE, DEFAULT_STRATEGY
from hpo_mab.errors import HpoError, shown
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
            what = "is a directory, not a run configuration file" if path.is_dir() else "no such run configuration"
            raise HpoError(f"{path}: {what}")
        return {}
    doc = read_config(path, "run configuration")
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
        raise HpoError(f"{where}: 'arms' must be a non-empty list of {{model, acq_func}} entries, "
                       f"but got {shown(items)}")
    arms = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "model" not in item:
            raise HpoError(f"{where}: arms[{i}] must be a mapping with a 'model' key, but got {shown(item)}")
        unknown = sorted(map(str, set(item) - {"model", "acq_func"}))
        if unknown:
            raise HpoError(f"{where}: arms[{i}]: unknown key(s) {unknown}; expected 'model' and, for GP/RF models, "
                           "'acq_func' (a transformed arm is a model name such as GP-HLE)")
        model, acq = item["model"], item.get("acq_func")
        if not isinstance(model, str) or not (acq is None or isinstance(acq, str)):
            raise HpoError(f"{where}: arms[{i}]: model and acq_func must be names, but got {shown(item)}")
        model = model.upper()
        try:
            make_arm(model, None if acq is None else str(acq))  # the registry's own rules and messages
        except HpoError as exc:
            raise HpoError(f"{where}: arms[{i}]: {exc}") from None
        arm = (model, None if acq is None else str(acq).upper())
        if arm in arms:  # an arm is known by its name: a second copy would share its counts and rewards
            raise HpoError(f"{where}: arms[{i}] repeats arms[{arms.index(arm)}] ({'-'.join(a for a in arm if a)}); "
                           "each arm may appear once")
        arms.append(arm)
    return arms


_TYPES: dict[str, tuple[type, ...]] = {
    "mode": (str,), "spec": (str,), "exp_crt": (str,), "exp_goal": (int, float), "exp_time": (int, float, str),
    "max_trials": (int,), "seed": (int,), "outdir": (str,), "log_level": (str,), "charge_proposal_time": (bool,),
    "strategy_options": (dict,), "arm_options": (dict,), "train": (bool,), "epochs": (int,), "device": (str,),
    "datasets": (str,), "script": (dict,), "workers": (list,), "credential": (str,),
    "worker_timeout": (int, float, str), "scheduler": (str,), "scheduler_options": (dict,), "model_data": (str,),
    "hpo_config": (str,), "auto_config": (bool,), "early_stopping": (list,), "candidates": (str,),
    "fit_budget": (bool,),
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
            given = "a value of another type" if key == "credential" else shown(value)  # a secret is never echoed
            raise HpoError(f"{conf}: option '{key}' must be {names}, but got {given}")


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
        what = "a file, not a directory of run configurations" if Path(directory).exists() else \
            "no such run configuration directory"
        raise HpoError(f"-rc {directory}: {what}")
    conf = args.conf if args.conf is not None else "arms.json"
    options = dict(DEFAULTS)
    options["arms"] = parse_arms([{"model": m, **({"acq_func": a} if a else {})} for m, a in DEFAULT_ARMS],
                                 "default arms")
    from_file = load_run_conf(directory, conf, args.conf is not None)
    options.update(from_file)
    given = {k: v for k, v in vars(args).items() if k in DEFAULTS}
    options.update(given)
    where = str(Path(directory) / conf)
    _check_types(options, where)

    def name(key: str, flag: str) -> str:
        """The option as the user gave it: its flag, or the run configuration's key."""
        return f"{where}: '{key}'" if key in from_file and key not in given else flag

    for key, flag in (("exp_time", "-et"), ("worker_timeout", "worker_timeout")):
        if options[key] is not None:
            try:
                parse_duration(options[key])
            except HpoError as exc:
                raise HpoError(f"{name(key, flag)}: {exc}") from None
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
        raise HpoError(f"{name('exp_goal', '-eg')} must be a finite number in the metric's units, but got {goal!r}")
    if options["seed"] < 0:
        raise HpoError(f"{name('seed', '--seed')} must be a non-negative integer, but got {options['seed']}")
    if options["epochs"] is not None and options["epochs"] < 1:
        raise HpoError(f"{name('epochs', '--epochs')} must be at least 1, but got {options['epochs']}")
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
    if options["candidates"] is not None:
        options["candidates"] = options["candidates"].lower()  # like -m, -s and -e, in any case
        if options["candidates"] not in CANDIDATE_CHOICES:
            raise HpoError(f"{name('candidates', '--candidates')} must be one of {', '.join(CANDIDATE_CHOICES)}, "
                           f"but got {shown(options['candidates'])}")
    if options["max_trials"] is not None and options["max_trials"] < 1:
        raise HpoError(f"{name('max_trials', '--max-trials')} must be at least 1, but got {options['max_trials']}")
    if options["outdir"] is not None and not options["outdir"].strip():
        raise HpoError(f"{name('outdir', '-o/--outdir')} must name a directory, but got an empty string")
    if options["log_level"] not in LOG_LEVELS:
        raise HpoError(f"unknown log level {options['log_level']!r}; expected one of {', '.join(LOG_LEVELS)}")
    if options["mode"] == "DIV" and options["spec"] not in STRATEGY_NAMES:
        raise HpoError(f"unknown strategy {options['spec']!r} for -m DIV; expected one of {', '.join(STRATEGY_NAMES)} "
                       "(EI, PI and UCB are acquisitions of -m GP and -m RF)")
    _scheduler_options(options, args, where, name("model_data", "--model-data"))
    options["strategy_options"] = check_strategy_options(options["strategy_options"], options["mode"],
                                                         options["spec"], where)
    if options["arm_options"] is not None:
        from hpo_mab.arms.base import check_arm_options

        try:
            check_arm_options(options["arm_options"])
        except HpoError as exc:
            raise HpoError(f"{where}: arm_options: {exc}") from None
    return options


def _scheduler_options(options: dict[str, Any], args: argparse.Namespace, where: str, model_data_name: str) -> None:
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
        raise HpoError(f"{model_data_name} must be one of {', '.join(MODEL_DATA)}, but got {shown(model_data)}")
    required = getattr(SCHEDULERS[name], "model_data", None)
    if required is not None and model_data not in (None, required):
        raise HpoError(f"scheduler {name} models the {required} data (that is what makes it {name}); drop "
                       f"--model-data {model_data} or use HYPERBAND")


def check_strategy_options(value: Any, mode: str, strategy: str | None, where: str) -> dict[str, Any] | None:
    """`strategy_options` of a run configuration: a mapping such as {eta: 0.5}, each key read by the strategy."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise HpoError(f"{where}: strategy_options must be a mapping (e.g. {{eta: 0.5}}), but got {shown(value)}")
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
            try:
                parse_duration(v)
            except HpoError as exc:
                raise HpoError(f"{where}: strategy_options.{key}: {exc}") from None
        elif rule == "count" and not (number and v >= 1 and v == int(v)):
            raise HpoError(f"{where}: strategy_options.{key} must be a whole number >= 1, but got {shown(v)}")
        elif rule == "fraction" and not (number and 0 < v <= 1):
            raise HpoError(f"{where}: strategy_options.{key} must be a number in (0, 1], but got {shown(v)}")
        elif rule == "positive" and not (number and v > 0):
            raise HpoError(f"{where}: strategy_options.{key} must be a positive finite number, but got {shown(v)}")
    return dict(value)
