from __future__ import annotations

import json

import numpy as np
import pytest

from hpo_mab.errors import HpoError
from hpo_mab.space import Param, Space, load_space, space_from_dict, space_to_dict

ALL_KINDS = [
    Param("u", "uniform", low=-2.0, high=3.0),
    Param("q", "quniform", low=0.0, high=1.0, step=0.25),
    Param("lu", "loguniform", low=1e-4, high=1e-1),
    Param("l2", "loguniform", low=1.0, high=1024.0, base=2),
    Param("ql", "qloguniform", low=0.0007, high=0.07, step=0.0001),
    Param("i", "int", low=1, high=7),
    Param("il", "intlog", low=1, high=1024),
    Param("is", "intlog", low=2, high=100, step=3),
    Param("c", "choice", values=("relu", 3, True)),
    Param("o", "ordered", values=(16, 32, 64)),
]


def test_every_kind_round_trips_through_the_encoding():
    space = Space(ALL_KINDS)
    rng = np.random.default_rng(0)
    for u in space.sobol(64, rng):
        config = space.decode(u)
        space.validate(config)
        again = space.decode(space.encode(config))
        for p in space.params:
            if isinstance(config[p.name], float):
                assert again[p.name] == pytest.approx(config[p.name], rel=1e-9)
            else:
                assert again[p.name] == config[p.name] and type(again[p.name]) is type(config[p.name])
        assert np.allclose(space.snap(u)[0], space.encode(config))


def test_encoding_shape_and_one_hot():
    space = Space(ALL_KINDS)
    assert space.n_dims == 8 + 3 + 1
    enc = space.encode({**space.decode(np.full(space.n_dims, 0.5)), "c": True})
    assert list(enc[8:11]) == [0.0, 0.0, 1.0]
    assert np.all((enc >= 0) & (enc <= 1))


def test_quantized_values_lie_on_the_step():
    p = Param("q", "qloguniform", low=0.0007, high=0.07, step=0.0001)
    for x in np.linspace(0, 1, 50):
        v = p.decode(np.array([x]))
        assert 0.0007 <= v <= 0.07
        assert abs((v - 0.0007) / 0.0001 - round((v - 0.0007) / 0.0001)) < 1e-6


def test_sobol_is_seeded():
    space = Space(ALL_KINDS)
    a = space.sobol(16, np.random.default_rng(1))
    b = space.sobol(16, np.random.default_rng(1))
    assert np.array_equal(a, b)


def test_serialisation_round_trip():
    space = Space(ALL_KINDS)
    again = space_from_dict(json.loads(json.dumps(space_to_dict(space))))
    assert again.params == space.params


def test_original_json_format(tmp_path):
    doc = {"dataset": "MNIST", "hyperparams": {
        "c1": {"type": "int", "value_type": "discrete", "range": [1, 350], "default": 32},
        "lr": {"type": "float", "value_type": "continuous", "range": [-4, 0], "power_of": 10},
        "act": {"type": "str", "value_type": "categorical", "range": ["relu", "tanh"]},
        "pool": {"type": "int", "value_type": "preordered", "range": [2, 3]},
        "keep": {"type": "float", "value_type": "continuous", "range": [0.1, 1.0]}}}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    space = load_space(path)
    kinds = {p.name: p.kind for p in space.params}
    assert kinds == {"c1": "int", "lr": "loguniform", "act": "choice", "pool": "ordered", "keep": "uniform"}
    lr = space.params[1]
    assert lr.low == pytest.approx(1e-4) and lr.high == pytest.approx(1.0)
    assert space.metadata["dataset"] == "MNIST"


def test_otx_yaml_format(tmp_path):
    path = tmp_path / "hpo_config.yaml"
    path.write_text("""
metric: accuracy
search_algorithm: asha
maximum_resource: 10
hp_space:
  learning_parameters.learning_rate:
    param_type: qloguniform
    range: [0.0007, 0.07, 0.0001]
  learning_parameters.batch_size:
    param_type: qloguniform
    range: [32, 128, 2]
  opt:
    param_type: choice
    range: [sgd, adam]
  wd:
    param_type: loguniform
    range: [0.0001, 0.1, 2]
""")
    space = load_space(path)
    assert [p.kind for p in space.params] == ["qloguniform", "intlog", "choice", "loguniform"]
    batch = space.params[1]
    assert (batch.low, batch.high, batch.step) == (32, 128, 2)
    assert space.params[3].base == 2
    assert space.metadata["mode"] == "max" and space.metadata["maximum_resource"] == 10


@pytest.mark.parametrize("spec, message", [
    ({"param_type": "gaussian", "range": [0, 1]}, "unknown param_type"),
    ({"param_type": "uniform", "range": [3, 1]}, "low < high"),
    ({"param_type": "uniform", "range": [1, 1]}, "low < high"),
    ({"param_type": "quniform", "range": [0, 1, "a"]}, "step"),
    ({"param_type": "uniform", "range": []}, "range"),
    ({"param_type": "choice", "range": []}, "range"),
    ({"param_type": "uniform", "range": ["a", 1]}, "finite number"),
    ({"range": [0, 1]}, "param_type"),
    ({"param_type": "loguniform", "range": [0, 1]}, "low > 0"),
])
def test_bad_otx_specs_raise_one_clear_error(tmp_path, spec, message):
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"hp_space": {"x": spec}}))
    with pytest.raises(HpoError, match=message) as err:
        load_space(path)
    assert "\n" not in str(err.value) and "bad.yaml" in str(err.value)


def test_missing_keys_and_bad_files(tmp_path):
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(HpoError, match="hyperparams"):
        load_space(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(HpoError, match="not valid JSON"):
        load_space(tmp_path / "b.json")
    with pytest.raises(HpoError, match="no such"):
        load_space(tmp_path / "missing.yaml")
    (tmp_path / "c.json").write_text(json.dumps({"hyperparams": {"x": {"type": "float", "range": [0, 1]}}}))
    with pytest.raises(HpoError, match="value_type"):
        load_space(tmp_path / "c.json")
