"""The resumable lookup-table builder on a tiny space: real training, 2 epochs, 1 worker."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hpo_mab.errors import HpoError
from hpo_mab.space import load_space
from hpo_mab.surrogates import builder
from hpo_mab.surrogates.table import load_table

TINY = {
    "hyperparams": {
        "c1_depth": {"type": "int", "value_type": "discrete", "range": [1, 4]},
        "p1_size": {"type": "int", "value_type": "preordered", "range": [2, 3]},
        "c2_depth": {"type": "int", "value_type": "discrete", "range": [1, 4]},
        "p2_size": {"type": "int", "value_type": "preordered", "range": [2, 3]},
        "window_size": {"type": "int", "value_type": "discrete", "range": [2, 3]},
        "f1_width": {"type": "int", "value_type": "discrete", "range": [4, 16]},
        "learning_rate": {"type": "float", "value_type": "continuous", "range": [-3, -1], "power_of": 10},
        "reg_param": {"type": "float", "value_type": "continuous", "range": [-6, -3], "power_of": 10},
        "keep_prop_rate": {"type": "float", "value_type": "continuous", "range": [0.5, 1.0]},
    }
}


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count (seed) trainings done by the builder's inline worker."""
    calls: list[int] = []
    real = builder.train_lenet

    def train(config: dict, epochs: int, seed: int, device: str | None = None) -> dict:
        calls.append(seed)
        return real(config, epochs=epochs, seed=seed, device="cpu")

    monkeypatch.setattr(builder, "train_lenet", train)
    return calls


def _build(space_file: Path, out: Path, **kw) -> object:
    args = {"n_configs": 4, "n_seeds": 1, "epochs": 2, "workers": 1, "out_dir": out, "sobol_seed": 0} | kw
    return builder.build_table("tiny", space_file, **args)


def test_builds_a_table_that_loads_back(space_file: Path, tmp_path: Path, counted: list[int]) -> None:
    _build(space_file, tmp_path)
    table = load_table(tmp_path / "tiny.npz")
    assert table.values.shape == table.seconds.shape == table.test.shape == (4, 1, 2)
    assert np.all((table.values >= 0) & (table.values <= 1)) and np.all(table.seconds > 0)
    space = load_space(space_file)
    expected = builder.sobol_configs(space, 4, 0)
    assert [table.config(i) for i in range(4)] == expected
    assert table.meta["sobol_index"] == [0, 1, 2, 3] and table.meta["complete"] is True
    assert table.metric.name == "val_acc" and table.metric.direction == "max"
    assert table.meta["build_command"].startswith("hpo-runner build-table tiny --space ")
    assert "cpu" in table.meta["hardware"] and table.meta["dataset"] == "sklearn digits 8x8"
    assert table.encoded.shape == (4, space.n_dims)
    assert len((tmp_path / "build" / "tiny.jsonl").read_text().splitlines()) == 4
    assert len(counted) == 4


def test_resume_skips_finished_rows_and_cuts_a_torn_line(space_file: Path, tmp_path: Path,
                                                         counted: list[int]) -> None:
    _build(space_file, tmp_path)
    log = tmp_path / "build" / "tiny.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text(lines[0] + lines[1] + lines[2][:30])  # two rows kept, the third torn mid-line
    counted.clear()
    _build(space_file, tmp_path)
    new = log.read_text().splitlines(keepends=True)
    assert len(counted) == 2 and new[:2] == lines[:2]
    assert sorted(json.loads(x)["row"] for x in new) == [0, 1, 2, 3]
    assert load_table(tmp_path / "tiny.npz").n_rows == 4
    counted.clear()
    _build(space_file, tmp_path)  # nothing left to do
    assert counted == [] and len(log.read_text().splitlines()) == 4


def test_more_seeds_later_trains_only_the_new_seed(space_file: Path, tmp_path: Path, counted: list[int]) -> None:
    _build(space_file, tmp_path, n_configs=2)
    counted.clear()
    table = _build(space_file, tmp_path, n_configs=2, n_seeds=2)
    assert counted == [1, 1] and table.values.shape == (2, 2, 2) and not np.isnan(table.values).any()


def test_pack_only_and_partial_table(space_file: Path, tmp_path: Path, counted: list[int]) -> None:
    _build(space_file, tmp_path, n_configs=2)
    counted.clear()
    table = _build(space_file, tmp_path, n_configs=4, pack_only=True)
    assert counted == [] and table.n_rows == 2 and table.meta["complete"] is False
    with pytest.raises(HpoError, match="no finished rows"):
        _build(space_file, tmp_path / "empty", pack_only=True)


def test_a_changed_sample_is_refused(space_file: Path, tmp_path: Path, counted: list[int]) -> None:
    _build(space_file, tmp_path, n_configs=2)
    with pytest.raises(HpoError, match="sobol-seed"):
        _build(space_file, tmp_path, n_configs=2, sobol_seed=1)


def test_bad_input_is_one_line_hpo_error(space_file: Path, tmp_path: Path) -> None:
    with pytest.raises(HpoError, match="seeds must be a positive integer"):
        builder.build_table_main(["tiny", "--space", str(space_file), "--seeds", "0", "--out-dir", str(tmp_path)])
    with pytest.raises(HpoError, match="no such search-space file"):
        builder.build_table_main(["tiny", "--space", str(tmp_path / "nope.json"), "--out-dir", str(tmp_path)])
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"hyperparams": {"c1_depth": TINY["hyperparams"]["c1_depth"]}}))
    with pytest.raises(HpoError, match="needs parameter"):
        builder.build_table_main(["tiny", "--space", str(partial), "--out-dir", str(tmp_path)])


def test_digits_lenet_space_loads() -> None:
    space = load_space(Path(__file__).resolve().parents[1] / "hp_conf" / "digits-lenet.json")
    assert space.names == list(builder.LENET_PARAMS)
    assert space.params[6].kind == "loguniform" and space.params[1].kind == "ordered"



def test_builds_a_regression_mlp_table_from_the_task_registry(tmp_path: Path) -> None:
    table = builder.build_table("dia", None, 3, 1, 2, 1, tmp_path, task="diabetes-mlp", device="cpu")
    again = load_table(tmp_path / "dia.npz")
    assert again.n_rows == 3 and again.n_epochs == 2 and again.metric.name == "val_rmse"
    assert again.metric.direction == "min" and np.isfinite(again.values).all() and np.isfinite(again.test).all()
    assert again.meta["task"] == "diabetes-mlp" and again.meta["data"]["split_seed"] == 0
    assert again.meta["hardware"]["device"] == "cpu" and "--task diabetes-mlp" in again.meta["build_command"]
    assert again.space.names == table.space.names
    record = json.loads((tmp_path / "build" / "dia.jsonl").read_text().splitlines()[0])
    assert {"val_rmse", "test_rmse", "cpu_seconds"} <= set(record) and record["device"] == "cpu"
    assert builder.build_table("dia", None, 3, 1, 2, 1, tmp_path, task="diabetes-mlp", device="cpu").n_rows == 3
    with pytest.raises(HpoError, match="unknown training task"):
        builder.build_table_main(["x", "--task", "nope", "--out-dir", str(tmp_path)])


def _good_record(tmp_path: Path) -> dict:
    builder.build_table("dia", None, 1, 1, 2, 1, tmp_path, task="diabetes-mlp", device="cpu")
    record = json.loads((tmp_path / "build" / "dia.jsonl").read_text().splitlines()[0])
    assert record["task"] == "diabetes-mlp"
    return record


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(task="kin8nm-mlp"), "was trained by task 'kin8nm-mlp', not 'diabetes-mlp'"),
    (lambda r: r.pop("config"), "lacks config"),
    (lambda r: r.update(seeds=0), "'seeds' must be a non-empty list"),
    (lambda r: r.update(seeds=["0"]), "'seeds' must be a non-empty list"),
    (lambda r: r.update(row=0.7), "'row' must be a non-negative integer"),
    (lambda r: r.update(val_rmse=[5]), "'val_rmse' must hold lists of finite numbers"),
    (lambda r: r.update(val_rmse=[["a", "b"]]), "'val_rmse' must hold lists of finite numbers"),
    (lambda r: r.update(cpu_seconds=[[-1.0, 2.0]]), "'cpu_seconds' must not be negative"),
])
def test_a_bad_build_record_is_one_line_and_the_file_is_kept(tmp_path: Path, change, message) -> None:
    record = _good_record(tmp_path)
    change(record)
    path = tmp_path / "build" / "dia.jsonl"
    path.write_text(json.dumps(record) + "\n")
    before = path.read_bytes()
    with pytest.raises(HpoError, match="dia.jsonl:1: not a build record of this table") as info:
        builder.build_table("dia", None, 2, 1, 2, 1, tmp_path, task="diabetes-mlp", device="cpu")
    assert message in str(info.value) and path.read_bytes() == before


def test_pack_only_keeps_a_last_line_without_its_newline(tmp_path: Path) -> None:
    record = _good_record(tmp_path)
    path = tmp_path / "build" / "dia.jsonl"
    path.write_text(json.dumps(record))  # no newline: torn, so not packed, but a pack does not cut it off
    with pytest.raises(HpoError, match="no finished rows"):
        builder.build_table("dia", None, 1, 1, 2, 1, tmp_path, task="diabetes-mlp", device="cpu", pack_only=True)
    assert path.read_text() == json.dumps(record)


def test_a_configuration_the_trainer_cannot_train_is_one_line_naming_the_row(tmp_path: Path) -> None:
    space = json.loads((Path(__file__).resolve().parents[1] / "hp_conf" / "regression-mlp.json").read_text())
    space["hyperparams"]["optimizer"].update(range=["sgd"], default="sgd")
    (tmp_path / "sgd.json").write_text(json.dumps(space))
    with pytest.raises(HpoError, match=r"row 0 \(.*\): the trainer failed \(ValueError: unknown optimizer 'sgd'"):
        builder.build_table("sgd", tmp_path / "sgd.json", 2, 1, 2, 1, tmp_path, task="diabetes-mlp", device="cpu")
