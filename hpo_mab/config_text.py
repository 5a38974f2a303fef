"""Configuration files as text -> data: JSON or YAML, refusing what the standard loaders let through silently.

A key given twice (json and yaml keep the last one), and a YAML document that its aliases expand beyond
MAX_VALUES values (a 600-byte "billion laughs" file made a run configuration's error message grow to 11 GB).
`parse_config` raises ValueErrors or YAMLErrors; `read_config` reads a file and turns any failure into one
HpoError line naming it (every configuration loader uses it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hpo_mab.errors import HpoError, syntax_error_text

MAX_VALUES = 100_000  # far more than any configuration holds; counting stops there, so a bomb costs ~0.1 s


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object (json would keep the last one silently)."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    """json's object_pairs_hook: a dict, refusing a key given twice."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"key {key!r} appears more than once in one object")
        out[key] = value
    return out


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader, refusing a key given twice in one mapping (a YAMLError; merge keys `<<` may override)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                twice = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader's own error says so
                break
            if twice:
                raise yaml.constructor.ConstructorError(
                    problem=f"key {key!r} appears more than once in one mapping (line {key_node.start_mark.line + 1})")
        return super().construct_mapping(node, deep=deep)


def check_size(doc: Any) -> None:
    """ValueError when `doc`, with its aliases expanded, holds more than MAX_VALUES values."""
    stack, count = [doc], 0
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ValueError(f"expands to more than {MAX_VALUES:,} values (YAML aliases repeating one another); "
                             "a configuration is far smaller")
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_config(text: str, suffix: str) -> Any:
    """The data of a configuration file's text: JSON for a `.json` suffix, else YAML (safe: plain data only)."""
    if suffix == ".json":
        return json.loads(text, object_pairs_hook=_unique_pairs)
    doc = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    check_size(doc)
    return doc


def read_config(path: Path, what: str, suffix: str | None = None) -> Any:
    """The data of configuration file `path` (`what` it is, for the error line); JSON or YAML by its suffix
    unless `suffix` says which. An unreadable or invalid file is one HpoError line naming it."""
    suffix = path.suffix if suffix is None else suffix
    try:
        return parse_config(path.read_text(encoding="utf-8"), suffix)
    except (OSError, UnicodeDecodeError) as exc:
        raise HpoError(f"{path}: cannot read the {what} ({type(exc).__name__}: {exc})") from None
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        raise HpoError(f"{path}: not valid {'JSON' if suffix == '.json' else 'YAML'}: {syntax_error_text(exc)}") \
            from None
