"""Helpers for the malformed-input tests: run the CLI in-process, snapshot a directory."""

from __future__ import annotations

from pathlib import Path

from hpo_mab.cli import main


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` with its bytes and mtime (nothing exists: an empty dict)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def refused(capsys, args: list, *expect: str) -> str:
    """Run `hpo-runner ARGS`; assert exit 2 and one stderr line holding each of `expect`; return it."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpo-runner: error: "), err
    assert "Traceback" not in err
    for text in expect:
        assert text in lines[0], lines[0]
    return lines[0]
