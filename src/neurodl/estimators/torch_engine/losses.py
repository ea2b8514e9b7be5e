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
    """Per-sample (weighted) losses and weights of a custom objective, as float32 vectors.

    Examples
    --------
    A squared-error objective on a zero-initialised linear model: one loss per sample, unit
    weights; an objective that already averages the batch is refused:

    >>> import torch
    >>> from neurodl.estimators.torch_engine import LossContext, TrainConfig
    >>> model = torch.nn.Linear(3, 1)
    >>> _ = torch.nn.init.zeros_(model.weight), torch.nn.init.zeros_(model.bias)
    >>> ctx = LossContext(epoch=0, step=0, training=True, steps_per_epoch=1, max_epochs=1)
    >>> cfg = TrainConfig(task="regression")
    >>> xb, yb = torch.zeros(4, 3), torch.tensor([0.0, 1.0, 2.0, 3.0])
    >>> def sq_error(model, xb, yb, ctx):
    ...     return (model(xb)[:, 0] - yb) ** 2
    >>> losses, w = objective_losses(sq_error, model, xb, yb, ctx, cfg)
    >>> losses.tolist(), w.tolist()
    ([0.0, 1.0, 4.0, 9.0], [1.0, 1.0, 1.0, 1.0])
    >>> def mean_error(model, xb, yb, ctx):
    ...     return sq_error(model, xb, yb, ctx).mean()
    >>> objective_losses(mean_error, model, xb, yb, ctx, cfg)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: The objective must return one loss per sample (shape (4,)); got shape ().
    """
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
    """Per-sample losses and their weights.

    Examples
    --------
    Cross-entropy of 2 samples, the second at chance (``log 2``); class weights scale each
    sample's loss and become its weight (the batch loss is ``sum(losses) / sum(weights)``):

    >>> import torch
    >>> from neurodl.estimators.torch_engine import TrainConfig
    >>> cfg = TrainConfig(task="classification")
    >>> out, yb = torch.tensor([[2.0, 0.0], [0.0, 0.0]]), torch.tensor([0, 1])
    >>> losses, w = per_sample_loss(out, yb, cfg, weight=None)
    >>> [round(v, 4) for v in losses.tolist()], w.tolist()
    ([0.1269, 0.6931], [1.0, 1.0])
    >>> losses, w = per_sample_loss(out, yb, cfg, weight=torch.tensor([1.0, 3.0]))
    >>> [round(v, 4) for v in losses.tolist()], w.tolist()
    ([0.1269, 2.0794], [1.0, 3.0])

    Regression: mean squared error over outputs:

    >>> reg = TrainConfig(task="regression")
    >>> per_sample_loss(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0]), reg, None)
    (tensor([0., 4.]), tensor([1., 1.]))
    """
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
