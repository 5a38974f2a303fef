"""What defines an experiment (`Settings`, stored in OUTDIR/experiment.json and checked on resume) and what
a run reports (`RunSummary`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


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
    arm_options: dict[str, Any] | None = None
    train: bool = False  # live: real training on the wall clock (recorded only when set)
    epochs: int | None = None  # live: epochs per trial (recorded only when set)
    script: dict[str, Any] | None = None  # a user's script: its run-configuration mapping (recorded only when set)
    scheduler: str | None = None  # early termination / multi-fidelity (recorded only when set)
    scheduler_options: dict[str, Any] | None = None
    model_data: str | None = None  # what the arms model under a scheduler (full, largest, resource)
    early_stopping: list[dict[str, Any]] | None = None  # Polyaxon's thresholds that stop the search
    fit_budget: bool = False  # --auto-config: start no trial whose planned promotions would pass the budget
    probe: dict[str, float] | None = None  # live --auto-config: the measured speed it planned with
    candidates: str | None = None  # live tasks: "table" (the table's rows; recorded when set), else continuous

    def describe(self) -> str:
        return describe_run(self.config_name, self.mode, self.spec, self.criterion)


def describe_run(config_name: str, mode: str, spec: str | None, criterion: str) -> str:
    """'CONFIG MODE-SPEC CRITERION', the run's title (and, with '-' for ' ', its default OUTDIR's name)."""
    what = mode + (f"-{spec}" if spec and spec != mode else "")
    return f"{config_name} {what} {criterion}"


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
    started: int | None = None  # configurations tried; `trials` counts journal records, and under a scheduler
    # a trial that pauses and continues is several (None: a summary from before this field)


def model_data_of(settings: Settings) -> str:
    """What the arms model: the setting, else `largest` under a scheduler (BOHB) and `full` without one."""
    return settings.model_data or ("largest" if settings.scheduler else "full")


# Settings of later features, recorded in experiment.json only when used (a live run's train, a scheduler, ...)
LATER_KEYS = ("train", "epochs", "script", "scheduler", "scheduler_options", "model_data", "early_stopping",
              "fit_budget", "probe", "candidates")


def settings_record(settings: Settings, budget: float) -> dict[str, Any]:
    record = asdict(settings)
    record["budget"] = budget
    if settings.scheduler:
        record["model_data"] = model_data_of(settings)
    for key in LATER_KEYS:  # absent from experiments that do not use them, as before those features
        if not record[key]:
            del record[key]
    return norm(record)


def norm(value: Any) -> Any:
    return json.loads(json.dumps(value))
