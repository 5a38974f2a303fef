"""Hyperband (Li et al., JMLR 2018) and its model-based form (BOHB-style, Falkner et al. 2018).

Hyperband runs the brackets of `brackets.hyperband_brackets` one after another, s = s_max down to 0, and
starts again; each bracket is synchronous successive halving (`SyncHalving`). Which configurations enter a
bracket is the arms' business: `-m RANDOM` is the original Hyperband; with a model arm (or a DIV strategy
over arms) the proposals come from the observations at the largest epoch that enough trials reached
(model data `largest`, the default under every scheduler), which is BOHB's rule; `BOHB` names that
combination and refuses another model data.
"""

from __future__ import annotations

from hpo_mab.schedulers.brackets import hyperband_brackets
from hpo_mab.schedulers.sha import COMMON_OPTIONS, SyncHalving, check_resources


class Hyperband(SyncHalving):
    """Hyperband's brackets in turn; option `variant`: `floor` (the seed documents' table) or `ceil`
    (Algorithm 1 read literally)."""

    name = "HYPERBAND"
    OPTIONS = {**COMMON_OPTIONS, "variant": "floor"}

    def bracket_plans(self) -> list[list[tuple[int, int]]]:
        low, self.eta = check_resources(self.name, self.max_epochs, self.options)
        plan = hyperband_brackets(self.max_epochs, self.eta, low, variant=self.options["variant"])
        return [list(bracket.rungs) for bracket in plan]


class BOHB(Hyperband):
    """Hyperband whose new configurations come from the arms modelling the largest resource with enough
    observations (model data `largest`)."""

    name = "BOHB"
    model_data = "largest"
