"""GRID, ANNEAL and EVOLUTION arms: on tables and without, in DIV portfolios and as single modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpo_mab.arms import ContinuousCandidates, TableCandidates, make_arm
from hpo_mab.arms.anneal import AnnealArm
from hpo_mab.arms.evolution import EvolutionArm, mutate
from hpo_mab.arms.grid import GridArm, grid_levels
from hpo_mab.cli import MODES
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.optimizer import Optimizer
from hpo_mab.runner import Settings, run_experiment
from hpo_mab.space import Param, Space

SPACE = Space([Param("x", "uniform", low=0.0, high=1.0), Param("n", "int", low=1, high=3),
               Param("c", "choice", values=("a", "b"))])


def add(history: History, space: Space, x: np.ndarray, loss: float | None, row: int | None = None) -> None:
    config = space.decode(x)
    history.append(Trial(run=0, number=len(history), arm="T", config=config, row=row,
                         state="complete" if loss is not None else "failed", value=loss, loss=loss),
                   space.encode(config))


def test_new_arms_are_modes_and_take_no_acquisition():
    for name in ("GRID", "ANNEAL", "EVOLUTION", "GP-HLE", "RF-HLE", "TPE-HLE"):
        assert name in MODES
    assert make_arm("grid").name == "GRID" and make_arm("anneal").name == "ANNEAL"
    with pytest.raises(HpoError, match="takes no acquisition"):
        make_arm("EVOLUTION", "EI")


def test_grid_levels_and_a_shuffled_grid_without_repeats():
    sizes = [len(b) for b in grid_levels(SPACE)]
    assert sizes == [5, 3, 2]  # 5 levels, an int with 3 values, both categories
    arm, cands, h, rng = GridArm(), ContinuousCandidates(SPACE), History(SPACE.n_dims), np.random.default_rng(0)
    seen = set()
    for i in range(30):
        nominee = arm.propose(SPACE, h, cands, rng)
        key = tuple(sorted(nominee.config.items()))
        assert key not in seen
        seen.add(key)
        add(h, SPACE, nominee.x, None if i == 4 else float(i))  # a failed point is not proposed again
    assert {c["n"] for c in map(dict, seen)} == {1, 2, 3}
    assert {c["x"] for c in map(dict, seen)} == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert "fallback" in arm.propose(SPACE, h, cands, rng).info  # the 30-point grid is done: random


def test_grid_on_a_table_visits_rows_in_a_seeded_order(tiny_table):
    cands = TableCandidates(tiny_table.space, tiny_table.encoded, tiny_table.config)
    orders = []
    for _ in range(2):
        arm, h, rng = GridArm(), History(tiny_table.space.n_dims), np.random.default_rng(5)
        rows = []
        for _ in range(tiny_table.n_rows):
            nominee = arm.propose(tiny_table.space, h, cands, rng)
            assert arm.propose(tiny_table.space, h, cands, rng).row == nominee.row  # unevaluated: proposed again
            rows.append(nominee.row)
            add(h, tiny_table.space, nominee.x, 0.0, row=nominee.row)
        orders.append(rows)
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(tiny_table.n_rows))
    assert orders[0] != sorted(orders[0])


def test_anneal_samples_inside_a_shrinking_window():
    space = Space([Param("x", "uniform", low=0.0, high=1.0)])
    arm, cands, rng = AnnealArm(), ContinuousCandidates(space), np.random.default_rng(0)
    assert arm.shrinking(0) == 1.0 and arm.shrinking(90) == pytest.approx(0.1)
    h = History(1)
    for _ in range(90):
        add(h, space, np.array([0.3]), 1.0)
    xs = np.array([arm.propose(space, h, cands, rng).x[0] for _ in range(200)])
    assert xs.min() >= 0.25 - 1e-12 and xs.max() <= 0.35 + 1e-12 and xs.std() > 0.02
    edge = History(1)
    for _ in range(10):
        add(edge, space, np.array([0.0]), 1.0)  # s = 0.5: the window [0, 0.5] is shifted inside the cube
    xs = np.array([arm.propose(space, edge, cands, rng).x[0] for _ in range(200)])
    assert xs.min() >= 0.0 and xs.max() <= 0.5 and xs.mean() == pytest.approx(0.25, abs=0.05)


def test_anneal_prefers_the_best_trials():
    space = Space([Param("c", "choice", values=tuple("abcdefgh"))])
    arm, cands, rng, h = AnnealArm(), ContinuousCandidates(space), np.random.default_rng(1), History(8)
    for i in range(40):
        add(h, space, np.eye(8)[i % 8], loss=float(i % 8))  # "a" is best, then "b", ...
    picks = [arm.propose(space, h, cands, rng).config["c"] for _ in range(300)]
    assert picks.count("a") > picks.count("b") > picks.count("h")


def test_mutation_changes_exactly_one_parameter():
    rng = np.random.default_rng(0)
    x = SPACE.encode({"x": 0.4, "n": 2, "c": "a"})
    for _ in range(50):
        child = SPACE.decode(mutate(SPACE, x, rng))
        changed = [k for k, v in child.items() if v != SPACE.decode(x)[k]]
        assert len(changed) == 1


def test_evolution_tournament_over_the_last_trials_only():
    space = Space([Param("x", "uniform", low=0.0, high=1.0), Param("c", "choice", values=("a", "b"))])
    arm, cands, rng, h = EvolutionArm(population=5, tournament=5), ContinuousCandidates(space), \
        np.random.default_rng(0), History(3)
    add(h, space, space.encode({"x": 0.9, "c": "b"}), -100.0)  # best ever, but it has aged out
    for i in range(5):
        add(h, space, space.encode({"x": 0.1 * (i + 1), "c": "a"}), float(i))  # youngest best: x = 0.1
    for _ in range(30):
        child = arm.propose(space, h, cands, rng).config
        assert (child["c"] == "a" and child["x"] != 0.1) or (child["c"] == "b" and child["x"] == pytest.approx(0.1))


@pytest.mark.parametrize("mode", ["GRID", "ANNEAL", "EVOLUTION", "TPE-HLE"])
def test_single_modes_on_a_table_never_repeat_a_row(mode, tiny_table, tmp_path):
    settings = Settings("tiny", 1, mode=mode, spec=None, max_trials=15, budget=1e9)
    summary = run_experiment(settings, tiny_table, tmp_path / mode)[0]
    assert summary.trials == 15 and summary.arm_counts.get(mode) == 10


def test_div_portfolio_of_new_arms_and_ask_tell_without_a_table():
    opt = Optimizer(SPACE, mode="DIV", spec="EG", seed=0, arms=[("GRID", None), ("ANNEAL", None),
                                                                ("EVOLUTION", None), ("GP-HLE", "EI")])
    for _ in range(16):
        config = opt.ask()
        SPACE.validate(config)
        opt.tell(config, (config["x"] - 0.3) ** 2 + 0.1 * config["n"])
    assert {t.arm for t in opt.history.trials} >= {"GRID", "ANNEAL", "EVOLUTION", "GP-HLE-EI"}
    assert math.isfinite(opt.best.value)
