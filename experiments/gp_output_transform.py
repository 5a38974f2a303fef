"""The two choices behind the model arms' defaults, measured: the GP's output transform (Gaussian copula of
the losses vs. the raw losses) and the local part of the candidate pool (unused neighbours per best point).

Prints the median (and mean) normalised regret over `--runs` seeded runs at each table's default budget.

    .venv/bin/python experiments/gp_output_transform.py
    .venv/bin/python experiments/gp_output_transform.py --tables digits-lenet --arms GP-EI --runs 4
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_overhead import run_regrets  # noqa: E402

import hpo_mab.arms.base as arms_base  # noqa: E402
import hpo_mab.arms.candidates as arms_candidates  # noqa: E402
from hpo_mab.surrogates import get_table  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=["fcnet-protein", "nb201-cifar100", "digits-lenet"])
    p.add_argument("--arms", nargs="+", default=["GP-EI", "RF-EI"])
    p.add_argument("--outputs", nargs="+", default=["raw", "copula"])
    p.add_argument("--neighbours", nargs="+", type=int, default=[50, 200])
    p.add_argument("--runs", type=int, default=8)
    args = p.parse_args()
    print(f"median (mean) normalised regret over {args.runs} runs at the default budget")
    print(f"{'table':<18}{'arm':<8}{'output':<8}{'neighbours':>11}{'median':>9}{'mean':>9}")
    for name in args.tables:
        table = get_table(name)
        for arm in args.arms:
            for output in args.outputs if arm.startswith("GP") else ["raw"]:
                for k in args.neighbours:
                    arms_base.GP_OUTPUT, arms_candidates.NEIGHBOURS = output, k
                    r = run_regrets(table, *arm.split("-"), args.runs)
                    print(f"{name:<18}{arm:<8}{output:<8}{k:>11}{np.median(r):9.4f}{np.mean(r):9.4f}", flush=True)


if __name__ == "__main__":
    main()
