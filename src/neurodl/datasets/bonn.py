"""Bonn epilepsy EEG (Andrzejak et al. 2001): registry entry, reader and quirks.

Five sets (A-E) of 100 single-channel text segments of 4097 integer samples each, laid out as
``A_Z/``, ``B_O/``, ``C_N/``, ``D_F/``, ``E_S/``. Quirks: the sampling rate (173.61 Hz) is not
stored in the files; set C uses ``.TXT``; sets D and E clip at 2047; the segments carry no
subject ids (each set pools 5 subjects), so folds must be grouped by segment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data import EpochsDataset
from ..data.epochs import NO_SESSION
from ..exceptions import DataFormatError, DatasetError
from ..io.arrays import first_blank_line
from ._common import NO_LICENCE
from .registry import DatasetEntry, register_dataset

__all__ = ["BONN_SETS", "BONN_SFREQ", "ENTRY", "read_bonn"]

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
    raw = path.read_bytes()
    blank = first_blank_line(raw)
    if blank is not None:
        raise DataFormatError(
            f"{path}: line {blank} is blank; a Bonn segment holds one integer per line "
            "(a missing sample would shift every later one)."
        )
    try:
        values = np.array(raw.decode("ascii").split(), dtype=float)
    except (UnicodeDecodeError, ValueError):
        raise DataFormatError(
            f"{path}: not a Bonn segment: expected integers, one per line."
        ) from None
    if not np.isfinite(values).all():
        raise DataFormatError(
            f"{path}: {int((~np.isfinite(values)).sum())} NaN/inf values in a Bonn segment."
        )
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

    Examples
    --------
    The registry entry (the real data live under the data root):

    >>> from neurodl.datasets import get_dataset
    >>> entry = get_dataset("bonn")
    >>> entry.folder, entry.n_files, entry.sfreq, entry.loader_name
    ('eeg/bonn', 500, 173.61, 'neurodl.datasets.bonn.read_bonn')

    A tiny stand-in with one segment in each of sets A and E shows the windowing and labels:

    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for folder in ("A_Z", "E_S"):
    ...         (Path(tmp) / folder).mkdir()
    ...         values = rng.integers(-200, 200, size=4097)  # one integer per line
    ...         segment = Path(tmp) / folder / f"{folder[-1]}001.txt"
    ...         _ = segment.write_text("\\n".join(map(str, values)))
    ...     ds = read_bonn(tmp, sets=["E", "A"], window=1024)
    ...     try:
    ...         read_bonn(tmp, sets=["B"])
    ...     except DatasetError as err:
    ...         print(str(err).replace(tmp, "<tmp>"))
    Bonn set 'B' not found under <tmp>: expected a folder B_O/ (or B/); found ['A_Z', 'E_S'].
    >>> ds.X.shape, ds.classes, ds.y.tolist()  # 4 windows of 1024 samples per segment
    ((8, 1, 1024), ['E', 'A'], [0, 0, 0, 0, 1, 1, 1, 1])
    >>> ds.metadata["segment"].unique().tolist()  # group folds by segment
    ['E_S001', 'A_Z001']
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
                        "session": NO_SESSION,
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


ENTRY = register_dataset(
    DatasetEntry(
        name="bonn",
        folder="eeg/bonn",
        description="Bonn epilepsy EEG: 5 sets x 100 single-channel 23.6 s segments "
        "(healthy eyes open/closed, interictal, ictal).",
        modality="eeg",
        sfreq=BONN_SFREQ,
        sfreq_note="173.61 Hz (not stored in the files); 4097 samples per segment; D and E clip at 2047.",
        classes={
            "A": "set A (Z): healthy, eyes open",
            "B": "set B (O): healthy, eyes closed",
            "C": "set C (N): interictal, hemisphere opposite the epileptogenic zone",
            "D": "set D (F): interictal, epileptogenic zone",
            "E": "set E (S): ictal (seizure)",
        },
        citation="Andrzejak RG, Lehnertz K, Mormann F, Rieke C, David P, Elger CE. Indications of "
        "nonlinear deterministic and finite-dimensional structures in time series of brain electrical "
        "activity: dependence on recording region and brain state. Phys Rev E 64:061907 (2001).",
        license=NO_LICENCE,
        source="RYH2077/EEG-Epilepsy-Datasets @185859ab",
        loader=read_bonn,
    )
)
