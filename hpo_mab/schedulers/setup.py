"""What the command line does before a scheduled run: an OTX `hpo_config.yaml` (--hpo-config), a schedule
planned to fit the TIME budget (--auto-config), and Polyaxon's `early_stopping` thresholds.

Each step reads the checked options and the problem and returns what changes: the scheduler, its options,
the trial count, the budget; nothing is written here.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.history import History, direction_of

PROBE_EPOCHS = 3  # the live probe trains PROBE_CONFIGS configurations this many epochs each
PROBE_CONFIGS = 5
POLYAXON_DIRECTIONS = {"maximize": "max", "minimize": "min", "max": "max", "min": "min"}


def apply_otx_config(path: str, options: dict[str, Any], problem: Any) -> Any:
    """Read an OTX hpo_config.yaml into `options` (scheduler ASHA and its options, trials, budget); the
    problem, with the file's search space on a live task (a table keeps its rows; the names must match)."""
    from hpo_mab.backends.problem import continuous_candidates
    from hpo_mab.schedulers.otx import load_otx_config

    config = load_otx_config(path)
    what = f"{'task' if problem.live else 'table'} {problem.name}"
    config.check_names(problem.space.names, what)
    config.check_metric(problem.metric.name, problem.metric.direction, what)
    if options["scheduler"] not in (None, config.scheduler):
        raise HpoError(f"{path}: search_algorithm is asha, but --scheduler names {options['scheduler']}")
    options["scheduler"] = config.scheduler
    options["scheduler_options"] = {**config.scheduler_options, **(options["scheduler_options"] or {})}
    if options["max_trials"] is None:
        options["max_trials"] = config.num_trials
    if options["exp_time"] is None and config.expected_time_ratio is not None:
        options["exp_time"] = config.budget_s(full_trial_seconds(problem))
    if problem.live:
        return replace(problem, space=config.space, make_candidates=continuous_candidates(config.space))
    for ours in config.space.params:  # a table searches its own rows: hp_space must not promise other ranges
        theirs = problem.space.params[problem.space.names.index(ours.name)]
        same = tuple(ours.values) == tuple(theirs.values) if theirs.values else \
            math.isclose(ours.low, theirs.low, rel_tol=1e-9) and math.isclose(ours.high, theirs.high, rel_tol=1e-9)
        if not same:
            given, table = (f"{list(p.values)}" if p.values else f"[{p.low:g}, {p.high:g}]" for p in (ours, theirs))
            raise HpoError(f"{path}: hp_space.{ours.name} is {given}, but {what} holds {table}; a table searches "
                           "its own rows, so give its ranges (or train for real with --train)")
    return problem


def full_trial_seconds(problem: Any) -> float:
    """Seconds of one full trial: the table's median, or live the measured seconds per epoch times epochs."""
    return seconds_per_epoch(problem) * problem.max_epochs


def seconds_per_epoch(problem: Any) -> float:
    """The table's median seconds per epoch, or live the probe's (`measure_live`)."""
    return trial_speed(problem)[0]


def trial_speed(problem: Any) -> tuple[float, float]:
    """(seconds per epoch, seconds per trial start): a table's median epoch and no start-up (its seconds are
    epochs'), or live the probe's (`measure_live`)."""
    from hpo_mab.schedulers.autoconfig import median_seconds_per_epoch

    if problem.table is not None:
        return median_seconds_per_epoch(problem.table.seconds), 0.0
    probe = measure_live(problem)
    return probe["seconds_per_epoch"], probe["seconds_per_start"]


def measure_live(problem: Any) -> dict[str, float]:
    """A live task's speed, measured as a table's is, over configurations: a warm-up trial of one epoch (the
    process's one-time costs), then PROBE_CONFIGS random configurations trained PROBE_EPOCHS epochs each.
    `seconds_per_epoch`: the median over them of the epochs after the first; `seconds_per_start`: the median
    of what a trial took beyond its epochs at that pace (building the model, the loaders), paid again by every
    trial start or continuation. Kept in `problem.meta["probe"]` (and in experiment.json, so that --resume
    plans with the same figures instead of probing again)."""
    if problem.meta.get("probe"):
        return problem.meta["probe"]
    rng = np.random.default_rng(0)
    candidates, backend = problem.make_candidates(), problem.make_backend()
    epochs = min(PROBE_EPOCHS, problem.max_epochs or PROBE_EPOCHS)

    def probe(n_epochs: int, draw: float) -> tuple[list[float], Any]:
        seen: list[float] = []

        def report(epoch: int, value: float, seconds: float) -> str:
            seen.append(seconds)
            return "stop" if epoch >= n_epochs else "continue"

        nominee = candidates.random(rng, History(problem.space.n_dims))
        return seen, backend.run_trial(nominee, draw=draw, deadline=math.inf, report=report)

    probe(1, 0.0)
    per_epoch, start_up, reasons = [], [], []
    for i in range(PROBE_CONFIGS):
        seen, outcome = probe(epochs, (i + 1) / (PROBE_CONFIGS + 1))
        if len(seen) < 2 or seen[-1] <= seen[0]:
            reasons.append(str(outcome.reason))
            continue
        per_epoch.append((seen[-1] - seen[0]) / (len(seen) - 1))
        start_up.append(max(0.0, outcome.seconds - len(seen) * per_epoch[-1]))
    if not per_epoch:
        raise HpoError(f"--auto-config: every probe trial of {problem.name} failed ({'; '.join(reasons)}); "
                       "cannot measure its seconds per epoch")
    problem.meta["probe"] = {"seconds_per_epoch": float(np.median(per_epoch)),
                             "seconds_per_start": float(np.median(start_up)), "configurations": len(per_epoch)}
    return problem.meta["probe"]


def restore_probe(problem: Any, outdir: Path) -> None:
    """On --resume of a live --auto-config run: plan with the probe recorded in OUTDIR/experiment.json."""
    import json

    try:
        saved = json.loads((outdir / "experiment.json").read_text()).get("probe")
    except (OSError, ValueError, AttributeError):
        return  # plan_experiment says what is wrong with OUTDIR
    keys = ("seconds_per_epoch", "seconds_per_start")
    if isinstance(saved, dict) and all(isinstance(saved.get(k), (int, float)) and saved[k] >= 0 for k in keys):
        problem.meta["probe"] = saved


def auto_config(options: dict[str, Any], problem: Any, budget_s: float) -> str:
    """Plan ASHA's trials, eta and min_resource to use 80-100% of the TIME budget (5% kept as headroom for
    trials slower than the median); set them in `options`; return the plan's explanation."""
    from hpo_mab.schedulers.autoconfig import plan_asha

    if options["exp_crt"] != "TIME":
        raise HpoError("--auto-config plans a schedule for a TIME budget; use -e TIME (and -et)")
    if options["scheduler"] not in (None, "ASHA"):
        raise HpoError(f"--auto-config plans ASHA, but --scheduler names {options['scheduler']}")
    if problem.max_epochs is None or problem.max_epochs < 2:
        raise HpoError(f"--auto-config needs trials with several epochs; {problem.name} has "
                       f"{problem.max_epochs or 'an unknown number of'} epoch(s)")
    given = options["scheduler_options"] or {}
    per_epoch, start_up = trial_speed(problem)
    plan = plan_asha(budget_s, per_epoch, problem.max_epochs, eta=given.get("eta"),
                     min_resource=given.get("min_resource"), headroom=0.05, max_trials=problem.n_rows,
                     seconds_per_start=start_up)
    options["scheduler"] = "ASHA"
    options["scheduler_options"] = {**plan.scheduler_options(), "n_trials": plan.n_trials}
    options["max_trials"] = plan.n_trials
    options["fit_budget"] = True
    return plan.explain() + (" While it runs, ASHA promotes at most the planned floor(n / eta^k) trials to "
                             "rung k, and no new trial starts whose planned promotions would no longer fit the "
                             "budget at the seconds per epoch measured so far.")


def check_early_stopping(value: Any, metric: Any, where: str) -> list[dict[str, Any]] | None:
    """Polyaxon's `early_stopping`: a list of {metric, value, optimization}; the search stops once a trial
    reports a value at least as good as one of them (at any epoch). The metric must be the problem's."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise HpoError(f"{where}: early_stopping must be a non-empty list of {{metric, value, optimization}}, "
                       f"but got {value!r}")
    checked = []
    for i, item in enumerate(value):
        at = f"{where}: early_stopping[{i}]"
        if not isinstance(item, dict) or set(item) - {"metric", "value", "optimization", "policy"}:
            raise HpoError(f"{at} must be a mapping with keys metric, value, optimization, but got {item!r}")
        name = item.get("metric", metric.name)
        if name != metric.name:
            raise HpoError(f"{at}: metric {name!r} is not reported; this problem reports {metric.name!r}")
        target = item.get("value")
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
            raise HpoError(f"{at}: value must be a finite number, but got {target!r}")
        how = POLYAXON_DIRECTIONS.get(item.get("optimization", metric.direction))
        if how is None:
            raise HpoError(f"{at}: optimization must be maximize or minimize, but got {item['optimization']!r}")
        checked.append({"metric": name, "value": float(target), "direction": how})
    return checked


def early_stop_reached(curve: list[float], thresholds: list[dict[str, Any]] | None, trial: int = 0,
                       first_epoch: int = 1) -> str | None:
    """The stop reason if a value of `curve` (epochs first_epoch, ...) reaches one of the thresholds, else None.
    Any epoch counts (Polyaxon's rule), so the reason names the trial, the epoch and the value: a trial's own
    value is its last epoch's, which may fall short of the threshold again."""
    for threshold in thresholds or ():
        direction = direction_of(threshold["direction"])
        for epoch, value in enumerate(curve, first_epoch):
            if value is not None and math.isfinite(value) and direction.reached(value, threshold["value"]):
                return (f"early stopping: trial {trial} reported {threshold['metric']} {value:.5g} at epoch {epoch} "
                        f"(threshold {threshold['value']:g})")
    return None
