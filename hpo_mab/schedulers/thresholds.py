"""DEEP-BO's threshold early-termination rules (Cho et al., "DEEP-BO for Hyperparameter Optimization of Deep
Networks", arXiv 1905.09680, 2019/2020): DecaTercet, PentaTercet and TetraTercet, p = 0.1, 0.2, 0.25.

Reading (taken from the authors' reference code, `MultiThresholdingETRTrainer` in github.com/snu-adsl/DEEP-BO,
`hpo/trainers/{emul,remote}/threshold_etr.py`; losses here, so "better" is smaller). With E = max_epochs:

1. First check, at epoch e1 = floor(E/2), window epochs 1..e1. Each earlier trial that reached e1 gives the
   mean of its losses over the window. The trial's **current loss** (its loss at e1, not its own window mean:
   the reference code compares `acc_curve[end_index]`) is compared with a quantile of those means:
   - `first_check="keep_best"` (default: issue 11's wording, "outside the best fraction p" at both checks):
     STOP when loss > quantile(means, p). Harsh: it stops about 1 - p of the trials at E/2;
   - `first_check="drop_worst"` (the reference code's "early drop"): STOP when the loss is in the worst
     fraction p, i.e. loss > quantile(means, 1 - p).
2. Second check, at epoch e2 = floor((1 - p) E), window epochs e1..e2 (both ends included, as the reference
   code's indices): STOP when the current loss is outside the best fraction p, loss > quantile(means, p).

Quantiles are numpy's linear interpolation (the reference code's `np.percentile`), the comparison strict.
"Earlier trials" are those that ended (any state but paused: complete, stopped, failed, init) before this
report, whose curve covers the whole window (a trial stopped before the window's end is left out, as in the
reference code). Unlike the reference code, the trial's own window mean is not put in the pool. With fewer than
`min_trials` (default 3) window means, the check passes (CONTINUE). A maximised metric arrives negated; since
quantile(-x, 1 - q) = -quantile(x, q) with linear interpolation, the decisions mirror the accuracy-side rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.base import Decision, Scheduler, check_int

__all__ = ["DecaTercet", "PentaTercet", "TetraTercet", "ThresholdRule"]

FIRST_CHECKS = ("drop_worst", "keep_best")


class ThresholdRule(Scheduler):
    """DEEP-BO's two-check threshold rule with survival fraction `p` (a class attribute of each subclass)."""

    name: ClassVar[str] = "THRESHOLD"
    p: ClassVar[float] = 0.2
    OPTIONS: ClassVar[dict[str, Any]] = {"min_trials": 3, "first_check": "keep_best"}

    def __init__(self, max_epochs: int, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(max_epochs, options)
        self.min_trials = check_int("min_trials", self.options["min_trials"], low=1)
        first = self.options["first_check"]
        if first not in FIRST_CHECKS:
            raise HpoError(f"scheduler option 'first_check' must be one of {', '.join(FIRST_CHECKS)}, "
                           f"but got {first!r}")
        self.first_check = first
        E = self.max_epochs
        self.first_epoch = E // 2
        self.second_epoch = math.floor(E * (1.0 - self.p) + 1e-9)  # guard 0.8 * 15 = 11.999...

    def checks(self) -> list[tuple[int, int, float]]:
        """(check epoch, window start epoch, quantile level) for each check inside 1..E-1, in epoch order."""
        q_first = 1.0 - self.p if self.first_check == "drop_worst" else self.p
        out = [(self.first_epoch, 1, q_first), (self.second_epoch, max(self.first_epoch, 1), self.p)]
        return [c for c in out if 1 <= c[0] < self.max_epochs]

    def threshold(self, trial_id: int, start: int, end: int, q: float) -> float | None:
        """The q-quantile of the earlier trials' mean losses over epochs start..end; None when too few."""
        means = []
        for t in self.finished_ids():
            curve = self.curves[t]
            if t != trial_id and len(curve) >= end:
                m = float(np.mean(curve[start - 1:end]))
                if not math.isnan(m):
                    means.append(m)
        if len(means) < self.min_trials:
            return None
        return float(np.quantile(means, q))

    def decide(self, trial_id: int, epoch: int, loss: float) -> str:
        for check_epoch, start, q in self.checks():
            if epoch != check_epoch:
                continue
            limit = self.threshold(trial_id, start, check_epoch, q)
            if limit is not None and loss > limit:
                return Decision.STOP
        return Decision.CONTINUE


class DecaTercet(ThresholdRule):
    """DEEP-BO's DecaTercet: p = 0.1 (checks at E/2 and 0.9 E)."""

    name: ClassVar[str] = "DECATERCET"
    p: ClassVar[float] = 0.1


class PentaTercet(ThresholdRule):
    """DEEP-BO's PentaTercet: p = 0.2 (checks at E/2 and 0.8 E)."""

    name: ClassVar[str] = "PENTATERCET"
    p: ClassVar[float] = 0.2


class TetraTercet(ThresholdRule):
    """DEEP-BO's TetraTercet: p = 0.25 (checks at E/2 and 0.75 E)."""

    name: ClassVar[str] = "TETRATERCET"
    p: ClassVar[float] = 0.25
