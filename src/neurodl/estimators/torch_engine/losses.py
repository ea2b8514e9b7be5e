"""Per-sample losses of a batch: the built-in ones and custom objectives.

Built-in: cross-entropy (optionally class-weighted) or mean squared error over outputs. A
custom objective ``objective(model, xb, yb, ctx)`` returns per-sample losses, or
``(weighted_losses, weights)``. Either way the batch loss is ``sum(losses) / sum(weights)``
(weights all-reduced over DDP ranks by the loop).
"""

from __future__ import annotations

from typing import Any

from ...exceptions import ConfigError
from .precision import autocast
from .settings import LossContext, Objective, TrainConfig

__all__ = ["objective_losses", "per_sample_loss"]


def objective_losses(
    objective: Objective, model: Any, xb: Any, yb: Any, ctx: LossContext, cfg: TrainConfig
) -> tuple[Any, Any]:
    """Per-sample (weighted) losses and weights of a custom objective, as float32 vectors."""
    import torch

    with autocast(cfg):
        res = objective(model, xb, yb, ctx)
    losses, w = res if isinstance(res, tuple) else (res, None)
    losses = losses.float().reshape(-1)
    if len(losses) != len(xb):
        raise ConfigError(
            f"The objective must return one loss per sample (shape ({len(xb)},)); "
            f"got shape {tuple(res[0].shape if isinstance(res, tuple) else res.shape)}."
        )
    w = torch.ones_like(losses) if w is None else w.float().reshape(-1)
    return losses, w


def per_sample_loss(out: Any, yb: Any, cfg: TrainConfig, weight: Any) -> tuple[Any, Any]:
    """Per-sample losses and their weights."""
    import torch
    import torch.nn.functional as F

    if cfg.task == "classification":
        losses = F.cross_entropy(out, yb, reduction="none")
        w = weight[yb] if weight is not None else torch.ones_like(losses)
        return losses * w, w
    if out.ndim == 1:
        out = out[:, None]
    losses = ((out - yb.reshape(out.shape)) ** 2).mean(dim=1)
    return losses, torch.ones_like(losses)
