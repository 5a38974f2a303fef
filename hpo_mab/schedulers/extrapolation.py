"""Learning-curve extrapolation (Domhan, Springenberg & Hutter, "Speeding up Automatic Hyperparameter
Optimization of Deep Neural Networks by Extrapolation of Learning Curves", IJCAI 2015), as a point-estimate
ensemble instead of the paper's MCMC over a weighted combination of the families.

At a checked epoch t the finite losses y_1..y_t are min-max normalised to z in [0, 1]. Domhan's families are
written for an accuracy rising to an asymptote; for a loss each is mirrored into c + a * g(x; theta), a >= 0:

    pow3       c + a x^-alpha                      (Domhan pow3)
    exp3       c + a exp(-b x)                     (exponential)
    log_power  c + a / (1 + (x / e^b)^k)           (Domhan log power, with an offset c; = MMF)
    ilog2      c + a / log(x + 1)                  (Domhan ilog2; x + 1 so that epoch 1 is finite)
    weibull    c + a exp(-(kappa x)^delta)         (Domhan Weibull; off by default, it is the slowest fit)

Fitting is variable projection (Golub & Pereyra 1973): for any theta the linear (c, a) are solved exactly
(least squares, a clipped to [0, 1e3], c to [-100, 100]); theta starts at the best point of a grid and is
refined by `scipy.optimize.curve_fit` (MINPACK Levenberg-Marquardt) with theta clipped into its bounds inside
the model, so the fit is bounded. It is an order of magnitude faster than curve_fit's bounded trf on all the
parameters (see Cost), with the same optima on the curves compared. A family with k parameters (2 + len(theta))
is used only when t >= k + 2 (its AICc and residual std are then defined); a fit that raises (no convergence
in 100 evaluations, bad values), or predicts a non-finite value or one beyond 100 curve ranges, is dropped.
Fits are weighted by Akaike weights, w_i ~ exp(-AICc_i / 2), AICc_i = t log(RSS_i / t) + 2k + 2k(k+1)/(t-k-1).

"Unlikely" is decided like this. The ensemble predicts the loss at max_epochs E as mu = sum_i w_i f_i(E), with
variance sigma^2 = sum_i w_i RSS_i / (t - k_i) (the weighted residual variance: the noise of one observed loss)
+ mean_i (f_i(E) - mu)^2 over the m fitted families, unweighted (the spread between the families: model
uncertainty; unweighted because on a short curve AICc often puts ~all weight on one family and a weighted spread
would then vanish and make early forecasts overconfident). Treating the final loss as Normal(mu, sigma^2),
P(final < incumbent) = Phi((incumbent - mu) / sigma); the trial STOPs when this is below `threshold` (0.05).
The incumbent is the best loss at epoch E among trials that completed all E epochs (state complete or init);
with none there is nothing to beat and the trial continues. Fewer than `min_families` (default 2) successful
fits: CONTINUE. A flat partial curve is predicted to stay flat (sigma = 0). Checks run at epochs min_epochs,
min_epochs + interval, ... (< E); min_epochs defaults to max(3, E // 5); with the default families nothing can
be fitted before epoch 4, and two families need epoch 5.

Cost (CPU time of `predict_final`, default four families, on the 2-CPU development machine): 1.6 ms median,
2.5 ms 90th percentile, 4 ms max over 880 decisions at epochs 5..26 of synthetic 27-epoch pow/exp/accuracy curves;
1.7 ms median on digits-lenet curves (15 epochs). Adding weibull: about +0.7 ms. Wall time is 2-3x that while the
machine is busy. Bounded trf on the full parameter vector (the first version) took 20-30 ms.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.base import Decision, Scheduler, check_int, check_number

__all__ = ["FAMILIES", "Extrapolation", "Prediction", "predict_final"]


class Family(NamedTuple):
    """A curve family c + a * shape(x, *theta): theta's start grid (rows) and bounds."""

    shape: Callable[..., np.ndarray]
    grid: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _grid(*axes: np.ndarray) -> np.ndarray:
    return np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)


# Shapes broadcast: x of shape (1, n) with theta columns of shape (G, 1) give the whole grid at once.
FAMILIES: dict[str, Family] = {
    "pow3": Family(lambda x, alpha: x ** (-alpha), _grid(np.geomspace(2e-3, 8.0, 48)),
                   np.array([1e-3]), np.array([10.0])),
    "exp3": Family(lambda x, b: np.exp(-b * x), _grid(np.geomspace(2e-4, 8.0, 48)),
                   np.array([1e-4]), np.array([10.0])),
    "log_power": Family(lambda x, b, k: 1.0 / (1.0 + np.exp(k * (np.log(x) - b))),
                        _grid(np.linspace(-4.0, 6.0, 16), np.geomspace(0.1, 12.0, 16)),
                        np.array([-10.0, 1e-2]), np.array([10.0, 20.0])),
    "ilog2": Family(lambda x: 1.0 / np.log(x + 1.0), np.zeros((1, 0)), np.zeros(0), np.zeros(0)),
    "weibull": Family(lambda x, kappa, delta: np.exp(-np.exp(delta * np.log(kappa * x))),
                      _grid(np.geomspace(2e-4, 5.0, 16), np.geomspace(0.1, 8.0, 16)),
                      np.array([1e-4, 5e-2]), np.array([10.0, 10.0])),
}
DEFAULT_FAMILIES = ("pow3", "exp3", "log_power", "ilog2")
A_MAX, C_MAX = 1e3, 100.0  # bounds of the linear parameters in normalised units: 0 <= a <= A_MAX, |c| <= C_MAX


def _linear(G: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row g of G the least-squares (c, a) of z ~ c + a g, within their bounds; and the RSS."""
    gm = G.mean(axis=1)
    dg = G - gm[:, None]
    var = np.einsum("ij,ij->i", dg, dg)
    a = np.clip(np.divide(dg @ (z - z.mean()), var, out=np.zeros_like(var), where=var > 0), 0.0, A_MAX)
    c = np.clip(z.mean() - a * gm, -C_MAX, C_MAX)
    r = z[None, :] - c[:, None] - a[:, None] * G
    return c, a, np.einsum("ij,ij->i", r, r)


def _linear1(g: np.ndarray, z: np.ndarray, zm: float) -> tuple[float, float]:
    """`_linear` for one shape vector (the hot path inside curve_fit)."""
    gm = g.mean()
    dg = g - gm
    var = float(dg @ dg)
    a = min(max(float(dg @ (z - zm)) / var, 0.0), A_MAX) if var > 0.0 else 0.0
    return min(max(zm - a * gm, -C_MAX), C_MAX), a


def _fit(family: Family, x: np.ndarray, z: np.ndarray, target: float) -> tuple[float, float]:
    """(RSS, prediction at `target`) of one family on normalised data; raises when the fit fails."""
    shape, grid, lo, hi = family
    zm = float(z.mean())
    c, a, rss = _linear(shape(x[None, :], *grid.T[:, :, None]), z)
    theta = grid[int(np.argmin(rss))]
    if grid.shape[1]:
        def model(xv: np.ndarray, *th: float) -> np.ndarray:
            g = shape(xv, *np.clip(th, lo, hi))
            c, a = _linear1(g, z, zm)
            return c + a * g

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            theta, _ = curve_fit(model, x, z, p0=theta, method="lm", maxfev=100)
        theta = np.clip(theta, lo, hi)
    g = shape(np.append(x, target), *theta)
    c, a = _linear1(g[:-1], z, zm)
    resid = z - c - a * g[:-1]
    return float(resid @ resid), float(c + a * g[-1])


class Prediction(NamedTuple):
    """The ensemble's forecast of the loss at the target epoch, and each fitted family's weight and forecast."""

    mean: float
    std: float
    weights: dict[str, float]
    members: dict[str, float]

    def prob_below(self, value: float) -> float:
        """P(final loss < value) under Normal(mean, std^2)."""
        if self.std <= 0.0:
            return 1.0 if self.mean < value else 0.0
        return 0.5 * math.erfc((self.mean - value) / (self.std * math.sqrt(2.0)))


def predict_final(curve: Sequence[float], target: int, families: Sequence[str] = DEFAULT_FAMILIES,
                  min_families: int = 2) -> Prediction | None:
    """Fit `families` to `curve` (losses after epochs 1..t) and forecast the loss at epoch `target`.

    None when fewer than `min_families` families fit (too few points, or failed fits).
    """
    y = np.asarray(curve, dtype=float)
    x = np.arange(1, len(y) + 1, dtype=float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(y)
    if n == 0:
        return None
    low, span = float(y.min()), float(y.max() - y.min())
    if span <= 1e-12 * max(1.0, abs(low)):  # a flat curve: it stays where it is
        return Prediction(float(y[-1]), 0.0, {"flat": 1.0}, {"flat": float(y[-1])})
    z = (y - low) / span
    aicc, var, pred = {}, {}, {}
    for name in families:
        family = FAMILIES[name]
        k = 2 + family.grid.shape[1]
        if n < k + 2:
            continue
        try:
            rss, at_target = _fit(family, x, z, float(target))
        except (RuntimeError, ValueError, FloatingPointError, OverflowError, ZeroDivisionError):
            continue
        if not (math.isfinite(rss) and math.isfinite(at_target)) or abs(at_target) > 100.0:
            continue
        rss = max(rss, 1e-24)
        aicc[name] = n * math.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
        var[name] = rss / (n - k)
        pred[name] = at_target
    if len(pred) < min_families:
        return None
    best = min(aicc.values())
    raw = {m: math.exp(-0.5 * (aicc[m] - best)) for m in aicc}
    total = sum(raw.values())
    w = {m: raw[m] / total for m in raw}
    mean = sum(w[m] * pred[m] for m in w)
    variance = sum(w[m] * var[m] for m in w) + sum((pred[m] - mean) ** 2 for m in w) / len(w)
    return Prediction(low + span * mean, span * math.sqrt(variance), w, {m: low + span * pred[m] for m in pred})


class Extrapolation(Scheduler):
    """Stop a trial whose extrapolated final loss is unlikely to beat the incumbent (Domhan et al. 2015).

    Options: `threshold` (0.05: stop when P(final < incumbent) < threshold), `min_epochs` (None: max(3, E // 5)),
    `interval` (1), `min_families` (2), `families` (pow3, exp3, log_power, ilog2; a list or a comma-separated
    string of FAMILIES names). The module docstring says how the forecast and the probability are made.
    """

    name: ClassVar[str] = "EXTRAPOLATION"
    OPTIONS: ClassVar[dict[str, Any]] = {"threshold": 0.05, "min_epochs": None, "interval": 1, "min_families": 2,
                                         "families": DEFAULT_FAMILIES}

    def __init__(self, max_epochs: int, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(max_epochs, options)
        o = self.options
        self.threshold = check_number("threshold", o["threshold"], 0.0, 1.0)
        default_min = max(3, self.max_epochs // 5)
        self.min_epochs = default_min if o["min_epochs"] is None else check_int("min_epochs", o["min_epochs"])
        self.interval = check_int("interval", o["interval"])
        self.families = self._check_families(o["families"])
        self.min_families = check_int("min_families", o["min_families"], low=1)
        if self.min_families > len(self.families):
            raise HpoError(f"scheduler option 'min_families' must be at most the number of families "
                           f"({len(self.families)}), but got {self.min_families}")
        self.last_prediction: dict[int, Prediction] = {}  # trial id -> its latest forecast (for logs and tests)

    @staticmethod
    def _check_families(value: Any) -> tuple[str, ...]:
        names = value.split(",") if isinstance(value, str) else value
        if isinstance(names, (list, tuple)) and names:
            names = tuple(str(n).strip() for n in names)
            if all(n in FAMILIES for n in names) and len(set(names)) == len(names):
                return names
        raise HpoError(f"scheduler option 'families' must be distinct names from {', '.join(FAMILIES)}, "
                       f"but got {value!r}")

    def incumbent(self) -> float | None:
        """The best loss at epoch E among trials that completed all E epochs, or None."""
        finals = [self.curves[t][self.max_epochs - 1] for t in self.order
                  if self.ended.get(t) in ("complete", "init") and len(self.curves[t]) >= self.max_epochs]
        finals = [v for v in finals if math.isfinite(v)]
        return min(finals) if finals else None

    def decide(self, trial_id: int, epoch: int, loss: float) -> str:
        if epoch < self.min_epochs or (epoch - self.min_epochs) % self.interval:
            return Decision.CONTINUE
        best = self.incumbent()
        if best is None:
            return Decision.CONTINUE
        forecast = predict_final(self.curves[trial_id][:epoch], self.max_epochs, self.families, self.min_families)
        if forecast is None:
            return Decision.CONTINUE
        self.last_prediction[trial_id] = forecast
        return Decision.STOP if forecast.prob_below(best) < self.threshold else Decision.CONTINUE
