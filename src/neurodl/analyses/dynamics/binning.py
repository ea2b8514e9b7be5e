"""Ingestion for population dynamics: spike binning, smoothing, behaviour alignment, calcium.

Every function returns plain arrays in the time-major layouts the rest of
:mod:`neurodl.analyses.dynamics` uses: continuous data ``(n_bins, n_neurons)``, trials
``(n_trials, n_bins, n_neurons)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ...data import Recording, SpikeTrains
from ...estimators.dynamics._features import history_windows, lagged_features
from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "BEHAVIOR_TRANSFORMS",
    "align_behavior",
    "bin_spikes",
    "bin_trials",
    "history_windows",
    "lagged_features",
    "read_calcium",
    "smooth_counts",
    "transform_behavior",
]


def _check_bin_size(bin_size: Any) -> float:
    if isinstance(bin_size, bool) or not isinstance(bin_size, int | float) or not bin_size > 0:
        raise ConfigError(
            f"Invalid value for 'bin_size'. Allowed: a positive number (seconds); got {bin_size!r}."
        )
    return float(bin_size)


def bin_spikes(
    spikes: SpikeTrains | list[np.ndarray],
    bin_size: float,
    *,
    t_start: float | None = None,
    t_stop: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bin spike times continuously.

    Parameters
    ----------
    spikes : SpikeTrains or list of ndarray
        Spike times (seconds) per unit.
    bin_size : float
        Bin width in seconds.
    t_start, t_stop : float or None
        Time span; default: first to last spike.

    Returns
    -------
    counts : ndarray of int, shape (n_bins, n_units)
    edges : ndarray of shape (n_bins + 1,)

    Examples
    --------
    >>> counts, edges = bin_spikes([np.array([0.01, 0.02, 0.15])], 0.1, t_start=0.0, t_stop=0.2)
    >>> counts.ravel().tolist(), edges.tolist()
    ([2, 1], [0.0, 0.1, 0.2])
    """
    bin_size = _check_bin_size(bin_size)
    times = spikes.times if isinstance(spikes, SpikeTrains) else [np.asarray(t) for t in spikes]
    nonempty = [t for t in times if t.size]
    t0 = t_start if t_start is not None else (min(t[0] for t in nonempty) if nonempty else 0.0)
    t1 = (
        t_stop
        if t_stop is not None
        else (max(t[-1] for t in nonempty) + bin_size if nonempty else bin_size)
    )
    if not t1 > t0:
        raise ConfigError(f"'t_stop' must be after 't_start'; got {t0!r} and {t1!r}.")
    n_bins = max(int(np.floor((t1 - t0) / bin_size + 1e-9)), 1)
    edges = t0 + bin_size * np.arange(n_bins + 1)
    counts = (
        np.stack([np.histogram(t, edges)[0] for t in times], axis=1)
        if times
        else np.zeros((n_bins, 0), int)
    )
    return counts, edges


def bin_trials(
    spikes: SpikeTrains,
    bin_size: float,
    *,
    align: str = "start_time",
    t_before: float = 0.0,
    t_after: float | None = None,
    trials: Any = None,
) -> np.ndarray:
    """Bin spikes in windows aligned to trial events.

    Parameters
    ----------
    spikes : SpikeTrains
        With a ``trials`` table.
    bin_size : float
        Bin width in seconds.
    align : str, default="start_time"
        Column of the trial table giving each trial's alignment time.
    t_before : float, default=0.0
        Seconds before the alignment time included.
    t_after : float or None
        Seconds after the alignment time; default: the shortest ``stop_time - align`` among the
        selected trials.
    trials : array of bool or int, optional
        Rows of the trial table to use; default all.

    Returns
    -------
    counts : ndarray of int, shape (n_trials, n_bins, n_units)

    Examples
    --------
    >>> import pandas as pd
    >>> from neurodl.data import SpikeTrains
    >>> rng = np.random.default_rng(0)
    >>> starts = 2.0 * np.arange(40)  # 40 trials of 1 s, one every 2 s
    >>> old = np.tile([0, 1], 20)
    >>> rate = np.array([[5, 5, 5], [15, 5, 5]])  # spikes per trial: unit 0 fires more on "old"
    >>> times = [np.concatenate([s + rng.uniform(0, 1, rng.poisson(rate[o, u]))
    ...                          for s, o in zip(starts, old)]) for u in range(3)]
    >>> trials = pd.DataFrame({"start_time": starts, "stop_time": starts + 1.0,
    ...                        "old_new": np.where(old, "old", "new")})
    >>> spikes = SpikeTrains(times, trials=trials)
    >>> counts = bin_trials(spikes, 0.25, t_before=0.5)  # 0.5 s before to 1 s after each start
    >>> counts.shape  # (trials, 6 bins of 250 ms, units)
    (40, 6, 3)
    >>> int(counts[:, :2].sum())  # nothing fires between trials
    0
    >>> counts[:, :, 0].sum(axis=1)[:4].tolist()  # unit 0: new, old, new, old trial
    [3, 18, 7, 16]
    """
    bin_size = _check_bin_size(bin_size)
    if spikes.trials is None:
        raise DataFormatError("'spikes' has no trial table; use bin_spikes for continuous binning.")
    table = (
        spikes.trials
        if trials is None
        else spikes.trials.iloc[np.asarray(trials)]
        if (np.asarray(trials).dtype != bool)
        else spikes.trials[np.asarray(trials)]
    )
    if align not in table.columns:
        raise ConfigError(
            f"Invalid value for 'align'. Allowed: a trial-table column "
            f"({', '.join(map(str, table.columns))}); got {align!r}."
        )
    onsets = table[align].to_numpy(dtype=float)
    if not np.isfinite(onsets).all():
        raise DataFormatError(f"Trial column {align!r} has missing values in the selected trials.")
    if t_after is None:
        t_after = float(np.min(table["stop_time"].to_numpy(dtype=float) - onsets))
    n_bins = int(np.floor((t_before + t_after) / bin_size + 1e-9))
    if n_bins < 1:
        raise ConfigError(
            f"The window (t_before={t_before}, t_after={t_after}) is shorter than one bin of "
            f"{bin_size} s."
        )
    offsets = -t_before + bin_size * np.arange(n_bins + 1)
    out = np.zeros((len(onsets), n_bins, spikes.n_units), dtype=np.int64)
    for u, times in enumerate(spikes.times):
        for i, t0 in enumerate(onsets):
            out[i, :, u] = np.histogram(times, t0 + offsets)[0]
    return out


def smooth_counts(counts: Any, sigma: float, *, axis: int = -2) -> np.ndarray:
    """Gaussian-smooth counts along time.

    Parameters
    ----------
    counts : ndarray
        E.g. (n_bins, n_neurons) or (n_trials, n_bins, n_neurons).
    sigma : float
        Kernel standard deviation in bins (0 returns a float copy).
    axis : int, default=-2
        Time axis.

    Returns
    -------
    smoothed : ndarray of the same shape (float)

    Examples
    --------
    >>> counts = np.zeros((1, 9, 1))
    >>> counts[0, 4, 0] = 1.0
    >>> out = smooth_counts(counts, sigma=1.0)  # along bins (axis -2)
    >>> out.shape, round(float(out.sum()), 3), int(out[0, :, 0].argmax())
    ((1, 9, 1), 1.0, 4)
    """
    x = np.asarray(counts, dtype=float)
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or sigma < 0:
        raise ConfigError(f"Invalid value for 'sigma'. Allowed: a number >= 0; got {sigma!r}.")
    if sigma == 0:
        return x.copy()
    return gaussian_filter1d(x, float(sigma), axis=axis, mode="nearest")


def align_behavior(times: Any, values: Any, edges: Any, *, method: str = "mean") -> np.ndarray:
    """Resample a behaviour signal onto spike-count bins.

    Parameters
    ----------
    times : ndarray of shape (n_samples,)
        Sample times of the behaviour (seconds, increasing).
    values : ndarray of shape (n_samples,) or (n_samples, n_dims)
    edges : ndarray of shape (n_bins + 1,)
        Bin edges (from :func:`bin_spikes`).
    method : {"mean", "interp"}, default="mean"
        Mean of the samples inside each bin (empty bins interpolated), or linear interpolation
        at bin centres.

    Returns
    -------
    aligned : ndarray of shape (n_bins, n_dims)

    Examples
    --------
    >>> times = np.arange(0.0, 1.0, 0.01)  # 100 Hz behaviour
    >>> aligned = align_behavior(times, 2 * times, np.linspace(0.0, 1.0, 6))  # 5 bins of 200 ms
    >>> aligned.shape, aligned[:, 0].round(2).tolist()
    ((5, 1), [0.19, 0.59, 1.0, 1.4, 1.79])
    """
    t = np.asarray(times, dtype=float).reshape(-1)
    v = np.asarray(values, dtype=float)
    v = v[:, None] if v.ndim == 1 else v
    e = np.asarray(edges, dtype=float)
    if v.shape[0] != t.size:
        raise DataFormatError(f"{t.size} behaviour times for {v.shape[0]} samples.")
    if method not in _ALIGN:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {', '.join(map(repr, _ALIGN))}; got {method!r}."
        )
    return _ALIGN[method](t, v, e)


def _align_interp(t: np.ndarray, v: np.ndarray, e: np.ndarray) -> np.ndarray:
    centres = 0.5 * (e[:-1] + e[1:])
    return np.column_stack([np.interp(centres, t, v[:, d]) for d in range(v.shape[1])])


def _align_mean(t: np.ndarray, v: np.ndarray, e: np.ndarray) -> np.ndarray:
    idx = np.digitize(t, e) - 1
    ok = (idx >= 0) & (idx < len(e) - 1)
    n = np.bincount(idx[ok], minlength=len(e) - 1).astype(float)
    out = np.column_stack(
        [np.bincount(idx[ok], v[ok, d], minlength=len(e) - 1) for d in range(v.shape[1])]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out = out / n[:, None]
    empty = n == 0
    if empty.any():
        out[empty] = _align_interp(t, v, e)[empty]
    return out


_ALIGN = {"mean": _align_mean, "interp": _align_interp}


def _circular(v: np.ndarray, period: float | None) -> np.ndarray:
    if period is None or not period > 0:
        raise ConfigError(f"transform 'circular' needs a positive 'period'; got {period!r}.")
    phase = 2 * np.pi * v.reshape(len(v), -1)[:, 0] / period
    return np.column_stack([np.cos(phase), np.sin(phase)])


#: behaviour transform -> f(values (n, d), period) -> (n, d').
BEHAVIOR_TRANSFORMS = {
    "none": lambda v, period: v.reshape(len(v), -1),
    "circular": _circular,
}


def transform_behavior(
    values: Any, transform: str = "none", *, period: float | None = None
) -> np.ndarray:
    """Apply a behaviour transform (``"circular"``: position on a loop -> (cos, sin)).

    Returns
    -------
    out : ndarray of shape (n_samples, n_dims)

    Examples
    --------
    >>> transform_behavior(np.array([0.0, 0.25, 0.5]), "circular", period=1.0).round(3).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]
    """
    if transform not in BEHAVIOR_TRANSFORMS:
        raise ConfigError(
            f"Invalid value for 'transform'. Allowed: {', '.join(map(repr, BEHAVIOR_TRANSFORMS))}; "
            f"got {transform!r}."
        )
    return BEHAVIOR_TRANSFORMS[transform](np.asarray(values, dtype=float), period)


def read_calcium(
    path: str | Path,
    *,
    fs: float | None = None,
    key: str | None = None,
    axis_order: str = "channels_times",
    **kwargs: Any,
) -> tuple[np.ndarray, float | None]:
    """Read calcium dF/F as ``(n_frames, n_cells)`` from a suite2p folder or an array file.

    Parameters
    ----------
    path : str or Path
        A suite2p plane folder (read with :func:`neurodl.io.spikes.read_suite2p`: neuropil
        subtraction and percentile baseline) or a ``.mat``/``.npy``/``.npz``/``.csv`` file
        (:func:`neurodl.io.arrays.read_array`).
    fs : float or None
        Frame rate (Hz); required for suite2p folders without ``ops.npy``.
    key : str or None
        Variable name in a ``.mat``/``.npz`` file.
    axis_order : str, default="channels_times"
        Layout of an array file (``"channels_times"`` or ``"times_channels"``).
    **kwargs
        Passed to the reader (e.g. ``neuropil_coef``, ``baseline_percentile``).

    Returns
    -------
    dff : ndarray of shape (n_frames, n_cells)
    sfreq : float or None

    Examples
    --------
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/dff.npy", rng.normal(size=(3, 100)))  # 3 cells x 100 frames
    ...     dff, sfreq = read_calcium(f"{tmp}/dff.npy", fs=30.0)
    ...     _, unknown = read_calcium(f"{tmp}/dff.npy")
    >>> dff.shape, sfreq, unknown  # time-major; no frame rate given: None
    ((100, 3), 30.0, None)
    """
    from ...io.arrays import read_array
    from ...io.spikes import read_suite2p

    p = Path(path)
    if p.is_dir():
        rec = read_suite2p(p, fs=fs, **kwargs)
    else:
        if axis_order not in ("channels_times", "times_channels"):
            raise ConfigError(
                "Invalid value for 'axis_order'. Allowed: 'channels_times', 'times_channels'; "
                f"got {axis_order!r}."
            )
        # read_array needs a rate for continuous data; a placeholder of 1 Hz is replaced by None.
        rec = read_array(
            p, sfreq=fs if fs is not None else 1.0, key=key, axis_order=axis_order, **kwargs
        )
        if fs is None:
            return np.asarray(rec.data, dtype=float).T.copy(), None
    if not isinstance(rec, Recording):
        raise DataFormatError(f"{p}: expected a continuous recording; got {type(rec).__name__}.")
    return np.asarray(rec.data, dtype=float).T.copy(), float(rec.sfreq)
