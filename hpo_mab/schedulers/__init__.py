"""Schedulers (Optuna: pruners): decide at each epoch whether a trial continues, pauses or stops.

A name-to-class registry; `make_scheduler(name, max_epochs, options)` builds one (names are
case-insensitive: `PentaTercet` is `PENTATERCET`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.base import Decision, Scheduler
from hpo_mab.schedulers.extrapolation import Extrapolation
from hpo_mab.schedulers.hyperband import BOHB, Hyperband
from hpo_mab.schedulers.median import MedianRule
from hpo_mab.schedulers.sha import ASHA, SHA
from hpo_mab.schedulers.thresholds import DecaTercet, PentaTercet, TetraTercet

SCHEDULERS: dict[str, type[Scheduler]] = {
    cls.name: cls for cls in (SHA, ASHA, Hyperband, BOHB, MedianRule, DecaTercet, PentaTercet, TetraTercet,
                              Extrapolation)}

__all__ = ["SCHEDULERS", "Decision", "Scheduler", "make_scheduler"]


def make_scheduler(name: str, max_epochs: int | None, options: Mapping[str, Any] | None = None) -> Scheduler:
    """The scheduler called `name` for trials of `max_epochs` epochs, with its options checked."""
    cls = SCHEDULERS.get(str(name).upper())
    if cls is None:
        raise HpoError(f"unknown scheduler {name!r}; expected one of {', '.join(SCHEDULERS)}")
    if options is not None and not isinstance(options, Mapping):
        raise HpoError(f"scheduler_options must be a mapping of option names to values, but got {options!r}")
    if max_epochs is None:
        max_epochs = (options or {}).get("max_resource")
        if max_epochs is None:
            raise HpoError(f"scheduler {cls.name} needs the trials' epochs: this problem does not say how many "
                           "a trial runs; give the scheduler option max_resource")
    if max_epochs <= 1:
        raise HpoError(f"scheduler {cls.name} needs trials with several epochs, but a trial here has {max_epochs} "
                       "(the literature tables record only the final value)")
    return cls(max_epochs, options)
