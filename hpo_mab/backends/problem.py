"""A problem: what a run optimises (space, metric), where arms look (candidates), what evaluates a trial
(a backend) and, on tables, the true values. The runner sees only this, never a concrete backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hpo_mab.arms import Candidates, ContinuousCandidates, Nominee, TableCandidates
from hpo_mab.backends.base import Backend
from hpo_mab.catalog import CANDIDATE_CHOICES
from hpo_mab.errors import HpoError
from hpo_mab.space import Space


@dataclass
class Problem:
    """Space, metric and default budget; `make_backend` and `make_candidates` give fresh ones per run.

    `table` is set for lookup-table problems (rows, true values); `live` marks wall-clock backends, whose
    trial in flight at a kill is run again on resume (the journal marks it `info.rerun`). `rows` is the table
    whose configurations a live problem's arms pick from (trained for real; `with_candidates`), else None.
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
    rows: Any = None

    @property
    def row_source(self) -> Any:
        """The table whose rows the arms pick from: replayed (`table`) or trained for real (`rows`); else None."""
        return self.table if self.table is not None else self.rows

    @property
    def n_rows(self) -> int | None:
        """How many configurations the arms can pick from (None off tables)."""
        return None if self.row_source is None else self.row_source.n_rows

    @property
    def candidates_setting(self) -> str | None:
        """What Settings.candidates records: "table" when a live problem trains a table's rows, else None
        (absent means the whole space, as in live experiments from before --candidates)."""
        return "table" if self.rows is not None else None

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
        source = self.row_source
        if source is not None and record.get("row") is not None:
            row = record["row"]
            return Nominee(source.encoded[row], source.config(row), row)
        config = record["config"]
        return Nominee(self.space.encode(config), dict(config), None)

    def check_record(self, record: dict[str, Any], where: str) -> None:
        """A journaled trial must belong to this problem: a row of the table, or a configuration of the space."""
        if self.table is not None:
            row = record["row"]
            if row is None or row >= self.table.n_rows:
                raise HpoError(f"{where} has row {row!r}, not a row of {self.table.name} "
                               f"(0 to {self.table.n_rows - 1})")
            if record["config"] != self.table.config(row):  # trials.csv and the arms' models read it
                raise HpoError(f"{where} has a configuration that is not row {row}'s of {self.table.name}; the "
                               "journal was edited or comes from another table")
            return
        if self.rows is not None and record.get("row") is not None and not 0 <= record["row"] < self.rows.n_rows:
            raise HpoError(f"{where} has row {record['row']!r}, not a row of {self.rows.name} "
                           f"(0 to {self.rows.n_rows - 1})")
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


def with_candidates(problem: Problem, choice: str, directory: Any) -> Problem:
    """A live task's problem whose arms pick from `choice`: `table`, the rows of the task's table in
    `directory` (trained for real, so that live runs and table runs search the same configurations);
    `continuous`, fresh points of the whole space; `auto`, the table when a complete one with the task's
    search space exists, else continuous. `meta["candidates"]` says which."""
    from pathlib import Path

    from hpo_mab.surrogates import load_table

    if choice not in CANDIDATE_CHOICES:
        raise HpoError(f"--candidates must be one of {', '.join(CANDIDATE_CHOICES)}, but got {choice!r}")
    path = Path(directory) / f"{problem.name}.npz"
    if choice == "continuous" or (choice == "auto" and not path.is_file()):
        return replace(problem, rows=None, make_candidates=continuous_candidates(problem.space),
                       meta={**problem.meta, "candidates": "continuous"})
    if not path.is_file():
        raise HpoError(f"--candidates table: no table {path} to take {problem.name}'s configurations from; "
                       "build one (hpo-runner build-table) or use --candidates continuous")
    table = load_table(path)
    partial = table.meta.get("complete") is False  # a build in progress: its rows are not the table's yet
    if partial or _space_key(table.space) != _space_key(problem.space):
        if choice == "auto":
            return with_candidates(problem, "continuous", directory)
        if partial:
            raise HpoError(f"--candidates table: {path} is a partial table (a build in progress); wait for the "
                           "build or use --candidates continuous")
        raise HpoError(f"--candidates table: {path}'s search space ({table.space}) is not this run's "
                       f"({problem.space}); use --candidates continuous")
    return replace(problem, rows=table, meta={**problem.meta, "candidates": "table"},
                   make_candidates=lambda: TableCandidates(table.space, table.encoded, table.config))


def _space_key(space: Space) -> list[tuple[str, str, str]]:
    return [(p.name, p.kind, p.describe()) for p in space.params]
