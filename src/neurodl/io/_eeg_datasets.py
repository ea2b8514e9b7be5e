"""Readers for two public EEG datasets laid out as on their distribution sites.

* :func:`read_eegmmidb` -- PhysioNet EEG Motor Movement/Imagery (Schalk et al. 2004): EDF+ runs
  ``S001R01.edf`` ... ``S001R14.edf`` with T0/T1/T2 annotations.
* :func:`read_bonn` -- Bonn epilepsy EEG (Andrzejak et al. 2001): five set folders of single
  channel text segments.

Both are re-exported by :mod:`neurodl.io.eeg`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import EpochsDataset
from ..exceptions import DataFormatError, DatasetError

__all__ = ["BONN_SETS", "BONN_SFREQ", "EEGMMIDB_TASKS", "read_bonn", "read_eegmmidb"]


# ---------------------------------------------------------------------------- EEGMMIDB
@dataclass(frozen=True)
class _Task:
    runs: tuple[int, ...]
    #: annotation code -> class name (event-locked epochs), or None for run-labelled windows
    events: dict[str, str] | None
    #: run number -> class name (rest baselines)
    run_labels: dict[int, str] | None = None

    @property
    def classes(self) -> list[str]:
        return list((self.events or self.run_labels or {}).values())


#: task name -> runs and labels (PhysioNet eegmmidb description, "Experimental Protocol").
EEGMMIDB_TASKS: dict[str, _Task] = {
    "rest": _Task((1, 2), None, {1: "eyes_open", 2: "eyes_closed"}),
    "real_lr": _Task((3, 7, 11), {"T1": "left_fist", "T2": "right_fist"}),
    "imagery_lr": _Task((4, 8, 12), {"T1": "left_fist", "T2": "right_fist"}),
    "real_fists_feet": _Task((5, 9, 13), {"T1": "both_fists", "T2": "both_feet"}),
    "imagery_fists_feet": _Task((6, 10, 14), {"T1": "both_fists", "T2": "both_feet"}),
}

_EEGMMIDB_SESSION = "1"  # every run of a subject was recorded in one session


def _eegmmidb_file(root: Path, subject: str, run: int) -> Path | None:
    name = f"{subject}R{run:02d}.edf"
    for candidate in (root / name, root / subject / name):
        if candidate.is_file():
            return candidate
    return None


def _check_times(tmin: float, tmax: float) -> tuple[float, float]:
    tmin, tmax = float(tmin), float(tmax)
    if not (np.isfinite(tmin) and np.isfinite(tmax) and tmax > tmin):
        raise ValueError(
            f"Invalid values for 'tmin'/'tmax'. Allowed: finite numbers with tmax > tmin; "
            f"got tmin={tmin!r}, tmax={tmax!r}."
        )
    return tmin, tmax


def read_eegmmidb(
    root: str | Path,
    *,
    subject: str = "S001",
    task: str = "imagery_lr",
    tmin: float = 0.0,
    tmax: float = 4.0,
    l_freq: float | None = None,
    h_freq: float | None = None,
) -> EpochsDataset:
    """Read one subject of the PhysioNet EEG Motor Movement/Imagery dataset as epochs.

    Parameters
    ----------
    root : str or Path
        Folder holding ``{subject}R01.edf`` ... ``{subject}R14.edf`` (directly or in a
        ``{subject}/`` sub-folder, as on PhysioNet).
    subject : str, default="S001"
        Subject id as in the file names (``"S001"``); an int ``1`` is accepted too.
    task : str, default="imagery_lr"
        One of :data:`EEGMMIDB_TASKS`: ``"rest"`` (runs 1/2, eyes open/closed baselines cut into
        consecutive windows), ``"real_lr"`` (runs 3/7/11, T1 left fist / T2 right fist),
        ``"imagery_lr"`` (4/8/12), ``"real_fists_feet"`` (5/9/13, T1 both fists / T2 both feet),
        ``"imagery_fists_feet"`` (6/10/14).
    tmin, tmax : float
        Epoch window in seconds relative to each cue onset (T1/T2 annotations); an epoch has
        ``round((tmax - tmin) * 160)`` samples (``tmax`` excluded). For ``"rest"`` the runs are
        cut into consecutive non-overlapping windows of ``tmax - tmin`` seconds.
    l_freq, h_freq : float or None
        Band-pass edges in Hz applied to each continuous run before epoching (MNE FIR filter);
        ``None`` leaves that side open.

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_epochs, 64, n_times) in volts, ``y`` integers indexing ``classes``
        (e.g. ``["left_fist", "right_fist"]``), channel names without the dots of the EDF labels,
        ``sfreq`` 160, metadata: subject, session ``"1"``, run (run number), recording
        (``"S001R04"``), segment (one per epoch), trial (index within the run), onset (seconds of
        the cue, or of the window start, within the run) and event (T0/T1/T2).

    Raises
    ------
    ValueError
        Unknown task or invalid tmin/tmax.
    DatasetError
        A run file of the task is missing under ``root``.
    """
    from mne.filter import filter_data

    from .eeg import read_raw

    if task not in EEGMMIDB_TASKS:
        raise ValueError(
            f"Invalid value for 'task'. Allowed: {', '.join(map(repr, EEGMMIDB_TASKS))}; "
            f"got {task!r}."
        )
    tmin, tmax = _check_times(tmin, tmax)
    if isinstance(subject, (int, np.integer)):
        subject = f"S{int(subject):03d}"
    if not re.fullmatch(r"S\d{3}", str(subject)):
        raise ValueError(
            f"Invalid value for 'subject'. Allowed: 'S001' ... 'S109' or an int; got {subject!r}."
        )
    root = Path(root)
    spec = EEGMMIDB_TASKS[task]
    files = {run: _eegmmidb_file(root, subject, run) for run in spec.runs}
    missing = [f"{subject}R{run:02d}.edf" for run, f in files.items() if f is None]
    if missing:
        raise DatasetError(f"EEGMMIDB files missing under {root} for task {task!r}: {missing}.")

    classes = spec.classes
    X_parts, rows, labels = [], [], []
    ch_names: list[str] | None = None
    sfreq = None
    for run, path in files.items():
        rec = read_raw(path, subject=subject, session=_EEGMMIDB_SESSION, run=str(run))
        names = [c.strip(".") for c in rec.ch_names]  # EDF labels are padded with dots: "C3.."
        if ch_names is None:
            ch_names, sfreq = names, rec.sfreq
        elif names != ch_names or rec.sfreq != sfreq:
            raise DataFormatError(f"{path}: channels or sampling rate differ from the other runs.")
        data = rec.data
        if l_freq is not None or h_freq is not None:
            data = filter_data(data, rec.sfreq, l_freq, h_freq, verbose="error")
        n = round((tmax - tmin) * rec.sfreq)
        recording = f"{subject}R{run:02d}"
        if spec.events is None:
            starts = np.arange(0, rec.n_times - n + 1, n)
            cues = starts / rec.sfreq
            codes = ["T0"] * len(starts)
            names_y = [spec.run_labels[run]] * len(starts)  # type: ignore[index]
        else:
            ann = rec.annotations
            keep = np.isin(ann.label.astype(str), list(spec.events))
            cues = ann.onset[keep]
            codes = [str(c) for c in ann.label[keep]]
            names_y = [spec.events[c] for c in codes]
            starts = np.round((cues + tmin) * rec.sfreq).astype(int)
        trial = 0
        for start, cue, code, name in zip(starts, cues, codes, names_y):
            if start < 0 or start + n > rec.n_times:
                logger.warning(
                    "%s: epoch at %.2f s falls outside the run; dropped.", path.name, cue
                )
                continue
            X_parts.append(data[:, start : start + n])
            labels.append(classes.index(name))
            rows.append(
                {
                    "subject": subject,
                    "session": _EEGMMIDB_SESSION,
                    "run": str(run),
                    "recording": recording,
                    "segment": f"{recording}_{trial:03d}",
                    "trial": trial,
                    "onset": float(cue),
                    "event": code,
                }
            )
            trial += 1
    if not X_parts:
        raise DataFormatError(f"{root}: no epochs of task {task!r} found for {subject}.")
    info = {
        "dataset": "eegmmidb",
        "task": task,
        "tmin": tmin,
        "tmax": tmax,
        "l_freq": l_freq,
        "h_freq": h_freq,
        "units": "V",
    }
    return EpochsDataset(
        np.stack(X_parts),
        np.asarray(labels, dtype=np.int64),
        pd.DataFrame(rows),
        sfreq,
        ch_names,
        classes,
        info,
    )


# ---------------------------------------------------------------------------- Bonn
#: Sampling rate of the Bonn data (Andrzejak et al. 2001); not stored in the files.
BONN_SFREQ = 173.61
_BONN_N_TIMES = 4097

#: set letter -> (file/folder prefix, description).
BONN_SETS: dict[str, tuple[str, str]] = {
    "A": ("Z", "surface EEG, healthy, eyes open"),
    "B": ("O", "surface EEG, healthy, eyes closed"),
    "C": ("N", "intracranial, interictal, hemisphere opposite the epileptogenic zone"),
    "D": ("F", "intracranial, interictal, epileptogenic zone"),
    "E": ("S", "intracranial, ictal (seizure)"),
}


def _bonn_folder(root: Path, letter: str) -> Path:
    prefix = BONN_SETS[letter][0]
    for name in (f"{letter}_{prefix}", letter, prefix):
        if (root / name).is_dir():
            return root / name
    found = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    raise DatasetError(
        f"Bonn set {letter!r} not found under {root}: expected a folder {letter}_{prefix}/ "
        f"(or {letter}/); found {found}."
    )


def _read_bonn_segment(path: Path) -> np.ndarray:
    try:
        values = np.array(path.read_text(encoding="ascii").split(), dtype=float)
    except (UnicodeDecodeError, ValueError):
        raise DataFormatError(
            f"{path}: not a Bonn segment: expected integers, one per line."
        ) from None
    if values.size != _BONN_N_TIMES:
        raise DataFormatError(
            f"{path}: a Bonn segment has {_BONN_N_TIMES} samples; got {values.size}."
        )
    return values


def _check_samples(name: str, value: int | None, default: int) -> int:
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not (1 <= value <= _BONN_N_TIMES)
    ):
        raise ValueError(
            f"Invalid value for {name!r}. Allowed: an int in [1, {_BONN_N_TIMES}] or None; "
            f"got {value!r}."
        )
    return int(value)


def read_bonn(
    root: str | Path,
    *,
    sets: tuple[str, ...] | list[str] = ("A", "B", "C", "D", "E"),
    window: int | None = None,
    stride: int | None = None,
) -> EpochsDataset:
    """Read the Bonn epilepsy EEG segments (Andrzejak et al. 2001), optionally windowed.

    Parameters
    ----------
    root : str or Path
        Folder with one sub-folder per set: ``A_Z/``, ``B_O/``, ``C_N/``, ``D_F/``, ``E_S/``
        (bare ``A/`` ... ``E/`` work too), each with 100 text files of 4097 integers
        (``.txt`` or ``.TXT``).
    sets : sequence of str, default=("A", "B", "C", "D", "E")
        Sets to read, in the order that defines the labels (``y = sets.index(letter)``). An
        entry of several letters merges those sets into one class: ``["E", "ABCD"]`` gives
        seizure (0) vs everything else (1).
    window : int or None
        Window length in samples; ``None`` keeps whole segments (4097 samples, 23.6 s).
    stride : int or None
        Step between window starts in samples; defaults to ``window`` (no overlap).

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_windows, 1, window) in the files' integer units (12-bit ADC counts,
        roughly microvolts), ``y`` the set index, ``classes`` the set letters, ``sfreq`` 173.61.
        Metadata: ``segment`` = set letter + file id (``"A_Z001"``), so grouping by segment keeps
        all windows of a segment in one fold; ``recording`` = set letter (a pseudo-recording);
        ``subject`` = ``"unknown"`` because the segments carry no subject ids (each set pools
        5 subjects); ``trial`` = window index in the segment; ``onset`` = window start in
        seconds within the segment; ``set`` = set letter.

    Raises
    ------
    ValueError
        Unknown or repeated set letters, invalid window/stride.
    DatasetError
        A set folder is missing or holds no segments.
    DataFormatError
        A segment file is not 4097 numbers.
    """
    sets = [sets] if isinstance(sets, str) else list(sets)
    letters = [c for s in sets for c in (s if isinstance(s, str) else [s])]
    bad = [s for s in letters if s not in BONN_SETS]
    if not sets or bad or len(set(letters)) != len(letters):
        raise ValueError(
            f"Invalid value for 'sets'. Allowed: distinct letters among {list(BONN_SETS)}, "
            f"alone or merged into one class (e.g. ['E', 'ABCD']); got {sets!r}."
        )
    window = _check_samples("window", window, _BONN_N_TIMES)
    stride = _check_samples("stride", stride, window)
    root = Path(root)
    starts = np.arange(0, _BONN_N_TIMES - window + 1, stride)
    X_parts, labels, rows = [], [], []
    for label, letter in ((i, c) for i, group in enumerate(sets) for c in group):
        folder = _bonn_folder(root, letter)
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
        if not files:
            raise DatasetError(f"Bonn set {letter!r}: no .txt segments in {folder}.")
        for path in files:
            signal = _read_bonn_segment(path)
            segment = f"{letter}_{path.stem}"
            for k, start in enumerate(starts):
                X_parts.append(signal[start : start + window])
                labels.append(label)
                rows.append(
                    {
                        "subject": "unknown",
                        "session": "0",
                        "run": "0",
                        "recording": letter,
                        "segment": segment,
                        "trial": k,
                        "onset": start / BONN_SFREQ,
                        "set": letter,
                    }
                )
    X = np.stack(X_parts)[:, None, :]
    info = {
        "dataset": "bonn",
        "window": window,
        "stride": stride,
        "units": "ADC counts",
        "sets": {s: "; ".join(BONN_SETS[c][1] for c in s) for s in sets},
    }
    return EpochsDataset(
        X,
        np.asarray(labels, dtype=np.int64),
        pd.DataFrame(rows),
        BONN_SFREQ,
        ["EEG"],
        list(sets),
        info,
    )
