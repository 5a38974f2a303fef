"""How much GP-Hedge's judge favours the GP arms' own nominees (issue 8), measured on the development functions.

GP-Hedge credits every arm with the judge's predicted loss of its nominee; the judge is the GP that the GP
arms maximise their acquisition over, so their nominees sit where that GP is optimistic. On functions every
nominee's true value is known, so at each step of a BO-HEDGE run (the default 7-arm portfolio) this script
compares, per arm, the judge's prediction with the truth: the mean standardised error (prediction - truth,
divided by the std of the losses observed so far; negative = optimistic), how often the judge ranks the
arm's nominee first among the nominees, and how often it truly is first.

    .venv/bin/python experiments/judge_bias.py > experiments/results/judge_bias.txt
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from multiprocessing import Pool  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from functions import problems  # noqa: E402

from hpo_mab import Optimizer  # noqa: E402
from hpo_mab.defaults import DEFAULT_ARMS  # noqa: E402

PROBLEMS = ("branin", "hartmann3", "hartmann6", "levy5", "styblinski8", "hartmann6-cat")


def one_run(job: tuple[str, int, int, bool]) -> dict[str, list[tuple[float, bool, bool]]]:
    """Per arm, for each step: (standardised error, judged first, truly first)."""
    name, seed, evals, debias = job
    problem = problems()[name]
    opt = Optimizer(problem.space, mode="DIV", spec="BO-HEDGE", arms=list(DEFAULT_ARMS), seed=seed)
    out: dict[str, list[tuple[float, bool, bool]]] = defaultdict(list)
    for _ in range(evals):
        proposal = opt.propose()
        if proposal.nominees:
            arms = list(proposal.nominees)
            judge = opt.strategy.judged_losses if debias else opt.strategy.nominee_losses
            judged = judge(proposal.nominees, opt.history)
            truth = np.array([problem.objective(proposal.nominees[a].config) for a in arms])
            if judged is not None:
                scale = float(np.std(opt.history.y)) or 1.0
                for i, arm in enumerate(arms):
                    out[arm].append(((judged[i] - truth[i]) / scale, bool(judged[i] == judged.min()),
                                     bool(truth[i] == truth.min())))
        value = problem.objective(proposal.config)
        opt.record(opt.make_trial(proposal, value), proposal)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--evals", type=int, default=60)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    print(f"BO-HEDGE, default portfolio, {args.seeds} seeds x {args.evals} evaluations on {', '.join(args.problems)}")
    for debias in (False, True):
        jobs = [(name, seed, args.evals, debias) for name in args.problems for seed in range(args.seeds)]
        with Pool(args.workers) as pool:
            results = pool.map(one_run, jobs)
        print(f"\n== judge {'with each arm' + chr(39) + 's learnt bias subtracted' if debias else 'as the raw GP'}")
        print(f"{'arm':<8} {'steps':>6} {'mean err':>9} {'median err':>11} {'judged 1st':>11} {'truly 1st':>10}")
        merged: dict[str, list] = defaultdict(list)
        for run in results:
            for arm, rows in run.items():
                merged[arm].extend(rows)
        for arm in sorted(merged):
            rows = np.array(merged[arm], dtype=float)
            print(f"{arm:<8} {len(rows):>6} {rows[:, 0].mean():>9.3f} {np.median(rows[:, 0]):>11.3f} "
                  f"{rows[:, 1].mean():>11.3f} {rows[:, 2].mean():>10.3f}")
        gp = [a for a in merged if a.startswith("GP")]
        judged = np.mean([np.mean([r[1] for r in merged[a]]) for a in gp]) * len(gp)
        truly = np.mean([np.mean([r[2] for r in merged[a]]) for a in gp]) * len(gp)
        print(f"GP arms' nominees judged first {judged:.2f} of steps (ties counted for each), truly first {truly:.2f}")


if __name__ == "__main__":
    main()
