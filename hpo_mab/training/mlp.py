"""The DEEP-BO study's regression MLP (Cho et al., "Basic Enhancement Strategies When Using Bayesian
Optimization for Hyperparameter Tuning of Deep Neural Networks", IEEE Access 2020), trained with torch.

Search space (hp_conf/regression-mlp.json): input scaler, shuffle, weight init, batch size, loss (MAE or MSE),
optimizer, layers (1-5), units per layer (one value for all), activation, regularizer (none, dropout after
each hidden activation, batchnorm before it), dropout rate (used with dropout only), learning rate.

Conventions:
- The scaler is fitted on the training inputs. The target is standardised with the training mean and
  standard deviation for training (a fixed choice, not a hyperparameter); RMSE is in the target's own units.
- Metric after each epoch: validation RMSE (minimised); test RMSE beside it. A model whose predictions are
  not all finite (diverged) scores the RMSE of predicting the training mean on that split, so curves stay
  finite (as the digits LeNet scores chance level).
- `seconds` is cumulative training wall-clock seconds at each epoch's end (evaluation excluded);
  `cpu_seconds` the same span in process CPU time.
- `seed` drives weight init and dropout (torch's global RNG inside `fork_rng`) and batch order (its own
  generator). Keras-like defaults: uniform init U(-0.05, 0.05), normal init N(0, 0.05), zero biases,
  RMSprop rho 0.9, Adadelta rho 0.95.
- `should_stop()` is asked after every batch (a wall-clock budget ends a trial mid-epoch); `report(epoch,
  value, seconds)` after every epoch may answer "stop" or "pause" (the result then holds a `checkpoint`
  that `train_mlp(..., checkpoint=...)` continues from).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from hpo_mab.training.checkpoint import restore_state, save_state
from hpo_mab.training.datasets import RegressionData

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def make_scaler(name: str):
    from sklearn import preprocessing

    scalers = {"standard": preprocessing.StandardScaler, "robust": preprocessing.RobustScaler,
               "minmax": preprocessing.MinMaxScaler, "maxabs": preprocessing.MaxAbsScaler}
    return scalers[name]()


def build_mlp(config: dict[str, Any], n_inputs: int) -> nn.Sequential:
    """`layers` hidden layers of `units` each, then one linear output."""
    layers: list[nn.Module] = []
    width = n_inputs
    for _ in range(int(config["layers"])):
        layers.append(nn.Linear(width, int(config["units"])))
        if config["regularizer"] == "batchnorm":
            layers.append(nn.BatchNorm1d(int(config["units"])))
        layers.append(ACTIVATIONS[config["activation"]]())
        if config["regularizer"] == "dropout":
            layers.append(nn.Dropout(float(config["dropout_rate"])))
        width = int(config["units"])
    layers.append(nn.Linear(width, 1))
    model = nn.Sequential(*layers)
    init_weights(model, config["weight_init"])
    return model


def init_weights(model: nn.Module, scheme: str) -> None:
    inits = {"uniform": lambda w: nn.init.uniform_(w, -0.05, 0.05), "normal": lambda w: nn.init.normal_(w, 0, 0.05),
             "glorot_uniform": nn.init.xavier_uniform_, "glorot_normal": nn.init.xavier_normal_,
             "he_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
             "he_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")}
    for m in model.modules():
        if isinstance(m, nn.Linear):
            inits[scheme](m.weight)
            nn.init.zeros_(m.bias)


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, rho=0.95, eps=1e-7)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adamax":
        return torch.optim.Adamax(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def _rmse(model: nn.Module, x: torch.Tensor, y: np.ndarray, mean: float, std: float) -> float:
    """RMSE in the target's units; a non-finite prediction scores the training-mean predictor's RMSE."""
    model.eval()
    with torch.no_grad():
        pred = model(x).squeeze(1).cpu().numpy().astype(np.float64) * std + mean
    model.train()
    if not np.all(np.isfinite(pred)):
        pred = np.full_like(pred, mean)
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def train_mlp(config: dict[str, Any], data: RegressionData, epochs: int = 27, seed: int = 0,
              report: Callable[[int, float, float], str | None] | None = None, device: str | None = None,
              should_stop: Callable[[], bool] | None = None, checkpoint: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """Train one configuration; per-epoch `val_rmse`, `test_rmse`, `seconds`, `cpu_seconds` (from epoch 1,
    or from the checkpoint's epoch), plus `interrupted` (should_stop cut an epoch short) and `checkpoint`."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    cuda = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        return _train(config, data, epochs, seed, report, device, should_stop, checkpoint)


def _tensors(config: dict[str, Any], data: RegressionData, device: str):
    scaler = make_scaler(config["scaler"]).fit(data.x_train)
    mean, std = float(np.mean(data.y_train)), float(np.std(data.y_train)) or 1.0
    xs = [torch.from_numpy(scaler.transform(x).astype(np.float32)).to(device)
          for x in (data.x_train, data.x_val, data.x_test)]
    y_train = torch.from_numpy(((data.y_train - mean) / std).astype(np.float32)).to(device)
    return xs, y_train, mean, std


def _train(config: dict[str, Any], data: RegressionData, epochs: int, seed: int, report, device: str,
           should_stop, checkpoint: dict[str, Any] | None) -> dict[str, Any]:
    (x_train, x_val, x_test), y_train, mean, std = _tensors(config, data, device)
    model = build_mlp(config, x_train.shape[1]).to(device).train()
    opt = make_optimizer(config["optimizer"], model.parameters(), float(config["learning_rate"]))
    gen = torch.Generator().manual_seed(seed)
    start_epoch, elapsed, cpu = 0, 0.0, 0.0
    if checkpoint is not None:
        start_epoch, elapsed, cpu = restore_state(checkpoint, model, opt, gen)
    loss_fn = nn.L1Loss() if config["loss"] == "mae" else nn.MSELoss()
    batch, n = int(config["batch_size"]), x_train.shape[0]
    out: dict[str, Any] = {"val_rmse": [], "test_rmse": [], "seconds": [], "cpu_seconds": [], "interrupted": False,
                           "checkpoint": None}
    for epoch in range(start_epoch + 1, epochs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        order = torch.randperm(n, generator=gen) if config["shuffle"] else torch.arange(n)
        order = order.to(device)
        for i in range(0, n, batch):
            idx = order[i : i + batch]
            if len(idx) < 2:  # batchnorm cannot train on one row
                continue
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x_train[idx]).squeeze(1), y_train[idx]).backward()
            opt.step()
            if should_stop is not None and should_stop():
                out["interrupted"] = True
                return out
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        val = _rmse(model, x_val, data.y_val, mean, std)
        out["val_rmse"].append(val)
        out["test_rmse"].append(_rmse(model, x_test, data.y_test, mean, std))
        out["seconds"].append(elapsed)
        out["cpu_seconds"].append(cpu)
        answer = report(epoch, val, elapsed) if report is not None else None
        if answer == "pause" and epoch < epochs:
            out["checkpoint"] = save_state(model, opt, gen, epoch, elapsed, cpu)
            return out
        if answer == "stop":
            return out
    return out
