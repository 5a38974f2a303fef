"""The arms against Optuna's samplers on standard functions through the ask/tell API, and on development tables.

Each (problem, method, seed) run makes `--evals` evaluations; peers get the same parameter kinds (uniform,
int, categorical) and budget. Prints, per problem, the median final regret (best value - optimum) with a
95% bootstrap interval, the one-sided Mann-Whitney p-values of our arm against its peer (ours worse; ours
better), and the mean proposal seconds per trial (ask time summed over the run / evaluations, so periodic
refits are amortised). One thread per process. Runs are appended to a JSON-lines file as they finish and
reused, so an interrupted run resumes; `--label` names a variant (e.g. arm options) in that file.

Development data only (issue 7): the functions of `functions.py` and the tables digits-lenet, fcnet-protein,
nb201-cifar100; seeds 0-9. Evaluation functions and tables are not run here.

    .venv/bin/python experiments/synthetic.py --workers 2                     # functions, 10 seeds x 100
    .venv/bin/python experiments/synthetic.py --methods GP-EI --label raw --arm-options '{"gp_output": "raw"}'
    .venv/bin/python experiments/synthetic.py --tables --workers 2            # the arms on the dev tables
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from multiprocessing import Pool  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import mannwhitneyu  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from functions import problems  # noqa: E402

from hpo_mab import Optimizer  # noqa: E402
from hpo_mab.analysis.stats import bootstrap_median_interval  # noqa: E402
from hpo_mab.peers.optuna_peer import optuna_distributions  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "synthetic"
OURS = {"GP-EI": ("GP", "EI"), "GP-PI": ("GP", "PI"), "GP-UCB": ("GP", "UCB"), "RF-EI": ("RF", "EI"),
        "TPE": ("TPE", None), "RANDOM": ("RANDOM", None)}
PEERS = ("optuna-gp", "optuna-tpe")
PAIRS = {"GP-EI": "optuna-gp", "TPE": "optuna-tpe"}
DEFAULT_METHODS = ("GP-EI", "TPE", "RF-EI", "RANDOM", "optuna-gp", "optuna-tpe")
DEV_TABLES = ("digits-lenet", "fcnet-protein", "nb201-cifar100")
SEEDS = range(10)


def run_function(problem_name: str, method: str, seed: int, evals: int, arm_options: dict | None) -> dict:
    """One seeded run of `method` on a function: final regret, regret after 25/50 evaluations, ask seconds."""
    problem = problems()[problem_name]
    values, ask_seconds = [], 0.0
    if method in PEERS:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (optuna.samplers.GPSampler(seed=seed) if method == "optuna-gp"
                   else optuna.samplers.TPESampler(seed=seed))
        study = optuna.create_study(sampler=sampler)
        dists = optuna_distributions(problem.space)
        ordered = {p.name: p.values for p in problem.space.params if p.kind == "ordered"}
        for _ in range(evals):
            start = time.perf_counter()
            trial = study.ask(dists)
            ask_seconds += time.perf_counter() - start
            config = {k: (ordered[k][v] if k in ordered else v) for k, v in trial.params.items()}
            values.append(problem.objective(config))
            study.tell(trial, values[-1])
    else:
        model, acq = OURS[method]
        opt = Optimizer(problem.space, mode=model, spec=acq, seed=seed, arm_options=arm_options)
        for _ in range(evals):
            start = time.perf_counter()
            config = opt.ask()
            ask_seconds += time.perf_counter() - start
            values.append(problem.objective(config))
            opt.tell(config, values[-1])
    best = np.minimum.accumulate(values) - problem.optimum
    return {"regret": float(best[-1]), "regret_25": float(best[min(24, evals - 1)]),
            "regret_50": float(best[min(49, evals - 1)]), "seconds_per_trial": ask_seconds / evals}


def run_table(table_name: str, method: str, seed: int, arm_options: dict | None) -> dict:
    """One seeded run of one of our arms on a table at its default budget: normalised regret of the incumbent."""
    from hpo_mab.analysis.metrics import normalised_regret
    from hpo_mab.arms import TableCandidates
    from hpo_mab.backends.lookup import LookupBackend
    from hpo_mab.surrogates import get_table

    table = get_table(table_name)
    model, acq = OURS[method]
    backend = LookupBackend(table)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    opt = Optimizer(table.space, mode=model, spec=acq, direction=table.metric.direction, seed=seed,
                    candidates=TableCandidates(table.space, table.encoded, table.config), metric=table.metric,
                    arm_options=arm_options)
    ask_seconds, trials = 0.0, 0
    while backend.clock.now < table.default_budget_s and len(opt.history.visited_rows) < table.n_rows:
        start = time.perf_counter()
        proposal = opt.propose()
        ask_seconds += time.perf_counter() - start
        outcome = backend.evaluate(proposal.nominee.row, draw=float(rng.random()), deadline=table.default_budget_s)
        extra = {} if outcome.state == "complete" else {"state": outcome.state}
        trial = opt.make_trial(proposal, outcome.value if outcome.state == "complete" else None, **extra)
        opt.record(trial, proposal)
        trials += 1
    done = [t for t in opt.history.trials if t.state in ("init", "complete") and t.loss is not None]
    best = min(done, key=lambda t: t.loss) if done else None
    return {"regret": normalised_regret(table, None if best is None else best.row), "trials": trials,
            "seconds_per_trial": ask_seconds / max(trials, 1)}


def _job(job: tuple) -> tuple[tuple, dict]:
    kind, problem, method, seed, evals, label, options = job
    if kind == "function":
        return job, run_function(problem, method, seed, evals, options)
    return job, run_table(problem, method, seed, options)


def key(kind: str, problem: str, method: str, seed: int, evals: int, label: str) -> str:
    return f"{kind}|{problem}|{method}|{label}|{seed}|{evals}"


def load(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            out[rec["key"]] = rec
    return out


def report(records: dict[str, dict], kind: str, problems_: list[str], columns: list[tuple[str, str]],
           evals: int, seeds: list[int]) -> None:
    """Per problem: each (method, label) column's median regret, interval, s/trial and tests against its peer."""
    rng = np.random.default_rng(0)
    name = {c: c[0] if c[1] in ("default", "peer") else f"{c[0]}[{c[1]}]" for c in columns}
    wins = {c: [0, 0, 0] for c in columns if c[0] in PAIRS}  # lower median, significantly better, worse
    times: dict[tuple[str, str], list[float]] = {c: [] for c in columns}
    for problem in problems_:
        print(f"\n== {problem}")
        print(f"{'method':<26} {'median':>10} {'95% interval':>23} {'s/trial':>8}  vs peer")
        found = {}
        for c in columns:
            got = [records.get(key(kind, problem, c[0], s, evals, c[1])) for s in seeds]
            got = [g for g in got if g is not None]
            if got:
                found[c] = np.array([g["regret"] for g in got])
                times[c].append(float(np.mean([g["seconds_per_trial"] for g in got])))
        for c, regrets in found.items():
            _, lo, hi = bootstrap_median_interval(regrets, rng)
            line = f"{name[c]:<26} {np.median(regrets):10.3g} [{lo:10.3g}, {hi:10.3g}] {times[c][-1]:8.4f}"
            peer = (PAIRS.get(c[0]), "peer")
            if peer in found:
                worse = mannwhitneyu(regrets, found[peer], alternative="greater").pvalue
                better = mannwhitneyu(regrets, found[peer], alternative="less").pvalue
                line += f"  {peer[0]}: p(worse)={worse:.3f} p(better)={better:.3f}"
                wins[c][0] += np.median(regrets) < np.median(found[peer])
                wins[c][1] += better < 0.05
                wins[c][2] += worse < 0.05
            print(line)
    print(f"\n== summary over {len(problems_)} problems ({len(seeds)} seeds, {evals} evaluations)")
    for c, (lower, sig_better, sig_worse) in wins.items():
        peer = (PAIRS[c[0]], "peer")
        if times[c] and times.get(peer):
            ratio = np.mean(times[c]) / np.mean(times[peer])
            print(f"{name[c]} vs {peer[0]}: lower median on {lower}, significantly better on {sig_better}, "
                  f"significantly worse (5%) on {sig_worse}; mean s/trial {np.mean(times[c]):.4f} vs "
                  f"{np.mean(times[peer]):.4f} (ratio {ratio:.2f})")
        elif not kind == "table":
            print(f"{name[c]}: no {peer[0]} runs to compare with")
    if kind == "table":
        for c in columns:
            medians = []
            for p in problems_:
                keys = (key(kind, p, c[0], s, evals, c[1]) for s in seeds)
                got = [records[k]["regret"] for k in keys if k in records]
                if got:
                    medians.append(np.median(got))
            if medians:
                print(f"{name[c]}: mean of the tables' median regrets {np.mean(medians):.4f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", nargs="+", default=None, help="functions (default: all development functions)")
    p.add_argument("--tables", nargs="*", default=None, help="run on tables instead (no names: the dev tables)")
    p.add_argument("--methods", nargs="+", default=None)
    p.add_argument("--seeds", type=int, default=len(SEEDS))
    p.add_argument("--evals", type=int, default=100)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--label", default="default", help="name of this variant of our arms in the results file")
    p.add_argument("--arm-options", type=json.loads, default=None, help="JSON object of arm options")
    p.add_argument("--variant", action="append", default=[], metavar="LABEL=JSON",
                   help="a labelled variant of our arms' options (repeatable; replaces --label/--arm-options); "
                   "a \"methods\" list in the JSON restricts the variant to those methods")
    p.add_argument("--results", type=Path, default=RESULTS / "runs.jsonl")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    on_tables = args.tables is not None
    kind = "table" if on_tables else "function"
    names = (args.tables or list(DEV_TABLES)) if on_tables else (args.problems or list(problems()))
    methods = args.methods or ([m for m in DEFAULT_METHODS if m not in PEERS] if on_tables else list(DEFAULT_METHODS))
    evals = 0 if on_tables else args.evals
    seeds = list(range(args.seeds))
    variants = [(v.split("=", 1)[0], json.loads(v.split("=", 1)[1])) for v in args.variant] or \
        [(args.label, args.arm_options)]
    columns = [(m, "peer") for m in methods if m in PEERS]
    only = {label: (opts or {}).pop("methods", None) for label, opts in variants}  # a variant's own methods
    columns += [(m, label) for label, _ in variants for m in (only[label] or methods) if m not in PEERS]
    options_of = dict(variants)
    records = load(args.results)
    jobs = [(kind, n, m, s, evals, label, options_of.get(label)) for n in names for m, label in columns
            for s in seeds if key(kind, n, m, s, evals, label) not in records]
    jobs.sort(key=lambda j: (j[2] != "optuna-gp", j[0] != "table"))  # the slowest first
    if jobs and not args.report_only:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        print(f"{len(jobs)} runs to do, {args.workers} workers", flush=True)
        with Pool(args.workers) as pool, args.results.open("a") as out:
            for job, result in pool.imap_unordered(_job, jobs):
                rec = {"key": key(*job[:6]), "options": job[6], **result}
                records[rec["key"]] = rec
                out.write(json.dumps(rec) + "\n")
                out.flush()
    report(records, kind, names, columns, evals, seeds)


if __name__ == "__main__":
    main()
