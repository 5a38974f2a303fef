"""Standard test functions for the arms' benchmark (`synthetic.py`), as search spaces with known optima.

Development functions, used to choose the arms' defaults (issue 7): Branin, Hartmann3, Hartmann6, Levy5,
Ackley5, Rosenbrock4, Styblinski-Tang8, and mixed variants: Branin with an integer x2, Hartmann6 with its
last coordinate a categorical of five levels, Ackley5 with two integer coordinates. Formulas and optima
from Surjanovic & Bingham's Virtual Library of Simulation Experiments (sfu.ca/~ssurjano). Where a variant
moves the optimum (Branin-int, Hartmann6-cat), it is computed here by a dense or multi-start search.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.optimize import minimize

from hpo_mab import Param, Space

_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
                  [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
H6_LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)


def branin(x: np.ndarray) -> float:
    x1, x2 = x
    return float((x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
                 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)


def hartmann(x: np.ndarray, a: np.ndarray, p: np.ndarray) -> float:
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(a * (np.asarray(x) - p) ** 2, axis=1))))


def levy(x: np.ndarray) -> float:
    w = 1 + (np.asarray(x) - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def ackley(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    d = len(x)
    return float(-20 * math.exp(-0.2 * math.sqrt(np.sum(x * x) / d)) - math.exp(np.sum(np.cos(2 * math.pi * x)) / d)
                 + 20 + math.e)


def rosenbrock(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def styblinski_tang(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


@dataclass(frozen=True)
class Problem:
    """A function of a configuration over a Space, with its minimum over that space."""

    name: str
    space: Space
    objective: Callable[[dict], float]
    optimum: float


def _box(name: str, d: int, low: float, high: float, f: Callable[[np.ndarray], float], optimum: float) -> Problem:
    names = [f"x{i}" for i in range(d)]
    space = Space([Param(n, "uniform", low=low, high=high) for n in names])
    return Problem(name, space, lambda c: f(np.array([c[n] for n in names])), optimum)


@cache
def _branin_int_optimum() -> float:
    x1 = np.linspace(-5, 10, 200001)
    best = math.inf
    for x2 in range(16):
        v = ((x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
             + 10 * (1 - 1 / (8 * math.pi)) * np.cos(x1) + 10)
        best = min(best, float(v.min()))
    return best


@cache
def _hartmann6_cat_optimum() -> float:
    rng = np.random.default_rng(0)
    best = math.inf
    for level in H6_LEVELS:
        for start in rng.random((30, 5)):
            res = minimize(lambda z, lv=level: hartmann(np.append(z, lv), _H6_A, _H6_P), start,
                           bounds=[(0, 1)] * 5, method="L-BFGS-B")
            best = min(best, float(res.fun))
    return best


def problems() -> dict[str, Problem]:
    out = [
        _box("branin", 2, 0.0, 1.0, lambda u: branin(np.array([-5 + 15 * u[0], 15 * u[1]])), 0.397887357729738),
        _box("hartmann3", 3, 0.0, 1.0, lambda x: hartmann(x, _H3_A, _H3_P), -3.86278214782076),
        _box("hartmann6", 6, 0.0, 1.0, lambda x: hartmann(x, _H6_A, _H6_P), -3.32236801141551),
        _box("levy5", 5, -10.0, 10.0, levy, 0.0),
        _box("ackley5", 5, -32.768, 32.768, ackley, 0.0),
        _box("rosenbrock4", 4, -5.0, 10.0, rosenbrock, 0.0),
        _box("styblinski8", 8, -5.0, 5.0, styblinski_tang, -39.16616570377142 * 8),
    ]
    branin_int = Space([Param("x1", "uniform", low=-5.0, high=10.0), Param("x2", "int", low=0, high=15)])
    out.append(Problem("branin-int", branin_int, lambda c: branin(np.array([c["x1"], c["x2"]])),
                       _branin_int_optimum()))
    h6 = [Param(f"x{i}", "uniform", low=0.0, high=1.0) for i in range(5)]
    h6.append(Param("x5", "choice", values=tuple(f"level{k}" for k in range(len(H6_LEVELS)))))
    out.append(Problem("hartmann6-cat", Space(h6),
                       lambda c: hartmann(np.array([*(c[f"x{i}"] for i in range(5)),
                                                    H6_LEVELS[int(c["x5"][-1])]]), _H6_A, _H6_P),
                       _hartmann6_cat_optimum()))
    ack = [Param(f"x{i}", "uniform", low=-32.768, high=32.768) for i in range(3)]
    ack += [Param(f"k{i}", "int", low=-10, high=10) for i in range(2)]
    out.append(Problem("ackley5-int", Space(ack),
                       lambda c: ackley(np.array([c["x0"], c["x1"], c["x2"], c["k0"], c["k1"]])), 0.0))
    return {p.name: p for p in out}
