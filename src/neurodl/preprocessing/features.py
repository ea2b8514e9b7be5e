"""Features for classical baselines: log band power, flattening."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin

from ..exceptions import ConfigError, DataFormatError
from ._base import check_epochs_data, check_fitted, check_option, check_positive

__all__ = ["PSD_METHODS", "LogBandPower", "Vectorizer"]


def _welch(X: np.ndarray, sfreq: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    return signal.welch(X, fs=sfreq, nperseg=nperseg, axis=-1)


def _periodogram(X: np.ndarray, sfreq: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    return signal.periodogram(X, fs=sfreq, window="hann", axis=-1)


#: Spectral estimators: name -> f(X, sfreq, nperseg) -> (freqs, psd).
PSD_METHODS: dict[str, Callable[[np.ndarray, float, int], tuple[np.ndarray, np.ndarray]]] = {
    "welch": _welch,
    "periodogram": _periodogram,
}


class LogBandPower(TransformerMixin, BaseEstimator):
    """Log power in frequency bands per channel (stateless; :func:`scipy.signal.welch`).

    The band power is the sum of the power spectral density over the frequency bins with
    ``lo <= f < hi``, times the bin width; the output is its natural log.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    bands : sequence of (float, float), default=((4, 8), (8, 13), (13, 30))
        Frequency bands in Hz.
    method : {"welch", "periodogram"}, default="welch"
        Power spectrum: Welch's averaged segments or one Hann-windowed periodogram.
    nperseg : int or None, default=None
        Welch segment length in samples; None: ``min(n_times, 256)``.
    eps : float, default=1e-30
        Added to the power before the log.

    Attributes
    ----------
    freqs_ : ndarray of shape (n_freqs,)
        Frequencies of the spectrum.
    band_masks_ : ndarray of bool, shape (n_bands, n_freqs)
    n_channels_, n_times_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((4, 2, 500))
    >>> LogBandPower(sfreq=250.0).fit_transform(X).shape
    (4, 6)
    """

    def __init__(
        self,
        sfreq: float = 1.0,
        bands: Any = ((4, 8), (8, 13), (13, 30)),
        method: str = "welch",
        nperseg: int | None = None,
        eps: float = 1e-30,
    ) -> None:
        self.sfreq = sfreq
        self.bands = bands
        self.method = method
        self.nperseg = nperseg
        self.eps = eps

    def _check_params(self) -> tuple[float, np.ndarray]:
        sfreq = check_positive("sfreq", self.sfreq)
        check_option("method", self.method, PSD_METHODS)
        try:
            bands = np.asarray(self.bands, dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            raise ConfigError(
                f"'bands' must be a list of (low, high) pairs in Hz; got {self.bands!r}."
            ) from None
        bad = [tuple(b) for b in bands if not (0 <= b[0] < b[1] <= sfreq / 2)]  # type: ignore[operator]
        if len(bands) == 0 or bad:
            raise ConfigError(
                f"'bands' must be (low, high) pairs with 0 <= low < high <= Nyquist "
                f"({sfreq / 2:g} Hz at sfreq={sfreq:g}); got {self.bands!r}."  # type: ignore[operator]
            )
        if self.nperseg is not None and (
            not isinstance(self.nperseg, (int, np.integer)) or self.nperseg < 2
        ):
            raise ConfigError(f"'nperseg' must be an integer >= 2 or None; got {self.nperseg!r}.")
        check_positive("eps", self.eps)
        return sfreq, bands  # type: ignore[return-value]

    def _nperseg(self, n_times: int) -> int:
        return min(n_times, 256) if self.nperseg is None else min(n_times, int(self.nperseg))

    def fit(self, X: Any, y: Any = None) -> LogBandPower:
        """Validate and compute the band masks for X of shape (n_samples, n_channels, n_times)."""
        sfreq, bands = self._check_params()
        X = check_epochs_data(X)
        self.n_channels_, self.n_times_ = X.shape[1], X.shape[2]
        freqs, _ = PSD_METHODS[self.method](X[:1, :1], sfreq, self._nperseg(X.shape[2]))
        masks = np.array([(freqs >= lo) & (freqs < hi) for lo, hi in bands])
        empty = [tuple(b) for b, m in zip(bands.tolist(), masks) if not m.any()]
        if empty:
            raise ConfigError(
                f"Band(s) {empty} contain no frequency bin at a resolution of "
                f"{freqs[1] - freqs[0]:g} Hz; widen them or use longer segments ('nperseg')."
            )
        self.freqs_ = freqs
        self.band_masks_ = masks
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return log band power of shape (n_samples, n_channels * n_bands), channel-major."""
        check_fitted(self, ["freqs_", "band_masks_"])
        X = check_epochs_data(X)
        if X.shape[1:] != (self.n_channels_, self.n_times_):
            raise DataFormatError(
                f"X has samples of shape {X.shape[1:]} but LogBandPower was fitted on "
                f"{(self.n_channels_, self.n_times_)}."
            )
        sfreq, _ = self._check_params()
        freqs, psd = PSD_METHODS[self.method](X, sfreq, self._nperseg(X.shape[2]))
        df = freqs[1] - freqs[0]
        power = np.einsum("scf,bf->scb", psd, self.band_masks_.astype(float)) * df
        return np.log(power + self.eps).reshape(len(X), -1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``ch{c}_{lo}-{hi}Hz`` (or ``{input_features[c]}_{lo}-{hi}Hz``)."""
        check_fitted(self, "band_masks_")
        names = (
            list(input_features)
            if input_features is not None
            else [f"ch{c}" for c in range(self.n_channels_)]
        )
        _, bands = self._check_params()
        return np.array([f"{ch}_{lo:g}-{hi:g}Hz" for ch in names for lo, hi in bands], dtype=object)


class Vectorizer(TransformerMixin, BaseEstimator):
    """Flatten each sample to a vector: (n_samples, ...) -> (n_samples, n_features).

    Attributes
    ----------
    features_shape_ : tuple of int
        Shape of one sample seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> Vectorizer().fit_transform(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def fit(self, X: Any, y: Any = None) -> Vectorizer:
        """Record the shape of one sample of X (n_samples, ...)."""
        X = np.asarray(X)
        if X.ndim < 2:
            raise DataFormatError(
                f"X must have at least 2 dimensions (n_samples, ...); got shape {X.shape}."
            )
        self.features_shape_ = X.shape[1:]
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return X reshaped to (n_samples, n_features)."""
        check_fitted(self, "features_shape_")
        X = np.asarray(X)
        if X.shape[1:] != self.features_shape_:
            raise DataFormatError(
                f"X has samples of shape {X.shape[1:]} but Vectorizer was "
                f"fitted on {self.features_shape_}."
            )
        return X.reshape(len(X), -1)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Return X reshaped to (n_samples, *features_shape_)."""
        check_fitted(self, "features_shape_")
        X = np.asarray(X)
        return X.reshape((len(X), *self.features_shape_))
