"""The output directory: checked before anything is written, created only when a run starts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hpo_mab.errors import HpoError

# Everything an experiment writes into OUTDIR (--overwrite removes these, and nothing else).
OUTPUTS = ("journal.jsonl", "runs.jsonl", "experiment.json", "summary.json", "trials.csv", "convergence.png")


def check_outdir(outdir: str | Path, option: str = "-o") -> Path:
    """OUTDIR as a Path, if it is a directory or can become one; HpoError naming the obstacle otherwise."""
    if str(outdir).strip() == "":
        raise HpoError(f"{option} must name a directory, but got an empty string")
    try:
        return _check_outdir(Path(outdir), outdir, option)
    except OSError as exc:  # a name too long for the file system, a loop of links, ...
        raise HpoError(f"{option} {str(outdir)[:200]}: unusable ({exc.strerror or exc})") from None


def _check_outdir(path: Path, outdir: str | Path, option: str) -> Path:
    if path.exists() and not path.is_dir():
        raise HpoError(f"{option} {outdir}: exists and is not a directory")
    parent = path
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise HpoError(f"{option} {outdir}: {parent} is a file, so the directory cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK) and parent != path:
        raise HpoError(f"{option} {outdir}: cannot create a directory in {parent} (no write permission)")
    if path.exists() and not os.access(path, os.W_OK | os.X_OK):
        raise HpoError(f"{option} {outdir}: the directory is not writable")
    for name in OUTPUTS:
        if (path / name).exists() and not (path / name).is_file():
            raise HpoError(f"{option} {outdir}: {name} there is not a file, so the run cannot write it; "
                           "move it away or use another -o")
    return path


def make_outdir(path: Path, option: str = "-o") -> None:
    """Create OUTDIR (and its parents); an OS refusal becomes one HpoError line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HpoError(f"{option} {path}: cannot create the directory ({exc.strerror or exc})")


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file holding one object, or HpoError naming the file and what is wrong."""
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise HpoError(f"{path}: cannot read it ({exc.strerror or exc})")
    except (ValueError, RecursionError) as exc:
        raise HpoError(f"{path}: not valid JSON ({str(exc).splitlines()[0] if str(exc) else 'empty'}); "
                       "it was not written by hpo-runner, or was cut short")
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected a JSON object, but got {type(doc).__name__}")
    return doc
