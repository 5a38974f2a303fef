"""Each strategy's mathematics on hand-made reward sequences, a conformance pass, same seed same journal."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hpo_mab.arms import Nominee
from hpo_mab.cli import main, parse_arms
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.journal import read_journal
from hpo_mab.optimizer import build_portfolio
from hpo_mab.runner import Settings, run_experiment, strip_wall_clock
from hpo_mab.space import Param, Space
from hpo_mab.strategies import STRATEGIES, StrategyContext
from hpo_mab.strategies.epsilon_greedy import step_epsilon
from hpo_mab.strategies.greedy_time import clock_epsilon
from hpo_mab.strategies.knockout import ranks
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


def test_hedge_probabilities_equal_the_closed_form():
    s = STRATEGIES["HEDGE"](context())
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
    eta2 = STRATEGIES["HEDGE"](context(options={"eta": 2.0}))
    eta2.select(ARMS3, feed.history, rng)
    eta2.gains[:] = g
    assert eta2.probabilities() == pytest.approx(np.exp(2 * g) / np.exp(2 * g).sum())


def test_hedge_learns_the_best_arm():
    s = STRATEGIES["HEDGE"](context())
    chosen = play(s, Feed(), {"A": 0.1, "B": 0.95, "C": 0.2}, 60, np.random.default_rng(1))
    assert chosen[-20:].count("B") >= 18


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
    mean, _ = s.gp.predict(np.vstack([noms[a].x for a in ARMS3]))
    predicted_acc = -(mean * s.gp.std_ + s.gp.mean_)
    assert s.gains == pytest.approx(predicted_acc)  # plain reward of an accuracy = the accuracy
    assert s.gains[0] == s.gains[1] and s.gains[0] > s.gains[2]


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


def test_epsilon_greedy_schedule_and_untried_arms_first():
    assert [step_epsilon(t, 7) for t in (0, 34, 35, 69, 70, 314, 315, 10_000)] == pytest.approx(
        [1.0, 1.0, 0.9, 0.9, 0.8, 0.2, 0.1, 0.1])
    s = STRATEGIES["EG"](context())
    feed, rng = Feed(), np.random.default_rng(0)
    first = play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 3, rng)
    assert sorted(first) == ARMS3  # each arm once before any epsilon draw
    assert s.state()["epsilon"] == 1.0
    later = play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 12, rng)
    assert "B" not in later  # epsilon = 1 for t < 5K: always explore among the non-greedy arms
    s.steps = 10 ** 4  # epsilon 0.1
    late = play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 200, rng)
    assert 0.8 < late.count("B") / 200 < 0.97
    assert s.means() == pytest.approx([0.2, 0.9, 0.5])


def test_greedy_time_epsilon_against_the_clock():
    assert clock_epsilon(0.0, 3600) == 1.0
    assert clock_epsilon(1.0, 3600) == pytest.approx(1 / math.sqrt(2))
    assert clock_epsilon(3600.0, 3600) == pytest.approx(1 / math.sqrt(2))
    assert clock_epsilon(3601.0, 3600) == pytest.approx(1 / math.sqrt(3))
    assert clock_epsilon(99 * 3600.0, 3600) == pytest.approx(0.1)
    assert clock_epsilon(1e9, 3600) == 0.1
    s = STRATEGIES["GT"](context(options={"time_unit": "30m"}))
    assert s.time_unit == 1800.0
    feed, rng = Feed(), np.random.default_rng(0)
    play(s, feed, {"A": 0.2, "B": 0.9, "C": 0.5}, 3, rng)
    feed.trial("A", 0.2, seconds=3 * 1800.0)
    assert s.epsilon(feed.history) == pytest.approx(1 / math.sqrt(4))
    assert STRATEGIES["GT"](context()).time_unit == 3600.0
    with pytest.raises(HpoError):
        STRATEGIES["GT"](context(options={"time_unit": "soon"}))


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
