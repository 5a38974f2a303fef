"""The one exception type for user errors: the CLI prints it as one line and exits 2."""

from __future__ import annotations


class HpoError(ValueError):
    """A user-facing error: bad input, bad configuration, unknown name."""
