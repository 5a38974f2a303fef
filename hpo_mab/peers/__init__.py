"""Peers: other libraries' optimizers behind one ask/tell interface, for comparisons on equal terms.

    peer = make_peer("optuna-tpe", space, seed)         # ask/tell in our configurations
    run = run_peer_on_table(table, "hyperopt-tpe", seq)  # one seeded run on a lookup table
    run = run_peer_on_table(table, "optuna-tpe-sha", seq)  # pruned: epoch by epoch, stopped trials journaled

Names: optuna-tpe (Optuna's TPESampler at its defaults), optuna-tpe-mv (`multivariate=True`; since Optuna 5.0
TPESampler's defaults are multivariate with constant liar, so there the two are the same sampler), optuna-tpe-uni
(univariate TPE without constant liar: Optuna 4's defaults), optuna-gp
(GPSampler), optuna-random (RandomSampler), hyperopt-tpe (Hyperopt's TPE). PRUNED_PEERS, for tables with
per-epoch curves: optuna-tpe-sha, optuna-tpe-hyperband, optuna-tpe-median (optuna-tpe with Optuna's
SuccessiveHalvingPruner, HyperbandPruner, MedianPruner; see `hpo_mab.peers.optuna_pruned`). Optuna and
Hyperopt come with the `peers` extra (`pip install -c constraints.txt -e '.[peers]'`).
"""

from __future__ import annotations

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.peers.base import EpochPeer, Peer, same_config, seed_int
from hpo_mab.peers.optuna_pruned import PRUNED_PEERS
from hpo_mab.peers.table import PeerRun, run_on_table
from hpo_mab.space import Space
from hpo_mab.surrogates import Table

PEERS = ("optuna-tpe", "optuna-tpe-mv", "optuna-gp", "hyperopt-tpe", "optuna-random", "optuna-tpe-uni")

__all__ = ["PEERS", "PRUNED_PEERS", "EpochPeer", "Peer", "PeerRun", "make_peer", "run_on_table", "run_peer_on_table",
           "same_config", "seed_int"]


def make_peer(name: str, space: Space, seed: int | np.random.SeedSequence, max_resource: int | None = None) -> Peer:
    """A peer by name over `space`, seeded (an int, or a SeedSequence whose first word is the seed);
    `max_resource` (the number of epochs) is for the pruned peers (None: Optuna's "auto")."""
    if name in PRUNED_PEERS:
        from hpo_mab.peers.optuna_pruned import PrunedOptunaPeer

        return PrunedOptunaPeer(name, space, seed, max_resource)
    if name == "hyperopt-tpe":
        from hpo_mab.peers.hyperopt_peer import HyperoptPeer

        return HyperoptPeer(space, seed)
    if name in PEERS:
        from hpo_mab.peers.optuna_peer import OptunaPeer

        return OptunaPeer(name, space, seed)
    raise HpoError(f"unknown peer {name!r}; expected one of {', '.join(PEERS + PRUNED_PEERS)}")


def run_peer_on_table(table: Table, name: str, seq: int | np.random.SeedSequence, budget: float | None = None,
                      max_trials: int | None = None, run: int = 0) -> PeerRun:
    """One seeded run of a peer on a table (budget: the table's default); the peer's seed and the evaluation
    draws are spawned from `seq` as our runner spawns a run's (see `hpo_mab.peers.table`)."""
    if name in PRUNED_PEERS and table.n_epochs < 2:
        raise HpoError(f"peer {name!r} prunes by epoch and needs a table with per-epoch curves, but table "
                       f"{table.name!r} has {table.n_epochs} epoch")
    seq = seq if isinstance(seq, np.random.SeedSequence) else np.random.SeedSequence(seq)
    peer_seq, eval_seq = seq.spawn(2)
    peer = make_peer(name, table.space, peer_seq, table.n_epochs if name in PRUNED_PEERS else None)
    span = table.default_budget_s if budget is None else float(budget)
    return run_on_table(peer, table, eval_seq, span, max_trials, run)
