"""The ask/tell optimizer: an initial Sobol design, then a strategy picks an arm and the arm proposes.

    opt = Optimizer(space, mode="GP", spec="EI", direction="min", seed=0)
    cfg = opt.ask(); opt.tell(cfg, value)      # opt.tell(cfg, None) records a failure
"""

from __future__ import annotations

import json
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo_mab.arms import Arm, Candidates, ContinuousCandidates, Nominee, make_arm
from hpo_mab.arms.base import check_arm_options
from hpo_mab.arms.fits import SharedFits, child_generator
from hpo_mab.defaults import DEFAULT_ARMS, DEFAULT_MODE, DEFAULT_STRATEGY
from hpo_mab.errors import HpoError, shown
from hpo_mab.history import FINISHED, Direction, History, Trial, direction_of
from hpo_mab.space import Config, Space
from hpo_mab.strategies import Budget, SingleArm, Strategy, StrategyContext
from hpo_mab.threads import one_blas_thread

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


def _child(seed: int | np.random.SeedSequence, key: int) -> np.random.SeedSequence:
    """A child of the seed's sequence that `spawn` never hands out (spawn keys count up from 0)."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, key))


MAX_INIT = 1_000_000  # the initial design is drawn up front: 10**12 points asked numpy for 16 TiB


def _check_options(mode: str, spec: Any, arms: Any, strategy_options: Any, arm_options: Any, budget: Any) -> None:
    """The optional constructor arguments, checked as the command line checks them (HpoError naming each)."""
    from hpo_mab.options import check_strategy_options

    if arms is not None and not (isinstance(arms, (list, tuple)) and arms and all(
            isinstance(a, (list, tuple)) and len(a) == 2 and isinstance(a[0], str) and (a[1] is None or
                                                                                    isinstance(a[1], str))
            for a in arms)):
        raise HpoError(f"arms must be a non-empty list of (model, acquisition or None) pairs such as "
                       f"[('GP', 'EI'), ('TPE', None)], but got {shown(arms)}")
    for name, value in (("strategy_options", strategy_options), ("arm_options", arm_options)):
        if value is not None and not isinstance(value, Mapping):
            raise HpoError(f"{name} must be a mapping, but got {shown(value)}")
    if budget is not None and not isinstance(budget, Budget):
        raise HpoError(f"budget must be a hpo_mab.strategies.Budget, but got {type(budget).__name__}")
    if strategy_options:
        strategy = (spec or DEFAULT_STRATEGY).upper() if mode.upper() == "DIV" else None
        check_strategy_options(dict(strategy_options), mode.upper(), strategy, "Optimizer")
    if arm_options is not None:
        check_arm_options(arm_options)


def _check_arguments(space: Any, mode: Any, seed: Any, run: Any, n_init: Any) -> None:
    """Bad constructor arguments raise HpoError with the rule and the value received."""
    if not isinstance(space, Space):
        raise HpoError(f"space must be a hpo_mab.Space, but got {type(space).__name__}")
    if not isinstance(mode, str):
        raise HpoError(f"mode must be a string such as 'DIV' or 'GP', but got {mode!r}")
    from hpo_mab.catalog import MODES

    if mode.upper() not in MODES:
        raise HpoError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    if not isinstance(seed, np.random.SeedSequence) and (
            isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise HpoError(f"seed must be a non-negative integer or a numpy SeedSequence, but got {seed!r}")
    for name, value in (("run", run), ("n_init", n_init)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0):
            raise HpoError(f"{name} must be a non-negative integer, but got {value!r}")
    if n_init is not None and n_init > MAX_INIT:
        raise HpoError(f"n_init must be at most {MAX_INIT:,} (the initial design is drawn up front), but got {n_init}")


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
        name = (spec or DEFAULT_STRATEGY).upper()
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

    def __init__(self, space: Space, mode: str = DEFAULT_MODE, spec: str | None = None,
                 direction: str | Direction = "min",
                 seed: int | np.random.SeedSequence = 0, candidates: Candidates | None = None,
                 arms: Sequence[tuple[str, str | None]] | None = None, run: int = 0,
                 n_init: int | None = None, metric: Any = None, oracle: Callable[[int], float] | None = None,
                 strategy_options: Mapping[str, Any] | None = None, budget: Budget | None = None,
                 arm_options: Mapping[str, Any] | None = None, model_data: str = "full") -> None:
        self.sense = direction_of(direction)  # maps told values to minimised losses and back
        _check_arguments(space, mode, seed, run, n_init)
        _check_options(mode, spec, arms, strategy_options, arm_options, budget)
        if metric is not None and getattr(metric, "direction", self.sense.name) != self.sense.name:
            raise HpoError(f"direction {self.sense.name!r} contradicts the metric's direction {metric.direction!r}")
        if arms is None and mode.upper() == "DIV":
            arms = DEFAULT_ARMS
        self._ask_rng = np.random.default_rng(_child(seed, 1000))  # ask()'s draws for distinct pending asks
        self.space, self.direction, self.run = space, self.sense.name, run
        self.candidates = candidates or ContinuousCandidates(space)
        context = StrategyContext(space, self.sense.name, metric, oracle, options=strategy_options, budget=budget)
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
        if hasattr(self.strategy, "use_fits"):  # GP-Hedge judges with the GP arms' own fit
            self.strategy.use_fits(self.fits, check_arm_options(arm_options)["gp_output"])
        self.strategy_rng = np.random.default_rng(strategy_seq)
        self.n_init = n_initial(space) if n_init is None else n_init
        self._init_points = space.sobol(self.n_init, np.random.default_rng(init_seq))
        self.history = History(space.n_dims, model_data, direction=self.sense)
        self._pending: dict[str, list[Proposal]] = {}

    # -- proposing ---------------------------------------------------------------------------------
    def propose(self) -> Proposal:
        """The next proposal (initial design first), timed."""
        start = time.perf_counter()
        k = len(self.history)
        if k < self.n_init:
            nominee = self.candidates.nearest(self._init_points[k], self.history)
            return Proposal(nominee, INIT_ARM, time.perf_counter() - start, {"initial_design": True})
        with one_blas_thread():
            return self._propose_with_arms(start)

    def _propose_with_arms(self, start: float) -> Proposal:
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
        """Propose a configuration (a user's loop); remember it until it is told.

        Pending asks are distinct: the i-th ask of the initial design takes the i-th Sobol point, and a
        proposal equal to a pending one is replaced by a random configuration (info `fallback`).
        """
        pending = sum(len(v) for v in self._pending.values())
        i = len(self.history) + pending
        if len(self.history) < self.n_init and i < self.n_init:
            start = time.perf_counter()
            nominee = self.candidates.nearest(self._init_points[i], self.history)
            proposal = Proposal(nominee, INIT_ARM, time.perf_counter() - start, {"initial_design": True})
        else:
            proposal = self.propose()
        for _ in range(1000):
            if _key(proposal.nominee.config) not in self._pending:
                break
            nominee = self.candidates.random(self._ask_rng, self.history)
            proposal = Proposal(nominee, proposal.arm, proposal.proposal_seconds,
                                {**proposal.info, "fallback": "equal to a pending ask"}, proposal.nominees)
        else:
            raise HpoError(f"ask(): no configuration left that is not pending already ({pending} pending); "
                           "tell() some first")
        self._pending.setdefault(_key(proposal.nominee.config), []).append(proposal)
        return dict(proposal.nominee.config)

    # -- recording ---------------------------------------------------------------------------------
    def record(self, trial: Trial, proposal: Proposal, learn: bool = True) -> None:
        """Add a finished, paused, stopped or failed trial to the history and let the strategy learn.

        `learn=False` for a record that continues a paused trial: the strategy learnt from its proposal once."""
        self.history.append(trial, proposal.nominee.x)
        if learn and proposal.arm != INIT_ARM:
            with one_blas_thread():
                self.strategy.update(trial, self.history, proposal.nominees)

    def make_trial(self, proposal: Proposal, value: float | None, **fields: Any) -> Trial:
        """A Trial for `proposal` with its final `value` (None or NaN: failed)."""
        bad = value is None or not math.isfinite(float(value))
        loss = None if bad else self.sense.to_loss(float(value))
        if "state" not in fields:
            fields["state"] = "failed" if bad else ("init" if proposal.arm == INIT_ARM else "complete")
        best = self.history.best
        counts = fields["state"] in FINISHED and loss is not None
        best_loss = loss if counts and (best is None or loss < best.loss) else (best.loss if best else None)
        if bad and "reason" not in fields:
            fields["reason"] = "no value" if value is None else f"non-finite value {value}"
        return Trial(run=self.run, number=len(self.history), arm=proposal.arm, config=proposal.config,
                     row=proposal.nominee.row, value=None if bad else float(value), loss=loss,
                     best_so_far=None if best_loss is None else self.sense.from_loss(best_loss),
                     proposal_seconds=proposal.proposal_seconds, info=proposal.info, **fields)

    def tell(self, config: Config, value: float | None) -> Trial:
        """Record the value observed for a configuration returned by `ask` (None: the trial failed)."""
        if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)):
            raise HpoError(f"tell() needs a number or None (a failed trial) as the value, but got {value!r}")
        if value is not None:
            try:
                value = float(value)  # before the ask is used up: an int beyond a float's range fails here
            except OverflowError:
                raise HpoError(f"tell() needs a number a float can hold, but got an integer of "
                               f"{len(str(abs(value)))} digits") from None
        waiting = self._pending.get(_key(config)) if isinstance(config, Mapping) else None
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
