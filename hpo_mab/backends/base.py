"""What every backend returns, and the clocks they run on."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Outcome:
    """The result of evaluating one configuration.

    `state`: complete, stopped (cut by the budget or a scheduler) or failed; `curve`: the metric after each
    epoch seen; `value`: the final metric (None when failed); `seconds`: the trial's training seconds.
    """

    state: str
    curve: list[float] = field(default_factory=list)
    value: float | None = None
    test: float | None = None
    seconds: float = 0.0
    reason: str | None = None

    @property
    def epochs(self) -> int:
        return len(self.curve)


class SimulatedClock:
    """A clock that moves only when told: by recorded training seconds (and, optionally, proposal time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


class WallClock:
    """Seconds since the run started, by the wall clock."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._offset = 0.0

    @property
    def now(self) -> float:
        return time.monotonic() - self._start + self._offset

    def advance(self, seconds: float) -> None:
        return None  # real time passes by itself

    def set(self, seconds: float) -> None:
        """Resume: continue from a journaled clock value."""
        self._offset = seconds - (time.monotonic() - self._start)
