"""The loop: for each seeded run, propose -> evaluate -> record, until termination; journal every trial.

The runner is the one module that knows every part, but no concrete backend: a run is a `Problem` (space,
metric, candidates, true values on tables) and the backend the problem makes (a lookup table on a simulated
clock, real training on the wall clock, ...). Run i uses child i of SeedSequence(seed); inside a
run, the optimizer's generators and the evaluation generator (which seed of a table row is observed)
are spawned from that child, so a resumed run replays the journaled trials through the same generators
and continues exactly as an uninterrupted run would.

An experiment is planned before anything is written (`plan_experiment`: every setting, the arms and the
strategy built as the run builds them, the output directory, and on resume the saved settings and the
journal), then executed (`execute`). Resuming costs nothing for finished runs (their summaries are in
`runs.jsonl`); the interrupted run re-derives its journaled proposals, which costs their proposal time
again but no evaluation. Where a re-derived proposal differs from the journal (another CPU's floating
point, other code), the journal's record wins and a warning says so. On a live backend the trial that was
in flight at the kill is run again; its record says so (`info.rerun`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from hpo_mab.arms import Candidates
from hpo_mab.backends.problem import Problem, as_problem
from hpo_mab.errors import HpoError
from hpo_mab.history import Trial
from hpo_mab.journal import (
    WALL_CLOCK_FIELDS,
    Journal,
    drop_torn_tail,
    read_journal,
    trial_from_record,
    write_atomically,
)
from hpo_mab.optimizer import Optimizer, Proposal
from hpo_mab.outdir import OUTPUTS, check_outdir, make_outdir, read_json_object
from hpo_mab.schedulers import make_scheduler
from hpo_mab.schedulers.driver import Paused, SchedulerDriver, stopped_value
from hpo_mab.schedulers.setup import early_stop_reached
from hpo_mab.settings import LATER_KEYS, RunSummary, Settings, model_data_of, norm, settings_record
from hpo_mab.strategies import Budget
from hpo_mab.termination import Termination, check_goal

log = logging.getLogger("hpo_mab")
_NUMPY = orjson.OPT_SERIALIZE_NUMPY  # configurations compare as the journal wrote them


@dataclass
class Plan:
    """A checked experiment: what `execute` needs, read and validated before anything is written."""

    settings: Settings
    problem: Problem
    outdir: Path
    term: Termination
    record: dict[str, Any]
    resume: bool
    overwrite: bool
    replay: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    finished: dict[int, RunSummary] = field(default_factory=dict)

    @property
    def table(self) -> Any:
        """The lookup table, on table problems (None live)."""
        return self.problem.table


def make_optimizer(run: int, seq: np.random.SeedSequence, problem: Problem, settings: Settings, term: Termination,
                   candidates: Candidates) -> Optimizer:
    """The optimizer of one run (also built once by `plan_experiment` to check the arms and the strategy)."""
    return Optimizer(problem.space, settings.mode, settings.spec, problem.metric.sense, seed=seq,
                     candidates=candidates, arms=settings.arms, run=run, metric=problem.metric,
                     oracle=problem.oracle, strategy_options=settings.strategy_options,
                     budget=Budget(term.budget, term.max_trials), arm_options=settings.arm_options,
                     model_data=model_data_of(settings))


def _differs(record: dict[str, Any], proposal: Proposal) -> bool:
    if record["row"] != proposal.nominee.row or record["arm"] != proposal.arm:
        return True
    return record["row"] is None and record["config"] != orjson.loads(orjson.dumps(proposal.config, option=_NUMPY))


def make_driver(settings: Settings, problem: Problem) -> SchedulerDriver | None:
    """The run's scheduler driver (None without `settings.scheduler`)."""
    if not settings.scheduler:
        return None
    scheduler = make_scheduler(settings.scheduler, problem.max_epochs, settings.scheduler_options)
    return SchedulerDriver(scheduler, problem.metric.sense)


def _continuation(tid: int, paused: Paused) -> tuple[Proposal, int]:
    """The proposal that continues paused trial `tid` (from its checkpoint, or again from the start)."""
    start = paused.epochs if paused.checkpoint is not None else 0
    info: dict[str, Any] = {"resumes": tid, "from_epoch": start}
    if paused.checkpoint is None:
        info["restarted"] = True  # no checkpoint: trained again from epoch 1 and charged again
    old = paused.proposal
    return Proposal(old.nominee, old.arm, 0.0, info, None), start


def _evaluate(backend: Any, opt: Optimizer, proposal: Proposal, draw: float, deadline: float, start: int,
              checkpoint: Any, driver: SchedulerDriver | None, tid: int) -> tuple[Trial, Any]:
    """Run one trial (or the rest of a paused one) on the backend; the Trial to journal and its checkpoint."""
    report = driver.callback(tid) if driver is not None else None
    outcome = backend.run_trial(proposal.nominee, draw=draw, deadline=deadline, report=report,
                                checkpoint=checkpoint)
    fields = dict(epochs=start + outcome.epochs, curve=outcome.curve, test=outcome.test,
                  seconds=outcome.seconds, clock=backend.clock.now)
    value = outcome.value
    if driver is not None and driver.paused_by_scheduler(outcome):
        fields.update(state="paused", reason=f"paused by {driver.scheduler.name}")
    elif driver is not None and driver.stopped_by_scheduler(outcome):
        value = stopped_value(outcome.curve, opt.sense)
        fields.update(state="stopped", reason=f"stopped by {driver.scheduler.name}")
    elif outcome.state != "complete":
        fields.update(state=outcome.state, reason=outcome.reason)
    trial = opt.make_trial(proposal, value, **fields)
    extra = dict(outcome.info)
    if fields.get("state") == "paused" and isinstance(outcome.checkpoint, tuple):
        extra["checkpoint"] = list(outcome.checkpoint)  # a table's (row, seed, epochs): a resume restores it
    if extra:
        trial = replace(trial, info={**trial.info, **extra})
    return trial, outcome.checkpoint


def run_one(run: int, seq: np.random.SeedSequence, problem: Problem, settings: Settings, term: Termination,
            journal: Journal, replay: list[dict[str, Any]], path: Path,
            on_trial: Callable[[Trial, float], None] | None = None) -> RunSummary:
    """One seeded run of a problem (a lookup Table is taken as its problem); the first len(replay) trials
    come from the journal. With a scheduler, a trial may pause at a rung and continue later: each part is
    one journal record, the later ones with `info.resumes` (the first record's number) and `from_epoch`."""
    problem = as_problem(problem)
    opt_seq, eval_seq = seq.spawn(2)
    candidates = problem.make_candidates()
    opt = make_optimizer(run, opt_seq, problem, settings, term, candidates)
    backend = problem.make_backend()
    driver = make_driver(settings, problem)
    eval_rng = np.random.default_rng(eval_seq)
    arm_counts: Counter = Counter()
    incumbents: Counter = Counter()
    time_to_goal = None
    stop = None
    warned = False
    started = 0  # configurations proposed (a continued trial is not a new one)
    while stop is None:
        n = len(opt.history)
        job = driver.next_resume() if driver is not None else None
        if job is None:
            if term.max_trials is not None and started >= term.max_trials:
                stop = "planned schedule complete" if settings.fit_budget else "max trials"
                break
            if settings.fit_budget and driver is not None and not driver.admits(backend.clock.now, term.budget,
                                                                              started + 1):
                stop = "planned schedule complete (the next trial's promotions would pass the budget)"
                break
            if candidates.exhausted(opt.history):
                stop = f"every one of the table's {problem.n_rows} rows has been evaluated"
                break
            proposal, tid, start, checkpoint = opt.propose(), n, 0, None
            draw = float(eval_rng.random())
            started += 1
        else:
            tid, paused = job
            (proposal, start), draw, checkpoint = _continuation(tid, paused), paused.draw, paused.checkpoint
        if n < len(replay):
            record = replay[n]
            if record["info"].get("resumes") != (tid if job is not None else None):
                raise HpoError(f"{path}: run {run} trial {n} is {'not ' if job is not None else ''}a continued "
                               f"trial, but the scheduler now decides otherwise; the journal comes from other "
                               "code or settings: use --overwrite or another -o")
            if _differs(record, proposal):
                if not warned:
                    log.warning("%s: run %d trial %d re-derives to row %s by %s, but the journal has row %s by %s; "
                                "continuing from the journal's records (this run may differ from an uninterrupted "
                                "one from here on)", path, run, n, proposal.nominee.row, proposal.arm,
                                record["row"], record["arm"])
                    warned = True
                proposal = Proposal(problem.nominee_of(record), record["arm"], proposal.proposal_seconds,
                                    record["info"], proposal.nominees)
            trial = trial_from_record(record)
            backend.clock.set(trial.clock)
            if driver is not None:
                driver.replay(trial)
            saved = trial.info.get("checkpoint")
            checkpoint = tuple(saved) if isinstance(saved, list) else None
        else:
            if settings.charge_proposal_time and job is None:
                backend.clock.advance(proposal.proposal_seconds)
            trial, checkpoint = _evaluate(backend, opt, proposal, draw, term.budget, start, checkpoint, driver,
                                          tid)
            if problem.live and replay and n == len(replay):
                trial = replace(trial, info={**trial.info, "rerun": True})  # the trial in flight at the kill
            journal.write(trial)
        before = opt.history.best
        opt.record(trial, proposal, learn=job is None)
        if driver is not None:
            driver.ended(trial, proposal, draw, checkpoint)
        if job is None:
            arm_counts[trial.arm] += 1
        if opt.history.best is not before:
            incumbents[trial.arm] += 1
        if on_trial is not None:
            on_trial(trial, backend.clock.now)
        threshold = early_stop_reached(trial.curve, settings.early_stopping, trial.number,
                                       int(trial.info.get("from_epoch", 0)) + 1)
        if trial.finished and time_to_goal is None and term.goal_reached(trial.value):
            time_to_goal = trial.clock
            stop = "goal reached"
        elif threshold is not None:
            stop = threshold
        elif backend.clock.now >= term.budget:
            stop = "time budget exhausted"
    best = opt.history.best
    return RunSummary(
        run=run, trials=len(opt.history), stop_reason=stop, best_config=best.config if best else None,
        best_value=best.value if best else None,
        best_true_value=problem.true_value(best.row) if best is not None else None,
        best_trial=best.number if best else None, time_to_goal=time_to_goal, clock=backend.clock.now,
        arm_counts=dict(arm_counts), incumbents_by_arm=dict(incumbents), started=started)


def plan_experiment(settings: Settings, problem: Problem | Any, outdir: str | Path, resume: bool = False,
                    overwrite: bool = False) -> Plan:
    """Check everything an experiment needs and read what a resume continues; write nothing.

    `problem`: a `Problem`, or a lookup `Table` (taken as its problem)."""
    problem = as_problem(problem)
    if isinstance(settings.num_runs, bool) or not isinstance(settings.num_runs, int) or settings.num_runs < 1:
        raise HpoError(f"NUM_RUNS must be a positive integer, but got {settings.num_runs!r}")
    if isinstance(settings.seed, bool) or not isinstance(settings.seed, int) or settings.seed < 0:
        raise HpoError(f"seed must be a non-negative integer, but got {settings.seed!r}")
    if resume and overwrite:
        raise HpoError("--resume continues OUTDIR's experiment and --overwrite starts it again: give one of them")
    budget = settings.budget if settings.budget is not None else problem.default_budget_s
    if settings.goal is not None:
        check_goal(settings.goal, problem.metric)
    term = Termination(settings.criterion, budget, settings.goal, settings.max_trials, problem.metric.sense)
    seq = np.random.SeedSequence(settings.seed).spawn(1)[0]
    make_optimizer(0, seq.spawn(1)[0], problem, settings, term,
                   problem.make_candidates())  # arms and strategy, as a run builds them
    make_driver(settings, problem)  # the scheduler and its options
    outdir = check_outdir(outdir)
    plan = Plan(settings, problem, outdir, term, settings_record(settings, budget), resume, overwrite)
    journal = outdir / "journal.jsonl"
    holds_trials = journal.is_file() and journal.stat().st_size > 0
    if not resume:
        if holds_trials and not overwrite:
            raise HpoError(f"{outdir}: holds a journal already; pass --resume to continue it, --overwrite to "
                           "start again, or -o for another directory")
        return plan
    if not (outdir / "experiment.json").is_file():
        if not holds_trials:  # nothing to continue: --resume starts the experiment (scripts resume blindly)
            plan.resume = False
            return plan
        raise HpoError(f"{outdir}: --resume needs OUTDIR's experiment.json to check the settings, but OUTDIR "
                       "holds a journal without one; use another -o, or --overwrite to start again")
    _check_saved_settings(outdir / "experiment.json", plan.record)
    for record in read_journal(journal):
        plan.replay.setdefault(record["run"], []).append(record)
    _check_replay(plan, journal)
    plan.finished = _finished_runs(outdir / "runs.jsonl", plan)
    return plan


def _check_saved_settings(path: Path, record: dict[str, Any]) -> None:
    old = read_json_object(path)
    differing = sorted({k for k in record if k != "num_runs" and norm(old.get(k)) != record[k]}
                       | {k for k in LATER_KEYS if k not in record and old.get(k)})  # e.g. a live run's train
    if differing:
        raise HpoError(f"{path}: --resume with different settings ({', '.join(differing)}); "
                       "use the original command or another -o")
    runs = old.get("num_runs")
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise HpoError(f"{path}: 'num_runs' must be a positive integer, but got {runs!r}")
    if record["num_runs"] < runs:
        raise HpoError(f"{path}: the experiment has {runs} runs; --resume with NUM_RUNS {runs} (or more), "
                       f"not {record['num_runs']}")


def _check_replay(plan: Plan, journal: Path) -> None:
    """Journaled runs must belong to this experiment: run numbers in range, trials numbered 0, 1, ..."""
    for run, records in plan.replay.items():
        if run >= plan.settings.num_runs:
            raise HpoError(f"{journal}: holds run {run}, but the experiment has {plan.settings.num_runs} runs")
        for i, record in enumerate(records):
            if record["number"] != i:
                raise HpoError(f"{journal}: run {run} trial {i} is numbered {record['number']}")
            plan.problem.check_record(record, f"{journal}: run {run} trial {i}")


def _finished_runs(path: Path, plan: Plan) -> dict[int, RunSummary]:
    """Summaries of runs that ended, from runs.jsonl, kept where the journal holds exactly their trials."""
    finished: dict[int, RunSummary] = {}
    if not path.is_file():
        return finished
    for i, line in enumerate(path.read_bytes().split(b"\n")[:-1], 1):
        try:
            summary = RunSummary(**json.loads(line))
        except (ValueError, TypeError, RecursionError):
            raise HpoError(f"{path}: line {i} is not a run summary; delete the file to replay every run")
        if summary.trials > 0 and summary.trials == len(plan.replay.get(summary.run, [])):
            finished[summary.run] = summary
    return finished


def execute(plan: Plan, on_trial: Callable[[Trial, float], None] | None = None,
            on_run_end: Callable[[RunSummary], None] | None = None) -> list[RunSummary]:
    """Run a planned experiment: create OUTDIR, save its settings atomically, journal every trial."""
    outdir = plan.outdir
    make_outdir(outdir)
    for name in OUTPUTS if plan.overwrite else () if plan.resume else ("runs.jsonl",):
        (outdir / name).unlink(missing_ok=True)
    drop_torn_tail(outdir / "runs.jsonl")
    if plan.resume:  # keep the runs that stay finished; a run replayed again writes its line anew
        write_atomically(outdir / "runs.jsonl", "".join(json.dumps(asdict(plan.finished[run]), default=str) + "\n"
                                                        for run in sorted(plan.finished)))
    write_atomically(outdir / "experiment.json", json.dumps(plan.record, indent=1) + "\n")
    path = outdir / "journal.jsonl"
    journal = Journal(path)
    summaries = []
    try:
        with open(outdir / "runs.jsonl", "a") as ends:
            for run in range(plan.settings.num_runs):
                # the run-th child of SeedSequence(seed).spawn(num_runs), made when needed: spawning every
                # run's up front held them all in memory (NUM_RUNS 10**14 grew by 80 MB/s and ran nothing)
                seq = np.random.SeedSequence(plan.settings.seed, spawn_key=(run,))
                summary = plan.finished.get(run)
                if summary is None:
                    summary = run_one(run, seq, plan.problem, plan.settings, plan.term, journal,
                                      plan.replay.get(run, []), path, on_trial)
                    ends.write(json.dumps(asdict(summary), default=str) + "\n")
                    ends.flush()
                summaries.append(summary)
                if on_run_end is not None:
                    on_run_end(summary)
    finally:
        journal.close()
    write_atomically(outdir / "summary.json", json.dumps([asdict(s) for s in summaries], indent=1, default=str) + "\n")
    return summaries


def run_experiment(settings: Settings, problem: Problem | Any, outdir: Path, resume: bool = False,
                   overwrite: bool = False, on_trial: Callable[[Trial, float], None] | None = None,
                   on_run_end: Callable[[RunSummary], None] | None = None) -> list[RunSummary]:
    """All runs of an experiment on a problem (or a lookup table), journaled to OUTDIR/journal.jsonl."""
    return execute(plan_experiment(settings, problem, outdir, resume, overwrite), on_trial, on_run_end)


def strip_wall_clock(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal records without the wall-clock fields (for same-seed comparisons)."""
    return [{k: v for k, v in r.items() if k not in WALL_CLOCK_FIELDS} for r in records]
