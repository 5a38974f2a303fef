"""What a model fits in place of the raw losses: the output transforms, named so that arms can take them as
options (`gp_output`, `rf_output`).

- `raw`: the losses themselves (standardised by the model).
- `copula`: ranks mapped to normal quantiles (Salinas et al. 2020); see `transforms.gaussian_copula`.
- `power`: a Box-Cox transform of positive losses, else Yeo-Johnson of the standardised losses, lambda by
  maximum likelihood (scipy.stats; HEBO's output warping, Cowen-Rivers et al. 2022). Close to the identity
  where the losses are already roughly normal, close to a logarithm where they are heavy-tailed.
- `tail`: the losses unchanged up to their median, and above it median + s log(1 + (y - median) / s), with
  s the spread of the good half, (median - first quartile) / 0.6745: keeps the metric where the good
  configurations are and squashes a heavy bad tail (diverged runs) that would otherwise flatten every good
  value once standardised.
- `log`: log of the losses shifted to be positive, log(y - min y + 0.01 (max y - min y)); of positive
  losses with max/min over 10, the plain log(y), as SMAC3's HPO facade models (`log_y`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats

from hpo_mab.arms.transforms import gaussian_copula
from hpo_mab.errors import HpoError


def _raw(y: np.ndarray) -> np.ndarray:
    return np.asarray(y, dtype=float)


def _power(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    spread = np.ptp(y)
    if len(y) < 3 or spread == 0:
        return y
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if np.all(y > 0):
            out = stats.boxcox(y / np.median(y))[0]
        else:
            out = stats.yeojohnson((y - np.mean(y)) / np.std(y))[0]
    return out if np.all(np.isfinite(out)) and np.ptp(out) > 0 else gaussian_copula(y)


def _tail(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if len(y) < 3:
        return y
    median, lower = np.percentile(y, [50, 25])
    scale = float(median - lower) / 0.6745 or float(np.std(y)) or 1.0  # the good half's spread, blind to the tail
    median = float(median)
    above = y > median
    out = y.copy()
    out[above] = median + scale * np.log1p((y[above] - median) / scale)
    return out


def _log(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        return y
    low, spread = float(np.min(y)), float(np.ptp(y))
    if low > 0 and np.max(y) / low > 10.0:
        return np.log(y)
    return np.log(y - low + 0.01 * spread + 1e-300) if spread > 0 else y


OUTPUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "raw": _raw, "copula": gaussian_copula, "power": _power, "tail": _tail, "log": _log}


def output_transform(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The transform called `name`, or HpoError listing the valid names."""
    if name not in OUTPUTS:
        raise HpoError(f"unknown output transform {name!r}; expected one of {', '.join(OUTPUTS)}")
    return OUTPUTS[name]
