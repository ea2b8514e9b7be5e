"""Resampling of recordings and epoch arrays (:func:`mne.filter.resample`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..data import Recording
from ._base import (
    StatelessEpochsTransformer,
    capture_warnings,
    check_positive,
    check_recording,
)

__all__ = ["Resample", "resample_recording"]


def _resample_array(data: np.ndarray, old: float, new: float) -> np.ndarray:
    from mne.filter import resample

    # MNE's resampler needs float64; float32 recordings (e.g. memory-saving simulations) are
    # promoted and returned in their own dtype.
    dtype = data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64
    with capture_warnings():
        out = resample(
            np.asarray(data, dtype=np.float64),
            up=new,
            down=old,
            axis=-1,
            npad="auto",
            verbose="warning",
        )
    return out.astype(dtype, copy=False)


def resample_recording(rec: Recording, sfreq: float) -> Recording:
    """Resample a recording to ``sfreq`` Hz (FFT method with anti-aliasing, as MNE's).

    Parameters
    ----------
    rec : Recording
        The continuous recording.
    sfreq : float
        The new sampling rate in Hz.

    Returns
    -------
    Recording
        A new recording at ``sfreq``; annotations (in seconds) are kept unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import Recording
    >>> rec = Recording(np.zeros((2, 1000)), sfreq=250.0)
    >>> resample_recording(rec, 100.0).n_times
    400
    """
    check_recording(rec)
    new = check_positive("sfreq", sfreq)
    out = rec.copy()
    if new != rec.sfreq:
        out.data = _resample_array(rec.data, rec.sfreq, new)  # type: ignore[arg-type]
        out.sfreq = new  # type: ignore[assignment]
    return out


class Resample(StatelessEpochsTransformer, TransformerMixin, BaseEstimator):
    """Resample epochs along time from ``sfreq`` to ``new_sfreq`` (stateless).

    Parameters
    ----------
    new_sfreq : float
        Target sampling rate in Hz.
    sfreq : float
        Sampling rate of the input epochs in Hz.

    Attributes
    ----------
    n_channels_ : int

    Examples
    --------
    >>> import numpy as np
    >>> Resample(new_sfreq=100.0, sfreq=200.0).fit_transform(np.zeros((2, 3, 400))).shape
    (2, 3, 200)
    """

    def __init__(self, new_sfreq: float = 1.0, sfreq: float = 1.0) -> None:
        self.new_sfreq = new_sfreq
        self.sfreq = sfreq

    def _check_params(self) -> tuple[float, float]:
        return (
            check_positive("sfreq", self.sfreq),  # type: ignore[return-value]
            check_positive("new_sfreq", self.new_sfreq),
        )

    def transform(self, X: Any) -> np.ndarray:
        """Return the resampled epochs, shape (n_samples, n_channels, n_times_new)."""
        X = self._checked_input(X)
        old, new = self._check_params()
        return X if old == new else _resample_array(X, old, new)
