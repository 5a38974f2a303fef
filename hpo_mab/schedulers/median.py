"""The median stopping rule, as Optuna's `MedianPruner` (Golovin et al., "Google Vizier", KDD 2017).

Semantics follow `optuna.pruners.PercentilePruner(50.0, ...)` (Optuna 5.0, read from its source), with an
Optuna *step* being our *epoch* (1-based; an Optuna objective that reports `step=epoch` prunes at the same
epochs):

- Reference trials: the trials that ended **complete** (Optuna: `TrialState.COMPLETE`; here also `init`, a
  finished initial-design trial). Stopped (Optuna: pruned), failed and paused trials are left out, as in
  Optuna, unless `count_stopped=True`; then trials stopped early count too, each at the epochs it reached
  (its curve is shorter, so it simply has no value at later epochs).
- No decision (CONTINUE) while fewer than `n_startup_trials` reference trials exist (and never with none),
  before epoch `n_warmup_steps`, and off the grid epoch = n_warmup_steps + k * interval_steps, except that the
  trial's first report (epoch 1) is always checked once epoch >= n_warmup_steps: Optuna checks a step when no
  earlier step lies at or after the nearest grid step below it, and it expects steps from 0.
- At a checked epoch t, the reference values are the reference trials' losses at epoch t (those that reached
  t). With fewer than `n_min_trials` of them: CONTINUE. Otherwise STOP when the trial's best loss so far
  (min over epochs 1..t) is strictly greater than their median (NaNs ignored; all-NaN: CONTINUE).
- A trial whose every loss so far is NaN is stopped (Optuna's rule).

Losses are minimised; a maximised metric arrives negated, and the median of negated values is the negated
median, so the decisions are the mirror of Optuna's `direction="maximize"` ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.base import Decision, Scheduler, check_int

__all__ = ["MedianRule"]

COMPLETE_STATES = ("complete", "init")


class MedianRule(Scheduler):
    """Stop a trial whose best loss so far is worse than the median of the reference trials' losses there.

    Options (Optuna's `MedianPruner` defaults): `n_startup_trials` 5, `n_warmup_steps` 0 (first check at
    epoch max(1, n_warmup_steps)), `interval_steps` 1, `n_min_trials` 1; and `count_stopped` False (True: stopped
    trials count at the epochs they reached, which Optuna does not do).
    """

    name: ClassVar[str] = "MEDIAN"
    OPTIONS: ClassVar[dict[str, Any]] = {
        "n_startup_trials": 5,
        "n_warmup_steps": 0,
        "interval_steps": 1,
        "n_min_trials": 1,
        "count_stopped": False,
    }

    def __init__(self, max_epochs: int, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(max_epochs, options)
        o = self.options
        self.n_startup_trials = check_int("n_startup_trials", o["n_startup_trials"], low=0)
        self.n_warmup_steps = check_int("n_warmup_steps", o["n_warmup_steps"], low=0)
        self.interval_steps = check_int("interval_steps", o["interval_steps"], low=1)
        self.n_min_trials = check_int("n_min_trials", o["n_min_trials"], low=1)
        if not isinstance(o["count_stopped"], bool):
            raise HpoError(f"scheduler option 'count_stopped' must be true or false, but got {o['count_stopped']!r}")
        self.count_stopped = o["count_stopped"]

    def reference_ids(self) -> list[int]:
        """The trials the median is taken over: complete ones (and stopped ones with `count_stopped`)."""
        states = COMPLETE_STATES + (("stopped",) if self.count_stopped else ())
        return [t for t in self.order if self.ended.get(t) in states]

    def decide(self, trial_id: int, epoch: int, loss: float) -> str:
        reference = self.reference_ids()
        if not reference or len(reference) < self.n_startup_trials:
            return Decision.CONTINUE
        if epoch < self.n_warmup_steps:
            return Decision.CONTINUE
        if epoch > 1 and (epoch - self.n_warmup_steps) % self.interval_steps:  # Optuna's first-in-interval rule
            return Decision.CONTINUE
        own = np.asarray(self.curves[trial_id][:epoch], dtype=float)
        if np.isnan(own).all():
            return Decision.STOP
        best = float(np.nanmin(own))
        values = [self.curves[t][epoch - 1] for t in reference if len(self.curves[t]) >= epoch]
        if len(values) < self.n_min_trials:
            return Decision.CONTINUE
        finite = [v for v in values if not math.isnan(v)]
        if not finite:
            return Decision.CONTINUE
        return Decision.STOP if best > float(np.median(finite)) else Decision.CONTINUE
