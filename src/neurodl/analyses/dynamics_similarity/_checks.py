"""Input checks shared by the dynamics-similarity measures: one array layout, clear errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = ["as_trajectories", "check_int", "check_pair", "check_same_conditions"]


def as_trajectories(X: Any, name: str) -> np.ndarray:
    """Return ``X`` as a float array of shape ``(n_conditions, n_times, n_units)``.

    Parameters
    ----------
    X : array-like of shape (n_conditions, n_times, n_units) or (n_times, n_units)
        Trajectories (one condition when 2-D).
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    trajectories : ndarray of shape (n_conditions, n_times, n_units)
    """
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise DataFormatError(
            f"Invalid shape for {name!r}. Allowed: (n_conditions, n_times, n_units) or "
            f"(n_times, n_units); got {np.shape(X)}."
        )
    if not np.all(np.isfinite(arr)):
        raise DataFormatError(f"{name!r} contains NaN or infinite values.")
    return arr


def check_pair(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as trajectories with the same conditions and time points (units may differ)."""
    x, y = as_trajectories(X, "X"), as_trajectories(Y, "Y")
    if x.shape[:2] != y.shape[:2]:
        raise DataFormatError(
            "'X' and 'Y' must share (n_conditions, n_times); got "
            f"{x.shape[:2]} and {y.shape[:2]} (shapes {x.shape} and {y.shape})."
        )
    return x, y


def check_same_conditions(x: np.ndarray, y: np.ndarray) -> None:
    """``x`` and ``y`` (trajectories) have the same number of conditions."""
    if x.shape[0] != y.shape[0]:
        raise DataFormatError(
            f"'X' and 'Y' must have the same number of conditions; got {x.shape[0]} and "
            f"{y.shape[0]}."
        )


def check_int(value: Any, name: str, minimum: int, *, allow_none: bool = False) -> int | None:
    """An integer >= ``minimum`` (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ConfigError(f"Invalid value for {name!r}. Allowed: {allowed}; got {value!r}.")
    return int(value)


def check_float(value: Any, name: str, low: float, high: float | None = None) -> float:
    """A finite float in ``[low, high]``."""
    ok = isinstance(value, int | float | np.floating) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = np.isfinite(v) and v >= low and (high is None or v <= high)
    if not ok:
        allowed = f"a number in [{low}, {high}]" if high is not None else f"a number >= {low}"
        raise ConfigError(f"Invalid value for {name!r}. Allowed: {allowed}; got {value!r}.")
    return float(value)
