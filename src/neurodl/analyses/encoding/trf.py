"""Temporal response functions: ridge on time-lagged stimulus features (per-target penalties)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import ConfigError
from .fir import delay_features
from .ridge import RidgeCVPerTarget

__all__ = ["TRFResult", "fit_trf"]

#: Default penalties of :func:`fit_trf`.
TRF_ALPHAS = tuple(np.logspace(-2, 6, 17))


@dataclass
class TRFResult:
    """A fitted TRF.

    Attributes
    ----------
    times : ndarray of shape (n_lags,)
        Lags in seconds (positive: the response follows the stimulus).
    kernel : ndarray of shape (n_lags, n_features, n_targets)
    model : RidgeCVPerTarget

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> stim = rng.standard_normal((500, 1))
    >>> resp = np.roll(stim, 2, axis=0) + 0.1 * rng.standard_normal((500, 1))
    >>> trf = fit_trf(stim, resp, sfreq=100.0, tmin=0.0, tmax=0.05)
    >>> trf.times.round(2).tolist(), trf.kernel.shape
    ([0.0, 0.01, 0.02, 0.03, 0.04, 0.05], (6, 1, 1))
    """

    times: np.ndarray
    kernel: np.ndarray
    model: RidgeCVPerTarget


def fit_trf(
    stimulus: Any,
    response: Any,
    sfreq: float,
    tmin: float,
    tmax: float,
    *,
    runs: Any = None,
    alphas: Any = TRF_ALPHAS,
    cv: Any = 5,
) -> TRFResult:
    """Fit ``response[t] = sum_lag kernel[lag] . stimulus[t - lag]`` by per-target ridge.

    Parameters
    ----------
    stimulus : ndarray of shape (n_times, n_features)
    response : ndarray of shape (n_times, n_targets)
        E.g. EEG channels.
    sfreq : float
    tmin, tmax : float
        Lag range in seconds (``tmin < tmax``), both included.
    runs : array-like of shape (n_times,), optional
        Lags never cross runs; also used as CV groups.
    alphas, cv
        As in :class:`RidgeCVPerTarget`.

    Returns
    -------
    TRFResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> stim = rng.standard_normal((500, 1))  # 5 s at 100 Hz
    >>> resp = np.roll(stim, 2, axis=0) + 0.1 * rng.standard_normal((500, 1))  # 20 ms delay
    >>> trf = fit_trf(stim, resp, sfreq=100.0, tmin=0.0, tmax=0.05)
    >>> float(trf.times[np.argmax(trf.kernel[:, 0, 0])])
    0.02
    """
    if not tmin < tmax:
        raise ConfigError(f"Invalid lag range: need tmin < tmax; got {tmin!r}, {tmax!r}.")
    stim = np.asarray(stimulus, dtype=float)
    stim = stim[:, None] if stim.ndim == 1 else stim
    lags = np.arange(int(np.round(tmin * sfreq)), int(np.round(tmax * sfreq)) + 1)
    X = delay_features(stim, lags, runs=runs)
    model = RidgeCVPerTarget(alphas, cv=cv).fit(X, response, groups=runs)
    coef = model.coef_ if model.coef_.ndim == 2 else model.coef_[None]
    kernel = coef.T.reshape(lags.size, stim.shape[1], -1)
    return TRFResult(lags / sfreq, kernel, model)
