"""De-identify BIDS text sidecars: participants.tsv, ``*_scans.tsv``/``*_sessions.tsv``, JSON.

- ``participants.tsv``: only ``participant_id``, ``sex`` and ``age`` are kept; ages become 5-year
  bins (``30-34``; 90 and above as ``90+``); ``participants.json`` keeps only those columns.
- ``acq_time`` columns of any TSV are shifted back by the subject's offset in whole days.
- JSON sidecars lose the fields in :data:`IDENTIFYING_JSON_FIELDS` (at any depth).
- When subject codes are re-coded, ``sub-<old>`` becomes ``sub-<new>`` in every text and name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..exceptions import DataFormatError

__all__ = ["IDENTIFYING_JSON_FIELDS", "KEPT_PARTICIPANT_COLUMNS", "recode_text"]

#: JSON sidecar fields removed (BIDS and DICOM-derived names that identify a person or a place).
IDENTIFYING_JSON_FIELDS = frozenset(
    {
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "DeviceSerialNumber",
        "StationName",
        "AcquisitionDateTime",
        "AcquisitionDate",
        "AcquisitionTime",
        "ContentDate",
        "ContentTime",
        "SeriesDate",
        "StudyDate",
        "StudyTime",
        "SeriesTime",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientAddress",
        "OtherPatientIDs",
        "ReferringPhysicianName",
        "PerformingPhysicianName",
        "OperatorsName",
        "AccessionNumber",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
        "MeasurementDate",
        "SubjectName",
        "BirthDate",
        "DateOfBirth",
    }
)

#: participants.tsv columns kept (``age`` as a 5-year bin).
KEPT_PARTICIPANT_COLUMNS = ("participant_id", "age", "sex")

_SUB = re.compile(r"sub-([A-Za-z0-9]+)")


def recode_text(text: str, mapping: dict[str, str]) -> str:
    """Replace ``sub-<old>`` by ``sub-<new>`` for every label in ``mapping`` (old -> new).

    Examples
    --------
    >>> mapping = {"JD1984": "P01"}
    >>> recode_text("sub-JD1984/eeg/sub-JD1984_task-rest_eeg.edf", mapping)
    'sub-P01/eeg/sub-P01_task-rest_eeg.edf'
    >>> recode_text("sub-AB2000_scans.tsv", mapping)  # labels not in the mapping stay
    'sub-AB2000_scans.tsv'
    """
    if not mapping:
        return text
    return _SUB.sub(lambda m: "sub-" + mapping.get(m.group(1), m.group(1)), text)


def age_bin(value: str) -> str:
    """Return the 5-year bin of an age (``'37'`` -> ``'35-39'``; >= 90 -> ``'90+'``)."""
    try:
        age = float(value)
    except ValueError:
        return "n/a"
    if age != age or age < 0:
        return "n/a"
    if age >= 90:
        return "90+"
    low = int(age // 5) * 5
    return f"{low}-{low + 4}"


def _read_tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not rows:
        raise DataFormatError(f"{path.name} is empty: a BIDS TSV needs a header row.")
    return rows[0], rows[1:]


def _write_tsv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def participants_tsv(src: Path, dst: Path, mapping: dict[str, str]) -> dict[str, Any]:
    """Write participants.tsv with identifying columns dropped and ages binned."""
    header, rows = _read_tsv(src)
    if "participant_id" not in header:
        raise DataFormatError(f"{src} has no 'participant_id' column (BIDS requires it).")
    keep = [i for i, name in enumerate(header) if name in KEPT_PARTICIPANT_COLUMNS]
    new_rows = []
    for row in rows:
        row = row + [""] * (len(header) - len(row))
        new = []
        for i in keep:
            value = row[i]
            if header[i] == "age":
                value = age_bin(value)
            elif header[i] == "participant_id":
                value = recode_text(value, mapping)
            new.append(value)
        new_rows.append(new)
    _write_tsv(dst, [header[i] for i in keep], new_rows)
    dropped = [name for name in header if name not in KEPT_PARTICIPANT_COLUMNS]
    return {"columns_dropped": dropped, "ages_binned": "age" in header, "rows": len(rows)}


def shift_time(value: str, offset_days: int) -> str:
    """Shift an ISO date-time (``YYYY-MM-DD[Thh:mm:ss[.f]][Z]``) back by ``offset_days``."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)(.*)", value.strip())
    if not match:
        return value
    try:
        day = dt.date.fromisoformat(match.group(1))
    except ValueError:
        return value
    return (day - dt.timedelta(days=offset_days)).isoformat() + match.group(2)


def time_tsv(
    src: Path, dst: Path, mapping: dict[str, str], offset_of: Callable[[str], int], subject: str
) -> dict[str, Any]:
    """Write a TSV with its ``acq_time`` column shifted and subject codes re-coded."""
    header, rows = _read_tsv(src)
    time_cols = [i for i, name in enumerate(header) if name == "acq_time"]
    shifted = 0
    new_rows = []
    for row in rows:
        row = list(row)
        for i in time_cols:
            if i < len(row) and row[i] not in ("", "n/a"):
                row[i] = shift_time(row[i], offset_of(subject))
                shifted += 1
        new_rows.append([recode_text(v, mapping) for v in row])
    _write_tsv(dst, [recode_text(h, mapping) for h in header], new_rows)
    return {"times_shifted": shifted}


def _strip(obj: Any, removed: list[str], mapping: dict[str, str]) -> Any:
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key in IDENTIFYING_JSON_FIELDS:
                removed.append(key)
                continue
            out[key] = _strip(value, removed, mapping)
        return out
    if isinstance(obj, list):
        return [_strip(v, removed, mapping) for v in obj]
    if isinstance(obj, str):
        return recode_text(obj, mapping)
    return obj


def json_sidecar(src: Path, dst: Path, mapping: dict[str, str]) -> dict[str, Any]:
    """Write a JSON sidecar without identifying fields (participants.json: kept columns only)."""
    try:
        data = json.loads(src.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{src.name} is not valid JSON: {err}") from None
    removed: list[str] = []
    if src.name == "participants.json" and isinstance(data, dict):
        removed += [k for k in data if k not in KEPT_PARTICIPANT_COLUMNS]
        data = {k: v for k, v in data.items() if k in KEPT_PARTICIPANT_COLUMNS}
        if "age" in data:
            data["age"] = {"Description": "age in 5-year bins (90+ pooled)"}
    data = _strip(data, removed, mapping)
    dst.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return {"fields_removed": sorted(set(removed))}
