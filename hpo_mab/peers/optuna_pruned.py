"""Optuna's TPE with its pruners as peers: optuna-tpe-sha, optuna-tpe-hyperband and optuna-tpe-median.

The sampler is the `optuna-tpe` peer's, `TPESampler(seed=...)` at Optuna's defaults. The pruners, at
Optuna's defaults except where said:

- `optuna-tpe-sha`: `SuccessiveHalvingPruner()` (Jamieson & Talwalkar 2016; Li et al. 2018 for the
  asynchronous form Optuna implements): min_resource "auto" (the first complete trial's last step // 100,
  at least 1; nothing is pruned before a trial completes), reduction_factor 4, min_early_stopping_rate 0.
  Nothing is set: the pruner takes no maximum resource.
- `optuna-tpe-hyperband`: `HyperbandPruner(min_resource=1, max_resource=E, reduction_factor=3)` (Li et al.,
  JMLR 2018) with E the table's number of epochs. min_resource 1 and reduction_factor 3 are Optuna's defaults,
  written out; max_resource is set because a peer gets what our schedulers get, the table's number of epochs
  as the maximum resource (Optuna's "auto" would take the first complete trial's last step, the same E on a
  table, but only once a trial has completed).
- `optuna-tpe-median`: `MedianPruner()`: n_startup_trials 5, n_warmup_steps 0, interval_steps 1.

Nothing else about the table reaches a peer. Each trial is the configuration actually evaluated: when the
table row differs from the asked configuration, the asked trial is told FAIL (as the `optuna-tpe` peer does)
and the row's configuration is enqueued and asked (`study.enqueue_trial`), so the trial that reports, and
that the pruners compare, is the evaluated one. After each epoch the trial reports its loss (minimised: a
maximised metric's sign is flipped, as for the other peers) with `trial.report(loss, epoch)` and asks
`trial.should_prune()`, except after the last epoch, when the curve is complete and the trial is COMPLETE (as
our schedulers' trials are). A pruned trial is told PRUNED (Optuna gives it its last reported value and TPE
models it as a pruned trial); one cut by the time budget is told FAIL.

The study is named after the peer: HyperbandPruner puts a trial in a bracket by a hash of the study's name
and the trial's number, and Optuna's default study name is random, which would break same seed, same journal.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hpo_mab.peers.base import same_config
from hpo_mab.peers.optuna_peer import OptunaPeer, to_optuna
from hpo_mab.space import Config, Space

PRUNED_PEERS = ("optuna-tpe-sha", "optuna-tpe-hyperband", "optuna-tpe-median")


def make_pruner(name: str, max_resource: int | None) -> Any:
    """The Optuna pruner of a pruned peer (see the module docstring); `max_resource` None: Optuna's "auto"."""
    import optuna

    if name == "optuna-tpe-sha":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "optuna-tpe-hyperband":
        top = "auto" if max_resource is None else int(max_resource)
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=top, reduction_factor=3)
    if name == "optuna-tpe-median":
        return optuna.pruners.MedianPruner()
    raise ValueError(f"unknown pruned Optuna peer {name!r}; expected one of {', '.join(PRUNED_PEERS)}")


class PrunedOptunaPeer(OptunaPeer):
    """Optuna's TPE whose pruner watches each evaluated trial epoch by epoch (an `EpochPeer`)."""

    def __init__(self, name: str, space: Space, seed: int | np.random.SeedSequence,
                 max_resource: int | None = None) -> None:
        pruner = make_pruner(name, max_resource)
        super().__init__(name, space, seed, sampler="optuna-tpe", pruner=pruner)
        self.max_resource = max_resource
        self.stop_reason = f"pruned by optuna {type(pruner).__name__}"
        self._running: tuple[Any, Config] | None = None
        self._pruned = False

    def start(self, config: Config) -> None:
        """Begin the Optuna trial of `config`: the pending ask's, or (another configuration) an enqueued one."""
        from optuna.trial import TrialState

        if self._asked is None or self._running is not None:
            raise RuntimeError(f"{self.name}: start() needs an ask() and no trial running")
        trial, asked = self._asked
        self._asked = None
        if not same_config(self.space, asked, config):
            self.study.tell(trial, state=TrialState.FAIL)  # not evaluated: Optuna learns nothing from it
            self.study.enqueue_trial(to_optuna(self.space, config))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trial = self.study.ask(self.distributions)
        self._running, self._pruned = (trial, config), False

    def report(self, epoch: int, loss: float) -> bool:
        """Report the running trial's loss after `epoch`; True when Optuna's pruner prunes it."""
        if self._running is None:
            raise RuntimeError(f"{self.name}: report() before start()")
        trial = self._running[0]
        trial.report(float(loss), int(epoch))
        if self.max_resource is not None and epoch >= self.max_resource:
            return False  # the curve is complete: nothing left to save
        self._pruned = bool(trial.should_prune())
        return self._pruned

    def tell(self, config: Config, loss: float | None) -> None:
        """End the running trial: COMPLETE with a finite loss, else PRUNED if the pruner stopped it, else FAIL.
        Without a running trial (plain ask/tell, a warm start) this is the `optuna-tpe` peer's tell."""
        from optuna.trial import TrialState

        if self._running is None:
            super().tell(config, loss)
            return
        trial, started = self._running
        if not same_config(self.space, started, config):
            raise RuntimeError(f"{self.name}: tell() of {config}, but the running trial is {started}")
        self._running = None
        if loss is not None and bool(np.isfinite(loss)):
            self.study.tell(trial, float(loss))
        else:
            self.study.tell(trial, state=TrialState.PRUNED if self._pruned else TrialState.FAIL)
