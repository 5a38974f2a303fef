"""Arms: random search, GP and RF with EI/PI/UCB, and TPE, all over the same candidates."""

from hpo_mab.arms.base import ARM_OPTIONS, ARMS, Arm, ModelArm, RandomArm, TPEArm, make_arm
from hpo_mab.arms.candidates import Candidates, ContinuousCandidates, Nominee, TableCandidates

__all__ = ["ARM_OPTIONS", "ARMS", "Arm", "Candidates", "ContinuousCandidates", "ModelArm", "Nominee", "RandomArm",
           "TPEArm", "TableCandidates", "make_arm"]
