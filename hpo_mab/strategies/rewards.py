"""Rewards of trials for the strategies, defined once: the plain reward and the log-error (LE) reward.

The error e of a trial (`Metric.error`): 1 - accuracy for accuracy tables (accuracy / scale for percent
tables), the error itself for error tables, the loss itself for loss tables.

Plain reward
    Errors in [0, 1] (metric kinds accuracy and error): r = 1 - e.
    Unbounded losses (kind loss, or no Metric in ask/tell use): the loss's rank among the run's finished
    observations scaled to [0, 1]: r = 1 - k / (n - 1), k the number of observations with a strictly
    smaller loss, n the number of observations (best = 1, worst = 0; r = 1 while n = 1; a value outside
    the observations, e.g. a GP prediction, is clipped to [0, 1]).

LE reward (log-error, as in DEEP-BO's log transform, Cho et al., IEEE Access 2020)
    r = -log10(max(e, 1e-5)); unbounded losses are first divided by the median loss of the initial design
    (the history's trials with state "init"), so that e = 1 at that median. If that median is not positive
    (a maximised value told without a Metric), e is taken as 1 - the plain (rank) reward instead.

Worked example. An accuracy table (scale 1): a trial with accuracy 0.97 has e = 0.03, plain reward 0.97
and LE reward -log10(0.03) = 1.523; accuracy 0.99 gives 0.99 and 2.0: the LE scale separates the good
trials that the plain scale squeezes together near 1. A loss table whose initial design had losses
(0.5, 0.8, 0.2, 0.4, 1.0): the median is 0.5; a trial with loss 0.05 gets e = 0.1 and LE reward 1.0, one
with loss 1.0 gets e = 2 and LE reward -0.301. Its plain reward among the observations
(0.5, 0.8, 0.2, 0.4, 1.0, 0.05): k = 0 better -> 1.0 for the 0.05 trial, k = 5 -> 0.0 for the 1.0 trial,
and the 0.4 trial has k = 2 -> 1 - 2/5 = 0.6.

A trial paused or stopped early (by a scheduler, or by the budget) earns the reward of its loss at the epochs
it reached. A failed trial earns the worst reward of its scale: 0 on the plain scale
and on the bounded LE scale (e = 1), the smallest LE reward observed so far (at most 0) for unbounded losses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hpo_mab.history import History, Trial

E_FLOOR = 1e-5
SCALES = ("plain", "le")


def is_bounded(metric: Any) -> bool:
    """Whether the metric's error lies in [0, 1] (kinds accuracy and error)."""
    return metric is not None and getattr(metric, "kind", None) in ("accuracy", "error")


def error_of_loss(loss: float | np.ndarray, metric: Any) -> float | np.ndarray:
    """The error e of minimised losses: back to the metric's value, then `Metric.error` (None: the loss)."""
    if metric is None:
        return loss
    return metric.error(metric.from_loss(np.asarray(loss, dtype=float)))


def log_error(e: float | np.ndarray) -> float | np.ndarray:
    """LE(e) = -log10(max(e, 1e-5))."""
    return -np.log10(np.maximum(e, E_FLOOR))


def rank_reward(loss: float, observed: np.ndarray) -> float:
    """1 - k / (n - 1), k = observations strictly better than `loss`, clipped to [0, 1] (best = 1)."""
    n = len(observed)
    if n <= 1:
        return 1.0
    k = int(np.sum(np.asarray(observed) < loss))
    return float(min(1.0, max(0.0, 1.0 - k / (n - 1))))


def initial_median(history: History) -> float | None:
    """Median loss of the initial design's finished trials (state "init"); None if there is none."""
    losses = [t.loss for t in history.trials if t.state == "init" and t.loss is not None]
    return float(np.median(losses)) if losses else None


class Rewarder:
    """Turns losses into rewards on one scale ("plain" or "le") for one metric; caches the initial median."""

    def __init__(self, metric: Any, scale: str = "plain") -> None:
        if scale not in SCALES:
            raise ValueError(f"reward scale must be one of {SCALES}, but got {scale!r}")
        self.metric, self.scale = metric, scale
        self.bounded = is_bounded(metric)
        self._median: float | None = None
        self._median_frozen = False

    def _init_median(self, history: History) -> float | None:
        """Median of the initial design, frozen once a non-initial trial exists (init trials come first)."""
        if self._median_frozen:
            return self._median
        self._median = initial_median(history)
        if self._median is None and history.n_finished:
            self._median = float(np.median(history.y))  # no initial design (ask/tell with n_init=0)
        elif history.trials and history.trials[-1].arm != "INIT":
            self._median_frozen = True
        return self._median

    def reward(self, loss: float | None, history: History) -> float:
        """Reward of a (finished, or predicted) loss given the run's history; None: the scale's worst."""
        if loss is None or not math.isfinite(loss):
            return self.worst(history)
        if self.bounded:
            e = float(error_of_loss(loss, self.metric))
            return 1.0 - e if self.scale == "plain" else float(log_error(e))
        if self.scale == "plain":
            return rank_reward(loss, history.y)
        median = self._init_median(history)
        if median is None or median <= 0:
            return float(log_error(1.0 - rank_reward(loss, history.y)))
        return float(log_error(loss / median))

    def worst(self, history: History) -> float:
        """The reward of a trial that did not finish."""
        if self.scale == "plain" or self.bounded or history.n_finished == 0:
            return 0.0
        return min(0.0, self.reward(float(history.y.max()), history))

    def of_trial(self, trial: Trial, history: History) -> float:
        """Reward of a recorded trial (its loss at the epochs it reached, else the worst reward)."""
        return self.reward(trial.loss if trial.observed else None, history)
