"""The live backend: trains a task's configuration for real (torch, CUDA when available) on the wall clock."""

from __future__ import annotations

import math
import time
from typing import Any

from hpo_mab.backends.base import Outcome, Report, WallClock
from hpo_mab.backends.problem import Problem, continuous_candidates
from hpo_mab.errors import HpoError


def pick_device(device: str | None) -> str:
    """`device`, checked, or cuda when available, else cpu."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    from hpo_mab.surrogates.builder import check_device

    check_device(device)
    return device


class TrainBackend:
    """Runs one trial of `task` at a time in this process, `threads` torch threads (1 as in table builds)."""

    def __init__(self, task: Any, data: Any, epochs: int, device: str, threads: int = 1) -> None:
        self.task, self.data, self.epochs, self.device, self.threads = task, data, epochs, device, threads
        self.clock = WallClock()

    def run_trial(self, nominee: Any, *, draw: float, deadline: float = math.inf, report: Report | None = None,
                  checkpoint: Any = None) -> Outcome:
        """Train the nominee's configuration with the seed `draw` picks; stop mid-epoch at the deadline."""
        import torch

        seed = int(draw * 2**31)
        info = {"device": self.device, "seed": seed}
        start = time.perf_counter()
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            curves = self.task.train(nominee.config, self.data, self.epochs, seed, self.device, report,
                                     lambda: self.clock.now >= deadline, checkpoint)
        except (RuntimeError, ValueError, FloatingPointError) as exc:  # a configuration torch cannot train
            return Outcome("failed", [], None, None, time.perf_counter() - start,
                           f"training failed: {type(exc).__name__}: {str(exc)[:300]}", info)
        finally:
            torch.set_num_threads(threads)
        seconds = time.perf_counter() - start
        curve = [float(v) for v in curves.values]
        info["train_seconds"] = curves.seconds[-1] if curves.seconds else 0.0
        last = curve[-1] if curve else None
        if curves.interrupted:
            return Outcome("stopped", curve, last, None, seconds, "time budget exhausted", info)
        if curves.checkpoint is not None:
            return Outcome("paused", curve, last, None, seconds, "paused", info, curves.checkpoint)
        test = float(curves.test[-1]) if curves.test else None
        if last is None or not math.isfinite(last):
            return Outcome("failed", curve, None, test, seconds, f"non-finite metric {last}", info)
        if len(curve) < self.epochs - (checkpoint["epoch"] if checkpoint else 0):
            return Outcome("stopped", curve, last, test, seconds, "stopped by the scheduler", info)
        return Outcome("complete", curve, last, test, seconds, None, info)


def task_problem(task: Any, epochs: int | None = None, device: str | None = None,
                 datasets: str | None = None, threads: int = 1) -> Problem:
    """A task trained for real: continuous candidates, the live backend, no true values."""
    epochs = task.epochs if epochs is None else epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise HpoError(f"--epochs must be a positive integer, but got {epochs!r}")
    device = pick_device(device)
    space = task.space()
    data = task.data(datasets)  # read now: a missing dataset is an error before OUTDIR is touched
    return Problem(name=task.name, space=space, metric=task.metric, default_budget_s=task.default_budget_s,
                   make_backend=lambda: TrainBackend(task, data, epochs, device, threads),
                   make_candidates=continuous_candidates(space), live=True,
                   meta={"device": device, "epochs": epochs, "dataset": task.dataset, "model": task.model})
