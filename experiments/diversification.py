"""Issue 3's claim: no single arm is best everywhere, but a good portfolio is close to the best on each problem.

Runs every single arm, every DIV strategy over the default 7-arm portfolio (run_conf/arms.json) and Optuna's
TPESampler on each table, `--runs` seeded runs per (table, method) cell at the table's default budget; then
ranks the methods by median final normalised regret and checks the default DIV strategy against the best
single arm on every problem. Cells are resumable: a finished cell's file is kept and skipped on restart.

    .venv/bin/python experiments/diversification.py --dry-run            # projected CPU hours only
    .venv/bin/python experiments/diversification.py --workers 2 --commit # the full benchmark (resumable)
    .venv/bin/python experiments/diversification.py --report-only        # report from finished cells
    .venv/bin/python experiments/diversification.py --tables hpobench-mlp-car \
        --methods GP-EI DIV-SEQ RANDOM optuna-tpe --runs 2 --out /tmp/div
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # one BLAS/OpenMP thread (set before numpy loads; workers also use threadpoolctl)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import div_cells as dc  # noqa: E402

from hpo_mab.errors import HpoError  # noqa: E402
from hpo_mab.surrogates import get_table  # noqa: E402

TABLES = ["digits-lenet", "fcnet-protein", "fcnet-slice", "hpobench-mlp-car", "hpobench-mlp-kc1", "nb201-cifar100"]
OUT = Path(__file__).resolve().parent / "results" / "diversification"
_LIMITS: Any = None


def _one_thread() -> None:
    """Worker initialiser: one BLAS/OpenMP thread per process."""
    global _LIMITS
    from threadpoolctl import threadpool_limits

    _LIMITS = threadpool_limits(1)


def _cell_job(table: str, method: str, runs: int, seed: int, out: str) -> tuple[str, str, float, float]:
    doc = dc.run_cell(get_table(table), method, runs, seed, Path(out))
    return table, method, doc["cpu_seconds"], float(np.median([r["regret_100"] for r in doc["results"]]))


def project(tables: list[str], methods: list[str], runs: int, workers: int) -> dict[tuple[str, str], float]:
    """Print projected CPU time per table and in all; returns projected seconds per cell.

    Proposal seconds are measured on one table at 50 and 200 observations and taken as linear in between
    (a run of T trials costs T times the cost at T/2); T is simulated from the table's trial times.
    """
    probe = get_table(next((t for t in tables if not t.startswith("digits")), tables[0]))
    start = time.perf_counter()
    low, high = ({m: dc.method_seconds(m, c) for m in methods} for c in (dc.arm_seconds(probe, n) for n in (50, 200)))
    print(f"projection: seconds per proposal at 50 / 200 observations on {probe.name} (one thread, measured in "
          f"{time.perf_counter() - start:.0f} s; GP-Hedge variants ask all 7 arms and fit a GP):")
    for i in range(0, len(methods), 4):
        print("  " + "; ".join(f"{m} {low[m]:.3f}/{high[m]:.3f}" for m in methods[i:i + 4]))
    cells: dict[tuple[str, str], float] = {}
    for name in tables:
        table = get_table(name)
        trials = dc.expected_trials(table)
        for m in methods:
            per_trial = max(0.0, low[m] + (high[m] - low[m]) * (trials / 2 - 50) / 150)
            cells[(name, m)] = runs * trials * (per_trial + 0.002)  # + runner, journal and replay per trial
        hours = sum(cells[(name, m)] for m in methods) / 3600
        print(f"  {name:<18} {table.n_rows:>6} rows, budget {table.default_budget_s:>10.0f} s, "
              f"~{trials:4.0f} trials/run (random rows): {hours:6.2f} CPU h")
    total = sum(cells.values()) / 3600
    print(f"projected total: {total:.2f} CPU hours for {len(cells)} cells x {runs} runs; about "
          f"{total / workers:.2f} h wall with {workers} worker(s) on idle cores")
    return cells


def commit_cell(path: Path, table: str, method: str) -> None:
    """`git add` and `git commit` one finished cell's file; a failure is reported, not fatal."""
    msg = f"diversification cell: {table} {method}"
    for cmd in (["git", "add", str(path)], ["git", "commit", "-q", "-m", msg, "--", str(path)]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"  (not committed: {' '.join(cmd[:2])}: {done.stderr.strip() or done.stdout.strip()})", flush=True)
            return


def run_cells(jobs: list[tuple[str, str]], runs: int, seed: int, out: Path, workers: int,
              commit: bool = False) -> None:
    """Run the unfinished cells, in `workers` processes; prints (and with `commit`, commits) each as it finishes."""
    args = [(t, m, runs, seed, str(out)) for t, m in jobs]
    if workers <= 1:
        _one_thread()
        done = (_cell_job(*a) for a in args)
    else:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_one_thread)
        done = (f.result() for f in as_completed([pool.submit(_cell_job, *a) for a in args]))
    for k, (table, method, cpu, regret) in enumerate(done, 1):
        print(f"[{k}/{len(jobs)}] {table} {method}: {cpu:.1f} CPU s, median final regret {regret:.4f}", flush=True)
        if commit:
            commit_cell(dc.cell_path(out, table, method), table, method)
    if workers > 1:
        pool.shutdown()


def _med(doc: dict[str, Any], key: str) -> float:
    return float(np.median([r[key] for r in doc["results"]]))


def report(cells: dict[str, dict[str, dict]], tables: list[str], methods: list[str], default: str) -> str:
    """The markdown report: mean ranks, per-problem medians, the goal check, the oracle variants."""
    ranked = [m for m in methods if not dc.is_oracle(m)]
    medians = {t: {m: _med(d, "regret_100") for m, d in cells.get(t, {}).items()} for t in tables}
    ranks, used = dc.mean_ranks(medians, ranked)
    lines = ["# Diversification benchmark (issue 3)", "",
             "Normalised regret: (true loss of the incumbent - best in table) / (median - best); 0 is the table's "
             "best, 1 its median.", "", f"## Mean rank over {len(used)} problem(s) with every ranked cell finished",
             f"(rank per problem by median final normalised regret, ties averaged; problems: {', '.join(used)})", "",
             "| method | mean rank |", "|---|---|"]
    lines += [f"| {m} | {r:.2f} |" for m, r in sorted(ranks.items(), key=lambda kv: kv[1])]
    lines += ["", "## Per problem: median normalised regret at 25% / 50% / 100% of the budget"]
    for t in tables:
        docs = cells.get(t, {})
        any_doc = next(iter(docs.values()), None)
        lines += ["", f"### {t}" + (f" (budget {any_doc['budget']:.0f} s, {any_doc['n_rows']} rows, "
                                    f"{any_doc['runs']} runs)" if any_doc else ""), "",
                  "| method | 25% | 50% | 100% | trials (mean) | note |", "|---|---|---|---|---|---|"]
        for m in ranked:
            d = docs.get(m)
            if d is None:
                lines.append(f"| {m} | - | - | - | - | not finished |")
                continue
            note = f"Optuna repeats: {sum(r['repeats'] for r in d['results'])}" if m in dc.PEERS else ""
            lines.append(f"| {m} | {_med(d, 'regret_25'):.4f} | {_med(d, 'regret_50'):.4f} | "
                         f"{_med(d, 'regret_100'):.4f} | {np.mean([r['trials'] for r in d['results']]):.1f} | "
                         f"{note} |")
    lines += ["", f"## Goal check: {default}", ""]
    if default in ranks:
        best_other = min((r, m) for m, r in ranks.items() if m != default)
        ok = ranks[default] <= best_other[0]
        lines.append(f"- best mean rank: {'PASS' if ok else 'FAIL'} ({default} {ranks[default]:.2f}; best other "
                     f"{best_other[1]} {best_other[0]:.2f})")
    else:
        lines.append("- best mean rank: not checked (unfinished cells)")
    lines += ["", "Per problem: median final regret <= 1.1 x best single arm's + 0.01 (single arms: "
              f"{', '.join(m for m in methods if m in dc.SINGLE_ARMS)})", "",
              "| problem | default | best single arm | bound | result |", "|---|---|---|---|---|"]
    for t in tables:
        singles = {m: v for m, v in medians[t].items() if m in dc.SINGLE_ARMS}
        if default not in medians[t] or not singles:
            lines.append(f"| {t} | - | - | - | not checked |")
            continue
        arm = min(singles, key=singles.get)
        bound = 1.1 * singles[arm] + 0.01
        verdict = "PASS" if medians[t][default] <= bound else "FAIL"
        lines.append(f"| {t} | {medians[t][default]:.4f} | {arm} {singles[arm]:.4f} | {bound:.4f} | {verdict} |")
    oracles = [m for m in methods if dc.is_oracle(m)]
    if oracles:
        lines += ["", "## Oracle variants (peek at true table values; not ranked)", "",
                  "| problem | method | 25% | 50% | 100% |", "|---|---|---|---|---|"]
        for t in tables:
            for m in oracles:
                d = cells.get(t, {}).get(m)
                lines.append(f"| {t} | {m} | " + (" | ".join(f"{_med(d, k):.4f}" for k in
                             ("regret_25", "regret_50", "regret_100")) if d else "- | - | -") + " |")
    return "\n".join(lines) + "\n"


def figure(cells: dict[str, dict[str, dict]], tables: list[str], default: str, path: Path) -> None:
    """Mean incumbent true value (over runs with one by then) against simulated time: the default DIV strategy,
    the best single arm other than random search, random search and Optuna TPE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [t for t in tables if cells.get(t)]
    if not shown:
        return
    cols = min(3, len(shown))
    fig, axes = plt.subplots(math.ceil(len(shown) / cols), cols, figsize=(5 * cols, 3.6 * math.ceil(len(shown) / cols)),
                             squeeze=False)
    for ax, t in zip(axes.flat, shown):
        docs = cells[t]
        singles = {m: _med(d, "regret_100") for m, d in docs.items() if m in dc.SINGLE_ARMS and m != "RANDOM"}
        best = min(singles, key=singles.get) if singles else None
        for m, label in ((default, default), (best, f"best single arm ({best})"), ("RANDOM", "random search"),
                         ("optuna-tpe", "Optuna TPE")):
            if m is None or m not in docs:
                continue
            d = docs[m]
            curves = np.array([[np.nan if v is None else v for v in r["curve"]] for r in d["results"]], dtype=float)
            with np.errstate(all="ignore"):
                mean = np.nanmean(curves, axis=0) if np.isfinite(curves).any() else curves[0]
            unit, scale = ("h", 3600.0) if d["budget"] > 3 * 3600 else ("s", 1.0)
            ax.plot(np.asarray(d["grid"]) / scale, mean, label=label)
            ax.set_xlabel(f"simulated time ({unit})")
            ax.set_ylabel(f"incumbent true {d['metric']} (mean)")
        ax.set_title(t)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=TABLES)
    p.add_argument("--methods", nargs="+", default=dc.METHODS, help=f"default: all of {' '.join(dc.METHODS)}")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--default-strategy", default="SEQ", help="the DIV strategy the goal check is about")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--commit", action="store_true", help="git-commit each finished cell's file at once")
    p.add_argument("--dry-run", action="store_true", help="print the projected CPU time only")
    p.add_argument("--report-only", action="store_true", help="report from finished cells, run nothing")
    args = p.parse_args(argv)
    try:
        dc.check_methods(args.methods)
        default = f"DIV-{args.default_strategy.upper()}"
        if default not in dc.DIV_METHODS:
            raise HpoError(f"unknown --default-strategy {args.default_strategy!r}; expected one of "
                           f"{', '.join(s[4:] for s in dc.DIV_METHODS)}")
        keys = {t: dc.cell_key(get_table(t), args.runs, args.seed, None) for t in args.tables}
        if not args.report_only:
            stale = [str(dc.cell_path(args.out, t, m)) for t in args.tables for m in args.methods
                     if dc.cell_path(args.out, t, m).exists()
                     and dc.load_cell(dc.cell_path(args.out, t, m), keys[t]) is None]
            if stale:
                raise HpoError(f"cells made with other settings (runs, seed or table build): {', '.join(stale)}; "
                               "delete them or use another --out")
            cost = project(args.tables, args.methods, args.runs, max(args.workers, 1))
            if args.dry_run:
                return
            todo = [(t, m) for t in args.tables for m in args.methods
                    if dc.load_cell(dc.cell_path(args.out, t, m), keys[t]) is None]
            finished = len(args.tables) * len(args.methods) - len(todo)
            print(f"{len(todo)} cell(s) to run, {finished} finished", flush=True)
            run_cells(sorted(todo, key=lambda c: -cost[c]), args.runs, args.seed, args.out, args.workers,
                      commit=args.commit)
            for work in args.out.glob("*/_work"):
                if not any(work.iterdir()):
                    work.rmdir()
    except HpoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    cells: dict[str, dict[str, dict]] = {}
    for t in args.tables:
        for m in args.methods:
            doc = dc.load_cell(dc.cell_path(args.out, t, m), keys[t])
            if doc is not None:
                cells.setdefault(t, {})[m] = doc
    text = report(cells, args.tables, args.methods, default)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(text)
    figure(cells, args.tables, default, args.out / "convergence.png")
    print(f"wrote {args.out / 'report.md'} and {args.out / 'convergence.png'}")


if __name__ == "__main__":
    main()
