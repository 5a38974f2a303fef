"""One run's side of a scheduler: which trial runs next, the per-epoch callback, and the paused trials.

The runner asks `next_resume()` before proposing: a paused trial the scheduler promotes continues (on a
table from its recorded curve, live from the checkpoint the task wrote; a backend without checkpoints trains
it again from the start, charged again, and the record says `info.restarted`). The callback turns each
epoch's value into a loss for the scheduler and remembers its last answer; `ended` tells the scheduler how
the trial ended. `replay` feeds a journaled record through the same calls, so a resumed run rebuilds the
scheduler's state exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpo_mab.backends.base import Decision, Outcome, Report
from hpo_mab.history import Direction, Trial
from hpo_mab.schedulers.base import Scheduler

# Promoted trials are the good ones, whose epochs the arms' choices make slower than the run's mean so far
# (digits-lenet, TPE, auto-config at 60 s: 0.051 s per epoch against the table's median 0.044); 10% margin.
SAFETY = 1.1


@dataclass
class Paused:
    """What continuing a paused trial needs: its proposal, the draw that picked its seed, the checkpoint."""

    proposal: Any
    draw: float
    epochs: int
    checkpoint: Any = None


def _loss(direction: Direction, value: float) -> float:
    value = float(value)
    return direction.to_loss(value) if math.isfinite(value) else math.inf


class SchedulerDriver:
    """Drives `scheduler` for one run whose metric is minimised or maximised as `direction` says."""

    def __init__(self, scheduler: Scheduler, direction: Direction) -> None:
        self.scheduler, self.direction = scheduler, direction
        self.paused: dict[int, Paused] = {}
        self.last_decision: str | None = None
        self.epochs_run = 0  # epochs trained in this run, and their seconds: the measured seconds per epoch
        self.seconds_run = 0.0
        self.slowest = 0.0  # the most seconds per epoch a trial's part took

    def next_resume(self) -> tuple[int, Paused] | None:
        """A paused trial to continue now (the scheduler's choice), or None: propose a new one."""
        tid = self.scheduler.next_to_resume()
        if tid is None or tid not in self.paused:
            return None
        return tid, self.paused.pop(tid)

    def callback(self, trial_id: int) -> Report:
        """The backend's per-epoch report callback for trial `trial_id`."""
        self.last_decision = None

        def report(epoch: int, value: float, seconds: float) -> str:
            self.last_decision = self.scheduler.on_report(trial_id, epoch, _loss(self.direction, value))
            return self.last_decision

        return report

    def paused_by_scheduler(self, outcome: Outcome) -> bool:
        """Whether the scheduler's PAUSE ended this outcome (rather than the budget, a failure or the end)."""
        return self.last_decision == Decision.PAUSE and outcome.state in ("paused", "stopped") \
            and outcome.reason != "time budget exhausted"

    def stopped_by_scheduler(self, outcome: Outcome) -> bool:
        return self.last_decision == Decision.STOP and outcome.state == "stopped"

    def ended(self, trial: Trial, proposal: Any, draw: float, checkpoint: Any) -> None:
        """Tell the scheduler how trial ended; keep a paused one for later."""
        tid = trial.trial_id
        epochs = trial.epochs - int(trial.info.get("from_epoch", 0))
        self.epochs_run += epochs
        self.seconds_run += trial.seconds
        if epochs > 0:
            self.slowest = max(self.slowest, trial.seconds / epochs)
        self.scheduler.on_end(tid, trial.state, trial.epochs)
        if trial.state == "paused":
            self.paused[tid] = Paused(proposal, draw, trial.epochs, checkpoint)

    def admits(self, now: float, budget: float, n: int) -> bool:
        """Whether trial n may start: its first rung at the slowest seconds per epoch seen so far, plus every
        promotion a schedule of n trials still owes (ASHA with `n_trials`) at the mean seconds per epoch with a
        margin, fit the budget. If not, the schedule closes at n - 1 trials."""
        owed = getattr(self.scheduler, "owed_epochs", None)
        if owed is None or not self.epochs_run:
            return True
        mean = self.seconds_run / self.epochs_run
        need = self.scheduler.resources[0] * self.slowest + SAFETY * owed(n) * mean
        if now + need <= budget:
            return True
        self.scheduler.n_trials = n - 1
        return False

    def replay(self, trial: Trial) -> None:
        """Feed a journaled record's epochs to the scheduler, as the original run did."""
        tid, start = trial.trial_id, int(trial.info.get("from_epoch", 0))
        report = self.callback(tid)
        for i, value in enumerate(trial.curve):
            report(start + i + 1, value if value is not None else math.nan, 0.0)


def stopped_value(curve: list[float], direction: Direction) -> float | None:
    """A trial stopped by a scheduler is worth its best value so far (DEEP-BO's rule)."""
    finite = [v for v in curve if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return direction.from_loss(min(direction.to_loss(v) for v in finite))
