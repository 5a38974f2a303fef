"""The one exception type for user errors: the CLI prints it as one line and exits 2."""

from __future__ import annotations

import argparse


class HpoError(ValueError):
    """A user-facing error: bad input, bad configuration, unknown name."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one HpoError line (exit code 2), like every other user error."""

    def error(self, message: str):
        raise HpoError(f"{message} (see {self.prog} --help)")
