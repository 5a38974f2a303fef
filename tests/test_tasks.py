"""The training-task registry and the regression MLP, trained for real on tiny budgets (diabetes, CPU)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hpo_mab.errors import HpoError
from hpo_mab.tasks import DATASETS_ENV, TASKS, datasets_dir, get_task
from hpo_mab.training.datasets import load_diabetes_split, load_kin8nm

BASE = get_task("diabetes-mlp").space().defaults()


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_registry_names_and_spaces():
    assert {"digits-lenet", "kin8nm-mlp", "protein-mlp", "diabetes-mlp"} <= set(TASKS)
    space = get_task("kin8nm-mlp").space()
    assert space.names == ["scaler", "shuffle", "weight_init", "batch_size", "loss", "optimizer", "layers", "units",
                           "activation", "regularizer", "dropout_rate", "learning_rate"]
    assert get_task("kin8nm-mlp").metric.direction == "min"
    with pytest.raises(HpoError, match="unknown training task 'nope'; expected one of digits-lenet"):
        get_task("nope")


def test_datasets_dir_option_environment_and_errors(tmp_path, monkeypatch):
    assert datasets_dir(tmp_path) == tmp_path
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path))
    assert datasets_dir() == tmp_path
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path / "missing"))
    with pytest.raises(HpoError, match=r"\$HPO_MAB_DATASETS .*missing: no such datasets directory"):
        datasets_dir()
    with pytest.raises(HpoError, match="no such dataset file"):
        get_task("kin8nm-mlp").data(tmp_path)


def _kin8nm_like(root, train_lines):
    """A kin8nm-shaped folder (8 inputs, the target, no header) made from sklearn's diabetes data."""
    d = load_diabetes_split()
    folder = root / "kin8nm"
    folder.mkdir(parents=True)
    for name, x, y in (("train", d.x_train, d.y_train), ("validation", d.x_val, d.y_val), ("test", d.x_test, d.y_test)):
        lines = [",".join(f"{v:.6g}" for v in (*row[:8], target)) for row, target in zip(x, y)]
        if name == "train":
            lines[2:2] = train_lines
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("bad", ["nan,1,1,1,1,1,1,1,1", "1,1,,1,1,1,1,1,1", "1,1,1,1,1,1,1,1,inf"])
def test_a_dataset_with_a_missing_or_non_finite_value_is_one_error_naming_the_line(tmp_path, bad):
    root = _kin8nm_like(tmp_path, [bad])
    with pytest.raises(HpoError, match=r"kin8nm/train\.csv: line 3 holds an empty or non-finite value") as info:
        load_kin8nm.__wrapped__(root)
    assert "\n" not in str(info.value)


def test_a_finite_kin8nm_like_folder_loads(tmp_path):
    d = load_kin8nm.__wrapped__(_kin8nm_like(tmp_path, []))
    assert d.sizes == (265, 89, 88) and d.x_train.shape[1] == 8


def test_diabetes_split_is_fixed_and_disjoint():
    d = load_diabetes_split()
    assert d.sizes == (265, 89, 88) and d.x_train.shape[1] == 10
    again = load_diabetes_split.__wrapped__()
    assert np.array_equal(again.y_val, d.y_val)


@pytest.mark.skipif(datasets_dir() is None, reason="no ../shared/datasets here")
def test_kin8nm_comes_split():
    d = load_kin8nm(datasets_dir())
    assert d.sizes == (6530, 824, 838) and d.x_train.shape[1] == 8


@pytest.mark.parametrize("change", [{}, {"regularizer": "batchnorm", "optimizer": "rmsprop", "loss": "mae"},
                                    {"regularizer": "dropout", "weight_init": "he_normal", "shuffle": False,
                                     "scaler": "robust", "activation": "tanh", "layers": 3},
                                    {"optimizer": "adadelta", "scaler": "maxabs", "weight_init": "uniform"},
                                    {"optimizer": "adagrad", "scaler": "minmax", "weight_init": "normal",
                                     "activation": "sigmoid", "batch_size": 256, "layers": 1}])
def test_mlp_trains_every_choice_and_learns(change):
    task, data = get_task("diabetes-mlp"), load_diabetes_split()
    out = task.train({**BASE, **change, "learning_rate": 0.01}, data, epochs=3, seed=0, device="cpu")
    assert len(out.values) == len(out.test) == len(out.seconds) == 3
    assert all(math.isfinite(v) and v > 0 for v in out.values + out.test)
    assert 0 < out.seconds[0] < out.seconds[-1]
    if not change:  # adam on standardised inputs learns fast: below the mean predictor (~77) after 3 epochs
        assert out.values[-1] < 65


def test_same_seed_same_curve_and_diverged_scores_the_mean_predictor():
    task, data = get_task("diabetes-mlp"), load_diabetes_split()
    a = task.train(BASE, data, epochs=2, seed=4, device="cpu")
    b = task.train(BASE, data, epochs=2, seed=4, device="cpu")
    assert a.values == b.values
    wild = {**BASE, "optimizer": "rmsprop", "learning_rate": 0.1, "loss": "mse", "layers": 5, "units": 100,
            "weight_init": "normal"}
    out = task.train(wild, data, epochs=2, seed=0, device="cpu")
    assert all(math.isfinite(v) for v in out.values)


def test_report_stop_pause_and_continue_from_the_checkpoint():
    task, data = get_task("diabetes-mlp"), load_diabetes_split()
    config = {**BASE, "regularizer": "dropout"}
    whole = task.train(config, data, epochs=3, seed=1, device="cpu")
    seen = []
    first = task.train(config, data, epochs=3, seed=1, device="cpu",
                       report=lambda e, v, s: seen.append((e, v, s)) or ("pause" if e == 1 else None))
    assert seen == [(1, first.values[0], first.seconds[0])] and first.checkpoint is not None
    rest = task.train(config, data, epochs=3, seed=1, device="cpu", checkpoint=first.checkpoint)
    assert first.values + rest.values == whole.values
    stopped = task.train(config, data, epochs=3, seed=1, device="cpu", report=lambda e, v, s: "stop")
    assert len(stopped.values) == 1 and stopped.checkpoint is None


def test_digits_lenet_pauses_and_continues_from_its_checkpoint_as_if_it_had_not_paused():
    task, data = get_task("digits-lenet"), get_task("digits-lenet").data(None)
    config = {"c1_depth": 4, "p1_size": 2, "c2_depth": 8, "p2_size": 2, "window_size": 3, "f1_width": 32,
              "learning_rate": 0.01, "reg_param": 1e-5, "keep_prop_rate": 0.7}  # dropout draws from the RNG
    whole = task.train(config, data, epochs=3, seed=2, device="cpu")
    first = task.train(config, data, epochs=3, seed=2, device="cpu", report=lambda e, v, s: "pause")
    assert len(first.values) == 1 and first.checkpoint is not None and not first.interrupted
    rest = task.train(config, data, epochs=3, seed=2, device="cpu", checkpoint=first.checkpoint)
    assert first.values + rest.values == whole.values and first.test + rest.test == whole.test
    assert rest.seconds[0] > first.seconds[0]  # seconds go on from the checkpoint's
    last = task.train(config, data, epochs=3, seed=2, device="cpu", report=lambda e, v, s: "pause" if e == 3 else None)
    assert len(last.values) == 3 and last.checkpoint is None  # nothing left to continue


def test_should_stop_ends_an_epoch_early():
    task, data = get_task("diabetes-mlp"), load_diabetes_split()
    out = task.train(BASE, data, epochs=3, seed=0, device="cpu", should_stop=lambda: True)
    assert out.interrupted and out.values == []


def test_lenet_task_reports_seconds():
    task = get_task("digits-lenet")
    seen = []
    config = {"c1_depth": 2, "p1_size": 2, "c2_depth": 4, "p2_size": 2, "window_size": 3, "f1_width": 8,
              "learning_rate": 0.01, "reg_param": 1e-5, "keep_prop_rate": 0.9}
    out = task.train(config, task.data(), epochs=1, seed=0, device="cpu",
                     report=lambda e, v, s: seen.append((e, v, s)))
    assert seen == [(1, out.values[0], out.seconds[0])] and task.metric.direction == "max"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_uses_cuda_when_available():
    from hpo_mab.backends.train import pick_device

    assert pick_device(None) == "cuda"
    task, data = get_task("diabetes-mlp"), load_diabetes_split()
    out = task.train(BASE, data, epochs=1, seed=0, device="cuda")
    assert math.isfinite(out.values[0])
