"""Issue 9: fuzzed search-space files, run configurations and journals are accepted and round-trip, or
refused with one HpoError line; never another exception."""

from __future__ import annotations

import json
import math

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpo_mab.cli import build_parser
from hpo_mab.errors import HpoError
from hpo_mab.history import Trial
from hpo_mab.journal import Journal, read_journal
from hpo_mab.options import resolve_options
from hpo_mab.space import Space, load_space, space_from_dict, space_to_dict

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.floats(allow_nan=True),
                    st.text(max_size=5))
numbers = st.one_of(st.integers(-12, 12), st.floats(-1e4, 1e4), st.sampled_from([0, 1, 2, 10, 0.5, -1]))
ranges = st.one_of(st.lists(numbers, min_size=0, max_size=4), st.lists(scalars, max_size=4), scalars)


def _check_space(space: Space) -> None:
    """An accepted space round-trips through its dict form and its encoding."""
    again = space_from_dict(json.loads(json.dumps(space_to_dict(space))))
    assert again.params == space.params
    for u in space.sobol(8, np.random.default_rng(0)):
        config = space.decode(u)
        space.validate(config)
        again = space.decode(space.encode(config))
        for name, value in config.items():
            if isinstance(value, float):
                assert math.isclose(again[name], value, rel_tol=1e-9)
            else:
                assert again[name] == value and type(again[name]) is type(value)
        assert np.allclose(space.snap(u)[0], space.encode(config))


original_param = st.fixed_dictionaries(
    {"value_type": st.sampled_from(["continuous", "discrete", "categorical", "preordered", "other"]),
     "range": ranges},
    optional={"type": st.sampled_from(["int", "float", "str", "bool", "list"]), "power_of": numbers,
              "default": st.one_of(numbers, scalars), "log": st.one_of(st.booleans(), scalars),
              "extra": scalars})


@st.composite
def plausible_original(draw) -> dict:
    """A mostly valid original-format parameter (the fuzz then also mutates one key)."""
    kind = draw(st.sampled_from(["continuous", "discrete", "categorical", "preordered"]))
    if kind in ("categorical", "preordered"):
        values = draw(st.lists(st.integers(0, 50) if kind == "preordered" else st.text("abc", min_size=1,
                                                                                        max_size=3),
                               min_size=1, max_size=4, unique=True))
        spec = {"type": "int" if kind == "preordered" else "str", "value_type": kind, "range": values}
        if draw(st.booleans()):
            spec["default"] = draw(st.sampled_from(values))
    else:
        low = draw(st.integers(-3, 5))
        high = low + draw(st.integers(1, 6))
        spec = {"type": draw(st.sampled_from(["int", "float"])) if kind == "continuous" else "int",
                "value_type": kind, "range": [low, high]}
        extra = draw(st.sampled_from(["none", "power_of", "log"]))
        if extra == "power_of":
            spec["power_of"] = draw(st.sampled_from([2, 10, 0.5]))
        elif extra == "log" and low >= 1:
            spec["log"] = True
        if draw(st.booleans()):
            spec["default"] = draw(st.integers(low, high))
    if draw(st.booleans()):
        spec[draw(st.sampled_from(sorted(spec)))] = draw(st.one_of(numbers, scalars, ranges))
    return spec


@st.composite
def plausible_otx(draw) -> dict:
    kind = draw(st.sampled_from(["uniform", "quniform", "loguniform", "qloguniform", "choice"]))
    if kind == "choice":
        spec = {"param_type": kind, "range": draw(st.lists(st.one_of(st.integers(0, 9), st.text("ab", max_size=2)),
                                                           min_size=1, max_size=4, unique_by=repr))}
    else:
        low = draw(st.sampled_from([1, 2, 8, 0.001, 0.5]))
        high = low * draw(st.sampled_from([2, 10, 100]))
        rng = [low, high]
        if kind.startswith("q"):
            rng.append(draw(st.sampled_from([1, 2, low, 0.001])))
        spec = {"param_type": kind, "range": rng}
    if draw(st.booleans()):
        spec[draw(st.sampled_from(sorted(spec)))] = draw(st.one_of(numbers, scalars, ranges))
    return spec


original_param = st.one_of(plausible_original(), original_param)
otx_param = st.fixed_dictionaries(
    {"param_type": st.sampled_from(["uniform", "quniform", "loguniform", "qloguniform", "choice", "normal"]),
     "range": ranges}, optional={"default": scalars})
otx_param = st.one_of(plausible_otx(), otx_param)


@FUZZ
@given(st.dictionaries(st.text("abcxyz_.", min_size=1, max_size=4), original_param, min_size=0, max_size=4))
def test_fuzzed_original_json_loads_or_is_refused(tmp_path_factory, hyperparams):
    path = tmp_path_factory.mktemp("o") / "space.json"
    path.write_text(json.dumps({"hyperparams": hyperparams}))
    try:
        space = load_space(path)
    except HpoError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    _check_space(space)
    for p in space.params:
        if p.default is not None:
            assert p.contains(p.default)


@FUZZ
@given(st.dictionaries(st.text("abcxyz_.", min_size=1, max_size=4), otx_param, min_size=0, max_size=4),
       st.sampled_from(["min", "max", "up", None]))
def test_fuzzed_otx_yaml_loads_or_is_refused(tmp_path_factory, hp_space, mode):
    path = tmp_path_factory.mktemp("y") / "hpo_config.yaml"
    doc = {"hp_space": hp_space, **({"mode": mode} if mode else {})}
    path.write_text(yaml.safe_dump(doc))
    try:
        space = load_space(path)
    except HpoError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    _check_space(space)


@FUZZ
@given(st.binary(max_size=200))
def test_fuzzed_bytes_as_a_search_space(tmp_path_factory, data):
    for name in ("s.json", "s.yaml"):
        path = tmp_path_factory.mktemp("b") / name
        path.write_bytes(data)
        try:
            _check_space(load_space(path))
        except HpoError as exc:
            assert "\n" not in str(exc)


option_values = {
    "mode": st.sampled_from(["DIV", "GP", "tpe", "RANDOM", "XGB", 3]),
    "spec": st.sampled_from(["SEQ", "HEDGE", "EI", "ucb", "NOPE", None, 1]),
    "exp_crt": st.sampled_from(["TIME", "GOAL", "goal", "SOON", 0]),
    "exp_goal": st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none()),
    "exp_time": st.one_of(st.sampled_from(["30", "90s", "20m", "6h", "2d", "6x", "-1", ""]), st.floats(), st.none()),
    "max_trials": st.one_of(st.integers(-3, 100), st.text(max_size=2), st.none()),
    "seed": st.one_of(st.integers(-5, 2**70), st.booleans(), st.floats()),
    "outdir": st.one_of(st.text(max_size=5), st.integers()),
    "log_level": st.sampled_from(["warn", "debug", "loud", 1]),
    "charge_proposal_time": st.one_of(st.booleans(), st.integers(0, 2)),
    "strategy_options": st.one_of(st.dictionaries(st.sampled_from(["eta", "gamma", "period", "time_unit", "x"]),
                                                  st.one_of(st.floats(allow_nan=True), st.integers(-2, 5),
                                                            st.text(max_size=3)), max_size=2),
                                  st.lists(st.integers(), max_size=2), st.none()),
    "arms": st.one_of(st.lists(st.fixed_dictionaries({"model": st.sampled_from(["GP", "TPE", "XGB", 1])},
                                                     optional={"acq_func": st.sampled_from(["EI", "PI", None, 2]),
                                                               "transform": st.just("HLE")}), max_size=3),
                      scalars),
    "colour": st.just("red"),
}


@FUZZ
@given(st.fixed_dictionaries({}, optional=option_values), st.sampled_from(["yaml", "json"]))
def test_fuzzed_run_configurations_resolve_or_are_refused(tmp_path_factory, doc, fmt):
    directory = tmp_path_factory.mktemp("rc")
    name = f"conf.{fmt}"
    (directory / name).write_text(yaml.safe_dump(doc) if fmt == "yaml" else json.dumps(doc))
    args = build_parser().parse_args(["tiny", "1", "-rc", str(directory), "-c", name])
    try:
        options = resolve_options(args)
    except HpoError as exc:
        assert "\n" not in str(exc)
        return
    assert options["mode"] in ("DIV", "GP", "TPE", "RANDOM") and options["seed"] >= 0
    assert options["exp_goal"] is None or math.isfinite(options["exp_goal"])
    # accepted: the resolved options, written back as a run configuration, resolve to the same
    again = {k: v for k, v in options.items() if k != "arms"}
    again["arms"] = [{"model": m, **({"acq_func": a} if a else {})} for m, a in options["arms"]]
    (directory / "again.json").write_text(json.dumps(again))
    args = build_parser().parse_args(["tiny", "1", "-rc", str(directory), "-c", "again.json"])
    assert resolve_options(args) == options


record_values = {
    "run": st.one_of(st.integers(-1, 3), st.text(max_size=2)), "number": st.integers(-1, 50),
    "arm": st.one_of(st.sampled_from(["INIT", "GP-EI", "TPE"]), st.integers()),
    "config": st.one_of(st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.integers()),
    "state": st.sampled_from(["init", "complete", "stopped", "failed", "done"]),
}
optional_values = {
    "row": st.one_of(st.none(), st.integers(-1, 100)), "value": st.one_of(st.none(), st.floats(allow_nan=False)),
    "curve": st.lists(st.floats(-1, 1), max_size=3), "clock": st.floats(0, 1e6), "info": st.dictionaries(
        st.text(max_size=3), st.integers(), max_size=2), "bogus": st.integers(),
}
records = st.fixed_dictionaries({k: v for k, v in record_values.items() if k != "state"},
                                optional={"state": record_values["state"], **optional_values})
odd_lines = st.sampled_from([b"{}", b"[1,2]", b"null", b"", b"NaN", b'{"run": 0'])
lines = st.one_of(records.map(lambda r: json.dumps(r).encode()), st.binary(max_size=30), odd_lines).filter(
    lambda b: b"\n" not in b)


@FUZZ
@given(st.lists(lines, max_size=6), st.booleans())
def test_fuzzed_journals_read_or_are_refused(tmp_path_factory, body, torn):
    path = tmp_path_factory.mktemp("j") / "journal.jsonl"
    data = b"\n".join(body) + (b"" if torn or not body else b"\n")
    path.write_bytes(data)
    try:
        got = read_journal(path)
    except HpoError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    # accepted: every record is a Trial, and journaling those trials again reads back the same records
    trials = [Trial(**r) for r in got]
    again = path.with_name("again.jsonl")
    journal = Journal(again)
    for trial in trials:
        journal.write(trial)
    journal.close()
    assert read_journal(again) == [json.loads(json.dumps(t.__dict__)) for t in trials]
    if torn and body:  # the torn last line is never read, and the journal cuts it before appending
        Journal(path).close()
        assert path.read_bytes() == data[: data.rfind(b"\n") + 1]
