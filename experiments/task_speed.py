"""Seconds per epoch and per configuration of each training task on one CPU thread (issue 10's speed figures),
and the projected cost of a table build (configurations x seeds x epochs).

Trains the first `--configs` Sobol configurations of each task's space for `--epochs` epochs, seed 0, one
torch thread, and prints CPU seconds (training and evaluation, as the builder records them) per epoch and per
configuration, the load average beside them, and the CPU hours that 1,500 configurations x 2 seeds would take.

    .venv/bin/python experiments/task_speed.py > experiments/results/task_speed.txt
    .venv/bin/python experiments/task_speed.py --tasks kin8nm-mlp --configs 4 --epochs 5
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from hpo_mab.tasks import TASKS  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=["kin8nm-mlp", "protein-mlp", "digits-lenet"])
    p.add_argument("--configs", type=int, default=6)
    p.add_argument("--epochs", type=int, default=27)
    p.add_argument("--datasets", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"one thread, device {device}; load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'task':<14}{'configs':>8}{'epochs':>7}{'CPU s/epoch':>12}{'CPU s/config':>13}{'wall s/config':>14}"
          f"{'1500x2 CPU h':>13}")
    for name in args.tasks:
        task = TASKS[name]
        space, data = task.space(), task.data(args.datasets)
        points = space.sobol(args.configs, np.random.default_rng(0))
        cpu, wall = [], []
        for x in points:
            start, start_cpu = time.perf_counter(), time.process_time()
            task.train(space.decode(x), data, epochs=args.epochs, seed=0, device=device)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        per_config = float(np.mean(cpu))
        print(f"{name:<14}{args.configs:>8}{args.epochs:>7}{per_config / args.epochs:>12.3f}{per_config:>13.2f}"
              f"{np.mean(wall):>14.2f}{per_config * 3000 / 3600:>13.2f}", flush=True)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
