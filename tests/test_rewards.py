"""Rewards (plain, LE) and DEEP-BO's HLE transform at chosen points, including e = 0 and losses above 1."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from hpo_mab.arms import make_arm
from hpo_mab.arms.transforms import HLEArm, gaussian_copula, hle, hle_tau, hle_transform
from hpo_mab.history import History, Trial
from hpo_mab.strategies.rewards import Rewarder, error_of_loss, log_error, rank_reward
from hpo_mab.surrogates.table import Metric

ACC = Metric("val_acc", "accuracy", "max")
ACC_PERCENT = Metric("val_acc", "accuracy", "max", scale=100.0)
ERR = Metric("val_err", "error", "min")
LOSS = Metric("val_loss", "loss", "min")


def history_of(losses, n_init=None, values=None):
    """A History whose first `n_init` trials (default all) are the initial design."""
    h = History(1)
    n_init = len(losses) if n_init is None else n_init
    for i, loss in enumerate(losses):
        init = i < n_init
        value = loss if values is None else values[i]
        h.append(Trial(run=0, number=i, arm="INIT" if init else "X", config={}, state="init" if init else "complete",
                       value=value, loss=loss), np.zeros(1))
    return h


def test_error_of_a_trial_follows_the_metric():
    assert error_of_loss(-0.97, ACC) == pytest.approx(0.03)
    assert error_of_loss(-97.0, ACC_PERCENT) == pytest.approx(0.03)
    assert error_of_loss(0.03, ERR) == pytest.approx(0.03)
    assert error_of_loss(2.5, LOSS) == 2.5
    assert error_of_loss(2.5, None) == 2.5


def test_plain_and_le_rewards_of_bounded_errors():
    h = history_of([-0.9])
    plain, le = Rewarder(ACC, "plain"), Rewarder(ACC, "le")
    assert plain.reward(-0.97, h) == pytest.approx(0.97)
    assert le.reward(-0.97, h) == pytest.approx(-math.log10(0.03))  # 1.5229
    assert le.reward(-0.99, h) == pytest.approx(2.0)
    assert le.reward(-1.0, h) == pytest.approx(5.0)  # e = 0 -> floor 1e-5
    assert Rewarder(ACC_PERCENT, "le").reward(-99.0, h) == pytest.approx(2.0)
    assert Rewarder(ERR, "plain").reward(0.25, h) == pytest.approx(0.75)
    assert log_error(0.0) == pytest.approx(5.0)
    assert log_error(2.0) == pytest.approx(-math.log10(2.0))


def test_the_module_docstrings_worked_example_for_unbounded_losses():
    h = history_of([0.5, 0.8, 0.2, 0.4, 1.0, 0.05], n_init=5)
    le, plain = Rewarder(LOSS, "le"), Rewarder(LOSS, "plain")
    assert le.reward(0.05, h) == pytest.approx(1.0)  # 0.05 / median 0.5 = 0.1
    assert le.reward(1.0, h) == pytest.approx(-math.log10(2.0))  # losses above the median: negative
    assert le.reward(0.0, h) == pytest.approx(5.0)
    assert plain.reward(0.05, h) == 1.0
    assert plain.reward(1.0, h) == 0.0
    assert plain.reward(0.4, h) == pytest.approx(0.6)
    assert Rewarder(None, "le").reward(0.05, h) == pytest.approx(1.0)


def test_rank_reward_edges():
    assert rank_reward(3.0, np.array([3.0])) == 1.0
    assert rank_reward(-1.0, np.array([0.0, 1.0])) == 1.0
    assert rank_reward(9.0, np.array([0.0, 1.0])) == 0.0  # a prediction worse than every observation


def test_unfinished_trials_earn_the_worst_reward():
    h = history_of([0.5, 2.0])
    failed = Trial(run=0, number=2, arm="X", config={}, state="failed")
    assert Rewarder(LOSS, "plain").of_trial(failed, h) == 0.0
    assert Rewarder(ACC, "le").of_trial(failed, h) == 0.0
    assert Rewarder(LOSS, "le").of_trial(failed, h) == pytest.approx(-math.log10(2.0 / 1.25))


def test_le_without_a_metric_and_a_negative_median_falls_back_to_ranks():
    h = history_of([-0.9, -0.5, -0.7], values=[0.9, 0.5, 0.7])  # maximised values told without a Metric
    le = Rewarder(None, "le")
    assert le.reward(-0.9, h) == pytest.approx(5.0)  # best: rank reward 1 -> e = 0
    assert le.reward(-0.5, h) == pytest.approx(0.0)  # worst: e = 1


def test_hle_at_chosen_points():
    tau = 0.3
    assert hle(0.5, tau) == 0.5
    assert hle(tau, tau) == pytest.approx(tau)
    assert hle(tau - 1e-12, tau) == pytest.approx(tau)  # continuous at tau
    assert hle(0.03, tau) == pytest.approx(math.log10(0.03) + 0.3 - math.log10(0.3))  # -0.7
    assert hle(0.03, tau) == pytest.approx(-0.7)
    assert hle(0.0, tau) == pytest.approx(-5 + 0.3 - math.log10(0.3))  # e = 0: the 1e-5 floor
    assert hle(2.0, 1.5) == 2.0  # unbounded loss above 1 and above tau: linear
    assert hle(1.2, 1.5) == pytest.approx(math.log10(1.2) + 1.5 - math.log10(1.5))
    e = np.linspace(0.0, 1.0, 101)
    assert np.all(np.diff(hle(e, tau)) >= 0)  # monotone: the minimiser does not move


def test_hle_tau_and_transform_follow_the_metric():
    h = history_of([-0.9, -0.6, -0.8])
    assert hle_tau(h, ACC) == 0.3
    y = np.array([-0.9, -0.6])  # accuracies 0.9 and 0.6 -> errors 0.1 and 0.4
    assert hle_transform(h, ACC)[0](y) == pytest.approx([hle(0.1, 0.3), 0.4])
    lh = history_of([0.5, 0.8, 0.2, 0.4, 1.0, 3.0], n_init=5)
    assert hle_tau(lh, LOSS) == pytest.approx(0.5)
    expected = [3.0, math.log10(0.05) + 0.5 - math.log10(0.5)]
    assert hle_transform(lh, LOSS)[0](np.array([3.0, 0.05])) == pytest.approx(expected)
    assert hle_transform(h, None)[0](y) == pytest.approx(y)  # negative losses without a metric: identity


def test_hle_arms_are_registered_and_wrap_their_model():
    arm = make_arm("gp-hle", "ei", metric=ACC)
    assert isinstance(arm, HLEArm) and arm.name == "GP-HLE-EI" and arm.inner.model_name == "GP"
    assert make_arm("RF-HLE", "UCB").name == "RF-HLE-UCB"
    assert make_arm("TPE-HLE").name == "TPE-HLE"


def test_gaussian_copula_keeps_order_averages_ties_and_ignores_outliers():
    y = np.array([0.3, 0.1, 4e7, 0.2, 0.2])
    z = gaussian_copula(y)
    # ranks 4, 1, 5, 2.5, 2.5 -> Phi^-1((rank - 0.5) / 5)
    assert np.allclose(z, norm.ppf((np.array([4, 1, 5, 2.5, 2.5]) - 0.5) / 5))
    assert z[2] == pytest.approx(-z[1])  # the 4e7 outlier sits where any largest value would
    assert np.allclose(gaussian_copula(y * 1000 + 5), z)  # invariant to monotone rescaling


def test_gp_arms_model_their_output_transform_and_hle_arms_their_own():
    history = History(1)
    for i, loss in enumerate([0.5, 3.0, 1e6]):
        history.append(Trial(0, i, "X", {"a": i}, "complete", value=loss, loss=loss), np.array([i / 3]))
    assert np.allclose(make_arm("GP", "EI", options={"gp_output": "copula"})._targets(history)[0],
                       gaussian_copula(history.y))
    assert np.allclose(make_arm("RF", "EI", options={"rf_output": "raw"})._targets(history)[0], history.y)
    hle_arm = make_arm("GP-HLE", "EI")
    hle_arm.inner.transform, hle_arm.inner.transform_key = hle_transform(history, None)
    targets, key = hle_arm.inner._targets(history)
    assert np.allclose(targets, hle(history.y, float(np.median(history.y)))) and key.startswith("hle:")
