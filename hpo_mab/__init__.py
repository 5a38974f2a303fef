"""hpo_mab: hyperparameter optimization as a multi-armed bandit over optimizers."""

from hpo_mab.errors import HpoError
from hpo_mab.optimizer import Optimizer
from hpo_mab.space import Param, Space, load_space

__all__ = ["HpoError", "Optimizer", "Param", "Space", "load_space"]
__version__ = "0.1.0"
