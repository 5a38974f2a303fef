"""Peers on a lookup table, on the terms our arms get: the same simulated clock, budget and row rule.

Each step the peer asks for a configuration; the nearest row (in our unit-cube encoding) is evaluated if no
trial of the run has taken it, else the nearest unused row (a *move*). Where the asked configuration is not a
row of the table (continuous parameters, as on digits-lenet) its nearest unused row is a *snap*, not a move.
Either way the peer is told the configuration of the row evaluated, with its loss. Evaluation draws (which
seed of a row is observed) and the peer's seed come from the run's SeedSequence exactly as in our runner
(`opt_seq, eval_seq = seq.spawn(2)`), so run i of a peer and run i of an arm observe the same draws.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo_mab.arms import TableCandidates
from hpo_mab.backends.lookup import LookupBackend
from hpo_mab.history import History, Trial
from hpo_mab.peers.base import Peer, same_config
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
        result = backend.evaluate(nominee.row, draw=float(draws.random()), deadline=budget)
        value = result.value
        finite = result.state == "complete" and value is not None and math.isfinite(value)
        loss = float(table.metric.to_loss(value)) if finite else None  # a trial cut by the budget teaches nothing
        info = {"asked": asked, "moved": True} if moved else {"asked": asked} if snapped else {}
        record = Trial(run, len(history), peer.name, nominee.config, result.state, row=nominee.row, value=value,
                       loss=loss, clock=backend.clock.now, seconds=result.seconds,
                       proposal_seconds=out.ask_seconds[-1], reason=result.reason, info=info)
        history.append(record, nominee.x)
        out.records.append(record.to_dict())
        peer.tell(nominee.config, loss)
    return out
