"""Every arm passes the same checks (issue 7): valid proposals on a space of every kind, never a visited
table row, the same proposals for the same seed, a journaled fallback when its model cannot be fitted; and
the model arms' pieces: shared fits, per-arm generators, options, log-EI and the GP's gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from hpo_mab import Optimizer, Param, Space
from hpo_mab.arms import ARMS, TableCandidates, make_arm
from hpo_mab.arms.acquisition import ACQUISITIONS, log_h
from hpo_mab.arms.gp import GaussianProcess
from hpo_mab.arms.outputs import OUTPUTS
from hpo_mab.arms.tpe import n_good
from hpo_mab.errors import HpoError
from tests.conftest import make_tiny_table

EVERY_KIND = Space([
    Param("u", "uniform", low=-1.0, high=2.0), Param("q", "quniform", low=0.0, high=10.0, step=2.5),
    Param("lu", "loguniform", low=1e-4, high=1.0), Param("ql", "qloguniform", low=1.0, high=1000.0, step=1.0),
    Param("i", "int", low=-3, high=40), Param("il", "intlog", low=1, high=512),
    Param("c", "choice", values=("relu", "tanh", "gelu")), Param("o", "ordered", values=(8, 16, 32, 64)),
])
ARM_SPECS = [(m, a) for m in ARMS for a in ((("EI", "PI", "UCB") if m in ("GP", "RF") else ("EI",))
                                           if m in ("GP", "RF", "GP-HLE", "RF-HLE") else (None,))]


def objective(c: dict) -> float:
    return ((c["u"] - 0.5) ** 2 + (c["q"] - 5) ** 2 / 25 + (math.log10(c["lu"]) + 2) ** 2 + c["i"] ** 2 / 400
            + math.log(c["il"]) / 6 + (c["c"] != "tanh") + abs(c["o"] - 32) / 32 + math.log10(c["ql"]) / 3)


def run_arm(model: str, acq: str | None, seed: int, steps: int = 14) -> list[dict]:
    opt = Optimizer(EVERY_KIND, mode="DIV", arms=[(model, acq)], seed=seed, n_init=6)
    configs = []
    for _ in range(steps):
        cfg = opt.ask()
        configs.append(cfg)
        opt.tell(cfg, objective(cfg))
    return configs


@pytest.mark.parametrize("model, acq", ARM_SPECS)
def test_every_arm_proposes_valid_configurations_and_is_deterministic(model, acq):
    first = run_arm(model, acq, seed=3)
    for cfg in first:
        EVERY_KIND.validate(cfg)
        assert isinstance(cfg["i"], int) and isinstance(cfg["il"], int)
    assert run_arm(model, acq, seed=3) == first
    assert run_arm(model, acq, seed=4) != first


@pytest.mark.parametrize("model, acq", ARM_SPECS)
def test_every_arm_never_repeats_a_table_row(model, acq):
    table = make_tiny_table(n_rows=40)
    opt = Optimizer(table.space, mode="DIV", arms=[(model, acq)], seed=1, direction="max", metric=table.metric,
                    candidates=TableCandidates(table.space, table.encoded, table.config))
    rows = []
    for _ in range(40):  # every row once, then the table is exhausted
        proposal = opt.propose()
        rows.append(proposal.nominee.row)
        assert proposal.nominee.config == table.config(proposal.nominee.row)
        opt.record(opt.make_trial(proposal, float(table.true_values[proposal.nominee.row])), proposal)
    assert sorted(rows) == list(range(40))


@pytest.mark.parametrize("model", ["GP", "RF"])
def test_a_model_that_cannot_be_fitted_falls_back_and_says_why(model):
    """Losses near the float limit overflow the standardisation: the arm proposes at random, journaled."""
    space = Space([Param("x", "uniform", low=0.0, high=1.0), Param("y", "uniform", low=0.0, high=1.0)])
    opt = Optimizer(space, mode=model, spec="EI", seed=0, n_init=3, arm_options={"gp_output": "raw",
                                                                                 "rf_output": "raw"})
    for value in (1.7e308, -1.7e308, 1.6e308):
        opt.tell(opt.ask(), value)
    proposal = opt.propose()
    assert "model fit failed" in proposal.info["fallback"]
    space.validate(proposal.config)


def test_three_gp_arms_share_one_fit_per_step():
    space = Space([Param("x", "uniform", low=0.0, high=1.0), Param("y", "uniform", low=0.0, high=1.0)])
    opt = Optimizer(space, mode="DIV", spec="BO-HEDGE", arms=[("GP", "EI"), ("GP", "PI"), ("GP", "UCB")],
                    seed=0, n_init=4)
    for _ in range(4):
        cfg = opt.ask()
        opt.tell(cfg, (cfg["x"] - 0.3) ** 2 + cfg["y"])
    before = opt.fits.fit_count
    for _ in range(3):
        cfg = opt.ask()  # every arm nominates: three GP arms, one fit
        opt.tell(cfg, (cfg["x"] - 0.3) ** 2 + cfg["y"])  # the judge scores them with the next step's fit
    assert opt.fits.fit_count - before == 4  # one fit per history length: 4, 5, 6 and 7 observations


def test_adding_an_arm_changes_no_other_arms_draws():
    alone = Optimizer(EVERY_KIND, mode="DIV", arms=[("TPE", None)], seed=5)
    beside = Optimizer(EVERY_KIND, mode="DIV", arms=[("RANDOM", None), ("TPE", None), ("RF", "EI")], seed=5)
    assert alone.arm_rngs["TPE"].random(4).tolist() == beside.arm_rngs["TPE"].random(4).tolist()


def test_arm_options_are_checked_and_used():
    with pytest.raises(HpoError, match="unknown arm option 'gp_out'"):
        make_arm("GP", "EI", options={"gp_out": "raw"})
    with pytest.raises(HpoError, match="unknown output transform 'logit'"):
        make_arm("GP", "EI", options={"gp_output": "logit"})
    with pytest.raises(HpoError, match="acq_starts"):
        make_arm("GP", "EI", options={"acq_starts": -1})
    assert make_arm("RF", "EI", options={"rf_output": "raw"}).output == "raw"
    assert make_arm("GP", "EI").output == "tail"


def test_output_transforms_keep_the_order_of_losses():
    y = np.array([3.0, 1e7, 0.2, 0.5, 2.0, 1e3, 0.21])
    for name, transform in OUTPUTS.items():
        out = transform(y)
        assert np.all(np.isfinite(out)), name
        assert np.array_equal(np.argsort(out, kind="stable"), np.argsort(y, kind="stable")), name
    tail = OUTPUTS["tail"](y)
    below = y <= np.median(y)
    assert np.allclose(tail[below], y[below]) and tail.max() < 1e4  # the bad tail is squashed, the good half kept


def test_log_h_matches_the_closed_form_and_stays_finite_in_the_far_tail():
    z = np.array([-30.0, -8.0, -3.0, -1.0, -0.5, 0.0, 1.5, 4.0])
    exact = np.log(z * norm.cdf(z) + norm.pdf(z))
    assert np.allclose(log_h(z), exact, rtol=1e-9)
    far = log_h(np.array([-1e3, -1e5, -1e8]))
    assert np.all(np.isfinite(far)) and np.all(np.diff(far) < 0)


@pytest.mark.parametrize("acq", sorted(ACQUISITIONS))
def test_acquisition_derivatives_match_finite_differences(acq):
    mean, std, eps = np.array([0.3, -1.0, 4.0]), np.array([0.5, 0.2, 0.3]), 1e-6
    value, by_mean, by_std = ACQUISITIONS[acq](mean, std, -0.5)
    assert np.allclose((ACQUISITIONS[acq](mean + eps, std, -0.5)[0] - value) / eps, by_mean, rtol=1e-3, atol=1e-5)
    assert np.allclose((ACQUISITIONS[acq](mean, std + eps, -0.5)[0] - value) / eps, by_std, rtol=1e-3, atol=1e-5)


def test_gp_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.random((15, 3))
    gp = GaussianProcess(np.array([0, 1, 1]), rng=rng).fit(x, np.sin(4 * x).sum(1))
    at = rng.random((4, 3))
    mean, std, d_mean, d_std = gp.predict_with_grad(at)
    assert np.allclose(gp.predict(at)[0], mean) and np.allclose(gp.predict(at)[1], std)
    for d in range(3):
        step = np.zeros(3)
        step[d] = 1e-6
        m2, s2 = gp.predict(at + step)
        assert np.allclose((m2 - mean) / 1e-6, d_mean[:, d], atol=1e-3)
        assert np.allclose((s2 - std) / 1e-6, d_std[:, d], atol=1e-3)


def test_gp_prior_keeps_length_scales_sane_with_few_points_in_many_dimensions():
    """MAP with priors at 10 points in 9 dimensions: no length scale collapses to its bound."""
    rng = np.random.default_rng(1)
    x = rng.random((10, 9))
    gp = GaussianProcess(np.arange(9), rng=rng).fit(x, x[:, 0] + 0.1 * rng.normal(size=10))
    assert np.all(gp.length_scales > 0.05) and gp.length_scales[0] < np.median(gp.length_scales[1:])


def test_tpe_split_sizes_follow_optuna_and_hyperopt():
    assert [n_good(n) for n in (2, 10, 11, 100, 1000)] == [1, 1, 2, 10, 25]
    assert [n_good(n, "sqrt") for n in (4, 16, 100)] == [1, 1, 3]
