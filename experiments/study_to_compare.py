"""The issue-8 study's committed cell files as a compare folder that `hpo-runner report DIR` renders (issue 12).

    python experiments/study_to_compare.py --phase dev|eval [--out DIR]

Reads experiments/results/study/<phase>/<factor>x/<table>/<method>.json (see experiments/study_cells.py) and
writes into DIR (default experiments/results/study/<phase>/compare/) what `report` reads
(`hpo_mab.compare.collect`): compare.json and experiment.yaml (experiments/study_dev.yaml for dev, study.yaml for
eval: the same problems, methods, seed and runs), summary.csv, curves.csv.gz and arms.csv.gz, then CONVERSION.md
(what below). It runs no optimiser and loads no table: the problems' budgets, metrics, directions, row counts
and top-1% targets come from the cell files.

What the cells hold and what they do not, so how each table is filled:

- summary.csv, one row per run: trials, final_regret (the cell's regret_100), final_true_value, regret_25,
  regret_50, time_to_target (empty: not reached), moves and snaps (peers; 0 for our methods, which never move a
  proposal). Not in the cells, left empty: best_value (the incumbent's observed value), end_clock,
  time_to_goal (the study ran with the TIME criterion), proposal_seconds and proposal_median (the study kept no
  per-trial proposal times; the report's time table shows "-" for them), stop_reason. timing.json: each cell's
  cpu_seconds, no wall seconds.
- curves.csv.gz: the cells keep the incumbent's normalised regret on a 50-point grid over the budget
  (budget/50, 2 budget/50, ..., budget), not per trial. Each grid point where the value changes becomes a row,
  plus the first and the last grid point, with clock = that grid time; number, inc_value, inc_true and inc_row
  are empty. So a curve's resolution is the grid's: an improvement shows at the first grid time at or after it
  (up to budget/50 late), and before budget/50 every run counts as regret 1 (the report's value before a run's
  first row). The mean-rank-over-time figure samples the same 50 fractions, so it is exact; the convergence
  figure (101 points from 0) is the grid's step function.
- arms.csv.gz: DIV cells keep each run's total trials per arm, not when they were proposed. All of a run's
  counts go into the last of the 50 bins, so the arm-usage figure shows the pooled shares over the whole run in
  its last tenth and nothing before; it is not arm usage over time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hpo_mab.compare.collect import ARM_BINS, ARMS, CURVE_COLUMNS, CURVES, GZIP, KEYS  # noqa: E402

STUDY = ROOT / "experiments" / "results" / "study"
SPECS = {"dev": ROOT / "experiments" / "study_dev.yaml", "eval": ROOT / "experiments" / "study.yaml"}
SUMMARY_COLUMNS = [*KEYS[:2], "kind", "run", "trials", "final_regret", "final_true_value", "best_value", "end_clock",
                   "regret_25", "regret_50", "time_to_target", "time_to_goal", "proposal_seconds", "proposal_median",
                   "moves", "snaps", "stop_reason"]


def kind_of(method: str) -> str:
    from hpo_mab.peers import PEERS

    return "div" if method.startswith("DIV-") else "peer" if method in PEERS else "arm"


def problem_ids(exp: Any) -> dict[tuple[str, float], str]:
    """(table, budget factor) -> the experiment file's problem id."""
    return {(p.table, float(p.budget_factor)): p.id for p in exp.problems}


def read_cells(phase: str, ids: dict[tuple[str, float], str]) -> dict[str, dict[str, dict[str, Any]]]:
    """problem id -> method -> cell document, for every cell file of the phase that the experiment file has."""
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted((STUDY / phase).glob("*x/*/*.json")):
        doc = json.loads(path.read_text())
        key = (doc["table"], float(doc["factor"]))
        if key not in ids:
            print(f"note: {path.relative_to(ROOT)}: not a problem of {SPECS[phase].name}; skipped", file=sys.stderr)
            continue
        cells.setdefault(ids[key], {})[doc["method"]] = doc
    return cells


def problem_info(doc: dict[str, Any]) -> dict[str, Any]:
    """compare.json's entry of a problem, from one of its cells (no table needed). best_true and median_true
    (used only to draw a GOAL run's goal) are not in the cells."""
    maximise = doc["direction"] == "max"
    return {"source": doc["table"], "live": False, "metric": doc["metric"], "direction": doc["direction"],
            "budget": float(doc["budget"]), "goal": None, "rows": doc["n_rows"],
            "target": float(-doc["target_loss"] if maximise else doc["target_loss"])}


def experiment(phase: str) -> tuple[Any, dict[str, Any], dict[str, dict[str, dict[str, Any]]]]:
    from hpo_mab.compare.commands import method_info
    from hpo_mab.compare.spec import load_experiment

    exp = load_experiment(str(SPECS[phase].relative_to(ROOT)))
    cells = read_cells(phase, problem_ids(exp))
    if not cells:
        raise SystemExit(f"no cell file of {SPECS[phase].name} under {STUDY / phase}")
    # as hpo_mab.compare.commands.experiment_info, without building the problems (loading their tables)
    info = {"name": exp.name, "path": exp.path, "seed": exp.seed, "runs": exp.runs, "criterion": exp.criterion,
            "max_trials": exp.max_trials,
            "methods": [method_info(m) for m in exp.methods]}
    info["problems"] = {p.id: problem_info(next(iter(cells[p.id].values()))) for p in exp.problems if p.id in cells}
    for doc in (d for by_method in cells.values() for d in by_method.values()):
        if doc["seed"] != exp.seed or doc["runs"] != exp.runs:
            raise SystemExit(f"{doc['table']}/{doc['method']}: seed {doc['seed']}, {doc['runs']} runs; "
                             f"{SPECS[phase].name} says seed {exp.seed}, {exp.runs} runs")
    info["converted_from"] = f"experiments/results/study/{phase} (cell files; experiments/study_to_compare.py)"
    return exp, info, cells


def tables(cells: dict[str, dict[str, dict[str, Any]]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(summary, curves, arms) of every run of every cell."""
    summary, curves, arms = [], [], []
    for problem, by_method in cells.items():
        for method, doc in by_method.items():
            budget, kind = float(doc["budget"]), kind_of(method)
            grid = np.linspace(budget / len(doc["results"][0]["curve"]), budget, len(doc["results"][0]["curve"]))
            for r in doc["results"]:
                summary.append({"problem": problem, "method": method, "kind": kind, "run": r["run"],
                                "trials": r["trials"], "final_regret": r["regret_100"],
                                "final_true_value": r["final_true_value"], "regret_25": r["regret_25"],
                                "regret_50": r["regret_50"], "time_to_target": r["time_to_target"],
                                "moves": r.get("moves", 0), "snaps": r.get("snaps", 0)})
                curve = np.asarray(r["curve"], dtype=float)
                if not np.isclose(curve[-1], r["regret_100"], atol=1e-6):
                    raise SystemExit(f"{problem}/{method} run {r['run']}: the curve ends at {curve[-1]}, "
                                     f"regret_100 is {r['regret_100']}")
                keep = np.r_[True, curve[1:] != curve[:-1]]
                keep[-1] = True
                for t, v in zip(grid[keep], curve[keep]):
                    curves.append({"problem": problem, "method": method, "run": r["run"], "clock": t, "regret": v})
                for arm, count in sorted(r.get("arm_counts", {}).items()) if kind == "div" else ():
                    if count:
                        arms.append({"problem": problem, "method": method, "run": r["run"], "bin": ARM_BINS - 1,
                                     "arm": arm, "count": count})
    summary_frame = pd.DataFrame(summary).reindex(columns=SUMMARY_COLUMNS)
    curve_frame = pd.DataFrame(curves).reindex(columns=CURVE_COLUMNS)
    arm_frame = pd.DataFrame(arms, columns=[*KEYS, "bin", "arm", "count"])
    return summary_frame, curve_frame, arm_frame


NOTE = """# {name}: converted from the study's cell files

Written by `experiments/study_to_compare.py --phase {phase}` from experiments/results/study/{phase}/ (no run, no
table loaded); `hpo-runner report` wrote report.md and figures/ from this folder alone. What the cells do not
hold, and so what differs from a folder written by `hpo-runner compare`:

- summary.csv: best_value, end_clock, time_to_goal, proposal_seconds, proposal_median and stop_reason are empty
  (not kept by the study); the report's time table shows "-" for proposal seconds. timing.json holds each
  cell's CPU seconds (the cell file's cpu_seconds, of the session that ran it), no wall seconds ("-").
- curves.csv.gz: the incumbent's normalised regret on the study's 50-point grid over the budget (a row where it
  changes, clock = the grid time), not per trial: improvements show up to budget/50 late, and every run counts
  as regret 1 before budget/50. number, inc_value, inc_true and inc_row are empty.
- arms.csv.gz: the cells keep each DIV run's total trials per arm only; they are all in the last bin, so the
  arm-usage figure's last tenth shows each strategy's shares over whole runs and the tenths before it are empty.
  It is not arm usage over time.
- Ranking: the oracle variants are references, ranked apart, as in the study's own report. The study's report
  ranks the 1x tables and the 4x tables separately; a compare report ranks every problem of the file together
  (for the evaluation: 13 tables at 1x and 8 at 4x, 21 problems), so its mean ranks differ from the study's while
  every per-problem median and interval is the same.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--phase", choices=sorted(SPECS), required=True)
    p.add_argument("--out", help="the compare folder (default experiments/results/study/<phase>/compare)")
    args = p.parse_args(argv)
    out = Path(args.out) if args.out else STUDY / args.phase / "compare"
    exp, info, cells = experiment(args.phase)
    summary, curves, arms = tables(cells)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(info, indent=1) + "\n")
    shutil.copyfile(SPECS[args.phase], out / "experiment.yaml")
    summary.to_csv(out / "summary.csv", index=False)
    curves.to_csv(out / CURVES, index=False, compression=GZIP)
    arms.to_csv(out / ARMS, index=False, compression=GZIP)
    timing = {f"{args.phase}/{d['factor']:g}x/{d['table']}/{m}": {"method": m, "cpu_seconds": d["cpu_seconds"]}
              for by_method in cells.values() for m, d in by_method.items()}
    (out / "timing.json").write_text(json.dumps(timing, indent=1) + "\n")
    (out / "CONVERSION.md").write_text(NOTE.format(name=exp.name, phase=args.phase))
    n_cells = sum(len(v) for v in cells.values())
    print(f"{n_cells} cells, {len(summary)} runs of {len(cells)} problems -> {out}: compare.json, experiment.yaml, "
          f"summary.csv, {CURVES} ({len(curves)} rows), {ARMS} ({len(arms)} rows), timing.json, CONVERSION.md; now "
          f"python -m hpo_mab report {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
