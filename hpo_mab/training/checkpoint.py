"""A paused training run's state in memory, shared by the trainers: what continuing it needs so that it ends
exactly as if it had not paused (model, optimizer, the batch-order generator, torch's RNG for dropout and
initialisation, and the epochs and seconds so far)."""

from __future__ import annotations

from typing import Any

import torch


def save_state(model: torch.nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator, epoch: int,
               seconds: float, cpu_seconds: float) -> dict[str, Any]:
    """The checkpoint after `epoch` (a copy: training on does not change it)."""
    return {"model": {k: v.clone() for k, v in model.state_dict().items()}, "optimizer": opt.state_dict(),
            "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "epoch": epoch, "seconds": seconds,
            "cpu_seconds": cpu_seconds}


def restore_state(checkpoint: dict[str, Any], model: torch.nn.Module, opt: torch.optim.Optimizer,
                  gen: torch.Generator) -> tuple[int, float, float]:
    """Load `checkpoint` into the model, optimizer and generators; (epochs done, seconds, CPU seconds)."""
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optimizer"])
    gen.set_state(checkpoint["generator"])
    torch.set_rng_state(checkpoint["torch_rng"])
    return checkpoint["epoch"], checkpoint["seconds"], checkpoint["cpu_seconds"]
