"""Sliding windows within recordings, labelled per recording or from annotations."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import EpochsDataset, Recording
from ..data.epochs import NO_SESSION
from ..exceptions import ConfigError, DataFormatError
from ._base import check_positive, check_recording

__all__ = ["make_windows"]


def _as_recordings(recordings: Any) -> list[Recording]:
    recs = [recordings] if isinstance(recordings, Recording) else list(recordings)
    if not recs:
        raise ConfigError("'recordings' must hold at least one Recording; got an empty list.")
    for i, rec in enumerate(recs):
        check_recording(rec, name=f"recordings[{i}]")
    first = recs[0]
    for i, rec in enumerate(recs[1:], start=1):
        if rec.sfreq != first.sfreq:
            raise DataFormatError(
                f"All recordings must share one sampling rate; recordings[0] has "
                f"{first.sfreq:g} Hz and recordings[{i}] has {rec.sfreq:g} Hz (resample first)."
            )
        if rec.ch_names != first.ch_names:
            raise DataFormatError(
                f"All recordings must have the same channels in the same order; recordings[{i}] "
                f"has {rec.ch_names[:10]}, recordings[0] has {first.ch_names[:10]} (pick first)."  # type: ignore[index]
            )
    return recs


def _to_samples(name: str, seconds: Any, sfreq: float) -> int:
    sec = check_positive(name, seconds)
    n = round(sec * sfreq)  # type: ignore[operator]
    if n < 1:
        raise ConfigError(
            f"{name!r} is shorter than one sample at {sfreq:g} Hz; got {seconds!r} s."
        )
    if abs(n - sec * sfreq) > 1e-6 * max(1.0, sec * sfreq):  # type: ignore[operator]
        logger.info(
            "%s=%g s is not a whole number of samples at %g Hz; using %d samples (%g s).",
            name,
            sec,
            sfreq,
            n,
            n / sfreq,
        )
    return n


def _regions(
    rec: Recording, mapping: Mapping[str, int], default: int
) -> list[tuple[int, int, int]]:
    """Split a recording at the boundaries of the labelled annotations.

    Returns ``(start, stop, label)`` sample ranges, each with one constant label.
    """
    ann = rec.annotations
    labels = np.full(rec.n_times, default, dtype=np.int64)
    covered = np.zeros(rec.n_times, dtype=np.int64)
    for onset, duration, name in zip(ann.onset, ann.duration, ann.label):
        if str(name) not in mapping:
            continue
        i0 = round(onset * rec.sfreq)
        i1 = max(round((onset + duration) * rec.sfreq), i0 + 1)
        i0, i1 = max(i0, 0), min(i1, rec.n_times)
        if i0 >= i1:
            continue
        value = int(mapping[str(name)])
        clash = covered[i0:i1] & (labels[i0:i1] != value)
        if clash.any():
            raise DataFormatError(
                f"{rec.recording_id}: annotation {name!r} at {onset:g} s overlaps an annotation "
                f"with another label; windows cannot get a single label there."
            )
        labels[i0:i1] = value
        covered[i0:i1] = 1
    change = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate([[0], change, [rec.n_times]])
    return [(int(a), int(b), int(labels[a])) for a, b in itertools.pairwise(bounds)]


def make_windows(
    recordings: Recording | Sequence[Recording],
    *,
    window: float,
    stride: float,
    label: int | Sequence[int] | None = None,
    label_from_annotations: Mapping[str, int] | None = None,
    default_label: int = 0,
    classes: list[str] | None = None,
) -> EpochsDataset:
    """Cut fixed-length windows with a stride inside each recording.

    Windows never cross the end of a recording (the last incomplete window is dropped) and,
    when labelled from annotations, never cross the boundary of a labelled annotation: each
    recording is split at those boundaries and windowed region by region, the stride restarting
    at each region start.

    Parameters
    ----------
    recordings : Recording or list of Recording
        Recordings with the same sampling rate and channels.
    window, stride : float
        Window length and step in seconds (rounded to whole samples). ``stride < window`` gives
        overlapping windows; the evaluation layer reads ``info["window_s"]`` and the ``onset``
        column to keep overlapping windows out of different folds.
    label : int or list of int, optional
        A fixed label for all windows, or one per recording.
    label_from_annotations : dict of str to int, optional
        Annotation label -> class, e.g. ``{"seizure": 1}``; windows outside these annotations get
        ``default_label``. Give at most one of ``label`` and ``label_from_annotations``.
    default_label : int, default=0
        Label of windows outside the annotations named in ``label_from_annotations``.
    classes : list of str, optional
        Names of the integer classes (``classes[k]`` names label ``k``).

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_windows, n_channels, n_window_samples); ``y`` of shape (n_windows,)
        or None; metadata with ``subject``, ``session``, ``run`` (from each recording),
        ``recording`` (its ``recording_id``), ``segment`` (= ``recording``), ``trial`` (window
        index within the recording), ``onset`` (window start in seconds within the recording);
        ``info`` with ``window_s``, ``stride_s`` and ``sfreq``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import Recording
    >>> rec = Recording(np.zeros((2, 1000)), sfreq=100.0, subject="01")
    >>> ds = make_windows(rec, window=2.0, stride=1.0)
    >>> ds.X.shape, ds.metadata["onset"].tolist()[:3]
    ((9, 2, 200), [0.0, 1.0, 2.0])
    """
    recs = _as_recordings(recordings)
    sfreq = recs[0].sfreq
    n_win = _to_samples("window", window, sfreq)
    n_step = _to_samples("stride", stride, sfreq)
    if label is not None and label_from_annotations is not None:
        raise ConfigError("Give at most one of 'label' and 'label_from_annotations'; got both.")
    fixed: list[int] | None = None
    if label is not None:
        fixed = [int(label)] * len(recs) if np.ndim(label) == 0 else [int(v) for v in label]  # type: ignore[arg-type,union-attr]
        if len(fixed) != len(recs):
            raise ConfigError(
                f"'label' must be one int or one per recording ({len(recs)}); got {len(fixed)}."
            )
    if label_from_annotations is not None:
        if not isinstance(label_from_annotations, Mapping) or not label_from_annotations:
            raise ConfigError(
                "'label_from_annotations' must be a non-empty dict of annotation "
                f"label -> class; got {label_from_annotations!r}."
            )
        present = {lab for rec in recs for lab in rec.annotations.unique_labels()}
        if not set(label_from_annotations) & present:
            raise ConfigError(
                f"None of the annotation labels {sorted(label_from_annotations)} occur in the "
                f"recordings. Present: {sorted(present)}."
            )

    ids = [rec.recording_id for rec in recs]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        logger.info(
            "Recordings share the id(s) %s; appending '#<index>' to tell them apart.", sorted(dup)
        )
        ids = [f"{rid}#{k}" if rid in dup else rid for k, rid in enumerate(ids)]

    X_parts, y_parts, md_parts = [], [], []
    for k, (rec, rid) in enumerate(zip(recs, ids)):
        if label_from_annotations is not None:
            regions = _regions(rec, label_from_annotations, int(default_label))
        else:
            regions = [(0, rec.n_times, fixed[k] if fixed is not None else 0)]
        starts_all, labels_all = [], []
        for a, b, lab in regions:
            starts = np.arange(a, b - n_win + 1, n_step, dtype=np.int64)
            starts_all.append(starts)
            labels_all.append(np.full(len(starts), lab, dtype=np.int64))
        starts = np.concatenate(starts_all)
        if len(starts) == 0:
            logger.info("%s: no complete %d-sample window fits; skipped.", rid, n_win)
            continue
        view = np.lib.stride_tricks.sliding_window_view(rec.data, n_win, axis=1)
        X_parts.append(view[:, starts].transpose(1, 0, 2))
        y_parts.append(np.concatenate(labels_all))
        n = len(starts)
        md_parts.append(
            pd.DataFrame(
                {
                    "subject": [rec.subject or "0"] * n,
                    "session": [rec.session or NO_SESSION] * n,
                    "run": [rec.run or "0"] * n,
                    "recording": [rid] * n,
                    "segment": [rid] * n,
                    "trial": np.arange(n),
                    "onset": starts / sfreq,
                }
            )
        )
    if not X_parts:
        raise DataFormatError(
            f"No window of {n_win / sfreq:g} s fits in any recording (longest: "
            f"{max(r.duration for r in recs):g} s)."
        )
    y = None if (fixed is None and label_from_annotations is None) else np.concatenate(y_parts)
    info = {
        "window_s": n_win / sfreq,
        "stride_s": n_step / sfreq,
        "sfreq": sfreq,
        "window_samples": n_win,
        "stride_samples": n_step,
    }
    logger.info(
        "make_windows: %d windows of %g s (stride %g s) from %d recording(s).",
        sum(len(p) for p in y_parts),
        n_win / sfreq,
        n_step / sfreq,
        len(recs),
    )
    return EpochsDataset(
        np.concatenate(X_parts),
        y,
        pd.concat(md_parts, ignore_index=True),
        sfreq,
        list(recs[0].ch_names),
        classes,
        info,
    )  # type: ignore[arg-type]
