"""Wall-clock seconds of the acceptance commands, as a user runs them (the README's acceptance timings).

Runs each command as a subprocess of the installed `.venv/bin/hpo-runner` from the repository root, with
its outputs in a temporary directory (`-o`), and prints its wall-clock seconds, exit code and the line with
the runs' best values. `make run` is the command the Makefile's `run` target runs once the venv exists.
The header names the commit, the CPU and the load average (`os.getloadavg()`) before the first command: on
a busy machine the timings are longer than on idle cores.

    .venv/bin/python experiments/acceptance.py            # print only
    .venv/bin/python experiments/acceptance.py --write    # also write experiments/results/acceptance.txt
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / ".venv" / "bin" / "hpo-runner"
RESULT = ROOT / "experiments" / "results" / "acceptance.txt"
COMMANDS = [  # (label as the README quotes it, arguments of hpo-runner)
    ("hpo-runner digits-lenet 10 -m GP -s EI -e TIME", ["digits-lenet", "10", "-m", "GP", "-s", "EI", "-e", "TIME"]),
    ("hpo-runner fcnet-protein 10 -m TPE -e TIME", ["fcnet-protein", "10", "-m", "TPE", "-e", "TIME"]),
    ("make run (hpo-runner digits-lenet 10 -c default.yaml --overwrite)",
     ["digits-lenet", "10", "-c", "default.yaml", "--overwrite"]),
]


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (else the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def header() -> list[str]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "hpo_mab"], cwd=ROOT, capture_output=True, text=True)
    changed = len(dirty.stdout.splitlines())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return [f"acceptance commands, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit "
            f"{commit.stdout.strip() or 'unknown'}"
            + (f" with {changed} uncommitted paths under hpo_mab/" if changed else ""),
            f"{cpu_name()}, {os.cpu_count()} CPUs, OMP_NUM_THREADS {threads}; load average (1, 5, 15 min) "
            f"before the first command: {load}" + ("  (busy: timings are longer than on idle cores)"
                                                   if os.getloadavg()[0] > 0.5 else "")]


def best_line(stdout: str) -> str:
    """The report's line with the runs' best values ('best val_acc over 10 runs: ...'), if any."""
    return next((line for line in stdout.splitlines() if line.startswith("best ") and " over " in line), "")


def run(label: str, args: list[str], outdir: Path) -> tuple[float, int, str]:
    """Wall-clock seconds, exit code and the best-value line of one command."""
    start = time.perf_counter()
    res = subprocess.run([str(RUNNER), *args, "-o", str(outdir)], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    detail = best_line(res.stdout) if res.returncode == 0 else (res.stderr.strip().splitlines() or [""])[-1]
    return seconds, res.returncode, detail


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--write", action="store_true", help=f"also write {RESULT.relative_to(ROOT)}")
    args = p.parse_args()
    if not RUNNER.is_file():
        p.error(f"{RUNNER} not found: run `make install` first")
    lines = header()
    print("\n".join(lines), flush=True)
    worst = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, cmd) in enumerate(COMMANDS):
            seconds, code, detail = run(label, cmd, Path(tmp) / f"c{i}")
            worst = max(worst, code)
            out = [f"{seconds:7.1f} s  exit {code}  {label}", f"           {detail}",
                   f"           load average after: {os.getloadavg()[0]:.2f}"]
            print("\n".join(out), flush=True)
            lines += out
    if args.write:
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text("\n".join(lines) + "\n")
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
