"""Every model arm beats random search on Branin over several seeds at a fixed budget."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpo_mab import Optimizer, Param, Space
from hpo_mab.arms.gp import GaussianProcess

BRANIN = Space([Param("x1", "uniform", low=-5.0, high=10.0), Param("x2", "uniform", low=0.0, high=15.0)])
SEEDS = range(6)
BUDGET = 30


def branin(c: dict) -> float:
    x1, x2 = c["x1"], c["x2"]
    return ((x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)


def median_best(mode: str, spec: str | None) -> float:
    bests = []
    for seed in SEEDS:
        opt = Optimizer(BRANIN, mode=mode, spec=spec, direction="min", seed=seed)
        for _ in range(BUDGET):
            cfg = opt.ask()
            opt.tell(cfg, branin(cfg))
        bests.append(opt.best.value)
    return float(np.median(bests))


@pytest.fixture(scope="module")
def random_median() -> float:
    return median_best("RANDOM", None)


@pytest.mark.parametrize("mode, spec", [("GP", "EI"), ("GP", "PI"), ("GP", "UCB"), ("RF", "EI"), ("RF", "PI"),
                                        ("RF", "UCB"), ("TPE", None)])
def test_model_arm_beats_random_search_on_branin(mode, spec, random_median):
    assert median_best(mode, spec) < random_median


def test_ask_tell_records_failures_and_keeps_going():
    opt = Optimizer(BRANIN, mode="GP", spec="EI", seed=0)
    for i in range(12):
        cfg = opt.ask()
        opt.tell(cfg, None if i % 3 == 0 else (float("nan") if i % 3 == 1 else branin(cfg)))
    states = [t.state for t in opt.history.trials]
    assert states.count("failed") == 8 and opt.history.n_finished == 4
    assert opt.best is not None and math.isfinite(opt.best.value)


def test_gp_posterior_gradient_matches_finite_differences():
    """d(-log posterior)/d theta, analytic against central differences (likelihood and prior together)."""
    rng = np.random.default_rng(0)
    x, y = rng.random((15, 3)), rng.normal(size=15)
    gp = GaussianProcess(np.array([0, 1, 1]))
    sq = gp._scaled_sq(x, x)
    theta = np.array([np.log(0.3), np.log(0.7), 0.2, np.log(0.01)])
    _, grad = gp._neg_log_posterior(theta, y, sq)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric = (gp._neg_log_posterior(theta + step, y, sq)[0] - gp._neg_log_posterior(theta - step, y, sq)[0]) / 2e-6
        assert grad[i] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_tell_accepts_an_equal_configuration_and_refuses_strangers():
    opt = Optimizer(BRANIN, mode="TPE", seed=1)
    cfg = opt.ask()
    opt.tell(dict(cfg), branin(cfg))
    assert len(opt.history) == 1
    with pytest.raises(Exception, match="returned by ask"):
        opt.tell({"x1": 0.0, "x2": 0.0}, 1.0)
