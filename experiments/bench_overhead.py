"""Proposal overhead of each arm beside Optuna's samplers, with the same arm's regret beside it (issue 2).

One thread. For each table and each number of observations n (50, 200, 800), times consecutive proposals
(each proposal's row is then observed, so models update at every step) and prints the median and the 95th
percentile over the first 50, the mean over a window that amortises the GP's periodic hyperparameter refits,
and beside them the arm's median normalised regret over 10 seeded runs at the table's default budget. Then
times a random-arm replay of the table with its journal (trials per second).

Means, like for like: our GP refits its hyperparameters every max(1, int(0.05 n)) observations and restarts
them every 10 refits (`GaussianProcess` defaults, read from the code), so 50 proposals at n = 800 see about
one refit and the median none, while Optuna's samplers refit at every ask. The default window (`--window
cycle`) is one full restart cycle, timed from a fresh GP at n: from its first refit (a restart) to just
before its 11th (the next restart), i.e. one restart and nine warm refits: 26, 128 and 532 proposals at
n = 50, 200 and 800. Every arm and optuna-tpe is timed over the same window; optuna-gp over the same window
except at n >= 800 (`--slow-peer-proposals`, seconds each). The window's observations grow from n to n +
window (532 at n = 800: a mean over 800 to 1,332 observations), so there our GP's mean is that of a larger
history than optuna-gp's (a bias against ours).

    .venv/bin/python experiments/bench_overhead.py                      # digits-lenet and fcnet-protein
    .venv/bin/python experiments/bench_overhead.py --tables fcnet-protein --obs 50 200 --regret-seeds 3
    .venv/bin/python experiments/bench_overhead.py --regrets-only       # regrets only, cached for the timing run
    .venv/bin/python experiments/bench_overhead.py --tables digits-lenet --obs 800 --only GP-EI optuna-gp --no-regrets
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import run_optuna_on_table  # noqa: E402

from hpo_mab.analysis.metrics import normalised_regret  # noqa: E402
from hpo_mab.arms import TableCandidates, make_arm  # noqa: E402
from hpo_mab.arms.gp import GaussianProcess  # noqa: E402
from hpo_mab.history import History, Trial  # noqa: E402
from hpo_mab.journal import read_journal  # noqa: E402
from hpo_mab.runner import Settings, run_experiment  # noqa: E402
from hpo_mab.surrogates import get_table, table_names  # noqa: E402

ARMS = [("GP", "EI"), ("RF", "EI"), ("TPE", None), ("RANDOM", None)]
PEERS = ["optuna-tpe", "optuna-gp"]
TARGETS = {"GP": {200: 0.1, 800: 1.0}, "RF": {800: 0.1}, "TPE": {800: 0.1}}


def restart_cycle(n_obs: int) -> int:
    """Proposals from a fresh GP fit at `n_obs` observations (refit 0, a restart) to just before its
    (restart_every + 1)-th refit (the next restart): one restart and restart_every - 1 warm refits."""
    defaults = inspect.signature(GaussianProcess.__init__).parameters
    frac, every = defaults["refit_every_frac"].default, defaults["restart_every"].default
    n, last, refits = n_obs, n_obs, 1
    while refits <= every:
        n += 1
        if n - last >= max(1, int(frac * n)):
            refits, last = refits + 1, n
    return n - n_obs


def observed_history(table, n_obs: int, rng: np.random.Generator) -> History:
    history = History(table.space.n_dims)
    for i, row in enumerate(rng.choice(table.n_rows, size=n_obs, replace=False)):
        value = float(table.values[row, 0, -1])
        history.append(Trial(0, i, "BENCH", table.config(int(row)), "complete", row=int(row), value=value,
                             loss=float(table.metric.to_loss(value))), table.encoded[row])
    return history


def time_our_arm(table, model, acq, n_obs: int, n_props: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    history = observed_history(table, n_obs, rng)
    candidates = TableCandidates(table.space, table.encoded, table.config)
    arm = make_arm(model, acq)
    times = []
    for k in range(n_props):
        start = time.perf_counter()
        nominee = arm.propose(table.space, history, candidates, rng)
        times.append(time.perf_counter() - start)
        value = float(table.values[nominee.row, 0, -1])
        history.append(Trial(0, n_obs + k, arm.name, nominee.config, "complete", row=nominee.row, value=value,
                             loss=float(table.metric.to_loss(value))), nominee.x)
    return times


def time_peer(table, name: str, n_obs: int, n_props: int, seed: int) -> list[float]:
    from hpo_mab.peers import make_peer  # issue 8: ordered lists as ordered, the evaluated row taught

    rng = np.random.default_rng(seed)
    history = observed_history(table, n_obs, rng)
    peer = make_peer(name, table.space, seed)
    for t in history.trials:
        peer.tell(t.config, t.loss)  # observations without asks (a warm start)
    candidates = TableCandidates(table.space, table.encoded, table.config)
    times = []
    for _ in range(n_props):
        start = time.perf_counter()
        config = peer.ask()
        times.append(time.perf_counter() - start)
        nominee = candidates.nearest(table.space.encode(config), history)
        value = float(table.values[nominee.row, 0, -1])
        history.append(Trial(0, len(history), name, nominee.config, "complete", row=nominee.row, value=value,
                             loss=float(table.metric.to_loss(value))), nominee.x)
        peer.tell(nominee.config, history.trials[-1].loss)
    return times


def run_regrets(table, model, acq, runs: int) -> list[float]:
    """Normalised regret of each of `runs` seeded runs of one arm at the table's default budget."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(config_name=table.name, num_runs=runs, mode=model, spec=acq)
        summaries = run_experiment(settings, table, Path(tmp) / "r")
        records = read_journal(Path(tmp) / "r" / "journal.jsonl")
    rows = {s.run: next((r["row"] for r in records if r["run"] == s.run and r["number"] == s.best_trial), None)
            for s in summaries}
    return [normalised_regret(table, rows[s.run]) for s in summaries]


def our_regret(table, model, acq, seeds: int) -> float:
    return float(np.median(run_regrets(table, model, acq, seeds)))


def peer_regret(table, name: str, seeds: int) -> tuple[float, int]:
    regrets, repeats = [], 0
    for seed in range(seeds):
        run = run_optuna_on_table(table, name, seed, table.default_budget_s)
        done = [r for r in run.records if r["state"] == "complete"]
        best = min(done, key=lambda r: r["loss"]) if done else None
        regrets.append(normalised_regret(table, None if best is None else best["row"]))
        repeats += run.repeats
    return float(np.median(regrets)), repeats


def replay_speed(table, trials: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        table.config(0)
        settings = Settings(config_name=table.name, num_runs=1, mode="RANDOM", spec=None, budget=1e15,
                            max_trials=min(trials, table.n_rows))
        start = time.perf_counter()
        run_experiment(settings, table, Path(tmp) / "r")
        return min(trials, table.n_rows) / (time.perf_counter() - start)


class RegretCache:
    """Regrets are deterministic for a given code version, so `--regrets-only` can compute them while the
    machine is busy and the timing run (which needs idle cores) reuses them. Keyed by the git tree of
    hpo_mab/ (no caching when hpo_mab/ has uncommitted changes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {}
        self.version = code_version()

    def get(self, table, label: str, seeds: int, compute):
        key = f"{table.name}|{table.n_rows}|{table.default_budget_s:.3f}|{label}|{seeds}|{self.version}"
        if self.version is None:
            return compute()
        if key not in self.data:
            self.data[key] = compute()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.data, indent=1) + "\n")
        return self.data[key]


def code_version() -> str | None:
    root = Path(__file__).resolve().parent.parent
    try:
        tree = subprocess.run(["git", "rev-parse", "HEAD:hpo_mab"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "hpo_mab"], cwd=root, capture_output=True, text=True)
    except OSError:
        return None
    if tree.returncode != 0 or dirty.stdout.strip():
        return None
    return tree.stdout.strip()


def fmt(times: list[float], n_quantiles: int, window: int) -> str:
    """Median and p95 over the first `n_quantiles` proposals, the mean over the first `window`."""
    head = times[:n_quantiles]
    return (f"{np.median(head):8.4f} {np.percentile(head, 95):8.4f} {np.mean(times[:window]):8.4f} "
            f"{min(window, len(times)):>6}")


def window_of(arg: str, n_obs: int) -> int:
    """The mean's window at `n_obs` observations: `cycle` (one GP restart cycle) or a number of proposals."""
    return restart_cycle(n_obs) if arg == "cycle" else int(arg)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=None)
    p.add_argument("--obs", nargs="+", type=int, default=[50, 200, 800])
    p.add_argument("--proposals", type=int, default=50, help="proposals behind the median and p95")
    p.add_argument("--window", default="cycle",
                   help="proposals behind the mean: 'cycle' (one GP restart cycle at each n; see above) or a number")
    p.add_argument("--no-regrets", action="store_true", help="skip the regret column (a quick timing check)")
    p.add_argument("--only", nargs="+", default=None, metavar="LABEL",
                   help="time only these arms and peers (e.g. GP-EI optuna-gp)")
    p.add_argument("--slow-peer-proposals", type=int, default=10,
                   help="proposals timed for optuna-gp at 800 observations (seconds each)")
    p.add_argument("--regret-seeds", type=int, default=10)
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--regrets-only", action="store_true",
                   help="compute and cache the regret columns only (they need CPU, not idle cores)")
    p.add_argument("--regret-cache", type=Path, default=Path(__file__).resolve().parent / "results" /
                   "bench_overhead-regrets.json")
    args = p.parse_args()
    cache = RegretCache(args.regret_cache)
    tables = args.tables or [n for n in ("digits-lenet", "fcnet-protein") if n in table_names()]
    if args.window != "cycle" and not args.window.isdigit():
        p.error(f"--window must be 'cycle' or a number of proposals, but got {args.window!r}")
    print(f"one thread; median and p95 over the first {args.proposals} proposals of each cell, mean over the "
          f"window ({'one GP restart cycle' if args.window == 'cycle' else 'fixed'}; refits amortised, as "
          f"Optuna's refit at every ask); regret = median normalised regret over {args.regret_seeds} seeded runs "
          "at the table's default budget")
    for name in tables:
        table = get_table(name)
        print(f"\n== {name}: {table.n_rows} rows, default budget {table.default_budget_s:.0f} s")
        print(f"{'arm':<12}{'obs':>5} {'median_s':>8} {'p95_s':>8} {'mean_s':>8} {'window':>6}  {'target':>7}  "
              f"{'regret':>7}")
        regrets: dict[str, str] = {}
        for model, acq in ARMS:
            label = model if acq is None else f"{model}-{acq}"
            if args.only and label not in args.only:
                continue
            regret = float("nan") if args.no_regrets else cache.get(
                table, label, args.regret_seeds, partial(our_regret, table, model, acq, args.regret_seeds))
            regrets[label] = f"{regret:7.3f}"
            if args.regrets_only:
                print(f"{label:<12}{'':>5} {'':>8} {'':>8}  {'':>7}  {regrets[label]}", flush=True)
                continue
            for n_obs in args.obs:
                window = window_of(args.window, n_obs)
                n = max(args.proposals, window)
                if n_obs + n > table.n_rows:
                    continue
                times = time_our_arm(table, model, acq, n_obs, n, seed=n_obs)
                target = TARGETS.get(model, {}).get(n_obs)
                mark = "" if target is None else f"{target:7.2f}"
                print(f"{label:<12}{n_obs:>5} {fmt(times, args.proposals, window)}  {mark:>7}  {regrets[label]}",
                      flush=True)
        if args.no_peers:
            continue
        for peer in (name for name in PEERS if not args.only or name in args.only):
            regret, repeats = (float("nan"), 0) if args.no_regrets else cache.get(
                table, peer, args.regret_seeds, partial(peer_regret, table, peer, args.regret_seeds))
            if args.regrets_only:
                print(f"{peer:<12}{'':>5} {'':>8} {'':>8}  {'':>7}  {regret:7.3f}  ({repeats} repeats)", flush=True)
                continue
            for n_obs in args.obs:
                window = window_of(args.window, n_obs)
                n = max(args.proposals, window)
                if n_obs + n > table.n_rows:
                    continue
                if peer == "optuna-gp" and n_obs >= 800:
                    n = window = args.slow_peer_proposals
                times = time_peer(table, peer, n_obs, n, seed=n_obs)
                note = "" if args.no_regrets else f"; {repeats} repeats over the regret runs"
                print(f"{peer:<12}{n_obs:>5} {fmt(times, args.proposals, window)}  {'':>7}  {regret:7.3f}  "
                      f"({n} proposals{note})", flush=True)
        if not args.regrets_only and not args.only:
            print(f"random-arm replay with journal: {replay_speed(table, 20000):,.0f} trials/s")


if __name__ == "__main__":
    main()
