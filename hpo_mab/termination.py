"""When a run ends: TIME (a budget), GOAL (a target value, capped by TIME), maximum trials."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hpo_mab.errors import HpoError
from hpo_mab.history import MINIMISE, Direction, direction_of

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | float | int) -> float:
    """Seconds from `30`, `90s`, `20m`, `6h`, `2d` (decimals allowed)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", str(text))
        if not match:
            raise HpoError(f"bad duration {text!r}; expected a number with an optional unit s, m, h or d "
                           "(e.g. 30, 90s, 20m, 6h, 2d)")
        value = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(value) or value <= 0:
        raise HpoError(f"bad duration {text!r}; it must be a positive number of seconds")
    return value


def check_goal(goal: float, metric) -> None:
    """A goal must be a finite number inside the metric's bounds (NaN is never reached, inf at once)."""
    if isinstance(goal, bool) or not isinstance(goal, (int, float)) or not math.isfinite(goal):
        raise HpoError(f"-eg must be a finite number in the metric's units, but got {goal!r}")
    metric.check_goal(goal)


@dataclass(frozen=True)
class Termination:
    """`criterion` TIME or GOAL; `budget` seconds; `goal` in the metric's units, reached as `direction` says;
    `max_trials` or None."""

    criterion: str
    budget: float
    goal: float | None = None
    max_trials: int | None = None
    direction: Direction | str = MINIMISE

    def __post_init__(self) -> None:
        if self.criterion not in ("TIME", "GOAL"):
            raise HpoError(f"-e must be TIME or GOAL, but got {self.criterion!r}")
        object.__setattr__(self, "direction", direction_of(self.direction))  # "min"/"max" become a Direction
        if self.criterion == "GOAL" and self.goal is None:
            raise HpoError("-e GOAL needs a goal: give -eg VALUE (in the metric's own units)")
        if self.goal is not None and not math.isfinite(self.goal):
            raise HpoError(f"-eg must be a finite number in the metric's units, but got {self.goal!r}")
        if not self.budget > 0 or not math.isfinite(self.budget):
            raise HpoError(f"the time budget must be a positive number of seconds, but got {self.budget!r}")
        if self.max_trials is not None and self.max_trials < 1:
            raise HpoError(f"--max-trials must be at least 1, but got {self.max_trials}")

    def goal_reached(self, value: float | None) -> bool:
        if self.criterion != "GOAL" or value is None:
            return False
        return self.direction.reached(value, self.goal)
