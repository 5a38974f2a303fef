"""Lookup-table surrogates: the format, our own tables on disk, and the literature tables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from hpo_mab.errors import HpoError
from hpo_mab.surrogates.literature import LITERATURE_TABLES, load_literature_table
from hpo_mab.surrogates.table import Metric, Table, load_table, save_table

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "surrogates"


def own_table_names(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of the tables built by this project's builder and shipped in `surrogates/`."""
    return sorted(p.name[: -len(".npz")] for p in Path(directory).glob("*.npz") if ".tmp" not in p.name and p.is_file())


def table_names(directory: Path = DEFAULT_DIR) -> list[str]:
    return own_table_names(directory) + list(LITERATURE_TABLES)


@lru_cache(maxsize=4)
def get_table(name: str, directory: Path = DEFAULT_DIR) -> Table:
    """A table by name (own tables first, then literature), or by path to an .npz file."""
    if name.endswith(".npz"):
        if not Path(name).is_file():
            raise HpoError(f"{name}: no such lookup-table file")
        return load_table(name)
    path = Path(directory) / f"{name}.npz"
    if path.is_file():
        return load_table(path)
    if name in LITERATURE_TABLES:
        return load_literature_table(name)
    where = "" if Path(directory).is_dir() else f" (--surrogates-dir {directory}: no such directory)"
    raise HpoError(f"unknown surrogate {name!r}{where}; expected one of {', '.join(table_names(directory))}")


__all__ = ["DEFAULT_DIR", "LITERATURE_TABLES", "Metric", "Table", "get_table", "load_table", "save_table",
           "table_names"]
