"""Reading the files of a compare folder: a damaged or foreign file is one HpoError line that names it, says what
is wrong and what was expected, and how to mend it (the CLI prints it and exits 2), never a traceback."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hpo_mab.errors import HpoError, syntax_error_text

Types = Mapping[str, type | tuple[type, ...]]
NUMBER = (int, float)
_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}


def rewrite_hint(path: Path) -> str:
    """How to mend a table: compare rewrites it from the folder's cells."""
    return f"rerun hpo-runner compare SPEC -o {path.parent} to rewrite it from its cells"


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), "a number")


def check_keys(path: Path, doc: Any, keys: Types, hint: str, where: str = "") -> None:
    """HpoError naming `path` (and `where` in it: "" the whole file) unless `doc` is a JSON object holding `keys`
    (name -> type); `hint`: how to mend the file."""
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected {where + ' to be ' if where else ''}a JSON object, but got {_kind(doc)}; "
                       f"{hint}")
    at = f"{where}: " if where else ""
    missing = [k for k in keys if k not in doc]
    if missing:
        raise HpoError(f"{path}: {at}lacks the key(s) {', '.join(missing)}; {hint}")
    for key, kind in keys.items():
        if not isinstance(doc[key], kind):
            raise HpoError(f"{path}: {at}key {key!r} should be {_KINDS.get(kind, 'a number')}, but got "
                           f"{_kind(doc[key])}; {hint}")


def read_json(path: Path, keys: Types | None = None, hint: str | None = None) -> dict[str, Any]:
    """The JSON object in `path`, holding `keys` (name -> type); HpoError naming the file otherwise. `hint`: how to
    mend it (default: `rewrite_hint`)."""
    hint = hint or rewrite_hint(path)
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise HpoError(f"{path}: cannot read it ({exc.strerror or exc}); {hint}") from None
    except json.JSONDecodeError as exc:
        raise HpoError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); expected the "
                       f"JSON hpo-runner compare writes; {hint}") from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, nested too deep
        raise HpoError(f"{path}: not valid JSON ({syntax_error_text(exc)}); {hint}") from None
    check_keys(path, doc, keys or {}, hint)
    return doc


def read_csv(path: Path, columns: Sequence[str], **kwargs: Any) -> pd.DataFrame:
    """The CSV table in `path` (gzip where its name ends in .gz) with at least `columns`; `kwargs` go to
    `pandas.read_csv`. HpoError naming the file where it is not one (empty, not gzip, cut short, a bad value)."""
    what = "the gzip-compressed CSV table" if path.suffix == ".gz" else "the CSV table"
    try:
        frame = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise HpoError(f"{path}: empty; expected {what} hpo-runner compare writes; {rewrite_hint(path)}") from None
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # BadGzipFile is an OSError, ParserError a ValueError
        raise HpoError(f"{path}: not {what} hpo-runner compare writes ({syntax_error_text(exc)}); "
                       f"{rewrite_hint(path)}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise HpoError(f"{path}: lacks the column(s) {', '.join(missing)} of {what} hpo-runner compare writes; "
                       f"{rewrite_hint(path)}")
    return frame
