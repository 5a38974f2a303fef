"""Cost transformations of the modelled loss: HLE, the hybrid log error of DEEP-BO (Cho et al., IEEE Access
2020, "Basic Enhancement Strategies When Using Bayesian Optimization for Hyperparameter Tuning of Deep
Neural Networks").

HLE(e) = e for e >= tau, and log10(max(e, 1e-5)) + tau - log10(tau) below tau (continuous at tau): the
surrogate sees errors on a linear scale while they are poor and on a log scale once they are good, so
that differences between good configurations (0.010 vs 0.012) are not flattened by a few bad ones.
tau = 0.3 for errors in [0, 1] (metric kinds accuracy and error); for unbounded losses (kind loss, or no
metric) e is the loss itself and tau the median loss of the initial design (trials with state "init";
of every finished trial while there is none). If that tau is not positive (a maximised value seen as a
negative loss without a metric), the log branch is undefined and the transform is the identity.

`HLEArm` wraps a GP/RF model arm or the TPE arm: before each proposal it sets the arm's `transform` hook to
HLE of the history's errors. TPE splits observations by their order only, so a monotone transform such as
HLE leaves its proposals unchanged; TPE-HLE exists so that DEEP-BO's portfolios can be named as such.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from hpo_mab.arms.candidates import Candidates, Nominee
from hpo_mab.history import History
from hpo_mab.space import Space

E_FLOOR = 1e-5
TAU_BOUNDED = 0.3


def gaussian_copula(y: np.ndarray) -> np.ndarray:
    """Ranks mapped to standard-normal quantiles, Phi^-1((rank - 0.5) / n), ties averaged.

    One of the arms' output transforms (`outputs.OUTPUTS`; Salinas, Shen & Perrone, "A quantile-based
    approach for hyperparameter transfer learning", ICML 2020; Syne Tune's copula GP): immune to heavy tails
    (fcnet-slice losses run from 2e-4 to 4e7), but blind to how much better the best values are, which stalls
    a GP near the optimum of a smooth function (experiments/results/synthetic/dev_sweep.txt). The forest
    arms model it by default; the GP arms model `tail`.
    """
    y = np.asarray(y, dtype=float)
    return ndtri((rankdata(y) - 0.5) / len(y))


def hle(e: float | np.ndarray, tau: float) -> float | np.ndarray:
    """HLE(e) = e for e >= tau, log10(max(e, 1e-5)) + tau - log10(tau) below (tau > 0)."""
    e = np.asarray(e, dtype=float)
    below = np.log10(np.maximum(e, E_FLOOR)) + tau - np.log10(tau)
    out = np.where(e >= tau, e, below)
    return float(out) if out.ndim == 0 else out


def bounded(metric: Any) -> bool:
    return metric is not None and getattr(metric, "kind", None) in ("accuracy", "error")


def errors(losses: np.ndarray, metric: Any) -> np.ndarray:
    """Errors e of minimised losses: 1 - accuracy/scale, the error, or the loss itself (no metric)."""
    losses = np.asarray(losses, dtype=float)
    if metric is None:
        return losses
    return np.asarray(metric.error(metric.from_loss(losses)), dtype=float)


def hle_tau(history: History, metric: Any) -> float:
    """0.3 for errors in [0, 1]; else the initial design's median loss (all finished losses if none)."""
    if bounded(metric):
        return TAU_BOUNDED
    init = [t.loss for t in history.trials if t.state == "init" and t.loss is not None]
    losses = init if init else list(history.y)
    return float(np.median(errors(np.asarray(losses), metric))) if losses else float("nan")


def hle_transform(history: History, metric: Any) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The loss -> HLE(error) map for this history (the identity where tau is not positive), and its key."""
    tau = hle_tau(history, metric)
    if not (np.isfinite(tau) and tau > 0):
        return (lambda y: np.asarray(y, dtype=float)), "hle:identity"
    return (lambda y: np.asarray(hle(errors(y, metric), tau), dtype=float)), f"hle:{tau!r}"


class HLEArm:
    """A model arm (GP/RF with an acquisition, or TPE) that models HLE of the error instead of the loss."""

    def __init__(self, inner: Any, metric: Any = None) -> None:
        self.inner, self.metric = inner, metric
        base = getattr(inner, "model_name", inner.name)
        acq = getattr(inner, "acq_name", None)
        self.name = f"{base}-HLE" + (f"-{acq}" if acq else "")

    def propose(self, space: Space, history: History, candidates: Candidates,
                rng: np.random.Generator) -> Nominee:
        self.inner.transform, self.inner.transform_key = hle_transform(history, self.metric)
        return self.inner.propose(space, history, candidates, rng)
