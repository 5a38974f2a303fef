"""hpo_mab: hyperparameter optimization as a multi-armed bandit over optimizers.

The public names load on first use (PEP 562), so `hpo-runner list` does not pay for the models' imports.
"""

from __future__ import annotations

from typing import Any

from hpo_mab.errors import HpoError

__all__ = ["HpoError", "Optimizer", "Param", "Space", "load_space"]
__version__ = "0.1.0"
_LAZY = {"Optimizer": "hpo_mab.optimizer", "Param": "hpo_mab.space", "Space": "hpo_mab.space",
         "load_space": "hpo_mab.space"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hpo_mab' has no attribute {name!r}")
