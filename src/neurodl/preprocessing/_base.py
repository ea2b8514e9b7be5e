"""Shared validation helpers for the preprocessing layer (private)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Self

import numpy as np

from .._logging import logger
from ..data import Recording
from ..data.epochs import epochs_array
from ..exceptions import ConfigError, DataFormatError, NotFittedError

__all__ = [
    "capture_warnings",
    "check_epochs_data",
    "check_fitted",
    "check_option",
    "check_positive",
    "check_recording",
]


def check_option(name: str, value: Any, allowed: Mapping[Any, Any] | Any) -> Any:
    """Return ``value`` if it is one of ``allowed`` else raise a ConfigError naming both."""
    options = list(allowed)
    if value not in options:
        shown = ", ".join(repr(a) for a in options)
        raise ConfigError(f"Invalid value for {name!r}. Allowed: {shown}; got {value!r}.")
    return value


def check_positive(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    """Return ``value`` as a positive finite float (or None when allowed)."""
    if value is None and allow_none:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name!r} must be a positive number; got {value!r}.") from None
    if not np.isfinite(out) or out <= 0:
        raise ConfigError(f"{name!r} must be a positive finite number; got {value!r}.")
    return out


def check_epochs_data(X: Any, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as a finite float array of shape (n_samples, n_channels, n_times).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_channels, n_times), EpochsDataset or mne.Epochs
        The epochs.

    Returns
    -------
    X : ndarray of shape (n_samples, n_channels, n_times)
    """
    X = epochs_array(X)
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataFormatError(f"{name} must be a numeric array; got {type(X).__name__}.") from None
    if arr.ndim != 3:
        raise DataFormatError(
            f"{name} must have shape (n_samples, n_channels, n_times) (3 dimensions); "
            f"got shape {arr.shape}."
        )
    if arr.size == 0:
        raise DataFormatError(f"{name} is empty; got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        n_bad = int((~np.isfinite(arr)).sum())
        raise DataFormatError(f"{name} contains {n_bad} NaN/inf values.")
    return arr


def check_recording(rec: Any, *, name: str = "rec") -> Recording:
    """Raise a TypeError unless ``rec`` is a :class:`~neurodl.data.Recording`."""
    if not isinstance(rec, Recording):
        raise TypeError(f"{name!r} must be a neurodl Recording; got {type(rec).__name__}.")
    return rec


def check_fitted(est: Any, attributes: str | list[str]) -> None:
    """Raise :class:`~neurodl.exceptions.NotFittedError` if ``est`` lacks fitted attributes."""
    attrs = [attributes] if isinstance(attributes, str) else attributes
    if not all(hasattr(est, a) for a in attrs):
        raise NotFittedError(
            f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with appropriate "
            "arguments before using this estimator."
        )


def check_n_channels(est: Any, X: np.ndarray) -> None:
    """Raise if ``X`` has another number of channels than the data ``est`` was fitted on."""
    if X.shape[1] != est.n_channels_:
        raise DataFormatError(
            f"X has {X.shape[1]} channels but {type(est).__name__} was fitted on "
            f"{est.n_channels_} channels."
        )


class StatelessEpochsTransformer:
    """Mixin of the stateless epoch transformers (filters, resampling): ``fit`` only validates.

    A subclass defines ``_check_params()`` (validate the parameters, return what ``transform``
    needs) and a ``transform`` that starts with ``X = self._checked_input(X)``.
    """

    def _check_params(self) -> Any:
        raise NotImplementedError

    def fit(self, X: Any, y: Any = None) -> Self:
        """Validate the parameters and ``X`` of shape (n_samples, n_channels, n_times)."""
        self._check_params()
        self.n_channels_ = check_epochs_data(X).shape[1]
        return self

    def _checked_input(self, X: Any) -> np.ndarray:
        """``X`` of shape (n_samples, n_channels, n_times), once fitted on as many channels."""
        check_fitted(self, "n_channels_")
        X = check_epochs_data(X)
        check_n_channels(self, X)
        return X


@contextlib.contextmanager
def capture_warnings() -> Iterator[None]:
    """Turn warnings raised by third-party calls (MNE, SciPy) into neurodl log warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        logger.warning("%s: %s", w.category.__name__, w.message)
