"""Gaussian-process regression: Matern-5/2 with one length scale per parameter, standardised targets.

Written by hand rather than with scikit-learn's GaussianProcessRegressor because a from-scratch sklearn
refit (Matern-5/2, 9 length scales) took about 6 s at 200 points and 30 s at 1,000 points here (issue 2),
far over the 0.1 s / 1 s proposal targets. This model keeps the kernel hyperparameters between steps,
refits them (L-BFGS-B on the log marginal likelihood with its analytic gradient, warm-started) only every
max(1, n/20) observations, and in between only refactorises the kernel matrix (a 800x800 Cholesky takes
a few milliseconds, so an explicit rank-one update would not pay for itself).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize

SQRT5 = np.sqrt(5.0)
LOG_BOUNDS_LENGTH = (np.log(0.01), np.log(20.0))
LOG_BOUNDS_SIGNAL = (np.log(0.05), np.log(20.0))
LOG_BOUNDS_NOISE = (np.log(1e-6), np.log(1.0))


class ModelFitError(RuntimeError):
    """The model could not be fitted (Cholesky failure after jitter, non-finite data)."""


class GaussianProcess:
    """GP with a Matern-5/2 ARD kernel; `groups[d]` maps encoded dimension d to its parameter's scale."""

    def __init__(self, groups: np.ndarray, refit_every_frac: float = 0.05, max_iter: int = 50) -> None:
        self.groups = np.asarray(groups, dtype=int)
        self.n_groups = int(self.groups.max()) + 1
        self.theta = np.concatenate([np.full(self.n_groups, np.log(0.5)), [0.0, np.log(1e-3)]])
        self.refit_every_frac = refit_every_frac
        self.max_iter = max_iter
        self._n_at_refit = 0

    def _scaled_sq(self, a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Per-group squared scaled distances, shape (groups, len(a), len(b))."""
        scale = lengths[self.groups]
        a, b = a / scale, b / scale
        out = np.empty((self.n_groups, len(a), len(b)))
        for g in range(self.n_groups):
            cols = self.groups == g
            diff = a[:, None, cols] - b[None, :, cols]
            out[g] = np.einsum("ijk,ijk->ij", diff, diff)
        return out

    @staticmethod
    def _matern(r: np.ndarray) -> np.ndarray:
        return (1.0 + SQRT5 * r + 5.0 / 3.0 * r * r) * np.exp(-SQRT5 * r)

    def _kernel(self, a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> np.ndarray:
        lengths, signal = np.exp(theta[: self.n_groups]), np.exp(theta[self.n_groups])
        scale = lengths[self.groups]
        a, b = a / scale, b / scale
        sq = np.maximum(np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T, 0.0)
        return signal * self._matern(np.sqrt(sq))

    def _neg_lml(self, theta: np.ndarray, x: np.ndarray, y: np.ndarray, sq: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood and its gradient (Rasmussen & Williams 2006, eq. 5.9)."""
        lengths, signal, noise = np.exp(theta[: self.n_groups]), np.exp(theta[-2]), np.exp(theta[-1])
        scaled = sq / (lengths**2)[:, None, None]
        r2 = scaled.sum(0)
        r = np.sqrt(r2)
        e = np.exp(-SQRT5 * r)
        k0 = (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * e
        K = signal * k0 + (noise + 1e-8) * np.eye(len(y))
        try:
            L = cholesky(K, lower=True, check_finite=False)
        except LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve((L, True), y)
        nll = 0.5 * y @ alpha + np.log(np.diag(L)).sum() + 0.5 * len(y) * np.log(2 * np.pi)
        W = np.outer(alpha, alpha) - cho_solve((L, True), np.eye(len(y)))
        common = signal * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e
        grad = np.empty_like(theta)
        for g in range(self.n_groups):
            grad[g] = -0.5 * np.sum(W * common * scaled[g])
        grad[-2] = -0.5 * np.sum(W * signal * k0)
        grad[-1] = -0.5 * noise * np.trace(W)
        return float(nll), grad

    def fit(self, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Fit to inputs `x` and losses `y` (standardised here); refit hyperparameters when due."""
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ModelFitError("non-finite training data")
        self.mean_, self.std_ = float(np.mean(y)), float(np.std(y)) or 1.0
        ys = (y - self.mean_) / self.std_
        n = len(y)
        if n - self._n_at_refit >= max(1, int(self.refit_every_frac * n)) or self._n_at_refit == 0:
            self._refit_hyperparameters(x, ys)
            self._n_at_refit = n
        K = self._kernel(x, x, self.theta) + (np.exp(self.theta[-1]) + 1e-8) * np.eye(n)
        for jitter in (0.0, 1e-6, 1e-4, 1e-2):
            try:
                self.L_ = cholesky(K + jitter * np.eye(n), lower=True, check_finite=False)
                break
            except LinAlgError:
                continue
        else:
            raise ModelFitError("Cholesky failed after jitter")
        self.alpha_ = cho_solve((self.L_, True), ys)
        self.x_ = x
        return self

    def _refit_hyperparameters(self, x: np.ndarray, ys: np.ndarray) -> None:
        sq = self._scaled_sq(x, x, np.ones(self.n_groups))
        bounds = [LOG_BOUNDS_LENGTH] * self.n_groups + [LOG_BOUNDS_SIGNAL, LOG_BOUNDS_NOISE]
        start = np.clip(self.theta, [b[0] for b in bounds], [b[1] for b in bounds])
        result = minimize(self._neg_lml, start, args=(x, ys, sq), jac=True, method="L-BFGS-B",
                          bounds=bounds, options={"maxiter": self.max_iter})
        if np.all(np.isfinite(result.x)) and result.fun < 1e9:
            self.theta = result.x

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of the standardised loss at `x`."""
        ks = self._kernel(x, self.x_, self.theta)
        mean = ks @ self.alpha_
        v = solve_triangular(self.L_, ks.T, lower=True, check_finite=False)
        var = np.exp(self.theta[-2]) - np.einsum("ij,ij->j", v, v)
        return mean, np.sqrt(np.maximum(var, 1e-12))

    def standardise(self, y: float | np.ndarray) -> float | np.ndarray:
        return (y - self.mean_) / self.std_
