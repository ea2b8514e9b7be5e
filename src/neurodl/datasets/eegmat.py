"""EEG During Mental Arithmetic Tasks (PhysioNet EEGMAT, Zyma et al. 2019): entry, reader, quirks.

``SubjectNN_1.edf`` is a resting baseline (about 182 s), ``SubjectNN_2.edf`` serial subtraction
(about 60 s); ``subject-info.csv`` gives age, sex, the number of subtractions and the count
quality (1 good / 0 bad counter). Quirks: the EDF files carry essentially no annotations, so the
condition comes from the file name and the count quality is a subject-level label; the labels
are ``"EEG Fp1"`` ... with one ``"EEG A2-A1"`` reference derivation and one ``"ECG ECG"``
channel (MNE types them all EEG); the two conditions are two different files, so a classifier
can tell them apart by recording identity alone: group folds by subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import EpochsDataset, Recording
from ..exceptions import DataFormatError, DatasetError
from ..io.eeg import read_raw
from .registry import DatasetEntry, register_dataset

__all__ = ["EEGMAT_CONDITIONS", "EEGMAT_SFREQ", "ENTRY", "read_eegmat", "read_eegmat_subjects"]

#: Sampling rate of the EDF files (Hz).
EEGMAT_SFREQ = 500.0
#: file suffix (``SubjectNN_<k>.edf``) -> condition.
EEGMAT_CONDITIONS: dict[str, str] = {"1": "rest", "2": "task"}
#: count quality code of subject-info.csv -> label.
_COUNT_QUALITY = {0: "bad", 1: "good"}
#: label policy -> (metadata column, class names in label order).
_LABELS: dict[str, tuple[str, list[str]]] = {
    "condition": ("condition", ["rest", "task"]),
    "count_quality": ("count_quality", ["bad", "good"]),
}
#: subject-level facts copied onto each window's metadata row.
_META = ("condition", "count_quality", "age", "sex", "n_subtractions")
_INFO_FILE = "subject-info.csv"
_INFO_COLUMNS = {
    "Subject": "subject",
    "Age": "age",
    "Gender": "sex",
    "Recording year": "recording_year",
    "Number of subtractions": "n_subtractions",
    "Count quality": "count_quality_code",
}
_FILE_RE = re.compile(r"(Subject\d+)_([12])\.edf", re.I)


def read_eegmat_subjects(root: str | Path) -> pd.DataFrame:
    """Read ``subject-info.csv``: one row per subject.

    Parameters
    ----------
    root : str or Path
        The dataset folder.

    Returns
    -------
    DataFrame
        Columns ``subject`` (``"Subject00"``), ``age`` (int), ``sex`` (``"F"``/``"M"``),
        ``recording_year``, ``n_subtractions`` (float), ``count_quality_code`` (0/1) and
        ``count_quality`` (``"bad"``/``"good"``).

    Raises
    ------
    DatasetError
        The file is missing.
    DataFormatError
        A column is missing or a count quality is not 0/1.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "subject-info.csv").write_text(
    ...         "Subject,Age,Gender,Recording year,Number of subtractions,Count quality\\n"
    ...         "Subject00,21,F,2011,9.7,0\\n"
    ...         "Subject01,18,M,2011,29.35,1\\n"
    ...     )
    ...     table = read_eegmat_subjects(tmp)
    >>> print(table[["subject", "age", "sex", "count_quality"]].to_string(index=False))
      subject  age sex count_quality
    Subject00   21   F           bad
    Subject01   18   M          good
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         read_eegmat_subjects(tmp)
    ...     except DatasetError as err:
    ...         print(str(err).replace(tmp, "<tmp>"))
    EEGMAT subject table missing: <tmp>/subject-info.csv does not exist.
    """
    path = Path(root) / _INFO_FILE
    if not path.is_file():
        raise DatasetError(f"EEGMAT subject table missing: {path} does not exist.")
    table = pd.read_csv(path)
    missing = [c for c in _INFO_COLUMNS if c not in table.columns]
    if missing:
        raise DataFormatError(f"{path}: missing columns {missing}; got {list(table.columns)}.")
    table = table.rename(columns=_INFO_COLUMNS)[list(_INFO_COLUMNS.values())]
    bad = sorted(set(table["count_quality_code"]) - set(_COUNT_QUALITY))
    if bad:
        raise DataFormatError(f"{path}: 'Count quality' must be 0 or 1; got {bad}.")
    table["subject"] = table["subject"].astype(str).str.strip()
    table["count_quality"] = table["count_quality_code"].map(_COUNT_QUALITY)
    return table


def _files(root: Path, subjects: Sequence[str] | None) -> list[tuple[str, str, Path]]:
    found = []
    for path in sorted(root.glob("*.edf")) + sorted(root.glob("*.EDF")):
        match = _FILE_RE.fullmatch(path.name)
        if match:
            found.append((match.group(1), EEGMAT_CONDITIONS[match.group(2)], path))
    if subjects is not None:
        known = sorted({s for s, _, _ in found})
        wanted = [s if str(s).startswith("Subject") else f"Subject{int(s):02d}" for s in subjects]
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise ValueError(
                f"Invalid value for 'subjects'. Allowed: subjects present under {root} "
                f"({', '.join(known)}) or their numbers; got {list(subjects)!r}."
            )
        found = [f for f in found if f[0] in wanted]
    if not found:
        raise DatasetError(f"No EEGMAT recordings (SubjectNN_1.edf / SubjectNN_2.edf) in {root}.")
    return found


def _channel_types(names: list[str]) -> list[str]:
    return ["ecg" if n.upper().startswith("ECG") else "misc" if "-" in n else "eeg" for n in names]


def _check_seconds(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not (np.isfinite(value) and value > 0)
    ):
        raise ValueError(
            f"Invalid value for {name!r}. Allowed: a positive number of seconds or None; "
            f"got {value!r}."
        )
    return float(value)


def _read_recording(path: Path, subject: str, condition: str, row: pd.Series) -> Recording:
    run = next(k for k, v in EEGMAT_CONDITIONS.items() if v == condition)
    rec = read_raw(path, subject=subject, session="1", run=run)
    names = [re.sub(r"^(EEG|ECG)\s+", "", c).strip() for c in rec.ch_names]
    names = ["ECG" if c.upper().startswith("ECG") else n for c, n in zip(rec.ch_names, names)]
    rec.ch_names = names
    rec.ch_types = _channel_types(rec.ch_names)
    rec.annotations = type(rec.annotations)()  # only an EDF "[Total time]" marker
    rec.info.update(
        {
            "dataset": "eegmat",
            "condition": condition,
            "count_quality": row["count_quality"],
            "age": int(row["age"]),
            "sex": str(row["sex"]),
            "n_subtractions": float(row["n_subtractions"]),
        }
    )
    return rec


def read_eegmat(
    root: str | Path,
    *,
    subjects: Sequence[str | int] | None = None,
    conditions: Sequence[str] = ("rest", "task"),
    last: float | None = None,
    window: float | None = None,
    stride: float | None = None,
    label: Literal["condition", "count_quality"] = "condition",
    picks: Literal["eeg", "all"] = "eeg",
) -> list[Recording] | EpochsDataset:
    """Read the EEGMAT recordings, whole or cut into labelled windows.

    Parameters
    ----------
    root : str or Path
        Folder with ``SubjectNN_1.edf`` (rest), ``SubjectNN_2.edf`` (task) and
        ``subject-info.csv``.
    subjects : sequence of str or int, optional
        Subjects to read (``"Subject03"`` or ``3``); default all present.
    conditions : sequence of {"rest", "task"}, default=("rest", "task")
        Conditions to read.
    last : float, optional
        Keep only the last ``last`` seconds of each recording (the reference pipelines use 60,
        the length of the task files); default the whole recording.
    window : float, optional
        Window length in seconds. ``None`` returns whole recordings; a number returns an
        :class:`EpochsDataset` of consecutive windows.
    stride : float, optional
        Step between window starts in seconds; default ``window`` (no overlap).
    label : {"condition", "count_quality"}, default="condition"
        Label of each window: rest (0) vs task (1), or the subject's count quality, bad (0)
        vs good (1) counter.
    picks : {"eeg", "all"}, default="eeg"
        ``"eeg"`` keeps the 19 scalp EEG channels; ``"all"`` also the A2-A1 derivation (type
        ``misc``) and the ECG (type ``ecg``).

    Returns
    -------
    list of Recording or EpochsDataset
        Without ``window``: one :class:`Recording` per file (data of shape (n_channels,
        n_times) in volts at 500 Hz; ``subject`` ``"Subject00"``, ``session`` ``"1"``, ``run``
        ``"1"`` rest / ``"2"`` task; ``info`` holds condition, count_quality, age, sex,
        n_subtractions and, with ``last``, crop_start: the file time of the first sample). With ``window``: ``X`` of shape (n_windows, n_channels,
        round(window * 500)), ``y`` indexing ``classes`` (``["rest", "task"]`` or
        ``["bad", "good"]``), metadata columns subject, session, run, recording
        (``"Subject00_1"``), segment (= recording), trial, onset (seconds within the file),
        condition, count_quality, age, sex, n_subtractions.

    Raises
    ------
    ValueError
        Unknown subjects, conditions, label or picks; invalid last/window/stride.
    DatasetError
        No recordings or no subject table under ``root``, or a subject missing from the table.

    Examples
    --------
    The real files (12 subjects, the last 60 s of each file, 4 s windows):

    >>> ds = read_eegmat("../shared/data/eeg/eegmat_mental_arithmetic", last=60.0,
    ...                  window=4.0)  # doctest: +SKIP
    >>> ds.X.shape, ds.classes  # doctest: +SKIP
    ((360, 19, 2000), ['rest', 'task'])

    Tiny stand-ins in the same layout: two subjects, a 10 s rest and a 6 s task EDF each, two
    scalp channels and an ECG named as in the real files, and the subject table:

    >>> import tempfile
    >>> import mne
    >>> rng = np.random.default_rng(0)
    >>> info = mne.create_info(["EEG Fz", "EEG Cz", "ECG ECG"], sfreq=500.0, ch_types="eeg")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     pd.DataFrame({"Subject": ["Subject00", "Subject01"], "Age": [21, 18],
    ...                   "Gender": ["F", "M"], "Recording year": [2011, 2011],
    ...                   "Number of subtractions": [9.7, 29.35], "Count quality": [0, 1]},
    ...                  ).to_csv(f"{tmp}/subject-info.csv", index=False)
    ...     for subject in ("Subject00", "Subject01"):
    ...         for k, seconds in (("1", 10), ("2", 6)):  # rest, task
    ...             volts = rng.normal(scale=1e-5, size=(3, 500 * seconds))
    ...             raw = mne.io.RawArray(volts, info, verbose=False)
    ...             mne.export.export_raw(f"{tmp}/{subject}_{k}.edf", raw, verbose=False)
    ...     recordings = read_eegmat(tmp, picks="all")
    ...     ds = read_eegmat(tmp, last=6.0, window=2.0)
    ...     quality = read_eegmat(tmp, conditions=["task"], window=3.0, label="count_quality")
    >>> rec = recordings[0]
    >>> rec
    <Recording sub-Subject00_ses-1_run-1: 3 ch x 5000 samples @ 500 Hz (10.0 s), 0 annotations>
    >>> rec.ch_names, rec.ch_types, rec.info["condition"]
    (['Fz', 'Cz', 'ECG'], ['eeg', 'eeg', 'ecg'], 'rest')

    The last 6 s of each file in 2 s windows (ECG dropped): 3 windows per file, onsets in
    seconds within the file, so the cropped rest windows start at 4 s.

    >>> ds
    <EpochsDataset X (12, 2, 1000), y (12,), 2 subject(s)>
    >>> ds.classes, ds.y[:6]
    (['rest', 'task'], array([0, 0, 0, 1, 1, 1]))
    >>> ds.metadata["onset"].tolist()[:4], ds.metadata["recording"].tolist()[:4]
    ([4.0, 6.0, 8.0, 0.0], ['Subject00_1', 'Subject00_1', 'Subject00_1', 'Subject00_2'])
    >>> quality.classes, quality.y  # subject-level label: Subject00 bad, Subject01 good
    (['bad', 'good'], array([0, 0, 1, 1]))
    """
    conditions = [conditions] if isinstance(conditions, str) else list(conditions)
    if not conditions or any(c not in EEGMAT_CONDITIONS.values() for c in conditions):
        raise ValueError(
            f"Invalid value for 'conditions'. Allowed: 'rest', 'task' or both; got {conditions!r}."
        )
    if label not in _LABELS:
        raise ValueError(
            f"Invalid value for 'label'. Allowed: {', '.join(map(repr, _LABELS))}; got {label!r}."
        )
    if picks not in ("eeg", "all"):
        raise ValueError(f"Invalid value for 'picks'. Allowed: 'eeg', 'all'; got {picks!r}.")
    last = _check_seconds("last", last)
    window = _check_seconds("window", window)
    stride = _check_seconds("stride", stride)
    if stride is not None and window is None:
        raise ValueError("Invalid value for 'stride': it needs 'window'; got window=None.")
    root = Path(root)
    table = read_eegmat_subjects(root).set_index("subject")
    recordings = []
    for subject, condition, path in _files(root, subjects):
        if condition not in conditions:
            continue
        if subject not in table.index:
            raise DatasetError(f"{path.name}: subject {subject} is not in {root / _INFO_FILE}.")
        rec = _read_recording(path, subject, condition, table.loc[subject])
        if picks == "eeg":
            rec = rec.pick_types("eeg")
        if last is not None:
            if last > rec.duration:
                logger.warning(
                    "%s lasts %.1f s, less than last=%g s; kept whole.",
                    path.name,
                    rec.duration,
                    last,
                )
            else:
                start = rec.duration - last
                rec = rec.crop(start, None)
                rec.info["crop_start"] = start  # seconds of the first kept sample in the file
        recordings.append(rec)
    if window is None:
        return recordings
    return _windows(recordings, window, stride or window, label)


def _windows(recs: list[Recording], window: float, stride: float, label: str) -> EpochsDataset:
    column, classes = _LABELS[label]
    n, step = round(window * EEGMAT_SFREQ), round(stride * EEGMAT_SFREQ)
    X_parts, y, rows = [], [], []
    for rec in recs:
        if rec.sfreq != EEGMAT_SFREQ or rec.ch_names != recs[0].ch_names:
            raise DataFormatError(
                f"{rec.source}: rate or channels differ from the other EEGMAT recordings."
            )
        starts = np.arange(0, rec.n_times - n + 1, step)
        recording = f"{rec.subject}_{rec.run}"
        offset = float(rec.info.get("crop_start", 0.0))
        for k, start in enumerate(starts):
            X_parts.append(rec.data[:, start : start + n])
            y.append(classes.index(rec.info[column]))
            rows.append(
                {
                    "subject": rec.subject,
                    "session": rec.session,
                    "run": rec.run,
                    "recording": recording,
                    "segment": recording,
                    "trial": k,
                    "onset": offset + start / rec.sfreq,
                    **{key: rec.info[key] for key in _META},
                }
            )
    if not X_parts:
        raise DataFormatError(f"No window of {window:g} s fits in the selected EEGMAT recordings.")
    info = {"dataset": "eegmat", "window": window, "stride": stride, "label": label, "units": "V"}
    return EpochsDataset(
        np.stack(X_parts),
        np.asarray(y, dtype=np.int64),
        pd.DataFrame(rows),
        EEGMAT_SFREQ,
        list(recs[0].ch_names),
        list(classes),
        info,
    )


ENTRY = register_dataset(
    DatasetEntry(
        name="eegmat",
        folder="eeg/eegmat_mental_arithmetic",
        description="PhysioNet EEG During Mental Arithmetic Tasks, 12 of 36 subjects: resting "
        "baseline and serial subtraction EDF per subject, subject-level good/bad counter label.",
        modality="eeg",
        sfreq=EEGMAT_SFREQ,
        sfreq_note="500 Hz; 21 channels (19 EEG 10-20 + A2-A1 + ECG); rest 170-188 s, task 62 s.",
        classes={
            "rest": "SubjectNN_1.edf: resting baseline",
            "task": "SubjectNN_2.edf: serial subtraction (mental arithmetic)",
        },
        citation="Zyma I, Tukaev S, Seleznov I, Kiyono K, Popov A, Chernykh M, Shpenkov O. "
        "Electroencephalograms during mental arithmetic task performance. Data 4(1):14 (2019); "
        "Goldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation 101:e215 (2000).",
        license="Open Data Commons Attribution License v1.0 (PhysioNet EEGMAT 1.0.0).",
        source="manel79/EEG-arithmetic-task-Manel-Mestre @4707c0b4 (data/, subject-info.csv)",
        loader=read_eegmat,
    )
)
