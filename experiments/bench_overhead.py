"""Proposal overhead of each arm beside Optuna's samplers, with the same arm's regret beside it (issue 2).

One thread. For each table and each number of observations (50, 200, 800), times 50 consecutive proposals
(each proposal's row is then observed, so models refit at every step), prints the median and the 95th
percentile, and beside it the arm's median normalised regret over 10 seeded runs at the table's default
budget. Then times a random-arm replay of the table with its journal (trials per second).

    .venv/bin/python experiments/bench_overhead.py                      # digits-lenet and fcnet-protein
    .venv/bin/python experiments/bench_overhead.py --tables fcnet-protein --obs 50 200 --regret-seeds 3
    .venv/bin/python experiments/bench_overhead.py --regrets-only       # regrets only, cached for the timing run
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
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
from hpo_mab.history import History, Trial  # noqa: E402
from hpo_mab.journal import read_journal  # noqa: E402
from hpo_mab.runner import Settings, run_experiment  # noqa: E402
from hpo_mab.surrogates import get_table, table_names  # noqa: E402

ARMS = [("GP", "EI"), ("RF", "EI"), ("TPE", None), ("RANDOM", None)]
PEERS = ["optuna-tpe", "optuna-gp"]
TARGETS = {"GP": {200: 0.1, 800: 1.0}, "RF": {800: 0.1}, "TPE": {800: 0.1}}


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


def fmt(times: list[float]) -> str:
    return f"{np.median(times):8.4f} {np.percentile(times, 95):8.4f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", default=None)
    p.add_argument("--obs", nargs="+", type=int, default=[50, 200, 800])
    p.add_argument("--proposals", type=int, default=50)
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
    print(f"one thread; {args.proposals} proposals per cell; regret = median normalised regret over "
          f"{args.regret_seeds} seeded runs at the table's default budget")
    for name in tables:
        table = get_table(name)
        print(f"\n== {name}: {table.n_rows} rows, default budget {table.default_budget_s:.0f} s")
        print(f"{'arm':<12}{'obs':>5} {'median_s':>8} {'p95_s':>8}  {'target':>7}  {'regret':>7}")
        regrets: dict[str, str] = {}
        for model, acq in ARMS:
            label = model if acq is None else f"{model}-{acq}"
            regret = cache.get(table, label, args.regret_seeds,
                               partial(our_regret, table, model, acq, args.regret_seeds))
            regrets[label] = f"{regret:7.3f}"
            if args.regrets_only:
                print(f"{label:<12}{'':>5} {'':>8} {'':>8}  {'':>7}  {regrets[label]}", flush=True)
                continue
            for n_obs in args.obs:
                if n_obs + args.proposals > table.n_rows:
                    continue
                times = time_our_arm(table, model, acq, n_obs, args.proposals, seed=n_obs)
                target = TARGETS.get(model, {}).get(n_obs)
                mark = "" if target is None else f"{target:7.2f}"
                print(f"{label:<12}{n_obs:>5} {fmt(times)}  {mark:>7}  {regrets[label]}", flush=True)
        if args.no_peers:
            continue
        for peer in PEERS:
            regret, repeats = cache.get(table, peer, args.regret_seeds,
                                        partial(peer_regret, table, peer, args.regret_seeds))
            if args.regrets_only:
                print(f"{peer:<12}{'':>5} {'':>8} {'':>8}  {'':>7}  {regret:7.3f}  ({repeats} repeats)", flush=True)
                continue
            for n_obs in args.obs:
                if n_obs + args.proposals > table.n_rows:
                    continue
                n = args.slow_peer_proposals if peer == "optuna-gp" and n_obs >= 800 else args.proposals
                times = time_peer(table, peer, n_obs, n, seed=n_obs)
                print(f"{peer:<12}{n_obs:>5} {fmt(times)}  {'':>7}  {regret:7.3f}  ({n} proposals; "
                      f"{repeats} repeats over the regret runs)", flush=True)
        if not args.regrets_only:
            print(f"random-arm replay with journal: {replay_speed(table, 20000):,.0f} trials/s")


if __name__ == "__main__":
    main()
