"""Import shim: the peers live in `hpo_mab.peers` (issue 8); these names keep older scripts working."""

from __future__ import annotations

from typing import Any

from hpo_mab.peers import PEERS, PeerRun, make_peer, run_peer_on_table  # noqa: F401
from hpo_mab.peers.optuna_peer import make_sampler  # noqa: F401
from hpo_mab.peers.optuna_peer import optuna_distributions as _distributions
from hpo_mab.space import Space


def optuna_distributions(table_or_space: Any) -> dict:
    """Optuna distributions of a table's (or a space's) parameters, ordered lists as ordered indices."""
    return _distributions(table_or_space if isinstance(table_or_space, Space) else table_or_space.space)


def run_optuna_on_table(table: Any, name: str, seed: int, budget: float, max_trials: int | None = None) -> PeerRun:
    """One seeded peer run on a table; `.repeats` is the number of moves (asked row already taken)."""
    run = run_peer_on_table(table, name, seed, budget, max_trials)
    run.repeats = run.moves  # type: ignore[attr-defined]
    return run
