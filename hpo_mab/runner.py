"""The loop: for each seeded run, propose -> evaluate -> record, until termination; journal every trial.

The runner is the one module that knows every part. Run i uses child i of SeedSequence(seed); inside a
run, the optimizer's generators and the evaluation generator (which seed of a table row is observed)
are spawned from that child, so a resumed run replays the journaled trials through the same generators
and continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpo_mab.arms import TableCandidates
from hpo_mab.backends.lookup import LookupBackend
from hpo_mab.errors import HpoError
from hpo_mab.history import Trial
from hpo_mab.journal import WALL_CLOCK_FIELDS, Journal, read_journal, trial_from_record
from hpo_mab.optimizer import Optimizer
from hpo_mab.strategies import Budget
from hpo_mab.surrogates import Table
from hpo_mab.termination import Termination


@dataclass
class Settings:
    """Everything that defines an experiment; stored in OUTDIR/experiment.json and checked on resume."""

    config_name: str
    num_runs: int
    mode: str = "GP"
    spec: str | None = "EI"
    criterion: str = "TIME"
    goal: float | None = None
    budget: float | None = None
    max_trials: int | None = None
    seed: int = 0
    arms: list[tuple[str, str | None]] | None = None
    charge_proposal_time: bool = False
    strategy_options: dict[str, Any] | None = None

    def describe(self) -> str:
        what = self.mode + (f"-{self.spec}" if self.spec and self.spec != self.mode else "")
        return f"{self.config_name} {what} {self.criterion}"


@dataclass
class RunSummary:
    run: int
    trials: int
    stop_reason: str
    best_config: dict[str, Any] | None
    best_value: float | None
    best_true_value: float | None
    best_trial: int | None
    time_to_goal: float | None
    clock: float
    arm_counts: dict[str, int] = field(default_factory=dict)
    incumbents_by_arm: dict[str, int] = field(default_factory=dict)


def _check_replay(record: dict[str, Any], trial_number: int, proposal, path: Path) -> None:
    if record["number"] != trial_number or record["row"] != proposal.nominee.row or record["arm"] != proposal.arm:
        raise HpoError(f"{path}: run {record['run']} trial {trial_number} does not match this experiment "
                       "(different code or settings); start a new output directory")


def run_one(run: int, seq: np.random.SeedSequence, table: Table, settings: Settings, term: Termination,
            journal: Journal, replay: list[dict[str, Any]], path: Path,
            on_trial: Callable[[Trial, float], None] | None = None) -> RunSummary:
    """One seeded run on a lookup table."""
    opt_seq, eval_seq = seq.spawn(2)
    candidates = TableCandidates(table.space, table.encoded, table.config)
    opt = Optimizer(table.space, settings.mode, settings.spec, table.metric.direction, seed=opt_seq,
                    candidates=candidates, arms=settings.arms, run=run, metric=table.metric,
                    oracle=lambda row: float(table.true_values[row]), strategy_options=settings.strategy_options,
                    budget=Budget(term.budget, term.max_trials))
    backend = LookupBackend(table)
    eval_rng = np.random.default_rng(eval_seq)
    arm_counts: Counter = Counter()
    incumbents: Counter = Counter()
    time_to_goal = None
    stop = None
    while stop is None:
        n = len(opt.history)
        if term.max_trials is not None and n >= term.max_trials:
            stop = "max trials"
            break
        if candidates.exhausted(opt.history):
            stop = f"every one of the table's {table.n_rows} rows has been evaluated"
            break
        proposal = opt.propose()
        draw = float(eval_rng.random())
        if n < len(replay):
            record = replay[n]
            _check_replay(record, n, proposal, path)
            trial = trial_from_record(record)
            backend.clock.now = trial.clock
        else:
            if settings.charge_proposal_time:
                backend.clock.advance(proposal.proposal_seconds)
            outcome = backend.evaluate(proposal.nominee.row, draw=draw, deadline=term.budget)
            fields = dict(epochs=outcome.epochs, curve=outcome.curve, test=outcome.test,
                          seconds=outcome.seconds, clock=backend.clock.now)
            if outcome.state != "complete":
                fields.update(state=outcome.state, reason=outcome.reason)
            trial = opt.make_trial(proposal, outcome.value, **fields)
            journal.write(trial)
        before = opt.history.best
        opt.record(trial, proposal)
        arm_counts[trial.arm] += 1
        if opt.history.best is not before:
            incumbents[trial.arm] += 1
        if on_trial is not None:
            on_trial(trial, backend.clock.now)
        if trial.finished and time_to_goal is None and term.goal_reached(trial.value):
            time_to_goal = trial.clock
            stop = "goal reached"
        elif backend.clock.now >= term.budget:
            stop = "time budget exhausted"
    best = opt.history.best
    return RunSummary(
        run=run, trials=len(opt.history), stop_reason=stop, best_config=best.config if best else None,
        best_value=best.value if best else None,
        best_true_value=float(table.true_values[best.row]) if best is not None and best.row is not None else None,
        best_trial=best.number if best else None, time_to_goal=time_to_goal, clock=backend.clock.now,
        arm_counts=dict(arm_counts), incumbents_by_arm=dict(incumbents))


def settings_record(settings: Settings, budget: float) -> dict[str, Any]:
    record = asdict(settings)
    record["budget"] = budget
    return record


def prepare_outdir(outdir: Path, settings: Settings, budget: float, resume: bool, overwrite: bool) -> Path:
    """Create OUTDIR; refuse to mix experiments; return the journal path."""
    journal = outdir / "journal.jsonl"
    meta_path = outdir / "experiment.json"
    record = settings_record(settings, budget)
    if journal.exists() and not resume and not overwrite:
        raise HpoError(f"{outdir}: holds a journal already; pass --resume to continue it, --overwrite to "
                       "start again, or -o for another directory")
    outdir.mkdir(parents=True, exist_ok=True)
    if overwrite and not resume:
        for name in ("journal.jsonl", "experiment.json", "summary.json", "trials.csv", "convergence.png"):
            (outdir / name).unlink(missing_ok=True)
    if resume and meta_path.exists():
        old = json.loads(meta_path.read_text())
        differing = sorted(k for k in record if k != "num_runs" and _norm(old.get(k)) != _norm(record[k]))
        if differing:
            raise HpoError(f"{meta_path}: --resume with different settings ({', '.join(differing)}); "
                           "use the original command or another -o")
    meta_path.write_text(json.dumps(record, indent=1) + "\n")
    return journal


def _norm(value: Any) -> Any:
    return json.loads(json.dumps(value))


def run_experiment(settings: Settings, table: Table, outdir: Path, resume: bool = False,
                   overwrite: bool = False, on_trial: Callable[[Trial, float], None] | None = None,
                   on_run_end: Callable[[RunSummary], None] | None = None) -> list[RunSummary]:
    """All runs of an experiment on a lookup table, journaled to OUTDIR/journal.jsonl."""
    budget = settings.budget if settings.budget is not None else table.default_budget_s
    if settings.goal is not None:
        table.metric.check_goal(settings.goal)
    term = Termination(settings.criterion, budget, settings.goal, settings.max_trials, table.metric.direction)
    path = prepare_outdir(outdir, settings, budget, resume, overwrite)
    by_run: dict[int, list[dict[str, Any]]] = {}
    for record in read_journal(path) if resume else []:
        by_run.setdefault(record["run"], []).append(record)
    journal = Journal(path)
    summaries = []
    try:
        for run, seq in enumerate(np.random.SeedSequence(settings.seed).spawn(settings.num_runs)):
            summary = run_one(run, seq, table, settings, term, journal, by_run.get(run, []), path, on_trial)
            summaries.append(summary)
            if on_run_end is not None:
                on_run_end(summary)
    finally:
        journal.close()
    (outdir / "summary.json").write_text(json.dumps([asdict(s) for s in summaries], indent=1, default=str) + "\n")
    return summaries


def strip_wall_clock(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal records without the wall-clock fields (for same-seed comparisons)."""
    return [{k: v for k, v in r.items() if k not in WALL_CLOCK_FIELDS} for r in records]

