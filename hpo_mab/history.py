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

STATES = ("init", "complete", "stopped", "failed", "paused")
FINISHED = ("init", "complete")
OBSERVED = ("init", "complete", "stopped", "paused")  # states whose loss (at the epochs reached) is an observation
MODEL_DATA = ("full", "largest", "resource")


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
    trial finished). `state` is init (a finished initial-design trial), complete, stopped, failed or paused
    (a scheduler paused it at a rung; a later record with `info.resumes` = this trial's number continues it).
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

    @property
    def observed(self) -> bool:
        """Whether the loss is an observation at the epochs reached (finished, paused or stopped early)."""
        return self.state in OBSERVED and self.loss is not None

    @property
    def trial_id(self) -> int:
        """The number of the trial's first record (a resumed trial's records share it)."""
        return int(self.info.get("resumes", self.number))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class History:
    """Trials of one run in order, with the models' data (encoded inputs, minimised losses) kept as arrays.

    `model_data` says which observations the arms and strategies model (X, y, n_finished):
    - `full` (the default, and what every run without a scheduler uses): trials that ran every epoch.
    - `largest` (BOHB, Falkner et al. 2018): the losses at the largest epoch that at least `min_points` trials
      reached, read from their curves (a trial stopped or paused earlier is left out).
    - `resource`: every trial's loss at the epochs it reached (mixed fidelities, as Optuna's samplers see
      pruned trials' last values).
    The views other than `full` read the trials' curves (in the metric's units, turned into losses by
    `direction`). `best` is always the best full-resource (finished) trial: what a run reports.
    """

    def __init__(self, n_dims: int, model_data: str = "full", min_points: int | None = None,
                 direction: Direction | str = "min") -> None:
        if model_data not in MODEL_DATA:
            raise HpoError(f"model_data must be one of {', '.join(MODEL_DATA)}, but got {model_data!r}")
        self.trials: list[Trial] = []
        self.model_data = model_data
        self.direction = direction_of(direction)
        self.min_points = max(n_dims + 2, 5) if min_points is None else min_points
        self._x = np.zeros((64, n_dims))
        self._y = np.zeros(64)
        self._n = 0
        self.visited_rows: set[int] = set()
        self.best: Trial | None = None
        self._encoded: dict[int, np.ndarray] = {}  # trial id -> encoding (views other than `full`)
        self._curves: dict[int, list[float]] = {}  # trial id -> losses after epoch 1, 2, ... reached so far
        self._view: tuple[int, np.ndarray, np.ndarray, int | None] | None = None

    def __len__(self) -> int:
        return len(self.trials)

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the usual name for a design matrix
        """Encoded configurations the models see (read-only view)."""
        view = self._model()[0] if self.model_data != "full" else self._x[: self._n]
        view.flags.writeable = False
        return view

    @property
    def y(self) -> np.ndarray:
        """Minimised losses the models see (read-only view)."""
        view = self._model()[1] if self.model_data != "full" else self._y[: self._n]
        view.flags.writeable = False
        return view

    @property
    def n_finished(self) -> int:
        """How many observations the models see."""
        return len(self._model()[1]) if self.model_data != "full" else self._n

    @property
    def model_epoch(self) -> int | None:
        """The epoch the `largest` view reads (None for the other views, or before any observation)."""
        return self._model()[2] if self.model_data == "largest" else None

    def append(self, trial: Trial, encoded: np.ndarray) -> None:
        """Record a trial; finished ones join the model data, every one counts as visited."""
        self.trials.append(trial)
        if trial.row is not None:
            self.visited_rows.add(trial.row)
        if self.model_data != "full":
            self._observe(trial, encoded)
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

    # -- the views other than `full` -------------------------------------------------------------------
    def _observe(self, trial: Trial, encoded: np.ndarray) -> None:
        """Keep the trial's curve as losses (a resumed trial's records extend it)."""
        tid = trial.trial_id
        self._encoded.setdefault(tid, np.asarray(encoded, dtype=float))
        if trial.state == "failed":
            return
        start = int(trial.info.get("from_epoch", 0))
        curve = self._curves.setdefault(tid, [])
        del curve[start:]
        curve.extend(self.direction.to_loss(float(v)) for v in trial.curve)
        self._view = None

    def _model(self) -> tuple[np.ndarray, np.ndarray, int | None]:
        if self._view is None or self._view[0] != len(self.trials):
            self._view = (len(self.trials), *self._build_view())
        return self._view[1], self._view[2], self._view[3]

    def _build_view(self) -> tuple[np.ndarray, np.ndarray, int | None]:
        ids = [t for t, c in self._curves.items() if c and np.isfinite(c[-1])]
        epoch = None
        if self.model_data == "largest":
            reached = sorted((len(self._curves[t]) for t in ids), reverse=True)
            if reached:
                epoch = reached[min(self.min_points, len(reached)) - 1]
            ids = [t for t in ids if epoch is not None and len(self._curves[t]) >= epoch
                   and np.isfinite(self._curves[t][epoch - 1])]
            losses = [self._curves[t][epoch - 1] for t in ids] if epoch else []
        else:
            losses = [self._curves[t][-1] for t in ids]
        x = np.array([self._encoded[t] for t in ids]).reshape(len(ids), self._x.shape[1])
        return x, np.array(losses, dtype=float), epoch
