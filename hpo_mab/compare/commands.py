"""`hpo-runner compare`, `hpo-runner report` and `hpo-runner plot` (registered in `hpo_mab.cli.SUBCOMMANDS`).

    hpo-runner compare SPEC.yaml [-o DIR] [--jobs N] [--no-progress] [--full-trials]  # run, tables, report
    hpo-runner report DIR                                              # redraw figures, rewrite report.md
    hpo-runner plot RESULTS... [-o FILE]                               # convergence of result folders

Each takes the argv after its name and returns an exit code; a user error is an HpoError (one line, exit 2).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hpo_mab.errors import HpoError, OneLineParser


def _definition(m: Any) -> str:
    if m.peer:
        return f"peer {m.peer} (hpo_mab.peers, on the table's rows: same budget, clock and draws)"
    parts = [f"mode {m.mode}"] + ([f"spec {m.spec}"] if m.spec else [])
    if m.mode == "DIV":
        parts.append("arms " + (", ".join(a if b is None else f"{a}-{b}" for a, b in m.arms) if m.arms
                                else "the default portfolio (hpo_mab/defaults.py)"))
    for key in ("strategy_options", "arm_options", "scheduler", "scheduler_options"):
        if getattr(m, key):
            parts.append(f"{key} {json.dumps(getattr(m, key), sort_keys=True)}")
    return ", ".join(parts)


def experiment_info(exp: Any, missing: dict[str, str]) -> dict[str, Any]:
    """compare.json: what `report` needs besides the tables (problems' budgets and targets, methods)."""
    from hpo_mab.compare.matrix import problems_info

    return {"name": exp.name, "path": exp.path, "seed": exp.seed, "runs": exp.runs, "criterion": exp.criterion,
            "max_trials": exp.max_trials, "problems": problems_info(exp),
            "methods": [method_info(m, missing.get(m.name)) for m in exp.methods]}


def method_info(m: Any, missing: str | None = None) -> dict[str, Any]:
    """A method's entry of compare.json: name, kind, definition, spec; `reference` and `missing` where they hold."""
    doc = {"name": m.name, "kind": m.kind, "definition": _definition(m), "spec": asdict(m)}
    if m.reference:
        doc["reference"] = True
    if missing:
        doc["missing"] = missing
    return doc


# What compare writes into its folder, beside report.md and figures/ (report.check_outputs checks those).
FILES = ("compare.json", "experiment.yaml", "calibration.json", "timing.json", "curves.csv.gz", "arms.csv.gz",
         "summary.csv", "trials.csv.gz")
FOLDERS = ("cells", "figures")


def _listing(names: list[str], most: int = 4) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def check_folder(out: Path) -> None:
    """HpoError unless OUTDIR is new, empty or a comparison's own folder: one holding compare.json (or, where a
    damaged compare.json was deleted as its error line says, nothing but what compare writes), never a runner
    experiment's files; and unless compare can write its files there."""
    from hpo_mab.outdir import OUTPUTS

    if not out.is_dir():
        return
    try:
        names = sorted(p.name for p in out.iterdir())
    except OSError as exc:
        raise HpoError(f"{out}: cannot list the folder ({exc.strerror or exc}); use another -o") from None
    runner = [n for n in OUTPUTS if n in names]
    if runner:
        raise HpoError(f"{out}: holds an hpo-runner experiment ({_listing(runner)}), not a comparison; compare "
                       "writes a folder of its own: use another -o")
    foreign = [n for n in names if n not in FILES + FOLDERS + ("report.md",)]
    if foreign and not (out / "compare.json").exists():
        raise HpoError(f"{out}: not empty and not a compare folder (no compare.json): it holds {_listing(foreign)}; "
                       "use another -o (a new or empty folder)")
    for name in FILES:
        if (out / name).is_dir():
            raise HpoError(f"{out / name}: a directory; expected the file compare writes there; move it away or use "
                           "another -o")
    if (out / "cells").exists() and not (out / "cells").is_dir():
        raise HpoError(f"{out / 'cells'}: not a directory; expected the folder of the comparison's cells; move it "
                       "away or use another -o")


def _check_same_experiment(out: Path, info: dict[str, Any]) -> None:
    """A folder holding compare.json continues that comparison only: the same name, seed, criterion and trial
    limit, which every cell shares (methods, problems and runs may be added: finished cells are kept, and each
    resumed cell's own settings are checked by `matrix.plan`)."""
    path = out / "compare.json"
    if not path.is_file():
        return
    from hpo_mab.compare.files import read_json

    old = read_json(path, hint="delete it to resume this comparison here (its finished cells are kept), or use "
                    "another -o")
    keys = ("name", "seed", "criterion", "max_trials")
    differing = [f"{k} {old.get(k)!r} there, {info.get(k)!r} in {info['path']}" for k in keys
                 if old.get(k) != info.get(k)]
    if differing:
        raise HpoError(f"{out}: holds another comparison ({'; '.join(differing)}); use another -o, or delete the "
                       "folder to start again")


def compare_main(argv: list[str]) -> int:
    from hpo_mab.compare import matrix
    from hpo_mab.compare.collect import collect
    from hpo_mab.compare.report import check_outputs, write_report
    from hpo_mab.compare.spec import load_experiment
    from hpo_mab.outdir import check_outdir, make_outdir

    p = OneLineParser(prog="hpo-runner compare", description="Run a matrix of problems x methods x seeded runs "
                      "from an experiment file (YAML; see hpo_mab/compare/spec.py and experiments/quick.yaml), "
                      "resumably, into one folder: curves.csv.gz, arms.csv.gz, summary.csv, figures/, report.md.")
    p.add_argument("spec", help="the experiment file (YAML)")
    p.add_argument("-o", "--outdir", help="output folder (default results/compare-<name>)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: the CPUs)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--full-trials", action="store_true", help="also write trials.csv.gz, one row per trial "
                   "(about 45 bytes a trial; the report does not need it)")
    p.add_argument("--dry-run", action="store_true", help="check the file and the folder and print the "
                   "projection; run nothing and write nothing into the folder")
    args = p.parse_args(argv)
    if args.jobs < 1:
        raise HpoError(f"--jobs must be at least 1, but got {args.jobs}")
    start = time.perf_counter()
    exp = load_experiment(args.spec)
    out = check_outdir(args.outdir or f"results/compare-{exp.name}")
    check_folder(out)
    missing = matrix.missing_peers(exp)
    for name, why in missing.items():
        print(f"note: method {name} is not run: {why}", flush=True)
    cells = matrix.make_cells(exp, out, set(missing))
    if not cells:
        raise HpoError(f"{args.spec}: no method can run (every one is a peer whose package is missing)")
    info = experiment_info(exp, missing)
    _check_same_experiment(out, info)
    check_outputs(out)
    matrix.plan(cells)  # everything checked before the folder is written
    if args.dry_run:
        # Every check above, then the projection: its calibration runs in temporary folders and is not cached
        # (a calibration.json already in OUTDIR is read), so a dry run writes nothing into OUTDIR.
        matrix.project(cells, out, args.jobs, save=False)
        return 0
    make_outdir(out)
    (out / "compare.json").write_text(json.dumps(info, indent=1) + "\n")
    copy = out / "experiment.yaml"
    if not (copy.is_file() and copy.samefile(args.spec)):  # rerun from the folder's own copy
        shutil.copyfile(args.spec, copy)
    matrix.project(cells, out, args.jobs)
    try:
        timing = matrix.run_matrix(cells, args.jobs, args.progress)
    except KeyboardInterrupt:
        print("hpo-runner compare: interrupted; the same command resumes it (finished cells and runs are kept)",
              file=sys.stderr)
        return 130
    (out / "timing.json").write_text(json.dumps({str(Path(k).relative_to(out)): v for k, v in timing.items()},
                                                indent=1) + "\n")
    collected = time.perf_counter()
    collect(out, info, cells, args.full_trials)
    report = write_report(out)
    end = time.perf_counter()
    runs = sum(c.runs for c in cells)
    print(f"{len(cells)} cells, {runs} runs in {end - start:.1f} s (tables and report {end - collected:.1f} s); "
          f"wrote {out}/curves.csv.gz, arms.csv.gz, summary.csv, " + ("trials.csv.gz, " if args.full_trials else "")
          + f"figures/, {report}", flush=True)
    return 0


def report_main(argv: list[str]) -> int:
    from hpo_mab.compare.report import write_report

    p = OneLineParser(prog="hpo-runner report", description="Redraw every figure and rewrite report.md of a "
                      "compare folder from that folder alone.")
    p.add_argument("folder", help="a folder written by hpo-runner compare")
    args = p.parse_args(argv)
    start = time.perf_counter()
    path = write_report(Path(args.folder))
    print(f"wrote {path} and {Path(args.folder) / 'figures'}/ in {time.perf_counter() - start:.1f} s")
    return 0


def plot_main(argv: list[str]) -> int:
    p = OneLineParser(prog="hpo-runner plot", description="Convergence curves of result folders on one figure: "
                      "single runs (an OUTDIR of hpo-runner TABLE N ...) and compare folders. On tables the "
                      "incumbent's normalised regret, else its best value so far, against simulated (tables) or "
                      "wall-clock (live) time; median over runs with the interquartile band.")
    p.add_argument("results", nargs="+", help="result folders")
    p.add_argument("-o", "--output", default="convergence.png", help="the figure file: .png, .pdf or .svg "
                                                                     "(default convergence.png)")
    p.add_argument("--surrogates-dir", default=None, help="where a single run's own table lives, for its true "
                                                           "values (default: surrogates/)")
    args = p.parse_args(argv)
    from hpo_mab.compare.curves import FORMATS

    output = Path(args.output)
    if output.suffix.lower() not in FORMATS:
        raise HpoError(f"-o {args.output}: expected a file ending in {', '.join(FORMATS)}")
    if output.parent != Path("") and not output.parent.is_dir():
        raise HpoError(f"-o {args.output}: no such directory {output.parent}")
    trials, problems, methods = gather(args.results, args.surrogates_dir)
    from hpo_mab.compare.curves import method_colors
    from hpo_mab.compare.figures import convergence

    convergence(trials, problems, methods, method_colors(methods), output,
                title=", ".join(Path(r).name for r in args.results))
    print(f"wrote {output}")
    return 0


def gather(results: list[str], surrogates: str | None = None) -> tuple[Any, dict[str, dict[str, Any]], list[str]]:
    """The trials of several result folders in one table; methods labelled by folder where several are given."""
    import pandas as pd

    from hpo_mab.compare.collect import load_curves, load_info
    from hpo_mab.compare.rundir import load_run_dir

    frames, problems, methods = [], {}, []
    for result in results:
        folder = Path(result)
        if (folder / "compare.json").is_file():
            info = load_info(folder)
            frame = load_curves(folder)
            prefix = f"{folder.name}: " if len(results) > 1 else ""
            frame["method"] = prefix + frame["method"]
            found = {k: v for k, v in info["problems"].items()}
        elif (folder / "journal.jsonl").is_file() and (folder / "experiment.json").is_file():
            frame, problem = load_run_dir(folder, surrogates=surrogates)
            found = {str(frame["problem"].iloc[0]): problem}
        else:
            raise HpoError(f"{folder}: not a result folder; expected a compare folder (compare.json, curves.csv.gz) "
                           "or a run's OUTDIR (journal.jsonl, experiment.json)")
        for name, problem in found.items():
            if name in problems:
                problem = {**problem, "budget": max(problem["budget"], problems[name]["budget"])}
            problems[name] = problem
        methods += [m for m in dict.fromkeys(frame["method"]) if m not in methods]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True), problems, methods
