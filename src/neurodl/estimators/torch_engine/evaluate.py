"""Applying a model: predictions (trialwise or averaged over crops) and validation losses."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .cropping import eval_crop_starts
from .losses import objective_losses
from .parallel import DistContext, shard_indices
from .precision import forward
from .settings import LossContext, Objective, TrainConfig

__all__ = ["objective_valid_loss", "predict_outputs", "valid_stats"]


def predict_outputs(
    model: Any,
    X: np.ndarray,
    *,
    task: Literal["classification", "regression"],
    device: str = "cpu",
    batch_size: int = 256,
    crop_len: int | None = None,
    crop_stride: int | None = None,
    mixed_precision: bool = False,
) -> np.ndarray:
    """Apply ``model`` in eval mode; class probabilities or outputs, averaged over crops.

    Parameters
    ----------
    model : torch.nn.Module
    X : ndarray of shape (n_samples, n_chans, n_times)
    task : {"classification", "regression"}
    crop_len, crop_stride : int or None
        Cropped prediction (:mod:`.cropping`); ``None``: the whole trial.

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs)
        Probabilities (rows sum to 1) for classification, raw outputs for regression (float64).

    Examples
    --------
    Class probabilities of 5 trials of 2 channels x 8 samples from a network that takes
    4-sample crops: averaged over the crops at offsets 0, 2 and 4:

    >>> import numpy as np, torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 3))
    >>> X = np.random.default_rng(0).normal(size=(5, 2, 8))
    >>> probs = predict_outputs(model, X, task="classification", crop_len=4, crop_stride=2)
    >>> probs.shape, probs.dtype, bool(np.allclose(probs.sum(axis=1), 1.0))
    ((5, 3), dtype('float64'), True)
    >>> model.training  # left in the mode it was in
    True
    """
    import torch

    cfg = TrainConfig(task=task, device=device, mixed_precision=mixed_precision)
    was_training = model.training
    model.eval()
    n_times = X.shape[-1]
    starts = [0] if crop_len is None else eval_crop_starts(n_times, crop_len, crop_stride or 1)
    length = n_times if crop_len is None else crop_len
    outs = []
    try:
        with torch.no_grad():
            for i in range(0, len(X), batch_size):
                xb = torch.tensor(np.asarray(X[i : i + batch_size]), dtype=torch.float32)
                xb = xb.to(device)
                acc = None
                for s in starts:
                    out = forward(model, xb[..., s : s + length], cfg).double()
                    if out.ndim == 1:
                        out = out[:, None]
                    if task == "classification":
                        out = torch.softmax(out, dim=1)
                    acc = out if acc is None else acc + out
                outs.append((acc / len(starts)).cpu().numpy())
    finally:
        model.train(was_training)
    if not outs:
        return np.zeros((0, 0))
    return np.concatenate(outs)


def valid_stats(
    model: Any, X: np.ndarray, y: np.ndarray, cfg: TrainConfig, dist: DistContext
) -> tuple[float, float]:
    """Validation loss and metric on this rank's shard, summed over ranks.

    Examples
    --------
    Cross-entropy and accuracy of a zero network on 4 trials: ``log 2`` and, all ties going to
    class 0, the share of class 0:

    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> for p in model.parameters():
    ...     _ = torch.nn.init.zeros_(p)  # an untrained, zero network: chance outputs
    >>> from neurodl.estimators.torch_engine import DistContext, TrainConfig
    >>> X, y = np.ones((4, 2, 4)), np.array([0, 0, 0, 1])
    >>> loss, acc = valid_stats(model, X, y, TrainConfig(task="classification"), DistContext())
    >>> round(loss, 4), round(float(np.log(2)), 4), acc
    (0.6931, 0.6931, 0.75)
    """
    import torch

    shard = shard_indices(len(X), dist)
    out = predict_outputs(
        model,
        X[shard],
        task=cfg.task,
        device=cfg.device,
        batch_size=cfg.predict_batch_size,
        crop_len=cfg.crop_len,
        crop_stride=cfg.crop_stride,
        mixed_precision=cfg.mixed_precision,
    )
    ys = y[shard]
    if cfg.task == "classification":
        p = out[np.arange(len(ys)), ys] if len(ys) else np.zeros(0)
        stats = [-np.log(np.clip(p, 1e-12, None)).sum(), (out.argmax(1) == ys).sum(), len(ys)]
        vec = dist.all_reduce_sum(torch.tensor(stats, dtype=torch.float64)).numpy()
        return float(vec[0] / vec[2]), float(vec[1] / vec[2])
    yy = ys.reshape(len(ys), -1)
    out = out.reshape(yy.shape)
    stats = np.concatenate([((out - yy) ** 2).sum(0), yy.sum(0), (yy**2).sum(0), [len(yy)]])
    vec = dist.all_reduce_sum(torch.tensor(stats, dtype=torch.float64)).numpy()
    k = yy.shape[1]
    ss_res, s1, s2, n = vec[:k], vec[k : 2 * k], vec[2 * k : 3 * k], vec[-1]
    ss_tot = s2 - s1**2 / n
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return float(ss_res.sum() / (n * k)), float(r2.mean())


def objective_valid_loss(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    cfg: TrainConfig,
    dist: DistContext,
    objective: Objective,
    ctx: LossContext,
) -> float:
    """Validation loss of a custom objective (eval mode, no grad) on this rank's shard, reduced.

    Examples
    --------
    A weighted objective: the loss is ``sum(weighted losses) / sum(weights)`` over all samples:

    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> for p in model.parameters():
    ...     _ = torch.nn.init.zeros_(p)  # an untrained, zero network: chance outputs
    >>> from neurodl.estimators.torch_engine import DistContext, LossContext, TrainConfig
    >>> def objective(model, xb, yb, ctx):
    ...     w = torch.where(yb > 0, 3.0, 1.0)  # later targets weigh 3 times more
    ...     return w * (model(xb)[:, 0] - yb) ** 2, w
    >>> X, y = np.ones((4, 2, 4)), np.array([0.0, 0.0, 2.0, 2.0])
    >>> ctx = LossContext(epoch=0, step=0, training=False, steps_per_epoch=1, max_epochs=1)
    >>> cfg = TrainConfig(task="regression", predict_batch_size=3)
    >>> objective_valid_loss(model, X, y, cfg, DistContext(), objective, ctx)  # (3*4*2)/(2+6)
    3.0
    """
    import torch

    shard = shard_indices(len(X), dist)
    sums = torch.zeros(2, dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(shard), cfg.predict_batch_size):
                idx = shard[i : i + cfg.predict_batch_size]
                xb = torch.tensor(np.asarray(X[idx]), dtype=torch.float32).to(cfg.device)
                yb = torch.tensor(np.asarray(y[idx]), dtype=torch.float32).to(cfg.device)
                losses, w = objective_losses(objective, model, xb, yb, ctx, cfg)
                sums += torch.tensor(
                    [losses.double().sum().item(), w.double().sum().item()], dtype=torch.float64
                )
    finally:
        model.train(was_training)
    sums = dist.all_reduce_sum(sums)
    return float(sums[0] / max(float(sums[1]), 1e-12))
