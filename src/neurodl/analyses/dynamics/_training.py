"""A small CPU training loop for the dynamics models (until the shared engine lands).

TODO(engine): when ``neurodl.estimators.torch_engine`` exists, replace :func:`train_module` with
it (same responsibilities: seeded mini-batches, Adam, gradient clipping, NaN guard, early stopping
on a validation split, per-epoch timing).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._logging import logger
from ...exceptions import ConfigError

__all__ = ["TrainHistory", "train_module"]


@dataclass
class TrainHistory:
    """Per-epoch losses and timings of a training run."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    best_epoch: int = -1
    n_nan_skipped: int = 0

    @property
    def time_per_epoch(self) -> float:
        return float(np.mean(self.epoch_time)) if self.epoch_time else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "time_per_epoch_s": self.time_per_epoch,
            "n_epochs": len(self.epoch_time),
            "best_epoch": self.best_epoch,
            "n_nan_skipped": self.n_nan_skipped,
        }


def train_module(
    model: Any,
    loss_fn: Callable[[Any, Sequence[Any], int], Any],
    arrays: Sequence[np.ndarray],
    *,
    epochs: int = 100,
    batch_size: int = 64,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    val_fraction: float = 0.1,
    patience: int | None = 20,
    max_grad_norm: float = 200.0,
    seed: int = 0,
    val_arrays: Sequence[np.ndarray] | None = None,
) -> TrainHistory:
    """Train ``model`` in place with Adam on mini-batches of ``arrays`` (split on axis 0).

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
        ``loss_fn(model, batch_tensors, epoch) -> scalar tensor``; called with the model in
        train mode for training batches and eval mode (no grad) for validation.
    arrays : sequence of ndarray
        Training arrays sharing their first axis.
    epochs, batch_size, lr, weight_decay : training settings
    val_fraction : float, default=0.1
        Fraction of samples held out (at random) for early stopping; 0 disables it.
    patience : int or None, default=20
        Stop after this many epochs without validation improvement; the best weights are restored.
    max_grad_norm : float, default=200.0
        Gradient clipping.
    seed : int, default=0
    val_arrays : sequence of ndarray, optional
        Explicit validation arrays (then ``val_fraction`` is ignored).

    Returns
    -------
    history : TrainHistory
        Batches whose loss is not finite are skipped (counted in ``n_nan_skipped``); if every
        batch of an epoch is skipped, training stops with the last good weights.
    """
    import torch

    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"Invalid value for 'epochs'. Allowed: an integer >= 1; got {epochs!r}.")
    if not 0 <= val_fraction < 1:
        raise ConfigError(
            f"Invalid value for 'val_fraction'. Allowed: [0, 1); got {val_fraction!r}."
        )
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    tensors = [torch.as_tensor(np.asarray(a), dtype=torch.float32) for a in arrays]
    if val_arrays is not None:
        val = [torch.as_tensor(np.asarray(a), dtype=torch.float32) for a in val_arrays]
        train_idx = np.arange(n)
    elif val_fraction > 0 and n >= 10:
        perm = rng.permutation(n)
        n_val = max(1, round(val_fraction * n))
        val = [t[perm[:n_val]] for t in tensors]
        train_idx = perm[n_val:]
    else:
        val, train_idx = None, np.arange(n)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=0.5, patience=max(3, (patience or 20) // 3)
    )
    hist = TrainHistory()
    best = float("inf")
    best_state = copy.deepcopy(model.state_dict())
    since_best = 0
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        order = rng.permutation(train_idx)
        losses = []
        for start in range(0, len(order), batch_size):
            idx = torch.as_tensor(order[start : start + batch_size])
            loss = loss_fn(model, [t[idx] for t in tensors], epoch)
            if not torch.isfinite(loss):
                hist.n_nan_skipped += 1
                opt.zero_grad()
                continue
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            opt.step()
            losses.append(float(loss.detach()))
        if not losses:
            logger.warning("train_module: every batch of epoch %d gave a non-finite loss.", epoch)
            model.load_state_dict(best_state)
            break
        hist.train_loss.append(float(np.mean(losses)))
        if val is not None:
            model.eval()
            with torch.no_grad():
                v = float(loss_fn(model, val, epoch))
            hist.val_loss.append(v)
            monitor = v
        else:
            monitor = hist.train_loss[-1]
        hist.epoch_time.append(time.perf_counter() - t0)
        sched.step(monitor if np.isfinite(monitor) else float("inf"))
        if np.isfinite(monitor) and (not np.isfinite(best) or monitor < best - 1e-6 * abs(best)):
            best, since_best, hist.best_epoch = monitor, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if patience is not None and since_best >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return hist
