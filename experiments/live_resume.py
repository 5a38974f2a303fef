"""Issue 10's first acceptance line, as a user runs it: a live GP-EI run of a few minutes on kin8nm-mlp (CPU)
improves over its first trials and writes what a table run writes; killed (SIGKILL) and resumed, it ends with
every trial exactly once.

Runs `.venv/bin/hpo-runner TASK 1 -m GP -s EI -e TIME -et BUDGET --train --device cpu -o DIR`, kills it after
--kill-after seconds, runs the same command with --resume, then checks the journal and prints:
the trials kept at the kill, the trial trained again (`info.rerun`), the trial numbers (0..n-1, each once),
the incumbent after the initial design against the end, and the output files. Exit 0 when every check holds.

    .venv/bin/python experiments/live_resume.py --out experiments/results/live_resume.txt
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / ".venv" / "bin" / "hpo-runner"
OUTPUTS = ("experiment.json", "journal.jsonl", "runs.jsonl", "summary.json", "trials.csv", "convergence.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="kin8nm-mlp")
    p.add_argument("--budget", default="3m", help="-et of the run (default 3m)")
    p.add_argument("--kill-after", type=float, default=80.0, help="wall seconds before SIGKILL (default 80)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="also write the lines to this file")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="live_resume-"))
    command = [str(RUNNER), args.task, "1", "-m", "GP", "-s", "EI", "-e", "TIME", "-et", args.budget, "--train",
               "--device", "cpu", "--seed", str(args.seed), "--no-progress", "-o", str(work / "run")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    lines = [f"live kill and resume: {' '.join(['hpo-runner', *command[1:-2]])} -o DIR",
             f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=args.kill_after)
        lines.append(f"the run ended by itself before the kill (rc {proc.returncode}): raise --budget")
        ok = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        journal = work / "run" / "journal.jsonl"
        kept = [json.loads(x) for x in journal.read_text().splitlines() if x.endswith("}")]
        lines.append(f"killed (SIGKILL) at {time.monotonic() - start:.0f} s wall: {len(kept)} trials journaled")
        resumed = subprocess.run([*command, "--resume"], cwd=ROOT, env=env, capture_output=True, text=True)
        lines.append(f"resumed with --resume: rc {resumed.returncode}, {time.monotonic() - start:.0f} s wall in all")
        ok = resumed.returncode == 0 and check(work / "run", kept, lines)
        lines.extend("  " + x for x in resumed.stdout.strip().splitlines()[-4:-1])
    lines.append("ALL CHECKS PASS" if ok else "A CHECK FAILED")
    print("\n".join(lines))
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")
    return 0 if ok else 1


def check(outdir: Path, kept: list[dict], lines: list[str]) -> bool:
    """The journal after the resume: each trial once, the kept ones unchanged, one rerun, improvement."""
    records = [json.loads(x) for x in (outdir / "journal.jsonl").read_text().splitlines()]
    numbers = [r["number"] for r in records]
    once = numbers == list(range(len(records)))
    unchanged = records[: len(kept)] == kept
    reruns = [r["number"] for r in records if r["info"].get("rerun")]
    lines.append(f"trials: {len(records)}, numbers 0..{len(records) - 1} each once: {once}; the {len(kept)} "
                 f"journaled before the kill unchanged: {unchanged}; trained again (info.rerun): {reruns}")
    done = [r for r in records if r["value"] is not None and r["state"] in ("init", "complete")]
    init = [r["value"] for r in done if r["arm"] == "INIT"]
    best_init, best_end = min(init), min(r["value"] for r in done)
    improved = best_end < best_init
    lines.append(f"best val_rmse after the initial design ({len(init)} trials): {best_init:.4f}; at the end: "
                 f"{best_end:.4f} (GP-EI trials: {sum(r['arm'] == 'GP-EI' for r in records)}); improved: {improved}")
    rows = [r["row"] for r in records]
    lines.append(f"candidates: {'the table rows' if None not in rows else 'continuous'}, "
                 f"distinct rows {len(set(rows)) if None not in rows else '-'}; devices "
                 f"{sorted({r['info'].get('device') for r in records})}; last trial {records[-1]['state']} "
                 f"({records[-1]['reason']})")
    present = [name for name in OUTPUTS if (outdir / name).is_file()]
    lines.append(f"outputs: {', '.join(present)}")
    return once and unchanged and len(reruns) == 1 and improved and len(present) == len(OUTPUTS)


if __name__ == "__main__":
    sys.exit(main())
