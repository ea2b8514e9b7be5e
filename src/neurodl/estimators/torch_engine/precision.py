"""Mixed precision: autocast and the gradient scaler, on CUDA only.

bfloat16 autocast where the GPU supports it, else float16 with a
:class:`torch.amp.GradScaler`; on CPU both are off (:func:`autocast` is a null context).
Channels-last memory format is applied by the estimators, also on CUDA only.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .settings import TrainConfig

__all__ = ["autocast", "forward", "needs_scaler"]


def autocast(cfg: TrainConfig) -> Any:
    """Autocast context for ``cfg`` (bfloat16 if supported, else float16); null off CUDA.

    Examples
    --------
    On CPU mixed precision is off: a null context, computations stay float32:

    >>> import contextlib, torch
    >>> from neurodl.estimators.torch_engine import TrainConfig
    >>> cfg = TrainConfig(task="classification", device="cpu", mixed_precision=True)
    >>> isinstance(autocast(cfg), contextlib.nullcontext)
    True
    >>> with autocast(cfg):
    ...     print((torch.ones(2, 2) @ torch.ones(2, 2)).dtype)
    torch.float32
    """
    import torch

    if not (cfg.mixed_precision and cfg.device.startswith("cuda")):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def needs_scaler(cfg: TrainConfig) -> bool:
    """Whether float16 autocast is used, so the loss needs a gradient scaler.

    Examples
    --------
    >>> from neurodl.estimators.torch_engine import TrainConfig
    >>> needs_scaler(TrainConfig(task="classification", device="cpu", mixed_precision=True))
    False
    >>> needs_scaler(TrainConfig(task="classification", mixed_precision=False))
    False
    """
    import torch

    return (
        cfg.mixed_precision and cfg.device.startswith("cuda") and not torch.cuda.is_bf16_supported()
    )


def forward(model: Any, xb: Any, cfg: TrainConfig) -> Any:
    """``model(xb)`` under :func:`autocast`, returned as float32.

    Examples
    --------
    >>> import torch
    >>> from neurodl.estimators.torch_engine import TrainConfig
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 5, 3))
    >>> out = forward(model, torch.zeros(4, 2, 5), TrainConfig(task="classification"))
    >>> out.shape, out.dtype
    (torch.Size([4, 3]), torch.float32)
    """
    with autocast(cfg):
        out = model(xb)
    return out.float()
