"""ASHA planned from a TIME budget: always 80-100% of it, hand-checked plans, one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.autoconfig import median_seconds_per_epoch, plan_asha, schedule_epochs
from hpo_mab.schedulers.brackets import asha_rungs


def check_plan(plan, budget_s, spe, R, headroom=0.0):
    """The invariants every plan keeps."""
    ladder = asha_rungs(plan.min_resource, R, plan.eta)
    assert [r for _, r in plan.rungs] == ladder
    assert [n for n, _ in plan.rungs] == [plan.n_trials // plan.eta**k for k in range(len(ladder))]
    assert plan.full_trials >= 1 and plan.rungs[-1][1] == R
    assert plan.planned_epochs == schedule_epochs(plan.n_trials, ladder, plan.eta)
    assert plan.planned_seconds == plan.planned_epochs * spe
    assert 0.8 * budget_s <= plan.planned_seconds <= budget_s * (1 - headroom)
    assert plan.eta in (2, 3, 4) and 1 <= plan.min_resource <= R
    # the largest n for its (eta, min_resource): one more trial would not fit
    assert schedule_epochs(plan.n_trials + 1, ladder, plan.eta) * spe > budget_s * (1 - headroom)
    assert plan.scheduler_options() == {"min_resource": plan.min_resource, "max_resource": R, "eta": plan.eta}


@settings(max_examples=300, deadline=None)
@given(R=st.integers(1, 120), spe=st.floats(0.01, 500.0), trials=st.floats(0.0, 60.0), extra=st.floats(0, 1))
def test_any_budget_of_two_full_trials_is_planned_within_80_to_100_percent(R, spe, trials, extra):
    # Budgets of at least max(2R, 4) epochs always have a plan (between 1.25 R and about 1.6 R none exists:
    # see test_the_gap_just_above_one_trial); and so do budgets of R to 1.25 R epochs (one full trial).
    epochs = max(2 * R, 4) * (1 + trials) if extra > 0.2 else R * (1 + extra)
    budget_s = epochs * spe
    plan = plan_asha(budget_s, spe, R)
    check_plan(plan, budget_s, spe, R)
    assert f"{100 * plan.fraction:.1f}%" in plan.explain() and "\n" not in plan.explain()


@settings(max_examples=200, deadline=None)
@given(R=st.integers(1, 120), spe=st.floats(0.01, 500.0), trials=st.floats(0.0, 60.0), headroom=st.floats(0, 0.1))
def test_headroom(R, spe, trials, headroom):
    # with up to 10% kept back, budgets of at least max(5R, 10) epochs are planned within 80% to 1 - headroom
    budget_s = max(5 * R, 10) * (1 + trials) * spe
    plan = plan_asha(budget_s, spe, R, headroom=headroom)
    check_plan(plan, budget_s, spe, R, headroom)
    assert plan.headroom == headroom and (headroom == 0 or "as headroom" in plan.explain())


def test_headroom_hand_checked():
    # 109 s at 0.5 s/epoch, 5% kept: 103.55 s = 207 epochs. eta=4, r_min=1 (1, 4, 15): n=87 costs
    # 87 + 21*3 + 5*11 = 205; n=88 costs 88 + 22*3 + 5*11 = 209.
    plan = plan_asha(109, 0.5, 15, headroom=0.05)
    assert (plan.n_trials, plan.eta, plan.planned_epochs) == (87, 4, 205)
    assert "80-95% of the budget" in plan.explain()


@pytest.mark.parametrize("R", [2, 3, 4, 9, 15, 27, 81])
def test_a_dense_grid_of_budgets(R):
    for spe in (0.37, 1.0, 12.5):
        for tenth in range(10 * max(2 * R, 4), 10 * 12 * R, max(1, R // 3)):
            budget_s = tenth / 10 * spe
            check_plan(plan_asha(budget_s, spe, R), budget_s, spe, R)


def test_hand_checked_r27():
    # 100 s at 1 s/epoch, R=27. eta=3, r_min=1: rungs 1, 3, 9, 27; n=35 costs 35*1 + 11*2 + 3*6 + 1*18 = 93,
    # n=36 costs 36 + 12*2 + 4*6 + 1*18 = 102. eta=2 needs n >= 32 (cost 107) and eta=4 n >= 64 (171): too
    # dear. eta=3, r_min=3 (3, 9, 27) gets 17 trials; eta=4, r_min=2 (2, 8, 27) 23. So 35 trials win.
    plan = plan_asha(100, 1.0, 27)
    assert (plan.n_trials, plan.eta, plan.min_resource) == (35, 3, 1)
    assert plan.rungs == [(35, 1), (11, 3), (3, 9), (1, 27)]
    assert (plan.planned_epochs, plan.planned_seconds, plan.fraction) == (93, 93.0, 0.93)


def test_hand_checked_digits_lenet_like():
    # 109 s at 0.5 s/epoch = 218 epochs, R=15 (digits-lenet). eta=4, r_min=1: rungs 1, 4, 15;
    # n=94: 94 + 23*3 + 5*11 = 218 (n=95: 219). eta=3, r_min=1 (1, 3, 9, 15) fits only 88:
    # 88 + 29*2 + 9*6 + 3*6 = 218; eta=2 about 74. So eta=4 with 94 trials, 5 of them at 15 epochs.
    plan = plan_asha(109, 0.5, 15)
    assert (plan.n_trials, plan.eta, plan.min_resource, plan.full_trials) == (94, 4, 1, 5)
    assert plan.rungs == [(94, 1), (23, 4), (5, 15)]
    assert plan.planned_epochs == 218 and plan.planned_seconds == 109.0


def test_fixed_eta_and_min_resource():
    # R=27, eta=3, r_min=3: rungs 3, 9, 27; n=17: 17*3 + 5*6 + 1*18 = 99; n=18: 54 + 36 + 36 = 126.
    plan = plan_asha(100, 1.0, 27, eta=3, min_resource=3)
    assert (plan.n_trials, plan.planned_epochs) == (17, 99)
    assert plan.rungs == [(17, 3), (5, 9), (1, 27)]
    assert "min_resource 3" in plan.explain()
    # r_min = R: plain full training, floor(200 / 15) = 13 trials, 195 epochs
    plan = plan_asha(200, 1.0, 15, min_resource=15)
    assert (plan.n_trials, plan.rungs, plan.planned_epochs) == (13, [(13, 15)], 195)
    assert "no early stopping" in plan.explain()
    assert plan_asha(200, 1.0, 15, eta=2).eta == 2


def test_one_full_trial_budget():
    # 16 epochs for R=15: n=1 full trial (15 epochs, 93.8%); nothing with early stopping fits (eta=2, r_min=8
    # needs 2 trials: 8 + 8 + 7 = 23 epochs).
    plan = plan_asha(16, 1.0, 15)
    assert (plan.n_trials, plan.min_resource, plan.rungs) == (1, 15, [(1, 15)])


def test_the_gap_just_above_one_trial():
    # 22.5 epochs, R=15: one full trial uses 66.7%; the cheapest plan with early stopping costs 23 epochs
    # (eta=2, r_min=8: two trials at 8, one promoted to 15); so budgets <= 15/0.8 = 18.75 or >= 23 work.
    with pytest.raises(HpoError) as info:
        plan_asha(22.5, 1.0, 15)
    text = str(info.value)
    assert "the closest uses 66.7%" in text and "at most 18.7 s or at least 23 s" in text and "\n" not in text
    assert plan_asha(23, 1.0, 15).planned_epochs == 23
    with pytest.raises(HpoError, match="none that sends a trial to max_resource fits; a budget of at least 39 s "
                                       r"works, or leave eta and min_resource free"):
        plan_asha(20, 1.0, 15, min_resource=1)  # r_min=1 needs n >= 16 (4 rungs at eta 2, 2 at eta 4): 39 epochs


@pytest.mark.parametrize("args, kwargs, message", [
    ((14, 1.0, 15), {}, "the time budget 14 s is less than one full-resource trial: 15 epochs x 1 s per epoch = 15 s"),
    ((0, 1.0, 15), {}, "'budget_s' must be a positive finite number, but got 0"),
    ((100, math.nan, 15), {}, "'seconds_per_epoch' must be a positive finite number, but got nan"),
    ((100, "1", 15), {}, "'seconds_per_epoch' must be a positive finite number, but got '1'"),
    ((100, 1.0, 0), {}, "'max_resource' must be an integer >= 1, but got 0"),
    ((100, 1.0, 15.0), {}, "'max_resource' must be an integer >= 1, but got 15.0"),
    ((100, 1.0, 15), {"eta": 1}, "'eta' must be an integer >= 2, but got 1"),
    ((100, 1.0, 15), {"min_resource": 16}, "'min_resource' must be <= max_resource (15), but got 16"),
    ((100, 1.0, 15), {"headroom": 0.2}, "'headroom' must be a number in [0, 0.2), but got 0.2"),
    ((16, 1.0, 15), {"headroom": 0.1}, "the time budget 16 s less 10% headroom is less than one full-resource"),
])
def test_bad_arguments(args, kwargs, message):
    with pytest.raises(HpoError) as info:
        plan_asha(*args, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_median_seconds_per_epoch():
    # rows: 15 epochs; row 0 ends at 30 s (2 s/epoch), row 1 at 15 s and 45 s over two seeds (mean 2),
    # row 2 at 150 s (10), row 3 only NaN (ignored). Median of 2, 2, 10 = 2.
    s = np.full((4, 2, 15), np.nan)
    s[0, 0, -1] = 30
    s[1, :, -1] = (15, 45)
    s[2, 1, -1] = 150
    assert median_seconds_per_epoch(s) == 2.0
    assert median_seconds_per_epoch(np.cumsum(np.ones((3, 5)), axis=1)) == 1.0  # (rows, epochs)
    with pytest.raises(HpoError, match="no positive recorded seconds"):
        median_seconds_per_epoch(np.full((2, 1, 3), np.nan))
    with pytest.raises(HpoError, match="must be a .rows, seeds, epochs. array"):
        median_seconds_per_epoch([1.0, 2.0])


def test_a_start_up_cost_is_planned_per_trial_start_and_continuation():
    # R=27, eta 3, min_resource 3 fixed: rungs 3, 9, 27. n trials cost 3n + 6 floor(n/3) + 18 floor(n/9) epochs
    # and n + floor(n/3) + floor(n/9) starts. At 1 s per epoch and 2 s per start, a 100 s budget:
    # n=9: 27 + 18 + 18 = 63 epochs, 9 + 3 + 1 = 13 starts: 89 s (89%); n=10: 30 + 18 + 18 = 66 + 2 * 14 = 94 s;
    # n=11: 33 + 18 + 18 = 69 + 2 * 15 = 99 s; n=12: 36 + 24 + 18 = 78 + 2 * 17 = 112 s > 100.
    plan = plan_asha(100, 1.0, 27, eta=3, min_resource=3, seconds_per_start=2.0)
    assert (plan.n_trials, plan.planned_epochs, plan.planned_seconds) == (11, 69, 99.0)
    assert plan.rungs == [(11, 3), (3, 9), (1, 27)]
    assert "15 starts or continuations x 2 s start-up = 99 s" in plan.explain()
    without = plan_asha(100, 1.0, 27, eta=3, min_resource=3)
    assert (without.n_trials, without.planned_seconds) == (17, 99.0)  # 51 + 30 + 18 epochs, no start-up
    with pytest.raises(HpoError, match="27 epochs x 1 s per epoch \\+ 5 s start-up = 32 s"):
        plan_asha(30, 1.0, 27, seconds_per_start=5.0)
