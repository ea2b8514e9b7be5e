"""Training settings and results: :class:`TrainConfig`, schedules, optimisers, loss context.

Tables validated once (:data:`SCHEDULES`, :data:`OPTIMIZERS`, :data:`ON_DIVERGENCE`) and the
dataclasses the loop (:mod:`.loop`) reads and returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ...exceptions import ConfigError, NeurodlError

__all__ = [
    "EPOCH_SCHEDULES",
    "ON_DIVERGENCE",
    "OPTIMIZERS",
    "SCHEDULES",
    "DivergenceError",
    "LossContext",
    "Objective",
    "TrainConfig",
    "TrainResult",
]


class DivergenceError(NeurodlError, FloatingPointError):
    """Training produced a non-finite loss or gradient (``on_divergence="raise"``).

    Examples
    --------
    A neurodl error that is also a :class:`FloatingPointError`; :func:`~.loop.train` raises it
    when a NaN input makes the loss non-finite:

    >>> import numpy as np, torch
    >>> from neurodl.estimators.torch_engine import TrainConfig, train
    >>> issubclass(DivergenceError, FloatingPointError)
    True
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> X, y = np.full((6, 2, 4), np.nan, dtype="float32"), np.array([0, 1] * 3)
    >>> cfg = TrainConfig(task="classification", max_epochs=1, batch_size=3)
    >>> try:
    ...     train(model, X, y, None, None, cfg)
    ... except DivergenceError as err:
    ...     print(str(err)[:55])
    Training diverged in epoch 0: the loss or gradient norm
    """


# ------------------------------------------------------------------------------ schedules
def _cosine(optimizer: Any, lr: float, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import CosineAnnealingLR

    return CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))


def _onecycle(optimizer: Any, lr: float, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import OneCycleLR

    return OneCycleLR(optimizer, max_lr=lr, total_steps=max(total_steps, 2))


def _constant(optimizer: Any, lr: float, total_steps: int) -> Any:
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, lambda step: 1.0)


def _plateau(optimizer: Any, lr: float, total_steps: int, patience: int = 5) -> Any:
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    return ReduceLROnPlateau(optimizer, factor=0.5, patience=patience)


#: Learning-rate schedules: name -> factory ``(optimizer, lr, total_steps)``. Stepped once per
#: optimisation step, except those in :data:`EPOCH_SCHEDULES` (once per epoch, on the monitored
#: loss).
SCHEDULES: dict[str | None, Callable[..., Any]] = {
    "cosine": _cosine,
    "onecycle": _onecycle,
    "plateau": _plateau,
    None: _constant,
}
#: Schedules stepped once per epoch with the validation loss (training loss without validation).
EPOCH_SCHEDULES = frozenset({"plateau"})

ON_DIVERGENCE = ("raise", "rollback", "skip")


def _adamw(params: Any, lr: float, weight_decay: float) -> Any:
    import torch

    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _adam(params: Any, lr: float, weight_decay: float) -> Any:
    import torch

    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


#: Optimisers: name -> factory ``(parameters, lr, weight_decay)``.
OPTIMIZERS: dict[str, Callable[[Any, float, float], Any]] = {"adamw": _adamw, "adam": _adam}


# ------------------------------------------------------------------------------ settings
@dataclass
class TrainConfig:
    """Resolved training settings (:mod:`neurodl.estimators.torch_engine` says what each does).

    Examples
    --------
    Only ``task`` is required; names of optimisers, schedules and divergence policies are
    checked when the config is built:

    >>> cfg = TrainConfig(task="classification", max_epochs=2, batch_size=16)
    >>> cfg.optimizer, cfg.schedule, cfg.lr, cfg.on_divergence, cfg.device
    ('adamw', 'cosine', 0.001, 'raise', 'cpu')
    >>> TrainConfig(task="classification", optimizer="sgd")
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'optimizer'. Allowed: 'adamw', 'adam'; got 'sgd'.
    """

    task: Literal["classification", "regression"]
    max_epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2
    schedule: str | None = "cosine"
    early_stopping: bool = True
    patience: int = 10
    grad_clip: float | None = 1.0
    class_weight: np.ndarray | None = None
    deterministic: bool = True
    device: str = "cpu"
    mixed_precision: bool = False
    channels_last: bool = False
    on_divergence: str = "raise"
    crop_len: int | None = None
    crop_stride: int | None = None
    seed: int = 0
    predict_batch_size: int = 256
    plateau_patience: int = 5
    optimizer: str = "adamw"
    #: train-time augmentation (:class:`~.augment.Augmenter` or None): training batches only
    augment: Any = None
    #: one group code per training sample (e.g. the subject): each batch holds one group only
    batch_groups: np.ndarray | None = None
    #: one group code per validation sample: validated group by group, batch norm re-estimated
    #: on each group (as adaptive batch norm at test time); None: in one pass
    valid_groups: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"Invalid value for 'optimizer'. Allowed: {', '.join(map(repr, OPTIMIZERS))}; "
                f"got {self.optimizer!r}."
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"Invalid value for 'schedule'. Allowed: {', '.join(map(repr, SCHEDULES))}; "
                f"got {self.schedule!r}."
            )
        if self.on_divergence not in ON_DIVERGENCE:
            raise ConfigError(
                f"Invalid value for 'on_divergence'. Allowed: {', '.join(map(repr, ON_DIVERGENCE))}; "
                f"got {self.on_divergence!r}."
            )


@dataclass(frozen=True)
class LossContext:
    """Where a custom objective is called from (see "Custom objectives" in the package docstring).

    Attributes
    ----------
    epoch : int
        The current epoch (0-based).
    step : int
        Global optimisation step of the batch (``epoch * steps_per_epoch + batch index``);
        for validation, the number of steps done so far.
    training : bool
        True for training batches (model in train mode, gradients on), False for validation.
    steps_per_epoch : int
    max_epochs : int

    Examples
    --------
    A KL warm-up written against the context: the weight grows with the global step:

    >>> ctx = LossContext(epoch=1, step=7, training=True, steps_per_epoch=4, max_epochs=3)
    >>> kl_weight = min(1.0, ctx.step / (ctx.steps_per_epoch * ctx.max_epochs))
    >>> round(kl_weight, 3), ctx.training
    (0.583, True)
    """

    epoch: int
    step: int
    training: bool
    steps_per_epoch: int
    max_epochs: int


#: ``objective(model, xb, yb, ctx) -> losses`` or ``-> (weighted_losses, weights)``, each of
#: shape (batch,): the batch loss is ``sum(weighted_losses) / sum(weights)``.
Objective = Callable[[Any, Any, Any, LossContext], Any]


@dataclass
class TrainResult:
    """The per-epoch history of a training run and how it ended (what ``train`` returns).

    Examples
    --------
    Two epochs of a small classifier on random data, with validation (one history record
    per epoch):

    >>> import numpy as np, torch
    >>> from neurodl.estimators.torch_engine import train
    >>> _ = torch.manual_seed(0)
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(12, 2, 4)).astype("float32"), np.array([0, 1] * 6)
    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2))
    >>> cfg = TrainConfig(task="classification", max_epochs=2, batch_size=4)
    >>> res = train(model, X[:8], y[:8], X[8:], y[8:], cfg)
    >>> len(res.history), res.stopped_reason, res.best_epoch in (0, 1)
    (2, 'max_epochs', True)
    >>> sorted(res.history[0])
    ['epoch', 'lr', 'time_s', 'train_accuracy', 'train_loss', 'valid_accuracy', 'valid_loss']
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_reason: str = "max_epochs"
    resumed_from_epoch: int | None = None
