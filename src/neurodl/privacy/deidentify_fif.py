"""De-identify one FIF recording with MNE (``Raw.anonymize``) and neutral annotation codes.

MNE's anonymisation replaces the subject info (name, his_id...; the birthday, which MNE only
shifts, is dropped here), experimenter,
description, project name, device and helium info, file and measurement ids, and moves the
measurement date back by ``daysback`` days. Annotation texts are replaced by neutral codes (the
same text gets the same code). The signals are written back in their original on-disk format
(``fmt`` of the file), so the values read back are those read from the input.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..exceptions import DataFormatError

__all__ = ["deidentify_fif", "fif_measurement_date"]

_FORMATS = {"single", "double", "int", "short"}


def _read(path: Path):
    import mne

    try:
        return mne.io.read_raw_fif(path, preload=False, allow_maxshield=False, verbose="error")
    except (ValueError, OSError, RuntimeError, KeyError, IndexError, TypeError) as err:
        raise DataFormatError(f"{path.name}: cannot read it as a FIF recording ({err}).") from None


def fif_measurement_date(path: Path) -> dt.date | None:
    """The measurement date of a FIF recording (None when the file has none).

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> import mne
    >>> import numpy as np
    >>> info = mne.create_info(["Fz", "Cz"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 1000)), info, verbose="error")  # 10 s
    >>> _ = raw.set_meas_date(dt.datetime(2021, 3, 4, 9, 30, tzinfo=dt.timezone.utc))
    >>> raw.info["subject_info"] = {"his_id": "JD1984", "first_name": "Jane", "last_name": "Doe"}
    >>> _ = raw.set_annotations(mne.Annotations([1.0], [0.5], ["Jane coughed"]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = raw.save(f"{tmp}/rec_raw.fif", verbose="error")
    ...     date = fif_measurement_date(Path(tmp) / "rec_raw.fif")
    ...     _ = raw.set_meas_date(None)
    ...     _ = raw.save(f"{tmp}/undated_raw.fif", verbose="error")
    ...     undated = fif_measurement_date(Path(tmp) / "undated_raw.fif")
    >>> date, undated
    (datetime.date(2021, 3, 4), None)
    """
    meas_date = _read(path).info["meas_date"]
    return None if meas_date is None else meas_date.date()


def deidentify_fif(
    src: Path, dst: Path, offset_days: int, codes: dict[bytes, bytes]
) -> dict[str, object]:
    """Write the anonymised copy of the FIF recording ``src`` to ``dst``.

    Returns what was found: ``subject_info_removed``, ``experimenter_removed``,
    ``description_removed``, ``date_shifted``, ``annotation_texts_replaced``.

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> import mne
    >>> import numpy as np
    >>> info = mne.create_info(["Fz", "Cz"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 1000)), info, verbose="error")  # 10 s
    >>> _ = raw.set_meas_date(dt.datetime(2021, 3, 4, 9, 30, tzinfo=dt.timezone.utc))
    >>> raw.info["subject_info"] = {"his_id": "JD1984", "first_name": "Jane", "last_name": "Doe"}
    >>> _ = raw.set_annotations(mne.Annotations([1.0], [0.5], ["Jane coughed"]))
    >>> raw.info["experimenter"] = "Dr Smith"
    >>> codes = {}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = raw.save(f"{tmp}/rec_raw.fif", verbose="error")
    ...     src, dst = Path(tmp) / "rec_raw.fif", Path(tmp) / "clean_raw.fif"
    ...     found = deidentify_fif(src, dst, offset_days=400, codes=codes)
    ...     clean = mne.io.read_raw_fif(f"{tmp}/clean_raw.fif", verbose="error")
    >>> found  # doctest: +NORMALIZE_WHITESPACE
    {'subject_info_removed': True, 'experimenter_removed': True, 'description_removed': False,
     'date_shifted': True, 'annotation_texts_replaced': 1}
    >>> dict(clean.info["subject_info"]), clean.info["experimenter"]  # no name left
    ({'his_id': '0'}, 'mne_anonymize')
    >>> clean.info["meas_date"].date(), list(clean.annotations.description)
    (datetime.date(2020, 1, 29), ['A1'])
    """
    import mne

    raw = _read(src)
    info = raw.info
    found: dict[str, object] = {
        "subject_info_removed": bool(info.get("subject_info")),
        "experimenter_removed": bool(info.get("experimenter")),
        "description_removed": bool(info.get("description")),
        "date_shifted": info["meas_date"] is not None,
        "annotation_texts_replaced": 0,
    }
    raw.anonymize(daysback=offset_days if info["meas_date"] is not None else None, verbose="error")
    subject_info = raw.info.get("subject_info")
    if subject_info:  # MNE keeps a shifted birthday (the age survives); drop it, and the rest
        raw.info["subject_info"] = {"his_id": str(subject_info.get("his_id", "0"))}
    if len(raw.annotations):
        texts = []
        for text in raw.annotations.description:
            key = str(text).encode("utf-8")
            texts.append(codes.setdefault(key, b"A%d" % (len(codes) + 1)).decode())
        raw.set_annotations(
            mne.Annotations(
                onset=raw.annotations.onset,
                duration=raw.annotations.duration,
                description=texts,
                orig_time=raw.annotations.orig_time,
                ch_names=raw.annotations.ch_names,
            )
        )
        found["annotation_texts_replaced"] = len(texts)
    fmt = raw.orig_format if raw.orig_format in _FORMATS else "single"
    raw.save(dst, fmt=fmt, verbose="error")
    return found
