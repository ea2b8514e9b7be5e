"""Continuous recordings: one container for EEG, MEG, iEEG, LFP, calcium traces, binned spikes."""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataFormatError
from ._checks import check_array, check_sfreq

__all__ = ["Annotations", "Recording"]


@dataclass
class Annotations:
    """Timed labels on a recording.

    Parameters
    ----------
    onset : array-like of shape (n_annotations,)
        Onsets in seconds from the start of the recording.
    duration : array-like of shape (n_annotations,)
        Durations in seconds (0 for point events).
    label : array-like of str, shape (n_annotations,)
        Label of each annotation.

    Examples
    --------
    >>> ann = Annotations(onset=[12.0, 2.5, 7.0], duration=[0.0, 1.0, 1.0],
    ...                   label=["end", "left", "right"])
    >>> ann.onset.tolist(), len(ann)  # kept sorted by onset
    ([2.5, 7.0, 12.0], 3)
    >>> ann.select(["left", "right"]).to_frame()
       onset  duration  label
    0    2.5       1.0   left
    1    7.0       1.0  right
    >>> ann.unique_labels()
    ['end', 'left', 'right']
    """

    onset: np.ndarray = field(default_factory=lambda: np.zeros(0))
    duration: np.ndarray = field(default_factory=lambda: np.zeros(0))
    label: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))

    def __post_init__(self) -> None:
        self.onset = np.asarray(self.onset, dtype=float).reshape(-1)
        self.duration = np.asarray(self.duration, dtype=float).reshape(-1)
        self.label = np.asarray(self.label, dtype=object).reshape(-1)
        n = len(self.onset)
        if len(self.duration) != n or len(self.label) != n:
            raise DataFormatError(
                "Annotations need equal numbers of onsets, durations and labels; got "
                f"{n}, {len(self.duration)} and {len(self.label)}."
            )
        if n and (not np.isfinite(self.onset).all() or (self.duration < 0).any()):
            raise DataFormatError("Annotation onsets must be finite and durations >= 0.")
        order = np.argsort(self.onset, kind="stable")
        self.onset, self.duration, self.label = (
            self.onset[order],
            self.duration[order],
            self.label[order],
        )

    def __len__(self) -> int:
        return len(self.onset)

    def to_frame(self) -> pd.DataFrame:
        """Return a DataFrame with columns onset, duration, label."""
        return pd.DataFrame({"onset": self.onset, "duration": self.duration, "label": self.label})

    def select(self, labels: str | list[str]) -> Annotations:
        """Return the annotations whose label is in ``labels``."""
        labels = [labels] if isinstance(labels, str) else list(labels)
        keep = np.isin(self.label.astype(str), labels)
        return Annotations(self.onset[keep], self.duration[keep], self.label[keep])

    def unique_labels(self) -> list[str]:
        """Sorted distinct labels."""
        return sorted({str(x) for x in self.label})


@dataclass
class Recording:
    """A continuous multichannel recording.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_times)
        The signals, in the units given by ``units`` (SI for MNE-read data: volts, tesla).
    sfreq : float
        Sampling rate in Hz.
    ch_names : list of str, optional
        Channel names; default ``ch000, ch001, ...``.
    ch_types : list of str, optional
        Channel types (``eeg``, ``mag``, ``grad``, ``seeg``, ``ecog``, ``misc``, ``calcium``,
        ``spikes``, ``stim``...); default ``misc``.
    units : list of str, optional
        Unit of each channel (``V``, ``T``, ``T/m``, ``a.u.``...).
    annotations : Annotations, optional
        Timed labels (seizures, stimuli, sleep stages...).
    subject, session, run : str or None
        Identity of the recording; used by the evaluation layer for grouping.
    source : str or None
        Path of the file the recording was read from.
    info : dict
        Free-form extra metadata (reader name, original format...).

    Examples
    --------
    >>> import numpy as np
    >>> rec = Recording(np.zeros((2, 500)), sfreq=250.0, ch_names=["C3", "C4"])
    >>> rec.n_channels, rec.n_times, rec.duration
    (2, 500, 2.0)
    """

    data: np.ndarray
    sfreq: float
    ch_names: list[str] | None = None
    ch_types: list[str] | None = None
    units: list[str] | None = None
    annotations: Annotations = field(default_factory=Annotations)
    subject: str | None = None
    session: str | None = None
    run: str | None = None
    source: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.source
        self.data = check_array(self.data, ndim=2, name="Recording data", source=src)
        if not np.issubdtype(self.data.dtype, np.floating):
            self.data = self.data.astype(np.float64)
        self.sfreq = check_sfreq(self.sfreq, source=src)
        n_ch = self.data.shape[0]
        if self.ch_names is None:
            self.ch_names = [f"ch{i:03d}" for i in range(n_ch)]
        self.ch_names = [str(c) for c in self.ch_names]
        if self.ch_types is None:
            self.ch_types = ["misc"] * n_ch
        if self.units is None:
            self.units = ["a.u."] * n_ch
        self.ch_types, self.units = list(self.ch_types), list(self.units)
        for name, seq in (
            ("ch_names", self.ch_names),
            ("ch_types", self.ch_types),
            ("units", self.units),
        ):
            if len(seq) != n_ch:
                raise DataFormatError(
                    f"{name} has {len(seq)} entries but data has {n_ch} channels"
                    + (f" ({src})" if src else "")
                    + "."
                )
        if len(set(self.ch_names)) != n_ch:
            dup = sorted({c for c in self.ch_names if self.ch_names.count(c) > 1})
            raise DataFormatError(f"Duplicate channel names: {dup}.")
        if not isinstance(self.annotations, Annotations):
            raise TypeError(
                f"annotations must be an Annotations; got {type(self.annotations).__name__}."
            )
        for attr in ("subject", "session", "run"):
            val = getattr(self, attr)
            if val is not None:
                setattr(self, attr, str(val))

    # ------------------------------------------------------------------ properties
    @property
    def n_channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_times(self) -> int:
        return int(self.data.shape[1])

    @property
    def duration(self) -> float:
        """Duration in seconds (``n_times / sfreq``)."""
        return self.n_times / self.sfreq

    @property
    def times(self) -> np.ndarray:
        """Sample times in seconds, starting at 0."""
        return np.arange(self.n_times) / self.sfreq

    @property
    def recording_id(self) -> str:
        """A string identifying this recording (subject/session/run or source)."""
        parts = [
            f"sub-{self.subject}" if self.subject else None,
            f"ses-{self.session}" if self.session else None,
            f"run-{self.run}" if self.run else None,
        ]
        ident = "_".join(p for p in parts if p)
        return ident or (Path(self.source).name if self.source else "recording")

    # ------------------------------------------------------------------ methods
    def copy(self) -> Recording:
        """Deep copy."""
        return _copy.deepcopy(self)

    def pick(self, channels: list[str] | str) -> Recording:
        """Return a new recording with only ``channels`` (names), in the given order."""
        channels = [channels] if isinstance(channels, str) else list(channels)
        unknown = [c for c in channels if c not in self.ch_names]
        if unknown:
            raise ValueError(
                f"Unknown channel(s) {unknown}. Available: {self.ch_names[:20]}"
                + (" ..." if self.n_channels > 20 else "")
                + "."
            )
        idx = [self.ch_names.index(c) for c in channels]
        out = self.copy()
        out.data = self.data[idx].copy()
        out.ch_names = [self.ch_names[i] for i in idx]
        out.ch_types = [self.ch_types[i] for i in idx]  # type: ignore[index]
        out.units = [self.units[i] for i in idx]  # type: ignore[index]
        return out

    def pick_types(self, types: list[str] | str) -> Recording:
        """Return a new recording with only channels whose type is in ``types``."""
        types = [types] if isinstance(types, str) else list(types)
        names = [n for n, t in zip(self.ch_names, self.ch_types) if t in types]  # type: ignore[arg-type]
        if not names:
            raise ValueError(
                f"No channels of type {types}; types present: {sorted(set(self.ch_types))}."
            )  # type: ignore[arg-type]
        return self.pick(names)

    def crop(self, tmin: float = 0.0, tmax: float | None = None) -> Recording:
        """Return the part between ``tmin`` and ``tmax`` seconds (annotations shifted)."""
        tmax = self.duration if tmax is None else tmax
        if not 0 <= tmin < tmax <= self.duration + 1e-9:
            raise ValueError(
                f"Invalid crop window [{tmin}, {tmax}] for a {self.duration:.3f} s recording."
            )
        i0, i1 = round(tmin * self.sfreq), round(tmax * self.sfreq)
        out = self.copy()
        out.data = self.data[:, i0:i1].copy()
        a = self.annotations
        keep = (a.onset + a.duration >= tmin) & (a.onset < tmax)
        out.annotations = Annotations(a.onset[keep] - tmin, a.duration[keep], a.label[keep])
        return out

    def to_mne(self) -> Any:
        """Return an ``mne.io.RawArray`` (channel types MNE does not know become ``misc``)."""
        import mne

        valid = set(mne.io.get_channel_type_constants())
        types = [t if t in valid else "misc" for t in self.ch_types]  # type: ignore[union-attr]
        info = mne.create_info(list(self.ch_names), self.sfreq, types)  # type: ignore[arg-type]
        raw = mne.io.RawArray(self.data, info, verbose="error")
        if len(self.annotations):
            raw.set_annotations(
                mne.Annotations(
                    self.annotations.onset,
                    self.annotations.duration,
                    [str(x) for x in self.annotations.label],
                )
            )
        return raw

    @classmethod
    def from_mne(
        cls,
        raw: Any,
        *,
        subject: str | None = None,
        session: str | None = None,
        run: str | None = None,
        source: str | None = None,
    ) -> Recording:
        """Build a recording from an ``mne.io.Raw`` (data in SI units, annotations kept)."""
        from mne.io.constants import FIFF

        data = raw.get_data()
        unit_names = {
            FIFF.FIFF_UNIT_V: "V",
            FIFF.FIFF_UNIT_T: "T",
            FIFF.FIFF_UNIT_T_M: "T/m",
            FIFF.FIFF_UNIT_NONE: "a.u.",
        }
        units = [unit_names.get(ch["unit"], "a.u.") for ch in raw.info["chs"]]
        ann = raw.annotations
        # MNE keeps raw.annotations onsets on its own time axis, where the first sample sits at
        # raw.first_time, both when orig_time (= meas_date) is set and when it is None (a cropped
        # raw or a RawArray with first_samp > 0 without meas_date); mne.annotations._sync_onset.
        onset = np.asarray(ann.onset, dtype=float) - raw.first_time
        annotations = Annotations(np.maximum(onset, 0.0), ann.duration, list(ann.description))
        fnames = getattr(raw, "filenames", None) or [None]
        src = source or (str(fnames[0]) if fnames[0] is not None else None)
        return cls(
            data,
            raw.info["sfreq"],
            list(raw.ch_names),
            raw.get_channel_types(),
            units,
            annotations,
            subject=subject,
            session=session,
            run=run,
            source=src,
            info={"meas_date": str(raw.info["meas_date"]) if raw.info["meas_date"] else None},
        )

    def __repr__(self) -> str:
        return (
            f"<Recording {self.recording_id}: {self.n_channels} ch x {self.n_times} samples "
            f"@ {self.sfreq:g} Hz ({self.duration:.1f} s), {len(self.annotations)} annotations>"
        )
