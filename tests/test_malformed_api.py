"""Issue 9: bad search-space files and bad Python API calls raise one clear HpoError; nothing is used up."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import yaml

from hpo_mab import HpoError, Optimizer, Param, Space, load_space
from hpo_mab.defaults import DEFAULT_ARMS
from hpo_mab.space import space_from_dict, space_to_dict

SPACE = Space([Param("lr", "loguniform", low=1e-4, high=1e-1), Param("units", "intlog", low=8, high=256),
               Param("act", "choice", values=("relu", "tanh"))])


def _original(tmp_path, spec: dict, name: str = "s.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"hyperparams": {"x": spec}}))
    return path


@pytest.mark.parametrize("spec, message", [
    ({"type": "int", "value_type": "discrete", "range": [1, 10], "default": 11}, "default 11 is not a valid value"),
    ({"type": "float", "value_type": "continuous", "range": [0, 1], "default": 2}, "default 2 is not a valid value"),
    ({"type": "str", "value_type": "categorical", "range": ["a", "b"], "default": "c"}, "default 'c'"),
    ({"type": "float", "value_type": "continuous", "range": [-4, -1], "power_of": 10, "default": 0}, "default"),
    ({"type": "int", "value_type": "discrete", "range": [0.5, 3], "power_of": 2}, "integer exponents"),
    ({"type": "int", "value_type": "discrete", "range": [0, 3.5], "power_of": 2}, "integer exponents"),
    ({"type": "str", "value_type": "continuous", "range": [0, 1]}, "needs type int or float"),
    ({"type": "int", "value_type": "categorical", "range": ["a", "b"]}, "type is int, but the value 'a' is not"),
    ({"type": "float", "value_type": "discrete", "range": [1, 5]}, "discrete holds integers"),
    ({"type": "int", "value_type": "categorical", "range": [1, 1.0]}, "type is int, but the value 1.0"),
    ({"type": "float", "value_type": "categorical", "range": [1, 1.0]}, "values must be distinct"),
    ({"type": "str", "value_type": "categorical", "range": "abc"}, "'range' must be a list"),
    ({"type": "float", "value_type": "continuous", "range": [-400, 400], "power_of": 10}, "not a positive finite"),
    ({"type": "float", "value_type": "continuous", "range": [0, 1], "power_of": 1}, "power_of must be"),
    ({"type": "float", "value_type": "continuous", "range": [0, 1, 2]}, "'range' must be a list of 2"),
    ({"type": "float", "value_type": "continuous", "range": [0, 1], "defualt": 0.5}, "unknown key(s) ['defualt']"),
    ({"type": "int", "value_type": "continuous", "range": [-1, 2], "power_of": 10}, "integer bounds"),
    ({"type": "int", "value_type": "discrete", "range": [0, 10], "log": True}, "low >= 1"),
    ({"type": "int", "value_type": "discrete", "range": [1, 10], "log": "yes"}, "log must be true or false"),
    ({"type": "int", "value_type": "discrete", "range": [-1e9, 1e9], "power_of": 2}, "fewer than 10,000"),
])
def test_bad_original_json_parameters(tmp_path, spec, message):
    with pytest.raises(HpoError) as err:
        load_space(_original(tmp_path, spec))
    text = str(err.value)
    assert message in text and "s.json: hyperparams.x" in text and "\n" not in text


@pytest.mark.parametrize("spec, message", [
    ({"param_type": "quniform", "range": [0, 1, 5]}, "step must not exceed"),
    ({"param_type": "qloguniform", "range": [1, 10, 20]}, "step must not exceed"),
    ({"param_type": "choice", "range": [1, 1.0]}, "values must be distinct"),
    ({"param_type": "choice", "range": "abc"}, "'range' must be a list"),
    ({"param_type": "choice", "range": [[1], [2]]}, "values must be strings, finite numbers or booleans"),
    ({"param_type": "uniform", "range": [0, 1, 2]}, "'range' must be a list of 2"),
    ({"param_type": "uniform", "range": [0, 1], "default": 0.5}, "unknown key(s) ['default']"),
    ({"param_type": "uniform", "range": [0, 1e308 * 10]}, "finite number"),
    ({"param_type": "uniform", "range": [-1.5e308, 1.5e308]}, "too wide"),
])
def test_bad_otx_parameters(tmp_path, spec, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"hp_space": {"x": spec}}))
    with pytest.raises(HpoError) as err:
        load_space(path)
    assert message in str(err.value) and "bad.yaml" in str(err.value) and "\n" not in str(err.value)


def test_bad_search_space_documents(tmp_path):
    cases = {
        "order.json": ({"hyperparams": {"a": {"value_type": "continuous", "range": [0, 1]}}, "param_order": ["a", "a"]},
                       "param_order must name each"),
        "subset.json": ({"hyperparams": {"a": {"value_type": "continuous", "range": [0, 1]},
                                         "b": {"value_type": "continuous", "range": [0, 1]}}, "param_order": ["a"]},
                        "param_order must name each"),
        "twice.yaml": ({"hp_space": [{"a": {"param_type": "uniform", "range": [0, 1]}},
                                     {"a": {"param_type": "uniform", "range": [0, 2]}}]}, "more than once"),
    }
    for name, (doc, message) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
        with pytest.raises(HpoError, match=message):
            load_space(path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(HpoError, match="cannot read"):
        load_space(tmp_path / "bin.yaml")


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="choice", values="abc"), "values must be a list"),
    (dict(kind="choice", values=(1, 1.0)), "values must be distinct"),
    (dict(kind="ordered", values=(2, 2)), "values must be distinct"),
    (dict(kind="int", low=1, high=5, default=7), "default 7"),
    (dict(kind="int", low=1, high=5, default=2.5), "default 2.5"),
    (dict(kind="quniform", low=0, high=1, step=2), "step must not exceed"),
    (dict(kind="uniform", low=0, high=1, step=0.1), "takes no step"),
    (dict(kind="uniform", values=(1, 2)), "takes low/high, not values"),
    (dict(kind="intlog", low=0, high=10), "low >= 1"),
    (dict(kind="intlog", low=1, high=10, step=1.5), "intlog step must be an integer"),
    (dict(kind="intlog", low=1.5, high=10), "bounds must be integers"),
])
def test_bad_params_in_the_api(kwargs, message):
    with pytest.raises(HpoError, match=message.replace("(", r"\(")):
        Param("x", **kwargs)


def test_intlog_is_an_integer_on_a_log_scale():
    p = Param("units", "intlog", low=1, high=1024)
    values = [p.decode(np.array([u])) for u in np.linspace(0, 1, 2001)]
    assert all(type(v) is int and 1 <= v <= 1024 for v in values)
    assert np.median(values) == pytest.approx((0.5 * 1024.5) ** 0.5, abs=1)  # the log middle, not 512
    assert set(range(1, 9)) <= set(values)
    for v in (1, 2, 17, 1000, 1024):
        assert p.decode(p.encode(v)) == v
    stepped = Param("b", "intlog", low=2, high=100, step=3)
    assert {stepped.decode(np.array([u])) for u in np.linspace(0, 1, 500)} <= set(range(2, 99, 3))
    space = Space([p, stepped])
    u = space.sobol(64, np.random.default_rng(0))
    snapped = space.snap(u)
    assert np.allclose(snapped, space.encode_many([space.decode(x) for x in u]))
    assert np.allclose(space.snap(snapped), snapped)
    assert space_from_dict(json.loads(json.dumps(space_to_dict(space)))).params == space.params


def test_intlog_in_both_file_formats(tmp_path):
    doc = {"hyperparams": {
        "units": {"type": "int", "value_type": "discrete", "range": [8, 256], "log": True, "default": 64},
        "batch": {"type": "int", "value_type": "continuous", "range": [4, 9], "power_of": 2, "default": 5},
        "pow2": {"type": "int", "value_type": "discrete", "range": [2, 5], "power_of": 2, "default": 3}}}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    space = load_space(tmp_path / "s.json")
    units, batch, pow2 = space.params
    assert (units.kind, units.low, units.high, units.default) == ("intlog", 8, 256, 64)
    assert (batch.kind, batch.low, batch.high, batch.default) == ("intlog", 16, 512, 32)
    assert pow2.kind == "ordered" and pow2.values == (4, 8, 16, 32) and pow2.default == 8
    (tmp_path / "o.yaml").write_text("hp_space:\n  bs: {param_type: qloguniform, range: [8, 512, 1]}\n"
                                     "  lr: {param_type: qloguniform, range: [0.001, 0.1, 0.001]}\n")
    bs, lr = load_space(tmp_path / "o.yaml").params
    assert (bs.kind, bs.low, bs.high, bs.step) == ("intlog", 8, 512, None) and lr.kind == "qloguniform"
    opt = Optimizer(Space([bs]), mode="RANDOM", seed=0)
    for _ in range(8):
        cfg = opt.ask()
        assert type(cfg["bs"]) is int
        opt.tell(cfg, float(cfg["bs"]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(seed=-1), "seed must be a non-negative integer"), (dict(seed=1.5), "seed must be"),
    (dict(seed="0"), "seed must be"), (dict(direction="up"), "direction must be"),
    (dict(mode="XGB"), "unknown mode .XGB.; expected one of DIV, "), (dict(mode="DIV", spec="EI"), "unknown strategy"),
    (dict(mode="DIV", arms=[]), "non-empty"), (dict(n_init=-1), "n_init must be"), (dict(run=-2), "run must be"),
    (dict(arms="GP"), "arms must be a non-empty list of"), (dict(arm_options=[1]), "arm_options must be a mapping"),
    (dict(budget="zz"), "budget must be a hpo_mab.strategies.Budget"),
    (dict(strategy_options="x"), "strategy_options must be a mapping"), (dict(n_init=10**12), "n_init must be at most"),
    (dict(mode="DIV", strategy_options={"zz": 1}), "has no option 'zz'"),
    (dict(mode="DIV", spec="HEDGE", strategy_options={"eta": float("nan")}), "eta must be a positive finite"),
])
def test_bad_optimizer_arguments(kwargs, message):
    with pytest.raises(HpoError, match=message):
        Optimizer(SPACE, **kwargs)
    with pytest.raises(HpoError, match="must be a hpo_mab.Space"):
        Optimizer([Param("x", "uniform")])


def test_the_api_defaults_are_the_command_lines():
    from hpo_mab.options import DEFAULTS

    opt = Optimizer(SPACE, seed=0)
    assert DEFAULTS["mode"] == "DIV" and opt.strategy.name == "GT"  # the default chosen on development data
    assert list(opt.arms) == [f"{m}-{a}" if a else m for m, a in DEFAULT_ARMS]
    shipped = json.loads(open("run_conf/arms.json").read())["arms"]
    assert [(a["model"], a.get("acq_func")) for a in shipped] == list(DEFAULT_ARMS)


@pytest.mark.parametrize("mode", ["DIV", "GP", "TPE", "RANDOM"])
def test_pending_asks_are_distinct(mode):
    opt = Optimizer(SPACE, mode=mode, seed=1)
    key = lambda c: json.dumps(c, sort_keys=True)  # noqa: E731
    first = [opt.ask() for _ in range(8)]  # more than the initial design's 5
    assert len({key(c) for c in first}) == 8
    for c in first:
        opt.tell(c, c["lr"] * c["units"])
    later = [opt.ask() for _ in range(4)]
    assert len({key(c) for c in later}) == 4


def test_a_bad_value_in_tell_uses_nothing_up():
    opt = Optimizer(SPACE, mode="RANDOM", seed=0)
    cfg = opt.ask()
    for bad in ("abc", True, [1.0], {"v": 1}):
        with pytest.raises(HpoError, match="tell\\(\\) needs a number or None"):
            opt.tell(cfg, bad)
    with pytest.raises(HpoError, match="returned by ask"):
        opt.tell({"lr": 0.5}, 1.0)
    trial = opt.tell(cfg, 0.25)
    assert trial.value == 0.25 and len(opt.history) == 1
    assert opt.tell(opt.ask(), None).state == "failed"
    assert opt.tell(opt.ask(), np.float32(0.5)).value == 0.5


def test_a_small_space_runs_out_of_distinct_asks_with_a_clear_error():
    opt = Optimizer(Space([Param("c", "choice", values=("a", "b"))]), mode="RANDOM", seed=0)
    opt.ask(), opt.ask()
    start = time.perf_counter()
    with pytest.raises(HpoError, match="no configuration left that is not pending"):
        opt.ask()
    assert time.perf_counter() - start < 5


def test_the_default_strategy_is_the_one_chosen_on_development_data():
    """hpo_mab/defaults.py, run_conf/default.yaml and the API agree with the study's development choice."""
    from pathlib import Path

    from hpo_mab.defaults import DEFAULT_STRATEGY

    root = Path(__file__).resolve().parents[1]
    choice = json.loads((root / "experiments/results/study/dev_choice.json").read_text())
    assert choice["strategy"] == DEFAULT_STRATEGY
    assert yaml.safe_load((root / "run_conf/default.yaml").read_text())["spec"] == DEFAULT_STRATEGY
    space = Space([Param("x", "uniform", low=0.0, high=1.0)])
    assert Optimizer(space).strategy.name == DEFAULT_STRATEGY


@pytest.mark.parametrize("params, message", [
    ("abc", "takes a list of hpo_mab.Param, but got str"), ([1, 2], "but the list holds int"),
    (Param("x", "uniform"), "but got Param"), ((p for p in [Param("x", "uniform")]), None),
])
def test_a_space_takes_a_list_of_params(params, message):
    if message is None:
        assert Space(params).names == ["x"]  # a generator is read once, not twice
        return
    with pytest.raises(HpoError, match=message):
        Space(params)


def test_telling_a_value_no_float_holds_leaves_the_ask_pending():
    opt = Optimizer(SPACE, mode="RANDOM", seed=0)
    config = opt.ask()
    with pytest.raises(HpoError, match="a number a float can hold"):
        opt.tell(config, 10**400)
    assert opt.tell(config, 1.0).value == 1.0
