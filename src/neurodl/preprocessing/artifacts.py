"""Amplitude-based artifact rejection of epochs, with a report of what was dropped and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import EpochsDataset
from ..exceptions import ConfigError, DataFormatError

__all__ = ["RejectionReport", "reject_by_amplitude"]


@dataclass
class RejectionReport:
    """What :func:`reject_by_amplitude` dropped and why.

    Attributes
    ----------
    n_total : int
        Samples before rejection.
    dropped : ndarray of int
        Indices (into the input dataset) of the dropped samples.
    reasons : dict of int to list of str
        For each dropped index, the reasons, e.g. ``["peak_to_peak:Fz", "flat:Cz"]``.
    per_channel : DataFrame
        One row per channel: ``peak_to_peak`` and ``flat`` counts of samples each criterion
        flagged on that channel.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((4, 2, 50)) * 1e-5
    >>> X[1, 0, 10] = 1e-3  # one large artefact on channel "Fz" of sample 1
    >>> ds = EpochsDataset(X, y=np.array([0, 1, 0, 1]), ch_names=["Fz", "Cz"])
    >>> kept, report = reject_by_amplitude(ds, peak_to_peak=5e-4)
    >>> kept.n_samples, report.dropped.tolist(), report.reasons
    (3, [1], {1: ['peak_to_peak:Fz']})
    """

    n_total: int
    dropped: np.ndarray
    reasons: dict[int, list[str]] = field(default_factory=dict)
    per_channel: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_dropped(self) -> int:
        return len(self.dropped)

    @property
    def n_kept(self) -> int:
        return self.n_total - self.n_dropped

    def __str__(self) -> str:
        worst = self.per_channel.sum(axis=1).sort_values(ascending=False)
        worst = worst[worst > 0].head(5)
        chans = ", ".join(f"{c} ({int(n)})" for c, n in worst.items()) or "none"
        return f"Rejected {self.n_dropped}/{self.n_total} samples; most flagged channels: {chans}."


def _threshold(name: str, value: Any, n_ch: int) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_ch, float(arr))
    if arr.shape != (n_ch,) or not np.isfinite(arr).all() or (arr <= 0).any():
        raise ConfigError(
            f"{name!r} must be a positive number or one positive number per channel "
            f"({n_ch}); got {value!r}."
        )
    return arr


def reject_by_amplitude(
    dataset: EpochsDataset, *, peak_to_peak: float | Any = None, flat: float | Any = None
) -> tuple[EpochsDataset, RejectionReport]:
    """Drop samples whose peak-to-peak amplitude is too large or too small on any channel.

    Same criteria as MNE's ``reject`` / ``flat``: a sample is dropped if on some channel
    ``max - min > peak_to_peak`` or ``max - min < flat``.

    Parameters
    ----------
    dataset : EpochsDataset
        ``X`` of shape (n_samples, n_channels, n_times).
    peak_to_peak : float or array-like of shape (n_channels,), optional
        Upper limit of the peak-to-peak amplitude (in the data's units).
    flat : float or array-like of shape (n_channels,), optional
        Lower limit of the peak-to-peak amplitude.

    Returns
    -------
    kept : EpochsDataset
        The samples that passed (metadata and labels follow them).
    report : RejectionReport
        Which samples were dropped and why, per channel; also logged at INFO.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import EpochsDataset
    >>> X = np.zeros((3, 1, 10)); X[1, 0, 5] = 100.0; X[:, 0, 0] = 1.0
    >>> kept, report = reject_by_amplitude(EpochsDataset(X), peak_to_peak=50.0)
    >>> kept.n_samples, report.dropped.tolist()
    (2, [1])
    """
    if not isinstance(dataset, EpochsDataset):
        raise TypeError(f"'dataset' must be an EpochsDataset; got {type(dataset).__name__}.")
    if dataset.X.ndim != 3:
        raise DataFormatError(
            f"reject_by_amplitude needs X of shape (n_samples, n_channels, "
            f"n_times); got shape {dataset.X.shape}."
        )
    if peak_to_peak is None and flat is None:
        raise ConfigError("Give 'peak_to_peak' and/or 'flat'; got neither.")
    n, n_ch, _ = dataset.X.shape
    high = _threshold("peak_to_peak", peak_to_peak, n_ch)
    low = _threshold("flat", flat, n_ch)
    ptp = np.ptp(np.asarray(dataset.X), axis=2)  # (n_samples, n_channels)
    flags = {
        "peak_to_peak": ptp > high[None, :] if high is not None else np.zeros_like(ptp, bool),
        "flat": ptp < low[None, :] if low is not None else np.zeros_like(ptp, bool),
    }
    names = dataset.ch_names or [f"ch{i:03d}" for i in range(n_ch)]
    bad = flags["peak_to_peak"].any(axis=1) | flags["flat"].any(axis=1)
    dropped = np.flatnonzero(bad)
    reasons = {
        int(i): [f"{crit}:{names[c]}" for crit, f in flags.items() for c in np.flatnonzero(f[i])]
        for i in dropped
    }
    per_channel = pd.DataFrame({crit: f.sum(axis=0) for crit, f in flags.items()}, index=names)
    report = RejectionReport(n_total=n, dropped=dropped, reasons=reasons, per_channel=per_channel)
    logger.info("%s", report)
    return dataset.subset(~bad), report
