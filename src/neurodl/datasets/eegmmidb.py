"""PhysioNet EEG Motor Movement/Imagery (Schalk et al. 2004): registry entry, reader, quirks.

EDF+ runs ``S001R01.edf`` ... ``S001R14.edf`` (64 channels, 160 Hz) with T0/T1/T2 annotations
whose meaning depends on the run (see :data:`EEGMMIDB_TASKS`). Quirks: channel labels are
padded with dots (``"C3.."``); runs 1/2 are eye-open/closed baselines without cues; every run
of a subject was recorded in one session.
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
from ..io.eeg import read_raw
from ._common import check_times
from .registry import DatasetEntry, register_dataset

__all__ = ["EEGMMIDB_SFREQ", "EEGMMIDB_TASKS", "ENTRY", "read_eegmmidb"]

#: Sampling rate of the EDF files (Hz).
EEGMMIDB_SFREQ = 160.0


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

    Examples
    --------
    Two tiny baseline runs written with MNE stand in for the real files (``eegmmidb-s001`` in the
    registry): the ``rest`` task cuts them into windows labelled by run.

    >>> import tempfile
    >>> import mne
    >>> rng = np.random.default_rng(0)
    >>> # channel labels padded with dots, as in the EDF files
    >>> info = mne.create_info(["C3..", "Cz..", "C4.."], 160.0, "eeg")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for run in (1, 2):  # 10 s each
    ...         raw = mne.io.RawArray(rng.normal(scale=1e-5, size=(3, 1600)), info, verbose="error")
    ...         mne.export.export_raw(f"{tmp}/S001R{run:02d}.edf", raw, verbose="error")
    ...     ds = read_eegmmidb(tmp, subject=1, task="rest", tmax=2.0)
    ...     try:
    ...         read_eegmmidb(tmp, task="imagery_lr")
    ...     except DatasetError as err:
    ...         print(str(err).replace(tmp, "<tmp>"))  # doctest: +NORMALIZE_WHITESPACE
    EEGMMIDB files missing under <tmp> for task 'imagery_lr':
    ['S001R04.edf', 'S001R08.edf', 'S001R12.edf'].
    >>> ds.X.shape, ds.sfreq, ds.ch_names  # 5 windows of 2 s per run, dots stripped
    ((10, 3, 320), 160.0, ['C3', 'Cz', 'C4'])
    >>> ds.classes, np.bincount(ds.y).tolist()
    (['eyes_open', 'eyes_closed'], [5, 5])
    """
    from mne.filter import filter_data

    if task not in EEGMMIDB_TASKS:
        raise ValueError(
            f"Invalid value for 'task'. Allowed: {', '.join(map(repr, EEGMMIDB_TASKS))}; "
            f"got {task!r}."
        )
    tmin, tmax = check_times(tmin, tmax)
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


ENTRY = register_dataset(
    DatasetEntry(
        name="eegmmidb-s001",
        folder="eeg/eegmmidb_S001",
        description="PhysioNet EEG Motor Movement/Imagery, subject S001, runs R01-R14 "
        "(64-channel EDF+ with T0/T1/T2 annotations).",
        modality="eeg",
        sfreq=EEGMMIDB_SFREQ,
        sfreq_note="160 Hz; R01/R02 baselines (60 s), R03-R14 125 s each.",
        classes={  # as read_eegmmidb names them (annotation codes in parentheses)
            "left_fist": "T1 of runs 3/7/11 (real) and 4/8/12 (imagined, task 'imagery_lr')",
            "right_fist": "T2 of runs 3/7/11 (real) and 4/8/12 (imagined, task 'imagery_lr')",
            "both_fists": "T1 of runs 5/9/13 (real) and 6/10/14 (imagined, 'imagery_fists_feet')",
            "both_feet": "T2 of runs 5/9/13 (real) and 6/10/14 (imagined, 'imagery_fists_feet')",
            "eyes_open": "run 1 baseline (task 'rest')",
            "eyes_closed": "run 2 baseline (task 'rest')",
        },
        citation="Schalk G, McFarland DJ, Hinterberger T, Birbaumer N, Wolpaw JR. BCI2000: a "
        "general-purpose brain-computer interface (BCI) system. IEEE TBME 51:1034 (2004); "
        "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101:e215 (2000).",
        license="Open Data Commons Attribution License v1.0 (PhysioNet).",
        source="Quixotte/bci_practical_heyni_boorn_janssen @72dd3be0 (PhysioNet eegmmidb)",
        loader=read_eegmmidb,
    )
)
