"""Names of the arms, acquisitions and strategies, for `hpo-runner list` without importing the models.

Importing the arms costs 0.7 s (scipy, scikit-learn); `list` answers in well under a second from these
tuples. tests/test_cli.py checks them against the registries (`ARMS`, `ACQUISITIONS`, `STRATEGIES`,
`SCHEDULERS`): a new arm, strategy or scheduler adds its name here too.
"""

from __future__ import annotations

ARM_NAMES = ("RANDOM", "GP", "RF", "TPE", "GP-HLE", "RF-HLE", "TPE-HLE", "GRID", "ANNEAL", "EVOLUTION")
ACQUISITION_NAMES = ("EI", "PI", "UCB")
WITH_ACQUISITION = ("GP", "RF", "GP-HLE", "RF-HLE")
STRATEGY_NAMES = ("SEQ", "RANDOM", "HEDGE", "HEDGE-ORIG", "EXP3", "BO-HEDGE", "BO-HEDGE-LE", "BO-HEDGE-T",
                  "BO-HEDGE-LET", "EG", "EG-LE", "GT", "GT-LE", "SKO")
MODES = ("DIV", *ARM_NAMES)
SCHEDULER_NAMES = ("SHA", "ASHA", "HYPERBAND", "BOHB", "MEDIAN", "DECATERCET", "PENTATERCET", "TETRATERCET",
                   "EXTRAPOLATION")
CANDIDATE_CHOICES = ("auto", "table", "continuous")  # where a live task's arms look (--candidates)


def arm_names() -> list[str]:
    """Every arm as a journal names it: GP-EI, ..., TPE, RANDOM, ..."""
    return [f"{m}-{a}" for m in WITH_ACQUISITION for a in ACQUISITION_NAMES] + \
        [m for m in ARM_NAMES if m not in WITH_ACQUISITION]
