"""Training tasks: the registry that the table builder and live mode (`--train`) share.

A task names its search space (in `hp_conf/`), its metric, the data it trains on and the trainer. Add one
with one `Task` and one entry in `TASKS`. Datasets are read by path: `--datasets DIR`, else the
HPO_MAB_DATASETS environment variable, else `../shared/datasets` next to the repository if it exists.

protein-mlp trains on a fixed 15,000-row subsample (the first rows of a permutation with seed 0) of protein's
45,730, split 60/20/20: on all rows an epoch took 0.43 CPU s of training on average (8 Sobol configurations,
one thread, a busy 2-vCPU EPYC), so 1,500 configurations x 2 seeds x 27 epochs would take about 10 CPU hours
before evaluation; a third of the rows brings a table build near 4 hours.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo_mab.errors import HpoError
from hpo_mab.space import Config, Space, load_space
from hpo_mab.surrogates.table import Metric

REPO = Path(__file__).resolve().parents[1]
HP_CONF = REPO / "hp_conf"
DATASETS_ENV = "HPO_MAB_DATASETS"
RMSE = Metric(name="val_rmse", kind="loss", direction="min", scale=1.0, lower=0.0)
ACCURACY = Metric(name="val_acc", kind="accuracy", direction="max", scale=1.0, lower=0.0, upper=1.0)


def datasets_dir(option: str | Path | None = None) -> Path | None:
    """The datasets directory: the option, else $HPO_MAB_DATASETS, else ../shared/datasets if it exists."""
    value = option if option is not None else os.environ.get(DATASETS_ENV) or None
    if value is not None:
        path = Path(value)
        if not path.is_dir():
            where = "--datasets" if option is not None else f"${DATASETS_ENV}"
            raise HpoError(f"{where} {value}: no such datasets directory")
        return path
    default = REPO.parent / "shared" / "datasets"
    return default if default.is_dir() else None


@dataclass
class Curves:
    """One training run: the metric, test metric, cumulative training seconds (wall, CPU) per epoch."""

    values: list[float]
    test: list[float]
    seconds: list[float]
    cpu_seconds: list[float]
    interrupted: bool = False  # should_stop() ended an epoch early
    checkpoint: Any = None  # set when a report answered "pause" (trainers that support it)


@dataclass(frozen=True)
class Task:
    """A model on a dataset with its search space; `load(datasets_dir)` reads the data once."""

    name: str
    space_file: str
    metric: Metric
    test_name: str
    epochs: int
    default_budget_s: float
    dataset: str
    model: str
    trainer: str
    load: Callable[[Path | None], Any]
    fit: Callable[..., Curves]
    notes: dict[str, Any] = field(default_factory=dict)

    def space(self) -> Space:
        return load_space(HP_CONF / self.space_file)

    def data(self, datasets: str | Path | None = None) -> Any:
        return self.load(datasets_dir(datasets))

    def train(self, config: Config, data: Any, epochs: int, seed: int, device: str | None = None,
              report: Callable[[int, float, float], str | None] | None = None,
              should_stop: Callable[[], bool] | None = None, checkpoint: Any = None) -> Curves:
        """Train one configuration for `epochs` with `seed`; see the trainer's module for its conventions."""
        return self.fit(config, data, epochs, seed, device, report, should_stop, checkpoint)


def _need(root: Path | None, task: str) -> Path:
    if root is None:
        raise HpoError(f"{task} needs the datasets directory: give --datasets DIR (in a compare file, the "
                       f"problem's 'datasets') or set {DATASETS_ENV} (it holds kin8nm/ and protein/)")
    return root


def _fit_lenet(config, data, epochs, seed, device, report, should_stop, checkpoint) -> Curves:
    from hpo_mab.training.lenet import train_lenet

    out = train_lenet(config, epochs=epochs, seed=seed, device=device, data=data, on_epoch=report,
                      should_stop=should_stop, checkpoint=checkpoint)
    done = len(out["val_acc"]) + (checkpoint["epoch"] if checkpoint else 0)
    interrupted = bool(should_stop and should_stop() and done < epochs)
    return Curves(out["val_acc"], out["test_acc"], out["seconds"], out["cpu_seconds"], interrupted,
                  out["checkpoint"])


def _fit_mlp(config, data, epochs, seed, device, report, should_stop, checkpoint) -> Curves:
    from hpo_mab.training.mlp import train_mlp

    out = train_mlp(config, data, epochs=epochs, seed=seed, report=report, device=device, should_stop=should_stop,
                    checkpoint=checkpoint)
    return Curves(out["val_rmse"], out["test_rmse"], out["seconds"], out["cpu_seconds"], out["interrupted"],
                  out["checkpoint"])


def _digits(root: Path | None) -> Any:
    from hpo_mab.training.lenet import load_digits_split

    return load_digits_split()


def _kin8nm(root: Path | None) -> Any:
    from hpo_mab.training.datasets import load_kin8nm

    return load_kin8nm(_need(root, "kin8nm-mlp"))


PROTEIN_SUBSAMPLE: int | None = 15_000  # rows of a fixed permutation of protein's 45,730 (see the module doc)


def _protein(root: Path | None) -> Any:
    from hpo_mab.training.datasets import load_protein

    return load_protein(_need(root, "protein-mlp"), PROTEIN_SUBSAMPLE)


def _diabetes(root: Path | None) -> Any:
    from hpo_mab.training.datasets import load_diabetes_split

    return load_diabetes_split()


_MLP = dict(space_file="regression-mlp.json", metric=RMSE, test_name="test_rmse", model="DEEP-BO regression MLP",
            trainer="hpo_mab.training.mlp", fit=_fit_mlp)
TASKS: dict[str, Task] = {
    "digits-lenet": Task("digits-lenet", "digits-lenet.json", ACCURACY, "test_acc", 15, 600.0, "sklearn digits 8x8",
                         "LeNet-1 style CNN", "hpo_mab.training.lenet", _digits, _fit_lenet),
    "kin8nm-mlp": Task("kin8nm-mlp", epochs=27, default_budget_s=600.0, dataset="kin8nm (DEEP-BO split)",
                       load=_kin8nm, **_MLP),
    "protein-mlp": Task("protein-mlp", epochs=27, default_budget_s=1800.0,
                        dataset="UCI protein tertiary structure, 60/20/20 split seed 0", load=_protein, **_MLP),
    "diabetes-mlp": Task("diabetes-mlp", epochs=27, default_budget_s=60.0,
                         dataset="sklearn diabetes, 60/20/20 split seed 0 (tests and quick checks)", load=_diabetes,
                         **_MLP),
}


def get_task(name: str) -> Task:
    """A task by name; an unknown name gets one line listing the valid ones."""
    if name not in TASKS:
        raise HpoError(f"unknown training task {name!r}; expected one of {', '.join(TASKS)}")
    return TASKS[name]
