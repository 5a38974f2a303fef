"""The run's budget as strategies see it, and how much of it a history has spent.

A run on a table has a time budget in simulated seconds (TIME, and the TIME cap of GOAL) and may have a
maximum number of trials (`--max-trials`); an ask/tell loop may have either or neither. The clock is the
history itself: `Trial.clock` of the latest trial is the simulated time at its end (the runner's lookup
backend sets it; ask/tell trials carry 0, so an ask/tell loop should give `max_trials`, not `seconds`), and
`len(history)` is the trial count. Strategies schedule on the fraction spent; with no budget at all they
fall back to a schedule by their own step count, which each strategy's docstring states.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpo_mab.errors import HpoError
from hpo_mab.history import History


@dataclass(frozen=True)
class Budget:
    """`seconds`: the time budget (simulated seconds on tables) or None; `max_trials`: a trial cap or None."""

    seconds: float | None = None
    max_trials: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is not None and not self.seconds > 0:
            raise HpoError(f"a budget's seconds must be positive, but got {self.seconds}")
        if self.max_trials is not None and self.max_trials < 1:
            raise HpoError(f"a budget's max_trials must be at least 1, but got {self.max_trials}")

    @property
    def bounded(self) -> bool:
        """Whether there is any budget to schedule against."""
        return self.seconds is not None or self.max_trials is not None

    def elapsed(self, history: History) -> float:
        """Simulated seconds spent: the clock at the end of the latest trial (0 before any)."""
        return float(history.trials[-1].clock) if history.trials else 0.0

    def spent(self, history: History) -> float | None:
        """Fraction of the budget spent, the larger of time and trials where both are set (None: no budget)."""
        parts = []
        if self.seconds is not None:
            parts.append(self.elapsed(history) / self.seconds)
        if self.max_trials is not None:
            parts.append(len(history) / self.max_trials)
        return min(1.0, max(parts)) if parts else None


class Progress:
    """Fraction of the budget spent since a strategy's first step (the initial design excluded).

    f' = (f - f0) / (1 - f0), f the fraction `Budget.spent` and f0 its value at the first call; None when the
    run has no budget (the strategy then schedules by its step count).
    """

    def __init__(self, budget: Budget | None) -> None:
        self.budget = budget if budget is not None and budget.bounded else None
        self.start: float | None = None

    def __call__(self, history: History) -> float | None:
        if self.budget is None:
            return None
        f = self.budget.spent(history)
        if self.start is None:
            self.start = f
        if self.start >= 1.0:
            return 1.0
        return min(1.0, max(0.0, (f - self.start) / (1.0 - self.start)))
