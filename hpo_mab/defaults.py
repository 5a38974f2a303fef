"""Defaults shared by the command line and the Python API, kept in one place.

`run_conf/arms.json` holds the same portfolio for users to copy and edit (a test keeps the two equal).
"""

from __future__ import annotations

DEFAULT_MODE = "DIV"
DEFAULT_STRATEGY = "SEQ"
# The original tool's seven arms: GP and RF with EI, PI and UCB, and TPE.
DEFAULT_ARMS: tuple[tuple[str, str | None], ...] = (
    *((m, a) for m in ("GP", "RF") for a in ("EI", "PI", "UCB")), ("TPE", None))
