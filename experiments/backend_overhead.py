"""Issue 10's per-trial overheads of the script and remote backends, and the table replay speed.

1. Script backend: the example script (`examples/train_quadratic.py`, `--epochs E --sleep S` so that one
   trial takes about `--trial-seconds`) run (a) directly with `subprocess.run` and (b) as one trial of
   `hpo_mab.backends.script` (the `ScriptSpec` and script problem that `hpo-runner ... -c script.yaml` builds,
   `run_trial` with a report callback). Overhead = (b) - (a).
2. Remote node: `python -m hpo_mab serve` in a subprocess on a free loopback port with a token (as
   tests/test_remote.py starts it); the same task configuration (the space's defaults) trained for the same
   epochs (calibrated to about `--trial-seconds` in process) (a) in process through `TrainBackend` and (b)
   through `RemoteBackend` to the node. Both train on one torch thread on the CPU (the node's `TrainBackend`
   defaults to one thread, and the node runs with OMP_NUM_THREADS=1 as this process does); both are warmed up
   first (the node loads its data and torch initialises on its first trial). Overhead = (b) - (a).
3. Table replay: random-arm trials per second through the runner with the journal (`run_experiment`, one
   run, `--replay-trials` trials on `--replay-table`), and the same with `scheduler="ASHA"` on digits-lenet.
   Runs before part 2, so that torch (which loads its own OpenMP runtime) is not in the process, as in a table
   run of `hpo-runner`; a diagnosis line times the replay with the optimizer's per-trial BLAS limit made a no-op.

Every figure is a median over `--reps` repetitions with its min and max; (a) and (b) alternate which runs first.
Overheads are medians of the per-repetition differences (b) - (a). The load average is printed before and after
each part: timings on a loaded machine are noisy.

    .venv/bin/python experiments/backend_overhead.py            # writes experiments/results/backend_overhead.txt
    .venv/bin/python experiments/backend_overhead.py --reps 2 --trial-seconds 3 --out /tmp/quick.txt
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from hpo_mab.arms import Nominee  # noqa: E402
from hpo_mab.backends.base import Decision  # noqa: E402
from hpo_mab.backends.remote import POLL_S, remote_problem  # noqa: E402
from hpo_mab.backends.script import parse_script, script_problem  # noqa: E402
from hpo_mab.backends.train import task_problem  # noqa: E402
from hpo_mab.runner import Settings, run_experiment  # noqa: E402
from hpo_mab.space import load_space  # noqa: E402
from hpo_mab.surrogates import get_table  # noqa: E402
from hpo_mab.tasks import get_task  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_PCT = 5.0
TARGET_REPLAY = 20_000.0
SCRIPT_CONFIG = {"lr": 0.01, "width": 64, "act": "relu"}


class Out:
    """Prints each line and keeps it for the results file."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def stats(values: list[float], unit: str = "s", digits: int = 3) -> str:
    """Median (min, max) of `values`."""
    unit = f" {unit}" if unit else ""
    return (f"{np.median(values):,.{digits}f}{unit} (min {min(values):,.{digits}f}, max {max(values):,.{digits}f}, "
            f"n={len(values)})")


def verdict(met: bool) -> str:
    return "target met" if met else "target NOT met"


def collect(report_log: list[tuple[int, float, float]]):
    """A report callback that records every epoch and lets the trial continue."""

    def report(epoch: int, value: float, seconds: float) -> str:
        report_log.append((epoch, value, seconds))
        return Decision.CONTINUE

    return report


def paired(reps: int, run_a, run_b) -> tuple[list, list]:
    """`reps` pairs of (a, b), alternating which of the two runs first."""
    a, b = [], []
    for k in range(reps):
        if k % 2 == 0:
            a.append(run_a())
            b.append(run_b())
        else:
            b.append(run_b())
            a.append(run_a())
    return a, b


# 1. the script backend ---------------------------------------------------------------------------------------

def script_overhead(out: Out, reps: int, trial_seconds: float, epochs: int) -> None:
    sleep = trial_seconds / epochs
    space = load_space(REPO / "examples" / "quadratic.json")
    mapping = {
        "command": "{python} examples/train_quadratic.py --lr {lr} --width {width} --act {act} "
                   f"--epochs {epochs} --sleep {sleep:g} --seed {{seed}}",
        "metric_regex": r"epoch (?P<epoch>\d+) val_loss=(?P<metric>\S+)",
        "metric_name": "val_loss", "direction": "min", "timeout": f"{3 * trial_seconds + 30:.0f}s",
        "cwd": str(REPO),
    }
    spec = parse_script(mapping, space.names, "benchmark run configuration")
    backend = script_problem("quadratic", space, spec).make_backend()
    nominee = Nominee(space.encode(SCRIPT_CONFIG), dict(SCRIPT_CONFIG), None)
    draw = 0.25
    seed = int(draw * 2**31)
    argv = [w.format(seed=seed, python=sys.executable, **SCRIPT_CONFIG) for w in spec.command]
    out(f"\n== 1. script backend: {shlex.join(argv)}")
    out(f"   (sleep-based example script: {epochs} epochs x {sleep:g} s; (a) subprocess.run with captured output, "
        "(b) ScriptBackend.run_trial with a report callback)")
    out(f"   load average before: {load()}")

    def direct() -> float:
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0 or done.stdout.count("val_loss=") != epochs:
            raise SystemExit(f"the direct run failed: {done.returncode} {done.stdout[-300:]} {done.stderr[-300:]}")
        return wall

    def through_backend() -> float:
        epochs_seen: list = []
        start = time.perf_counter()
        outcome = backend.run_trial(nominee, draw=draw, report=collect(epochs_seen))
        wall = time.perf_counter() - start
        if outcome.state != "complete" or len(epochs_seen) != epochs:
            raise SystemExit(f"the script trial did not complete: {outcome.state} {outcome.reason} {outcome.info}")
        return wall

    direct()  # warm the file cache and the interpreter's .pyc files before timing
    a, b = paired(reps, direct, through_backend)
    diff = [y - x for x, y in zip(a, b)]
    over, pct = float(np.median(diff)), 100 * float(np.median(diff)) / float(np.median(a))
    out(f"   (a) direct subprocess.run:   {stats(a)}")
    out(f"   (b) script backend trial:    {stats(b)}")
    out(f"   overhead (b) - (a), paired:  {stats(diff)}")
    out(f"   overhead: {over:+.3f} s = {pct:+.2f} % of a {np.median(a):.2f} s trial (target <= {TARGET_PCT:g} %): "
        f"{verdict(pct <= TARGET_PCT)}")
    out(f"   load average after: {load()}")


# 2. the remote node ------------------------------------------------------------------------------------------

def start_node(token: str) -> tuple[subprocess.Popen, str]:
    """`python -m hpo_mab serve --port 0` (a free loopback port; the printed line names it) with the token."""
    env = {**os.environ, "HPO_MAB_TOKEN": token, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "hpo_mab", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if "listening on http://" not in line:
        proc.kill()
        raise SystemExit(f"the train node did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1].strip()


def remote_overhead(out: Out, reps: int, trial_seconds: float, task_name: str, datasets: str | None) -> None:
    import torch

    torch.set_num_threads(1)
    task = get_task(task_name)
    space = task.space()
    config = {p.name: p.default for p in space.params}
    nominee = Nominee(space.encode(config), dict(config), None)
    draw = 0.25
    out(f"\n== 2. remote node: {task_name}, the space's default configuration, seed {int(draw * 2**31)}, CPU")
    out(f"   load average before: {load()}")

    calib = task_problem(task, epochs=10, device="cpu", datasets=datasets, threads=1).make_backend()
    calib.run_trial(nominee, draw=draw)  # torch's first-trial start-up
    first = calib.run_trial(nominee, draw=draw)
    per_epoch = first.info["train_seconds"] / 10
    epochs = max(2, int(round(trial_seconds / per_epoch)))
    out(f"   calibration: {per_epoch:.4f} s/epoch in process -> {epochs} epochs for a ~{trial_seconds:g} s trial")
    local = task_problem(task, epochs=epochs, device="cpu", datasets=datasets, threads=1).make_backend()

    token = secrets.token_hex(16)
    started = time.perf_counter()
    proc, url = start_node(token)
    try:
        out(f"   node: `python -m hpo_mab serve --host 127.0.0.1 --port 0` -> {url} (bearer token, "
            f"OMP_NUM_THREADS=1, TrainBackend's one torch thread), listening after "
            f"{time.perf_counter() - started:.2f} s")
        warm = remote_problem(task, [url], token, epochs=2, device="cpu", timeout=120.0).make_backend()
        start = time.perf_counter()
        warmed = warm.run_trial(nominee, draw=draw)
        out(f"   node warm-up trial (2 epochs: data load, torch start-up): {warmed.state}, "
            f"{time.perf_counter() - start:.2f} s")
        remote = remote_problem(task, [url], token, epochs=epochs, device="cpu", timeout=120.0).make_backend()
        out("   (a) TrainBackend.run_trial in this process; (b) RemoteBackend.run_trial to the node "
            f"(POST, then a GET poll every {POLL_S:g} s, so the trial's end is seen up to {POLL_S:g} s late); "
            "both with a report callback")

        def run(backend) -> tuple[float, float]:
            seen: list = []
            start = time.perf_counter()
            outcome = backend.run_trial(nominee, draw=draw, report=collect(seen))
            wall = time.perf_counter() - start
            if outcome.state != "complete" or len(seen) != epochs:
                raise SystemExit(f"the trial did not complete: {outcome.state} {outcome.reason}")
            return wall, float(outcome.info["train_seconds"])

        a, b = paired(reps, lambda: run(local), lambda: run(remote))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    wall_a, train_a = [x for x, _ in a], [y for _, y in a]
    wall_b, train_b = [x for x, _ in b], [y for _, y in b]
    diff = [y - x for x, y in zip(wall_a, wall_b)]
    over, pct = float(np.median(diff)), 100 * float(np.median(diff)) / float(np.median(wall_a))
    out(f"   (a) in process, wall:        {stats(wall_a)}")
    out(f"   (b) remote node, wall:       {stats(wall_b)}")
    out(f"   overhead (b) - (a), paired:  {stats(diff)}")
    out(f"   overhead: {over:+.3f} s = {pct:+.2f} % of a {np.median(wall_a):.2f} s trial (target <= {TARGET_PCT:g} %): "
        f"{verdict(pct <= TARGET_PCT)}")
    out("   where it goes: the trainer's own seconds (its epochs, as the trainer times them) and wall minus them")
    out(f"   (a) trainer seconds:         {stats(train_a)};  wall - trainer "
        f"{stats([w - t for w, t in zip(wall_a, train_a)])}")
    out(f"   (b) trainer seconds (node):  {stats(train_b)};  wall - trainer "
        f"{stats([w - t for w, t in zip(wall_b, train_b)])}")
    beyond = [(wb - tb) - (wa - ta) for wa, ta, wb, tb in zip(wall_a, train_a, wall_b, train_b)]
    out(f"   beyond training, (b) - (a) of wall - trainer: {stats(beyond)} = "
        f"{100 * float(np.median(beyond)) / float(np.median(wall_a)):+.2f} % (less noisy: the load's effect on the "
        "epochs themselves drops out)")
    out(f"   load average after: {load()}")


# 3. table replay ---------------------------------------------------------------------------------------------

def replay(table, trials: int, scheduler: str | None, held: bool = True) -> tuple[float, int, int, float]:
    """Wall seconds, trials (journal records, the runs' summaries) and configurations (rows) of one random-arm
    run; under a scheduler a promoted trial continues as a new record. `held`: as `hpo-runner` runs it, with
    the one-BLAS-thread limit held around the experiment (the optimizer's own limits inside are then free); last,
    the CPU seconds of this process (what an idle core's wall clock would show; on a busy machine the wall
    clock also counts the time other processes hold the CPU)."""
    import contextlib

    from hpo_mab.threads import one_blas_thread

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(config_name=table.name, num_runs=1, mode="RANDOM", spec=None, budget=1e15,
                            max_trials=min(trials, table.n_rows), scheduler=scheduler)
        start, cpu = time.perf_counter(), time.process_time()
        with one_blas_thread() if held else contextlib.nullcontext():
            summaries = run_experiment(settings, table, Path(tmp) / "r")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        with open(Path(tmp) / "r" / "journal.jsonl") as f:
            rows = {json.loads(line)["row"] for line in f}
    return wall, sum(s.trials for s in summaries), len(rows), cpu


def blas_limit_diagnosis(out: Out, reps: int, table, trials: int) -> None:
    """Where replay time goes: the same replay with the optimizer's per-proposal and per-update BLAS thread
    limit (`hpo_mab.threads.one_blas_thread`, entered twice per trial) made a no-op, interleaved with the real
    one. A diagnosis only: the limit matters for GP proposals, not for the random arm."""
    import contextlib

    import hpo_mab.optimizer as optimizer
    from hpo_mab.threads import _controller

    real = getattr(optimizer, "one_blas_thread", None)
    if real is None:
        return
    n = 2000
    with real():
        pass
    start = time.perf_counter()
    for _ in range(n):
        with real():
            pass
    entry_us = (time.perf_counter() - start) / n * 1e6
    libs = ", ".join(f"{c.internal_api} ({c.prefix})" for c in _controller().lib_controllers)
    with_limit, without = [], []
    try:
        for _ in range(reps):
            optimizer.one_blas_thread = real
            wall, n_trials, _, _ = replay(table, trials, None, held=False)
            with_limit.append(n_trials / wall)
            optimizer.one_blas_thread = contextlib.nullcontext
            wall, n_trials, _, _ = replay(table, trials, None, held=False)
            without.append(n_trials / wall)
    finally:
        optimizer.one_blas_thread = real
    out(f"   diagnosis (the Python API without a held limit): one `with one_blas_thread()` costs {entry_us:.1f} us "
        f"here (threadpoolctl over {libs}); the optimizer enters it twice per trial")
    out(f"   interleaved, API without a held limit: {stats(with_limit, '', 0)} trials/s; with the optimizer's limit "
        f"a no-op {stats(without, '', 0)} trials/s")


def replay_speed(out: Out, reps: int, table_name: str, trials: int) -> None:
    out(f"\n== 3. table replay: random arm through run_experiment with the journal (one run, budget unlimited, "
        f"max_trials {trials:,}); run before part 2, torch not loaded in this process: {'torch' not in sys.modules}")
    out(f"   load average before: {load()}")
    table = get_table(table_name)
    table.config(0)  # as bench_overhead.py: the table's lazy decoding is not part of the replay
    replay(table, 500, None)  # warm-up
    runs = [replay(table, trials, None) for _ in range(reps)]
    rates = [n / wall for wall, n, _, _ in runs]
    cpu_rates = [n / cpu for _, n, _, cpu in runs]
    out(f"   {table_name} ({table.n_rows:,} rows): {runs[0][1]:,} trials (journal records) of {runs[0][2]:,} "
        "configurations per run, as hpo-runner runs it (one-BLAS-thread limit held around the experiment)")
    out(f"   trials/s: {stats(rates, '', 0)}")
    out(f"   trials per CPU second of this process: {stats(cpu_rates, '', 0)} (on an idle core, trials/s; "
        f"wall / CPU here {np.median([w / c for w, _, _, c in runs]):.2f})")
    med, med_cpu = float(np.median(rates)), float(np.median(cpu_rates))
    out(f"   {med:,.0f} trials/s by the wall clock, {med_cpu:,.0f} per CPU second (target >= {TARGET_REPLAY:,.0f}; "
        f"previous 24,000-28,000 on an idle machine): wall clock {verdict(med >= TARGET_REPLAY)}; "
        f"CPU {verdict(med_cpu >= TARGET_REPLAY)}")

    blas_limit_diagnosis(out, reps, table, trials)

    lenet = get_table("digits-lenet")
    lenet.config(0)
    replay(lenet, 200, "ASHA")
    runs = [replay(lenet, lenet.n_rows, "ASHA") for _ in range(reps)]
    rates = [n / wall for wall, n, _, _ in runs]
    configs = [c / wall for wall, _, c, _ in runs]
    out(f"   digits-lenet with scheduler ASHA ({lenet.n_rows:,} rows, {lenet.n_epochs} epochs; reference, no target): "
        f"{runs[0][1]:,} trials (journal records: a promoted trial continues as a new record) of {runs[0][2]:,} "
        "configurations per run")
    out(f"   trials/s: {stats(rates, '', 0)};  configurations/s: {stats(configs, '', 0)}")
    out(f"   load average after: {load()}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5, help="repetitions behind each median")
    p.add_argument("--trial-seconds", type=float, default=10.0, help="the length of a trial in parts 1 and 2")
    p.add_argument("--script-epochs", type=int, default=20, help="epochs the example script prints (part 1)")
    p.add_argument("--task", default="kin8nm-mlp", help="the task trained in part 2")
    p.add_argument("--datasets", default=None)
    p.add_argument("--replay-table", default="fcnet-protein")
    p.add_argument("--replay-trials", type=int, default=20_000)
    p.add_argument("--parts", nargs="+", type=int, default=[1, 2, 3], choices=[1, 2, 3])
    p.add_argument("--out", type=Path, default=REPO / "experiments" / "results" / "backend_overhead.txt")
    args = p.parse_args()
    out = Out()
    began = time.perf_counter()
    out(f"$ {shlex.join(['.venv/bin/python', 'experiments/backend_overhead.py', *sys.argv[1:]])}")
    out(f"{time.strftime('%Y-%m-%d %H:%M:%S')}; {platform.node()}; {os.cpu_count()} CPUs; Python "
        f"{platform.python_version()}; OMP/BLAS threads 1")
    out(f"load average before: {load()}")
    busy = os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1)
    out(("NOTE: other work is running (load above half the CPUs), so timings are noisy; " if busy else "")
        + f"each figure is a median over {args.reps} repetitions with its min and max, overheads medians of "
        "paired differences")
    if 1 in args.parts:
        script_overhead(out, args.reps, args.trial_seconds, args.script_epochs)
    if 3 in args.parts:  # before part 2 imports torch: a table run of hpo-runner has no torch (and its OpenMP)
        replay_speed(out, args.reps, args.replay_table, args.replay_trials)
    if 2 in args.parts:
        remote_overhead(out, args.reps, args.trial_seconds, args.task, args.datasets)
    out(f"\nload average after: {load()}; {time.perf_counter() - began:.0f} s in all")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out.lines) + "\n")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    main()
