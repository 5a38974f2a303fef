"""The lookup-table backend: "trains" a row by replaying its recorded curve on a simulated clock."""

from __future__ import annotations

import math

import numpy as np

from hpo_mab.backends.base import Decision, Outcome, Report, SimulatedClock
from hpo_mab.surrogates import Table


class LookupBackend:
    """Replays one seed of a table row; a trial that would pass the deadline is cut there (stopped)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.clock = SimulatedClock()
        self._seeds = table.seeds_per_row.tolist()  # Python scalars: numpy scalar arithmetic per trial is slow
        self._values = table.values
        self._seconds = table.seconds
        self._final_seconds = table.seconds[:, :, -1]
        self._test = table.test

    def evaluate(self, row: int, *, draw: float, deadline: float = math.inf) -> Outcome:
        """Evaluate `row` with the seed picked by `draw` in [0, 1); advance the clock."""
        n_seeds = self._seeds[row]
        seed = min(int(draw * n_seeds), n_seeds - 1)
        total = float(self._final_seconds[row, seed])
        left = deadline - self.clock.now
        if total <= left:
            self.clock.advance(total)
            curve = self._values[row, seed].tolist()
            test = None if self._test is None else float(self._test[row, seed, -1])
            if not math.isfinite(curve[-1]):
                return Outcome("failed", curve, None, test, total, "non-finite metric in table")
            return Outcome("complete", curve, curve[-1], test, total)
        seconds = self._seconds[row, seed]
        seen = int(np.searchsorted(seconds, left, side="right"))
        self.clock.advance(max(left, 0.0))
        curve = self._values[row, seed, :seen].tolist()
        return Outcome("stopped", curve, curve[-1] if curve else None, None, max(left, 0.0),
                       "time budget exhausted")

    def run_trial(self, nominee, *, draw: float, deadline: float = math.inf, report: Report | None = None,
                  checkpoint: tuple[int, int, int] | None = None) -> Outcome:
        """The Backend interface: replay the nominee's row; with `report`, epoch by epoch.

        Without a report callback (every epoch continues) this is `evaluate`, the replay's fast path. A
        PAUSE leaves `checkpoint` = (row, seed, epochs seen); passing it back continues the same curve.
        """
        row = nominee.row
        if report is None and checkpoint is None:
            return self.evaluate(row, draw=draw, deadline=deadline)
        if checkpoint is not None:
            row, seed, start = checkpoint
        else:
            n_seeds = self._seeds[row]
            seed, start = min(int(draw * n_seeds), n_seeds - 1), 0
        values, seconds = self._values[row, seed].tolist(), self._seconds[row, seed].tolist()
        base = seconds[start - 1] if start else 0.0
        begin = self.clock.now
        for epoch in range(start, len(values)):
            if begin + seconds[epoch] - base > deadline:
                spent = max(deadline - self.clock.now, 0.0)
                self.clock.advance(spent)
                curve = values[start:epoch]
                return Outcome("stopped", curve, curve[-1] if curve else None, None,
                               self.clock.now - begin, "time budget exhausted")
            self.clock.now = begin + seconds[epoch] - base
            answer = report(epoch + 1, values[epoch], seconds[epoch]) if report is not None else None
            if answer in (Decision.STOP, Decision.PAUSE) and epoch + 1 < len(values):
                curve = values[start : epoch + 1]
                if answer == Decision.PAUSE:
                    return Outcome("paused", curve, curve[-1], None, self.clock.now - begin, "paused",
                                   checkpoint=(row, seed, epoch + 1))
                return Outcome("stopped", curve, curve[-1], None, self.clock.now - begin, "stopped by the scheduler")
        curve = values[start:]
        test = None if self._test is None else float(self._test[row, seed, -1])
        if not math.isfinite(curve[-1]):
            return Outcome("failed", curve, None, test, self.clock.now - begin, "non-finite metric in table")
        return Outcome("complete", curve, curve[-1], test, self.clock.now - begin)
