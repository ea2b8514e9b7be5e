"""Human-readable summaries of what the readers return (used by ``neurodl info``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Annotations, EpochsDataset, Recording, SpikeTrains, VolumeSeries

__all__ = ["FORMAT_NAMES", "describe", "format_name"]

#: file suffix (lower case) -> format name shown in summaries; longer suffixes win.
FORMAT_NAMES: dict[str, str] = {
    ".nii.gz": "NIfTI (gzip)",
    ".nii": "NIfTI",
    ".mgz": "MGH (FreeSurfer, gzip)",
    ".mgh": "MGH (FreeSurfer)",
    ".hdr": "Analyze/NIfTI pair (.hdr/.img)",
    ".img": "Analyze/NIfTI pair (.hdr/.img)",
    "-epo.fif": "FIF epochs (MNE)",
    "_epo.fif": "FIF epochs (MNE)",
    "-epo.fif.gz": "FIF epochs (MNE, gzip)",
    "_epo.fif.gz": "FIF epochs (MNE, gzip)",
    ".edf": "EDF/EDF+",
    ".bdf": "BDF (BioSemi)",
    ".gdf": "GDF",
    ".vhdr": "BrainVision",
    ".ahdr": "BrainVision",
    ".set": "EEGLAB",
    ".fif": "FIF (MNE/Neuromag)",
    ".fif.gz": "FIF (MNE/Neuromag, gzip)",
    ".eeg": "Nihon Kohden EEG",
    ".cnt": "Neuroscan CNT",
    ".seizures": "CHB-MIT seizure annotations",
    ".nwb": "NWB (HDF5)",
    ".mat": "MATLAB MAT",
    ".npz": "NumPy NPZ",
    ".npy": "NumPy NPY",
    ".csv": "CSV table",
    ".txt": "text table",
}

#: marker file inside a folder -> format name.
FOLDER_FORMATS: dict[str, str] = {
    "stat.npy": "suite2p plane folder",
    "F.npy": "suite2p plane folder",
    "dataset_description.json": "BIDS dataset",
}

_MAX_NAMES = 8
_MAX_LABELS = 10


def format_name(path: str | Path) -> str:
    """Return the human name of the file format of ``path`` (``"unknown"`` when unknown)."""
    path = Path(path)
    if path.is_dir():
        for marker, fmt in FOLDER_FORMATS.items():
            if (path / marker).exists():
                return fmt
        return "folder"
    name = path.name.lower()
    for suffix in sorted(FORMAT_NAMES, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMAT_NAMES[suffix]
    return "unknown"


def _first(names: Iterable[Any], n: int = _MAX_NAMES) -> str:
    names = [str(x) for x in names]
    shown = ", ".join(names[:n])
    return shown + (f", ... (+{len(names) - n})" if len(names) > n else "")


def _counts(values: Iterable[Any], n: int = _MAX_LABELS) -> str:
    cnt = Counter(str(v) for v in values)
    items = sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{k} x{v}" for k, v in items[:n])
    return shown + (f", ... (+{len(items) - n} labels)" if len(items) > n else "")


def _rate(sfreq: float | None) -> str:
    return "unknown" if sfreq is None else f"{sfreq:g} Hz"


def _recording(rec: Recording) -> list[str]:
    lines = [
        f"channels: {rec.n_channels} ({_first(rec.ch_names or [])})",
        f"channel types: {_counts(rec.ch_types or [])}",
        f"units: {_counts(rec.units or [])}",
        f"sampling rate: {_rate(rec.sfreq)}",
        f"duration: {rec.duration:.3f} s ({rec.n_times} samples)",
    ]
    lines.extend(_annotations(rec.annotations))
    ident = [f"{k} {getattr(rec, k)}" for k in ("subject", "session", "run") if getattr(rec, k)]
    if ident:
        lines.append("identity: " + ", ".join(ident))
    return lines


def _span(seconds: float) -> str:
    """``seconds`` as ``"5400 s (1.50 h)"`` (hours or minutes shown when long)."""
    if seconds >= 3600:
        return f"{seconds:g} s ({seconds / 3600:.2f} h)"
    if seconds >= 60:
        return f"{seconds:g} s ({seconds / 60:.1f} min)"
    return f"{seconds:g} s"


def _annotations(ann: Annotations) -> list[str]:
    if not len(ann):
        return ["annotations: none"]
    end = float(np.max(ann.onset + ann.duration))
    lines = [
        f"annotations: {len(ann)} ({len(ann.unique_labels())} labels: {_counts(ann.label)})",
        f"annotation span: {float(ann.onset[0]):.3f} s to {end:.3f} s",
    ]
    if np.any(ann.duration > 0):  # interval labels (sleep stages, seizures): time per label
        labels = ann.label.astype(str)
        totals = {lab: float(ann.duration[labels == lab].sum()) for lab in np.unique(labels)}
        items = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{k} {_span(v)}" for k, v in items[:_MAX_LABELS])
        more = f", ... (+{len(items) - _MAX_LABELS} labels)" if len(items) > _MAX_LABELS else ""
        lines.append(f"total duration by label: {shown}{more}")
    return lines


def _volume(vol: VolumeSeries) -> list[str]:
    lines = [
        f"volume grid: {' x '.join(str(s) for s in vol.shape3d)}",
        f"volumes: {vol.n_volumes}",
        f"repetition time: {vol.tr:g} s (sampling rate {1.0 / vol.tr:g} Hz)",
        f"duration: {vol.n_volumes * vol.tr:.3f} s",
        f"form: {'masked ' + str(vol.data.shape) if vol.is_masked else '4-D ' + str(vol.data.shape)}",
    ]
    if vol.mask is not None:
        lines.append(f"mask: {int(vol.mask.sum())} voxels")
    if vol.info.get("format"):
        lines.append(f"image class: {vol.info['format']}")
    if vol.events is not None:
        lines.append(f"events: {len(vol.events)} rows, columns {_first(vol.events.columns)}")
        for col in ("trial_type", "label", "condition"):
            if col in vol.events.columns:
                lines.append(f"labels ({col}): {_counts(vol.events[col])}")
                break
    return lines


def _spikes(st: SpikeTrains) -> list[str]:
    lines = [
        f"units: {st.n_units} ({_first(st.unit_ids or [])})",
        f"spikes: {st.n_spikes}",
        f"time span: {st.t_start:.3f} s to {st.t_stop:.3f} s",
    ]
    if st.trials is not None:
        lines.append(f"trials: {len(st.trials)} (columns {_first(st.trials.columns)})")
    else:
        lines.append("trials: none")
    return lines


def _epochs(ds: EpochsDataset) -> list[str]:
    lines = [f"samples: {ds.n_samples}", f"X shape: {tuple(ds.X.shape)}"]
    if ds.ch_names is not None:
        kind = "channels" if ds.X.ndim == 3 else "features"
        lines.append(f"{kind}: {len(ds.ch_names)} ({_first(ds.ch_names)})")
    lines.append(f"sampling rate: {_rate(ds.sfreq)}")
    if ds.sfreq and ds.X.ndim == 3:
        lines.append(f"window: {ds.X.shape[2] / ds.sfreq:.3f} s ({ds.X.shape[2]} samples)")
    if "tmin" in ds.info and ds.sfreq and ds.X.ndim == 3:
        tmin = float(ds.info["tmin"])
        tmax = float(ds.info.get("tmax", tmin + (ds.X.shape[2] - 1) / ds.sfreq))
        lines.append(f"epochs: {ds.n_samples}, tmin {tmin:g} s to tmax {tmax:g} s around events")
    if ds.info.get("ch_types"):
        lines.append(f"channel types: {_counts(ds.info['ch_types'])}")
    event_id = ds.info.get("event_id")
    if event_id and ds.y is not None and ds.classes is not None and ds.y.ndim == 1:
        n_of = Counter(ds.classes[int(v)] for v in ds.y if 0 <= int(v) < len(ds.classes))
        items = sorted(event_id.items(), key=lambda kv: kv[1])
        shown = ", ".join(f"{k} (code {v}) x{n_of.get(k, 0)}" for k, v in items[:_MAX_LABELS])
        more = f", ... (+{len(items) - _MAX_LABELS})" if len(items) > _MAX_LABELS else ""
        lines.append(f"events: {shown}{more}")
    if ds.y is None:
        lines.append("labels: none")
    elif ds.y.ndim == 1 and not np.issubdtype(ds.y.dtype, np.floating):
        labels = ds.y
        if ds.classes is not None:
            labels = [ds.classes[int(v)] if 0 <= int(v) < len(ds.classes) else v for v in ds.y]
        lines.append(f"labels: {_counts(labels)}")
    else:
        lines.append(f"targets: shape {tuple(ds.y.shape)} ({ds.y.dtype})")
    md = ds.metadata
    for col in ("subject", "session", "run"):
        n = 0 if md is None or col not in md.columns else md[col].nunique()
        if n > 1:
            lines.append(f"{col}s: {n}")
    return lines


_DESCRIBERS: dict[type, Callable[[Any], list[str]]] = {
    Recording: _recording,
    VolumeSeries: _volume,
    SpikeTrains: _spikes,
    EpochsDataset: _epochs,
    Annotations: _annotations,
}


def _body(obj: Any, indent: str = "") -> list[str]:
    for cls, func in _DESCRIBERS.items():
        if isinstance(obj, cls):
            return [f"{indent}type: {cls.__name__}"] + [indent + line for line in func(obj)]
    if isinstance(obj, Mapping):
        lines = [f"{indent}type: dict of {len(obj)} items"]
        for key, value in obj.items():
            lines.append(f"{indent}[{key}]")
            lines.extend(_body(value, indent + "  "))
        return lines
    if isinstance(obj, (list, tuple)):
        lines = [f"{indent}type: list of {len(obj)} items"]
        for i, value in enumerate(obj):
            lines.append(f"{indent}[{i}]")
            lines.extend(_body(value, indent + "  "))
        return lines
    if isinstance(obj, np.ndarray):
        return [f"{indent}type: ndarray", f"{indent}shape: {obj.shape} ({obj.dtype})"]
    return [f"{indent}type: {type(obj).__name__}", f"{indent}value: {obj!r}"[:200]]


def describe(obj: Any, path: str | Path | None = None) -> str:
    """Return a multi-line human summary of a container read from ``path``.

    Parameters
    ----------
    obj : Recording, VolumeSeries, SpikeTrains, EpochsDataset, Annotations, or a list/dict of them
        What :func:`neurodl.io.read` returned.
    path : str or Path or None
        The file or folder it was read from (for the header and the format name).

    Returns
    -------
    str
        Lines ``key: value``: file, format, type, channels (count, first names, types),
        sampling rate, duration, annotation/label counts.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import Recording
    >>> print(describe(Recording(np.zeros((2, 500)), 250.0, ["C3", "C4"])).splitlines()[1])
    channels: 2 (C3, C4)
    """
    lines = []
    if path is not None:
        lines += [f"file: {path}", f"format: {format_name(path)}"]
    lines += _body(obj)
    return "\n".join(lines)
