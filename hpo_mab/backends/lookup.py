"""The lookup-table backend: "trains" a row by replaying its recorded curve on a simulated clock."""

from __future__ import annotations

import math

import numpy as np

from hpo_mab.backends.base import Outcome, SimulatedClock
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
