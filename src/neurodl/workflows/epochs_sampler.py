"""The ``epochs`` sampler of a config (``data.to_samples: {epochs: ...}``) in MNE's vocabulary.

:func:`epochs_sampler` takes the parameters of :class:`mne.Epochs` (``event_id``, ``tmin``,
``tmax``, ``baseline``, ``picks``, ``reject``, ``flat``), cuts epochs with
:func:`neurodl.preprocessing.epochs_from_annotations` and gives every epoch its own segment id
(so protocols that keep segments whole split epochs, not recordings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError

__all__ = ["epochs_sampler"]


def _pick(rec: Any, picks: str | Sequence[str]) -> Any:
    """``rec`` with the channels ``picks`` names: channel types (``"eeg"``) or channel names."""
    items = [picks] if isinstance(picks, str) else [str(p) for p in picks]
    if not items:
        raise ConfigError("Invalid value for 'picks': an empty list picks no channel.")
    types = set(rec.ch_types)
    if all(p in types for p in items):
        return rec.pick_types(items)
    unknown = [p for p in items if p not in rec.ch_names]
    if unknown:
        raise ConfigError(
            f"Invalid value for 'picks'. Allowed: channel types {sorted(types)} or channel names "
            f"({', '.join(rec.ch_names[:10])}{', ...' if len(rec.ch_names) > 10 else ''}); "
            f"got {unknown}."
        )
    return rec.pick(items)


def _thresholds(limits: Mapping[str, float], ch_types: list[str], what: str) -> np.ndarray:
    """Per-channel thresholds from MNE's ``{channel type: value}`` (NaN: not checked)."""
    unknown = sorted(set(limits) - set(ch_types))
    if unknown:
        raise ConfigError(
            f"Invalid value for {what!r}: no channel of type(s) {unknown}. Types present: "
            f"{sorted(set(ch_types))}."
        )
    return np.array([float(limits.get(t, np.nan)) for t in ch_types])


def epochs_sampler(
    rec: Any,
    event_id: Mapping[str, int] | Sequence[str] | str | None = None,
    tmin: float = -0.2,
    tmax: float = 0.5,
    *,
    baseline: tuple[float | None, float | None] | None = None,
    picks: str | list[str] | None = None,
    reject: dict[str, float] | None = None,
    flat: dict[str, float] | None = None,
    event_labels: Mapping[str, int] | Sequence[str] | None = None,
) -> Any:
    """Cut labelled epochs around annotation onsets, with the parameters of :class:`mne.Epochs`.

    Parameters
    ----------
    rec : Recording
        A continuous recording with annotations (e.g. an EDF+ with T1/T2 markers).
    event_id : dict of str to int, list of str or str
        Annotation labels to epoch and their class code (``{T1: 0, T2: 1}``); a list maps
        ``labels[k]`` to class ``k``. Codes ``0..k-1`` also name the classes.
    tmin : float, default=-0.2
        Epoch start relative to each onset, in seconds.
    tmax : float, default=0.5
        Epoch end relative to each onset, in seconds (included, as in MNE).
    baseline : (float or None, float or None) or None, default=None
        Interval whose per-channel mean is subtracted from each epoch (None = epoch edge).
        Unlike :class:`mne.Epochs` (default ``(None, 0)``), no correction unless asked.
    picks : str or list of str or None, default=None
        Channel types (``"eeg"``) or channel names to keep; None keeps every channel.
    reject : dict of str to float or None, default=None
        Peak-to-peak upper limits by channel type (``{eeg: 150e-6}``, in the data's units): an
        epoch exceeding it on any channel of that type is dropped (reported in ``info``).
    flat : dict of str to float or None, default=None
        Peak-to-peak lower limits by channel type.
    event_labels : dict or list, optional
        Former name of ``event_id`` (give one of the two).

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_epochs, n_channels, n_times); metadata ``segment`` is one id per
        epoch (``<recording>_<trial>``), ``recording`` the recording; ``info["rejection"]``
        lists the epochs ``reject``/``flat`` dropped.

    Examples
    --------
    A 10 s recording at 100 Hz with four T1/T2 markers; an artefact on Cz at 6 s:

    >>> import numpy as np
    >>> from neurodl.data import Annotations, Recording
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0, 10e-6, (3, 1000))
    >>> X[1, 590:610] += 500e-6
    >>> ann = Annotations([1.0, 3.0, 6.0, 8.0], [0.0] * 4, ["T1", "T2", "T1", "T2"])
    >>> rec = Recording(X, 100.0, ch_names=["C3", "Cz", "C4"], ch_types=["eeg", "eeg", "eog"],
    ...                 annotations=ann, subject="S001")
    >>> ds = epochs_sampler(rec, {"T1": 0, "T2": 1}, tmin=-0.5, tmax=1.0,
    ...                     picks=["C3", "Cz"], reject={"eeg": 150e-6})
    >>> ds.X.shape, ds.y.tolist(), ds.classes  # 1.5 s x 100 Hz + 1 samples; one epoch dropped
    ((3, 2, 151), [0, 1, 1], ['T1', 'T2'])
    >>> ds.metadata["segment"].tolist()
    ['sub-S001_000', 'sub-S001_001', 'sub-S001_003']
    >>> ds.info["rejection"]["dropped"], ds.info["rejection"]["reasons"]
    ([2], {'2': ['peak_to_peak:Cz']})
    >>> try:
    ...     epochs_sampler(rec, ["T1", "T2"], picks=["Fz"])
    ... except ValueError as err:  # a ConfigError
    ...     print(err)
    Invalid value for 'picks'. Allowed: channel types ['eeg', 'eog'] or channel names \
(C3, Cz, C4); got ['Fz'].
    """
    from ..preprocessing import epochs_from_annotations, reject_by_amplitude

    if event_id is None and event_labels is None:
        raise ConfigError(
            "Missing 'event_id': name the annotation labels to epoch, e.g. {T1: 0, T2: 1}."
        )
    if event_id is not None and event_labels is not None:
        raise ConfigError("Give 'event_id' or its former name 'event_labels', not both.")
    labels = event_id if event_id is not None else event_labels
    if picks is not None:
        rec = _pick(rec, picks)
    ds = epochs_from_annotations(rec, labels, tmin, tmax, baseline=baseline)  # type: ignore[arg-type]
    md = ds.metadata
    md["segment"] = [f"{r}_{int(t):03d}" for r, t in zip(md["recording"], md["trial"])]
    if reject or flat:
        types = list(rec.ch_types)
        ptp = None if not reject else _thresholds(reject, types, "reject")
        low = None if not flat else _thresholds(flat, types, "flat")
        # channels of unchecked types: limits that never trigger
        ptp = None if ptp is None else np.where(np.isnan(ptp), np.inf, ptp)
        low = None if low is None else np.where(np.isnan(low), -np.inf, low)
        ds, report = reject_by_amplitude(ds, peak_to_peak=ptp, flat=low)
        ds.info["rejection"] = {
            "n_total": report.n_total,
            "n_dropped": report.n_dropped,
            "dropped": [int(i) for i in report.dropped],
            "reasons": {str(k): v for k, v in report.reasons.items()},
            "thresholds": {"reject": dict(reject or {}), "flat": dict(flat or {})},
        }
        logger.info("%s: epochs rejected: %s", rec.recording_id, report)
    return ds
