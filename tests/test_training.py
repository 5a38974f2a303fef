"""Real torch training of the digits LeNet on tiny budgets."""

from __future__ import annotations

import math

import pytest
import torch

from hpo_mab.training import load_digits_split, train_lenet

SMALL = {"c1_depth": 4, "p1_size": 2, "c2_depth": 8, "p2_size": 2, "window_size": 3, "f1_width": 32,
         "learning_rate": 0.01, "reg_param": 1e-5, "keep_prop_rate": 0.9}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the builder's workers use: tiny models gain nothing from more, and extra
    OpenMP threads crawl when the cores are busy (e.g. while a table is being built)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_split_is_fixed_and_disjoint_sizes() -> None:
    d = load_digits_split()
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (1078, 359, 360)
    assert d.x_train.shape[1:] == (1, 8, 8) and float(d.x_train.max()) <= 1.0
    assert torch.equal(load_digits_split.__wrapped__().y_val, d.y_val)  # same split when rebuilt


def test_returns_per_epoch_lists_and_learns() -> None:
    out = train_lenet(SMALL, epochs=2, seed=0, device="cpu")
    assert set(out) == {"val_acc", "test_acc", "seconds", "cpu_seconds", "checkpoint"} and out["checkpoint"] is None
    assert all(len(out[k]) == 2 for k in ("val_acc", "test_acc", "seconds", "cpu_seconds"))
    assert all(0.0 <= a <= 1.0 for a in out["val_acc"] + out["test_acc"])
    assert 0 < out["seconds"][0] < out["seconds"][1] and 0 < out["cpu_seconds"][0] < out["cpu_seconds"][1]
    assert out["val_acc"][-1] > 0.5  # two epochs of Adam beat chance by far


def test_same_seed_same_curve_and_global_rng_untouched() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train_lenet(SMALL, epochs=1, seed=3, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)
    b = train_lenet(SMALL, epochs=1, seed=3, device="cpu")
    assert a["val_acc"] == b["val_acc"] and a["test_acc"] == b["test_acc"]


def test_report_stop_ends_training() -> None:
    seen: list[tuple[int, float]] = []

    def report(epoch: int, value: float) -> str | None:
        seen.append((epoch, value))
        return "stop" if epoch == 1 else None

    out = train_lenet(SMALL, epochs=5, seed=0, report=report, device="cpu")
    assert len(out["val_acc"]) == 1 and seen == [(1, out["val_acc"][0])]


def test_divergence_scores_chance_without_crashing() -> None:
    config = {**SMALL, "learning_rate": 1e12}
    out = train_lenet(config, epochs=1, seed=0, device="cpu")
    assert len(out["val_acc"]) == 1 and not math.isnan(out["val_acc"][0])
    assert out["val_acc"][0] <= 0.2


def test_pool_sizes_three_and_wide_windows_fit() -> None:
    config = {**SMALL, "p1_size": 3, "p2_size": 3, "window_size": 5, "c1_depth": 1, "c2_depth": 1, "f1_width": 4}
    assert len(train_lenet(config, epochs=1, seed=1, device="cpu")["val_acc"]) == 1
