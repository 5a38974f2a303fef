"""Methods of an experiment file: a standard name (GP-EI, TPE, DIV-GT, optuna-tpe) or a mapping with `name` and
`mode`, `spec`, `arms`, `strategy_options`, `arm_options`, `scheduler`, `scheduler_options`, or `peer`; any
method may say `reference: true` (ranked apart: shown per problem, left out of ranks and tests). A DIV method
whose strategy peeks at the table's true values (the oracle variants, BO-HEDGE-T and -LET) is a reference
unless it says `reference: false`: it has information no other method has.

Checked with the command line's own rules (`hpo_mab.options.parse_arms`, `check_strategy_options`, the arms'
`check_arm_options`); every error is one HpoError line naming the file, the entry, the key and the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from hpo_mab.catalog import ACQUISITION_NAMES, ARM_NAMES, MODES, STRATEGY_NAMES, WITH_ACQUISITION, arm_names
from hpo_mab.defaults import DEFAULT_STRATEGY
from hpo_mab.errors import HpoError
from hpo_mab.peers import PEERS, PRUNED_PEERS

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # a folder name on every system

METHOD_KEYS = ("name", "mode", "spec", "arms", "strategy_options", "arm_options", "scheduler", "scheduler_options",
               "peer", "reference")


def _fail(where: str, message: str) -> None:
    raise HpoError(f"{where}: {message}")


def _mapping(value: Any, where: str, key: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        _fail(where, f"'{key}' must be a mapping, but got {value!r}")
    return value


@dataclass(frozen=True)
class MethodSpec:
    """One method: our runner's mode/spec (with options), or a peer by name."""

    name: str
    mode: str | None = None
    spec: str | None = None
    arms: list[tuple[str, str | None]] | None = None
    strategy_options: dict[str, Any] | None = None
    arm_options: dict[str, Any] | None = None
    scheduler: str | None = None
    scheduler_options: dict[str, Any] | None = None
    peer: str | None = None
    reference: bool = False  # ranked apart (see the module docstring)

    @property
    def kind(self) -> str:
        """`peer`, `div` or `arm`."""
        return "peer" if self.peer else "div" if self.mode == "DIV" else "arm"


def _is_oracle(mode: str | None, spec: str | None) -> bool:
    """Whether a method is a DIV strategy that peeks at true table values."""
    from hpo_mab.strategies import is_oracle_strategy

    return mode == "DIV" and is_oracle_strategy(spec)


def standard_method(name: str) -> MethodSpec | None:
    """GP-EI, TPE, ... (arms), DIV-<STRATEGY> over the default portfolio, or a peer name; None otherwise."""
    upper = name.upper()
    if name in PEERS + PRUNED_PEERS:
        return MethodSpec(name, peer=name)
    if upper.startswith("DIV-") and upper[4:] in STRATEGY_NAMES:
        return MethodSpec(name, mode="DIV", spec=upper[4:], reference=_is_oracle("DIV", upper[4:]))
    for model in WITH_ACQUISITION:
        for acq in ACQUISITION_NAMES:
            if upper == f"{model}-{acq}":
                return MethodSpec(name, mode=model, spec=acq)
    if upper in ARM_NAMES:
        return MethodSpec(name, mode=upper)
    return None


def parse_method(item: Any, where: str) -> MethodSpec:
    """A method entry: a standard name, or a mapping with `name` and `mode`/`spec`/... or `peer`."""
    from hpo_mab.options import check_strategy_options, parse_arms

    if isinstance(item, str):
        method = standard_method(item)
        if method is None:
            _fail(where, f"unknown method {item!r}; expected an arm ({', '.join(arm_names())}), DIV-<strategy> "
                         f"({', '.join(STRATEGY_NAMES)}), a peer ({', '.join(PEERS + PRUNED_PEERS)}), or a "
                         "mapping with 'name' and 'mode'")
        return method
    if not isinstance(item, dict):
        _fail(where, f"expected a method name or a mapping with 'name', but got {item!r}")
    unknown = sorted(map(str, set(item) - set(METHOD_KEYS)))
    if unknown:
        _fail(where, f"unknown key(s) {unknown}; expected some of {list(METHOD_KEYS)}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        _fail(where, f"'name' must be letters, digits, '.', '_', '+' or '-', but got {name!r}")
    where = f"{where} ({name})"
    reference = item.get("reference")
    if reference is not None and not isinstance(reference, bool):
        _fail(where, f"'reference' must be true or false, but got {reference!r}")
    if item.get("peer") is not None:
        extra = sorted(set(item) - {"name", "peer", "reference"})
        if extra:
            _fail(where, f"a peer takes only 'name', 'peer' and 'reference', but got {extra}")
        if item["peer"] not in PEERS + PRUNED_PEERS:
            _fail(where, f"unknown peer {item['peer']!r}; expected one of {', '.join(PEERS + PRUNED_PEERS)}")
        return MethodSpec(name, peer=item["peer"], reference=bool(reference))
    if set(item) <= {"name", "reference"} and standard_method(name) is not None:
        method = standard_method(name)
        return method if reference is None else replace(method, reference=reference)
    mode = item.get("mode")
    if not isinstance(mode, str) or mode.upper() not in MODES:
        _fail(where, f"'mode' must be one of {', '.join(MODES)} (or give 'peer'), but got {mode!r}")
    mode = mode.upper()
    spec = item.get("spec")
    if spec is not None and not isinstance(spec, str):
        _fail(where, f"'spec' must be a name, but got {spec!r}")
    spec = None if spec is None else spec.upper()
    if mode == "DIV":
        spec = spec or DEFAULT_STRATEGY
        if spec not in STRATEGY_NAMES:
            _fail(where, f"spec {spec!r} is not a strategy; expected one of {', '.join(STRATEGY_NAMES)}")
    elif mode in WITH_ACQUISITION:
        spec = spec or "EI"
        if spec not in ("EI", "PI", "UCB"):
            _fail(where, f"spec {spec!r} is not an acquisition of {mode}; expected EI, PI or UCB")
    elif spec not in (None, mode):
        _fail(where, f"mode {mode} takes no spec, but got spec {spec!r}")
    arms = None
    if item.get("arms") is not None:
        if mode != "DIV":
            _fail(where, f"'arms' is the portfolio of mode DIV, not of mode {mode}")
        arms = parse_arms(item["arms"], where)
    options = check_strategy_options(_mapping(item.get("strategy_options"), where, "strategy_options"), mode, spec,
                                     where)
    arm_options = _mapping(item.get("arm_options"), where, "arm_options")
    if arm_options is not None:
        from hpo_mab.arms.base import check_arm_options

        try:
            check_arm_options(arm_options)
        except HpoError as exc:
            _fail(where, f"arm_options: {exc}")
    scheduler = item.get("scheduler")
    scheduler_options = _mapping(item.get("scheduler_options"), where, "scheduler_options")
    if scheduler_options is not None and scheduler is None:
        _fail(where, "'scheduler_options' without a 'scheduler'")
    if scheduler is not None:
        check_scheduler(scheduler, where)
    return MethodSpec(name, mode, spec, arms, options, dict(arm_options) if arm_options else None, scheduler,
                      scheduler_options, reference=_is_oracle(mode, spec) if reference is None else reference)


def check_scheduler(scheduler: Any, where: str) -> None:
    """A method's scheduler must be a registered one (`hpo_mab.schedulers.SCHEDULERS`)."""
    from hpo_mab.schedulers import SCHEDULERS

    if not isinstance(scheduler, str) or scheduler.upper() not in SCHEDULERS:
        _fail(where, f"unknown scheduler {scheduler!r}; expected one of {', '.join(SCHEDULERS)}")
