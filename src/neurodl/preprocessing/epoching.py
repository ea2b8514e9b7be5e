"""Epochs around annotation onsets (event-related designs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import EpochsDataset, Recording
from ..data.epochs import NO_SESSION
from ..exceptions import ConfigError
from ._base import check_recording

__all__ = ["epochs_from_annotations"]


def _event_mapping(event_labels: Any) -> dict[str, int]:
    if isinstance(event_labels, Mapping):
        mapping = {str(k): int(v) for k, v in event_labels.items()}
    elif isinstance(event_labels, str):
        mapping = {event_labels: 0}
    else:
        names = [str(x) for x in event_labels]
        mapping = {name: i for i, name in enumerate(names)}
    if not mapping:
        raise ConfigError("'event_labels' must name at least one annotation label; got none.")
    return mapping


def _baseline_slice(baseline: Any, times: np.ndarray) -> np.ndarray:
    try:
        b0, b1 = baseline
    except (TypeError, ValueError):
        raise ConfigError(
            f"'baseline' must be None or a (start, stop) pair in seconds; got {baseline!r}."
        ) from None
    b0 = times[0] if b0 is None else float(b0)
    b1 = times[-1] if b1 is None else float(b1)
    tol = 1e-9
    if b0 > b1 or b0 < times[0] - tol or b1 > times[-1] + tol:
        raise ConfigError(
            f"'baseline' must lie within the epoch [{times[0]:g}, {times[-1]:g}] s with "
            f"start <= stop; got {baseline!r}."
        )
    mask = (times >= b0 - tol) & (times <= b1 + tol)
    if not mask.any():
        raise ConfigError(f"'baseline' {baseline!r} contains no sample.")
    return mask


def epochs_from_annotations(
    rec: Recording,
    event_labels: Mapping[str, int] | Sequence[str],
    tmin: float,
    tmax: float,
    *,
    baseline: tuple[float | None, float | None] | None = None,
) -> EpochsDataset:
    """Cut epochs from ``tmin`` to ``tmax`` seconds around the onsets of chosen annotations.

    Epochs are indexed directly (the same samples :class:`mne.Epochs` takes: event sample
    ``round(onset * sfreq)``, ``round(tmin * sfreq)`` to ``round(tmax * sfreq)`` inclusive).
    Events whose epoch would run past either edge of the recording are dropped and reported
    (logged at INFO and listed in ``info["dropped_onsets"]``).

    Parameters
    ----------
    rec : Recording
        The continuous recording with annotations.
    event_labels : dict of str to int, or list of str
        Annotation labels to epoch and their class (a list maps ``labels[k]`` to ``k``).
    tmin, tmax : float
        Epoch start and end relative to each onset, in seconds (``tmin < tmax``).
    baseline : (float or None, float or None) or None, default=None
        Interval (seconds, relative to the onset; None = epoch edge) whose per-channel mean is
        subtracted from each epoch. None: no baseline correction.

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_epochs, n_channels, n_times) with ``n_times = round((tmax - tmin) *
        sfreq) + 1``; ``y`` the class of each event; metadata ``onset`` is the epoch start in
        seconds (event onset + tmin) and ``event_onset`` the event itself; ``segment`` is the
        recording id; ``info`` has ``tmin``, ``tmax``, ``window_s``, ``sfreq``, ``event_id``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import Annotations, Recording
    >>> ann = Annotations([1.0, 2.0], [0.0, 0.0], ["left", "right"])
    >>> rec = Recording(np.zeros((2, 400)), 100.0, annotations=ann)
    >>> ds = epochs_from_annotations(rec, ["left", "right"], tmin=-0.2, tmax=0.5)
    >>> ds.X.shape, ds.y.tolist()
    ((2, 2, 71), [0, 1])
    """
    check_recording(rec)
    mapping = _event_mapping(event_labels)
    try:
        tmin_f, tmax_f = float(tmin), float(tmax)
    except (TypeError, ValueError):
        raise ConfigError(f"'tmin' and 'tmax' must be numbers; got {tmin!r}, {tmax!r}.") from None
    if not (np.isfinite(tmin_f) and np.isfinite(tmax_f)) or tmin_f >= tmax_f:
        raise ConfigError(f"'tmin' must be below 'tmax'; got tmin={tmin!r}, tmax={tmax!r}.")
    ann = rec.annotations
    present = ann.unique_labels()
    missing = [k for k in mapping if k not in present]
    if len(missing) == len(mapping):
        raise ConfigError(
            f"None of the event labels {sorted(mapping)} occur in the annotations "
            f"of {rec.recording_id}. Present: {present}."
        )
    if missing:
        logger.info("%s: event label(s) %s do not occur.", rec.recording_id, missing)
    keep = np.isin(ann.label.astype(str), list(mapping))
    onsets = ann.onset[keep]
    codes = np.array([mapping[str(x)] for x in ann.label[keep]], dtype=np.int64)

    i_min, i_max = round(tmin_f * rec.sfreq), round(tmax_f * rec.sfreq)
    times = np.arange(i_min, i_max + 1) / rec.sfreq
    events = np.round(onsets * rec.sfreq).astype(np.int64)
    inside = (events + i_min >= 0) & (events + i_max < rec.n_times)
    dropped = onsets[~inside]
    if len(dropped):
        logger.info(
            "%s: dropped %d event(s) too close to the recording edges for [%g, %g] s "
            "epochs, at onsets %s s.",
            rec.recording_id,
            len(dropped),
            tmin_f,
            tmax_f,
            np.round(dropped, 3).tolist(),
        )
    events, codes, onsets = events[inside], codes[inside], onsets[inside]
    if len(events) == 0:
        raise ConfigError(
            f"{rec.recording_id}: every event is too close to the edges for "
            f"[{tmin_f:g}, {tmax_f:g}] s epochs."
        )
    idx = events[:, None] + np.arange(i_min, i_max + 1)[None, :]
    X = rec.data[:, idx].transpose(1, 0, 2)
    if baseline is not None:
        mask = _baseline_slice(baseline, times)
        X = X - X[:, :, mask].mean(axis=2, keepdims=True)

    rid = rec.recording_id
    n = len(events)
    md = pd.DataFrame(
        {
            "subject": [rec.subject or "0"] * n,
            "session": [rec.session or NO_SESSION] * n,
            "run": [rec.run or "0"] * n,
            "recording": [rid] * n,
            "segment": [rid] * n,
            "trial": np.arange(n),
            "onset": events / rec.sfreq + times[0],
            "event_onset": events / rec.sfreq,
        }
    )
    values = sorted(set(mapping.values()))
    classes = None
    if values == list(range(len(values))) and len(values) == len(mapping):
        inv = {v: k for k, v in mapping.items()}
        classes = [inv[v] for v in values]
    info = {
        "tmin": times[0],
        "tmax": times[-1],
        "window_s": len(times) / rec.sfreq,
        "sfreq": rec.sfreq,
        "event_id": mapping,
        "unit": ", ".join(sorted(set(rec.units or ["a.u."]))),
        "n_dropped_edge": len(dropped),
        "dropped_onsets": dropped.tolist(),
    }
    return EpochsDataset(X, codes, md, rec.sfreq, list(rec.ch_names), classes, info)  # type: ignore[arg-type]
