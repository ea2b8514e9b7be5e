"""Band-pass and notch filtering of recordings and epoch arrays (MNE filters underneath)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..data import Recording
from ..exceptions import ConfigError
from ._base import (
    StatelessEpochsTransformer,
    capture_warnings,
    check_option,
    check_positive,
    check_recording,
)

__all__ = ["BandpassFilter", "NotchFilter", "filter_recording", "notch_filter_recording"]

#: (method, phase) -> the ``phase`` MNE expects. "causal" is minimum-phase FIR or one-pass IIR.
FILTER_PHASES: dict[str, dict[str, str]] = {
    "fir": {"zero": "zero", "causal": "minimum"},
    "iir": {"zero": "zero", "causal": "forward"},
}


def check_band(l_freq: Any, h_freq: Any, sfreq: float) -> tuple[float | None, float | None]:
    """Validate a pass band against the sampling rate; return the cut-offs as floats.

    Either edge may be None (high-pass or low-pass only), not both.
    """
    lo = check_positive("l_freq", l_freq, allow_none=True)
    hi = check_positive("h_freq", h_freq, allow_none=True)
    if lo is None and hi is None:
        raise ConfigError("At least one of 'l_freq' and 'h_freq' must be given; got both None.")
    nyquist = sfreq / 2.0
    if hi is not None and hi >= nyquist:
        raise ConfigError(
            f"'h_freq' must be below the Nyquist frequency sfreq/2 = {nyquist:g} Hz "
            f"(sfreq={sfreq:g} Hz); got h_freq={hi:g}."
        )
    if lo is not None and lo >= nyquist:
        raise ConfigError(
            f"'l_freq' must be below the Nyquist frequency sfreq/2 = {nyquist:g} Hz "
            f"(sfreq={sfreq:g} Hz); got l_freq={lo:g}."
        )
    if lo is not None and hi is not None and lo >= hi:
        raise ConfigError(f"'l_freq' must be below 'h_freq'; got l_freq={lo:g}, h_freq={hi:g}.")
    return lo, hi


def _check_method_phase(method: str, phase: str) -> str:
    check_option("method", method, FILTER_PHASES)
    return check_option("phase", phase, FILTER_PHASES[method])


def _filter_array(
    data: np.ndarray, sfreq: float, lo: float | None, hi: float | None, method: str, phase: str
) -> np.ndarray:
    from mne.filter import filter_data

    with capture_warnings():
        return filter_data(
            data,
            sfreq,
            lo,
            hi,
            method=method,
            phase=FILTER_PHASES[method][phase],
            copy=True,
            verbose="warning",
        )


def _check_notch(freqs: Any, sfreq: float) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(freqs, dtype=float)) if freqs is not None else np.zeros(0)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all() or (arr <= 0).any():
        raise ConfigError(f"'freqs' must be one or more positive frequencies (Hz); got {freqs!r}.")
    nyquist = sfreq / 2.0
    if (arr >= nyquist).any():
        raise ConfigError(
            f"Notch 'freqs' must be below the Nyquist frequency sfreq/2 = {nyquist:g} Hz "
            f"(sfreq={sfreq:g} Hz); got freqs={arr.tolist()}."
        )
    return arr


def _notch_array(data: np.ndarray, sfreq: float, freqs: np.ndarray, method: str) -> np.ndarray:
    from mne.filter import notch_filter

    with capture_warnings():
        return notch_filter(data, sfreq, freqs, method=method, copy=True, verbose="warning")


def filter_recording(
    rec: Recording,
    l_freq: float | None,
    h_freq: float | None,
    *,
    method: Literal["fir", "iir"] = "fir",
    phase: Literal["zero", "causal"] = "zero",
) -> Recording:
    """Band-, high- or low-pass filter a recording with :func:`mne.filter.filter_data`.

    Parameters
    ----------
    rec : Recording
        The continuous recording; its data have shape (n_channels, n_times).
    l_freq, h_freq : float or None
        Lower and upper pass-band edges in Hz; ``None`` leaves that side open (low-pass or
        high-pass). ``h_freq`` must be below the Nyquist frequency and above ``l_freq``.
    method : {"fir", "iir"}, default="fir"
        Windowed-sinc FIR (MNE defaults: firwin design, automatic length) or Butterworth IIR.
    phase : {"zero", "causal"}, default="zero"
        ``"zero"``: non-causal zero-phase filtering. ``"causal"``: minimum-phase FIR or
        one-pass IIR, so each output sample depends on past input only.

    Returns
    -------
    Recording
        A new recording (the input is not modified); annotations are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import Recording
    >>> rec = Recording(np.random.default_rng(0).standard_normal((2, 1000)), sfreq=250.0)
    >>> filter_recording(rec, 1.0, 40.0).data.shape
    (2, 1000)
    """
    check_recording(rec)
    _check_method_phase(method, phase)
    lo, hi = check_band(l_freq, h_freq, rec.sfreq)
    out = rec.copy()
    out.data = _filter_array(rec.data, rec.sfreq, lo, hi, method, phase)
    return out


def notch_filter_recording(
    rec: Recording, freqs: float | list[float], *, method: Literal["fir", "iir"] = "fir"
) -> Recording:
    """Remove line noise (and harmonics) with :func:`mne.filter.notch_filter`.

    Parameters
    ----------
    rec : Recording
        The continuous recording.
    freqs : float or list of float
        Frequencies to remove in Hz (e.g. ``[50, 100]``); each below the Nyquist frequency.
    method : {"fir", "iir"}, default="fir"
        FIR notch (MNE defaults) or IIR notch filters.

    Returns
    -------
    Recording
        A new recording with the notched data.

    Examples
    --------
    >>> from neurodl.data import Recording
    >>> t = np.arange(2500) / 250.0
    >>> rec = Recording(np.sin(2 * np.pi * 50 * t)[None, :] + np.sin(2 * np.pi * 5 * t), 250.0)
    >>> out = notch_filter_recording(rec, 50.0)
    >>> residual = out.data[0, 500:2000] - np.sin(2 * np.pi * 5 * t[500:2000])  # 5 Hz kept
    >>> out.data.shape, bool(np.abs(residual).max() < 0.05)
    ((1, 2500), True)
    """
    check_recording(rec)
    check_option("method", method, FILTER_PHASES)
    arr = _check_notch(freqs, rec.sfreq)
    out = rec.copy()
    out.data = _notch_array(rec.data, rec.sfreq, arr, method)
    return out


class BandpassFilter(StatelessEpochsTransformer, TransformerMixin, BaseEstimator):
    """Band-pass filter epochs along time (stateless; :func:`mne.filter.filter_data`).

    Parameters
    ----------
    l_freq, h_freq : float or None
        Pass-band edges in Hz (``None``: open on that side).
    sfreq : float
        Sampling rate of the epochs in Hz.
    method : {"fir", "iir"}, default="fir"
        Windowed-sinc FIR (MNE defaults) or Butterworth IIR.
    phase : {"zero", "causal"}, default="zero"
        ``"zero"``: non-causal zero-phase filtering. ``"causal"``: minimum-phase FIR or
        one-pass IIR (each output sample depends on past input only).

    Attributes
    ----------
    n_channels_ : int
        Number of channels seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((3, 2, 500))
    >>> BandpassFilter(8.0, 30.0, sfreq=250.0).fit_transform(X).shape
    (3, 2, 500)
    """

    def __init__(
        self,
        l_freq: float | None = None,
        h_freq: float | None = None,
        sfreq: float = 1.0,
        method: str = "fir",
        phase: str = "zero",
    ) -> None:
        self.l_freq = l_freq
        self.h_freq = h_freq
        self.sfreq = sfreq
        self.method = method
        self.phase = phase

    def _check_params(self) -> tuple[float, float | None, float | None]:
        sfreq = check_positive("sfreq", self.sfreq)
        _check_method_phase(self.method, self.phase)
        lo, hi = check_band(self.l_freq, self.h_freq, sfreq)  # type: ignore[arg-type]
        return sfreq, lo, hi  # type: ignore[return-value]

    def transform(self, X: Any) -> np.ndarray:
        """Return the filtered epochs, shape (n_samples, n_channels, n_times)."""
        X = self._checked_input(X)
        sfreq, lo, hi = self._check_params()
        return _filter_array(X, sfreq, lo, hi, self.method, self.phase)


class NotchFilter(StatelessEpochsTransformer, TransformerMixin, BaseEstimator):
    """Notch-filter epochs along time (stateless; :func:`mne.filter.notch_filter`).

    Parameters
    ----------
    freqs : float or list of float
        Frequencies to remove in Hz.
    sfreq : float
        Sampling rate of the epochs in Hz.
    method : {"fir", "iir"}, default="fir"
        FIR notch (MNE defaults) or IIR notch filters.

    Attributes
    ----------
    n_channels_ : int

    Examples
    --------
    >>> t = np.arange(2500) / 250.0  # 10 s epochs (the FIR notch is several seconds long)
    >>> X = np.sin(2 * np.pi * 50 * t)[None, None, :].repeat(2, axis=0)  # pure 50 Hz
    >>> Xf = NotchFilter(freqs=50.0, sfreq=250.0).fit_transform(X)
    >>> Xf.shape, bool(Xf[:, :, 500:2000].std() < 0.01 * X.std())
    ((2, 1, 2500), True)
    """

    def __init__(
        self, freqs: float | list[float] | None = None, sfreq: float = 1.0, method: str = "fir"
    ) -> None:
        self.freqs = freqs
        self.sfreq = sfreq
        self.method = method

    def _check_params(self) -> tuple[float, np.ndarray]:
        sfreq = check_positive("sfreq", self.sfreq)
        check_option("method", self.method, FILTER_PHASES)
        return sfreq, _check_notch(self.freqs, sfreq)  # type: ignore[arg-type,return-value]

    def transform(self, X: Any) -> np.ndarray:
        """Return the notched epochs, shape (n_samples, n_channels, n_times)."""
        X = self._checked_input(X)
        sfreq, freqs = self._check_params()
        return _notch_array(X, sfreq, freqs, self.method)
