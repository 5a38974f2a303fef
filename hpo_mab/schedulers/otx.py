"""Read an OTX `hpo_config.yaml` (seed 000) into what a run needs: the space, ASHA's options, the metric.

    metric: accuracy              # default: the table's or task's own metric (OTX's default is 'mAP')
    mode: max                     # max (default) or min
    search_algorithm: asha        # the only one OTX documents; the default
    maximum_resource: 15          # epochs of a full trial (default: the table's or task's)
    minimum_resource: 1           # epochs of ASHA's first rung (default: ASHA's, or planned by --auto-config)
    hp_space: {...}               # parsed by hpo_mab.space.loaders.space_from_otx
    # optional, as the arguments of OTX's HyperBand class:
    num_trials: 60                # trials to start
    num_workers: 1                # trials trained at once
    reduction_factor: 3           # ASHA's eta
    expected_time_ratio: 4        # time budget = this many times one full trial's training time

Seed 000 documents `hp_space`, `metric`, `mode`, `maximum_resource` and `minimum_resource` (and its example
names `search_algorithm: asha`); the four optional keys are the OTX ASHA's own parameters (its `HyperBand`
class, Li et al. MLSys 2020 behind it). Any other key, a wrong type or another search algorithm is one
HpoError line naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hpo_mab.config_text import read_config
from hpo_mab.errors import HpoError
from hpo_mab.space import Space
from hpo_mab.space.loaders import space_from_otx
from hpo_mab.space.params import is_number

__all__ = ["KEYS", "OtxConfig", "load_otx_config"]

KEYS = ("search_algorithm", "metric", "mode", "hp_space", "maximum_resource", "minimum_resource", "num_trials",
        "num_workers", "reduction_factor", "expected_time_ratio")
_OPTIONS = {"minimum_resource": "min_resource", "maximum_resource": "max_resource", "reduction_factor": "eta"}


@dataclass(frozen=True)
class OtxConfig:
    """An `hpo_config.yaml`, read: the space, the scheduler and its options, the metric and the counts.

    `scheduler_options` holds only what the file sets (min_resource, max_resource, eta), so a scheduler's
    defaults, the table's epochs or `--auto-config` fill the rest.
    """

    path: str
    space: Space
    scheduler: str = "ASHA"
    scheduler_options: dict[str, int] = field(default_factory=dict)
    metric: str | None = None
    direction: str = "max"
    num_trials: int | None = None
    num_workers: int | None = None
    expected_time_ratio: float | None = None

    def budget_s(self, full_trial_seconds: float) -> float | None:
        """OTX's time budget: expected_time_ratio times one full trial's training seconds (None if unset)."""
        if self.expected_time_ratio is None:
            return None
        return self.expected_time_ratio * full_trial_seconds

    def check_names(self, names: Sequence[str], what: str) -> None:
        """HpoError unless hp_space names exactly the parameters of `what` (a table or task) in any order."""
        ours, theirs = set(self.space.names), set(names)
        if ours != theirs:
            missing, extra = sorted(theirs - ours), sorted(ours - theirs)
            raise HpoError(f"{self.path}: hp_space must name the parameters of {what}; "
                           f"missing {missing}, unknown {extra}")

    def check_metric(self, name: str, direction: str, what: str) -> None:
        """HpoError if the file names another metric, or another direction, than `what` records."""
        if self.metric is not None and self.metric != name:
            raise HpoError(f"{self.path}: metric is {self.metric!r}, but {what} records {name!r}")
        if self.direction != direction:
            raise HpoError(f"{self.path}: mode is {self.direction!r}, but {what}'s {name} is to "
                           f"{'maximise' if direction == 'max' else 'minimise'} (mode {direction!r})")


def _int(doc: dict, key: str, where: str, low: int) -> int | None:
    value = doc.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        raise HpoError(f"{where}: {key} must be an integer >= {low}, but got {value!r}")
    return value


def _read(path: Path) -> dict:
    if not path.is_file():
        raise HpoError(f"{path}: no such hpo_config file")
    doc = read_config(path, "hpo_config file", ".yaml")
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected a mapping at the top level, but got {type(doc).__name__}")
    return doc


def load_otx_config(path: str | Path) -> OtxConfig:
    """Load an OTX `hpo_config.yaml`; every mistake is one HpoError line naming the file and the key."""
    path = Path(path)
    where = str(path)
    doc = _read(path)
    unknown = sorted(map(str, set(doc) - set(KEYS)))
    if unknown:
        raise HpoError(f"{where}: unknown key(s) {unknown}; expected some of {list(KEYS)}")
    if "hp_space" not in doc:
        raise HpoError(f"{where}: missing key 'hp_space'")
    algorithm = doc.get("search_algorithm", "asha")
    if algorithm != "asha":
        raise HpoError(f"{where}: search_algorithm must be 'asha' (the one OTX algorithm hpo_mab runs), "
                       f"but got {algorithm!r}")
    metric = doc.get("metric")
    if metric is not None and (not isinstance(metric, str) or not metric.strip()):
        raise HpoError(f"{where}: metric must be a non-empty string, but got {metric!r}")
    mode = doc.get("mode", "max")
    if mode not in ("max", "min"):
        raise HpoError(f"{where}: mode must be 'max' or 'min', but got {mode!r}")
    counts = {key: _int(doc, key, where, 1) for key in ("maximum_resource", "minimum_resource", "num_trials",
                                                        "num_workers")}
    counts["reduction_factor"] = _int(doc, "reduction_factor", where, 2)
    low, high = counts["minimum_resource"], counts["maximum_resource"]
    if low is not None and high is not None and low > high:
        raise HpoError(f"{where}: minimum_resource must be <= maximum_resource ({high}), but got {low}")
    ratio = doc.get("expected_time_ratio")
    if ratio is not None and (not is_number(ratio) or not 0 < ratio < float("inf")):
        raise HpoError(f"{where}: expected_time_ratio must be a positive number, but got {ratio!r}")
    space = space_from_otx(doc, where)
    options = {ours: counts[key] for key, ours in _OPTIONS.items() if counts[key] is not None}
    return OtxConfig(path=where, space=space, scheduler="ASHA", scheduler_options=options, metric=metric,
                     direction=mode, num_trials=counts["num_trials"], num_workers=counts["num_workers"],
                     expected_time_ratio=None if ratio is None else float(ratio))
