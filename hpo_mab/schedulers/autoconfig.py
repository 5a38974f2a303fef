"""Plan ASHA's parameters from a TIME budget (`--auto-config`), in the spirit of OTX's auto-config.

OTX (seed 000; its `HyperBand.auto_config`) sizes the search from the expected time: it charges a promoted
trial only its extra epochs, then grows or shrinks the number of trials until the planned resource matches
the budget. Here the budget is in seconds and the unit of work is an epoch of `seconds_per_epoch`
(the median over a table's rows, or measured on a live task).

The planned schedule for n trials, reduction factor eta and rungs r_0 < r_1 < ... < r_K = R
(`brackets.asha_rungs(min_resource, R, eta)`): n trials train r_0 epochs, floor(n / eta^k) of them are
promoted to rung k and charged only the extra r_k - r_{k-1} epochs: the synchronous count (Li et al.,
"A System for Massively Parallel Hyperparameter Tuning", MLSys 2020, arXiv 1810.05934). Its cost:
epochs(n) = sum_k floor(n / eta^k) * (r_k - r_{k-1}). ASHA itself may promote a few more than floor(n / eta^k)
(a trial promoted early can later fall out of its rung's top 1/eta, and the new top is promoted too), so a
run should also stop at the budget (TIME) or plan with some `headroom`.

Objective (documented choice): among eta in {2, 3, 4} and min_resource in 1..R (or the values the caller
fixes), keep the plans that (a) take the largest n whose cost fits the budget, (b) still send at least one
trial to R (n >= eta^K) and (c) use at least 80% of the budget; pick the one that TRIES the most
configurations, ties broken by more trials at full resource, then a larger min_resource (a less noisy first
rung), then a smaller eta. Trying many configurations is what early stopping is for; requiring a
full-resource trial keeps a final answer. Scanning every min_resource (not only R / eta^k) is what lets a
budget of 1 to 5 full trials still reach 80%: the cost jumps by at most R epochs from n to n + 1, so a fixed
ladder may miss the band by up to R epochs. Budgets of at least max(2R, 4) epochs always have a plan (and
so do R to 1.25R: one full trial); from 1.25R to about 1.6R none exists, and the error says which budgets work.
`headroom` plans at most (1 - headroom) of the budget, for trials slower than the median epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.schedulers.base import check_int
from hpo_mab.schedulers.brackets import asha_rungs

__all__ = ["ETAS", "LOW", "AshaPlan", "median_seconds_per_epoch", "plan_asha", "schedule_epochs", "schedule_starts"]

ETAS = (2, 3, 4)
LOW = 0.8  # the plan uses at least this fraction of the budget


@dataclass(frozen=True)
class AshaPlan:
    """ASHA's planned schedule: `rungs[k] = (trials, epochs)`, trials reaching rung k and its resource."""

    n_trials: int
    min_resource: int
    eta: int
    max_resource: int
    rungs: list[tuple[int, int]]
    planned_epochs: int
    planned_seconds: float
    budget_s: float
    seconds_per_epoch: float
    searched: str = ""
    headroom: float = 0.0
    seconds_per_start: float = 0.0

    @property
    def fraction(self) -> float:
        """The share of the budget the planned schedule uses, in [0.8, 1.0]."""
        return self.planned_seconds / self.budget_s

    @property
    def full_trials(self) -> int:
        """Trials planned to reach max_resource."""
        return self.rungs[-1][0]

    def scheduler_options(self) -> dict[str, int]:
        """The ASHA scheduler's options for this plan."""
        return {"min_resource": self.min_resource, "max_resource": self.max_resource, "eta": self.eta}

    def explain(self) -> str:
        """One paragraph: what was chosen, what it costs, and why."""
        ladder = ", ".join(f"{n} at {r}" for n, r in self.rungs)
        if len(self.rungs) == 1:
            ladder += " (one rung: no early stopping)"
        epochs = "epoch" if self.max_resource == 1 else "epochs"
        segments = schedule_starts(self.n_trials, len(self.rungs), self.eta)
        starts = (f" and {segments} starts or continuations x {self.seconds_per_start:g} s start-up"
                  if self.seconds_per_start else "")
        top = f"{100 * (1 - self.headroom):g}"
        kept = f" (kept {100 * self.headroom:g}% as headroom)" if self.headroom else ""
        return (f"auto-config: a budget of {self.budget_s:g} s{kept} at {self.seconds_per_epoch:g} s per epoch "
                f"({math.floor(self.budget_s / self.seconds_per_epoch)} epochs; a full trial is "
                f"{self.max_resource} {epochs}) plans ASHA with eta={self.eta}, min_resource={self.min_resource}, "
                f"max_resource={self.max_resource} and {self.n_trials} trials; trials per rung (epochs): "
                f"{ladder}. A promoted trial is charged only its extra epochs: {self.planned_epochs} epochs"
                f"{starts} = {self.planned_seconds:g} s, {100 * self.fraction:.1f}% of the budget. Chosen among "
                f"{self.searched} as the plan that tries the most configurations (ties: more full-resource "
                f"trials, a larger min_resource, a smaller eta) with at least one full-resource trial and "
                f"{100 * LOW:.0f}-{top}% of the budget.")


def schedule_epochs(n: int, rungs: Sequence[int], eta: int) -> int:
    """Epochs of the planned schedule: n trials at rung 0, floor(n / eta^k) promoted to rung k, resumed."""
    total, previous = 0, 0
    for k, r in enumerate(rungs):
        total += (n // eta**k) * (r - previous)
        previous = r
    return total


def schedule_starts(n: int, n_rungs: int, eta: int) -> int:
    """Trial segments of the planned schedule: n starts at rung 0, and every promotion continues a trial."""
    return sum(n // eta**k for k in range(n_rungs))


def _largest_n(fits: Callable[[int], bool], hi: int) -> int:
    """The largest n in [0, hi) with fits(n), for a cost nondecreasing in n and fits(0) true."""
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise HpoError(f"auto-config: '{name}' must be a positive finite number, but got {value!r}")
    return float(value)


def plan_asha(budget_s: float, seconds_per_epoch: float, max_resource: int, *, eta: int | None = None,
              min_resource: int | None = None, headroom: float = 0.0, max_trials: int | None = None,
              seconds_per_start: float = 0.0) -> AshaPlan:
    """ASHA's trials, reduction factor and rungs for a TIME budget; see the module docstring for the objective.

    Args:
        budget_s: the time budget in seconds (simulated on a table, wall-clock live).
        seconds_per_epoch: seconds one epoch of one trial takes (`median_seconds_per_epoch` on a table).
        max_resource: R, a full trial's epochs.
        eta: fix the reduction factor instead of searching {2, 3, 4}.
        min_resource: fix the first rung's epochs instead of searching 1..R.
        headroom: plan at most (1 - headroom) of the budget, for trials slower than `seconds_per_epoch`
            (on digits-lenet the mean epoch is 3% slower than the median); in [0, 0.2), default 0.
        max_trials: at most this many trials (a table's rows: each configuration is tried once).
        seconds_per_start: seconds a trial pays each time it starts or continues, beside its epochs (live:
            process start-up, data loading, a checkpoint's reload); 0 on a table, whose seconds are epochs'.

    Raises:
        HpoError: bad arguments; a budget below one full-resource trial; no plan within 80% to
            (1 - headroom) of it.
    """
    budget_s = _positive("budget_s", budget_s)
    spe = _positive("seconds_per_epoch", seconds_per_epoch)
    R = check_int("max_resource", max_resource)
    sps = 0.0 if seconds_per_start == 0 else _positive("seconds_per_start", seconds_per_start)
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or not 0 <= headroom < 1 - LOW:
        raise HpoError(f"auto-config: 'headroom' must be a number in [0, {1 - LOW:g}), but got {headroom!r}")
    cap_s = budget_s * (1 - headroom)
    top = f"{100 * LOW:.0f}-{100 * (1 - headroom):g}%"
    etas = ETAS if eta is None else (check_int("eta", eta, 2),)
    if min_resource is None:
        r_mins = range(1, R + 1)
    else:
        r_min = check_int("min_resource", min_resource)
        if r_min > R:
            raise HpoError(f"scheduler option 'min_resource' must be <= max_resource ({R}), but got {r_min}")
        r_mins = range(r_min, r_min + 1)
    if R * spe + sps > cap_s:
        less = f" less {100 * headroom:g}% headroom" if headroom else ""
        start = f" + {sps:g} s start-up" if sps else ""
        raise HpoError(f"auto-config: the time budget {budget_s:g} s{less} is less than one full-resource trial: "
                       f"{R} epochs x {spe:g} s per epoch{start} = {R * spe + sps:g} s")
    max_epochs = math.floor(cap_s / spe)  # whole epochs that fit, made exact against rounding both ways
    while max_epochs * spe > cap_s:
        max_epochs -= 1
    while (max_epochs + 1) * spe <= cap_s:
        max_epochs += 1

    best: tuple | None = None
    below, above = 0.0, math.inf  # the dearest plan that fits and the cheapest one that does not (seconds)
    for e in etas:
        for r0 in r_mins:
            rungs = asha_rungs(r0, R, e)
            least = e ** (len(rungs) - 1)  # fewer trials send none to R

            def cost_s(n: int, rungs: list[int] = rungs, e: int = e) -> float:
                return schedule_epochs(n, rungs, e) * spe + schedule_starts(n, len(rungs), e) * sps

            # whole epochs compared as integers (exact against rounding); start-up, when there is one, in seconds
            n = _largest_n(lambda m, rungs=rungs, e=e: schedule_epochs(m, rungs, e) <= max_epochs
                           and (not sps or cost_s(m) <= cap_s), max_epochs // rungs[0] + 1)
            if max_trials is not None:
                n = min(n, max_trials)
            above = min(above, cost_s(max(n + 1, least)))
            if n < least:
                continue
            epochs = schedule_epochs(n, rungs, e)
            below = max(below, cost_s(n))
            if cost_s(n) < LOW * budget_s:
                continue
            key = (n, n // least, r0, -e)
            if best is None or key > best[0]:
                best = (key, e, r0, rungs, n, epochs)
    searched = (f"eta in {{{', '.join(map(str, etas))}}} and min_resource "
                f"{r_mins[0] if len(r_mins) == 1 else f'1..{R}'}")
    if best is None:
        works = f"at least {math.ceil(10 * above / (1 - headroom)) / 10:g} s"
        if below:
            works = f"at most {math.floor(10 * below / LOW) / 10:g} s or {works}"
        raise HpoError(f"auto-config: no ASHA plan with {searched} uses {top} of the budget "
                       f"{budget_s:g} s ({spe:g} s per epoch, max_resource {R}); "
                       + (f"the closest uses {100 * below / budget_s:.1f}%" if below else
                          "none that sends a trial to max_resource fits")
                       + f"; a budget of {works} works"
                       + ("" if eta is None and min_resource is None else ", or leave eta and min_resource free"))
    _, e, r0, rungs, n, epochs = best
    return AshaPlan(n_trials=n, min_resource=r0, eta=e, max_resource=R,
                    rungs=[(n // e**k, r) for k, r in enumerate(rungs)], planned_epochs=epochs,
                    planned_seconds=epochs * spe + schedule_starts(n, len(rungs), e) * sps, budget_s=budget_s,
                    seconds_per_epoch=spe, searched=searched, headroom=float(headroom), seconds_per_start=sps)


def median_seconds_per_epoch(cumulative_seconds: Any) -> float:
    """Seconds per epoch of a table: per row, the seeds' mean of (final cumulative seconds / epochs); then the
    median over rows. Takes a (rows, seeds, epochs) or (rows, epochs) array of cumulative seconds (NaN: absent).
    """
    s = np.asarray(cumulative_seconds, dtype=float)
    if s.ndim == 2:
        s = s[:, None, :]
    if s.ndim != 3 or s.size == 0:
        raise HpoError(f"auto-config: cumulative seconds must be a (rows, seeds, epochs) array, but got shape "
                       f"{s.shape}")
    per_epoch = s[:, :, -1] / s.shape[2]
    finite = np.isfinite(per_epoch)
    rows = np.sum(np.where(finite, per_epoch, 0.0), axis=1)[finite.any(axis=1)] / finite.sum(axis=1)[finite.any(axis=1)]
    value = float(np.median(rows)) if rows.size else math.nan
    if not math.isfinite(value) or value <= 0:
        raise HpoError(f"auto-config: no positive recorded seconds per epoch in the table (median {value})")
    return value
