"""Networks for model-brain RSA: image batches, training on an offline task, untrained controls.

:func:`train_shape_network` trains a vision network on the generated shape stimuli of
:mod:`neurodl.analyses.rsa.stimuli` (:func:`train_network`: a plain PyTorch loop, AdamW and
cross-entropy; ``neurodl.estimators`` has no neural estimator that takes images, and a 20-line
loop keeps the training visible and fast) and keeps its initial state as the untrained control;
:func:`untrained_copy` makes that control for a user's model. Used by
:func:`~neurodl.analyses.rsa.model_brain.compare_network_with_brain`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from neurodl._logging import logger
from neurodl._progress_events import epoch_end
from neurodl.exceptions import ConfigError, DataFormatError

__all__ = [
    "TrainingResult",
    "as_image_batch",
    "train_network",
    "train_shape_network",
    "untrained_copy",
]


# --------------------------------------------------------------------------- images


def as_image_batch(images: Any, *, channels_last: bool | None = None) -> np.ndarray:
    """Return images as float32 of shape (n, channels, height, width), values in [0, 1].

    Parameters
    ----------
    images : ndarray of shape (n, C, H, W) or (n, H, W, C)
        uint8 images (divided by 255) or floats (kept as they are).
    channels_last : bool or None, default=None
        Whether the channel axis is last. ``None`` guesses: last axis of size 1, 3 or 4 while
        axis 1 is not.

    Returns
    -------
    ndarray of shape (n, C, H, W)

    Examples
    --------
    >>> import numpy as np
    >>> x = as_image_batch(np.full((2, 5, 5, 3), 255, dtype=np.uint8))
    >>> x.shape, x.dtype, float(x.max())
    ((2, 3, 5, 5), dtype('float32'), 1.0)
    """
    arr = np.asarray(images)
    if arr.ndim != 4 or min(arr.shape) < 1:
        raise DataFormatError(
            f"'images' must have shape (n_images, channels, height, width) or (n_images, height, "
            f"width, channels); got shape {arr.shape}."
        )
    if channels_last is None:
        channels_last = arr.shape[-1] in (1, 3, 4) and arr.shape[1] not in (1, 3, 4)
    if channels_last:
        arr = arr.transpose(0, 3, 1, 2)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if not np.issubdtype(arr.dtype, np.number):
        raise DataFormatError(f"'images' must be numeric; got dtype {arr.dtype}.")
    out = arr.astype(np.float32)
    if not np.all(np.isfinite(out)):
        raise DataFormatError("'images' contains NaN or infinite values.")
    return out


# --------------------------------------------------------------------------- training


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train_network` did.

    Attributes
    ----------
    losses : list of float
        Mean training loss per epoch.
    train_accuracy : float
        Accuracy on the training images after training (eval mode).
    test_accuracy : float or None
        Accuracy on held-out images (``X_test``), if given.
    chance : float
        1 / n_classes.
    n_train, n_test : int
    settings : dict

    Examples
    --------
    >>> import numpy as np, torch
    >>> X = np.random.default_rng(0).random((8, 1, 4, 4)).astype("float32")
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    >>> res = train_network(net, X, np.array([0, 1] * 4), epochs=1, batch_size=4)
    >>> len(res.losses), res.chance, res.n_train, res.test_accuracy
    (1, 0.5, 8, None)
    """

    losses: list[float]
    train_accuracy: float
    test_accuracy: float | None
    chance: float
    n_train: int
    n_test: int
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return dataclasses.asdict(self)


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray, batch_size: int) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = torch.as_tensor(X[start : start + batch_size], dtype=torch.float32)
            pred = model(xb).argmax(1).numpy()
            correct += int((pred == y[start : start + batch_size]).sum())
    return correct / len(X)


def train_network(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> TrainingResult:
    """Train a classifier in place with AdamW and cross-entropy (a plain PyTorch loop).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a float tensor of shape (batch, *X.shape[1:]) to logits (batch, n_classes).
    X : ndarray of shape (n_images, channels, height, width)
    y : ndarray of shape (n_images,)
        Integer class labels in ``[0, n_classes)``.
    X_test, y_test : ndarray, optional
        Held-out images and labels for :attr:`TrainingResult.test_accuracy`.
    epochs : int, default=10
    batch_size : int, default=64
    lr : float, default=3e-3
        Peak learning rate (one-cycle cosine schedule).
    weight_decay : float, default=1e-4
    seed : int, default=0
        Seeds the batch order and dropout; the caller's global torch RNG state is left untouched.

    Returns
    -------
    TrainingResult

    Examples
    --------
    >>> import numpy as np, torch
    >>> rng = np.random.default_rng(0)
    >>> _ = torch.manual_seed(0)
    >>> y = np.array([0, 1] * 16)
    >>> X = (rng.random((32, 1, 4, 4)) + 2 * y[:, None, None, None]).astype("float32")
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    >>> res = train_network(net, X, y, X_test=X, y_test=y, epochs=5, batch_size=8, lr=0.05)
    >>> len(res.losses), res.test_accuracy > 0.8
    (5, True)
    """
    import torch
    from torch import nn

    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if len(X) != len(y) or len(X) == 0:
        raise DataFormatError(
            f"'X' and 'y' must hold the same number (>= 1) of samples; got {len(X)} and {len(y)}."
        )
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise DataFormatError(
            f"'y' must hold non-negative integer class labels; got dtype {y.dtype}."
        )
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"'{name}' must be an integer >= 1; got {value!r}.")
    if (X_test is None) != (y_test is None):
        raise ConfigError("'X_test' and 'y_test' must be given together.")
    n_classes = int(y.max()) + 1
    losses: list[float] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        Xt, yt = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.long)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        steps_per_epoch = -(-len(X) // batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
        )
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(epochs):
            model.train()
            order = torch.randperm(len(X), generator=gen)
            total = 0.0
            for start in range(0, len(X), batch_size):
                idx = order[start : start + batch_size]
                opt.zero_grad()
                loss = loss_fn(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            losses.append(total / len(X))
            logger.info("train_network: epoch %d/%d loss %.4f", epoch + 1, epochs, losses[-1])
            epoch_end(epoch, epochs, {"train_loss": losses[-1]})
    model.eval()
    test_acc = None
    if X_test is not None and y_test is not None:
        test_acc = _accuracy(model, np.asarray(X_test, np.float32), np.asarray(y_test), batch_size)
    return TrainingResult(
        losses=losses,
        train_accuracy=_accuracy(model, X, y, batch_size),
        test_accuracy=test_acc,
        chance=1.0 / n_classes,
        n_train=len(X),
        n_test=0 if X_test is None else len(X_test),
        settings={
            "optimizer": "AdamW",
            "schedule": "one-cycle cosine",
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "seed": seed,
        },
    )


def train_shape_network(
    *,
    architecture: str = "small_cnn",
    architecture_params: Mapping[str, Any] | None = None,
    n_per_class: int = 200,
    n_test_per_class: int = 50,
    classes: Sequence[str] | None = None,
    image_size: int = 64,
    stimulus_params: Mapping[str, Any] | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> tuple[Any, Any, TrainingResult]:
    """Train an image network on the generated shape task; also return its untrained twin.

    Training and held-out stimuli come from :func:`~neurodl.analyses.rsa.stimuli.make_shape_stimuli`
    with seeds ``seed`` and ``seed + 1`` (disjoint draws).

    Returns
    -------
    trained : torch.nn.Module
        In eval mode.
    untrained : torch.nn.Module
        The same architecture with the trained network's initial weights (same seed).
    training : TrainingResult
        Includes the held-out accuracy (``test_accuracy``) and the stimulus settings.

    Examples
    --------
    >>> trained, untrained, res = train_shape_network(
    ...     architecture_params={"channels": (4, 8)}, n_per_class=4, n_test_per_class=2,
    ...     classes=["disk", "square"], image_size=16, epochs=1)
    >>> res.n_train, res.n_test, res.chance, type(trained) is type(untrained)
    (8, 4, 0.5, True)
    """
    from neurodl.models.vision import build_vision_model

    from .stimuli import make_shape_stimuli

    sp = dict(stimulus_params or {})
    train = make_shape_stimuli(n_per_class, classes=classes, image_size=image_size, seed=seed, **sp)
    test = make_shape_stimuli(
        n_test_per_class, classes=classes, image_size=image_size, seed=seed + 1, **sp
    )
    model = build_vision_model(
        architecture,
        in_channels=3,
        n_classes=len(train.classes),
        image_size=image_size,
        seed=seed,
        **dict(architecture_params or {}),
    )
    untrained = copy.deepcopy(model).eval()
    result = train_network(
        model,
        train.X,
        train.y,
        X_test=test.X,
        y_test=test.y,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
    )
    result.settings.update(
        {
            "task": "shape recognition (neurodl.analyses.rsa.stimuli.make_shape_stimuli)",
            "classes": train.classes,
            "n_per_class": n_per_class,
            "n_test_per_class": n_test_per_class,
            "image_size": image_size,
            "stimulus_params": sp,
            "architecture": architecture,
            "architecture_params": dict(architecture_params or {}),
        }
    )
    return model, untrained, result


def untrained_copy(model: Any, *, seed: int = 0) -> Any:
    """A deep copy of ``model`` with every submodule's parameters re-initialised under ``seed``.

    Uses each submodule's own ``reset_parameters`` (the initialisation torch layers use at
    construction); buffers such as batch-norm running statistics are reset too.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(3, 2)
    >>> fresh = untrained_copy(net, seed=1)
    >>> fresh.weight.shape, bool(torch.equal(fresh.weight, net.weight))
    (torch.Size([2, 3]), False)
    """
    import torch

    clone = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in clone.modules():
            for method in ("reset_running_stats", "reset_parameters"):
                if callable(getattr(module, method, None)):
                    getattr(module, method)()
    return clone.eval()
