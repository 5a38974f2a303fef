"""Issue 11's benchmark: time to a top-1% (top-5%) full-resource trial, with and without schedulers.

The plan (tables, seeds, methods, the rules that choose the defaults, the goal) is experiments/
multifidelity_plan.md, written before any run. Cells (table, method) of 30 seeded runs are resumable: a
finished cell's file is kept and skipped.

    .venv/bin/python experiments/multifidelity.py --phase dev --dry-run      # projected CPU hours
    .venv/bin/python experiments/multifidelity.py --phase dev --workers 2
    .venv/bin/python experiments/multifidelity.py --phase eval --workers 2   # after dev_choice.json
    .venv/bin/python experiments/multifidelity.py --phase eval --report-only
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # one BLAS/OpenMP thread per worker, set before numpy loads
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from hpo_mab.journal import Journal  # noqa: E402
from hpo_mab.peers import run_peer_on_table  # noqa: E402
from hpo_mab.runner import Settings, run_one  # noqa: E402
from hpo_mab.surrogates import Table, get_table  # noqa: E402
from hpo_mab.termination import Termination  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import multifidelity_report as mr  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "multifidelity"
RUNS = 30
DEV = {"tables": ["digits-lenet"], "seed": 0}
EVAL = {"tables": ["kin8nm-mlp", "protein-mlp"], "seed": 1000}
SCHEDULERS = [None, "SHA", "ASHA", "HYPERBAND", "MEDIAN", "DECATERCET", "PENTATERCET", "TETRATERCET",
              "EXTRAPOLATION"]
CANDIDATE_ARMS = ["GP-EI", "RF-EI", "TPE"]
DEFAULT_DIV = "DIV-GT"
PEERS = ["optuna-tpe", "optuna-tpe-sha", "optuna-tpe-hyperband", "optuna-tpe-median"]


def method_name(arm: str, scheduler: str | None) -> str:
    return arm if scheduler is None else f"{arm}+{scheduler}"


def methods_of(phase: str, choice: dict[str, Any] | None = None) -> list[str]:
    arms = ["RANDOM", *CANDIDATE_ARMS, DEFAULT_DIV] if phase == "dev" else ["RANDOM", choice["best_arm"], DEFAULT_DIV]
    return [method_name(a, s) for a in arms for s in SCHEDULERS] + PEERS


def parse_method(method: str) -> tuple[str, str | None, str | None]:
    """(mode, spec, scheduler) of a method name such as GP-EI+ASHA, DIV-GT, TPE."""
    arm, _, scheduler = method.partition("+")
    mode, _, spec = arm.partition("-")
    return mode, spec or None, scheduler or None


class Reached(Exception):
    """A run has its full-resource top-1% trial: nothing later changes its times."""


def targets(table: Table) -> tuple[float, float]:
    """True losses marking the table's top 1% and top 5% rows."""
    losses = table.true_losses[np.isfinite(table.true_losses)]
    return float(np.quantile(losses, 0.01)), float(np.quantile(losses, 0.05))


def summarise(table: Table, records: list[dict[str, Any]], budget: float) -> dict[str, Any]:
    """Times to the top 1% / 5% (None: not by the budget), counts, and the top-1% rows stopped early."""
    top1, top5 = targets(table)
    true = table.true_losses
    t1 = t5 = None
    last_state: dict[int, str] = {}
    for r in records:
        if r["row"] is None:
            continue
        last_state[r["row"]] = r["state"]
        if r["state"] in ("init", "complete"):
            loss = true[r["row"]]
            if t5 is None and loss <= top5:
                t5 = r["clock"]
            if t1 is None and loss <= top1:
                t1 = r["clock"]
    winners = [row for row in last_state if true[row] <= top1]
    stopped = [row for row in winners if last_state[row] in ("stopped", "paused")]
    return {"t1": t1, "t5": t5, "budget": budget, "records": len(records),
            "configurations": len(last_state), "full": sum(r["state"] in ("init", "complete") for r in records),
            "winners_started": len(winners), "winners_stopped": len(stopped)}


def run_ours(table: Table, method: str, seq: np.random.SeedSequence, run: int, budget: float,
             work: Path) -> list[dict[str, Any]]:
    mode, spec, scheduler = parse_method(method)
    arms = None
    if mode == "DIV":
        from hpo_mab.defaults import DEFAULT_ARMS

        arms = DEFAULT_ARMS
    settings = Settings(table.name, 1, mode=mode, spec=spec, budget=budget, arms=arms, scheduler=scheduler)
    term = Termination("TIME", budget, direction=table.metric.direction)
    top1 = targets(table)[0]
    path = work / f"{run}.jsonl"
    journal = Journal(path)

    def stop_at_target(trial, clock):
        if trial.finished and trial.row is not None and table.true_losses[trial.row] <= top1:
            raise Reached

    try:
        run_one(run, seq, table, settings, term, journal, [], path, stop_at_target)
    except Reached:
        pass
    finally:
        journal.close()
    from hpo_mab.journal import read_journal

    records = list(read_journal(path))
    path.unlink()
    return records


def run_cell(phase: str, table_name: str, method: str, seed: int, runs: int, out: str) -> dict[str, Any]:
    """All runs of one cell; writes OUT/<phase>/<table>/<method>.json atomically."""
    from hpo_mab.threads import one_blas_thread

    path = Path(out) / phase / table_name / f"{method}.json"
    if path.is_file():
        return json.loads(path.read_text())
    table = get_table(table_name)
    budget = float(table.default_budget_s)
    work = Path(out) / "_work" / phase / table_name / method
    work.mkdir(parents=True, exist_ok=True)
    cpu = time.process_time()
    rows = []
    with one_blas_thread():
        for i, child in enumerate(np.random.SeedSequence(seed).spawn(runs)):
            if method in PEERS:
                records = run_peer_on_table(table, method, child, budget, None, run=i).records
            else:
                records = run_ours(table, method, child, i, budget, work)
            rows.append(summarise(table, records, budget))
    doc = {"phase": phase, "table": table_name, "method": method, "seed": seed, "runs": runs, "budget": budget,
           "cpu_seconds": round(time.process_time() - cpu, 2), "results": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc) + "\n")
    os.replace(tmp, path)
    return doc


def calibrate(methods: list[str], table_name: str, out: Path) -> dict[str, float]:
    """CPU seconds of one run of each method on the development table (run 0 of seed 0), cached."""
    path = out / "calibration.json"
    cost = json.loads(path.read_text()) if path.is_file() else {}
    for method in methods:
        if method not in cost:
            doc = run_cell("calibration", table_name, method, 0, 1, str(out))
            cost[method] = doc["cpu_seconds"]
            path.write_text(json.dumps(cost, indent=1) + "\n")
    return cost


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phase", choices=("dev", "eval"), required=True)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--runs", type=int, default=RUNS)
    p.add_argument("--dry-run", action="store_true", help="project CPU hours from one calibration run per method")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--tables", nargs="+", help="run (and report) only these of the phase's tables")
    args = p.parse_args(argv)
    out = Path(args.out)
    spec = dict(DEV if args.phase == "dev" else EVAL)
    if args.tables:
        unknown = sorted(set(args.tables) - set(spec["tables"]))
        if unknown:
            sys.exit(f"multifidelity: --tables {', '.join(unknown)}: not a {args.phase} table "
                     f"(expected some of {', '.join(spec['tables'])})")
        spec["tables"] = [t for t in spec["tables"] if t in args.tables]
    choice = None
    if args.phase == "eval":
        choice_file = out / "dev_choice.json"
        if not choice_file.is_file():
            sys.exit("multifidelity: run --phase dev first; eval needs results/multifidelity/dev_choice.json")
        choice = json.loads(choice_file.read_text())
    methods = methods_of(args.phase, choice)
    cells = [(t, m) for t in spec["tables"] for m in methods]
    if args.dry_run:
        cost = calibrate(methods, DEV["tables"][0], out)
        total = sum(cost[m] for _, m in cells) * args.runs
        print(f"{len(cells)} cells x {args.runs} runs: projected {total / 3600:.2f} CPU hours "
              f"({total / 3600 / args.workers:.2f} h on {args.workers} workers; one calibration run per method on "
              f"{DEV['tables'][0]}, assumed the same per run on every table)")
        for m in sorted(cost, key=lambda k: -cost[k])[:8]:
            print(f"  {m:<28}{cost[m]:8.1f} CPU s per run")
        return
    if not args.report_only:
        todo = [c for c in cells if not (out / args.phase / c[0] / f"{c[1]}.json").is_file()]
        todo.sort(key=lambda c: c[1] not in PEERS)  # the peers' cells are the longest: start them first
        print(f"{len(todo)} of {len(cells)} cells to run", flush=True)
        with ProcessPoolExecutor(args.workers) as pool:
            jobs = {pool.submit(run_cell, args.phase, t, m, spec["seed"], args.runs, str(out)): (t, m)
                    for t, m in todo}
            for k, job in enumerate(as_completed(jobs), 1):
                doc = job.result()
                print(f"[{k}/{len(todo)}] {doc['table']} {doc['method']}: {doc['cpu_seconds']:.0f} CPU s", flush=True)
    mr.write_report(out, args.phase, spec["tables"], methods, choice)


if __name__ == "__main__":
    main()
