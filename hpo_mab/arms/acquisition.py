"""Acquisition functions as plain functions of a model's mean and std (minimisation; larger is better).

Shared by the GP and RF arms, as in scikit-optimize. `xi` and `best` are in the model's (standardised)
units.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _pdf(z: np.ndarray) -> np.ndarray:
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)

XI = 0.01
KAPPA = 1.96


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = XI) -> np.ndarray:
    """EI (Mockus 1978; Jones et al. 1998) of falling below `best - xi`."""
    std = np.maximum(std, 1e-12)
    improvement = best - mean - xi
    z = improvement / std
    return improvement * ndtr(z) + std * _pdf(z)


def probability_of_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = XI) -> np.ndarray:
    """PI (Kushner 1964): probability of falling below `best - xi`."""
    return ndtr((best - mean - xi) / np.maximum(std, 1e-12))


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, best: float, kappa: float = KAPPA) -> np.ndarray:
    """UCB for minimisation, i.e. the negated lower confidence bound (Srinivas et al. 2010)."""
    return -(mean - kappa * std)


ACQUISITIONS = {"EI": expected_improvement, "PI": probability_of_improvement, "UCB": upper_confidence_bound}
