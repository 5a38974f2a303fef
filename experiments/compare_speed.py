"""Where the time of `hpo-runner compare` goes, and how long `hpo-runner report` takes on its folder.

    .venv/bin/python experiments/compare_speed.py [SPEC] [--jobs N] [-o DIR]
        > experiments/results/compare_speed.txt

Runs SPEC (default experiments/quick.yaml) from scratch into a fresh folder (default: a temporary one) with the
steps of `compare_main`, each timed: reading and checking the file and every cell (tables loaded, arms and
strategies built), the projection (its calibration runs), the matrix, the tables (curves, arms,
summary) and the report. Inside the matrix, the cells' CPU seconds split into our arms' and strategies' proposals, the
peers' proposals (their ask), and the rest: replay (the lookup backend, the runner's loop, the journal,
imports in the workers). Then `report` alone on the folder, twice (the first pays matplotlib's imports).
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
    args = p.parse_args()
    out = Path(args.outdir or tempfile.mkdtemp(prefix="compare-speed-"))
    if (out / "cells").exists():
        sys.exit(f"{out}: holds cells already; give a fresh -o (this measures a run from scratch)")
    load1 = os.getloadavg()[0]
    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    exp = load_experiment(args.spec)
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


if __name__ == "__main__":
    main()
