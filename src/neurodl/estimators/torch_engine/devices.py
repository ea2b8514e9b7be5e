"""Devices and determinism: where a fit runs and how reproducible it is.

``deterministic=True`` switches on :func:`torch.use_deterministic_algorithms` (and
deterministic cuDNN) for the duration of the fit only (:func:`determinism`), restored
afterwards. Mixed precision is :mod:`.precision`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from ...exceptions import ConfigError

__all__ = ["determinism", "resolve_device"]


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; other strings are validated.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    >>> import torch
    >>> resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    True
    >>> resolve_device("gpu")
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'device'. Allowed: 'auto', 'cpu', 'cuda', 'cuda:N'; got 'gpu'.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(
            f"Invalid value for 'device'. Allowed: 'auto', 'cpu', 'cuda', 'cuda:N'; got {device!r}."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} was requested but CUDA is not available.")
    return str(dev)


@contextlib.contextmanager
def determinism(enabled: bool, device: str) -> Iterator[None]:
    """Deterministic algorithms for the duration of the block; previous settings restored.

    Examples
    --------
    >>> import torch
    >>> before = torch.are_deterministic_algorithms_enabled()
    >>> with determinism(True, "cpu"):
    ...     print(torch.are_deterministic_algorithms_enabled())
    True
    >>> torch.are_deterministic_algorithms_enabled() == before  # restored afterwards
    True
    """
    import torch

    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    old_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    old_env = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        if enabled:
            if device.startswith("cuda") and old_env is None:
                os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old_cudnn
        if enabled and device.startswith("cuda") and old_env is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
