"""What every backend returns, the interface they share, and the clocks they run on.

A backend runs one trial: `run_trial(nominee, draw=..., deadline=..., report=...)` trains (or replays) the
nominee's configuration and calls `report(epoch, value, seconds)` after each epoch (epochs count from 1;
`seconds` is the trial's training seconds so far). The answer is a `Decision`: CONTINUE, PAUSE (end here
and keep what continuing needs in `Outcome.checkpoint`; `run_trial(..., checkpoint=...)` continues it) or
STOP. This is the synchronous face of the STYLE.md Backend (start / events / stop): a later parallel mode
drives the same per-epoch reports from an event queue (tables) or worker processes (live).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


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
    info: dict[str, Any] = field(default_factory=dict)
    checkpoint: Any = None

    @property
    def epochs(self) -> int:
        return len(self.curve)


class Decision:
    """What a report callback answers after an epoch (plain strings, so a scheduler needs no import)."""

    CONTINUE = "continue"
    PAUSE = "pause"
    STOP = "stop"


Report = Callable[[int, float, float], str | None]  # (epoch, value, seconds so far) -> Decision (None: continue)


def always_continue(epoch: int, value: float, seconds: float) -> str:
    """The default report callback: every trial runs all its epochs."""
    return Decision.CONTINUE


class Backend(Protocol):
    """Runs one trial at a time; `clock` is simulated on tables, the wall clock for real training."""

    clock: Any

    def run_trial(self, nominee: Any, *, draw: float, deadline: float, report: Report | None = None,
                  checkpoint: Any = None) -> Outcome:
        """Evaluate `nominee`; `draw` in [0, 1) picks the seed; cut at `deadline` on `clock` (state stopped)."""
        ...


class SimulatedClock:
    """A clock that moves only when told: by recorded training seconds (and, optionally, proposal time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, seconds: float) -> None:
        """Resume: continue from a journaled clock value."""
        self.now = seconds


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
