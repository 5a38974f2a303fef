"""The journal: one JSON line per trial, appended and flushed at once, read back for resume and analysis.

A kill loses at most the line being written; `read_journal` drops a torn last line (and `Journal`
truncates it before appending), so a resumed run records every trial exactly once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson

from hpo_mab.errors import HpoError
from hpo_mab.history import Trial

WALL_CLOCK_FIELDS = ("proposal_seconds",)
# orjson rather than the standard json module: a trial's line took 15.7 us with json's C encoder and 1.6 us
# with orjson, a quarter of a random-arm table replay (issue 2's 20,000 trials/s). It writes NaN as null.
_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """All complete records of a journal (a torn last line is ignored)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # torn last line: the trial in flight when the run was killed
                break
            raise HpoError(f"{path}: line {i + 1} is not valid JSON")
    return records


class Journal:
    """Appends trials to a JSON-lines file, flushing after each one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._drop_torn_tail()
        self._fh = open(self.path, "ab")

    def _drop_torn_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            os.truncate(self.path, data.rfind(b"\n") + 1)

    def write(self, trial: Trial) -> None:
        self._fh.write(orjson.dumps(trial.__dict__, option=_DUMP_OPTIONS) + b"\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def trial_record(trial: Trial) -> dict[str, Any]:
    """The journal's record of a trial (a shallow copy: faster than dataclasses.asdict)."""
    return dict(trial.__dict__)


def trial_from_record(record: dict[str, Any]) -> Trial:
    return Trial(**record)
