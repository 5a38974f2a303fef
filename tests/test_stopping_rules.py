"""The rule-based schedulers on crafted curves: MEDIAN, DEEP-BO's thresholds, EXTRAPOLATION.

Each rule: a trial that must stop (at the exact epoch) and one that must continue; the startup / warm-up options;
both metric directions (curves built as an accuracy and fed negated, as the runner does); determinism; options.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.base import Decision, Scheduler
from hpo_mab.schedulers.extrapolation import Extrapolation, predict_final
from hpo_mab.schedulers.median import MedianRule
from hpo_mab.schedulers.thresholds import DecaTercet, PentaTercet, TetraTercet, ThresholdRule


def run_trial(s: Scheduler, tid: int, curve: Sequence[float], state: str = "complete") -> int | None:
    """Report `curve` epoch by epoch as the runner does; the epoch the trial was stopped at, or None."""
    for epoch, loss in enumerate(curve, 1):
        if s.on_report(tid, epoch, loss) == Decision.STOP:
            s.on_end(tid, "stopped", epoch)
            return epoch
    s.on_end(tid, state, len(curve))
    return None


def run_all(s: Scheduler, curves: Sequence[Sequence[float]]) -> list[int | None]:
    return [run_trial(s, i, c) for i, c in enumerate(curves)]


def seed_history(s: Scheduler, curves: Sequence[Sequence[float]], state: str = "complete", first_id: int = 0) -> None:
    """Record finished trials whatever the rule would have decided for them (a known reference set)."""
    for i, curve in enumerate(curves, first_id):
        for epoch, loss in enumerate(curve, 1):
            s.on_report(i, epoch, loss)
        s.on_end(i, state, len(curve))


# ---------------------------------------------------------------------------------------------- MEDIAN
E_MED = 10
T = np.arange(1, E_MED + 1, dtype=float)
REFERENCE = [list(base + 1.0 / T) for base in (0.1, 0.2, 0.3, 0.4, 0.5)]  # median at epoch t: 0.3 + 1/t


def median_with(refs: Sequence[Sequence[float]] = REFERENCE, **options) -> MedianRule:
    s = MedianRule(E_MED, options)
    seed_history(s, refs)
    return s


def test_median_stops_at_the_exact_epoch_and_keeps_a_good_trial():
    # constant 0.8: median 1.3 at epoch 1, 0.8 at epoch 2 (not strictly worse), 0.633 at epoch 3
    assert run_trial(median_with(), 99, [0.8] * E_MED) == 3
    assert run_trial(median_with(), 99, list(0.2 + 1.0 / T)) is None
    # the best value so far counts, not the current one: a trial that was good once survives a bad epoch
    assert run_trial(median_with(), 99, [0.5] + [2.0] * (E_MED - 1)) == 6  # median 0.5 at 5, 0.467 at 6


def test_median_startup_warmup_interval_and_min_trials():
    bad = [0.8] * E_MED
    assert run_trial(median_with(REFERENCE[:4]), 99, bad) is None  # 4 complete < n_startup_trials 5
    assert run_trial(median_with(REFERENCE[:4], n_startup_trials=4), 99, bad) == 2  # median of 4 at 2: 0.75
    assert run_trial(median_with(n_warmup_steps=5), 99, bad) == 5
    assert run_trial(median_with(interval_steps=2), 99, bad) == 4  # checks at 1 (first report), 2, 4, ...
    assert run_trial(median_with(n_warmup_steps=4, interval_steps=3), 99, bad) == 4
    # checks at 5 and 8 only: 0.45 < median 0.5 at 5, > 0.467 at 6 and 0.443 at 7 (unchecked), > 0.425 at 8
    assert run_trial(median_with(n_warmup_steps=5, interval_steps=3), 99, [0.45] * E_MED) == 8
    assert run_trial(median_with(n_min_trials=6), 99, bad) is None


def test_median_counts_complete_trials_and_stopped_ones_only_on_request():
    s = median_with()
    seed_history(s, [[10.0] * 3] * 5, "stopped", first_id=10)  # stopped after 3 epochs at a very bad loss
    seed_history(s, [[0.0]], "paused", first_id=20)
    seed_history(s, [[0.0] * 5], "failed", first_id=21)
    assert run_trial(s, 99, [0.8] * E_MED) == 3  # Optuna: only complete trials count

    s = median_with(count_stopped=True)
    seed_history(s, [[10.0] * 3] * 5, "stopped", first_id=10)
    # epoch 3: median of 5 complete + 5 stopped values is large; epoch 4: the stopped ones did not reach it
    assert run_trial(s, 99, [0.8] * E_MED) == 4


def test_median_all_nan_trial_is_stopped():
    assert run_trial(median_with(), 99, [math.nan] * E_MED) == 1


def optuna_stop_epochs(curves, direction, **options) -> list[int | None]:
    """Optuna's own MedianPruner on the same curves (step = epoch), pruned trials told PRUNED."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, pruner=optuna.pruners.MedianPruner(**options))
    out = []
    for curve in curves:
        trial = study.ask()
        stopped = None
        for epoch, value in enumerate(curve, 1):
            trial.report(float(value), epoch)
            if epoch < len(curve) and trial.should_prune():
                stopped = epoch
                break
        if stopped is None:
            study.tell(trial, float(curve[-1]))
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        out.append(stopped)
    return out


@pytest.mark.parametrize("options", [{}, {"n_startup_trials": 3, "n_warmup_steps": 2, "interval_steps": 3},
                                     {"n_startup_trials": 0, "interval_steps": 2, "n_min_trials": 4}])
def test_median_matches_optuna_in_both_directions(options):
    rng = np.random.default_rng(7)
    acc = [0.5 + rng.uniform(0, 0.4) * (1 - T ** -rng.uniform(0.3, 1.5)) + rng.normal(0, 0.02, E_MED)
           for _ in range(25)]
    ours_max = run_all(MedianRule(E_MED, options), [list(-a) for a in acc])  # a maximised metric, negated
    assert ours_max == optuna_stop_epochs(acc, "maximize", **options)
    loss = [list(1.0 - a) for a in acc]
    assert run_all(MedianRule(E_MED, options), loss) == optuna_stop_epochs(loss, "minimize", **options)
    assert any(e is not None for e in ours_max) and any(e is None for e in ours_max)


# ------------------------------------------------------------------------------------- DEEP-BO thresholds
def thresholds_with(cls=PentaTercet, levels=(0.1, 0.2, 0.3, 0.4, 0.5), E=10, **options):
    options.setdefault("first_check", "drop_worst")  # the reference code's first check (the default is the issue's)
    s = cls(E, options)
    seed_history(s, [[lv] * E for lv in levels])  # window means = levels
    return s


def test_threshold_check_epochs():
    assert [c[0] for c in DecaTercet(15).checks()] == [7, 13]
    assert [c[0] for c in PentaTercet(15).checks()] == [7, 12]
    assert [c[0] for c in TetraTercet(15).checks()] == [7, 11]
    assert [c[0] for c in DecaTercet(27).checks()] == [13, 24]
    assert [c[0] for c in PentaTercet(27).checks()] == [13, 21]
    assert [c[0] for c in TetraTercet(27).checks()] == [13, 20]
    assert PentaTercet(10).checks() == [(5, 1, 0.2), (8, 5, 0.2)]  # (epoch, window start, quantile level)
    assert PentaTercet(10, {"first_check": "drop_worst"}).checks() == [(5, 1, 0.8), (8, 5, 0.2)]


def test_threshold_stops_at_the_exact_epochs():
    # PentaTercet, E=10: epoch 5 threshold quantile(levels, 0.8) = 0.42; epoch 8 quantile(levels, 0.2) = 0.18
    assert run_trial(thresholds_with(), 99, [0.45] * 10) == 5
    assert run_trial(thresholds_with(), 99, [0.41] * 10) == 8
    assert run_trial(thresholds_with(), 99, [0.17] * 10) is None
    assert run_trial(thresholds_with(), 99, [0.9] * 4 + [0.15] * 6) is None  # the current value counts
    # the literal wording: outside the best fraction p at E/2 too
    assert run_trial(thresholds_with(first_check="keep_best"), 99, [0.41] * 10) == 5


def test_threshold_min_trials_and_which_earlier_trials_count():
    assert run_trial(thresholds_with(levels=(0.1, 0.2)), 99, [0.9] * 10) is None
    assert run_trial(thresholds_with(levels=(0.1, 0.2), min_trials=2), 99, [0.9] * 10) == 5
    s = thresholds_with(levels=(0.1, 0.2))
    seed_history(s, [[0.0] * 6], "paused", first_id=50)  # paused: left out
    seed_history(s, [[0.0] * 4], "stopped", first_id=51)  # stopped before the first window's end: left out
    assert run_trial(s, 99, [0.9] * 10) is None
    seed_history(s, [[0.3] * 5], "stopped", first_id=52)  # stopped at 5: counts in the first window
    assert run_trial(s, 99, [0.9] * 10) == 5


def deepbo_reference(history: list[list[float]], acc: list[float], p: float, E: int) -> int | None:
    """The authors' rule on accuracies (larger is better), rewritten from its description: the stop epoch."""
    e1, e2 = E // 2, math.floor(E * (1 - p) + 1e-9)
    for epoch, lo, hi, pct in ((e1, 1, e1, 100 * p), (e2, e1, e2, 100 * (1 - p))):
        means = [np.mean(h[lo - 1:hi]) for h in history if len(h) >= hi]
        if len(means) >= 3 and acc[epoch - 1] < np.percentile(means, pct):
            return epoch
    return None


@pytest.mark.parametrize("cls", [DecaTercet, PentaTercet, TetraTercet])
def test_threshold_mirrors_the_accuracy_rule(cls):
    rng = np.random.default_rng(3)
    E = 15
    t = np.arange(1, E + 1)
    curves = [list(0.4 + rng.uniform(0, 0.5) * (1 - t ** -rng.uniform(0.3, 2.0)) + rng.normal(0, 0.01, E))
              for _ in range(30)]
    s = cls(E, {"first_check": "drop_worst"})  # the reference code's reading, which deepbo_reference follows
    history, expected, got = [], [], []
    for i, acc in enumerate(curves):
        stop = deepbo_reference(history, acc, cls.p, E)
        expected.append(stop)
        history.append(acc if stop is None else acc[:stop])
        got.append(run_trial(s, i, [-a for a in acc]))
    assert got == expected
    assert {e for e in got} >= {None, E // 2, s.second_epoch}


# ------------------------------------------------------------------------------------------ EXTRAPOLATION
E_EX = 27
TX = np.arange(1, E_EX + 1, dtype=float)
NOISE = np.random.default_rng(11).normal(0, 0.004, E_EX)
INCUMBENT = list(0.25 + 0.75 * TX ** -0.5 + NOISE)  # final ~0.39
BAD = list(0.60 + 0.40 * TX ** -0.5 + NOISE[::-1])  # final ~0.68: clearly worse
GOOD = list(0.05 + 0.95 * TX ** -0.6 + NOISE)  # final ~0.19: clearly better


def extrapolation_with(**options) -> Extrapolation:
    s = Extrapolation(E_EX, options)
    run_trial(s, 0, INCUMBENT)
    return s


def test_extrapolation_stops_a_bad_curve_and_continues_a_good_one():
    assert extrapolation_with().min_epochs == 5
    assert run_trial(extrapolation_with(), 1, BAD) == 5
    s = extrapolation_with()
    assert run_trial(s, 2, GOOD) is None
    forecast = s.last_prediction[2]
    assert abs(forecast.mean - GOOD[-1]) < 0.03 and forecast.prob_below(INCUMBENT[-1]) > 0.95


def test_extrapolation_schedule_and_nothing_to_beat():
    assert run_trial(extrapolation_with(min_epochs=8), 1, BAD) == 8
    assert run_trial(extrapolation_with(min_epochs=6, interval=4), 1, BAD) == 6
    assert run_trial(extrapolation_with(threshold=0.0), 1, BAD) is None
    s = Extrapolation(E_EX)
    assert run_trial(s, 1, BAD) is None  # no complete trial: nothing to beat
    seed_history(s, [[0.0] * 20], "stopped", first_id=3)  # a stopped trial is no incumbent
    assert run_trial(s, 4, BAD) is None


def test_extrapolation_on_a_maximised_metric_fed_negated():
    acc_inc = 0.90 - 0.50 * TX ** -0.7 + NOISE
    acc_bad = 0.70 - 0.40 * TX ** -0.7 + NOISE
    acc_good = 0.95 - 0.60 * TX ** -0.7 + NOISE
    s = Extrapolation(E_EX)
    assert run_trial(s, 0, list(-acc_inc)) is None
    assert run_trial(s, 1, list(-acc_bad)) == 5
    assert run_trial(s, 2, list(-acc_good)) is None


def test_predict_final_guards():
    assert predict_final([0.5, 0.4, 0.35], E_EX) is None  # too few points for two families
    assert predict_final([], E_EX) is None
    flat = predict_final([0.3] * 6, E_EX)
    assert flat.mean == 0.3 and flat.std == 0.0
    with_nan = predict_final(BAD[:8] + [math.nan] + BAD[9:12], E_EX)
    assert with_nan is not None and math.isfinite(with_nan.mean) and with_nan.std > 0
    # affine equivariance: a shifted and scaled curve gives the shifted and scaled forecast
    a, b = predict_final(BAD[:10], E_EX), predict_final([3 * v - 1 for v in BAD[:10]], E_EX)
    assert b.mean == pytest.approx(3 * a.mean - 1, abs=1e-6) and b.std == pytest.approx(3 * a.std, rel=1e-4)


# ---------------------------------------------------------------------------------- all rules: shared
RULES = [MedianRule, DecaTercet, PentaTercet, TetraTercet, Extrapolation]


def random_curves(seed: int, n: int, E: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    t = np.arange(1, E + 1)
    return [list(rng.uniform(0.1, 0.6) + rng.uniform(0.2, 1.0) * t ** -rng.uniform(0.2, 1.5)
                 + rng.normal(0, 0.01, E)) for _ in range(n)]


@pytest.mark.parametrize("cls", RULES)
def test_same_inputs_same_decisions(cls):
    curves = random_curves(5, 12, 15)
    options = {"min_trials": 2} if issubclass(cls, ThresholdRule) else {}
    first, again = run_all(cls(15, options), curves), run_all(cls(15, options), curves)
    assert first == again
    assert any(e is not None for e in first) and first[0] is None  # the rule acts, and never on the first trial


@pytest.mark.parametrize("cls", RULES)
def test_only_continue_or_stop_and_the_last_epoch_completes(cls):
    s = cls(15)
    for i, curve in enumerate(random_curves(9, 8, 15)):
        for epoch, loss in enumerate(curve, 1):
            decision = s.on_report(i, epoch, loss)
            assert decision in (Decision.CONTINUE, Decision.STOP)
            if decision == Decision.STOP:
                s.on_end(i, "stopped", epoch)
                break
        else:
            assert decision == Decision.CONTINUE
            s.on_end(i, "complete", 15)


@pytest.mark.parametrize("cls, options, message", [
    (MedianRule, {"n_startup_trial": 5}, "unknown option 'n_startup_trial'"),
    (MedianRule, {"n_startup_trials": -1}, "'n_startup_trials' must be an integer >= 0, but got -1"),
    (MedianRule, {"n_warmup_steps": 1.5}, "'n_warmup_steps' must be an integer >= 0"),
    (MedianRule, {"interval_steps": 0}, "'interval_steps' must be an integer >= 1, but got 0"),
    (MedianRule, {"n_min_trials": True}, "'n_min_trials' must be an integer >= 1, but got True"),
    (MedianRule, {"count_stopped": "yes"}, "'count_stopped' must be true or false, but got 'yes'"),
    (PentaTercet, {"p": 0.3}, "unknown option 'p'"),
    (DecaTercet, {"min_trials": 0}, "'min_trials' must be an integer >= 1, but got 0"),
    (TetraTercet, {"first_check": "median"}, "'first_check' must be one of drop_worst, keep_best"),
    (Extrapolation, {"threshold": 1.5}, "'threshold' must be a number in [0.0, 1.0], but got 1.5"),
    (Extrapolation, {"threshold": "0.1"}, "'threshold' must be a number"),
    (Extrapolation, {"min_epochs": 0}, "'min_epochs' must be an integer >= 1, but got 0"),
    (Extrapolation, {"interval": 2.0}, "'interval' must be an integer >= 1, but got 2.0"),
    (Extrapolation, {"families": ["pow3", "pow5"]}, "'families' must be distinct names from pow3"),
    (Extrapolation, {"families": []}, "'families' must be distinct names"),
    (Extrapolation, {"families": "pow3", "min_families": 2}, "'min_families' must be at most the number of"),
])
def test_bad_options_are_one_line_errors(cls, options, message):
    with pytest.raises(HpoError) as info:
        cls(15, options)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_good_options_are_taken():
    s = Extrapolation(15, {"families": "pow3, exp3,weibull", "min_families": 3, "threshold": 0, "interval": 2})
    assert s.families == ("pow3", "exp3", "weibull") and s.threshold == 0.0 and s.min_epochs == 3
    assert MedianRule(15, {"n_startup_trials": 0, "count_stopped": True}).reference_ids() == []
    assert (DecaTercet.name, PentaTercet.name, TetraTercet.name) == ("DECATERCET", "PENTATERCET", "TETRATERCET")
    assert (MedianRule.name, Extrapolation.name) == ("MEDIAN", "EXTRAPOLATION")
