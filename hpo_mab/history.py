"""The trial record, the append-only history that arms and strategies read, and the metric's direction.

Everything inside hpo_mab minimises a loss. `Direction` is the one place where a maximised metric's sign
flips: a value in the metric's own units becomes the loss when it enters a `Trial` (`to_loss`) and
turns back for reports (`from_loss`); nothing else compares values by direction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.space import Config

V = TypeVar("V", float, np.ndarray)

STATES = ("init", "complete", "stopped", "failed")
FINISHED = ("init", "complete")


@dataclass(frozen=True)
class Direction:
    """Whether a metric is minimised (`min`) or maximised (`max`); maps its values to losses and back."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in ("min", "max"):
            raise HpoError(f"direction must be 'min' or 'max', but got {self.name!r}")

    @property
    def maximised(self) -> bool:
        return self.name == "max"

    def to_loss(self, value: V) -> V:
        """The minimised loss of a value in the metric's units (scalars and arrays alike)."""
        return -value if self.maximised else value

    def from_loss(self, loss: V) -> V:
        """The value in the metric's units of a minimised loss."""
        return -loss if self.maximised else loss

    def reached(self, value: float, goal: float) -> bool:
        """Whether `value` is at least as good as `goal` (NaN never is)."""
        return bool(self.to_loss(value) <= self.to_loss(goal))


MINIMISE, MAXIMISE = Direction("min"), Direction("max")


def direction_of(name: str | Direction) -> Direction:
    """The Direction named `min` or `max` (a Direction passes through); anything else raises HpoError."""
    if isinstance(name, Direction):
        return name
    if name == "min":
        return MINIMISE
    if name == "max":
        return MAXIMISE
    return Direction(name)  # raises with the value received


@dataclass(frozen=True)
class Trial:
    """One evaluation of one configuration.

    `value` is the final metric in its own units; `loss` the minimised internal value (None unless the
    trial finished). `state` is init (a finished initial-design trial), complete, stopped or failed.
    """

    run: int
    number: int
    arm: str
    config: Config
    state: str
    row: int | None = None
    reason: str | None = None
    epochs: int = 0
    curve: list[float] = field(default_factory=list)
    value: float | None = None
    loss: float | None = None
    test: float | None = None
    seconds: float = 0.0
    clock: float = 0.0
    proposal_seconds: float = 0.0
    best_so_far: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED and self.loss is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class History:
    """Trials of one run in order, with encoded inputs and losses of the finished ones kept as arrays."""

    def __init__(self, n_dims: int) -> None:
        self.trials: list[Trial] = []
        self._x = np.zeros((64, n_dims))
        self._y = np.zeros(64)
        self._n = 0
        self.visited_rows: set[int] = set()
        self.best: Trial | None = None

    def __len__(self) -> int:
        return len(self.trials)

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the usual name for a design matrix
        """Encoded configurations of finished trials (read-only view)."""
        view = self._x[: self._n]
        view.flags.writeable = False
        return view

    @property
    def y(self) -> np.ndarray:
        """Minimised losses of finished trials (read-only view)."""
        view = self._y[: self._n]
        view.flags.writeable = False
        return view

    @property
    def n_finished(self) -> int:
        return self._n

    def append(self, trial: Trial, encoded: np.ndarray) -> None:
        """Record a trial; finished ones join the model data, every one counts as visited."""
        self.trials.append(trial)
        if trial.row is not None:
            self.visited_rows.add(trial.row)
        if not trial.finished:
            return
        if self._n == self._x.shape[0]:
            self._x = np.vstack([self._x, np.zeros_like(self._x)])
            self._y = np.concatenate([self._y, np.zeros_like(self._y)])
        self._x[self._n] = encoded
        self._y[self._n] = trial.loss
        self._n += 1
        if self.best is None or trial.loss < self.best.loss:
            self.best = trial
