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

import json
from pathlib import Path
from typing import Any

import yaml

from hpo_mab.errors import HpoError
from hpo_mab.space.params import Param
from hpo_mab.space.space import Space

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}
_VALUE_TYPES = ("continuous", "discrete", "categorical", "preordered")


def _need(spec: dict, key: str, where: str) -> Any:
    if not isinstance(spec, dict):
        raise HpoError(f"{where}: expected a mapping, but got {spec!r}")
    if key not in spec:
        raise HpoError(f"{where}: missing key '{key}'")
    return spec[key]


def _range(spec: dict, where: str, at_least: int) -> list:
    rng = _need(spec, "range", where)
    if not isinstance(rng, list) or len(rng) < at_least:
        raise HpoError(f"{where}: 'range' must be a list of at least {at_least} item(s), but got {rng!r}")
    return rng


def _located(build, name: str, spec: dict, where: str) -> Param:
    """Build a parameter; errors from Param's own checks get the file name in front."""
    try:
        return build(name, spec, where)
    except HpoError as exc:
        text = str(exc)
        raise HpoError(text if text.startswith(where) else f"{where}: {text}") from None


def param_from_original(name: str, spec: dict, where: str) -> Param:
    """One parameter in the original tool's JSON form."""
    where = f"{where}: hyperparams.{name}"
    value_type = _need(spec, "value_type", where)
    type_name = spec.get("type", "float")
    if type_name not in _TYPES:
        raise HpoError(f"{where}: unknown type {type_name!r}; expected one of {', '.join(_TYPES)}")
    if value_type not in _VALUE_TYPES:
        raise HpoError(f"{where}: unknown value_type {value_type!r}; expected one of {', '.join(_VALUE_TYPES)}")
    default = spec.get("default")
    if value_type in ("categorical", "preordered"):
        values = tuple(_range(spec, where, 1))
        return Param(name, "choice" if value_type == "categorical" else "ordered", values=values, default=default)
    low, high = _range(spec, where, 2)[:2]
    power_of = spec.get("power_of")
    if power_of is not None:
        for v in (low, high):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise HpoError(f"{where}: range bounds must be numbers, but got {v!r}")
        if isinstance(power_of, bool) or not isinstance(power_of, (int, float)):
            raise HpoError(f"{where}: power_of must be a number, but got {power_of!r}")
        kind = "loguniform" if value_type == "continuous" else "qloguniform"
        step = None if kind == "loguniform" else 1.0
        if kind == "qloguniform":  # discrete powers: the value itself is an integer power
            return Param(name, "ordered", values=tuple(float(power_of) ** k for k in range(int(low), int(high) + 1)),
                         default=default)
        if default is not None:  # the default, like the range, is an exponent
            default = float(power_of) ** default
        return Param(name, kind, low=float(power_of) ** low, high=float(power_of) ** high, step=step,
                     base=float(power_of), default=default)
    if value_type == "discrete" or type_name == "int":
        return Param(name, "int", low=low, high=high, default=default)
    return Param(name, "uniform", low=low, high=high, default=default)


def space_from_original(doc: dict, where: str) -> Space:
    """A Space from the original tool's JSON document."""
    hyperparams = _need(doc, "hyperparams", where)
    if not isinstance(hyperparams, dict) or not hyperparams:
        raise HpoError(f"{where}: 'hyperparams' must be a non-empty mapping, but got {hyperparams!r}")
    order = doc.get("param_order") or list(hyperparams)
    missing = [n for n in order if n not in hyperparams]
    if missing:
        raise HpoError(f"{where}: param_order names {missing}, which are not in 'hyperparams'")
    params = [_located(param_from_original, n, hyperparams[n], where) for n in order]
    meta = {k: v for k, v in doc.items() if k not in ("hyperparams", "param_order")}
    return Space(params, meta)


def param_from_otx(name: str, spec: dict, where: str) -> Param:
    """One parameter in OTX's `hp_space` form: param_type and range [min, max, step, log_base]."""
    where = f"{where}: hp_space.{name}"
    kind = _need(spec, "param_type", where)
    if kind not in ("uniform", "quniform", "loguniform", "qloguniform", "choice"):
        raise HpoError(f"{where}: unknown param_type {kind!r}; expected one of "
                       "uniform, quniform, loguniform, qloguniform, choice")
    if kind == "choice":
        return Param(name, "choice", values=tuple(_range(spec, where, 1)))
    need = 3 if kind.startswith("q") else 2
    rng = _range(spec, where, need)
    low, high = rng[0], rng[1]
    step = rng[2] if kind.startswith("q") else None
    base_at = 3 if kind == "qloguniform" else 2
    base = rng[base_at] if kind.endswith("loguniform") and len(rng) > base_at else 10.0
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float))):
        raise HpoError(f"{where}: step must be a number, but got {step!r}")
    return Param(name, kind, low=low, high=high, step=step, base=base)


def space_from_otx(doc: dict, where: str) -> Space:
    """A Space from an OTX `hpo_config.yaml` document; the rest of the document becomes metadata."""
    hp_space = _need(doc, "hp_space", where)
    if isinstance(hp_space, list):  # the documented "list of dictionaries" form
        merged: dict = {}
        for item in hp_space:
            if not isinstance(item, dict):
                raise HpoError(f"{where}: hp_space items must be mappings, but got {item!r}")
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
    params = [_located(param_from_otx, n, s, where) for n, s in hp_space.items()]
    meta = {k: v for k, v in doc.items() if k != "hp_space"}
    meta.setdefault("metric", "mAP")
    meta.setdefault("mode", mode)
    return Space(params, meta)


def load_space(path: str | Path) -> Space:
    """Load a Space from a JSON (original form) or YAML (OTX form) file."""
    path = Path(path)
    if not path.is_file():
        raise HpoError(f"{path}: no such search-space file")
    text = path.read_text()
    try:
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise HpoError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {str(exc).splitlines()[0]}")
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected a mapping at the top level, but got {type(doc).__name__}")
    if "hp_space" in doc:
        return space_from_otx(doc, str(path))
    if "hyperparams" in doc:
        return space_from_original(doc, str(path))
    raise HpoError(f"{path}: expected key 'hyperparams' (hp_conf JSON) or 'hp_space' (OTX YAML)")
