"""De-identify recordings and BIDS sidecars: ``neurodl deidentify IN OUT`` and :func:`deidentify`.

What is done (EDF/BDF data records are copied byte for byte, never re-encoded):

============================  ===================================================================
EDF/BDF (EDF+/BDF+)           patient field ``X X X X``, recording field ``Startdate X X X X``,
                              start date moved back by the subject's offset, annotation texts
                              replaced by neutral codes (onsets and durations kept)
FIF (raw)                     MNE's ``Raw.anonymize`` (subject info, experimenter, description,
                              ids, dates moved back by the offset), annotation texts coded;
                              signals rewritten in their on-disk format (same values)
BrainVision                   ``.vhdr`` [Comment] section and ``;`` lines dropped; ``.vmrk``
                              marker texts coded, New Segment dates moved back; ``.eeg``
                              copied byte for byte
EEGLAB (.set/.fdt)            names, folder, subject, group, condition, session, comments,
                              history, descriptions and ``etc`` emptied; event texts coded;
                              ``.fdt`` copied byte for byte (:mod:`.deidentify_eeglab`)
NWB                           session and subject fields removed (subject id removed or
                              re-coded), dates moved back, ``comments`` neutral; written
                              fresh by pynwb's export (:mod:`.deidentify_nwb`)
``participants.tsv``/json     only participant_id, sex and age (in 5-year bins) kept
``*.tsv`` (scans, sessions)   ``acq_time`` moved back by the subject's offset
``*.json``                    identifying fields removed (:data:`IDENTIFYING_JSON_FIELDS`)
README, CHANGES, LICENSE      copied (subject codes re-coded); their text is not inspected
============================  ===================================================================

Dates move back by one secret offset per subject (365 to 4015 whole days from an HMAC of the key
and the subject), so intervals between a subject's files survive. Subjects are BIDS ``sub-``
labels or, outside BIDS, the EDF+ patient code. Subject codes are re-coded (``sub-P01``... or,
with a key, ``sub-S`` + 10 hex digits) only when asked, and the old -> new mapping is written
only to the file the user names. Other formats (NIfTI, GDF, MATLAB...) are refused as not
supported yet, and a folder holding any of them is refused whole, so nothing leaves unchecked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, DataFormatError, OutputExistsError
from .deidentify_bids import (
    IDENTIFYING_JSON_FIELDS,
    json_sidecar,
    participants_tsv,
    recode_text,
    time_tsv,
)
from .deidentify_brainvision import deidentify_eeg_data, deidentify_vhdr, deidentify_vmrk
from .deidentify_edf import EDF_FIRST_DATE, deidentify_edf, read_edf_header
from .deidentify_eeglab import copy_eeglab_data, deidentify_eeglab, eeglab_data_file
from .deidentify_fif import deidentify_fif, fif_measurement_date
from .deidentify_nwb import deidentify_nwb, nwb_subject_and_date
from .pseudonyms import pseudonym_map

__all__ = [
    "IDENTIFYING_JSON_FIELDS",
    "NOT_SUPPORTED_YET",
    "DeidentificationReport",
    "check_paths",
    "deidentify",
    "deidentify_into",
]

#: Name of the report written into the output folder.
REPORT_NAME = "deidentification_report.json"

#: Formats that may carry identities and are refused until they are handled.
NOT_SUPPORTED_YET = {
    ".eeg": "Nihon Kohden (.eeg without a BrainVision .vhdr)",
    ".fdt": "EEGLAB data without its .set",
    ".gdf": "GDF",
    ".nii": "NIfTI",
    ".gz": "compressed (NIfTI .nii.gz...)",
    ".mat": "MATLAB",
    ".cnt": "Neuroscan",
    ".mff": "EGI",
}
_TEXT_NAMES = ("README", "CHANGES", "LICENSE", ".bidsignore")
_TEXT_SUFFIXES = (".md", ".txt", ".rst")
_SKIPPED = (".neurodl-output",)
_OFFSET_RANGE = (365, 4015)
#: Earliest date MNE writes into a FIF file.
FIF_FIRST_DATE = dt.date(1970, 1, 2)


@dataclass
class DeidentificationReport:
    """What :func:`deidentify` found and removed (no identity is recorded in it).

    Attributes
    ----------
    files : list of dict
        One entry per written file: ``file`` (its path in the output), ``kind`` and what was
        found and removed there.
    subjects : int
        Number of subjects (each with its own date offset).
    recoded_subjects : bool
        Whether subject codes were replaced.
    keyed : bool
        Whether offsets and codes come from a user key (reproducible) or a random one.
    skipped : list of str
        Output-relative names of files not copied (hidden files).

    Examples
    --------
    >>> report = DeidentificationReport(subjects=1, files=[
    ...     {"file": "rec.edf", "kind": "edf", "patient_field_blanked": True,
    ...      "recording_field_blanked": True, "date_shifted": True, "annotation_texts_replaced": 3},
    ...     {"file": "rec.json", "kind": "json", "fields_removed": ["InstitutionName"]},
    ... ])
    >>> report.totals()  # doctest: +NORMALIZE_WHITESPACE
    {'edf': 1, 'patient_field_blanked': 1, 'recording_field_blanked': 1,
     'annotation_texts_replaced': 3, 'json': 1, 'fields_removed': 1}
    >>> print(report.summary())  # doctest: +NORMALIZE_WHITESPACE
    de-identified 2 files (1 EDF/BDF: 1 patient and 1 recording fields blanked, 3 annotation texts
    coded; 0 acquisition times shifted; 1 JSON fields and 0 participant columns removed;
    0 EEGLAB, 0 NWB); 1 subjects, dates shifted per subject
    >>> sorted(report.to_dict())  # what deidentification_report.json holds
    ... # doctest: +NORMALIZE_WHITESPACE
    ['files', 'keyed', 'not_inspected', 'notes', 'recoded_subjects', 'skipped', 'subjects',
     'summary', 'totals']
    """

    files: list[dict[str, Any]] = field(default_factory=list)
    subjects: int = 0
    recoded_subjects: bool = False
    keyed: bool = False
    skipped: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Counts summed over files (patient/recording fields, annotations, times, fields...)."""
        total: Counter[str] = Counter()
        for entry in self.files:
            total[entry["kind"]] += 1
            for key, value in entry.items():
                if isinstance(value, bool) and value and key != "date_shifted":
                    total[key] += 1
                elif isinstance(value, int) and not isinstance(value, bool):
                    total[key] += value
                elif isinstance(value, list):
                    total[key] += len(value)
        return dict(total)

    def summary(self) -> str:
        """One line for the user."""
        t = self.totals()
        return (
            f"de-identified {len(self.files)} files ({t.get('edf', 0)} EDF/BDF: "
            f"{t.get('patient_field_blanked', 0)} patient and "
            f"{t.get('recording_field_blanked', 0)} recording fields blanked, "
            f"{t.get('annotation_texts_replaced', 0)} annotation texts coded; "
            f"{t.get('times_shifted', 0)} acquisition times shifted; "
            f"{t.get('fields_removed', 0)} JSON fields and {t.get('columns_dropped', 0)} "
            f"participant columns removed; {t.get('set', 0)} EEGLAB, {t.get('nwb', 0)} NWB); "
            f"{self.subjects} subjects, dates shifted per subject"
            + ("; subject codes re-coded" if self.recoded_subjects else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as written to ``deidentification_report.json``."""
        return {
            "summary": self.summary(),
            "totals": self.totals(),
            "subjects": self.subjects,
            "recoded_subjects": self.recoded_subjects,
            "keyed": self.keyed,
            "files": self.files,
            "skipped": self.skipped,
            "not_inspected": [e["file"] for e in self.files if e["kind"] == "text"],
            "notes": [
                "File and folder names are kept, except sub- codes when re-coding; check them.",
                "Signals are unchanged and can themselves identify a person (fingerprinting: "
                "measure it with the 'fingerprint' task).",
            ],
        }


def _secret(key: str | bytes | None) -> bytes:
    if key is None:
        return secrets.token_bytes(32)
    if isinstance(key, str):
        key = key.encode()
    if not key:
        raise ConfigError("Invalid value for 'key': a non-empty secret; got ''.")
    return key


def _base_offset(secret: bytes, subject: str) -> int:
    digest = hmac.new(secret, b"date-offset:" + subject.encode(), hashlib.sha256).digest()
    low, high = _OFFSET_RANGE
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def _bids_subject(rel: Path) -> str | None:
    for part in rel.parts:
        if part.startswith("sub-"):
            return part[4:].split("_")[0].split(".")[0]
    return None


def _kind(path: Path) -> str:
    name, suffix = path.name, path.suffix.lower()
    if suffix in (".edf", ".bdf"):
        return "edf"
    if suffix == ".fif":
        return "fif"
    if suffix == ".set":
        return "set"
    if suffix == ".fdt" and path.with_suffix(".set").is_file():
        return "fdt"
    if suffix == ".nwb":
        return "nwb"
    if suffix in (".vhdr", ".vmrk"):
        return suffix[1:]
    if suffix == ".eeg" and path.with_suffix(".vhdr").is_file():
        return "eeg"  # BrainVision binary data (Nihon Kohden .EEG files have no .vhdr)
    if name == "participants.tsv":
        return "participants"
    if suffix == ".tsv":
        return "tsv"
    if suffix == ".json":
        return "json"
    if name in _TEXT_NAMES or suffix in _TEXT_SUFFIXES:
        return "text"
    return "unsupported"


def _hidden(rel: Path) -> bool:
    return rel.name in _SKIPPED or (
        rel.name != ".bidsignore" and any(part.startswith(".") for part in rel.parts)
    )


def _inputs(in_path: Path) -> list[tuple[Path, Path]]:
    """(source, path relative to the input root) of every file, refusing unsupported ones."""
    if in_path.is_file():
        files = [(in_path, Path(in_path.name))]
        if in_path.suffix.lower() == ".vhdr":  # its marker and data files come along
            files += [
                (sibling, Path(sibling.name))
                for sibling in (in_path.with_suffix(".vmrk"), in_path.with_suffix(".eeg"))
                if sibling.is_file()
            ]
        if in_path.suffix.lower() == ".set":  # its signal file comes along
            data_name = eeglab_data_file(in_path)
            if data_name and (in_path.parent / data_name).is_file():
                files.append((in_path.parent / data_name, Path(data_name)))
    else:
        files = []
        for path in sorted(in_path.rglob("*")):
            if path.is_symlink():
                raise DataFormatError(
                    f"{path.relative_to(in_path)} is a symbolic link; de-identify its target "
                    "instead (links are not followed)."
                )
            if path.is_file():
                files.append((path, path.relative_to(in_path)))
    unsupported = sorted(
        {
            NOT_SUPPORTED_YET.get(src.suffix.lower(), f"'{src.suffix or src.name}'")
            for src, rel in files
            if _kind(src) == "unsupported" and not _hidden(rel)
        }
    )
    if unsupported:
        raise DataFormatError(
            "De-identification of these formats is not supported yet: "
            + ", ".join(unsupported)
            + ". Supported: EDF/BDF (EDF+/BDF+), FIF (raw), BrainVision, EEGLAB (.set/.fdt), "
            "NWB, BIDS TSV and JSON sidecars, README/CHANGES text. Nothing was written: remove "
            "or convert those files and run again."
        )
    return files


def check_paths(in_path: Path, out_path: Path, mapping_file: Path | None) -> None:
    """Refuse an output inside (or around) the input, and a mapping file in either folder.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     study = Path(tmp) / "study"
    ...     study.mkdir()
    ...     check_paths(study, Path(tmp) / "clean", None)  # fine: returns None
    ...     for out, mapping in ((study / "clean", None), (Path(tmp) / "clean", study / "map.tsv")):
    ...         try:
    ...             check_paths(study, out, mapping)
    ...         except ConfigError as err:
    ...             print(str(err).replace(tmp, "<tmp>").split(";")[0])
    Invalid value for 'out_path': a place outside the input
    Invalid value for 'mapping_file': a place outside the input (the mapping re-identifies subjects)
    """
    if not in_path.exists():
        raise ConfigError(
            f"Invalid value for 'in_path': an existing file or folder; got {in_path}."
        )
    src, dst = in_path.resolve(), out_path.resolve()
    if dst == src or src in dst.parents:
        raise ConfigError(
            f"Invalid value for 'out_path': a place outside the input; got {out_path} (inside "
            f"{in_path}). De-identification never writes into its input."
        )
    if dst in src.parents:
        raise ConfigError(f"Invalid value for 'out_path': {out_path} contains the input {in_path}.")
    if mapping_file is not None:
        mapping = mapping_file.resolve()
        if mapping.exists():
            raise OutputExistsError(f"Mapping file {mapping_file} already exists; choose another.")
        for root, what in ((src, "input"), (dst, "output")):
            if mapping == root or root in mapping.parents:
                raise ConfigError(
                    f"Invalid value for 'mapping_file': a place outside the {what} (the mapping "
                    f"re-identifies subjects); got {mapping_file}."
                )


def deidentify(
    in_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    mapping_file: str | os.PathLike[str] | None = None,
    key: str | bytes | None = None,
    recode_subjects: bool | None = None,
) -> DeidentificationReport:
    """Write a de-identified copy of a recording or a folder (BIDS-aware) to a new folder.

    Parameters
    ----------
    in_path : path
        An EDF/BDF file or a folder (a BIDS dataset or any folder of supported files). Never
        written to.
    out_path : path
        The output folder; must not exist and must lie outside ``in_path``.
    mapping_file : path or None
        Where to write the old -> new subject codes (TSV); implies ``recode_subjects``. Must lie
        outside both folders. None: no mapping is written anywhere.
    key : str, bytes or None
        Secret for date offsets and subject codes (the same key gives the same offsets and codes
        across calls). None: a random secret, forgotten after the call.
    recode_subjects : bool or None
        Replace ``sub-`` codes in names and contents; None: only when ``mapping_file`` is given.

    Returns
    -------
    DeidentificationReport
        Also written as ``deidentification_report.json`` into ``out_path``.

    Raises
    ------
    DataFormatError
        A file of a format not supported yet (GDF, NIfTI...; the whole input is refused), a
        broken EDF header, an unreadable EEGLAB or NWB file.
    ConfigError, OutputExistsError
        ``out_path`` inside the input or already existing; a mapping file in a bad place.

    Examples
    --------
    A tiny BIDS folder: one EDF whose header names the patient, a sidecar naming the hospital and
    a participants table with names and exact ages.

    >>> import datetime as dt, tempfile
    >>> import mne
    >>> import numpy as np
    >>> info = mne.create_info(["Fz", "Cz"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 1000)), info, verbose="error")
    >>> _ = raw.set_meas_date(dt.datetime(2021, 3, 4, 9, 30, tzinfo=dt.timezone.utc))
    >>> raw.info["subject_info"] = {"his_id": "JD1984", "first_name": "Jane", "last_name": "Doe"}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     study = Path(tmp) / "study"
    ...     (study / "sub-JD1984" / "eeg").mkdir(parents=True)
    ...     stem = study / "sub-JD1984" / "eeg" / "sub-JD1984_task-rest_eeg"
    ...     mne.export.export_raw(f"{stem}.edf", raw, verbose="error")
    ...     _ = Path(f"{stem}.json").write_text('{"TaskName": "rest", "InstitutionName": "City"}')
    ...     _ = (study / "participants.tsv").write_text(
    ...         "participant_id\\tage\\tname\\nsub-JD1984\\t37\\tJane Doe\\n")
    ...     report = deidentify(study, Path(tmp) / "clean", key="lab secret",
    ...                         mapping_file=Path(tmp) / "mapping.tsv")
    ...     out = Path(tmp) / "clean"
    ...     written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    ...     participants = (out / "participants.tsv").read_text()
    ...     names_left = any(b"Jane" in p.read_bytes() for p in out.rglob("*") if p.is_file())
    ...     mapping = (Path(tmp) / "mapping.tsv").read_text()
    >>> written  # doctest: +NORMALIZE_WHITESPACE
    ['deidentification_report.json', 'participants.tsv',
     'sub-S194f71cc4c/eeg/sub-S194f71cc4c_task-rest_eeg.edf',
     'sub-S194f71cc4c/eeg/sub-S194f71cc4c_task-rest_eeg.json']
    >>> print(participants.replace("\\t", " | "))  # the name column dropped, age in 5-year bins
    participant_id | age
    sub-S194f71cc4c | 35-39
    <BLANKLINE>
    >>> names_left, report.subjects, report.keyed
    (False, 1, True)
    >>> print(mapping.replace("\\t", " -> "))  # only in the file asked for, outside both folders
    original -> pseudonym
    sub-JD1984 -> sub-S194f71cc4c
    <BLANKLINE>
    """
    in_path, out_path = Path(in_path), Path(out_path)
    if out_path.exists() or out_path.is_symlink():
        raise OutputExistsError(f"Output {out_path} already exists; choose a new folder.")
    check_paths(in_path, out_path, Path(mapping_file) if mapping_file is not None else None)
    out_path.mkdir(parents=True)
    try:
        return deidentify_into(
            in_path,
            out_path,
            mapping_file=mapping_file,
            key=key,
            recode_subjects=recode_subjects,
            _checked=True,
        )
    except BaseException:
        shutil.rmtree(out_path, ignore_errors=True)
        raise


def deidentify_into(
    in_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    mapping_file: str | os.PathLike[str] | None = None,
    key: str | bytes | None = None,
    recode_subjects: bool | None = None,
    _checked: bool = False,
) -> DeidentificationReport:
    """As :func:`deidentify`, into an existing folder (the CLI's claimed temporary folder).

    Examples
    --------
    Outside BIDS, the EDF+ patient code groups the files of a subject:

    >>> import datetime as dt, tempfile
    >>> import mne
    >>> import numpy as np
    >>> info = mne.create_info(["Fz", "Cz"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 1000)), info, verbose="error")
    >>> _ = raw.set_meas_date(dt.datetime(2021, 3, 4, 9, 30, tzinfo=dt.timezone.utc))
    >>> raw.info["subject_info"] = {"his_id": "JD1984", "first_name": "Jane", "last_name": "Doe"}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     mne.export.export_raw(f"{tmp}/rec.edf", raw, verbose="error")
    ...     (Path(tmp) / "out").mkdir()  # already there, as the CLI's claimed folder
    ...     report = deidentify_into(Path(tmp) / "rec.edf", Path(tmp) / "out", key="lab secret")
    ...     header = (Path(tmp) / "out" / "rec.edf").read_bytes()[:256]
    >>> [entry["file"] for entry in report.files], report.subjects
    (['rec.edf'], 1)
    >>> header[8:15], b"JD1984" in header
    (b'X X X X', False)
    """
    in_path, out_dir = Path(in_path), Path(out_dir)
    mapping_path = Path(mapping_file) if mapping_file is not None else None
    if not _checked:
        check_paths(in_path, out_dir, mapping_path)
    recode = mapping_path is not None if recode_subjects is None else bool(recode_subjects)
    secret = _secret(key)
    files = _inputs(in_path)

    # Pass 1: subjects, and the largest offset each allows (dates stay in the formats' range).
    subject_of: dict[Path, str] = {}
    max_offset: dict[str, int] = {}
    for src, rel in files:
        subject = _bids_subject(rel)
        date, first_date = None, EDF_FIRST_DATE
        if _kind(src) == "edf":
            header = read_edf_header(src)
            subject = subject or header.patient_code or "unknown"
            date = header.start_date
        elif _kind(src) == "fif":
            date, first_date = fif_measurement_date(src), FIF_FIRST_DATE
        elif _kind(src) == "nwb":
            subject = subject or nwb_subject_and_date(src)[0]
        subject = subject or "unknown"
        if date is not None:
            allowed = (date - first_date).days
            max_offset[subject] = min(max_offset.get(subject, allowed), allowed)
        subject_of[src] = subject
    labels = {s for s in subject_of.values() if s != "unknown"}
    participants = [src for src, rel in files if rel.name == "participants.tsv"]
    for src in participants:
        labels |= {
            _bids_subject(Path(line.split("\t")[0])) or ""
            for line in src.read_text(encoding="utf-8-sig").splitlines()[1:]
            if line.strip()
        } - {""}
    offsets: dict[str, int] = {}

    def offset_of(subject: str) -> int:
        if subject not in offsets:
            offset = _base_offset(secret, subject)
            if subject in max_offset:
                offset = min(offset, max_offset[subject])
            offsets[subject] = offset
        return offsets[subject]

    mapping: dict[str, str] = {}
    if recode:
        pseudonyms = pseudonym_map(labels, key=secret if key is not None else None)
        mapping = {old: new.replace("-", "") for old, new in pseudonyms.items()}

    report = DeidentificationReport(
        recoded_subjects=recode,
        keyed=key is not None,
    )
    codes: dict[bytes, bytes] = {}
    for src, rel in files:
        out_rel = Path(recode_text(str(rel), mapping))
        if _hidden(rel):
            report.skipped.append(str(out_rel))
            continue
        dst = out_dir / out_rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        kind = _kind(src)
        if kind == "edf":
            found = deidentify_edf(src, dst, offset_of(subject_of[src]), codes)
        elif kind == "fif":
            found = deidentify_fif(src, dst, offset_of(subject_of[src]), codes)
        elif kind == "vhdr":
            found = deidentify_vhdr(src, dst, lambda text: recode_text(text, mapping))
        elif kind == "vmrk":
            found = deidentify_vmrk(
                src, dst, offset_of(subject_of[src]), codes, lambda t: recode_text(t, mapping)
            )
        elif kind == "eeg":
            found = deidentify_eeg_data(src, dst)
        elif kind == "set":
            found = deidentify_eeglab(src, dst, codes, lambda t: recode_text(t, mapping))
        elif kind == "fdt":
            found = copy_eeglab_data(src, dst)
        elif kind == "nwb":
            subject = subject_of[src]
            found = deidentify_nwb(src, dst, offset_of(subject), mapping.get(subject))
        elif kind == "participants":
            found = participants_tsv(src, dst, mapping)
        elif kind == "tsv":
            found = time_tsv(src, dst, mapping, offset_of, subject_of[src])
        elif kind == "json":
            found = json_sidecar(src, dst, mapping)
        else:
            text = src.read_text(encoding="utf-8", errors="surrogateescape")
            dst.write_text(recode_text(text, mapping), encoding="utf-8", errors="surrogateescape")
            found = {}
        report.files.append({"file": out_rel.as_posix(), "kind": kind, **found})

    # the BIDS subjects, plus "unknown" only when a recording of no known subject got an offset
    # (dataset-level files such as participants.tsv or README belong to no subject)
    report.subjects = len(labels | set(offsets))
    (out_dir / REPORT_NAME).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    if mapping_path is not None:
        mapping_path.parent.mkdir(parents=True, exist_ok=True)
        with open(mapping_path, "x", encoding="utf-8") as fh:
            fh.write("original\tpseudonym\n")
            fh.writelines(f"sub-{old}\tsub-{new}\n" for old, new in sorted(mapping.items()))
    return report
