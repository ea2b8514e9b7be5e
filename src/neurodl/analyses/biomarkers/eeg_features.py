"""Per-subject EEG features: log band power (per subject, no fit) and Riemannian covariances.

Both take one multichannel signal per subject, ``X`` of shape (n_subjects, n_channels, n_times)
(e.g. a subject's task recording). :class:`BandPowerFeatures` learns nothing across subjects;
:func:`covariance_tangent_features` is a pyRiemann pipeline whose tangent-space reference (the
Riemannian mean of the training covariances) is a fit, so it belongs inside the folds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ...exceptions import ConfigError, DataFormatError

__all__ = ["DEFAULT_BANDS", "BandPowerFeatures", "covariance_tangent_features"]

#: Default EEG bands (Hz): delta, theta, alpha, beta, low gamma.
DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((1, 4), (4, 8), (8, 13), (13, 30), (30, 45))


def _check_signals(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise DataFormatError(
            f"EEG features expect signals of shape (n_subjects, n_channels, n_times); got {X.shape}."
        )
    return X


class BandPowerFeatures(TransformerMixin, BaseEstimator):
    """Log mean power per channel and band (Welch), one vector per subject; stateless.

    Parameters
    ----------
    sfreq : float
        Sampling rate (Hz).
    bands : sequence of (low, high), default=DEFAULT_BANDS
        Frequency bands (Hz), each with low < high < sfreq / 2.
    window : float, default=2.0
        Welch segment length (s).
    relative : bool, default=False
        Divide each band's power by the total power of the bands first.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> BandPowerFeatures(100.0).fit_transform(rng.normal(size=(3, 2, 1000))).shape
    (3, 10)
    """

    def __init__(
        self,
        sfreq: float = 250.0,
        bands: Any = DEFAULT_BANDS,
        *,
        window: float = 2.0,
        relative: bool = False,
    ) -> None:
        self.sfreq = sfreq
        self.bands = bands
        self.window = window
        self.relative = relative

    def fit(self, X: Any, y: Any = None) -> BandPowerFeatures:
        bands = np.asarray(self.bands, dtype=float)
        if bands.ndim != 2 or bands.shape[1] != 2 or np.any(bands[:, 0] >= bands[:, 1]):
            raise ConfigError(
                f"Invalid value for 'bands'. Allowed: a list of [low, high] with low < high; "
                f"got {self.bands!r}."
            )
        if np.any(bands[:, 1] > self.sfreq / 2):
            raise ConfigError(
                f"Invalid value for 'bands': every high edge must be <= sfreq/2 = "
                f"{self.sfreq / 2:g} Hz; got {self.bands!r}."
            )
        self.n_channels_ = _check_signals(X).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Features of shape (n_subjects, n_channels * n_bands), channel-major."""
        from scipy.signal import welch

        X = _check_signals(X)
        nper = min(X.shape[-1], round(self.window * self.sfreq))
        freqs, psd = welch(X, fs=self.sfreq, nperseg=nper, axis=-1)
        power = np.stack(
            [psd[..., (freqs >= lo) & (freqs < hi)].mean(-1) for lo, hi in self.bands], axis=-1
        )
        if self.relative:
            power = power / power.sum(-1, keepdims=True)
        return np.log(power + 1e-30).reshape(len(X), -1)


class _BandpassFilter(TransformerMixin, BaseEstimator):
    """Zero-phase Butterworth band-pass per subject (stateless)."""

    def __init__(self, sfreq: float = 250.0, band: Any = (4.0, 30.0)) -> None:
        self.sfreq = sfreq
        self.band = band

    def fit(self, X: Any, y: Any = None) -> _BandpassFilter:
        return self

    def transform(self, X: Any) -> np.ndarray:
        from scipy.signal import butter, sosfiltfilt

        sos = butter(4, list(self.band), btype="bandpass", fs=self.sfreq, output="sos")
        return sosfiltfilt(sos, _check_signals(X), axis=-1)


def covariance_tangent_features(
    sfreq: float, *, band: tuple[float, float] = (4.0, 30.0), estimator: str = "oas"
) -> Any:
    """Band-pass -> per-subject covariance (pyRiemann) -> tangent space at the training mean.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``transform`` gives (n_subjects, n_channels * (n_channels + 1) / 2).

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((6, 3, 256))  # 6 subjects, 3 channels
    >>> covariance_tangent_features(128.0).fit_transform(X).shape  # 3 * 4 / 2 = 6 features
    (6, 6)
    """
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            ("bandpass", _BandpassFilter(sfreq, band)),
            ("covariance", Covariances(estimator=estimator)),
            ("tangent", TangentSpace(metric="riemann")),
        ]
    )
