"""Read search spaces from the original tool's hp_conf JSON and from OTX's `hpo_config.yaml`.

Original JSON (seed 001)::

    {"hyperparams": {"lr": {"type": "float", "value_type": "continuous", "range": [-4, -1],
                            "power_of": 10, "default": -2}, ...}}

`value_type` is continuous, discrete, categorical or preordered; with `power_of` the range holds
exponents and the value is power_of ** x (a log-uniform parameter).

OTX YAML (seed 000)::

    metric: accuracy
    mode: max
    hp_space:
      learning_parameters.learning_rate: {param_type: qloguniform, range: [0.0007, 0.07, 0.0001]}
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hpo_mab.config_text import read_config
from hpo_mab.errors import HpoError
from hpo_mab.space.params import Param, is_number
from hpo_mab.space.space import Space

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}
_VALUE_TYPES = ("continuous", "discrete", "categorical", "preordered")
_ORIGINAL_KEYS = {"type", "value_type", "range", "power_of", "default", "log"}
_OTX_KEYS = {"param_type", "range"}


def _need(spec: dict, key: str, where: str) -> Any:
    if not isinstance(spec, dict):
        raise HpoError(f"{where}: expected a mapping, but got {spec!r}")
    if key not in spec:
        raise HpoError(f"{where}: missing key '{key}'")
    return spec[key]


def _range(spec: dict, where: str, at_least: int, at_most: int | None = None) -> list:
    rng = _need(spec, "range", where)
    at_most = at_most or at_least
    if not isinstance(rng, list) or not at_least <= len(rng) <= at_most:
        size = f"{at_least}" if at_most == at_least else f"{at_least} to {at_most}"
        if at_most > 100:
            size = f"at least {at_least}"
        raise HpoError(f"{where}: 'range' must be a list of {size} item(s), but got {rng!r}")
    return rng


def _unknown_keys(spec: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(map(str, set(spec) - allowed))
    if unknown:
        raise HpoError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(allowed)}")


def _located(build, name: str, spec: dict, where: str, section: str) -> Param:
    """Build a parameter; errors from Param's own checks get the file and the parameter's key in front."""
    try:
        return build(name, spec, where)
    except HpoError as exc:
        text, loc = str(exc), f"{where}: {section}.{name}"
        if text.startswith(loc):
            raise
        raise HpoError(f"{loc}: {text.removeprefix(f'parameter {name!r}: ')}") from None


def _typed(value: Any, type_name: str) -> bool:
    """Whether a range bound, choice or default has the declared `type` (an int is a float too)."""
    if type_name == "float":
        return is_number(value)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPES[type_name])


def _power(base: float, exponent: float, where: str) -> float:
    try:
        value = float(base) ** exponent
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or value <= 0:
        raise HpoError(f"{where}: power_of {base} ** {exponent} is not a positive finite number")
    return value


def param_from_original(name: str, spec: dict, where: str) -> Param:
    """One parameter in the original tool's JSON form (see hp_conf/README.md)."""
    where = f"{where}: hyperparams.{name}"
    value_type = _need(spec, "value_type", where)
    _unknown_keys(spec, _ORIGINAL_KEYS, where)
    if "type" not in spec:  # no default: hp_conf/README.md lists type among the checked keys
        raise HpoError(f"{where}: missing key 'type'; expected one of {', '.join(_TYPES)}")
    type_name = spec["type"]
    if not isinstance(type_name, str) or type_name not in _TYPES:
        raise HpoError(f"{where}: unknown type {type_name!r}; expected one of {', '.join(_TYPES)}")
    if value_type not in _VALUE_TYPES:
        raise HpoError(f"{where}: unknown value_type {value_type!r}; expected one of {', '.join(_VALUE_TYPES)}")
    default, power_of, log = spec.get("default"), spec.get("power_of"), spec.get("log", False)
    if not isinstance(log, bool):
        raise HpoError(f"{where}: log must be true or false, but got {log!r}")
    if value_type in ("categorical", "preordered"):
        if power_of is not None or log:
            raise HpoError(f"{where}: power_of and log apply to continuous and discrete ranges, not {value_type}")
        values = _range(spec, where, 1, 10**9)
        for v in values + ([default] if default is not None else []):
            if not _typed(v, type_name):
                raise HpoError(f"{where}: type is {type_name}, but the value {v!r} is not")
        return Param(name, "choice" if value_type == "categorical" else "ordered", values=tuple(values),
                     default=default)
    if type_name in ("str", "bool"):
        raise HpoError(f"{where}: a {value_type} range needs type int or float, but got type {type_name!r}")
    low, high = _range(spec, where, 2)
    for v in (low, high) + ((default,) if default is not None else ()):
        if not is_number(v):
            raise HpoError(f"{where}: range bounds and default must be numbers, but got {v!r}")
    if power_of is not None:
        return _power_param(name, value_type, type_name, low, high, power_of, default, log, where)
    if value_type == "discrete" and type_name == "float":
        raise HpoError(f"{where}: value_type discrete holds integers: give type int (or value_type continuous)")
    if value_type == "discrete" or type_name == "int":
        return Param(name, "intlog" if log else "int", low=low, high=high, default=default)
    return Param(name, "loguniform" if log else "uniform", low=low, high=high, default=default)


def _power_param(name: str, value_type: str, type_name: str, low: float, high: float, power_of: Any,
                 default: Any, log: bool, where: str) -> Param:
    """A range of exponents of `power_of` (the original tool's log scale); the default is an exponent too."""
    if not is_number(power_of) or power_of <= 0 or power_of == 1:
        raise HpoError(f"{where}: power_of must be a number > 0 and != 1, but got {power_of!r}")
    if log:
        raise HpoError(f"{where}: power_of already makes a log scale; drop 'log'")
    if value_type == "discrete":  # the integer powers power_of ** low ... power_of ** high
        for v in (low, high) + ((default,) if default is not None else ()):
            if v != int(v):
                raise HpoError(f"{where}: discrete powers need integer exponents, but got {v!r}")
        if high - low >= 10_000:
            raise HpoError(f"{where}: discrete powers need fewer than 10,000 exponents, but got [{low}, {high}]")
        values = [_power(power_of, k, where) for k in range(int(low), int(high) + 1)]
        if default is not None:
            default = _power(power_of, default, where)
        if type_name == "int":
            if any(v != int(v) for v in values):
                raise HpoError(f"{where}: type int needs integer powers, but {power_of} ** {int(low)} is not")
            values = [int(v) for v in values]
            default = None if default is None else int(default)
        return Param(name, "ordered", values=tuple(values), default=default)
    lo, hi = _power(power_of, low, where), _power(power_of, high, where)
    if default is not None:
        default = _power(power_of, default, where)
    if type_name == "int":  # every integer between the powers, on a log scale
        for v, e in ((lo, low), (hi, high)):
            if abs(v - round(v)) > 1e-9 * max(1.0, v):
                raise HpoError(f"{where}: type int needs integer bounds, but {power_of} ** {e} = {v:g}")
        if default is not None:
            default = round(default)
        return Param(name, "intlog", low=round(lo), high=round(hi), default=default)
    return Param(name, "loguniform", low=lo, high=hi, base=float(power_of), default=default)


def space_from_original(doc: dict, where: str) -> Space:
    """A Space from the original tool's JSON document."""
    hyperparams = _need(doc, "hyperparams", where)
    if not isinstance(hyperparams, dict) or not hyperparams:
        raise HpoError(f"{where}: 'hyperparams' must be a non-empty mapping, but got {hyperparams!r}")
    order = doc.get("param_order") or list(hyperparams)
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(map(str, hyperparams)) or \
            any(not isinstance(n, str) for n in order):
        raise HpoError(f"{where}: param_order must name each of {sorted(map(str, hyperparams))} once, "
                       f"but got {order!r}")
    params = [_located(param_from_original, n, hyperparams[n], where, "hyperparams") for n in order]
    meta = {k: v for k, v in doc.items() if k not in ("hyperparams", "param_order")}
    return Space(params, meta)


def param_from_otx(name: str, spec: dict, where: str) -> Param:
    """One parameter in OTX's `hp_space` form: param_type and range [min, max, step, log_base].

    A `qloguniform` with integer bounds and an integer step is an integer on a log scale (`intlog`).
    """
    where = f"{where}: hp_space.{name}"
    kind = _need(spec, "param_type", where)
    _unknown_keys(spec, _OTX_KEYS, where)
    if kind not in ("uniform", "quniform", "loguniform", "qloguniform", "choice"):
        raise HpoError(f"{where}: unknown param_type {kind!r}; expected one of "
                       "uniform, quniform, loguniform, qloguniform, choice")
    if kind == "choice":
        return Param(name, "choice", values=tuple(_range(spec, where, 1, 10**9)))
    need = 3 if kind.startswith("q") else 2
    rng = _range(spec, where, need, need + 1 if kind.endswith("loguniform") else need)
    low, high = rng[0], rng[1]
    step = rng[2] if kind.startswith("q") else None
    base = rng[need] if len(rng) > need else 10.0
    if step is not None and not is_number(step):
        raise HpoError(f"{where}: step must be a number, but got {step!r}")
    if kind == "qloguniform" and all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step)):
        return Param(name, "intlog", low=low, high=high, step=step if step != 1 else None)
    return Param(name, kind, low=low, high=high, step=step, base=base)


def space_from_otx(doc: dict, where: str) -> Space:
    """A Space from an OTX `hpo_config.yaml` document; the rest of the document becomes metadata."""
    hp_space = _need(doc, "hp_space", where)
    if isinstance(hp_space, list):  # the documented "list of dictionaries" form
        merged: dict = {}
        for item in hp_space:
            if not isinstance(item, dict):
                raise HpoError(f"{where}: hp_space items must be mappings, but got {item!r}")
            twice = sorted(map(str, set(merged) & set(item)))
            if twice:
                raise HpoError(f"{where}: hp_space names {twice} more than once")
            merged.update(item)
        hp_space = merged
    if not isinstance(hp_space, dict) or not hp_space:
        raise HpoError(f"{where}: 'hp_space' must be a non-empty mapping, but got {hp_space!r}")
    mode = doc.get("mode", "max")
    if mode not in ("max", "min"):
        raise HpoError(f"{where}: mode must be 'max' or 'min', but got {mode!r}")
    for key in ("maximum_resource", "minimum_resource"):
        value = doc.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise HpoError(f"{where}: {key} must be a positive integer, but got {value!r}")
    params = [_located(param_from_otx, n, s, where, "hp_space") for n, s in hp_space.items()]
    meta = {k: v for k, v in doc.items() if k != "hp_space"}
    meta.setdefault("metric", "mAP")
    meta.setdefault("mode", mode)
    return Space(params, meta)


def load_space(path: str | Path) -> Space:
    """Load a Space from a JSON (original form) or YAML (OTX form) file."""
    path = Path(path)
    if not path.is_file():
        raise HpoError(f"{path}: no such search-space file")
    doc = read_config(path, "search-space file")
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected a mapping at the top level, but got {type(doc).__name__}")
    if "hp_space" in doc:
        return space_from_otx(doc, str(path))
    if "hyperparams" in doc:
        return space_from_original(doc, str(path))
    raise HpoError(f"{path}: expected key 'hyperparams' (hp_conf JSON) or 'hp_space' (OTX YAML)")
