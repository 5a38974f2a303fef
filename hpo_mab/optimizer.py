"""The ask/tell optimizer: an initial Sobol design, then a strategy picks an arm and the arm proposes.

    opt = Optimizer(space, mode="GP", spec="EI", direction="min", seed=0)
    cfg = opt.ask(); opt.tell(cfg, value)      # opt.tell(cfg, None) records a failure
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo_mab.arms import Arm, Candidates, ContinuousCandidates, Nominee, make_arm
from hpo_mab.arms.fits import SharedFits, child_generator
from hpo_mab.errors import HpoError
from hpo_mab.history import FINISHED, History, Trial
from hpo_mab.space import Config, Space
from hpo_mab.strategies import SingleArm, Strategy, StrategyContext

INIT_ARM = "INIT"


@dataclass
class Proposal:
    """What `ask` chose: the nominee, the arm that proposed it, and what the journal records about it."""

    nominee: Nominee
    arm: str
    proposal_seconds: float
    info: dict[str, Any] = field(default_factory=dict)
    nominees: Mapping[str, Nominee] | None = None

    @property
    def config(self) -> Config:
        return self.nominee.config


def _key(config: Mapping[str, Any]) -> str:
    """A configuration's identity for matching tell() to ask() (an equal dict matches)."""
    return json.dumps(config, sort_keys=True, default=str)


def n_initial(space: Space) -> int:
    """max(d + 1, 5) initial Sobol points, d the number of parameters."""
    return max(len(space.params) + 1, 5)


def build_portfolio(mode: str, spec: str | None, arms: Sequence[tuple[str, str | None]] | None,
                    context: StrategyContext,
                    arm_options: Mapping[str, Any] | None = None) -> tuple[dict[str, Arm], Strategy]:
    """Arms and strategy for a mode: a single model (`GP`, `RF`, `TPE`, `RANDOM`) or `DIV`.

    `arm_options`: the model arms' options (`hpo_mab.arms.ARM_OPTIONS`), the same for every arm."""
    from hpo_mab.strategies import STRATEGIES  # late: strategies register themselves on import

    mode = mode.upper()
    if mode == "DIV":
        if not arms:
            raise HpoError("DIV mode needs a non-empty 'arms' list in the run configuration")
        built = [make_arm(m, a, metric=context.metric, options=arm_options) for m, a in arms]
        name = (spec or "SEQ").upper()
        if name not in STRATEGIES:
            raise HpoError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES) or '(none yet)'}")
        return {a.name: a for a in built}, STRATEGIES[name](context)
    if mode in ("GP", "RF", "GP-HLE", "RF-HLE"):
        arm = make_arm(mode, spec or "EI", metric=context.metric, options=arm_options)
    else:
        arm = make_arm(mode, None if spec is None or spec.upper() == mode else spec, metric=context.metric,
                       options=arm_options)
    return {arm.name: arm}, SingleArm()


class Optimizer:
    """Ask/tell over a Space; the runner and a user's own loop both use it."""

    def __init__(self, space: Space, mode: str = "GP", spec: str | None = None, direction: str = "min",
                 seed: int | np.random.SeedSequence = 0, candidates: Candidates | None = None,
                 arms: Sequence[tuple[str, str | None]] | None = None, run: int = 0,
                 n_init: int | None = None, metric: Any = None, oracle: Callable[[int], float] | None = None,
                 strategy_options: Mapping[str, Any] | None = None,
                 arm_options: Mapping[str, Any] | None = None) -> None:
        if direction not in ("min", "max"):
            raise HpoError(f"direction must be 'min' or 'max', but got {direction!r}")
        self.space, self.direction, self.run = space, direction, run
        self.candidates = candidates or ContinuousCandidates(space)
        context = StrategyContext(space, direction, metric, oracle, options=strategy_options)
        self.arms, self.strategy = build_portfolio(mode, spec, arms, context, arm_options)
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        init_seq, arm_seq, strategy_seq = seq.spawn(3)
        # One generator per arm, keyed by its name, and one per shared model: adding an arm to a portfolio
        # changes no other arm's draws.
        self.arm_rngs = {name: child_generator(arm_seq, name) for name in self.arms}
        self.fits = SharedFits(space, np.random.SeedSequence(arm_seq.entropy, spawn_key=(*arm_seq.spawn_key, 0)))
        for arm in self.arms.values():
            inner = getattr(arm, "inner", arm)
            if hasattr(inner, "fits"):
                inner.fits = self.fits
        self.strategy_rng = np.random.default_rng(strategy_seq)
        self.n_init = n_initial(space) if n_init is None else n_init
        self._init_points = space.sobol(self.n_init, np.random.default_rng(init_seq))
        self.history = History(space.n_dims)
        self._pending: dict[str, list[Proposal]] = {}

    # -- proposing ---------------------------------------------------------------------------------
    def propose(self) -> Proposal:
        """The next proposal (initial design first), timed."""
        start = time.perf_counter()
        k = len(self.history)
        if k < self.n_init:
            nominee = self.candidates.nearest(self._init_points[k], self.history)
            return Proposal(nominee, INIT_ARM, time.perf_counter() - start, {"initial_design": True})
        names = list(self.arms)
        nominees = None
        if self.strategy.wants_nominees:
            nominees = {n: self.arms[n].propose(self.space, self.history, self.candidates, self.arm_rngs[n])
                        for n in names}
        state_before = self.strategy.state()
        name = self.strategy.select(names, self.history, self.strategy_rng, nominees)
        nominee = nominees[name] if nominees else self.arms[name].propose(
            self.space, self.history, self.candidates, self.arm_rngs[name])
        info = dict(nominee.info)
        if state_before:
            info["strategy"] = state_before
        return Proposal(nominee, name, time.perf_counter() - start, info, nominees)

    def ask(self) -> Config:
        """Propose a configuration (a user's loop); remember it until it is told."""
        proposal = self.propose()
        self._pending.setdefault(_key(proposal.nominee.config), []).append(proposal)
        return dict(proposal.nominee.config)

    # -- recording ---------------------------------------------------------------------------------
    def record(self, trial: Trial, proposal: Proposal) -> None:
        """Add a finished, stopped or failed trial to the history and let the strategy learn."""
        self.history.append(trial, proposal.nominee.x)
        if proposal.arm != INIT_ARM:
            self.strategy.update(trial, self.history, proposal.nominees)

    def make_trial(self, proposal: Proposal, value: float | None, **fields: Any) -> Trial:
        """A Trial for `proposal` with its final `value` (None or NaN: failed)."""
        bad = value is None or not math.isfinite(float(value))
        loss = None if bad else (-float(value) if self.direction == "max" else float(value))
        if "state" not in fields:
            fields["state"] = "failed" if bad else ("init" if proposal.arm == INIT_ARM else "complete")
        best = self.history.best
        counts = fields["state"] in FINISHED and loss is not None
        best_loss = loss if counts and (best is None or loss < best.loss) else (best.loss if best else None)
        if bad and "reason" not in fields:
            fields["reason"] = "no value" if value is None else f"non-finite value {value}"
        return Trial(run=self.run, number=len(self.history), arm=proposal.arm, config=proposal.config,
                     row=proposal.nominee.row, value=None if bad else float(value), loss=loss,
                     best_so_far=None if best_loss is None else
                     (-best_loss if self.direction == "max" else best_loss),
                     proposal_seconds=proposal.proposal_seconds, info=proposal.info, **fields)

    def tell(self, config: Config, value: float | None) -> Trial:
        """Record the value observed for a configuration returned by `ask` (None: the trial failed)."""
        waiting = self._pending.get(_key(config))
        if not waiting:
            raise HpoError(f"tell() needs a configuration returned by ask() and not yet told, but got {config}")
        proposal = waiting.pop(0)
        if not waiting:
            del self._pending[_key(config)]
        trial = self.make_trial(proposal, value)
        self.record(trial, proposal)
        return trial

    @property
    def best(self) -> Trial | None:
        return self.history.best
