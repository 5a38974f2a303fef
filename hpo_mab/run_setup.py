"""From checked options to what a run needs: its problem (a table, a task trained for real, locally or on
remote nodes, or a user's script), the candidates live arms pick from, the schedule, the Settings, OUTDIR."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hpo_mab.errors import HpoError
from hpo_mab.settings import Settings, describe_run
from hpo_mab.termination import parse_duration


def setup_run(args: argparse.Namespace, options: dict[str, Any]) -> tuple[Any, Settings, Path]:
    """The run's problem (schedule applied), Settings and OUTDIR; nothing is written."""
    from hpo_mab.schedulers import setup

    problem = make_problem(args, options)
    outdir = Path(options["outdir"] or default_outdir(args, options, problem.name))
    if args.resume and options["auto_config"] and problem.live:
        setup.restore_probe(problem, outdir)  # plan as the run did, not with a new probe's figures
    if options["hpo_config"]:
        problem = setup.apply_otx_config(options["hpo_config"], options, problem)  # its space replaces a task's
    if problem.live and options["script"] is None:  # after the space is final: a replaced one has no table
        from hpo_mab.backends.problem import with_candidates

        choice = options["candidates"] or (saved_setting(outdir, "candidates", "continuous") if args.resume
                                           else None) or "auto"
        problem = with_candidates(problem, choice, args.surrogates_dir)
    if options["auto_config"]:
        budget = parse_duration(options["exp_time"]) if options["exp_time"] is not None else problem.default_budget_s
        print(setup.auto_config(options, problem, budget))
    options["early_stopping"] = setup.check_early_stopping(options["early_stopping"], problem.metric,
                                                           args.conf or "arms.json")
    return problem, make_settings(args, options, problem), outdir


def default_outdir(args: argparse.Namespace, options: dict[str, Any], name: str) -> str:
    """results/CONFIG-MODE-SPEC-CRITERION[-train][-scheduler][-conf]-seedN: runs that are different experiments
    (live and on a table, with and without a scheduler, another run configuration) get different folders."""
    parts = [describe_run(name, options["mode"], options["spec"], options["exp_crt"]).replace(" ", "-")]
    if options["train"]:
        parts.append("train")
    scheduler = options["scheduler"] or ("ASHA" if options["hpo_config"] or options["auto_config"] else None)
    if scheduler:
        parts.append(scheduler + ("-auto" if options["auto_config"] else "")
                     + ("-otx" if options["hpo_config"] else ""))
    if args.conf is not None:
        parts.append(Path(args.conf).stem)
    return "results/" + "-".join(parts) + f"-seed{options['seed']}"


def make_settings(args: argparse.Namespace, options: dict[str, Any], problem: Any) -> Settings:
    """The experiment's Settings from checked options."""
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
                    candidates=problem.candidates_setting if train else None)


def make_problem(args: argparse.Namespace, options: dict[str, Any]) -> Any:
    """The run's problem: a task trained for real (--train) or a lookup table."""
    from hpo_mab.backends.problem import table_problem
    from hpo_mab.surrogates import get_table

    if options["script"] is not None:
        return _script_problem(args, options)
    if options["train"] and options["workers"] is not None:
        from hpo_mab.backends.remote import find_token, probe_nodes, remote_problem
        from hpo_mab.tasks import get_task

        timeout = 600.0 if options["worker_timeout"] is None else parse_duration(options["worker_timeout"])
        token = find_token(options["credential"])
        problem = remote_problem(get_task(args.config_name), options["workers"], token, options["epochs"],
                                 options["device"], timeout)
        probe_nodes(problem.meta["workers"], token, min(10.0, timeout))
        return problem
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
    conf = Path(args.run_conf if args.run_conf is not None else "run_conf") / (args.conf or "arms.json")
    spec = parse_script(options["script"], space.names, str(conf))
    options["script"] = {**options["script"], "space": str(path)}
    return script_problem(args.config_name, space, spec)
