"""Per-recording fingerprint features and the mitigations applied to the signals before them.

A recording's profile is one vector: the Fisher-z channel correlations (the connectome of Finn
et al. 2015), the log-Euclidean covariance, or the log band power of every channel. The
mitigations act on a recording's signals alone (no other recording is needed), so they can be
applied before data are shared: per-channel standardisation, or re-centring the recording's
covariance to the identity (whitening by its own mean window covariance, the per-recording form
of Euclidean alignment / Riemannian re-centring).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEFAULT_BANDS",
    "FEATURES",
    "MITIGATIONS",
    "bandpass",
    "mean_covariance",
    "mitigate",
    "recording_features",
]

#: Feature names accepted by :func:`recording_features`.
FEATURES = ("correlation", "covariance", "bandpower")
#: Mitigation names accepted by :func:`mitigate`.
MITIGATIONS = ("none", "standardise", "recentre")
#: Default frequency bands (Hz) of the ``bandpower`` feature.
DEFAULT_BANDS: tuple[tuple[float, float], ...] = (
    (1.0, 4.0),
    (4.0, 8.0),
    (8.0, 10.0),
    (10.0, 13.0),
    (13.0, 20.0),
    (20.0, 30.0),
)


def _check_option(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(
            f"Invalid value for {name!r}. Allowed: {', '.join(map(repr, allowed))}; got {value!r}."
        )


def _window_samples(n_times: int, sfreq: float, window: float) -> int:
    n = round(window * sfreq)
    if n < 2 or n > n_times:
        raise ValueError(
            f"Invalid value for 'window': {window!r} s gives {n} samples at {sfreq:g} Hz; it "
            f"must give at least 2 and at most the recording's {n_times} samples."
        )
    return n


def bandpass(
    data: np.ndarray, sfreq: float, l_freq: float | None, h_freq: float | None
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (order 4) of ``data``.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_times)
    sfreq : float
        Sampling rate (Hz).
    l_freq, h_freq : float or None
        Pass band edges in Hz (None: no high-pass / low-pass; both None: ``data`` unchanged).

    Returns
    -------
    ndarray of shape (n_channels, n_times)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> data = rng.standard_normal((4, 1000))  # 4 channels, 10 s at 100 Hz
    >>> out = bandpass(data, 100.0, 8.0, 13.0)
    >>> out.shape, bool(out.std() < 0.5 * data.std())  # most of the white noise is outside 8-13 Hz
    ((4, 1000), True)
    """
    from scipy.signal import butter, sosfiltfilt

    if l_freq is None and h_freq is None:
        return np.asarray(data, dtype=float)
    nyq = sfreq / 2.0
    if h_freq is not None and not 0 < h_freq < nyq:
        raise ValueError(f"'h_freq' must lie in (0, {nyq:g}) Hz; got {h_freq!r}.")
    if l_freq is not None and not 0 < l_freq < (h_freq or nyq):
        raise ValueError(f"'l_freq' must lie in (0, h_freq); got {l_freq!r}.")
    if l_freq is None:
        sos = butter(4, h_freq, btype="lowpass", fs=sfreq, output="sos")
    elif h_freq is None:
        sos = butter(4, l_freq, btype="highpass", fs=sfreq, output="sos")
    else:
        sos = butter(4, [l_freq, h_freq], btype="bandpass", fs=sfreq, output="sos")
    return sosfiltfilt(sos, np.asarray(data, dtype=float), axis=-1)


def mean_covariance(data: np.ndarray, sfreq: float, window: float) -> np.ndarray:
    """Mean of the covariances of consecutive non-overlapping windows.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_times)
    sfreq : float
    window : float
        Window length in seconds (each window is de-meaned; the tail shorter than a window is
        left out).

    Returns
    -------
    ndarray of shape (n_channels, n_channels)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> data = rng.standard_normal((4, 1000))  # 4 channels, 10 s at 100 Hz
    >>> C = mean_covariance(data, 100.0, window=2.0)  # mean over 5 windows of 2 s
    >>> C.shape, bool(np.allclose(np.diag(C), 1.0, atol=0.2))
    ((4, 4), True)
    """
    x = np.asarray(data, dtype=float)
    n = _window_samples(x.shape[1], sfreq, window)
    n_win = x.shape[1] // n
    w = x[:, : n_win * n].reshape(x.shape[0], n_win, n)
    w = w - w.mean(axis=2, keepdims=True)
    return np.einsum("cwt,dwt->cd", w, w) / (n_win * (n - 1))


def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(c)
    floor = max(vals.max(), 0.0) * 1e-10 + np.finfo(float).tiny
    return (vecs / np.sqrt(np.maximum(vals, floor))) @ vecs.T


def mitigate(data: np.ndarray, sfreq: float, how: str, *, window: float = 2.0) -> np.ndarray:
    """One recording's signals with its subject-specific structure reduced.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_times)
    sfreq : float
    how : {"none", "standardise", "recentre"}
        ``standardise``: every channel de-meaned and scaled to unit variance (removes amplitude
        differences; the correlations stay). ``recentre``: the signals whitened by the inverse
        square root of the recording's mean window covariance, so its covariance becomes the
        identity (removes the spatial covariance structure; the spectra of the whitened
        components stay).
    window : float, default=2.0
        Window (s) of the mean covariance used by ``recentre``.

    Returns
    -------
    ndarray of shape (n_channels, n_times)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> data = rng.standard_normal((4, 1000))  # 4 channels, 10 s at 100 Hz
    >>> mixed = np.array([[1.0, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]) @ data
    >>> white = mitigate(mixed, 100.0, "recentre")
    >>> white.shape, bool(np.allclose(mean_covariance(white, 100.0, 2.0), np.eye(4), atol=1e-6))
    ((4, 1000), True)
    """
    _check_option("how", how, MITIGATIONS)
    x = np.asarray(data, dtype=float)
    if how == "none":
        return x
    x = x - x.mean(axis=1, keepdims=True)
    if how == "standardise":
        sd = x.std(axis=1, keepdims=True)
        return x / np.where(sd > 0, sd, 1.0)
    return _inv_sqrt(mean_covariance(x, sfreq, window)) @ x


def recording_features(
    data: np.ndarray,
    sfreq: float,
    *,
    kind: str = "correlation",
    window: float = 2.0,
    bands: Sequence[Sequence[float]] = DEFAULT_BANDS,
) -> np.ndarray:
    """The fingerprint profile of one recording.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_times)
    sfreq : float
    kind : {"correlation", "covariance", "bandpower"}
        ``correlation``: Fisher z of the channel correlations of the mean window covariance
        (upper triangle). ``covariance``: upper triangle (diagonal included, off-diagonal times
        sqrt 2) of the matrix logarithm of the mean window covariance. ``bandpower``: log10 of
        the Welch power (``window``-long segments) averaged within each band, per channel.
    window : float, default=2.0
        Window length (s) of the covariances and of the Welch segments.
    bands : sequence of (low, high), default=DEFAULT_BANDS
        Bands (Hz) of ``bandpower``.

    Returns
    -------
    ndarray of shape (n_features,)
        n_channels (n_channels - 1) / 2 for correlation, n_channels (n_channels + 1) / 2 for
        covariance, n_channels * n_bands for bandpower.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> data = rng.standard_normal((4, 1000))  # 4 channels, 10 s at 100 Hz
    >>> recording_features(data, 100.0, kind="correlation").shape  # 4 * 3 / 2 channel pairs
    (6,)
    >>> recording_features(data, 100.0, kind="bandpower").shape  # 4 channels x 6 bands
    (24,)
    """
    _check_option("kind", kind, FEATURES)
    x = np.asarray(data, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"'data' must be (n_channels, n_times); got shape {x.shape}.")
    n_ch = x.shape[0]
    if kind == "bandpower":
        from scipy.signal import welch

        n = _window_samples(x.shape[1], sfreq, window)
        freqs, psd = welch(x, fs=sfreq, nperseg=n, axis=-1)
        out = []
        for lo, hi in bands:
            sel = (freqs >= lo) & (freqs < hi)
            if not sel.any():
                raise ValueError(
                    f"Band ({lo}, {hi}) Hz holds no frequency of the {window:g} s Welch "
                    f"segments at {sfreq:g} Hz (resolution {freqs[1]:g} Hz, up to {freqs[-1]:g})."
                )
            out.append(np.log10(psd[:, sel].mean(axis=1) + np.finfo(float).tiny))
        return np.stack(out, axis=1).ravel()
    c = mean_covariance(x, sfreq, window)
    if kind == "correlation":
        d = np.sqrt(np.clip(np.diag(c), np.finfo(float).tiny, None))
        r = np.clip(c / np.outer(d, d), -0.999999, 0.999999)
        return np.arctanh(r[np.triu_indices(n_ch, 1)])
    vals, vecs = np.linalg.eigh(c)
    floor = max(vals.max(), 0.0) * 1e-10 + np.finfo(float).tiny
    log_c = (vecs * np.log(np.maximum(vals, floor))) @ vecs.T
    iu = np.triu_indices(n_ch)
    weights = np.where(iu[0] == iu[1], 1.0, np.sqrt(2.0))
    return log_c[iu] * weights
