"""Does a table replay what live training gives? Trains table rows again through the live task (same
configuration, same recorded seed, one thread, CPU) and prints the largest difference from the recorded
validation and test curves.

    .venv/bin/python experiments/replay_fidelity.py protein-mlp --rows 712 760 --random 4
    .venv/bin/python experiments/replay_fidelity.py kin8nm-mlp --random 6 --out experiments/results/replay_fidelity.txt

`--random N` adds N rows drawn with `--seed`; every recorded seed of each row is trained.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hpo_mab.errors import HpoError  # noqa: E402
from hpo_mab.surrogates import get_table  # noqa: E402
from hpo_mab.tasks import get_task  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", help="a table built by hpo-runner build-table --task (its metadata names the task)")
    p.add_argument("--rows", type=int, nargs="*", default=[], help="rows to train again")
    p.add_argument("--random", type=int, default=0, help="this many more rows, drawn with --seed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--datasets", default=None)
    p.add_argument("--out", type=Path, default=None, help="append the lines to this file")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    try:
        table = get_table(args.table)
        task = get_task(table.meta.get("task") or args.table)
        data = task.data(args.datasets)
    except HpoError as exc:
        print(f"replay_fidelity: {exc}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    rows = list(args.rows) + [int(r) for r in rng.choice(table.n_rows, size=args.random, replace=False)]
    lines = [f"{table.name}: rows trained again live (task {task.name}, cpu, one thread) against the recorded curves"]
    worst = 0.0
    for row in rows:
        for seed in range(table.n_seeds):
            curves = task.train(table.config(row), data, table.n_epochs, seed, "cpu")
            dv = float(np.max(np.abs(np.asarray(curves.values) - table.values[row, seed])))
            dt = float(np.max(np.abs(np.asarray(curves.test) - table.test[row, seed])))
            worst = max(worst, dv, dt)
            lines.append(f"  row {row:>5} seed {seed}: final val {curves.values[-1]:.4f} (recorded "
                         f"{table.values[row, seed, -1]:.4f}), test {curves.test[-1]:.4f} (recorded "
                         f"{table.test[row, seed, -1]:.4f}); largest difference over {table.n_epochs} epochs: "
                         f"val {dv:.2e}, test {dt:.2e}")
    lines.append(f"largest difference anywhere: {worst:.2e}")
    print("\n".join(lines))
    if args.out is not None:
        with args.out.open("a") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
