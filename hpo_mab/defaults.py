"""Defaults shared by the command line and the Python API, kept in one place.

`run_conf/arms.json` holds the same portfolio for users to copy and edit (a test keeps the two equal).
"""

from __future__ import annotations

DEFAULT_MODE = "DIV"
# Chosen on the development tables only by issue 8's study (experiments/results/study/dev_choice.json): GT had
# the best mean rank of the 12 DIV strategies (4.83, tied with SEQ and ahead on the tie-break, the mean rank
# over (table, run) blocks); no difference between them was significant there (Friedman p = 0.88).
DEFAULT_STRATEGY = "GT"
# The original tool's seven arms: GP and RF with EI, PI and UCB, and TPE.
DEFAULT_ARMS: tuple[tuple[str, str | None], ...] = (
    *((m, a) for m in ("GP", "RF") for a in ("EI", "PI", "UCB")), ("TPE", None))
