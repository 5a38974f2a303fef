"""Are a table's recorded seeds a fair sample of the training noise? Trains rows of a table again with fresh
seeds (not the recorded 0, 1, ...) through the live task, one thread per worker, and compares the fresh final
validation values with the recorded ones of the same rows.

    .venv/bin/python experiments/seed_noise.py protein-mlp --top 30 --random 30 --fresh 4 --workers 2 \
        --out experiments/results/seed_noise.txt

Why: live runs on protein-mlp's rows end with better incumbents than table runs (live_vs_table.py), although
live trials match the recorded seeds trial by trial on average. Written down before the first run:
- if the recorded seeds are a fair sample, on `--random` rows (drawn with `--seed`) the fresh values' mean log
  difference from the row's recorded mean is about 0, and on `--top` rows (the best by recorded mean) it is
  positive (the winner's curse: those rows were picked for lucky recorded values);
- the within-row spread of fresh seeds equals that of the recorded seeds (ratio of pooled variances about 1;
  an F test at 5% says whether it differs). A larger fresh spread would let the best of many live trials beat
  the best a table run can replay, which is what live_vs_table.py saw on protein-mlp.
Added after the first protein-mlp run, whose random rows showed a few recorded pairs far apart (the F test
assumes normal noise): a rank test of the spread, Mann-Whitney on |deviation from the row mean|, each scaled
by sqrt(n / (n - 1)) for n draws per row so that both groups estimate the same SD. The fresh values are
saved in `experiments/results/seed_noise_<table>.json`, and `--from-saved` analyses them again without training.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from hpo_mab.errors import HpoError  # noqa: E402
from hpo_mab.surrogates import get_table  # noqa: E402
from hpo_mab.tasks import get_task  # noqa: E402


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _train(job: tuple[str, dict, int, int, str | None]) -> tuple[float, float, float]:
    """(final val, final test, CPU seconds) of one training run in a worker."""
    task_name, config, epochs, seed, datasets = job
    task = get_task(task_name)
    start = time.process_time()
    curves = task.train(config, task.data(datasets), epochs, seed, "cpu")
    return float(curves.values[-1]), float(curves.test[-1]), time.process_time() - start


def pooled_variance(logs: np.ndarray) -> tuple[float, int]:
    """Within-row variance of a (rows, draws) array of log values, pooled, and its degrees of freedom."""
    rows, draws = logs.shape
    dev = logs - logs.mean(axis=1, keepdims=True)
    dof = rows * (draws - 1)
    return float((dev ** 2).sum() / dof), dof


def compare_group(name: str, rows: np.ndarray, recorded: np.ndarray, fresh: np.ndarray) -> list[str]:
    """Lines comparing fresh seeds with the recorded ones on `rows` (arrays of final validation values)."""
    log_rec, log_fresh = np.log(recorded), np.log(fresh)
    shift = log_fresh - log_rec.mean(axis=1, keepdims=True)
    per_row = shift.mean(axis=1)
    t = stats.ttest_1samp(per_row, 0.0)
    var_rec, dof_rec = pooled_variance(log_rec)
    var_fresh, dof_fresh = pooled_variance(log_fresh)
    ratio = var_fresh / var_rec
    p_f = 2 * min(stats.f.sf(ratio, dof_fresh, dof_rec), stats.f.cdf(ratio, dof_fresh, dof_rec))
    scaled = [np.abs(a - a.mean(axis=1, keepdims=True)).ravel() * np.sqrt(a.shape[1] / (a.shape[1] - 1))
              for a in (log_rec, log_fresh)]
    ranks = stats.mannwhitneyu(scaled[1], scaled[0])
    best_rec = log_rec.min(axis=1)
    best_fresh = log_fresh[:, : recorded.shape[1]].min(axis=1)  # best of as many fresh seeds as recorded
    return [
        f"{name}: {len(rows)} rows x {recorded.shape[1]} recorded seeds, {fresh.shape[1]} fresh seeds each",
        f"  fresh minus recorded mean, log val: mean {per_row.mean():+.4f} "
        f"(SE {per_row.std(ddof=1) / np.sqrt(len(rows)):.4f}), t test p = {t.pvalue:.3g}",
        f"  within-row SD of log val: recorded {np.sqrt(var_rec):.4f} (dof {dof_rec}), fresh {np.sqrt(var_fresh):.4f} "
        f"(dof {dof_fresh}); variance ratio {ratio:.2f}, F test p = {p_f:.3g}",
        f"  |deviation from the row mean| (scaled), median: recorded {np.median(scaled[0]):.4f}, fresh "
        f"{np.median(scaled[1]):.4f}; Mann-Whitney p = {ranks.pvalue:.3g}",
        f"  best of {recorded.shape[1]} per row, log val: recorded minus fresh, "
        f"mean {np.mean(best_rec - best_fresh):+.4f}",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("table", help="a table built by hpo-runner build-table --task (its metadata names the task)")
    p.add_argument("--top", type=int, default=30, help="the best rows by recorded mean final validation value")
    p.add_argument("--random", type=int, default=30, help="rows drawn at random with --seed (outside --top)")
    p.add_argument("--fresh", type=int, default=4, help="fresh seeds per row")
    p.add_argument("--seed", type=int, default=0, help="draws the random rows and the fresh seeds")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--datasets", default=None)
    p.add_argument("--out", type=Path, default=None, help="append the lines to this file")
    p.add_argument("--from-saved", action="store_true", help="analyse the saved fresh values again; train nothing")
    args = p.parse_args(argv)
    try:
        table = get_table(args.table)
        task = get_task(table.meta.get("task") or args.table)
        task.data(args.datasets)
    except HpoError as exc:
        print(f"seed_noise: {exc}", file=sys.stderr)
        return 2
    values = table.values[:, :, -1].astype(float)
    if table.metric.direction != "min" or not (values > 0).all():
        print("seed_noise: needs a positive minimised metric (an RMSE table such as kin8nm-mlp)", file=sys.stderr)
        return 2
    top = np.argsort(values.mean(axis=1))[: args.top]
    rng = np.random.default_rng(args.seed)
    rest = np.setdiff1d(np.arange(table.n_rows), top)
    random_rows = np.sort(rng.choice(rest, size=args.random, replace=False))
    rows = np.concatenate([top, random_rows])
    seeds = rng.integers(1000, 2**31 - 1, size=(len(rows), args.fresh))  # never 0 or 1, the recorded ones
    saved = Path(__file__).resolve().parent / "results" / f"seed_noise_{table.name}.json"
    if args.from_saved:
        if not saved.is_file():
            print(f"seed_noise: no saved fresh values {saved}; run without --from-saved first", file=sys.stderr)
            return 2
        doc = json.loads(saved.read_text())
        if doc["rows"] != rows.tolist() or doc["seeds"] != seeds.tolist():
            print(f"seed_noise: {saved} holds other rows or seeds (other options)", file=sys.stderr)
            return 2
        results, wall = [tuple(r) for r in doc["results"]], doc["wall_s"]
    else:
        jobs = [(task.name, table.config(int(r)), table.n_epochs, int(s), args.datasets)
                for r, row_seeds in zip(rows, seeds) for s in row_seeds]
        start = time.monotonic()
        with ProcessPoolExecutor(args.workers, initializer=_one_thread) as pool:
            results = list(pool.map(_train, jobs))
        wall = time.monotonic() - start
        saved.write_text(json.dumps({"table": table.name, "rows": rows.tolist(), "seeds": seeds.tolist(),
                                     "results": results, "wall_s": wall}) + "\n")
    fresh = np.array([r[0] for r in results]).reshape(len(rows), args.fresh)
    if not np.isfinite(fresh).all():  # a diverged fresh run: its value stands in as the largest one seen
        print(f"seed_noise: {int((~np.isfinite(fresh)).sum())} fresh runs diverged", file=sys.stderr)
        fresh = np.where(np.isfinite(fresh), fresh, np.nanmax(fresh))
    cpu = sum(r[2] for r in results)
    lines = [f"{table.name}: {len(results)} training runs with fresh seeds ({task.name}, cpu, {args.workers} "
             f"workers of one thread; {cpu:.0f} CPU s, {wall:.0f} s wall), seed {args.seed}; "
             f"metric {table.metric.name}"]
    lines += compare_group(f"top {args.top} rows by recorded mean", top, values[top], fresh[: len(top)])
    lines += compare_group(f"{args.random} random rows", random_rows, values[random_rows], fresh[len(top):])
    print("\n".join(lines))
    if args.out is not None:
        with args.out.open("a") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
