"""Window features for seizure detection that do not depend on where the focus is.

Per channel: log line length, log band power and relative log band power (band power minus
total power, the spectral shape). Channels are then summarised by order statistics across
channels (max, second largest, median), so a detector trained on subjects with a left temporal
focus also works on a subject with a right frontal one, and on montages with other channels.
Each recording's features are centred on their own median (:func:`center_per_recording`),
which removes gain differences between amplifiers and subjects without using any label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "DEFAULT_BANDS",
    "SEIZURE_FEATURES",
    "center_per_recording",
    "channel_features",
    "summarize_channels",
    "window_features",
]

#: Frequency bands (Hz) of the band-power features; bands above Nyquist are dropped.
DEFAULT_BANDS: tuple[tuple[float, float], ...] = (
    (0.5, 2.5),
    (2.5, 7.0),
    (7.0, 13.0),
    (13.0, 30.0),
    (30.0, 45.0),
)
_EPS = 1e-30


def _line_length(
    X: np.ndarray, sfreq: float, bands: np.ndarray, ctx: dict
) -> tuple[np.ndarray, list[str]]:
    ll = np.abs(np.diff(X, axis=-1)).mean(axis=-1) * sfreq
    return np.log(ll + _EPS)[..., None], ["line_length"]


def _variance(
    X: np.ndarray, sfreq: float, bands: np.ndarray, ctx: dict
) -> tuple[np.ndarray, list[str]]:
    return np.log(X.var(axis=-1) + _EPS)[..., None], ["variance"]


def _band_powers(
    X: np.ndarray, sfreq: float, bands: np.ndarray, ctx: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Band powers and total power, computed once per call of :func:`channel_features`."""
    if "bp" in ctx:
        return ctx["bp"]
    from scipy.signal import welch

    nper = min(X.shape[-1], int(2 * sfreq))
    freqs, psd = welch(X, fs=sfreq, nperseg=nper, axis=-1)
    df = freqs[1] - freqs[0]
    bp = np.stack(
        [psd[..., (freqs >= lo) & (freqs < hi)].sum(-1) * df for lo, hi in bands], axis=-1
    )
    total = psd[..., (freqs >= bands[0, 0]) & (freqs < bands[-1, 1])].sum(-1) * df
    ctx["bp"] = (bp, total)
    return bp, total


def _bandpower(
    X: np.ndarray, sfreq: float, bands: np.ndarray, ctx: dict
) -> tuple[np.ndarray, list[str]]:
    bp, _ = _band_powers(X, sfreq, bands, ctx)
    return np.log(bp + _EPS), [f"bp_{lo:g}-{hi:g}" for lo, hi in bands]


def _relative(
    X: np.ndarray, sfreq: float, bands: np.ndarray, ctx: dict
) -> tuple[np.ndarray, list[str]]:
    bp, total = _band_powers(X, sfreq, bands, ctx)
    rel = np.log(bp + _EPS) - np.log(total + _EPS)[..., None]
    return rel, [f"rel_{lo:g}-{hi:g}" for lo, hi in bands]


#: Feature families: name -> function(X, sfreq, bands, cache) -> (values (n, n_ch, k), names).
SEIZURE_FEATURES: dict[str, Callable[..., tuple[np.ndarray, list[str]]]] = {
    "line_length": _line_length,
    "variance": _variance,
    "bandpower": _bandpower,
    "relative_bandpower": _relative,
}


def _check_bands(bands: Any, sfreq: float) -> np.ndarray:
    try:
        arr = np.asarray(bands, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        raise ConfigError(f"'bands' must be (low, high) pairs in Hz; got {bands!r}.") from None
    nyq = sfreq / 2.0
    arr = np.array([(lo, min(hi, nyq)) for lo, hi in arr if lo < nyq]).reshape(-1, 2)
    if len(arr) == 0 or (arr[:, 0] >= arr[:, 1]).any() or (arr[:, 0] < 0).any():
        raise ConfigError(
            f"'bands' must be (low, high) pairs with 0 <= low < high and low below Nyquist "
            f"({nyq:g} Hz); got {bands!r}."
        )
    return arr


def channel_features(
    X: Any,
    sfreq: float,
    *,
    features: Sequence[str] = ("line_length", "bandpower", "relative_bandpower"),
    bands: Any = DEFAULT_BANDS,
) -> tuple[np.ndarray, list[str]]:
    """Per-channel features of each window.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
    sfreq : float
    features : sequence of str
        Names from :data:`SEIZURE_FEATURES`.
    bands : sequence of (float, float)

    Returns
    -------
    F : ndarray of shape (n_windows, n_channels, n_features)
    names : list of str

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((10, 3, 256))  # 10 windows, 3 channels
    >>> F, names = channel_features(X, 128.0)
    >>> F.shape, names[:2]
    ((10, 3, 11), ['line_length', 'bp_0.5-2.5'])
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3 or X.shape[-1] < 4:
        raise DataFormatError(
            f"X must have shape (n_windows, n_channels, n_times >= 4); got {X.shape}."
        )
    unknown = [f for f in features if f not in SEIZURE_FEATURES]
    if unknown or not features:
        raise ConfigError(
            f"Invalid value for 'features'. Allowed: a non-empty list of "
            f"{', '.join(map(repr, SEIZURE_FEATURES))}; got {list(features)!r}."
        )
    b = _check_bands(bands, float(sfreq))
    parts, names, ctx = [], [], {}  # type: ignore[var-annotated]
    for name in features:
        vals, n = SEIZURE_FEATURES[name](X, float(sfreq), b, ctx)
        parts.append(vals)
        names.extend(n)
    return np.concatenate(parts, axis=-1), names


def summarize_channels(F: Any, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Order statistics across channels: max, second largest, median of each feature.

    Parameters
    ----------
    F : ndarray of shape (n_windows, n_channels, n_features)
    names : list of str

    Returns
    -------
    S : ndarray of shape (n_windows, 3 * n_features)
    names : list of str

    Examples
    --------
    >>> F = np.random.default_rng(0).standard_normal((10, 3, 2))
    >>> S, names = summarize_channels(F, ["ll", "bp"])
    >>> S.shape, names
    ((10, 6), ['ll_max', 'bp_max', 'll_2nd', 'bp_2nd', 'll_median', 'bp_median'])
    """
    F = np.asarray(F, dtype=float)
    srt = np.sort(F, axis=1)
    second = srt[:, -2] if F.shape[1] > 1 else srt[:, -1]
    S = np.concatenate([srt[:, -1], second, np.median(F, axis=1)], axis=1)
    out = [f"{n}_max" for n in names] + [f"{n}_2nd" for n in names]
    return S, out + [f"{n}_median" for n in names]


def center_per_recording(S: Any, recordings: Any) -> np.ndarray:
    """Subtract each recording's median from its windows' features (no labels used).

    Parameters
    ----------
    S : ndarray of shape (n_windows, n_features)
    recordings : array-like of shape (n_windows,)
        Recording id of each window.

    Returns
    -------
    ndarray of shape (n_windows, n_features)

    Examples
    --------
    >>> S = np.array([[1.0], [3.0], [10.0], [20.0]])
    >>> center_per_recording(S, ["a", "a", "b", "b"]).ravel().tolist()
    [-1.0, 1.0, -5.0, 5.0]
    """
    S = np.array(S, dtype=float)
    rec = np.asarray(recordings)
    for r in np.unique(rec):
        m = rec == r
        S[m] -= np.median(S[m], axis=0)
    return S


def window_features(
    X: Any,
    sfreq: float,
    *,
    features: Sequence[str] = ("line_length", "bandpower", "relative_bandpower"),
    bands: Any = DEFAULT_BANDS,
) -> tuple[np.ndarray, list[str]]:
    """Channel-summarised features of windows of one recording, centred on their median.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
        All windows of ONE recording (the centring uses them all).
    sfreq : float

    Returns
    -------
    S : ndarray of shape (n_windows, n_summary_features)
    names : list of str

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((10, 3, 256))
    >>> window_features(X, 128.0)[0].shape
    (10, 33)
    """
    F, names = channel_features(X, sfreq, features=features, bands=bands)
    S, snames = summarize_channels(F, names)
    return center_per_recording(S, np.zeros(len(S))), snames
