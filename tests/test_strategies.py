"""Each strategy's mathematics on hand-made reward sequences, a conformance pass, same seed same journal."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hpo_mab.arms import Nominee
from hpo_mab.arms.outputs import OUTPUTS
from hpo_mab.cli import main
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.journal import read_journal
from hpo_mab.optimizer import Optimizer, build_portfolio
from hpo_mab.options import parse_arms
from hpo_mab.runner import Settings, run_experiment, strip_wall_clock
from hpo_mab.space import Param, Space
from hpo_mab.strategies import STRATEGIES, Budget, StrategyContext
from hpo_mab.strategies.epsilon_greedy import budget_epsilon, step_epsilon
from hpo_mab.strategies.gp_hedge import monotone_inverse
from hpo_mab.strategies.greedy_time import clock_epsilon, sqrt_epsilon
from hpo_mab.strategies.hedge import hedge_eta, mid_rank
from hpo_mab.strategies.knockout import phase_ends, ranks
from hpo_mab.surrogates.table import Metric

ACC = Metric("val_acc", "accuracy", "max")
SPACE = Space([Param("x", "uniform", low=0.0, high=1.0), Param("c", "choice", values=("a", "b"))])
ARMS3 = ["A", "B", "C"]


def context(**kw) -> StrategyContext:
    kw.setdefault("metric", ACC)
    return StrategyContext(SPACE, "max", **kw)


class Feed:
    """A history plus trials with chosen accuracies (plain reward = accuracy on an accuracy metric)."""

    def __init__(self) -> None:
        self.history = History(SPACE.n_dims)
        self.clock = 0.0

    def trial(self, arm: str, acc: float | None, seconds: float = 0.0, x=(0.5, 1.0, 0.0)) -> Trial:
        self.clock += seconds
        n = len(self.history)
        t = Trial(run=0, number=n, arm=arm, config={}, state="complete" if acc is not None else "failed",
                  value=acc, loss=None if acc is None else -acc, clock=self.clock)
        self.history.append(t, np.array(x))
        return t


def play(strategy, feed: Feed, rewards: dict[str, float], steps: int, rng) -> list[str]:
    chosen = []
    for _ in range(steps):
        arm = strategy.select(ARMS3, feed.history, rng)
        strategy.update(feed.trial(arm, rewards[arm]), feed.history)
        chosen.append(arm)
    return chosen


def test_hedge_orig_probabilities_equal_the_closed_form():
    s = STRATEGIES["HEDGE-ORIG"](context())
    feed, rng = Feed(), np.random.default_rng(0)
    s.select(ARMS3, feed.history, rng)
    gains = {"A": 0.0, "B": 0.0, "C": 0.0}
    for arm, acc in [("A", 0.9), ("B", 0.5), ("A", 0.8), ("C", 0.2)]:
        s.update(feed.trial(arm, acc), feed.history)
        gains[arm] += acc
    g = np.array([gains[a] for a in ARMS3])  # 1.7, 0.5, 0.2
    expected = np.exp(g - g.max()) / np.exp(g - g.max()).sum()
    assert s.probabilities() == pytest.approx(expected)
    assert s.state()["p"]["A"] == pytest.approx(expected[0], abs=1e-6)
    eta2 = STRATEGIES["HEDGE-ORIG"](context(options={"eta": 2.0}))
    eta2.select(ARMS3, feed.history, rng)
    eta2.gains[:] = g
    assert eta2.probabilities() == pytest.approx(np.exp(2 * g) / np.exp(2 * g).sum())


def test_hedge_centred_importance_weighted_gains_and_eta_schedule():
    assert hedge_eta(1, 3) == pytest.approx(math.sqrt(math.log(3) / 3))
    assert hedge_eta(4, 7) == pytest.approx(math.sqrt(math.log(7) / 28))
    assert mid_rank(0.7, [0.9, 0.7, 0.95]) == pytest.approx(0.5 / 3) and mid_rank(0.3, []) == 0.5
    s = STRATEGIES["HEDGE"](context())
    feed, rng = Feed(), np.random.default_rng(0)
    # rewards by step; u = mid-rank among the earlier rewards; b = mean of the earlier u (1/2 before any)
    steps = [(0.9, 0.5, 0.5), (0.7, 0.0, 0.5), (0.95, 1.0, 0.25), (0.7, 1 / 6, 0.5)]
    for t, (acc, u, b) in enumerate(steps, start=1):
        g = s.gains.copy() if t > 1 else np.zeros(3)
        eta = math.sqrt(math.log(3) / (t * 3))
        p = np.exp(eta * g) / np.exp(eta * g).sum()  # no uniform mixing
        if t > 1:
            assert s.probabilities() == pytest.approx(p)
        arm = s.select(ARMS3, feed.history, rng)
        i = ARMS3.index(arm)
        assert s.last_p[arm] == pytest.approx(p[i])
        s.update(feed.trial(arm, acc), feed.history)
        expected = g.copy()
        expected[i] += (u - b) / p[i]
        assert s.gains == pytest.approx(expected)
    assert s.baseline == pytest.approx((0.5 + 0 + 1 + 1 / 6) / 4)
    assert s.state()["eta"] == pytest.approx(math.sqrt(math.log(3) / 15), abs=1e-6)


def test_hedge_gains_do_not_grow_with_plays():
    """Equal arms: the arm played most does not run away (HEDGE-ORIG's raw gains do)."""
    shares_new, shares_orig = [], []
    for seed in range(10):
        for name, shares in (("HEDGE", shares_new), ("HEDGE-ORIG", shares_orig)):
            s = STRATEGIES[name](context())
            chosen = play(s, Feed(), {"A": 0.9, "B": 0.9, "C": 0.9}, 150, np.random.default_rng(seed))
            shares.append(max(chosen[-50:].count(a) for a in ARMS3) / 50)
    assert np.median(shares_orig) > 0.9  # one arm takes (almost) every step
    assert np.median(shares_new) < 0.7


def test_hedge_learns_the_best_arm():
    late = []
    for seed in range(5):
        s = STRATEGIES["HEDGE"](context())
        chosen = play(s, Feed(), {"A": 0.1, "B": 0.95, "C": 0.2}, 60, np.random.default_rng(seed))
        late.append(chosen[-20:].count("B"))
        assert s.probabilities()[1] > 0.6
    assert np.mean(late) >= 12


def test_exp3_importance_weights_and_mixing():
    s = STRATEGIES["EXP3"](context(options={"gamma": 0.3}))
    feed, rng = Feed(), np.random.default_rng(0)
    arm = s.select(ARMS3, feed.history, rng)
    assert s.probabilities() == pytest.approx([1 / 3] * 3)
    assert s.importance_weighted(arm, 0.6) == pytest.approx(0.6 * 3)
    s.update(feed.trial(arm, 0.6), feed.history)
    i = ARMS3.index(arm)
    # w_i <- w_i exp(gamma (x / p_i) / K) = exp(0.3 * 1.8 / 3)
    assert s.log_w[i] == pytest.approx(0.3 * 0.6 / (1 / 3) / 3)
    w = np.exp(s.log_w)
    assert s.probabilities() == pytest.approx(0.7 * w / w.sum() + 0.3 / 3)
    arm2 = s.select(ARMS3, feed.history, rng)
    p2 = s.probabilities()[ARMS3.index(arm2)]
    before = s.log_w.copy()
    s.update(feed.trial(arm2, 0.4), feed.history)
    assert s.log_w[ARMS3.index(arm2)] - before[ARMS3.index(arm2)] == pytest.approx(0.3 * (0.4 / p2) / 3)
    assert s.probabilities().min() >= 0.3 / 3 - 1e-12


def _nominees(xs: dict[str, tuple], rows: dict[str, int] | None = None) -> dict[str, Nominee]:
    return {a: Nominee(np.array(x, dtype=float), {}, None if rows is None else rows[a]) for a, x in xs.items()}


def test_gp_hedge_probabilities_and_true_value_gains():
    truth = {0: 0.9, 1: 0.5, 2: 0.99}
    s = STRATEGIES["BO-HEDGE-T"](context(oracle=lambda row: truth[row]))
    assert s.oracle and s.wants_nominees and s.eta == 0.1
    feed, rng = Feed(), np.random.default_rng(0)
    noms = _nominees({"A": (0.1, 1, 0), "B": (0.5, 1, 0), "C": (0.9, 0, 1)}, {"A": 0, "B": 1, "C": 2})
    arm = s.select(ARMS3, feed.history, rng, noms)
    s.update(feed.trial(arm, 0.7), feed.history, noms)
    s.update(feed.trial(arm, 0.7), feed.history, noms)
    assert s.gains == pytest.approx([1.8, 1.0, 1.98])  # every arm credits its own nominee, twice
    g = s.gains
    assert s.probabilities() == pytest.approx(np.exp(0.1 * g) / np.exp(0.1 * g).sum())
    let = STRATEGIES["BO-HEDGE-LET"](context(oracle=lambda row: truth[row]))
    let.select(ARMS3, feed.history, rng, noms)
    let.update(feed.trial(arm, 0.7), feed.history, noms)
    assert let.gains == pytest.approx([1.0, -math.log10(0.5), 2.0])


def test_gp_hedge_credits_every_nominee_with_one_gps_prediction():
    s = STRATEGIES["BO-HEDGE"](context())
    feed, rng = Feed(), np.random.default_rng(0)
    for x, acc in [(0.1, 0.6), (0.3, 0.7), (0.5, 0.9), (0.7, 0.8), (0.9, 0.5)]:
        feed.trial("INIT", acc, x=(x, 1.0, 0.0))
    noms = _nominees({"A": (0.5, 1, 0), "B": (0.5, 1, 0), "C": (0.95, 1, 0)})
    arm = s.select(ARMS3, feed.history, rng, noms)
    s.update(feed.trial(arm, 0.85, x=(0.45, 1.0, 0.0)), feed.history, noms)
    gp = s.fits.get("GP", "tail", feed.history, OUTPUTS["tail"](feed.history.y))  # the arms' shared fit
    mean, _ = gp.predict(np.vstack([noms[a].x for a in ARMS3]))
    predicted_loss = monotone_inverse(mean * gp.std_ + gp.mean_, OUTPUTS["tail"](feed.history.y), feed.history.y)
    judged = predicted_loss - s.bias * np.std(feed.history.y)  # less each arm's learnt bias
    assert s.gains == pytest.approx(-judged)  # plain reward of an accuracy = the accuracy
    assert np.count_nonzero(s.bias) == 1  # only the evaluated arm's bias is learnt (one error: its median)


def test_gp_hedge_learns_the_judges_bias_from_the_evaluated_nominee():
    s = STRATEGIES["BO-HEDGE"](context())
    feed, rng = Feed(), np.random.default_rng(0)
    for x, acc in [(0.1, 0.6), (0.3, 0.7), (0.5, 0.9), (0.7, 0.8), (0.9, 0.5)]:
        feed.trial("INIT", acc, x=(x, 1.0, 0.0))
    noms = _nominees({"A": (0.4, 1, 0), "B": (0.6, 1, 0), "C": (0.95, 1, 0)})
    scale = np.std(feed.history.y)
    arm = s.select(ARMS3, feed.history, rng, noms)
    before = s.nominee_losses(noms, feed.history)  # the judge's predictions before the evaluation
    assert before == pytest.approx(s._before)
    i = ARMS3.index(arm)
    s.update(feed.trial(arm, 0.2, x=tuple(noms[arm].x)), feed.history, noms)  # far worse than predicted
    assert s.bias[i] == pytest.approx((before[i] - (-0.2)) / scale)
    assert s.bias[i] < 0 and s.state()["bias"][arm] == pytest.approx(round(s.bias[i], 4), abs=1e-4)


def test_monotone_inverse_undoes_the_output_transform_on_the_data_and_extends_it_linearly():
    losses = np.array([0.2, 0.5, 3.0, 40.0, 0.21])
    targets = OUTPUTS["tail"](losses)
    assert monotone_inverse(targets, targets, losses) == pytest.approx(losses)
    low, high = monotone_inverse(np.array([targets.min() - 1.0, targets.max() + 1.0]), targets, losses)
    assert low < losses.min() and high > losses.max()


def test_gp_hedge_judges_with_the_portfolios_shared_fit():
    space = Space([Param("x", "uniform", low=0.0, high=1.0)])
    opt = Optimizer(space, mode="DIV", spec="BO-HEDGE", arms=[("GP", "EI"), ("TPE", None)], seed=0, n_init=3)
    assert opt.strategy.fits is opt.fits and opt.strategy.output == "tail"
    for _ in range(6):
        cfg = opt.ask()
        opt.tell(cfg, (cfg["x"] - 0.3) ** 2)
    assert set(opt.fits._models) == {("GP", "tail")}  # the GP arm and the judge: one model


def test_oracle_variants_need_a_table():
    with pytest.raises(HpoError, match="lookup tables only"):
        STRATEGIES["BO-HEDGE-T"](context())
    s = STRATEGIES["BO-HEDGE-LET"](context(oracle=lambda row: 0.5))
    feed = Feed()
    noms = _nominees({a: (0.5, 1, 0) for a in ARMS3})
    s.select(ARMS3, feed.history, np.random.default_rng(0), noms)
    with pytest.raises(HpoError, match="no table row"):
        s.update(feed.trial("A", 0.5), feed.history, noms)


def test_knockout_drops_the_worst_arm_after_each_period():
    s = STRATEGIES["SKO"](context(options={"period": 6}))
    feed, rng = Feed(), np.random.default_rng(0)
    chosen = play(s, feed, {"A": 0.9, "B": 0.5, "C": 0.7}, 6, rng)
    assert chosen == ["A", "B", "C", "A", "B", "C"]
    # step 1: A=.9 ranks 1, B and C untried share 2.5; step 2: A 1, B 2, C 3; steps 3-6: A 1, C 2, B 3
    assert s.sums == pytest.approx({"A": 6.0, "B": 2.5 + 2 + 12, "C": 2.5 + 3 + 8})
    assert s.remaining == ARMS3
    assert s.select(ARMS3, feed.history, rng) == "A"  # the 7th select knocks B out first
    assert s.remaining == ["A", "C"] and s.dropped == [(6, "B")]
    assert s.sums == {"A": 0.0, "C": 0.0}
    s.update(feed.trial("A", 0.9), feed.history)
    assert play(s, feed, {"A": 0.1, "B": 0.5, "C": 0.7}, 20, rng)[:4] == ["C", "A", "C", "A"]
    assert s.remaining == ["A", "C"]  # at least two arms stay


def test_knockout_ranks_use_the_latest_reward_of_each_arm():
    assert ranks(np.array([0.9, 0.5, 0.5, -np.inf])) == pytest.approx([1, 2.5, 2.5, 4])
    s = STRATEGIES["SKO"](context(options={"period": 100}))
    feed, rng = Feed(), np.random.default_rng(0)
    play(s, feed, {"A": 0.9, "B": 0.5, "C": 0.7}, 3, rng)
    s.sums = {a: 0.0 for a in ARMS3}
    s.select(ARMS3, feed.history, rng)
    s.update(feed.trial("A", 0.1), feed.history)  # A's latest is now 0.1; B, C keep 0.5 and 0.7
    assert s.sums == {"A": 3.0, "B": 2.0, "C": 1.0}


def test_knockout_phases_follow_successive_rejects():
    # logbar(3) = 1/2 + 1/2 + 1/3 = 4/3: phase 1 ends at 3/4 of the budget, phase 2 at the end
    assert phase_ends(3) == pytest.approx([0.75, 1.0])
    lb7 = 0.5 + sum(1 / i for i in range(2, 8))
    assert phase_ends(7) == pytest.approx([1 / lb7, (1 + 1 / 7) / lb7, (1 + 1 / 7 + 1 / 6) / lb7,
                                           (1 + 1 / 7 + 1 / 6 + 1 / 5) / lb7, (1 + 1 / 7 + 1 / 6 + 1 / 5 + 1 / 4) / lb7,
                                           1.0])
    s = STRATEGIES["SKO"](context(budget=Budget(max_trials=40)))
    feed, rng = Feed(), np.random.default_rng(0)
    for _ in range(4):
        feed.trial("INIT", 0.5)  # the initial design: the strategy's share is the 36 trials after it
    chosen = play(s, feed, {"A": 0.9, "B": 0.5, "C": 0.7}, 36, rng)
    assert chosen[:27] == ARMS3 * 9  # round-robin until 3/4 of the 36 steps
    assert s.dropped == [(27, "B")] and s.remaining == ["A", "C"]
    assert chosen[27:] == ["A", "C"] * 4 + ["A"]
    # ranks are summed once every arm has a reward: A 1, C 2, B 3 on each of steps 3-27
    assert s.state()["phase_ends"] == pytest.approx([0.75, 1.0])
    assert "period" not in s.state()


def test_knockout_by_time_budget_waits_for_every_arm():
    s = STRATEGIES["SKO"](context(budget=Budget(seconds=100.0)))
    feed, rng = Feed(), np.random.default_rng(0)
    feed.trial("INIT", 0.5, seconds=20.0)  # f0 = 0.2; phase 1 ends at 0.2 + 0.75 * 0.8 = 0.8 of the budget
    arm = s.select(ARMS3, feed.history, rng)
    s.update(feed.trial(arm, 0.9, seconds=70.0), feed.history)  # f = 0.9 but B and C are untried
    assert [s.select(ARMS3, feed.history, rng) for _ in range(1)] == ["B"] and s.remaining == ARMS3
    s.update(feed.trial("B", 0.5, seconds=1.0), feed.history)
    assert s.select(ARMS3, feed.history, rng) == "C"
    s.update(feed.trial("C", 0.7, seconds=1.0), feed.history)
    assert s.select(ARMS3, feed.history, rng) == "A" and s.remaining == ["A", "C"]


def test_epsilon_greedy_budget_schedule_and_untried_arms_first():
    assert [budget_epsilon(f) for f in (0.0, 0.05, 0.1, 0.2, 0.5, 1.0)] == pytest.approx(
        [1.0, 1.0, 1.0, 0.5, 0.2, 0.1])
    assert [step_epsilon(t, 7) for t in (0, 35, 70, 175, 350, 10_000)] == pytest.approx(
        [1.0, 1.0, 0.5, 0.2, 0.1, 0.0035])
    s = STRATEGIES["EG"](context(budget=Budget(max_trials=100)))
    feed, rng = Feed(), np.random.default_rng(0)
    first = play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 3, rng)
    assert sorted(first) == ARMS3  # each arm once before any epsilon draw
    assert s.state()["epsilon"] == pytest.approx(1.0) and s.state()["spent"] == pytest.approx(0.03)
    early = play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 12, rng)
    assert "B" in early  # exploration is over all arms, the greedy one included
    late = play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 85, rng)
    assert s.spent == pytest.approx(1.0) and s.epsilon() == pytest.approx(0.1)
    assert late[-40:].count("B") >= 32  # epsilon <= 0.17 over the last 40 steps
    assert s.means() == pytest.approx([0.2, 0.9, 0.5])


def test_epsilon_greedy_without_a_budget_counts_trials():
    s = STRATEGIES["EG"](context())
    feed, rng = Feed(), np.random.default_rng(1)
    play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 30, rng)
    assert s.spent is None and s.epsilon() == pytest.approx(0.5)  # 5K / t = 15 / 30
    s.steps = 150  # epsilon 15 / t: 0.1 down to 0.033 over the next 300 steps
    late = play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 300, rng)
    assert 0.92 < late.count("B") / 300 < 0.99  # 1 - mean epsilon 0.055 * 2/3 = 0.963 expected
    long = STRATEGIES["EG"](context(budget=Budget(max_trials=3000)))
    play(long, Feed(), {"A": 0.2, "B": 0.9, "C": 0.5}, 600, rng)
    assert long.epsilon() == pytest.approx(15 / 600)  # a long budget: Auer's 5K / t is below 0.1 / f = 0.5


def test_greedy_time_epsilon_against_the_budget():
    assert sqrt_epsilon(0.0, 0.1) == 1.0
    assert sqrt_epsilon(0.25, 0.1) == pytest.approx(1 / math.sqrt(1 + 99 / 4))
    assert sqrt_epsilon(1.0, 0.1) == pytest.approx(0.1)
    assert sqrt_epsilon(1.0, 0.2) == pytest.approx(0.2)
    s = STRATEGIES["GT"](context(budget=Budget(seconds=1000.0)))
    assert s.time_unit is None
    feed, rng = Feed(), np.random.default_rng(0)
    feed.trial("INIT", 0.5, seconds=200.0)  # f0 = 0.2
    play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 3, rng)
    feed.trial("A", 0.2, seconds=400.0)  # clock 600: f = (0.6 - 0.2) / 0.8 = 0.5
    s.select(ARMS3, feed.history, rng)
    assert s.spent == pytest.approx(0.5) and s.epsilon() == pytest.approx(1 / math.sqrt(1 + 99 / 2))
    no_budget = STRATEGIES["GT"](context())
    play(no_budget, Feed(), {"A": 0.2, "B": 0.9, "C": 0.5}, 9, rng)
    assert no_budget.epsilon() == pytest.approx(1 / math.sqrt(1 + 9 / 3))  # by trial count: 1/sqrt(1 + t/K)


def test_greedy_time_with_a_fixed_unit_replays_the_original_rule():
    assert clock_epsilon(0.0, 3600) == 1.0
    assert clock_epsilon(1.0, 3600) == pytest.approx(1 / math.sqrt(2))
    assert clock_epsilon(3600.0, 3600) == pytest.approx(1 / math.sqrt(2))
    assert clock_epsilon(3601.0, 3600) == pytest.approx(1 / math.sqrt(3))
    assert clock_epsilon(99 * 3600.0, 3600) == pytest.approx(0.1)
    assert clock_epsilon(1e9, 3600) == 0.1
    s = STRATEGIES["GT"](context(options={"time_unit": "30m"}, budget=Budget(seconds=100.0)))
    assert s.time_unit == 1800.0
    feed, rng = Feed(), np.random.default_rng(0)
    play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 3, rng)
    feed.trial("A", 0.2, seconds=3 * 1800.0)
    s.select(ARMS3, feed.history, rng)
    assert s.epsilon() == pytest.approx(1 / math.sqrt(4))  # the unit wins over the budget
    assert STRATEGIES["GT"](context(time_unit=3600.0)).time_unit == 3600.0
    with pytest.raises(HpoError):
        STRATEGIES["GT"](context(options={"time_unit": "soon"}))


def test_budget_fraction_of_time_trials_or_both():
    feed = Feed()
    assert Budget(seconds=100.0).spent(feed.history) == 0.0 and Budget().spent(feed.history) is None
    feed.trial("A", 0.5, seconds=30.0)
    feed.trial("A", 0.5, seconds=10.0)
    assert Budget(seconds=100.0).spent(feed.history) == pytest.approx(0.4)
    assert Budget(max_trials=10).spent(feed.history) == pytest.approx(0.2)
    assert Budget(seconds=100.0, max_trials=4).spent(feed.history) == pytest.approx(0.5)  # whichever ends first
    assert Budget(seconds=10.0).spent(feed.history) == 1.0
    for bad in (dict(seconds=0.0), dict(max_trials=0)):
        with pytest.raises(HpoError):
            Budget(**bad)


def test_only_oracle_variants_receive_the_oracle():
    calls = []

    def oracle(row: int) -> float:
        calls.append(row)
        return 0.5

    for name in STRATEGIES:
        s = STRATEGIES[name](context(oracle=oracle))
        assert (s.context.oracle is oracle) == (name in ("BO-HEDGE-T", "BO-HEDGE-LET")), name
    arms = [("RANDOM", None), ("TPE", None)]
    for spec, sees in (("HEDGE", False), ("EG", False), ("BO-HEDGE-T", True)):
        opt = Optimizer(SPACE, mode="DIV", spec=spec, direction="max", seed=0, arms=arms, metric=ACC,
                        oracle=oracle)
        assert (opt.strategy.context.oracle is not None) == sees


def test_the_runner_hands_its_budget_to_the_strategy(tiny_table, tmp_path):
    settings = Settings("tiny", 1, mode="DIV", spec="EG", max_trials=40, seed=0, arms=ARMS_SMALL, budget=400.0)
    run_experiment(settings, tiny_table, tmp_path / "o")
    records = read_journal(tmp_path / "o" / "journal.jsonl")
    spent = [r["info"]["strategy"]["spent"] for r in records if "strategy" in r["info"]]
    assert spent and spent[-1] > 0  # the journal records the budget fraction EG scheduled on
    assert all(0 <= f <= 1 for f in spent) and spent == sorted(spent)


def test_sequential_is_round_robin():
    s = STRATEGIES["SEQ"](context())
    assert play(s, Feed(), {"A": 0, "B": 0, "C": 0}, 5, np.random.default_rng(0)) == ["A", "B", "C", "A", "B"]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_conformance(name):
    cls = STRATEGIES[name]
    assert cls.name == name and cls.__doc__
    s = cls(context(oracle=lambda row: 0.5))
    feed, rng = Feed(), np.random.default_rng(0)
    for x in np.linspace(0.05, 0.95, 5):
        feed.trial("INIT", 0.5 + 0.4 * x, x=(x, 1.0, 0.0))
    global_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checks it is untouched
    for step in range(8):
        noms = _nominees({a: (0.1 + 0.3 * j, 1, 0) for j, a in enumerate(ARMS3)}, {a: j for j, a in enumerate(ARMS3)})
        noms = noms if cls.wants_nominees else None
        json.dumps(s.state())
        arm = s.select(ARMS3, feed.history, rng, noms)
        assert arm in ARMS3
        s.update(feed.trial(arm, None if step == 3 else 0.6), feed.history, noms)  # one failed trial
    assert np.array_equal(np.random.get_state()[1], global_state)  # noqa: NPY002 - no global random state
    assert json.loads(json.dumps(s.state())) == s.state()


ARMS_SMALL = [("RANDOM", None), ("TPE", None), ("GP", "EI"), ("EVOLUTION", None)]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_same_seed_same_journal(name, tiny_table, tmp_path):
    journals = []
    for out in ("a", "b"):
        settings = Settings("tiny", 1, mode="DIV", spec=name, max_trials=11, seed=3, arms=ARMS_SMALL,
                            budget=1e9)
        run_experiment(settings, tiny_table, tmp_path / out)
        journals.append(strip_wall_clock(read_journal(tmp_path / out / "journal.jsonl")))
    assert journals[0] == journals[1] and len(journals[0]) == 11
    assert any("strategy" in r["info"] for r in journals[0]) or name == "RANDOM"


def test_unknown_strategy_and_bad_portfolios_are_one_line_errors(tiny_table_dir, tmp_path, capsys):
    with pytest.raises(HpoError, match="unknown strategy 'NOPE'"):
        build_portfolio("DIV", "NOPE", [("TPE", None)], context())
    for items, msg in [([], "non-empty list"), ([{"model": "XGB"}], "unknown model 'XGB'"),
                       ([{"model": "TPE", "acq_func": "EI"}], "takes no acquisition"),
                       ([{"model": "GRID", "acq_func": "EI"}], "takes no acquisition"),
                       ([{"model": "GP"}], "needs an acquisition"), ([{"model": "GP-HLE"}], "GP-HLE needs"),
                       ([{"model": "RF", "acq_func": "XI"}], "unknown acquisition"),
                       ([{"model": "GP", "acq_func": "EI", "transform": "HLE"}], "unknown key")]:
        with pytest.raises(HpoError, match=msg):
            parse_arms(items, "conf")
    assert parse_arms([{"model": "gp-hle", "acq_func": "ei"}, {"model": "grid"}], "c") == [("GP-HLE", "EI"),
                                                                                            ("GRID", None)]
    rc = tmp_path / "rc"
    rc.mkdir()
    (rc / "bad.json").write_text(json.dumps({"arms": [{"model": "TPE", "acq_func": "UCB"}]}))
    code = main(["tiny", "1", "-m", "DIV", "-rc", str(rc), "-c", "bad.json", "--surrogates-dir", str(tiny_table_dir),
                 "-o", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "arms[0]: model TPE takes no acquisition" in err


def test_ask_tell_with_a_trial_budget_schedules_by_trial_count():
    arms = [("RANDOM", None), ("TPE", None)]
    opt = Optimizer(SPACE, mode="DIV", spec="GT", direction="max", seed=0, arms=arms, metric=ACC, n_init=5,
                    budget=Budget(max_trials=25))
    for _ in range(25):
        config = opt.ask()
        opt.tell(config, 0.5 + 0.4 * config["x"])
    # 20 strategy steps after the 5 initial trials: f = 19/20 at the last choice, 1 after it
    assert opt.strategy.spent == pytest.approx(1.0) and opt.strategy.epsilon() == pytest.approx(0.1)
    free = Optimizer(SPACE, mode="DIV", spec="GT", direction="max", seed=0, arms=arms, metric=ACC, n_init=5)
    for _ in range(9):
        config = free.ask()
        free.tell(config, 0.5)
    assert free.strategy.spent is None  # no budget: 1/sqrt(1 + t/K) by the strategy's step count
    assert free.strategy.epsilon() == pytest.approx(1 / math.sqrt(1 + 4 / 2))
