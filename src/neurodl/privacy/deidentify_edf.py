"""De-identify one EDF/BDF (EDF+/BDF+) file by rewriting header bytes, never the signals.

EDF is a fixed layout (https://www.edfplus.info/specs/edf.html): a 256-byte main header
(version, 80-byte patient field, 80-byte recording field, start date ``dd.mm.yy``, start time,
header size, reserved ``EDF+C``/``EDF+D``/``BDF+C``..., record count, record duration, signal
count ns), then ns * 256 bytes of per-signal fields, then the data records. Here:

- the patient field becomes ``X X X X`` and the recording field ``Startdate X X X X`` (the EDF+
  conventions for "unknown");
- the start date is shifted back by the subject's secret offset in whole days (the time of day is
  kept, so intervals between a subject's files survive);
- in EDF+/BDF+ ``EDF Annotations`` / ``BDF Annotations`` signals, every annotation text of every
  TAL (``+onset[\\x15duration]\\x14text\\x14...\\x00``) is replaced by a neutral code
  (``A1``, ``A2``...; the same text gets the same code within a call), onsets and durations kept
  byte for byte;
- every other byte of every data record is copied unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import DataFormatError

__all__ = ["EdfHeader", "deidentify_edf", "read_edf_header"]

#: Dates an EDF header can hold (two-digit years: 85-99 -> 19xx, 00-84 -> 20xx).
EDF_FIRST_DATE = dt.date(1985, 1, 1)
EDF_LAST_DATE = dt.date(2084, 12, 31)

_ANNOTATION_LABELS = (b"EDF Annotations", b"BDF Annotations")
_TAL = re.compile(rb"([+-][0-9.]+)((?:\x15[0-9.]*)?)\x14((?:[^\x00\x14]*\x14)*)\x00", re.DOTALL)


@dataclass
class EdfHeader:
    """The fields of an EDF/BDF header that de-identification needs.

    Attributes
    ----------
    raw : bytes
        The whole header (256 + 256 * n_signals bytes).
    bdf : bool
        24-bit BDF (3 bytes per sample) instead of 16-bit EDF (2 bytes).
    start_date : datetime.date
        The header start date.
    patient_code : str
        The first sub-field of the EDF+ patient field ('' when absent), for grouping files.
    samples_per_record : list of int, shape (n_signals,)
    annotation_signals : list of int
        Indices of the EDF+/BDF+ annotation signals.
    n_records : int

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
    ...     mne.export.export_raw(f"{tmp}/rec.edf", raw, verbose="error")  # EDF+ with annotations
    ...     header = read_edf_header(Path(tmp) / "rec.edf")
    >>> header.patient_code, header.start_date, header.bdf
    ('JD1984', datetime.date(2021, 3, 4), False)
    >>> header.samples_per_record, header.annotation_signals  # Fz, Cz and the annotations
    ([100, 100, 13], [2])
    >>> header.n_records, header.bytes_per_sample, header.record_size
    (10, 2, 426)
    """

    raw: bytes
    bdf: bool
    start_date: dt.date
    patient_code: str
    samples_per_record: list[int] = field(default_factory=list)
    annotation_signals: list[int] = field(default_factory=list)
    n_records: int = -1

    @property
    def bytes_per_sample(self) -> int:
        """3 for BDF, 2 for EDF."""
        return 3 if self.bdf else 2

    @property
    def record_size(self) -> int:
        """Bytes of one data record (all signals)."""
        return sum(self.samples_per_record) * self.bytes_per_sample


def _int_field(raw: bytes, start: int, width: int, name: str, path: Path) -> int:
    text = raw[start : start + width].decode("ascii", "replace").strip()
    try:
        return int(text)
    except ValueError:
        raise DataFormatError(
            f"Invalid value for EDF header field {name!r} in {path.name}: expected an integer; "
            f"got {text!r}."
        ) from None


def read_edf_header(path: Path) -> EdfHeader:
    """Read and check the header of the EDF/BDF file ``path``.

    Raises
    ------
    DataFormatError
        A header that is short, inconsistent or has an unreadable start date.

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
    ...     mne.export.export_raw(f"{tmp}/rec.edf", raw, verbose="error")
    ...     header = read_edf_header(Path(tmp) / "rec.edf")
    ...     _ = (Path(tmp) / "notes.edf").write_bytes(b"Jane Doe, seen on 4 March")
    ...     try:
    ...         read_edf_header(Path(tmp) / "notes.edf")
    ...     except DataFormatError as err:
    ...         print(err)
    notes.edf is not an EDF/BDF file: header shorter than 256 B.
    >>> header.raw[8:88].decode().split()  # the EDF+ patient field: code, sex, birth date, name
    ['JD1984', 'X', 'X', 'Jane_Doe']
    >>> header.patient_code, header.start_date
    ('JD1984', datetime.date(2021, 3, 4))
    """
    with open(path, "rb") as fh:
        main = fh.read(256)
        if len(main) < 256:
            raise DataFormatError(f"{path.name} is not an EDF/BDF file: header shorter than 256 B.")
        bdf = main[:8] == b"\xffBIOSEMI"
        if not bdf and main[:8] != b"0       ":
            raise DataFormatError(
                f"{path.name} is not an EDF/BDF file: version field {main[:8]!r} "
                "(EDF: '0', BDF: '\\xffBIOSEMI')."
            )
        n_signals = _int_field(main, 252, 4, "number of signals", path)
        header_size = _int_field(main, 184, 8, "number of header bytes", path)
        if n_signals < 0 or header_size != 256 * (n_signals + 1):
            raise DataFormatError(
                f"{path.name}: header size {header_size} B does not match {n_signals} signals "
                f"(expected {256 * (n_signals + 1)} B)."
            )
        rest = fh.read(256 * n_signals)
    if len(rest) < 256 * n_signals:
        raise DataFormatError(
            f"{path.name}: truncated header ({256 + len(rest)} of {header_size} B)."
        )
    raw = main + rest
    date_text = main[168:176].decode("ascii", "replace")
    match = re.fullmatch(r"(\d\d)\.(\d\d)\.(\d\d)", date_text)
    if not match:
        raise DataFormatError(
            f"Invalid value for EDF start date in {path.name}: expected dd.mm.yy; got "
            f"{date_text!r}."
        )
    day, month, yy = (int(g) for g in match.groups())
    try:
        start = dt.date(1900 + yy if yy >= 85 else 2000 + yy, month, day)
    except ValueError:
        raise DataFormatError(
            f"Invalid value for EDF start date in {path.name}: not a calendar date; got "
            f"{date_text!r}."
        ) from None
    labels = [rest[16 * i : 16 * i + 16].strip() for i in range(n_signals)]
    base = 216 * n_signals  # label 16 + transducer 80 + dim 8 + 4 x 8 ranges + prefilter 80
    samples = [
        _int_field(rest, base + 8 * i, 8, f"samples per record of signal {i}", path)
        for i in range(n_signals)
    ]
    patient = main[8:88].decode("ascii", "replace").split()
    return EdfHeader(
        raw=raw,
        bdf=bdf,
        start_date=start,
        patient_code=patient[0] if patient and patient[0] != "X" else "",
        samples_per_record=samples,
        annotation_signals=[i for i, lab in enumerate(labels) if lab in _ANNOTATION_LABELS],
        n_records=_int_field(main, 236, 8, "number of data records", path),
    )


def _pad(text: bytes, width: int) -> bytes:
    return text[:width].ljust(width, b" ")


def shifted_header(header: EdfHeader, offset_days: int, path: Path) -> bytes:
    """The header with patient/recording fields blanked and the start date moved back."""
    new_date = header.start_date - dt.timedelta(days=offset_days)
    if not EDF_FIRST_DATE <= new_date <= EDF_LAST_DATE:
        raise DataFormatError(
            f"{path.name}: the shifted start date {new_date} is outside the EDF range "
            f"{EDF_FIRST_DATE}..{EDF_LAST_DATE}."
        )
    raw = bytearray(header.raw)
    raw[8:88] = _pad(b"X X X X", 80)
    raw[88:168] = _pad(b"Startdate X X X X", 80)
    raw[168:176] = new_date.strftime("%d.%m.%y").encode("ascii")
    return bytes(raw)


def _recode_tals(block: bytes, codes: dict[bytes, bytes], path: Path) -> tuple[bytes, int]:
    """Replace every annotation text in one annotation-signal block; returns (block, n_texts)."""
    out = bytearray()
    n_texts = 0
    pos = 0
    for match in _TAL.finditer(block):
        if match.start() != pos:  # only NUL padding may sit between TALs
            if block[pos : match.start()].strip(b"\x00"):
                raise DataFormatError(f"{path.name}: unreadable EDF+ annotation bytes.")
        out += block[pos : match.start()]
        texts = match.group(3).split(b"\x14")[:-1]
        new_texts = []
        for text in texts:
            if text:
                n_texts += 1
                text = codes.setdefault(text, b"A%d" % (len(codes) + 1))
            new_texts.append(text + b"\x14")
        out += match.group(1) + match.group(2) + b"\x14" + b"".join(new_texts) + b"\x00"
        pos = match.end()
    if block[pos:].strip(b"\x00"):
        raise DataFormatError(f"{path.name}: unreadable EDF+ annotation bytes.")
    if len(out) > len(block):
        raise DataFormatError(
            f"{path.name}: the neutral annotation codes do not fit the annotation signal "
            f"({len(out)} > {len(block)} B per record)."
        )
    return bytes(out).ljust(len(block), b"\x00"), n_texts


def deidentify_edf(
    src: Path, dst: Path, offset_days: int, codes: dict[bytes, bytes]
) -> dict[str, object]:
    """Write the de-identified copy of the EDF/BDF file ``src`` to ``dst``.

    Parameters
    ----------
    src, dst : Path
        Input file and output file (``dst`` must not exist).
    offset_days : int
        Days the start date moves back (the subject's secret offset).
    codes : dict of bytes to bytes
        Annotation text -> neutral code, shared across files and extended here.

    Returns
    -------
    dict
        What was found and removed: ``patient_field_blanked``, ``recording_field_blanked``,
        ``date_shifted``, ``annotation_texts_replaced``.

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
    >>> codes = {}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     src, dst = Path(tmp) / "rec.edf", Path(tmp) / "clean.edf"
    ...     mne.export.export_raw(src, raw, verbose="error")
    ...     found = deidentify_edf(src, dst, offset_days=400, codes=codes)
    ...     header = read_edf_header(dst)
    ...     left = b"Jane" in dst.read_bytes()
    ...     clean = mne.io.read_raw_edf(dst, verbose="error")
    >>> found  # doctest: +NORMALIZE_WHITESPACE
    {'patient_field_blanked': True, 'recording_field_blanked': True, 'date_shifted': True,
     'annotation_texts_replaced': 1}
    >>> header.raw[8:15], header.start_date, left  # 400 days earlier; no name anywhere
    (b'X X X X', datetime.date(2020, 1, 29), False)
    >>> codes, list(clean.annotations.description), list(clean.annotations.onset)
    ({b'Jane coughed': b'A1'}, ['A1'], [np.float64(1.0)])
    """
    header = read_edf_header(src)
    new_header = shifted_header(header, offset_days, src)
    found = {
        "patient_field_blanked": header.raw[8:88].strip() not in (b"", b"X X X X", b"X"),
        "recording_field_blanked": header.raw[88:168].strip()
        not in (b"", b"Startdate X X X X", b"X"),
        "date_shifted": True,
        "annotation_texts_replaced": 0,
    }
    bps = header.bytes_per_sample
    offsets = [
        sum(header.samples_per_record[:i]) * bps for i in range(len(header.samples_per_record))
    ]
    spans = [(offsets[i], header.samples_per_record[i] * bps) for i in header.annotation_signals]
    record_size = header.record_size
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        fin.seek(len(header.raw))
        fout.write(new_header)
        if not spans or record_size <= 0:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)
            return found
        while True:
            record = fin.read(record_size)
            if len(record) < record_size:  # a partial last record is copied as it is
                fout.write(record)
                break
            rec = bytearray(record)
            for start, width in spans:
                block, n = _recode_tals(bytes(rec[start : start + width]), codes, src)
                rec[start : start + width] = block
                found["annotation_texts_replaced"] += n  # type: ignore[operator]
            fout.write(rec)
    return found
