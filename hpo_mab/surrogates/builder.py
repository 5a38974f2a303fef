"""Build a lookup table by training a Sobol sample of configurations for real; resumable.

`--task` names the training task (`hpo_mab.tasks`: digits-lenet, the default, kin8nm-mlp, protein-mlp,
diabetes-mlp); `--space` defaults to the task's search space in hp_conf/. The records' metric keys are the
task's (`val_acc`/`test_acc` for digits-lenet, `val_rmse`/`test_rmse` for the MLPs).

Every finished configuration is appended at once as one JSON line to `<out_dir>/build/<name>.jsonl`::

    {"row": 17, "config": {...}, "seeds": [0, 1], "val_acc": [[...], [...]], "test_acc": [...],
     "seconds": [...], "cpu_seconds": [...]}

(one inner list per seed, one value per epoch). The table's seconds are `cpu_seconds`, the worker's CPU time:
on an idle core they equal the wall clock (`seconds`) within 1%, but the wall clock grew 2-4x for rows trained
while other work shared this 2-core machine. Records without `cpu_seconds` are trained again. A kill loses
only the rows in flight; a restart skips the rows already there (a torn last line is cut off) and trains only
the missing (row, seed) pairs, so a table can also be grown later with more rows or more seeds. Every 100
finished rows, and at the end, everything finished is packed into `<out_dir>/<name>.npz` (see
`hpo_mab.surrogates.table`).

Run it as `hpo-runner build-table NAME ...` or `python -m hpo_mab.surrogates.builder NAME ...`.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import platform
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpo_mab.errors import HpoError, OneLineParser
from hpo_mab.outdir import check_outdir, make_outdir
from hpo_mab.space import Config, Space, load_space
from hpo_mab.surrogates import DEFAULT_DIR
from hpo_mab.surrogates.table import Metric, Table, save_table
from hpo_mab.tasks import get_task
from hpo_mab.training.lenet import train_lenet

PACK_EVERY = 100
# Caps on what a build may plan, so that a typo gets one error line instead of a MemoryError (--configs
# 99999999999999 asked the Sobol sampler for 9 PiB). The Sobol sample is decoded up front into one dict per row
# (about 2 KB and 0.5 ms each: 2 GB and 9 minutes at MAX_CONFIGS); packing holds three float64 arrays of
# configs x seeds x epochs (values, test values, seconds: 24 bytes a cell, 2.4 GB at MAX_CELLS). Every row
# trains for seconds, so either cap is weeks of CPU time; the shipped tables are 3,000 x 2 x 15 and 1,500 x 2 x 27.
MAX_CONFIGS = 1_000_000
MAX_CELLS = 100_000_000
LENET_PARAMS = ("c1_depth", "p1_size", "c2_depth", "p2_size", "window_size", "f1_width", "learning_rate",
                "reg_param", "keep_prop_rate")
METRIC = Metric(name="val_acc", kind="accuracy", direction="max", scale=1.0, lower=0.0, upper=1.0)
Done = dict[int, dict[int, tuple[list[float], list[float], list[float]]]]  # row -> seed -> (val, test, sec)


def sobol_configs(space: Space, n: int, sobol_seed: int) -> list[Config]:
    """The first `n` points of the space's scrambled Sobol sequence (prefixes agree across `n`)."""
    return [space.decode(u) for u in space.sobol(n, np.random.default_rng(sobol_seed))]


def _finite_list(curve: Any) -> bool:
    return isinstance(curve, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in curve)


def _record_problem(rec: Any, keys: tuple[str, str], epochs: int, task: str) -> str | None:
    """What is wrong with one build record, or None (a record of `task` with `epochs`-long finite curves)."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, but got {type(rec).__name__}"
    if rec.get("task", task) != task:  # records name their task since stop 11 (older ones are the table's)
        return f"was trained by task {rec['task']!r}, not {task!r}; use another table name or --out-dir"
    missing = [k for k in ("row", "config", "seeds", *keys, "cpu_seconds") if k not in rec]
    if missing:
        return f"lacks {', '.join(missing)} (another task's record? its --task must match)"
    row, seeds = rec["row"], rec["seeds"]
    if isinstance(row, bool) or not isinstance(row, int) or row < 0:
        return f"'row' must be a non-negative integer, but got {row!r}"
    if not isinstance(rec["config"], dict):
        return "'config' must be a JSON object"
    if not (isinstance(seeds, list) and seeds and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                                     for x in seeds)):
        return f"'seeds' must be a non-empty list of non-negative integers, but got {str(seeds)[:80]}"
    for key in (*keys, "cpu_seconds"):
        curves = rec[key]
        if not (isinstance(curves, list) and len(curves) == len(seeds)):
            return f"'{key}' must hold one curve per seed"
        if not all(_finite_list(c) for c in curves):
            return f"'{key}' must hold lists of finite numbers"
    if any(v < 0 for c in rec["cpu_seconds"] for v in c):
        return "'cpu_seconds' must not be negative"
    return None


def read_done(path: Path, configs: list[Config], epochs: int, keys: tuple[str, str] = ("val_acc", "test_acc"),
              task: str = "digits-lenet") -> tuple[Done, int]:
    """Finished (row, seed) curves in a build file and the length of its complete part (a last line without
    its newline is torn: the row was in flight when the build was killed; the caller cuts it off before
    appending, and trains that row again). Every record and config is checked; nothing is written here.

    `keys`: the record's metric and test-metric keys (the task's)."""
    done: Done = {}
    if not path.is_file():
        return done, 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    try:
        text = data[:end].decode()
    except UnicodeDecodeError:
        raise HpoError(f"{path}: not a build record file (not UTF-8 text)")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise HpoError(f"{path}:{number}: not a build record (not JSON: {exc})")
        if isinstance(rec, dict) and "cpu_seconds" not in rec and "row" in rec:
            continue  # an early record without CPU time: trained again
        problem = _record_problem(rec, keys, epochs, task)
        if problem is not None:
            raise HpoError(f"{path}:{number}: not a build record of this table: {problem}")
        row, seeds = rec["row"], rec["seeds"]
        curves = list(zip(rec[keys[0]], rec[keys[1]], rec["cpu_seconds"]))
        if row < len(configs) and rec["config"] != configs[row]:
            raise HpoError(f"{path}:{number}: row {row} has config {rec['config']} but the Sobol sample gives "
                           f"{configs[row]}; use the same --space and --sobol-seed, or move the file away")
        if any(len(c) != epochs for curve in curves for c in curve):
            raise HpoError(f"{path}:{number}: row {row} was trained for other than {epochs} epochs")
        done.setdefault(row, {}).update(zip(seeds, curves))
    return done, end


def check_device(device: str | None) -> None:
    """A torch device that exists here: `cpu`, or `cuda`/`cuda:N` with CUDA available (None: pick one)."""
    if device is None:
        return
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise HpoError(f"--device {device!r}: not a torch device; expected cpu or cuda (cuda:N)")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise HpoError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise HpoError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise HpoError(f"--device {device}: the builder trains on cpu or cuda, not {dev.type}")


def _train_row(task: tuple) -> dict[str, Any]:
    """Train one row for the given seeds (runs in a worker process); a configuration the trainer cannot
    train (a --space value it does not know) is one HpoError line naming the row, the rows done are kept."""
    try:
        return _train_row_unchecked(task)
    except Exception as exc:  # noqa: BLE001 - any trainer error, carried back from the worker as one line
        raise HpoError(f"row {task[0]} ({task[1]}): the trainer failed ({type(exc).__name__}: {str(exc)[:200]}); "
                       "finished rows are kept in the build record") from None


def _train_row_unchecked(task: tuple) -> dict[str, Any]:
    row, config, seeds, epochs, device = task[:5]
    name, datasets = task[5:] if len(task) > 5 else ("digits-lenet", None)
    if name == "digits-lenet":
        runs = [train_lenet(config, epochs=epochs, seed=s, device=device) for s in seeds]
        return {"row": row, "config": config, "seeds": seeds, "val_acc": [r["val_acc"] for r in runs],
                "test_acc": [r["test_acc"] for r in runs], "seconds": [r["seconds"] for r in runs],
                "cpu_seconds": [r["cpu_seconds"] for r in runs]}
    spec = get_task(name)
    data = spec.data(datasets)  # cached per process
    curves = [spec.train(config, data, epochs, s, device) for s in seeds]
    return {"row": row, "config": config, "seeds": seeds, spec.metric.name: [c.values for c in curves],
            spec.test_name: [c.test for c in curves], "seconds": [c.seconds for c in curves],
            "cpu_seconds": [c.cpu_seconds for c in curves], "device": device or _default_device()}


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _init_worker() -> None:
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates the pool


def _hardware(workers: int, device: str | None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else None
    return {"cpu": cpu, "gpu": gpu, "device": device, "torch": torch.__version__, "threads_per_worker": 1,
            "workers": workers, "python": platform.python_version()}


def pack(name: str, space: Space, configs: list[Config], done: Done, n_seeds: int, epochs: int,
         path: Path, meta: dict[str, Any], metric: Metric = METRIC) -> Table:
    """Write every finished row (sorted by Sobol index) as a table; absent seeds stay NaN."""
    rows = sorted(r for r, seeds in done.items() if r < len(configs) and any(s < n_seeds for s in seeds))
    if not rows:
        raise HpoError(f"{name}: no finished rows to pack yet")
    shape = (len(rows), n_seeds, epochs)
    values, test, seconds = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for i, r in enumerate(rows):
        for s, (val, tst, sec) in done[r].items():
            if s < n_seeds:
                values[i, s], test[i, s], seconds[i, s] = val, tst, sec
    columns = []
    for p in space.params:
        if p.kind in ("choice", "ordered"):
            columns.append(np.array([p.index_of(configs[r][p.name]) for r in rows], dtype=np.int64))
        else:
            columns.append(np.array([configs[r][p.name] for r in rows],
                                    dtype=np.int64 if p.kind in ("int", "intlog") else np.float64))
    complete = len(rows) == len(configs) and all(set(range(n_seeds)) <= set(done[r]) for r in rows)
    table = Table(name=name, space=space, columns=columns, values=values, seconds=seconds, metric=metric,
                  test=test, meta={**meta, "sobol_index": rows, "complete": complete})
    save_table(table, path)
    return table


def build_table(name: str, space_path: str | Path | None, n_configs: int, n_seeds: int, epochs: int, workers: int,
                out_dir: str | Path = DEFAULT_DIR, sobol_seed: int = 0, device: str | None = None,
                pack_only: bool = False, task: str = "digits-lenet", datasets: str | None = None) -> Table:
    """Train `n_configs` Sobol configurations x `n_seeds` seeds of `task` for `epochs`; pack and return the table.

    `space_path` None: the task's search space in hp_conf/."""
    for what, v in (("configs", n_configs), ("seeds", n_seeds), ("epochs", epochs), ("workers", workers)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise HpoError(f"{what} must be a positive integer, but got {v!r}")
    if n_configs > MAX_CONFIGS:
        raise HpoError(f"--configs must be at most {MAX_CONFIGS:,} (the Sobol sample is held in memory), "
                       f"but got {n_configs:,}")
    if n_configs * n_seeds * epochs > MAX_CELLS:
        raise HpoError(f"--configs x --seeds x --epochs must be at most {MAX_CELLS:,} (a table's values, test "
                       f"values and seconds in memory), but got {n_configs:,} x {n_seeds:,} x {epochs:,}")
    if not name or "/" in name or name.startswith(".") or len(name) > 200:
        raise HpoError(f"table name must be a plain file name of at most 200 characters, but got {name[:200]!r}")
    if isinstance(sobol_seed, bool) or not isinstance(sobol_seed, int) or sobol_seed < 0:
        raise HpoError(f"--sobol-seed must be a non-negative integer, but got {sobol_seed!r}")
    check_device(device)
    spec = get_task(task)
    if space_path is None:
        space_path = Path("hp_conf") / spec.space_file
        space = spec.space()
    else:
        space = load_space(space_path)
    needed = LENET_PARAMS if task == "digits-lenet" else spec.space().names
    missing = [n for n in needed if n not in space.names]
    if missing:
        trainer = "LeNet" if task == "digits-lenet" else task
        raise HpoError(f"{space_path}: the {trainer} trainer needs parameter(s) {missing}, but the space has "
                       f"{space.names}")
    data_meta: dict[str, Any] = {}
    if task != "digits-lenet":
        data_meta = dict(getattr(spec.data(datasets), "meta", {}))  # read now: a missing dataset fails early
    out_dir = check_outdir(out_dir, "--out-dir")
    log_path, npz_path = out_dir / "build" / f"{name}.jsonl", out_dir / f"{name}.npz"
    if log_path.exists() and not log_path.is_file():
        raise HpoError(f"{log_path}: exists and is not a file")
    configs = sobol_configs(space, n_configs, sobol_seed)
    done, complete = read_done(log_path, configs, epochs, (spec.metric.name, spec.test_name), task)
    command = (f"hpo-runner build-table {name} --space {space_path} --configs {n_configs} --seeds {n_seeds} "
               f"--epochs {epochs} --workers {workers} --sobol-seed {sobol_seed}"
               + ("" if out_dir.resolve() == DEFAULT_DIR.resolve() else f" --out-dir {out_dir}")
               + ("" if task == "digits-lenet" else f" --task {task}"))
    meta = {"dataset": spec.dataset, "model": spec.model, "trainer": spec.trainer,
            "hardware": _hardware(workers, device), "build_command": command, "sobol_seed": sobol_seed,
            "configs_planned": n_configs, "space_file": str(space_path),
            "seconds_note": "cumulative training CPU seconds of the single-threaded worker, evaluation "
                            "excluded: on an idle core they equal wall-clock seconds within 1%, and unlike "
                            "wall-clock seconds they do not grow when other work shares the machine",
            "divergence_note": "non-finite logits score chance level, 0.1"}
    if task != "digits-lenet":
        meta.update(task=task, data=data_meta, divergence_note="non-finite predictions score the RMSE of "
                    "predicting the training mean")
    if pack_only:
        return pack(name, space, configs, done, n_seeds, epochs, npz_path, meta, spec.metric)
    make_outdir(out_dir / "build", "--out-dir")
    if log_path.is_file() and log_path.stat().st_size > complete:  # everything checked: now cut the torn line
        print(f"{log_path}: cutting off a torn last line ({log_path.stat().st_size - complete} bytes)",
              file=sys.stderr)
        with log_path.open("r+b") as f:
            f.truncate(complete)
    extra = () if task == "digits-lenet" else (task, datasets)
    tasks = [(r, configs[r], [s for s in range(n_seeds) if s not in done.get(r, {})], epochs, device, *extra)
             for r in range(n_configs)]
    tasks = [t for t in tasks if t[2]]
    finished = n_configs - len(tasks)
    print(f"{name}: {n_configs} configs x {n_seeds} seeds x {epochs} epochs; {finished} done, "
          f"{len(tasks)} to train on {workers} worker(s)", file=sys.stderr, flush=True)
    start = time.monotonic()
    with log_path.open("a") as log:
        for i, rec in enumerate(_run(tasks, workers), 1):
            log.write(json.dumps({**rec, "task": task}) + "\n")
            log.flush()
            done.setdefault(rec["row"], {}).update(zip(rec["seeds"], zip(rec[spec.metric.name], rec[spec.test_name],
                                                                         rec["cpu_seconds"])))
            finished += 1
            if i % 25 == 0 or i == len(tasks):
                rate = (time.monotonic() - start) / i
                print(f"{name}: {finished}/{n_configs} rows, {rate:.2f} s/row, "
                      f"ETA {rate * (len(tasks) - i) / 60:.1f} min", file=sys.stderr, flush=True)
            if finished % PACK_EVERY == 0:
                pack(name, space, configs, done, n_seeds, epochs, npz_path, meta, spec.metric)
    table = pack(name, space, configs, done, n_seeds, epochs, npz_path, meta, spec.metric)
    print(f"{name}: packed {table.n_rows} rows into {npz_path}", file=sys.stderr, flush=True)
    return table


def _run(tasks: list, workers: int):
    """Yield finished rows: inline for one worker (or task), else from a spawn pool of 1-thread workers."""
    workers = min(workers, len(tasks))
    if workers <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield from map(_train_row, tasks)
        finally:
            torch.set_num_threads(threads)
        return
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap_unordered(_train_row, tasks, chunksize=1)


def build_table_main(argv: list[str]) -> int:
    """`build-table NAME --space FILE --configs N --seeds S --epochs E --workers W [--pack-only]`."""
    ap = OneLineParser(prog="hpo-runner build-table", description=__doc__.splitlines()[0])
    ap.add_argument("name", help="table name: writes surrogates/NAME.npz and surrogates/build/NAME.jsonl")
    ap.add_argument("--space", default=None, help="search space, hp_conf JSON or OTX YAML (default: the task's)")
    ap.add_argument("--task", default="digits-lenet", help="training task: digits-lenet (default), kin8nm-mlp, "
                                                           "protein-mlp, diabetes-mlp")
    ap.add_argument("--datasets", default=None, help="datasets directory for the MLP tasks (default: "
                                                     "$HPO_MAB_DATASETS, else ../shared/datasets)")
    ap.add_argument("--configs", type=int, default=3000, help="Sobol configurations (rows)")
    ap.add_argument("--seeds", type=int, default=1, help="training seeds per configuration")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2, help="worker processes, one thread each")
    ap.add_argument("--sobol-seed", type=int, default=0)
    ap.add_argument("--out-dir", default=str(DEFAULT_DIR), help="where NAME.npz and build/ live")
    ap.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    ap.add_argument("--pack-only", action="store_true", help="pack the finished rows without training")
    args = ap.parse_args(argv)
    build_table(args.name, args.space, args.configs, args.seeds, args.epochs, args.workers, args.out_dir,
                args.sobol_seed, args.device, args.pack_only, args.task, args.datasets)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the pool is terminated, the log closed
    try:
        sys.exit(build_table_main(sys.argv[1:]))
    except HpoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
