"""The one exception type for user errors: the CLI prints it as one line and exits 2."""

from __future__ import annotations

import argparse


class HpoError(ValueError):
    """A user-facing error: bad input, bad configuration, unknown name."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one HpoError line (exit code 2), like every other user error."""

    def error(self, message: str):
        raise HpoError(f"{message} (see {self.prog} --help)")


def syntax_error_text(exc: BaseException) -> str:
    """A JSON or YAML parse error in one line, with its line and column where the parser gives them (a YAML
    error's own text spreads them over several lines)."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or type(exc).__name__
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def shown(value: object, limit: int = 120) -> str:
    """A value for an error line: its repr, cut to `limit` characters (reprlib keeps a huge or deeply
    aliased YAML value from being expanded whole: a 600-byte alias bomb reached 11 GB with repr)."""
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxstring, short.maxother = 3, 8, 8, limit, limit
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
