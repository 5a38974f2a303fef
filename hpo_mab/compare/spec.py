"""The experiment file of `hpo-runner compare`: problems x methods x seeded runs, read and checked in full.

    name: quick                      # optional; default: the file's stem (the output folder's suffix)
    seed: 0                          # run i of every cell uses child i of SeedSequence(seed)
    runs: 5
    budget_factor: 1                 # optional; multiplies every problem's budget
    criterion: TIME                  # or GOAL: each problem's `goal` (default: the table's top-1% value)
    max_trials: 50                   # optional cap on trials per run
    problems:
      - hpobench-mlp-australian      # a table by name (`hpo-runner list`), or a path to a table .npz
      - {table: fcnet-naval, budget: 2h, budget_factor: 4, name: naval-4x, goal: 0.0002}
      - {task: kin8nm-mlp, epochs: 9, budget: 5m, device: cpu}    # real training on the wall clock
        # (candidates: auto, the default, trains the task's table's rows when it has a table; or table,
        # or continuous: the whole space, as hpo-runner --candidates)
    methods:
      - TPE                          # a standard name: an arm (GP-EI, TPE, ...), DIV-<strategy>, or a peer
      - {name: GP-UCB, mode: GP, spec: UCB, arm_options: {acq_starts: 5}}
      - {name: DIV-GT, mode: DIV, spec: GT, strategy_options: {eps_end: 0.1}, arms: [{model: TPE}, ...]}
      - {name: tpe-optuna, peer: optuna-tpe}

Everything that needs no table is checked here, with one HpoError line naming the file, the key, the value and
what was expected; the arms and strategies are built once per cell before anything runs (`matrix.plan`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo_mab.catalog import CANDIDATE_CHOICES
from hpo_mab.compare.methods import NAME, MethodSpec, parse_method
from hpo_mab.config_text import read_config
from hpo_mab.errors import HpoError
from hpo_mab.termination import parse_duration

TOP_KEYS = ("name", "seed", "runs", "budget_factor", "criterion", "max_trials", "problems", "methods")
PROBLEM_KEYS = ("table", "task", "name", "budget", "budget_factor", "goal", "epochs", "device", "datasets",
                "candidates")


@dataclass(frozen=True)
class ProblemSpec:
    """One problem: a table (`table`: its name or .npz path) or a live training task (`task`)."""

    id: str
    table: str | None = None
    task: str | None = None
    budget: float | None = None  # seconds; None: the problem's default budget
    budget_factor: float = 1.0
    goal: float | None = None  # GOAL runs; None on a table: its top-1% value
    epochs: int | None = None
    device: str | None = None
    datasets: str | None = None
    candidates: str = "auto"  # live tasks: where the arms look, as hpo-runner --candidates


@dataclass(frozen=True)
class Experiment:
    """A checked experiment file."""

    name: str
    path: str
    seed: int
    runs: int
    problems: list[ProblemSpec]
    methods: list[MethodSpec]
    criterion: str = "TIME"
    max_trials: int | None = None
    source: dict[str, Any] = field(default_factory=dict)  # the file's document, for the output folder


def _fail(where: str, message: str) -> None:
    raise HpoError(f"{where}: {message}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_int(value: Any, where: str, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        _fail(where, f"'{key}' must be a positive integer, but got {value!r}")
    return value


def _positive(value: Any, where: str, key: str) -> float:
    if not _number(value) or not value > 0 or value == float("inf"):
        _fail(where, f"'{key}' must be a positive number, but got {value!r}")
    return float(value)


def _unknown(doc: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(map(str, set(doc) - set(allowed)))
    if unknown:
        _fail(where, f"unknown key(s) {unknown}; expected some of {list(allowed)}")


def read_document(path: Path) -> dict[str, Any]:
    """The YAML document of an experiment file (a mapping), or one HpoError line."""
    if not path.exists():
        raise HpoError(f"{path}: no such experiment file")
    doc = read_config(path, "experiment file", ".yaml")
    if not isinstance(doc, dict):
        raise HpoError(f"{path}: expected a mapping with 'problems', 'methods', 'runs', but got "
                       f"{type(doc).__name__}")
    return doc


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file (see the module docstring)."""
    path = Path(path)
    return parse_experiment(read_document(path), str(path), path.stem)


def parse_experiment(doc: dict[str, Any], where: str, default_name: str = "experiment") -> Experiment:
    """Check an experiment document; `where` names it in errors."""
    _unknown(doc, TOP_KEYS, where)
    for key in ("problems", "methods", "runs"):
        if key not in doc:
            _fail(where, f"'{key}' is missing; an experiment names problems, methods and runs")
    name = doc.get("name", default_name)
    if not isinstance(name, str) or not NAME.match(name):
        _fail(where, f"'name' must be letters, digits, '.', '_', '+' or '-', but got {name!r}")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        _fail(where, f"'seed' must be a non-negative integer, but got {seed!r}")
    runs = _positive_int(doc["runs"], where, "runs")
    factor = _positive(doc.get("budget_factor", 1), where, "budget_factor")
    criterion = doc.get("criterion", "TIME")
    if criterion not in ("TIME", "GOAL"):
        _fail(where, f"'criterion' must be TIME or GOAL, but got {criterion!r}")
    max_trials = doc.get("max_trials")
    if max_trials is not None:
        _positive_int(max_trials, where, "max_trials")
    problems = _list(doc["problems"], where, "problems")
    methods = _list(doc["methods"], where, "methods")
    parsed_problems = [parse_problem(p, f"{where}: problems[{i}]", factor) for i, p in enumerate(problems)]
    parsed_methods = [parse_method(m, f"{where}: methods[{i}]") for i, m in enumerate(methods)]
    for items, what in ((parsed_problems, "problem"), (parsed_methods, "method")):
        seen: set[str] = set()
        for item in items:
            key = item.id if what == "problem" else item.name
            if key in seen:
                _fail(where, f"two {what}s are named {key!r}; give one of them another 'name'")
            seen.add(key)
    peers_live = [m.name for m in parsed_methods if m.peer] and [p.id for p in parsed_problems if p.task]
    if peers_live:
        _fail(where, f"peers run on lookup tables only, but problems {peers_live} are live tasks; "
                     "drop the peers or the tasks")
    return Experiment(name, where, seed, runs, parsed_problems, parsed_methods, criterion, max_trials, dict(doc))


def _list(value: Any, where: str, key: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        _fail(where, f"'{key}' must be a non-empty list, but got {value!r}")
    return value


def parse_problem(item: Any, where: str, factor: float = 1.0) -> ProblemSpec:
    """A problem entry: a table name or path, or a mapping with `table` or `task`."""
    from hpo_mab.surrogates import table_names
    from hpo_mab.tasks import TASKS

    if isinstance(item, str):
        item = {"table": item}
    if not isinstance(item, dict):
        _fail(where, f"expected a table name or a mapping with 'table' or 'task', but got {item!r}")
    _unknown(item, PROBLEM_KEYS, where)
    table, task = item.get("table"), item.get("task")
    if (table is None) == (task is None):
        _fail(where, f"give exactly one of 'table' (a lookup table) and 'task' (real training), got {item!r}")
    if table is not None:
        known = table_names()
        if not isinstance(table, str) or not (table in known or table.endswith(".npz")):
            _fail(where, f"table {table!r} is not a lookup table; expected a path to an .npz file or one of "
                         f"{', '.join(known)}")
        if table.endswith(".npz") and not Path(table).is_file():
            _fail(where, f"table {table!r}: no such file")
        for key in ("epochs", "device", "datasets", "candidates"):
            if key in item:
                _fail(where, f"'{key}' applies to live tasks ('task'), not to the table {table!r}")
    elif not isinstance(task, str) or task not in TASKS:
        _fail(where, f"task {task!r} is not a training task; expected one of {', '.join(TASKS)}")
    budget = item.get("budget")
    if budget is not None:
        try:
            budget = parse_duration(budget)
        except HpoError as exc:
            _fail(where, f"budget: {exc}")
        if not budget > 0:
            _fail(where, f"'budget' must be a positive duration (90s, 20m, 6h), but got {item['budget']!r}")
    own = _positive(item.get("budget_factor", 1), where, "budget_factor")
    goal = item.get("goal")
    if goal is not None and (not _number(goal) or goal != goal or abs(goal) == float("inf")):
        _fail(where, f"'goal' must be a finite number in the metric's units, but got {goal!r}")
    epochs = item.get("epochs")
    if epochs is not None:
        _positive_int(epochs, where, "epochs")
    for key in ("device", "datasets"):
        if item.get(key) is not None and not isinstance(item[key], str):
            _fail(where, f"'{key}' must be a string, but got {item[key]!r}")
    candidates = item.get("candidates", "auto")
    if candidates not in CANDIDATE_CHOICES:
        _fail(where, f"'candidates' must be one of {', '.join(CANDIDATE_CHOICES)}, but got {candidates!r}")
    base = Path(table).stem if table is not None else task
    total = own * factor
    name = item.get("name", base if total == 1 else f"{base}-{total:g}x")
    if not isinstance(name, str) or not NAME.match(name):
        _fail(where, f"'name' must be letters, digits, '.', '_', '+' or '-', but got {name!r}")
    return ProblemSpec(name, table, task, budget, total, None if goal is None else float(goal), epochs,
                       item.get("device"), item.get("datasets"), candidates)


