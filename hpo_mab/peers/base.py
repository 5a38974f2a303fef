"""The peer interface: another library's optimizer behind ask/tell, in our parameter kinds and our values.

A peer asks for a configuration (a dict of our values) and is told the configuration that was actually
evaluated with its loss (minimised; None for a failed evaluation). On a lookup table the evaluated
configuration is a table row and may differ from the one asked (see `hpo_mab.peers.table`); the peer then
learns the evaluated one, never the asked one.

A peer that also watches each epoch of the trial it runs (Optuna's pruners) is an `EpochPeer`: before the
evaluation it is told which configuration starts, then each epoch's loss, and may answer stop.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from hpo_mab.space import Config, Space


class Peer(Protocol):
    """Ask/tell over one `Space`; every random choice comes from the seed it was built with."""

    name: str

    def ask(self) -> Config:
        """The next configuration to evaluate, in the space's own values."""
        ...

    def tell(self, config: Config, loss: float | None) -> None:
        """Record the evaluation of `config`: the last ask, the configuration evaluated in its place, or with no
        ask pending an observation made elsewhere (a warm start)."""
        ...


@runtime_checkable
class EpochPeer(Peer, Protocol):
    """A peer that sees the evaluated configuration's curve epoch by epoch and may stop it early."""

    stop_reason: str  # the journal's reason for a trial this peer stopped

    def start(self, config: Config) -> None:
        """The evaluation of `config` (the last ask or the configuration evaluated in its place) begins."""
        ...

    def report(self, epoch: int, loss: float) -> bool:
        """The started trial's loss after `epoch` (counted from 1); True to stop it there."""
        ...


def same_config(space: Space, a: Config, b: Config) -> bool:
    """Whether two configurations encode to the same point (numbers compared with a tolerance)."""
    return bool(np.allclose(space.encode(a), space.encode(b), rtol=0.0, atol=1e-9))


def seed_int(seed: int | np.random.SeedSequence) -> int:
    """A 32-bit integer seed for a library that takes one, from an integer or a SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.generate_state(1)[0])
    return int(seed)
