"""Where the time of `hpo-runner compare` goes, and how long `hpo-runner report` takes on its folder.

    .venv/bin/python experiments/compare_speed.py [SPEC] [--jobs N] [-o DIR] [--runs R] [--report-on FOLDER]
        > experiments/results/compare_speed.txt
    # issue 8's study through compare: 1 of its 20 runs per cell, projected; report timed on the full folder
    .venv/bin/python experiments/compare_speed.py experiments/study.yaml --runs 1 \
        --report-on experiments/results/study/eval/compare > experiments/results/compare_speed_study.txt

Runs SPEC (default experiments/quick.yaml) from scratch into a fresh folder (default: a temporary one) with the
steps of `compare_main`, each timed: reading and checking the file and every cell (tables loaded, arms and
strategies built), the projection (its calibration runs), the matrix, the tables (curves, arms,
summary) and the report. Inside the matrix, the cells' CPU seconds split into our arms' and strategies' proposals, the
peers' proposals (their ask), and the rest: replay (the lookup backend, the runner's loop, the journal,
imports in the workers). Then `report` alone on the folder, twice (the first pays matplotlib's imports).

`--runs R` runs only the first R runs of every cell (the same seeds as the full experiment's runs 0..R-1) and
projects the matrix to the file's runs per cell linearly (an estimate: cells' runs are independent and alike).
`--report-on FOLDER` also times `report` on a copy of an existing full-size folder (e.g. the study's evaluation
converted by experiments/study_to_compare.py), since a subsample's report is smaller than the full one's.
`--project-only` stops after the projection (to compare it with a measured run's CPU seconds, e.g.
results/compare_projection_study.txt against results/compare_speed_study.txt).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpo_mab.compare import collect as cl  # noqa: E402
from hpo_mab.compare import matrix  # noqa: E402
from hpo_mab.compare.commands import experiment_info  # noqa: E402
from hpo_mab.compare.report import write_report  # noqa: E402
from hpo_mab.compare.spec import load_experiment  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="?", default=str(Path(__file__).resolve().parent / "quick.yaml"))
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("-o", "--outdir")
    p.add_argument("--runs", type=int, help="run only the first RUNS runs of every cell, and project")
    p.add_argument("--report-on", help="also time `report` on a copy of this full-size compare folder")
    p.add_argument("--project-only", action="store_true",
                   help="only print compare's projection (its calibration runs), to hold against a measured run")
    args = p.parse_args()
    out = Path(args.outdir or tempfile.mkdtemp(prefix="compare-speed-"))
    if (out / "cells").exists():
        sys.exit(f"{out}: holds cells already; give a fresh -o (this measures a run from scratch)")
    load1 = os.getloadavg()[0]
    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    exp = load_experiment(args.spec)
    full_runs = exp.runs
    if args.runs:
        from dataclasses import replace

        exp = replace(exp, runs=min(args.runs, exp.runs))
    missing = matrix.missing_peers(exp)
    cells = matrix.make_cells(exp, out, set(missing))
    info = experiment_info(exp, missing)
    matrix.plan(cells)
    out.mkdir(parents=True, exist_ok=True)
    import json

    (out / "compare.json").write_text(json.dumps(info, indent=1) + "\n")
    t1 = time.perf_counter()
    steps["read and check the file and every cell"] = t1 - t0
    matrix.project(cells, out, args.jobs)
    t2 = time.perf_counter()
    if args.project_only:
        return
    steps["projection (calibration runs)"] = t2 - t1
    timing = matrix.run_matrix(cells, args.jobs, progress=False)
    t3 = time.perf_counter()
    steps[f"matrix ({len(cells)} cells, {sum(c.runs for c in cells)} runs, {args.jobs} workers)"] = t3 - t2
    (out / "timing.json").write_text(json.dumps({str(Path(k).relative_to(out)): v for k, v in timing.items()}) + "\n")
    trials, _ = cl.collect(out, info, cells)
    t4 = time.perf_counter()
    steps["tables (curves.csv.gz, arms.csv.gz, summary.csv)"] = t4 - t3
    write_report(out)
    t5 = time.perf_counter()
    steps["report (figures, report.md)"] = t5 - t4
    total = t5 - t0
    kinds = {m["name"]: m["kind"] for m in info["methods"]}
    peer = trials["method"].map(kinds).eq("peer")
    ours_s, peers_s = trials.loc[~peer, "proposal_seconds"].sum(), trials.loc[peer, "proposal_seconds"].sum()
    cpu = sum(v["cpu_seconds"] for v in timing.values())
    wall_cells = sum(v["wall_seconds"] for v in timing.values())
    reports = []
    for _ in range(2):
        start = time.perf_counter()
        write_report(out)
        reports.append(time.perf_counter() - start)
    print(f"compare {args.spec} on {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {load1:.1f} before the run, {os.getloadavg()[0]:.1f} after it; folder {out}")
    print(f"total wall time: {total:.1f} s ({len(trials)} trials)")
    for name, seconds in steps.items():
        print(f"  {name:<58} {seconds:7.1f} s  {100 * seconds / total:5.1f}%")
    print(f"inside the matrix: the cells' CPU {cpu:.1f} s (their wall {wall_cells:.1f} s, summed over workers):")
    print(f"  proposals of our arms and strategies {ours_s:7.1f} s  {100 * ours_s / max(wall_cells, 1e-9):5.1f}% "
          "of the cells' wall time")
    print(f"  proposals of the peers (ask)         {peers_s:7.1f} s  {100 * peers_s / max(wall_cells, 1e-9):5.1f}%")
    rest = wall_cells - ours_s - peers_s
    print(f"  replay (lookups, runner loop, journal, worker imports) {rest:.1f} s  "
          f"{100 * rest / max(wall_cells, 1e-9):.1f}%")
    for method in info["methods"]:
        mine = trials[trials["method"] == method["name"]]
        if len(mine):
            print(f"    {method['name']:<14} {len(mine):6d} trials, proposals {mine['proposal_seconds'].sum():6.2f} s "
                  f"(median {1000 * mine['proposal_seconds'].median():.2f} ms per trial)")
    print(f"hpo-runner report on the folder: {reports[0]:.1f} s, again {reports[1]:.1f} s")
    if exp.runs < full_runs:
        scale = full_runs / exp.runs
        matrix_s = t3 - t2
        def hours(seconds: float) -> str:
            return f"{seconds * scale:.0f} s = {seconds * scale / 3600:.2f} h"

        print(f"projected to the file's {full_runs} runs per cell (x{scale:g}, an estimate): matrix "
              f"{hours(matrix_s)} wall with {args.jobs} workers; cells' CPU {hours(cpu)}, "
              f"their wall {hours(wall_cells)}: "
              f"proposals of our arms {hours(ours_s)}, peers {hours(peers_s)}, replay {hours(rest)}")
    if args.report_on:
        import shutil

        copy = Path(tempfile.mkdtemp(prefix="compare-report-")) / "folder"
        shutil.copytree(args.report_on, copy, ignore=shutil.ignore_patterns("figures", "report.md"))
        start = time.perf_counter()
        write_report(copy)
        took = time.perf_counter() - start
        runs = len(cl.load_summary(copy))
        print(f"hpo-runner report on a copy of {args.report_on} ({runs} runs): {took:.1f} s (target: under 60 s)")


if __name__ == "__main__":
    main()
