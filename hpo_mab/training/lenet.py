"""A LeNet-1 style CNN on scikit-learn's bundled 8x8 digits, trained for real with torch.

The hyperparameters follow the original tool's MNIST-LeNet1 space (hp_conf/digits-lenet.json):
conv(c1_depth, window_size) -> maxpool(p1_size) -> conv(c2_depth, window_size) -> maxpool(p2_size) ->
fc(f1_width) -> dropout(1 - keep_prop_rate) -> fc(10); Adam with learning_rate, reg_param as the L2
factor (Adam's coupled weight decay), batches of 64. Pools use TF "SAME"-like ceil mode, so 8 -> 4|3 -> 2|1.

Ranges (hp_conf/digits-lenet.json) were shrunk from MNIST's so that one configuration costs about one
second: over 44 Sobol configurations, 15 epochs, torch.set_num_threads(1) on one core of the build
machine (AMD EPYC, 2 vCPUs, torch 2.13 CPU), the mean was 1.2 s wall per configuration (about 1.15 s
after the first call's warm-up; 1.0 s of it training, the rest evaluation), range 0.8-1.8 s. Final
validation accuracy spread: about a quarter at chance (0.1), median ~0.78, best ~0.97.

Conventions:
- `seconds` is cumulative *training* wall-clock seconds at the end of each epoch; evaluation is excluded.
  `cpu_seconds` is the same span in process CPU time: with one thread it matches `seconds` on an idle
  machine and stays honest on a busy one (the wall/CPU ratio flags contended measurements).
- Divergence: an evaluation whose logits are not all finite (NaN loss) scores chance level, 1/10.
- The data split is fixed (stratified 60/20/20, split seed 0) so every configuration sees the same data;
  `seed` drives weight init and dropout (torch's global RNG, seeded inside `fork_rng`, so the caller's
  state is restored) and batch order (its own `torch.Generator`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from hpo_mab.training.checkpoint import restore_state, save_state

N_CLASSES = 10
BATCH_SIZE = 64
CHANCE = 1.0 / N_CLASSES


@dataclass(frozen=True)
class DigitsData:
    """Train/validation/test tensors, images (n, 1, 8, 8) scaled to [0, 1], labels int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device: str) -> DigitsData:
        return DigitsData(*(t.to(device) for t in self.__dict__.values()))


@lru_cache(maxsize=2)
def load_digits_split(split_seed: int = 0) -> DigitsData:
    """The fixed, stratified 60/20/20 split of `sklearn.datasets.load_digits` (no download)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=split_seed)
    x_va, x_te, y_va, y_te = train_test_split(x_rest, y_rest, test_size=0.5, stratify=y_rest,
                                              random_state=split_seed)
    return DigitsData(*(torch.from_numpy(a) for a in (x_tr, y_tr, x_va, y_va, x_te, y_te)))


class LeNet(nn.Module):
    """Two conv+pool stages, one hidden fully connected layer with dropout, ten outputs."""

    def __init__(self, c1_depth: int, p1_size: int, c2_depth: int, p2_size: int, window_size: int,
                 f1_width: int, keep_prop_rate: float, side: int = 8) -> None:
        super().__init__()
        lo, hi = (window_size - 1) // 2, window_size // 2  # "same" padding, also for even windows
        pad = (lo, hi, lo, hi)
        self.features = nn.Sequential(
            nn.ZeroPad2d(pad), nn.Conv2d(1, c1_depth, window_size), nn.ReLU(),
            nn.MaxPool2d(p1_size, ceil_mode=True),
            nn.ZeroPad2d(pad), nn.Conv2d(c1_depth, c2_depth, window_size), nn.ReLU(),
            nn.MaxPool2d(p2_size, ceil_mode=True),
        )
        out = math.ceil(math.ceil(side / p1_size) / p2_size)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c2_depth * out * out, f1_width), nn.ReLU(),
            nn.Dropout(1.0 - keep_prop_rate), nn.Linear(f1_width, N_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train()
    if not bool(torch.isfinite(logits).all()):
        return CHANCE
    return float((logits.argmax(dim=1) == y).float().mean())


def _pick_device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


def train_lenet(config: dict[str, Any], epochs: int = 15, seed: int = 0,
                report: Callable[[int, float], object] | None = None, device: str | None = None,
                data: DigitsData | None = None, on_epoch: Callable[[int, float, float], object] | None = None,
                should_stop: Callable[[], bool] | None = None, checkpoint: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """Train one configuration; return per-epoch `val_acc`, `test_acc`, cumulative `seconds` and `cpu_seconds`
    (from epoch 1, or from the checkpoint's epoch) and `checkpoint`.

    `report(epoch, val_acc)` (epochs count from 1) is called after every epoch, or `on_epoch(epoch, val_acc,
    seconds)`; returning "stop" ends training there, so the lists are shorter than `epochs`; "pause" ends it
    too and the result's `checkpoint` (model, optimizer and random states) continues it later, exactly as
    if it had not paused. `should_stop()`, asked after every batch, ends an epoch early.
    """
    if on_epoch is not None:
        report = _with_seconds(on_epoch)
    device = _pick_device(device)
    data = (data or load_digits_split()).to(device)
    cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=cuda):  # the caller's global RNG state is left as it was
        torch.manual_seed(seed)  # weight init and dropout; batch order has its own generator below
        return _train(config, epochs, seed, report, device, data, should_stop, checkpoint)


class _with_seconds:  # noqa: N801 - a callable adapter
    """Adapts on_epoch(epoch, value, seconds) to the report(epoch, value) that `_train` calls."""

    def __init__(self, on_epoch: Callable[[int, float, float], object]) -> None:
        self.on_epoch, self.seconds = on_epoch, 0.0

    def __call__(self, epoch: int, value: float) -> object:
        return self.on_epoch(epoch, value, self.seconds)


def _train(config: dict[str, Any], epochs: int, seed: int, report: Callable[[int, float], object] | None,
           device: str, data: DigitsData, should_stop: Callable[[], bool] | None = None,
           checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(seed)
    model = LeNet(int(config["c1_depth"]), int(config["p1_size"]), int(config["c2_depth"]),
                  int(config["p2_size"]), int(config["window_size"]), int(config["f1_width"]),
                  float(config["keep_prop_rate"]), side=data.x_train.shape[-1])
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=float(config["learning_rate"]),
                           weight_decay=float(config["reg_param"]))
    loss_fn = nn.CrossEntropyLoss()
    n = data.x_train.shape[0]
    out: dict[str, Any] = {"val_acc": [], "test_acc": [], "seconds": [], "cpu_seconds": [], "checkpoint": None}
    start_epoch, elapsed, cpu = 0, 0.0, 0.0
    if checkpoint is not None:
        start_epoch, elapsed, cpu = restore_state(checkpoint, model, opt, gen)
    for epoch in range(start_epoch + 1, epochs + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        order = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, BATCH_SIZE):
            idx = order[i : i + BATCH_SIZE]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
            if should_stop is not None and should_stop():
                return out
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        val = _accuracy(model, data.x_val, data.y_val)
        out["val_acc"].append(val)
        out["test_acc"].append(_accuracy(model, data.x_test, data.y_test))
        out["seconds"].append(elapsed)
        out["cpu_seconds"].append(cpu)
        if isinstance(report, _with_seconds):
            report.seconds = elapsed
        answer = report(epoch, val) if report is not None else None
        if answer == "pause" and epoch < epochs:
            out["checkpoint"] = save_state(model, opt, gen, epoch, elapsed, cpu)
            return out
        if answer in ("stop", "pause"):
            break
    return out
