"""An example training script that knows nothing of hpo_mab: it takes its hyperparameters as options and
prints a validation loss after each epoch. `hpo-runner` tunes it through `examples/script.yaml`.

    python examples/train_quadratic.py --lr 0.01 --width 32 --act relu --epochs 5 --seed 0

Its "validation loss" is a noisy quadratic bowl that shrinks with the epochs; the best region is
lr ~ 0.01, width ~ 64, act relu. `--fail crash|hang|silent|nan` makes it misbehave (for the tests).
`--checkpoint PATH` saves the epoch reached (and the noise generator) after every epoch and, when PATH
exists, resumes from it, as a real training script saves and loads its model (examples/script_asha.yaml).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--act", choices=["relu", "tanh"], required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sleep", type=float, default=0.02, help="seconds per epoch")
    ap.add_argument("--fail", choices=["crash", "hang", "silent", "nan", "none"], default="none")
    ap.add_argument("--checkpoint", default=None, help="save after each epoch to, and resume from, this file")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    first = 1
    if args.checkpoint and os.path.exists(args.checkpoint):
        with open(args.checkpoint) as f:
            saved = json.load(f)
        first = saved["epoch"] + 1
        rng.setstate((saved["rng"][0], tuple(saved["rng"][1]), saved["rng"][2]))
    base = (math.log10(args.lr) + 2) ** 2 + (math.log2(args.width) - 6) ** 2 / 4 + (0.3 if args.act == "tanh" else 0)
    print(f"training lr={args.lr} width={args.width} act={args.act}", flush=True)
    for epoch in range(first, args.epochs + 1):
        time.sleep(args.sleep)
        if args.fail == "crash" and epoch == 2:
            print("Traceback (most recent call last):\nRuntimeError: CUDA out of memory (pretend)", file=sys.stderr)
            return 1
        if args.fail == "hang":
            time.sleep(3600)
        loss = base * (1 + 1 / epoch) + 0.01 * rng.random()
        if args.fail == "nan" and epoch == args.epochs:
            loss = float("nan")
        if args.checkpoint:
            with open(args.checkpoint + ".tmp", "w") as f:
                json.dump({"epoch": epoch, "rng": rng.getstate()}, f)
            os.replace(args.checkpoint + ".tmp", args.checkpoint)
        if args.fail != "silent":
            print(f"epoch {epoch} val_loss={loss:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
