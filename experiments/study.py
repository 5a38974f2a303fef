"""Issue 8's study: hpo_mab's arms and DIV strategies beside peers, development data apart from evaluation data.

The plan (tables, seeds, budgets, methods, the rule choosing the default DIV strategy) is written down in
experiments/study_plan.md before any run and fixed in the constants below. Two phases:

- `dev`: the DIV strategies on the development tables with the development seeds. When every dev cell is
  finished the script picks the default DIV strategy (best mean rank among them) and writes
  OUT/dev_choice.json and OUT/dev/report.md (committed with `--commit`).
- `eval`: every kept method on the evaluation tables with the evaluation seeds, at 1x the default budget and,
  on the tables whose runs are short (the HPOBench tables), at 4x. Refused until dev_choice.json is committed.

Cells are resumable (a finished cell's file is kept and skipped; an unfinished one resumes at its last
journaled trial); `--commit` commits each cell's file as it finishes.

    .venv/bin/python experiments/study.py --phase dev --dry-run           # projected CPU hours
    .venv/bin/python experiments/study.py --phase dev --workers 2 --commit
    .venv/bin/python experiments/study.py --phase eval --workers 2 --commit
    .venv/bin/python experiments/study.py --phase eval --report-only
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # one BLAS/OpenMP thread (set before numpy loads; workers also use threadpoolctl)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import study_cells as sc  # noqa: E402
import study_report as sr  # noqa: E402

from hpo_mab.errors import HpoError  # noqa: E402
from hpo_mab.surrogates import get_table  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "study"
RUNS = 20
DEV_TABLES = ["digits-lenet", "fcnet-protein", "nb201-cifar100"]
DEV_SEED = 0  # runs 0-19: children 0-19 of SeedSequence(0)
EVAL_TABLES = ["fcnet-naval", "fcnet-parkinsons", "fcnet-slice",
               *(f"hpobench-mlp-{d}" for d in ("car", "phoneme", "vehicle", "australian", "kc1", "segment",
                                               "blood_transfusion", "credit_g")),
               "nb201-cifar10", "nb201-imagenet"]
EVAL_SEED = 1000  # runs 0-19: children 0-19 of SeedSequence(1000), disjoint from every development seed
LONG_TABLES = [t for t in EVAL_TABLES if t.startswith("hpobench-")]  # median run < 60 trials: also at 4x
DIV_RANKED = [m for m in sc.DIV_METHODS if not sc.is_oracle(m)]
ORACLES = [m for m in sc.DIV_METHODS if sc.is_oracle(m)]
# Evaluation methods: every non-oracle single arm and DIV strategy, the peers, the oracle variants (apart);
# DROPPED are left out to keep the study within about 20 CPU hours (see study_plan.md, "Methods").
DROPPED: list[str] = []
EVAL_METHODS = [m for m in [*sc.SINGLE_ARMS, *DIV_RANKED, *sc.PEERS, *ORACLES] if m not in DROPPED]
DEV_METHODS = DIV_RANKED
CALIBRATION_TABLE = "fcnet-protein"
_LIMITS: Any = None


def cells_of(phase: str) -> list[tuple[str, float, str]]:
    """(table, budget factor, method) of every cell of a phase, in the plan's order."""
    if phase == "dev":
        return [(t, 1.0, m) for t in DEV_TABLES for m in DEV_METHODS]
    return ([(t, 1.0, m) for t in EVAL_TABLES for m in EVAL_METHODS]
            + [(t, 4.0, m) for t in LONG_TABLES for m in EVAL_METHODS])


def cell_dir(out: Path, phase: str, factor: float) -> Path:
    return out / phase / f"{factor:g}x"


def seed_of(phase: str) -> int:
    return DEV_SEED if phase == "dev" else EVAL_SEED


# -- the development choice -------------------------------------------------------------------------------
def choice_path(out: Path) -> Path:
    return out / "dev_choice.json"


def committed(path: Path) -> bool:
    """Whether `path` is tracked by git with no uncommitted change."""
    where = dict(cwd=path.parent, capture_output=True, text=True)
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", path.name], **where).returncode == 0
    return tracked and subprocess.run(["git", "diff", "--quiet", "HEAD", "--", path.name], **where).returncode == 0


def require_choice(out: Path) -> dict[str, Any]:
    """The committed development choice; evaluation refuses to start without it."""
    path = choice_path(out)
    if not path.is_file():
        raise HpoError(f"{path}: no development choice yet; finish the dev phase first "
                       "(experiments/study.py --phase dev), which writes it")
    if not committed(path):
        raise HpoError(f"{path}: the development choice must be committed before evaluation runs start")
    return json.loads(path.read_text())


def choose(cells: dict[str, dict[str, dict]]) -> dict[str, Any]:
    """The default DIV strategy from the dev cells: best mean rank (see study_report.dev_choice)."""
    return sr.dev_choice(cells, DEV_TABLES, DEV_METHODS)


# -- running --------------------------------------------------------------------------------------------
def _one_thread() -> None:
    """Worker initialiser: one BLAS/OpenMP thread per process."""
    global _LIMITS
    from threadpoolctl import threadpool_limits

    _LIMITS = threadpool_limits(1)


def _cell_job(table: str, factor: float, method: str, runs: int, seed: int, out: str,
              max_trials: int | None, code: str) -> tuple[str, float, str, float, float]:
    doc = sc.run_cell(get_table(table), method, runs, seed, Path(out), factor, max_trials, code)
    regrets = sorted(r["regret_100"] for r in doc["results"])
    return table, factor, method, doc["cpu_seconds"], regrets[len(regrets) // 2]


def git_commit(paths: list[Path], message: str) -> None:
    """`git add` and `git commit --only` these paths; retried on a busy index, reported but not fatal."""
    paths = [str(p) for p in paths if p.exists()]
    for attempt in range(5):
        steps = (["git", "add", "--", *paths], ["git", "commit", "-q", "-m", message, "--", *paths])
        failed = next((r for r in (subprocess.run(c, capture_output=True, text=True) for c in steps)
                       if r.returncode != 0), None)
        if failed is None:
            return
        if "index.lock" not in failed.stderr or attempt == 4:
            print(f"  (not committed: {failed.stderr.strip() or failed.stdout.strip()})", flush=True)
            return
        time.sleep(3)


def run_cells(jobs: list[tuple[str, float, str]], phase: str, runs: int, out: Path, workers: int,
              commit: bool, max_trials: int | None = None) -> None:
    """Run unfinished cells in `workers` processes; print (and with `commit`, commit) each as it finishes."""
    code = sc.code_version()  # imported once here; workers fork from this process
    print(f"code version {code}", flush=True)
    args = [(t, f, m, runs, seed_of(phase), str(cell_dir(out, phase, f)), max_trials, code) for t, f, m in jobs]
    if workers <= 1:
        _one_thread()
        done = (_cell_job(*a) for a in args)
    else:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_one_thread)
        done = (f.result() for f in as_completed([pool.submit(_cell_job, *a) for a in args]))
    for k, (table, factor, method, cpu, regret) in enumerate(done, 1):
        print(f"[{k}/{len(jobs)}] {phase} {factor:g}x {table} {method}: {cpu:.1f} CPU s, median final regret "
              f"{regret:.4f}", flush=True)
        if commit:
            git_commit([sc.cell_path(cell_dir(out, phase, factor), table, method)],
                       f"study cell ({phase}, {factor:g}x): {table} {method}")
    if workers > 1:
        pool.shutdown()


# -- projection ----------------------------------------------------------------------------------------------
def calibration(methods: list[str], out: Path, recalibrate: bool = False) -> dict[str, dict[str, float]]:
    """Per-method cost per trial (a + b n CPU seconds), measured on the calibration table; cached in
    OUT/calibration.json."""
    path = out / "calibration.json"
    cache = json.loads(path.read_text()) if path.is_file() and not recalibrate else {}
    missing = [m for m in methods if m not in cache]
    if missing:
        _one_thread()
        table = get_table(CALIBRATION_TABLE)
        start = time.perf_counter()
        for m in missing:
            cache[m] = sc.calibrate(table, m)
        print(f"calibrated {len(missing)} method(s) on {CALIBRATION_TABLE} in {time.perf_counter() - start:.0f} s",
              flush=True)
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    return cache


def project(cells: list[tuple[str, float, str]], runs: int, out: Path, workers: int,
            recalibrate: bool = False) -> dict[tuple[str, float, str], float]:
    """Print the projected CPU hours per table and budget, per method and in all; returns seconds per cell."""
    methods = sorted({m for _, _, m in cells}, key=[m for _, _, m in cells].index)
    cost = calibration(methods, out, recalibrate)
    trials = {(t, f): sc.expected_trials(get_table(t), f) for t, f in {(t, f) for t, f, _ in cells}}
    seconds = {c: sc.projected_seconds(cost[c[2]], trials[c[:2]], runs) for c in cells}
    print(f"projection: CPU seconds per trial a + b n from calibration runs on {CALIBRATION_TABLE} "
          f"(OUT/calibration.json); trials per run from random rows (an upper estimate); {runs} runs per cell")
    for (t, f), n in sorted(trials.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        h = sum(s for c, s in seconds.items() if c[:2] == (t, f)) / 3600
        print(f"  {t:<31} {f:g}x  ~{n:5.0f} trials/run: {h:6.2f} CPU h")
    per_method = {m: sum(s for c, s in seconds.items() if c[2] == m) / 3600 for m in methods}
    print("  per method (CPU h): " + ", ".join(f"{m} {h:.2f}" for m, h in
                                               sorted(per_method.items(), key=lambda kv: -kv[1])))
    total = sum(seconds.values()) / 3600
    print(f"projected total: {total:.2f} CPU hours for {len(cells)} cells; about {total / workers:.2f} h wall "
          f"with {workers} worker(s) on idle cores", flush=True)
    return seconds


# -- main ----------------------------------------------------------------------------------------------------
def load_cells(out: Path, phase: str, jobs: list[tuple[str, float, str]], runs: int
               ) -> dict[float, dict[str, dict[str, dict]]]:
    """Finished cells by budget factor, table and method."""
    found: dict[float, dict[str, dict[str, dict]]] = {}
    for t, f, m in jobs:
        table = get_table(t)
        doc = sc.load_cell(sc.cell_path(cell_dir(out, phase, f), t, m), sc.cell_key(table, runs, seed_of(phase), f))
        if doc is not None:
            found.setdefault(f, {}).setdefault(t, {})[m] = doc
    return found


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phase", choices=("dev", "eval"), required=True)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--commit", action="store_true", help="git-commit each finished cell's file at once")
    p.add_argument("--dry-run", action="store_true", help="print the projected CPU hours only")
    p.add_argument("--recalibrate", action="store_true", help="measure every method's cost again")
    p.add_argument("--report-only", action="store_true", help="report from finished cells, run nothing")
    p.add_argument("--tables", nargs="+", help="only these tables (a smoke run; not the study)")
    p.add_argument("--methods", nargs="+", help="only these methods (a smoke run; not the study)")
    p.add_argument("--runs", type=int, default=RUNS, help=f"runs per cell (the study: {RUNS})")
    p.add_argument("--max-trials", type=int, help="stop each run after this many trials (smoke runs only)")
    args = p.parse_args(argv)
    try:
        for m in args.methods or []:
            sc.kind(m)
        jobs = [c for c in cells_of(args.phase) if (not args.tables or c[0] in args.tables)
                and (not args.methods or c[2] in args.methods)]
        if not jobs:
            raise HpoError(f"no {args.phase} cell matches --tables {args.tables} --methods {args.methods}")
        choice = require_choice(args.out) if args.phase == "eval" and not args.dry_run else None
        if not args.report_only:
            cost = project(jobs, args.runs, args.out, max(args.workers, 1), args.recalibrate)
            if args.dry_run:
                return
            finished = load_cells(args.out, args.phase, jobs, args.runs)
            todo = [c for c in jobs if c[2] not in finished.get(c[1], {}).get(c[0], {})]
            stale = [str(sc.cell_path(cell_dir(args.out, args.phase, f), t, m)) for t, f, m in todo
                     if sc.cell_path(cell_dir(args.out, args.phase, f), t, m).exists()]
            if stale:
                raise HpoError(f"cells made with other settings (runs, seed or table build): {', '.join(stale)}; "
                               "delete them or use another --out")
            print(f"{len(todo)} cell(s) to run, {len(jobs) - len(todo)} finished", flush=True)
            run_cells(sorted(todo, key=lambda c: -cost[c]), args.phase, args.runs, args.out, args.workers,
                      args.commit, args.max_trials)
    except HpoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    cells = load_cells(args.out, args.phase, jobs, args.runs)
    complete = all(m in cells.get(f, {}).get(t, {}) for t, f, m in jobs)
    tables = [t for t in (DEV_TABLES if args.phase == "dev" else EVAL_TABLES) if any(c[0] == t for c in jobs)]
    methods = [m for m in (DEV_METHODS if args.phase == "dev" else EVAL_METHODS) if any(c[2] == m for c in jobs)]
    written = []
    if args.phase == "dev":
        text = sr.dev_report(cells.get(1.0, {}), tables, methods, DEV_SEED, args.runs)
        if complete and not args.tables and not args.methods:
            decided = choose(cells[1.0])
            if not choice_path(args.out).is_file():
                choice_path(args.out).write_text(json.dumps(decided, indent=1) + "\n")
                written.append(choice_path(args.out))
            text += sr.choice_text(json.loads(choice_path(args.out).read_text()))
    else:
        text = sr.eval_report(cells, tables, [t for t in LONG_TABLES if t in tables], methods, choice, EVAL_SEED,
                              args.runs, dropped=DROPPED)
    (args.out / args.phase).mkdir(parents=True, exist_ok=True)
    report = args.out / args.phase / "report.md"
    report.write_text(text)
    written.append(report)
    print(text)
    print(f"wrote {', '.join(str(w) for w in written)}")
    if args.commit:
        git_commit(written, f"study {args.phase} report" + (" and the development choice" if len(written) > 1 else ""))


if __name__ == "__main__":
    main()
