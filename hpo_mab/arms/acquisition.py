"""Acquisition functions as plain functions of a model's mean and std (minimisation; larger is better).

Shared by the GP and RF arms, as in scikit-optimize. Each returns the value and its derivatives with respect
to the mean and the std, so that the GP arms can follow the gradient (chain rule through the GP's mean and
std gradients). `xi` and `best` are in the model's (standardised) units.

EI and PI are returned as logarithms (Ament et al. 2023, "Unexpected improvements to expected improvement
for Bayesian optimization"): EI underflows to 0 a few standard deviations from the incumbent, which leaves
a pool of ties and a zero gradient; log EI ranks every point and keeps a gradient. The order of points is
the same wherever EI itself is positive.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfcx, log_ndtr

XI = 0.0
KAPPA = 1.96
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_SQRT_HALF_PI = np.sqrt(0.5 * np.pi)


def _log_pdf(z: np.ndarray) -> np.ndarray:
    return -0.5 * z * z - _LOG_SQRT_2PI


def log_h(z: np.ndarray) -> np.ndarray:
    """log(z Phi(z) + phi(z)), accurate for very negative z through the scaled complementary error function.

    For z < -1, h(z) = phi(z) (1 - t R(t)) with t = -z and Mills' ratio R(t) = sqrt(pi/2) erfcx(t/sqrt2);
    beyond t = 1e4, 1 - t R(t) = 1/t^2 to double precision.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(zu * np.exp(log_ndtr(zu)) + np.exp(_log_pdf(zu)))
    t = -z[~upper]
    tail = -2.0 * np.log(t)
    near = t < 1e4
    tail[near] = np.log1p(-t[near] * _SQRT_HALF_PI * erfcx(t[near] / np.sqrt(2.0)))
    out[~upper] = _log_pdf(-t) + tail
    return out


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float,
                             xi: float = XI) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EI (Mockus 1978; Jones et al. 1998) of falling below `best - xi`, with d/dmean and d/dstd."""
    std = np.maximum(std, 1e-12)
    z = (best - xi - mean) / std
    lh = log_h(z)
    with np.errstate(over="ignore", invalid="ignore"):  # far tails: the gradient is cleaned by the caller
        return np.log(std) + lh, -np.exp(log_ndtr(z) - lh) / std, np.exp(_log_pdf(z) - lh) / std


def log_probability_of_improvement(mean: np.ndarray, std: np.ndarray, best: float,
                                   xi: float = XI) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log PI (Kushner 1964): log probability of falling below `best - xi`, with d/dmean and d/dstd."""
    std = np.maximum(std, 1e-12)
    z = (best - xi - mean) / std
    value = log_ndtr(z)
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = np.exp(_log_pdf(z) - value)
    return value, -ratio / std, -ratio * z / std


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, best: float,
                           kappa: float = KAPPA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UCB for minimisation, i.e. the negated lower confidence bound (Srinivas et al. 2010)."""
    return -(mean - kappa * std), -np.ones_like(mean), np.full_like(std, kappa)


ACQUISITIONS = {"EI": log_expected_improvement, "PI": log_probability_of_improvement, "UCB": upper_confidence_bound}


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = XI) -> np.ndarray:
    """EI itself (not its logarithm), for callers that need the improvement in the model's units."""
    return np.exp(log_expected_improvement(mean, std, best, xi)[0])
