"""Issue 10's figures for a lookup table: how hard random search finds it at the table's default budget.

For each table: N random-search runs (mode RANDOM through `run_experiment`, the table's default budget, run i
seeded by child i of SeedSequence(--seed), as every experiment of the project), then

- the table's rows, seeds, epochs and default budget, and its top 1% (rows whose true value, the mean over
  seeds of the final-epoch metric, is at least as good as the 1% quantile, ties included);
- random search's median normalised regret at the default budget (`normalised_regret`: the incumbent's true
  loss minus the best, over the median minus the best) with its exact 95% order-statistic interval
  (`median_interval`);
- the share of runs whose incumbent is in the top 1% at 25%, 50% and 100% of the budget, each with its exact
  (Clopper-Pearson) 95% interval. The incumbent is the run's best finished trial by observed value (one
  seed's curve, as the run itself reports it, `incumbent_rows`); its membership is judged by true value, so an
  incumbent can leave the top 1% again when a lucky seed of a worse row overtakes it;
- the Kaplan-Meier median time (simulated seconds) until the incumbent first enters the top 1%, runs that never
  do censored at the budget (`km_median`, log-log interval), as issue 8's study counts time to target.

A table whose metadata says `complete: false` (a build in progress) is refused unless --allow-partial; then
every figure is labelled PARTIAL TABLE. The output is a Markdown section per table, printed and written to
experiments/results/table_figures.md (a table's section is replaced there, others are kept), ready to paste
into surrogates/README.md. Journals go to a temporary directory and are deleted.

    .venv/bin/python experiments/table_figures.py digits-lenet --runs 100
    .venv/bin/python experiments/table_figures.py kin8nm-mlp protein-mlp --runs 100 --seed 0
    .venv/bin/python experiments/table_figures.py path/to/table.npz --allow-partial --out /tmp/figures.md
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from hpo_mab.analysis.metrics import incumbent_rows, normalised_regret  # noqa: E402
from hpo_mab.analysis.stats import KaplanMeier, km_median, median_interval  # noqa: E402
from hpo_mab.errors import HpoError  # noqa: E402
from hpo_mab.journal import read_journal  # noqa: E402
from hpo_mab.runner import Settings, run_experiment  # noqa: E402
from hpo_mab.surrogates import Table, get_table  # noqa: E402
from hpo_mab.threads import one_blas_thread  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results" / "table_figures.md"
FRACTIONS = (0.25, 0.5, 1.0)
TOP_PERCENT = 1.0
PARTIAL = "PARTIAL TABLE"
HEADER = """# Random search on the lookup tables

Written by `experiments/table_figures.py` (one section per table; rerunning it for a table replaces that
table's section). Each section is ready to paste into `surrogates/README.md`. Regret is normalised regret
(0 = the table's best row, 1 = its median row); the top 1% is judged by true value (mean over seeds of the
final-epoch metric); the incumbent is each run's best trial by observed value. Intervals are 95%: exact
order-statistic for the median, Clopper-Pearson for shares, Kaplan-Meier log-log for the time to the top 1%.
"""


def is_partial(table: Table) -> bool:
    """A table whose builder says it is not finished (tables without the key, e.g. literature ones, are not)."""
    return table.meta.get("complete") is False


def partial_line(table: Table) -> str:
    """The one-line refusal of a partial table."""
    planned = table.meta.get("configs_planned")
    of = f" of {planned}" if planned is not None else ""
    return (f"{table.name} is a {PARTIAL} ({table.n_rows}{of} configurations; its metadata says "
            "complete: false): the figures would change when the build finishes; pass --allow-partial to "
            "compute them anyway, labelled PARTIAL TABLE")


def random_runs(table: Table, runs: int, seed: int) -> list[list[dict[str, Any]]]:
    """Journal records of `runs` random-search runs at the table's default budget, one list per run."""
    settings = Settings(config_name=table.name, num_runs=runs, mode="RANDOM", spec=None,
                        budget=float(table.default_budget_s), seed=seed)
    with tempfile.TemporaryDirectory(prefix="table_figures-") as tmp, one_blas_thread():
        run_experiment(settings, table, Path(tmp) / "out")
        by_run: list[list[dict[str, Any]]] = [[] for _ in range(runs)]
        for record in read_journal(Path(tmp) / "out" / "journal.jsonl"):
            by_run[record["run"]].append(record)
    return by_run


@dataclass(frozen=True)
class RunFigures:
    """One run: regret at the budget, whether the incumbent is in the top 1% at each fraction, time to it."""

    trials: int
    regret: float
    in_top: tuple[bool, ...]  # at each of FRACTIONS of the budget
    time_to_top: float | None  # first simulated second with the incumbent in the top 1% (None: never)


def run_figures(table: Table, records: list[dict[str, Any]], budget: float, top: np.ndarray) -> RunFigures:
    """`top`: a boolean mask of the table's top rows."""
    clocks, rows = incumbent_rows(records)

    def incumbent(t: float) -> int | None:
        k = int(np.searchsorted(clocks, t, side="right")) - 1
        return rows[k] if k >= 0 else None

    at = tuple(incumbent(f * budget) for f in FRACTIONS)
    hit = next((c for c, r in zip(clocks, rows) if r is not None and top[r]), None)
    return RunFigures(len(records), normalised_regret(table, at[-1]),
                      tuple(r is not None and bool(top[r]) for r in at), None if hit is None else float(hit))


@dataclass(frozen=True)
class TableFigures:
    table: Table
    runs: int
    seed: int
    budget: float
    cut: float  # the top 1%'s worst true value, in the metric's units
    n_top: int
    per_run: list[RunFigures]
    km: KaplanMeier
    cpu_seconds: float


def figures(table: Table, runs: int, seed: int) -> TableFigures:
    """Run random search on `table` and compute its figures."""
    budget = float(table.default_budget_s)
    losses = table.true_losses
    cut = float(np.quantile(losses, TOP_PERCENT / 100.0))
    top = losses <= cut
    cpu = time.process_time()
    per_run = [run_figures(table, records, budget, top) for records in random_runs(table, runs, seed)]
    times = [budget if r.time_to_top is None else r.time_to_top for r in per_run]
    km = km_median(times, [r.time_to_top is not None for r in per_run])
    return TableFigures(table, runs, seed, budget, float(table.metric.from_loss(cut)), int(top.sum()), per_run, km,
                        time.process_time() - cpu)


def _share(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{100 * k / n:.0f}% ({k} of {n}; 95% CI {100 * ci.low:.0f}-{100 * ci.high:.0f}%)"


def _seconds(x: float) -> str:
    return "> budget" if not np.isfinite(x) else f"{x:.1f} s"


def _km_text(km: KaplanMeier, n: int) -> str:
    reach = f"{km.reached} of {n} runs reach it within the budget"
    if km.reached == 0:
        return f"> budget; {reach}"
    return f"{_seconds(km.median)} (95% CI {_seconds(km.low)} to {_seconds(km.high)}); {reach}"


def markdown(f: TableFigures, command: str) -> str:
    """The table's Markdown section, between markers that `replace_section` finds again."""
    t, n = f.table, f.runs
    partial = is_partial(t)
    tag = f" ({PARTIAL})" if partial else ""
    m = t.metric
    best = float(m.from_loss(np.min(t.true_losses)))
    median_value = float(m.from_loss(np.median(t.true_losses)))
    regret, low, high = median_interval([r.regret for r in f.per_run])
    trials = np.median([r.trials for r in f.per_run])
    better = ">=" if m.direction == "max" else "<="
    lines = [f"<!-- table_figures: {t.name} -->", f"### {t.name}: random search at the default budget{tag}", ""]
    if partial:
        planned = t.meta.get("configs_planned")
        lines += [f"**{PARTIAL}**: {t.n_rows} of {planned if planned is not None else '?'} planned configurations "
                  "(metadata `complete: false`); every figure below will change when the build finishes.", ""]
    km = f.km
    rows = [
        ("table", f"{t.n_rows} configurations x {t.n_seeds} seeds x {t.n_epochs} epochs; metric {m.name} "
                  f"({m.direction}); best true value {best:.4g}, median {median_value:.4g}"),
        ("default budget", f"{f.budget:.1f} simulated s ({f.budget / t.median_trial_seconds:.0f} median trials of "
                           f"{t.median_trial_seconds:.3g} s)"),
        ("top 1%", f"{f.n_top} rows, true {m.name} {better} {f.cut:.4g}"),
        ("random-search runs", f"{n} (seed {f.seed}); median {trials:.0f} trials per run"),
        ("median normalised regret at the budget", f"{regret:.3g} (95% CI {low:.3g}-{high:.3g})"),
        *[(f"incumbent in the top 1% at {int(100 * frac)}% of the budget",
           _share(sum(r.in_top[i] for r in f.per_run), n)) for i, frac in enumerate(FRACTIONS)],
        ("median time to the top 1% (Kaplan-Meier)", _km_text(km, n)),
    ]
    lines += ["| figure | value |", "|---|---|"]
    lines += [f"| {name}{tag} | {value} |" for name, value in rows]
    lines += ["", f"`{command}` ({f.cpu_seconds:.1f} CPU s)", f"<!-- /table_figures: {t.name} -->"]
    return "\n".join(lines) + "\n"


def replace_section(text: str, name: str, section: str) -> str:
    """`text` with the section of table `name` replaced by `section` (appended when absent)."""
    pattern = re.compile(rf"<!-- table_figures: {re.escape(name)} -->\n.*?<!-- /table_figures: {re.escape(name)} "
                         r"-->\n", re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: section, text, count=1)
    return text.rstrip("\n") + "\n\n" + section


def write_section(path: Path, name: str, section: str) -> None:
    text = path.read_text() if path.is_file() else HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(replace_section(text, name, section))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tables", nargs="+", metavar="TABLE", help="a table name (surrogates/NAME.npz) or an .npz path")
    p.add_argument("--runs", type=int, default=100, help="random-search runs per table (default 100)")
    p.add_argument("--seed", type=int, default=0, help="run i uses child i of SeedSequence(SEED) (default 0)")
    p.add_argument("--allow-partial", action="store_true",
                   help="compute the figures of a table whose build is unfinished, labelled PARTIAL TABLE")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"Markdown file to update (default {RESULTS})")
    args = p.parse_args(argv)
    try:
        if args.runs < 1:
            raise HpoError(f"--runs must be a positive integer, but got {args.runs}")
        tables = [get_table(name) for name in args.tables]  # every table is checked before any run
        for table in tables:
            if is_partial(table) and not args.allow_partial:
                raise HpoError(partial_line(table))
        for name, table in zip(args.tables, tables):
            command = (f"python experiments/table_figures.py {name} --runs {args.runs} --seed {args.seed}"
                       + (" --allow-partial" if is_partial(table) else ""))
            section = markdown(figures(table, args.runs, args.seed), command)
            print(section, flush=True)
            write_section(args.out, table.name, section)
    except HpoError as exc:
        print(f"table_figures: {exc}", file=sys.stderr)
        return 2
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
