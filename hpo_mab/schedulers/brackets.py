"""Hyperband's bracket plan and ASHA's rung ladder, in exact integer arithmetic.

Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh, Talwalkar, "Hyperband: A Novel Bandit-Based Approach to
Hyperparameter Optimization", JMLR 18(185), 2018) runs successive halving (SHA) once per bracket s = s_max..0:
bracket s starts n configurations at r = R * eta^-s epochs and rung i keeps floor(n * eta^-i) of them at
r * eta^i. ASHA (Li et al., "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020,
arXiv 1810.05934) uses one such ladder of rungs, r_min * eta^k, and promotes asynchronously.

`hpo-runner brackets --max-resource R --eta ETA [--min-resource r] [--variant floor|ceil] [--json]` prints
the plan as the table in seed documents 002 (Polyaxon) and 003 (the paper's Table 1).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hpo_mab.errors import HpoError, OneLineParser
from hpo_mab.schedulers.base import check_int

__all__ = ["VARIANTS", "Bracket", "asha_rungs", "brackets_main", "format_plan", "hyperband_brackets",
           "plan_to_dict", "s_max_of"]

VARIANTS = ("floor", "ceil")


@dataclass(frozen=True)
class Bracket:
    """One Hyperband bracket: `rungs[i] = (n_i, r_i)`, n_i configurations trained to r_i epochs."""

    s: int
    rungs: list[tuple[int, int]]

    @property
    def n(self) -> int:
        """Configurations the bracket starts."""
        return self.rungs[0][0]

    @property
    def epochs(self) -> int:
        """Epochs when a promoted trial resumes (charged only r_i - r_{i-1}), as hpo_mab charges them."""
        total, previous = 0, 0
        for n_i, r_i in self.rungs:
            total += n_i * (r_i - previous)
            previous = r_i
        return total

    @property
    def epochs_restart(self) -> int:
        """Epochs when every rung trains from scratch (sum n_i * r_i, the paper's accounting)."""
        return sum(n_i * r_i for n_i, r_i in self.rungs)


MAX_RESOURCE = 10**9


def _check(max_resource: Any, eta: Any, min_resource: Any) -> tuple[int, int, int]:
    R = check_int("max_resource", max_resource)
    eta = check_int("eta", eta, 2)
    r_min = check_int("min_resource", min_resource)
    if r_min > R:
        raise HpoError(f"scheduler option 'min_resource' must be <= max_resource ({R}), but got {r_min}")
    if R > MAX_RESOURCE:  # epochs, or any unit of resource: 10**4000 made the plan run for ever
        raise HpoError(f"scheduler option 'max_resource' must be at most {MAX_RESOURCE:,}, but got "
                       f"{str(R)[:30]}{'...' if len(str(R)) > 30 else ''}")
    return R, eta, r_min


def s_max_of(max_resource: int, eta: int, min_resource: int = 1) -> int:
    """The largest integer s with eta^s <= R / r_min, by multiplying integers.

    A floating log is off by one where log(R)/log(eta) lands just below an integer: R=243, eta=3 gives
    4.999999999999999 and R=1000, eta=10 gives 2.9999999999999996, so floor(log) would say 4 and 2.
    """
    R, eta, r_min = _check(max_resource, eta, min_resource)
    s = 0
    while r_min * eta ** (s + 1) <= R:
        s += 1
    return s


def _round_half_up(x: Fraction) -> int:
    """The nearest integer to x >= 0, halves rounded up (2.5 -> 3), exactly."""
    return (2 * x.numerator + x.denominator) // (2 * x.denominator)


def hyperband_brackets(max_resource: int, eta: int = 3, min_resource: int = 1,
                       variant: str = "floor") -> list[Bracket]:
    """Hyperband's brackets s = s_max, ..., 0 (Li et al., JMLR 2018, Algorithm 1 and Table 1).

    variant "floor" (default): bracket s starts n = floor((s_max+1)/(s+1)) * eta^s configurations, the numbers
    of the paper's Table 1 and of seed documents 002/003 (R=81, eta=3: 81, 27, 9, 6, 5). variant "ceil":
    Algorithm 1 read literally, n = ceil((s_max+1)/(s+1) * eta^s) (R=81, eta=3: 81, 34, 15, 8, 5); the two
    differ only where (s_max+1)/(s+1) is not an integer, and "ceil" is computed exactly with fractions.

    Rung i keeps floor(n * eta^-i) configurations at r_i = R * eta^(i-s) epochs, the top rung being R
    itself. Resources are epochs, so a fractional r_i (R=15,
    eta=3: 15/9) is rounded to the nearest integer, halves up (1.67 -> 2, 2.5 -> 3). Since
    R * eta^-s >= r_min >= 1 and consecutive exact resources differ by at least 1, the rounded rungs are
    >= r_min, >= 1 and strictly increasing (kept so by a guard as well).
    """
    R, eta, r_min = _check(max_resource, eta, min_resource)
    if variant not in VARIANTS:
        raise HpoError(f"scheduler option 'variant' must be one of {', '.join(VARIANTS)}, but got {variant!r}")
    s_max = s_max_of(R, eta, r_min)
    brackets = []
    for s in range(s_max, -1, -1):
        if variant == "floor":
            n = (s_max + 1) // (s + 1) * eta**s
        else:
            x = Fraction(s_max + 1, s + 1) * eta**s
            n = -(-x.numerator // x.denominator)
        rungs: list[tuple[int, int]] = []
        previous = r_min - 1
        for i in range(s + 1):
            r_i = max(_round_half_up(Fraction(R * eta**i, eta**s)), previous + 1)
            rungs.append((n // eta**i, r_i))
            previous = r_i
        brackets.append(Bracket(s, rungs))
    return brackets


def asha_rungs(min_resource: int, max_resource: int, eta: int) -> list[int]:
    """ASHA's (and SHA's) rung resources: r_min * eta^k for every k with r_min * eta^k < R, then R itself.

    (1, 15, 3) -> [1, 3, 9, 15]; (1, 27, 3) -> [1, 3, 9, 27]; (15, 15, 3) -> [15] (no early stop).
    """
    R, eta, r_min = _check(max_resource, eta, min_resource)
    rungs = []
    r = r_min
    while r < R:
        rungs.append(r)
        r *= eta
    return [*rungs, R]


def plan_to_dict(brackets: list[Bracket], max_resource: int, eta: int, min_resource: int,
                 variant: str) -> dict[str, Any]:
    """The plan as plain JSON-ready data."""
    return {
        "max_resource": max_resource, "eta": eta, "min_resource": min_resource, "variant": variant,
        "s_max": brackets[0].s,
        "brackets": [{"s": b.s, "rungs": [{"n": n, "r": r} for n, r in b.rungs], "configurations": b.n,
                      "epochs": b.epochs, "epochs_restart": b.epochs_restart} for b in brackets],
        "total": {"configurations": sum(b.n for b in brackets), "epochs": sum(b.epochs for b in brackets),
                  "epochs_restart": sum(b.epochs_restart for b in brackets)},
    }


def format_plan(brackets: list[Bracket], max_resource: int, eta: int, min_resource: int, variant: str) -> str:
    """The plan as the seed documents' table: one n_i/r_i column pair per bracket, one row per rung i."""
    cells = [["i"], [""]]
    for b in brackets:
        cells[0] += [f"s={b.s}", ""]
        cells[1] += ["n_i", "r_i"]
    for i in range(len(brackets[0].rungs)):
        row = [str(i)]
        for b in brackets:
            row += [str(x) for x in b.rungs[i]] if i < len(b.rungs) else ["", ""]
        cells.append(row)
    cells.append(["configs"] + [x for b in brackets for x in (str(b.n), "")])
    cells.append(["epochs"] + [x for b in brackets for x in (str(b.epochs), "")])
    cells.append(["restart"] + [x for b in brackets for x in (str(b.epochs_restart), "")])
    width = [max(len(row[j]) for row in cells if j < len(row)) for j in range(len(cells[0]))]
    width = [w if j % 2 else max(w, 3) for j, w in enumerate(width)]
    lines = ["  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(row, width))).rstrip()
             for row in cells]
    total = plan_to_dict(brackets, max_resource, eta, min_resource, variant)["total"]
    head = (f"Hyperband brackets: max_resource R={max_resource}, eta={eta}, min_resource={min_resource}, "
            f"s_max={brackets[0].s}, variant {variant}")
    foot = [f"total: {total['configurations']} configurations, {total['epochs']} epochs "
            f"({total['epochs_restart']} if every rung trains from scratch)",
            "epochs: a promoted trial resumes and is charged r_i - r_(i-1); restart: sum of n_i * r_i"]
    return "\n".join([head, *lines, *foot])


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="hpo-runner brackets",
                      description="Print Hyperband's bracket plan (Li et al., JMLR 2018, Table 1).")
    p.add_argument("--max-resource", type=int, required=True, help="R: the full resource in epochs, e.g. 81")
    p.add_argument("--eta", type=int, default=3, help="the reduction factor (default 3)")
    p.add_argument("--min-resource", type=int, default=1, help="r_min: the smallest rung's epochs (default 1)")
    p.add_argument("--variant", default="floor", choices=VARIANTS,
                   help="floor: n = floor((s_max+1)/(s+1)) * eta^s, the paper's Table 1 (default); "
                        "ceil: n = ceil((s_max+1)/(s+1) * eta^s), Algorithm 1 read literally")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    return p


def brackets_main(argv: list[str]) -> int:
    """`hpo-runner brackets`: print the bracket plan; HpoError goes up to cli.main (one line, exit 2)."""
    args = build_parser().parse_args(argv)
    brackets = hyperband_brackets(args.max_resource, args.eta, args.min_resource, args.variant)
    if args.json:
        print(json.dumps(plan_to_dict(brackets, args.max_resource, args.eta, args.min_resource, args.variant)))
    else:
        print(format_plan(brackets, args.max_resource, args.eta, args.min_resource, args.variant))
    return 0
