"""A problem: what a run optimises (space, metric), where arms look (candidates), what evaluates a trial
(a backend) and, on tables, the true values. The runner sees only this, never a concrete backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hpo_mab.arms import Candidates, ContinuousCandidates, Nominee, TableCandidates
from hpo_mab.backends.base import Backend
from hpo_mab.errors import HpoError
from hpo_mab.space import Space


@dataclass
class Problem:
    """Space, metric and default budget; `make_backend` and `make_candidates` give fresh ones per run.

    `table` is set for lookup-table problems (rows, true values); `live` marks wall-clock backends, whose
    trial in flight at a kill is run again on resume (the journal marks it `info.rerun`).
    """

    name: str
    space: Space
    metric: Any
    default_budget_s: float
    make_backend: Callable[[], Backend]
    make_candidates: Callable[[], Candidates]
    table: Any = None
    live: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int | None:
        return None if self.table is None else self.table.n_rows

    @property
    def oracle(self) -> Callable[[int], float] | None:
        """Row -> true value (tables only; the oracle strategies peek at it)."""
        if self.table is None:
            return None
        table = self.table
        return lambda row: float(table.true_values[row])

    @property
    def max_epochs(self) -> int | None:
        """Epochs of a full trial: the table's, or the live task's (None when unknown, e.g. a user's script)."""
        if self.table is not None:
            return int(self.table.n_epochs)
        epochs = self.meta.get("epochs")
        return epochs if isinstance(epochs, int) else None

    def true_value(self, row: int | None) -> float | None:
        if self.table is None or row is None:
            return None
        return float(self.table.true_values[row])

    def nominee_of(self, record: dict[str, Any]) -> Nominee:
        """The nominee a journal record evaluated (its row on a table, its configuration otherwise)."""
        if self.table is not None:
            row = record["row"]
            return Nominee(self.table.encoded[row], self.table.config(row), row)
        config = record["config"]
        return Nominee(self.space.encode(config), dict(config), None)

    def check_record(self, record: dict[str, Any], where: str) -> None:
        """A journaled trial must belong to this problem: a row of the table, or a configuration of the space."""
        if self.table is not None:
            row = record["row"]
            if row is None or row >= self.table.n_rows:
                raise HpoError(f"{where} has row {row!r}, not a row of {self.table.name} "
                               f"(0 to {self.table.n_rows - 1})")
            return
        try:
            self.space.validate(record["config"])
        except HpoError as exc:
            raise HpoError(f"{where} has a configuration outside the search space ({exc})")


def table_problem(table: Any) -> Problem:
    """A lookup table as a problem: the lookup backend on a simulated clock, the table's rows as candidates."""
    from hpo_mab.backends.lookup import LookupBackend

    return Problem(name=table.name, space=table.space, metric=table.metric,
                   default_budget_s=table.default_budget_s, make_backend=lambda: LookupBackend(table),
                   make_candidates=lambda: TableCandidates(table.space, table.encoded, table.config), table=table)


def as_problem(what: Any) -> Problem:
    """A Problem passes through; a lookup Table becomes its problem."""
    return what if isinstance(what, Problem) else table_problem(what)


def continuous_candidates(space: Space) -> Callable[[], Candidates]:
    return lambda: ContinuousCandidates(space)
