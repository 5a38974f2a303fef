"""The scheduler interface: at each epoch a trial reports, decide whether it continues, pauses or stops.

A scheduler sees minimised losses only (the runner flips a maximised metric's sign once, as everywhere in
hpo_mab). Trials are identified by an integer id (the journal number of the trial's first record). The
runner drives it like this, one trial at a time (a later parallel mode drives the same calls from events):

    trial_id = scheduler.next_to_resume()         # a paused trial to continue, or None: start a new one
    ... the backend trains; after each epoch:
    decision = scheduler.on_report(trial_id, epoch, loss)   # Decision.CONTINUE / PAUSE / STOP
    ... when the trial ends (paused, stopped, complete or failed):
    scheduler.on_end(trial_id, state, epochs)

Rule-based schedulers (median, DEEP-BO thresholds, extrapolation) only CONTINUE or STOP; the successive
halving family (SHA, ASHA, Hyperband) also PAUSEs a trial at a rung and later hands it back through
`next_to_resume`. Every decision is a pure function of the reports and ends seen so far, so replaying a
journal through the same calls rebuilds the same state (resume) and the same seed gives the same journal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hpo_mab.backends.base import Decision
from hpo_mab.errors import HpoError

__all__ = ["Decision", "Scheduler", "check_int", "check_number"]


def check_int(name: str, value: Any, low: int = 1) -> int:
    """`value` as an integer >= low, else HpoError naming the option and the value received."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise HpoError(f"scheduler option '{name}' must be an integer >= {low}, but got {value!r}")
    return value


def check_number(name: str, value: Any, low: float, high: float) -> float:
    """`value` as a float in [low, high], else HpoError naming the option and the value received."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise HpoError(f"scheduler option '{name}' must be a number in [{low}, {high}], but got {value!r}")
    return float(value)


class Scheduler:
    """Base class: keeps every trial's reported losses and end state; subclasses implement `decide`.

    `max_epochs`: the full resource (a table's epochs, a live task's epochs). `options`: the scheduler's own
    options (`OPTIONS` names them with their defaults); an unknown one is refused with the valid names.
    """

    name: ClassVar[str] = "BASE"
    OPTIONS: ClassVar[dict[str, Any]] = {}
    promotes: ClassVar[bool] = False  # pauses trials at rungs and resumes them later (the SHA family)

    def __init__(self, max_epochs: int, options: Mapping[str, Any] | None = None) -> None:
        self.max_epochs = check_int("max_resource", max_epochs)
        options = dict(options or {})
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            valid = ", ".join(self.OPTIONS) or "(none)"
            raise HpoError(f"unknown option {unknown[0]!r} for scheduler {self.name}; valid: {valid}")
        self.options = {**self.OPTIONS, **options}
        self.curves: dict[int, list[float]] = {}  # trial id -> loss after epoch 1, 2, ...
        self.ended: dict[int, str] = {}  # trial id -> state of its last end (paused, stopped, complete, failed)
        self.order: list[int] = []  # trial ids in the order they first reported

    # -- what the runner calls -------------------------------------------------------------------
    def on_report(self, trial_id: int, epoch: int, loss: float) -> str:
        """Record the loss after `epoch` (1-based) and decide; the last epoch always completes."""
        curve = self.curves.get(trial_id)
        if curve is None:
            curve = self.curves[trial_id] = []
            self.order.append(trial_id)
        self.ended.pop(trial_id, None)
        del curve[epoch - 1:]
        curve.append(float(loss))
        if epoch >= self.max_epochs:
            return Decision.CONTINUE
        return self.decide(trial_id, epoch, float(loss))

    def on_end(self, trial_id: int, state: str, epochs: int) -> None:
        """A trial ended in `state` after `epochs` epochs in total."""
        self.ended[trial_id] = state

    def next_to_resume(self) -> int | None:
        """A paused trial to continue now, or None (start a new one)."""
        return None

    # -- what subclasses implement -----------------------------------------------------------------
    def decide(self, trial_id: int, epoch: int, loss: float) -> str:
        """CONTINUE, PAUSE or STOP after `epoch` < max_epochs; the loss is already in `self.curves`."""
        return Decision.CONTINUE

    # -- helpers for subclasses ----------------------------------------------------------------------
    def finished_ids(self) -> list[int]:
        """Trials that ended (any state but paused), in the order they started."""
        return [t for t in self.order if self.ended.get(t) not in (None, "paused")]
