"""Issue 10's acceptance check "Live and table agree": 5 live runs and 5 runs on the kin8nm-mlp table at the same
budget give incumbents whose test RMSE medians differ by less than the spread across runs.

Both sides run the same method (GP-EI unless --mode/--spec) through `run_experiment`, run i seeded by child i of
SeedSequence(--seed), at the same budget (the table's default unless --budget) and for the table's epochs:

- table runs: the lookup table on its simulated clock, whose seconds are the training CPU seconds of one
  single-threaded worker (evaluation excluded; the table's `seconds_note`). The incumbent's test RMSE is its
  row's mean over seeds of the final-epoch test metric (the table's `test` array); the observed seed's test
  RMSE (the trial's `test` field) is printed beside it.
- live runs: `task_problem(get_task(TASK), threads=1)` on the CPU (the table's device) with
  Settings(train=True, epochs=<table epochs>), on the wall clock: torch, OpenMP, MKL and OpenBLAS on one
  thread. The incumbent's test RMSE is its trial's `test` field (the one training run that was observed).

The live wall clock also counts what the table's clock does not: each proposal (the GP fit), building the
model, evaluating validation and test sets after every epoch, the journal, and any time the process waits for
a CPU on a loaded machine. So at the same budget a live run sees fewer trials than a table run; the script
prints the live runs' summed training seconds (wall clock, evaluation excluded, as the trainer reports them),
proposal seconds and process CPU seconds against their wall seconds, and the trials per run of both sides.

Rule: agree when |median_live - median_table| < spread, spread = the larger of the two interquartile ranges
(numpy's linear percentiles; with 5 runs, the 2nd to the 4th smallest value, no interpolation). The larger one
because the acceptance line compares the medians with "the spread across runs", and the two sides differ in how
noisy they are (the live runs see fewer trials and one seed per trial): a difference smaller than the
run-to-run spread of the noisier side cannot be told from that noise with 5 runs. The smaller IQR and the IQR
of all runs together are printed beside it.

Exit status: 0 when the two sides agree, 1 when they do not, 2 for a user error (one line). A table whose
metadata says `complete: false` (a build in progress) is refused with one line; --dry-run prints
the projected wall time (runs x budget x 2) and exits. Journals go to --work (default a directory under the
system's temporary directory named by the settings) and a rerun with the same settings resumes there (a live
trial in flight at a kill is trained again); --fresh starts again.

    .venv/bin/python experiments/live_vs_table.py --dry-run
    .venv/bin/python experiments/live_vs_table.py            # writes experiments/results/live_vs_table.txt
    .venv/bin/python experiments/live_vs_table.py --runs 5 --budget 300 --mode DIV --spec GT
    .venv/bin/python experiments/live_vs_table.py --live-candidates continuous \
        --out experiments/results/live_vs_table_continuous.txt

`--live-candidates` (hpo-runner's --candidates): by default a live run of a task that has a table trains the
table's configurations (its 1,500 Sobol rows), so both sides search the same set and the check compares what
the table replays (recorded curves, seeds, CPU seconds) with real training. `continuous` lets the live arms
search the whole space, where they find configurations better than any of the table's rows (GP-EI pushes
`units` and `dropout_rate` to their bounds, which 1,500 Sobol rows rarely come near): that compares the
table's coverage of the space, not its replay.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from hpo_mab.backends.problem import with_candidates  # noqa: E402
from hpo_mab.catalog import CANDIDATE_CHOICES  # noqa: E402
from hpo_mab.defaults import DEFAULT_ARMS  # noqa: E402
from hpo_mab.errors import HpoError  # noqa: E402
from hpo_mab.journal import read_journal  # noqa: E402
from hpo_mab.runner import RunSummary, Settings, run_experiment  # noqa: E402
from hpo_mab.surrogates import DEFAULT_DIR, Table, get_table  # noqa: E402
from hpo_mab.threads import one_blas_thread  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results" / "live_vs_table.txt"
DRY_FACTOR = 2


class Out:
    """Prints each line and keeps it for the results file."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


def load_avg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def check_table(table: Table, task: str) -> None:
    """The table must be the task's and carry a test metric."""
    built_for = table.meta.get("task")
    if built_for is not None and built_for != task:
        raise HpoError(f"{table.name} was built for task {built_for!r}, not {task!r}; give --table for {task}")
    if table.test is None:
        raise HpoError(f"{table.name} has no 'test' array: the check compares test metrics")


def partial_line(table: Table) -> str:
    planned = table.meta.get("configs_planned")
    of = f" of {planned}" if planned is not None else ""
    return (f"{table.name} is a PARTIAL TABLE ({table.n_rows}{of} configurations; its metadata says complete: "
            "false): the check needs the finished table; run it again when the build has finished")


def settings_of(args: argparse.Namespace, name: str, budget: float, live: bool, epochs: int,
                candidates: str | None = None) -> Settings:
    extra: dict[str, Any] = {"train": True, "epochs": epochs, "candidates": candidates} if live else {}
    return Settings(config_name=name, num_runs=args.runs, mode=args.mode, spec=args.spec, budget=budget,
                    seed=args.seed, arms=[tuple(a) for a in DEFAULT_ARMS] if args.mode == "DIV" else None, **extra)


def table_dir(args: argparse.Namespace) -> Path:
    """Where --candidates looks for the task's table: --table's folder when it is a file, else surrogates/."""
    return Path(args.table).parent if args.table and args.table.endswith(".npz") else DEFAULT_DIR


def by_run(path: Path, runs: int) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = [[] for _ in range(runs)]
    for record in read_journal(path):
        out[record["run"]].append(record)
    return out


def incumbent_record(records: Sequence[dict[str, Any]], summary: RunSummary) -> dict[str, Any] | None:
    """The journal record of the run's incumbent (the summary's best trial)."""
    if summary.best_trial is None:
        return None
    return next(r for r in records if r["number"] == summary.best_trial)


def iqr(x: Sequence[float]) -> float:
    q1, q3 = np.percentile(np.asarray(x, dtype=float), [25, 75])
    return float(q3 - q1)


def fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def run_table_side(table: Table, args: argparse.Namespace, budget: float, work: Path,
                   out: Out) -> tuple[list[float], list[int], list[float]]:
    """The table runs: each run's incumbent test RMSE (the row's mean over seeds), its number of trials, and
    the test RMSE of the seed the incumbent trial observed."""
    settings = settings_of(args, table.name, budget, live=False, epochs=table.n_epochs)
    start = time.process_time()
    with one_blas_thread():
        summaries = run_experiment(settings, table, work / "table", resume=not args.fresh, overwrite=args.fresh)
    cpu = time.process_time() - start
    records = by_run(work / "table" / "journal.jsonl", args.runs)
    out(f"table runs ({settings.describe()}, {cpu:.1f} CPU s of proposals and replay in this process):")
    out(f"  {'run':>3} {'trials':>6} {'incumbent':>9} {'row':>5} {'val (seed)':>10} {'test (row mean)':>15} "
        f"{'test (seed)':>11}")
    tests, seed_tests = [], []
    for s, recs in zip(summaries, records):
        inc = incumbent_record(recs, s)
        if inc is None:
            raise HpoError(f"table run {s.run} ended without a finished trial ({s.stop_reason})")
        row = inc["row"]
        test = float(np.nanmean(table.test[row, :, -1]))
        tests.append(test)
        seed_tests.append(float(inc["test"]))
        out(f"  {s.run:>3} {s.trials:>6} {inc['number']:>9} {row:>5} {fmt(inc['value']):>10} {fmt(test):>15} "
            f"{fmt(inc['test']):>11}")
    return tests, [s.trials for s in summaries], seed_tests


def run_live_side(table: Table, args: argparse.Namespace, budget: float, work: Path,
                  out: Out) -> tuple[list[float], list[int]]:
    """The live runs: each run's incumbent test RMSE (its trial's `test`) and its number of trials."""
    import torch

    from hpo_mab.backends.train import task_problem
    from hpo_mab.tasks import get_task

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    problem = task_problem(get_task(args.task), epochs=table.n_epochs, device=args.device, datasets=args.datasets,
                           threads=1)
    problem = with_candidates(problem, args.live_candidates, table_dir(args))  # as hpo-runner --candidates
    settings = settings_of(args, args.task, budget, live=True, epochs=table.n_epochs,
                           candidates=problem.candidates_setting)  # as hpo-runner records it
    cpu: dict[int, float] = {}
    mark = [time.process_time()]
    ran: set[int] = set()

    def on_trial(trial: Any, now: float) -> None:
        ran.add(trial.run)

    def on_run_end(summary: RunSummary) -> None:
        now = time.process_time()
        if summary.run in ran:  # run (or finished) in this process, not reused from an earlier invocation
            cpu[summary.run] = now - mark[0]
        mark[0] = now

    out(f"live runs ({settings.describe()}, device {problem.meta['device']}, one thread, "
        f"{table.n_epochs} epochs per trial, candidates: "
        + (f"the rows of {problem.rows.name} (--candidates {args.live_candidates})" if problem.rows is not None
           else f"continuous, the whole space (--candidates {args.live_candidates})")
        + f"); load average before: {load_avg()}")
    with one_blas_thread():
        summaries = run_experiment(settings, problem, work / "live", resume=not args.fresh, overwrite=args.fresh,
                                   on_trial=on_trial, on_run_end=on_run_end)
    out(f"load average after: {load_avg()}")
    records = by_run(work / "live" / "journal.jsonl", args.runs)
    out(f"  {'run':>3} {'trials':>6} {'done':>4} {'incumbent':>9} {'val':>7} {'test':>7} {'wall s':>7} "
        f"{'train s':>8} {'propose s':>9} {'CPU s':>7} {'train/wall':>10}")
    tests = []
    totals = np.zeros(3)
    for s, recs in zip(summaries, records):
        inc = incumbent_record(recs, s)
        if inc is None or inc["test"] is None:
            raise HpoError(f"live run {s.run} ended without a finished trial with a test RMSE ({s.stop_reason})")
        tests.append(float(inc["test"]))
        train = sum(float(r["info"].get("train_seconds", 0.0)) for r in recs)
        propose = sum(float(r["proposal_seconds"]) for r in recs)
        done = sum(r["state"] in ("init", "complete") for r in recs)
        totals += (s.clock, train, propose)
        out(f"  {s.run:>3} {s.trials:>6} {done:>4} {inc['number']:>9} {fmt(inc['value']):>7} {fmt(inc['test']):>7} "
            f"{s.clock:>7.1f} {train:>8.1f} {propose:>9.1f} {fmt(cpu.get(s.run), 1):>7} {train / s.clock:>10.0%}")
    wall, train, propose = totals
    out(f"  all {wall:.1f} wall s: {train:.1f} s training ({train / wall:.0%}; wall clock, evaluation excluded), "
        f"{propose:.1f} s proposing ({propose / wall:.0%}), {wall - train - propose:.1f} s other (building models, "
        "evaluating after each epoch, the journal, waiting for a CPU)")
    return tests, [s.trials for s in summaries]


def compare(table_tests: list[float], live_tests: list[float], out: Out,
            table_seed_tests: list[float] | None = None) -> bool:
    med_t, med_l = float(np.median(table_tests)), float(np.median(live_tests))
    iqr_t, iqr_l = iqr(table_tests), iqr(live_tests)
    spread = max(iqr_t, iqr_l)
    diff = abs(med_l - med_t)
    ok = diff < spread
    out("incumbents' test RMSE:")
    out(f"  table: median {med_t:.4f}, IQR {iqr_t:.4f}  (values {', '.join(f'{v:.4f}' for v in sorted(table_tests))})")
    out(f"  live:  median {med_l:.4f}, IQR {iqr_l:.4f}  (values {', '.join(f'{v:.4f}' for v in sorted(live_tests))})")
    larger = "live" if iqr_l >= iqr_t else "table"
    out(f"  rule: |median_live - median_table| < spread, spread = the larger IQR (here the {larger} runs')")
    out(f"  |{med_l:.4f} - {med_t:.4f}| = {diff:.4f} {'<' if ok else '>='} {spread:.4f}: "
        f"{'AGREE' if ok else 'DISAGREE'}")
    out(f"  for reference: the smaller IQR {min(iqr_t, iqr_l):.4f} ({'pass' if diff < min(iqr_t, iqr_l) else 'fail'}"
        f"), the IQR of all {len(table_tests) + len(live_tests)} runs {iqr(table_tests + live_tests):.4f} "
        f"({'pass' if diff < iqr(table_tests + live_tests) else 'fail'})")
    if table_seed_tests is not None:  # the same quantity on both sides: the incumbent trial's own training run
        med_s, iqr_s = float(np.median(table_seed_tests)), iqr(table_seed_tests)
        diff_s, spread_s = abs(med_l - med_s), max(iqr_s, iqr_l)
        out(f"  for reference, the table incumbents' observed seed's test RMSE (a live incumbent's is its one "
            f"training run's): median {med_s:.4f}, IQR {iqr_s:.4f}; |{med_l:.4f} - {med_s:.4f}| = {diff_s:.4f} "
            f"{'<' if diff_s < spread_s else '>='} {spread_s:.4f} ({'pass' if diff_s < spread_s else 'fail'})")
    return ok


def rows_chosen(table: Table, table_tests: list[float], work: Path, runs: int, out: Out) -> None:
    """Reference (added after protein-mlp's check disagreed): the quality of the configurations each side ends
    with, measured the same way on both, by the recorded mean test RMSE of the incumbent's row; this leaves out
    the live incumbent's one seed, on which the live side selected."""
    live_rows = []
    for recs in by_run(work / "live" / "journal.jsonl", runs):
        done = [r for r in recs if r["row"] is not None and r["state"] in ("init", "complete")
                and r["value"] is not None]
        if done:
            best = min(done, key=lambda r: r["value"]) if table.metric.direction == "min" else \
                max(done, key=lambda r: r["value"])
            live_rows.append(best["row"])
    if len(live_rows) != runs:
        return
    live = [float(np.nanmean(table.test[r, :, -1])) for r in live_rows]
    med_l, med_t = float(np.median(live)), float(np.median(table_tests))
    spread = max(iqr(live), iqr(table_tests))
    out(f"  for reference, the recorded mean test RMSE of the incumbents' rows on both sides: live rows "
        f"{live_rows}, median {med_l:.4f} (IQR {iqr(live):.4f}) against the table's {med_t:.4f}; |difference| "
        f"{abs(med_l - med_t):.4f} {'<' if abs(med_l - med_t) < spread else '>='} {spread:.4f}")


def per_trial(table: Table, work: Path, out: Out) -> None:
    """Trial by trial: each live trial of a table row (final validation value, a fresh seed) against the
    table's recorded seeds of the same row. Replay itself is exact (`replay_fidelity.py`: the same seed gives
    the same curve), so a shift here is the recorded seeds' realization, shared by every row of the table."""
    records = [r for r in read_journal(work / "live" / "journal.jsonl")
               if r["row"] is not None and r["state"] in ("init", "complete") and r["value"] is not None]
    if not records:
        return
    from scipy import stats

    recorded = np.log(table.values[:, :, -1])
    live = np.log([r["value"] for r in records])
    rows = np.array([r["row"] for r in records])
    out(f"per trial ({len(records)} live trials of table rows): log(live value) - log(recorded value), same row:")
    for seed in range(table.n_seeds):
        d = live - recorded[rows, seed]
        out(f"  seed {seed}: mean {d.mean():+.4f} (SE {d.std(ddof=1) / np.sqrt(d.size):.4f}), median "
            f"{np.median(d):+.4f}, Wilcoxon p = {stats.wilcoxon(d).pvalue:.2g}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="kin8nm-mlp", help="training task (default kin8nm-mlp)")
    p.add_argument("--table", default=None, help="its table: a name or an .npz path (default: the task's name)")
    p.add_argument("--runs", type=int, default=5, help="runs per side (default 5)")
    p.add_argument("--budget", type=float, default=None, help="seconds per run (default: the table's default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", default="GP", help="method of both sides, as hpo-runner -m (default GP)")
    p.add_argument("--spec", default="EI", help="as hpo-runner -s (default EI)")
    p.add_argument("--live-candidates", choices=CANDIDATE_CHOICES, default="auto",
                   help="where the live runs' arms look, as hpo-runner --candidates: auto (default: the table's "
                        "rows, trained for real), table, or continuous (the whole space)")
    p.add_argument("--device", default="cpu", help="live device (default cpu, as the table's seconds)")
    p.add_argument("--datasets", default=None, help="datasets directory (default $HPO_MAB_DATASETS or ../shared)")
    p.add_argument("--work", type=Path, default=None, help="journals (default under the temporary directory)")
    p.add_argument("--fresh", action="store_true", help="start again instead of resuming --work")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    p.add_argument("--dry-run", action="store_true", help="print the projected wall time and exit")
    args = p.parse_args(argv)
    out = Out()
    try:
        if args.runs < 1:
            raise HpoError(f"--runs must be a positive integer, but got {args.runs}")
        if args.budget is not None and not args.budget > 0:
            raise HpoError(f"--budget must be positive seconds, but got {args.budget}")
        table = get_table(args.table or args.task)
        check_table(table, args.task)
        partial = table.meta.get("complete") is False
        budget = float(args.budget if args.budget is not None else table.default_budget_s)
        if args.dry_run:
            total = args.runs * budget * DRY_FACTOR
            print(f"projected wall time: {args.runs} runs x {budget:.0f} s x {DRY_FACTOR} = {total:.0f} s "
                  f"({total / 60:.0f} min): the live runs take {args.runs} x {budget:.0f} s of wall clock (each stops "
                  "at its budget); x 2 leaves room for start-up, the table runs' proposals and a loaded machine")
            if partial:
                print(f"(now: {partial_line(table)}; the default budget is min(200, rows/10) median trials and "
                      "grows with the table)")
            return 0
        if partial:
            raise HpoError(partial_line(table))
        work = args.work or Path(tempfile.gettempdir()) / "hpo_mab-live_vs_table" / (
            f"{args.task}-{args.mode}-{args.spec}-runs{args.runs}-seed{args.seed}-budget{budget:g}"
            f"-{args.live_candidates}")
        out(f"live vs table on {args.task}: {args.runs} runs per side, {args.mode}-{args.spec}, budget {budget:.1f} s "
            f"(table: {'given' if args.budget is not None else 'its default'}), seed {args.seed}, journals in {work}")
        out(f"table {table.name}: {table.n_rows} configurations x {table.n_seeds} seeds x {table.n_epochs} epochs, "
            f"median trial {table.median_trial_seconds:.2f} s; seconds: {table.meta.get('seconds_note', '?')}")
        out()
        table_tests, table_trials, table_seed_tests = run_table_side(table, args, budget, work, out)
        out()
        live_tests, live_trials = run_live_side(table, args, budget, work, out)
        out(f"trials per run, median: table {np.median(table_trials):.0f}, live {np.median(live_trials):.0f} (the "
            "table's clock counts only training CPU seconds)")
        out()
        ok = compare(table_tests, live_tests, out, table_seed_tests)
        if args.live_candidates != "continuous":
            rows_chosen(table, table_tests, work, args.runs, out)
        per_trial(table, work, out)
    except HpoError as exc:
        print(f"live_vs_table: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out.lines) + "\n")
    print(f"written to {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
