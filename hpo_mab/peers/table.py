"""Peers on a lookup table, on the terms our arms get: the same simulated clock, budget and row rule.

Each step the peer asks for a configuration; the nearest row (in our unit-cube encoding) is evaluated if no
trial of the run has taken it, else the nearest unused row (a *move*). Where the asked configuration is not a
row of the table (continuous parameters, as on digits-lenet) its nearest unused row is a *snap*, not a move.
Either way the peer is told the configuration of the row evaluated, with its loss. Evaluation draws (which
seed of a row is observed) and the peer's seed come from the run's SeedSequence exactly as in our runner
(`opt_seq, eval_seq = seq.spawn(2)`), so run i of a peer and run i of an arm observe the same draws.

An `EpochPeer` (Optuna's TPE with a pruner) is told which configuration starts and then sees the row's
recorded curve epoch by epoch, as a loss, through the backend's report callback; a trial it stops is journaled
`stopped` with the peer's `stop_reason`, and the simulated clock is charged only the epochs it ran. Every record
carries its epochs, curve and test value as the runner's records do; `loss` is set only for complete trials.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo_mab.arms import TableCandidates
from hpo_mab.backends.base import Decision
from hpo_mab.backends.lookup import LookupBackend
from hpo_mab.history import History, Trial
from hpo_mab.peers.base import EpochPeer, Peer, same_config
from hpo_mab.surrogates import Table


@dataclass
class PeerRun:
    """One peer run's trial records (journal-shaped dicts) and its counts of moves and snaps."""

    records: list[dict[str, Any]] = field(default_factory=list)
    moves: int = 0
    snaps: int = 0
    ask_seconds: list[float] = field(default_factory=list)


def run_on_table(peer: Peer, table: Table, eval_seq: np.random.SeedSequence, budget: float,
                 max_trials: int | None = None, run: int = 0) -> PeerRun:
    """Run `peer` on `table` until the simulated clock reaches `budget` (or `max_trials`, or no row is left)."""
    candidates = TableCandidates(table.space, table.encoded, table.config)
    history = History(table.space.n_dims)
    backend = LookupBackend(table)
    draws = np.random.default_rng(eval_seq)
    out = PeerRun()
    while backend.clock.now < budget and not candidates.exhausted(history):
        if max_trials is not None and len(history) >= max_trials:
            break
        start = time.perf_counter()
        asked = peer.ask()
        out.ask_seconds.append(time.perf_counter() - start)
        x = table.space.encode(asked)
        _, nearest = candidates.tree.query(x, k=1)
        moved = int(nearest) in history.visited_rows
        nominee = candidates.nearest(x, history)
        snapped = not moved and not same_config(table.space, asked, nominee.config)
        out.moves += moved
        out.snaps += snapped
        stops: list[int] = []
        report = None
        if isinstance(peer, EpochPeer):
            peer.start(nominee.config)
            report = functools.partial(_watch, peer, table.metric.to_loss, stops)
        result = backend.run_trial(nominee, draw=float(draws.random()), deadline=budget, report=report)
        value = result.value
        finite = result.state == "complete" and value is not None and math.isfinite(value)
        loss = float(table.metric.to_loss(value)) if finite else None  # a trial cut by the budget teaches nothing
        reason = peer.stop_reason if result.state == "stopped" and stops else result.reason
        info = {"asked": asked, "moved": True} if moved else {"asked": asked} if snapped else {}
        record = Trial(run, len(history), peer.name, nominee.config, result.state, row=nominee.row,
                       reason=reason, epochs=result.epochs, curve=result.curve, value=value, loss=loss,
                       test=result.test, clock=backend.clock.now, seconds=result.seconds,
                       proposal_seconds=out.ask_seconds[-1], info=info)
        history.append(record, nominee.x)
        out.records.append(record.to_dict())
        peer.tell(nominee.config, loss)
    return out


def _watch(peer: EpochPeer, to_loss: Callable[[float], float], stops: list[int], epoch: int, value: float,
           seconds: float) -> str:
    """The backend's report callback for an EpochPeer: its loss to the peer, the peer's answer back (a stop is
    noted in `stops`, so that the journal can tell a peer's stop from the budget's)."""
    if peer.report(epoch, float(to_loss(value))):
        stops.append(epoch)
        return Decision.STOP
    return Decision.CONTINUE
