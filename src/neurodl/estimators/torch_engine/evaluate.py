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
    """Validation loss and metric on this rank's shard, summed over ranks."""
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
    """Validation loss of a custom objective (eval mode, no grad) on this rank's shard, reduced."""
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
