"""Validation helpers shared by the containers (messages name the value received)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..exceptions import DataFormatError


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed`` else raise a ValueError naming both."""
    allowed = list(allowed)
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"Invalid value for {name!r}. Allowed: {shown}; got {value!r}.")
    return value


#: Highest sampling rate accepted (Hz): above any neural recording system; larger values come
#: from corrupt headers (e.g. 1e300) and would break every time computation downstream.
MAX_SFREQ_HZ = 1e6


def check_sfreq(sfreq: Any, *, source: str | None = None) -> float:
    """Return a positive finite sampling rate (at most :data:`MAX_SFREQ_HZ`) as float."""
    where = f" ({source})" if source else ""
    try:
        value = float(sfreq)
    except (TypeError, ValueError):
        raise DataFormatError(f"Sampling rate must be a number{where}; got {sfreq!r}.") from None
    if not np.isfinite(value) or value <= 0:
        raise DataFormatError(f"Sampling rate must be positive and finite{where}; got {sfreq!r}.")
    if value > MAX_SFREQ_HZ:
        raise DataFormatError(
            f"Sampling rate must be at most {MAX_SFREQ_HZ:g} Hz{where}; got {sfreq!r} "
            "(a corrupt header?)."
        )
    return value


def check_array(
    x: Any,
    *,
    ndim: int | tuple[int, ...],
    name: str = "data",
    allow_nan: bool = False,
    source: str | None = None,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Return ``x`` as an array of the given dimensionality, rejecting NaN/inf unless allowed."""
    where = f" ({source})" if source else ""
    arr = np.asarray(x)
    if np.iscomplexobj(arr):
        raise DataFormatError(
            f"{name} holds complex values{where}; neurodl reads real signals: pass the real "
            "part, the magnitude or the phase explicitly (np.real / np.abs / np.angle)."
        )
    if dtype is not None and arr.dtype != dtype and not np.issubdtype(arr.dtype, np.floating):
        try:
            arr = arr.astype(dtype)
        except (TypeError, ValueError):
            raise DataFormatError(
                f"{name} must be numeric{where}; got dtype {arr.dtype}."
            ) from None
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        raise DataFormatError(
            f"{name} must have {' or '.join(map(str, ndims))} dimensions{where}; "
            f"got shape {arr.shape}."
        )
    if (
        not allow_nan
        and np.issubdtype(arr.dtype, np.floating)
        and arr.size
        and not np.isfinite(arr).all()
    ):
        n_bad = int((~np.isfinite(arr)).sum())
        raise DataFormatError(f"{name} contains {n_bad} NaN/inf values{where}.")
    return arr
