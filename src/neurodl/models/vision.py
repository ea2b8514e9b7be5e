"""Small 2-D convolutional networks for images (model-brain comparisons).

These take images, not signals, so they do **not** follow the signal-model contract of
:mod:`neurodl.models.registry` (``n_chans, n_times, n_outputs``) and are not registered there.
They live in their own registry, :data:`VISION_MODELS`, built with :func:`build_vision_model`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError, DataFormatError

__all__ = ["VISION_MODELS", "SmallCNN", "build_vision_model"]


class SmallCNN(nn.Module):
    """A small CNN: ``K`` conv blocks (conv, batch norm, ReLU, 2x2 max pool), global pooling, ``fc``.

    Submodules are named ``conv1`` ... ``convK`` and ``fc`` (the class scores), so
    ``named_modules()`` gives readable layer names for activation extraction.

    Parameters
    ----------
    in_channels : int, default=3
        Colour channels of the input images.
    n_classes : int, default=8
        Number of output classes.
    image_size : int, default=64
        Height and width of the (square) input images.
    channels : sequence of int, default=(16, 32, 64, 64)
        Output channels of each conv block; its length is the number of blocks ``K``.
    kernel_size : int, default=3
        Convolution kernel size (odd; "same" padding).
    dropout : float, default=0.0
        Dropout before ``fc``.

    Examples
    --------
    >>> import torch
    >>> net = SmallCNN(n_classes=4, image_size=32, channels=(8, 16))
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 4])
    >>> [name for name, _ in net.named_children()]
    ['conv1', 'conv2', 'pool', 'dropout', 'fc']
    """

    def __init__(
        self,
        in_channels: int = 3,
        n_classes: int = 8,
        image_size: int = 64,
        *,
        channels: Sequence[int] = (16, 32, 64, 64),
        kernel_size: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("n_classes", n_classes),
            ("image_size", image_size),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"'{name}' must be a positive integer; got {value!r}.")
        channels = tuple(channels)
        if not channels or any(
            isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels
        ):
            raise ConfigError(
                f"'channels' must be a non-empty sequence of positive integers; got {channels!r}."
            )
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(
                f"'kernel_size' must be an odd positive integer; got {kernel_size!r}."
            )
        if image_size < 2 ** len(channels):
            raise DataFormatError(
                f"'image_size' must be at least 2**len(channels) = {2 ** len(channels)} for "
                f"{len(channels)} pooling steps; got {image_size}."
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"'dropout' must be in [0, 1); got {dropout!r}.")
        self.in_channels = in_channels
        self.n_classes = n_classes
        self.image_size = image_size
        self.channels = channels
        prev = in_channels
        for i, out in enumerate(channels, start=1):
            block = nn.Sequential(
                nn.Conv2d(prev, out, kernel_size, padding=kernel_size // 2, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.add_module(f"conv{i}", block)
            prev = out
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(float(dropout))
        self.fc = nn.Linear(prev, n_classes)

    @property
    def layer_names(self) -> list[str]:
        """Names of the representational layers, input to output: ``conv1`` ... ``convK``, ``fc``."""
        return [f"conv{i}" for i in range(1, len(self.channels) + 1)] + ["fc"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores.

        Parameters
        ----------
        x : Tensor of shape (batch, in_channels, image_size, image_size)
            Float images (the training stimuli are in [0, 1]).

        Returns
        -------
        logits : Tensor of shape (batch, n_classes)
        """
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise DataFormatError(
                f"SmallCNN expects images of shape (batch, {', '.join(map(str, expected))}); "
                f"got {tuple(x.shape)}. Resize the images (e.g. preprocessing={{'size': "
                f"({self.image_size}, {self.image_size})}} in extract_activations)."
            )
        for i in range(1, len(self.channels) + 1):
            x = getattr(self, f"conv{i}")(x)
        return self.fc(self.dropout(self.pool(x).flatten(1)))


#: Image-model name -> class. Constructors take ``(in_channels, n_classes, image_size, **params)``.
VISION_MODELS: dict[str, type[nn.Module]] = {"small_cnn": SmallCNN}


def build_vision_model(
    name: str,
    *,
    in_channels: int = 3,
    n_classes: int,
    image_size: int,
    seed: int | None = None,
    **params: Any,
) -> nn.Module:
    """Build an image model from :data:`VISION_MODELS`.

    Parameters
    ----------
    name : str
        A key of :data:`VISION_MODELS`.
    in_channels, n_classes, image_size : int
        Input channels, output classes, input height/width.
    seed : int or None
        Seed of the weight initialisation (the same seed gives the same initial weights).
    **params
        Architecture hyperparameters (e.g. ``channels`` for ``small_cnn``).

    Returns
    -------
    model : torch.nn.Module

    Examples
    --------
    >>> net = build_vision_model("small_cnn", n_classes=10, image_size=32, seed=0)
    >>> net(torch.zeros(2, 3, 32, 32)).shape  # two RGB 32 x 32 images -> 10 logits each
    torch.Size([2, 10])
    >>> same = build_vision_model("small_cnn", n_classes=10, image_size=32, seed=0)
    >>> all(torch.equal(a, b) for a, b in zip(net.parameters(), same.parameters()))
    True
    >>> try:
    ...     build_vision_model("small_cn", n_classes=10, image_size=32)
    ... except ValueError as err:
    ...     print(err)
    Invalid value for 'name'. Did you mean 'small_cnn'? Allowed: ['small_cnn']; got 'small_cn'.
    """
    if name not in VISION_MODELS:
        close = difflib.get_close_matches(name, list(VISION_MODELS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Invalid value for 'name'.{hint} Allowed: {sorted(VISION_MODELS)}; got {name!r}."
        )
    # fork_rng: seeding here leaves the caller's global torch RNG state untouched
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        try:
            return VISION_MODELS[name](in_channels, n_classes, image_size, **params)
        except TypeError as err:
            raise ConfigError(
                f"Invalid hyperparameters for vision model {name!r}: {err}."
            ) from None
