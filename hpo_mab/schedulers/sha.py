"""Successive halving: ASHA (asynchronous, Li et al. 2018, arXiv 1810.05934) and synchronous brackets (SHA,
and Hyperband's brackets in hyperband.py).

Resources are epochs. A trial pauses at each rung (the epochs r_0 < r_1 < ... < R) and waits to be
promoted; a promoted trial continues from where it paused (only its extra epochs are charged). Ties in a
rung are broken by trial id (the earlier trial first), so promotions are deterministic.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping
from typing import Any

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.base import Decision, Scheduler, check_int
from hpo_mab.schedulers.brackets import asha_rungs

COMMON_OPTIONS: dict[str, Any] = {"min_resource": 1, "eta": 3, "max_resource": None}


def check_resources(scheduler: str, max_epochs: int, options: Mapping[str, Any]) -> tuple[int, int]:
    """(min_resource, eta) of a successive-halving scheduler, checked against the trials' epochs."""
    eta = check_int("eta", options["eta"], 2)
    low = check_int("min_resource", options["min_resource"], 1)
    high = options["max_resource"]
    if high is not None and check_int("max_resource", high) != max_epochs:
        raise HpoError(f"scheduler option 'max_resource' is {high}, but a trial here runs {max_epochs} epochs "
                       f"(the table's, or --epochs); give max_resource {max_epochs} or leave it out")
    if low > max_epochs:
        raise HpoError(f"scheduler option 'min_resource' ({low}) is more than a trial's {max_epochs} epochs")
    return low, eta


def _top(losses: Mapping[int, float], k: int) -> list[int]:
    """The k trials with the smallest finite losses (ties: the earlier trial first)."""
    finite = sorted((loss, tid) for tid, loss in losses.items() if math.isfinite(loss))
    return [tid for _, tid in finite[:k]]


class ASHA(Scheduler):
    """Asynchronous successive halving: rungs at min_resource * eta^k (and max_resource); whenever a trial
    can start, promote the best trial of the highest rung that is in the top 1/eta of its rung and not yet
    promoted, else start a new trial (Algorithm 2 of Li et al. 2018)."""

    name = "ASHA"
    OPTIONS = {**COMMON_OPTIONS, "n_trials": None}
    promotes = True

    def __init__(self, max_epochs: int, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(max_epochs, options)
        low, self.eta = check_resources(self.name, self.max_epochs, self.options)
        self.resources = asha_rungs(low, self.max_epochs, self.eta)
        n = self.options["n_trials"]
        self.n_trials = None if n is None else check_int("n_trials", n)
        self.rung_of: dict[int, int] = {}  # trial -> the rung it runs towards
        self.rungs: list[dict[int, float]] = [{} for _ in self.resources[:-1]]  # rung k: trial -> loss at r_k
        self.ranked: list[list[tuple[float, int]]] = [[] for _ in self.resources[:-1]]  # rung k, best first
        self.promoted: list[set[int]] = [set() for _ in self.resources[:-1]]

    def cap(self, k: int, n: int | None = None) -> int | None:
        """With a planned number of trials n: at most floor(n / eta^(k+1)) promotions from rung k, and never
        more than floor(|rung k| / eta) so far (the planned schedule, which plain ASHA exceeds when an early
        promotion drops out of its rung's top)."""
        n = self.n_trials if n is None else n
        return None if n is None else n // self.eta ** (k + 1)

    def owed_epochs(self, n: int) -> int:
        """Epochs the promotions of a schedule of n trials still need once all n reached the first rung:
        rung k promotes min(floor(n / eta^(k+1)), its size // eta) trials, counting those promoted already
        (ASHA may have promoted more early on); new trials' first rung is not included."""
        total, size = 0, n
        for k in range(len(self.rungs)):
            size = max(size, len(self.rungs[k]))
            done = len(self.promoted[k])
            promote = max(min(self.cap(k, n), size // self.eta), done)
            total += (promote - done) * (self.resources[k + 1] - self.resources[k])
            size = promote
        return total

    def decide(self, trial_id: int, epoch: int, loss: float) -> str:
        k = self.rung_of.setdefault(trial_id, 0)
        if k < len(self.rungs) and epoch == self.resources[k]:
            if trial_id not in self.rungs[k] and math.isfinite(loss):
                bisect.insort(self.ranked[k], (loss, trial_id))  # kept sorted: no re-sort per decision
            self.rungs[k][trial_id] = loss
            return Decision.PAUSE
        return Decision.CONTINUE

    def next_to_resume(self) -> int | None:
        for k in reversed(range(len(self.rungs))):
            rung, cap = self.rungs[k], self.cap(k)
            if cap is not None and len(self.promoted[k]) >= min(cap, len(rung) // self.eta):
                continue  # a planned schedule: never more than floor(|rung| / eta) promotions, as planned
            for _, tid in itertools.islice(self.ranked[k], len(rung) // self.eta):
                if tid not in self.promoted[k] and self.ended.get(tid) == "paused":
                    self.promoted[k].add(tid)
                    self.rung_of[tid] = k + 1
                    return tid
        return None


class _Bracket:
    """One synchronous successive-halving bracket: rung i holds up to n_i trials run to r_i epochs."""

    def __init__(self, rungs: list[tuple[int, int]]) -> None:
        self.sizes = [n for n, _ in rungs]
        self.resources = [r for _, r in rungs]
        self.capacity = [self.sizes[0]] + [0] * (len(rungs) - 1)  # rung i > 0: how many were promoted to it
        self.losses: list[dict[int, float]] = [{} for _ in rungs]
        self.members: list[list[int]] = [[] for _ in rungs]
        self.queue: list[int] = []
        self.promoted_from: set[int] = set()

    @property
    def open(self) -> bool:
        """Whether rung 0 still takes new trials."""
        return len(self.members[0]) < self.sizes[0]

    def promotions(self) -> list[int]:
        """Trials to promote now: the top n_{i+1} of the lowest complete rung not yet promoted from."""
        for i in range(len(self.sizes) - 1):
            if i in self.promoted_from:
                continue
            if len(self.losses[i]) < self.capacity[i]:
                return []  # rung i still runs: nothing above it can be complete
            self.promoted_from.add(i)
            chosen = _top(self.losses[i], self.sizes[i + 1])
            self.capacity[i + 1] = len(chosen)
            return chosen
        return []


class SyncHalving(Scheduler):
    """Synchronous successive halving over a cycle of brackets: a bracket's rung i is complete when its n_i
    trials have paused (or ended) at r_i epochs; then its best n_{i+1} continue to r_{i+1}, best first; a
    new bracket starts when the current one has nothing left to run. Subclasses give `bracket_plans`."""

    promotes = True

    def __init__(self, max_epochs: int, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(max_epochs, options)
        self.plans = self.bracket_plans()
        self.brackets: list[_Bracket] = []
        self.where: dict[int, tuple[int, int]] = {}  # trial -> (bracket, rung)

    def bracket_plans(self) -> list[list[tuple[int, int]]]:
        raise NotImplementedError

    def _place(self, trial_id: int) -> tuple[int, int]:
        if trial_id not in self.where:
            if not self.brackets or not self.brackets[-1].open:
                self.brackets.append(_Bracket(self.plans[len(self.brackets) % len(self.plans)]))
            self.brackets[-1].members[0].append(trial_id)
            self.where[trial_id] = (len(self.brackets) - 1, 0)
        return self.where[trial_id]

    def decide(self, trial_id: int, epoch: int, loss: float) -> str:
        b, i = self._place(trial_id)
        bracket = self.brackets[b]
        if i < len(bracket.sizes) - 1 and epoch == bracket.resources[i]:
            bracket.losses[i][trial_id] = loss
            return Decision.PAUSE
        return Decision.CONTINUE

    def on_end(self, trial_id: int, state: str, epochs: int) -> None:
        super().on_end(trial_id, state, epochs)
        if state in ("failed", "stopped") and trial_id in self.where:
            b, i = self.where[trial_id]
            self.brackets[b].losses[i].setdefault(trial_id, math.inf)  # ended below its rung: done, not promoted

    def next_to_resume(self) -> int | None:
        if not self.brackets:
            return None
        b = len(self.brackets) - 1
        bracket = self.brackets[b]
        if not bracket.queue:
            bracket.queue = bracket.promotions()
        while bracket.queue:
            tid = bracket.queue.pop(0)
            i = self.where[tid][1] + 1
            self.where[tid] = (b, i)
            bracket.members[i].append(tid)
            if self.ended.get(tid) == "paused":
                return tid
            bracket.losses[i][tid] = math.inf  # cannot continue (not paused): counts as done
        return None


class SHA(SyncHalving):
    """Synchronous successive halving (Jamieson and Talwalkar 2016; Karnin et al. 2013), one bracket shape
    repeated: n = eta^K trials at min_resource (K + 1 rungs up to max_resource), the best 1/eta of each rung
    continue; option `n` sets the first rung's size."""

    name = "SHA"
    OPTIONS = {**COMMON_OPTIONS, "n": None}

    def bracket_plans(self) -> list[list[tuple[int, int]]]:
        low, self.eta = check_resources(self.name, self.max_epochs, self.options)
        resources = asha_rungs(low, self.max_epochs, self.eta)
        n = self.options["n"]
        n = self.eta ** (len(resources) - 1) if n is None else check_int("n", n)
        return [[(max(n // self.eta**i, 1), r) for i, r in enumerate(resources)]]
