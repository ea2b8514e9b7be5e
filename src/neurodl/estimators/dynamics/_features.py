"""History features of binned activity: lagged design matrices and history windows.

Re-exported by :mod:`neurodl.analyses.dynamics.binning` (their public home for analyses).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = ["history_windows", "lagged_features"]


def lagged_features(X: Any, n_lags: int) -> np.ndarray:
    """Stack the current and ``n_lags - 1`` previous bins (zero-padded at the start).

    Parameters
    ----------
    X : ndarray of shape (n_bins, n_features)
    n_lags : int
        Number of bins of history including the current one.

    Returns
    -------
    lagged : ndarray of shape (n_bins, n_lags * n_features)
        Columns ``[X_t, X_{t-1}, ..., X_{t-n_lags+1}]``.

    Examples
    --------
    4 bins of 2 features, the current and the previous bin side by side:

    >>> X = np.arange(8.0).reshape(4, 2)
    >>> lagged_features(X, n_lags=2)
    array([[0., 1., 0., 0.],
           [2., 3., 0., 1.],
           [4., 5., 2., 3.],
           [6., 7., 4., 5.]])
    >>> lagged_features(X, n_lags=0)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'n_lags'. Allowed: an integer >= 1; got 0.
    """
    x = np.asarray(X, dtype=float)
    if isinstance(n_lags, bool) or not isinstance(n_lags, int | np.integer) or n_lags < 1:
        raise ConfigError(f"Invalid value for 'n_lags'. Allowed: an integer >= 1; got {n_lags!r}.")
    if x.ndim != 2:
        raise DataFormatError(f"'X' must be 2-D (n_bins, n_features); got shape {x.shape}.")
    T, F = x.shape
    out = np.zeros((T, n_lags * F))
    for lag in range(n_lags):
        out[lag:, lag * F : (lag + 1) * F] = x[: T - lag]
    return out


def history_windows(X: Any, n_lags: int) -> np.ndarray:
    """History windows ending at each bin, zero-padded at the start.

    Parameters
    ----------
    X : ndarray of shape (n_bins, n_features)
    n_lags : int

    Returns
    -------
    windows : ndarray of shape (n_bins, n_features, n_lags)
        ``windows[t, :, -1]`` is bin ``t``; ``windows[t, :, 0]`` is bin ``t - n_lags + 1``.

    Examples
    --------
    The 3-bin window ending at bin 2 of 4 bins x 2 features (oldest bin first), the input of
    a recurrent decoder:

    >>> X = np.arange(8.0).reshape(4, 2)
    >>> windows = history_windows(X, n_lags=3)
    >>> windows.shape
    (4, 2, 3)
    >>> windows[2]
    array([[0., 2., 4.],
           [1., 3., 5.]])
    >>> windows[0, :, :2].tolist()  # zero-padded before the first bin
    [[0.0, 0.0], [0.0, 0.0]]
    """
    x = np.asarray(X, dtype=float)
    lagged = lagged_features(x, n_lags).reshape(x.shape[0], n_lags, x.shape[1])
    return np.ascontiguousarray(lagged[:, ::-1].transpose(0, 2, 1))
