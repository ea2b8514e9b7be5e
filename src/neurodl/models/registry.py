"""Explicit registry of torch models with uniform signal arguments.

Every registered model is an ``nn.Module`` class whose constructor takes
``(n_chans, n_times, n_outputs, *, sfreq=None, **hyperparameters)`` and whose ``forward`` takes a
float tensor of shape ``(batch, n_chans, n_times)``. A class may define ``min_n_times(**params)``
(a classmethod) so that too-short inputs fail before any layer is built.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from ..exceptions import ConfigError, DataFormatError

__all__ = [
    "MODELS",
    "build_model",
    "count_parameters",
    "get_model_class",
    "list_models",
    "register_model",
]

MODELS: dict[str, type] = {}


def register_model(name: str) -> Callable[[type], type]:
    """Class decorator: register a model under ``name`` (duplicates raise).

    Examples
    --------
    >>> from torch import nn
    >>> @register_model("mean_readout_demo")
    ... class MeanReadout(nn.Module):
    ...     def __init__(self, n_chans, n_times, n_outputs, *, sfreq=None):
    ...         super().__init__()
    ...         self.head = nn.Linear(n_chans, n_outputs)
    ...     def forward(self, x):  # (batch, n_chans, n_times) -> (batch, n_outputs)
    ...         return self.head(x.mean(-1))
    >>> build_model("mean_readout_demo", n_chans=4, n_times=50, n_outputs=2).registry_name
    'mean_readout_demo'
    >>> register_model("mean_readout_demo")(MeanReadout)
    Traceback (most recent call last):
        ...
    ValueError: Model 'mean_readout_demo' is already registered (by MeanReadout).
    >>> del MODELS["mean_readout_demo"]  # leave the registry as it was
    """

    def deco(cls: type) -> type:
        if name in MODELS:
            raise ValueError(
                f"Model {name!r} is already registered (by {MODELS[name].__qualname__})."
            )
        MODELS[name] = cls
        cls.registry_name = name  # type: ignore[attr-defined]
        return cls

    return deco


def _ensure_loaded() -> None:
    """Import every architecture module (each registers its models); torch is imported here.

    The explicit list of modules is :func:`neurodl.models._load_architectures`: it lives in the
    package, not here, because the architecture modules import this one.
    """
    from .. import models as package

    package._load_architectures()


def list_models() -> list[str]:
    """Names of all registered models, sorted.

    Examples
    --------
    >>> names = list_models()
    >>> "eegnet" in names, names == sorted(names)
    (True, True)
    """
    _ensure_loaded()
    return sorted(MODELS)


def get_model_class(name: str) -> type:
    """Return the class registered as ``name``; unknown names list the known ones.

    Examples
    --------
    >>> get_model_class("eegnet").__name__
    'EEGNet'
    """
    _ensure_loaded()
    if name not in MODELS:
        close = difflib.get_close_matches(name, list(MODELS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Unknown model {name!r}.{hint} Known models: {', '.join(sorted(MODELS))}."
        )
    return MODELS[name]


def build_model(
    name: str,
    *,
    n_chans: int,
    n_times: int,
    n_outputs: int,
    sfreq: float | None = None,
    **params: Any,
) -> Any:
    """Build model ``name`` for inputs of shape ``(batch, n_chans, n_times)``.

    Raises
    ------
    DataFormatError
        ``n_times`` is shorter than the model's minimum input length (the message gives both).
    ConfigError
        Unknown model name or hyperparameter.

    Examples
    --------
    >>> import torch
    >>> net = build_model("eegnet", n_chans=4, n_times=128, n_outputs=2, sfreq=128.0)
    >>> net(torch.zeros(3, 4, 128)).shape  # (batch, n_outputs)
    torch.Size([3, 2])
    """
    cls = get_model_class(name)
    min_fn = getattr(cls, "min_n_times", None)
    if min_fn is not None:
        minimum = int(min_fn(sfreq=sfreq, **params))
        if n_times < minimum:
            raise DataFormatError(
                f"Model {name!r} needs inputs of at least {minimum} time samples with these "
                f"settings; got n_times={n_times}. Use longer windows, resample to a higher rate, "
                "or choose smaller kernels/pooling."
            )
    try:
        return cls(n_chans, n_times, n_outputs, sfreq=sfreq, **params)
    except TypeError as err:
        raise ConfigError(f"Invalid hyperparameters for model {name!r}: {err}.") from None


def count_parameters(model: Any, *, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of a torch module.

    Examples
    --------
    >>> import torch
    >>> count_parameters(torch.nn.Linear(3, 2))  # 3 * 2 weights + 2 biases
    8
    """
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only))
