"""Search spaces: parameter kinds, the unit-cube encoding, and file loaders."""

from hpo_mab.space.loaders import load_space
from hpo_mab.space.params import KINDS, Param
from hpo_mab.space.space import Config, Space, space_from_dict, space_to_dict

__all__ = ["KINDS", "Config", "Param", "Space", "load_space", "space_from_dict", "space_to_dict"]
