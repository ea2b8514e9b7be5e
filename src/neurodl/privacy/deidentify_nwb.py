"""De-identify one NWB recording: subject and session fields, with :mod:`pynwb` (export).

The copy is written fresh by ``NWBHDF5IO.export`` (no removed text survives in the file's free
space). In ``/general``: the session id, experimenter, institution, lab, notes, protocol,
pharmacology, surgery, virus, slices, stimulus notes, data collection, related publications,
keywords, the experiment description and source script are removed (:data:`SESSION_FIELDS`);
the session description becomes ``"de-identified recording"`` and the identifier a random
UUID. In the subject: the date of birth, description, weight and genotype are removed
(:data:`SUBJECT_FIELDS`); the subject id is removed, or replaced by its new code when codes are
re-coded; age, sex, species and strain stay. The session start, the timestamps reference time
and the file creation dates move back by the subject's offset (intervals survive). Every
``comments`` text of a data object becomes ``"no comments"``. The signals are copied with their
dtype and values.

The identifiers removed above can echo elsewhere: an electrode table's custom column, a series'
description, a device's name or a trials column holding the subject code or the experimenter's
name. The subject id and every :data:`IDENTITY_FIELDS` text of at least :data:`MIN_ECHO_CHARS`
characters is replaced by ``"[removed]"`` wherever it appears in any text field or text column
of the file, and every text of the copy is then read back: if one still appears anywhere (a place
pynwb does not expose), the copy is deleted and the file refused with the field it came from
(never its value).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from ..exceptions import DataFormatError

__all__ = [
    "IDENTITY_FIELDS",
    "MIN_ECHO_CHARS",
    "SESSION_FIELDS",
    "SUBJECT_FIELDS",
    "deidentify_nwb",
    "nwb_subject_and_date",
]

#: NWBFile fields removed.
SESSION_FIELDS = (
    "session_id",
    "experimenter",
    "institution",
    "lab",
    "notes",
    "protocol",
    "pharmacology",
    "surgery",
    "virus",
    "slices",
    "stimulus_notes",
    "data_collection",
    "related_publications",
    "keywords",
    "experiment_description",
    "source_script",
    "source_script_file_name",
)
#: Subject fields removed (``subject_id`` is removed or re-coded).
SUBJECT_FIELDS = ("date_of_birth", "description", "weight", "genotype")
#: NWBFile fields naming who and where, searched for elsewhere in the file (with ``subject_id``);
#: free-text fields (notes, descriptions, keywords) are removed but not searched for: their
#: ordinary words appear in any file.
IDENTITY_FIELDS = ("experimenter", "institution", "lab", "session_id", "identifier")
#: Shortest removed text searched for elsewhere in the file (shorter ones, e.g. a subject "01",
#: would match ordinary text and bytes of the signals).
MIN_ECHO_CHARS = 4


def _texts(value: Any) -> list[str]:
    """The strings of a field value (a string or a list/tuple of strings)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts(v)]
    return []


def _scrub(value: Any, echoes: dict[str, str]) -> tuple[Any, bool]:
    """``value`` with every echo replaced (strings, lists/tuples/arrays of strings)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        new = value
        for text in echoes:
            new = new.replace(text, "[removed]")
        return new, new != value
    if _is_text_array(value) or isinstance(value, list | tuple):
        items = [_scrub(v, echoes) for v in list(value[:] if hasattr(value, "dtype") else value)]
        if any(changed for _, changed in items):
            return [v for v, _ in items], True
    return value, False


def _is_text_array(value: Any) -> bool:
    """An array or HDF5 dataset of strings (not of object references: reading those rebuilds
    the referenced containers and would drop their pending edits)."""
    import h5py

    dtype = getattr(value, "dtype", None)
    if dtype is None or "Reference" in type(value).__name__:
        return False
    if isinstance(value, h5py.Dataset) or type(value).__name__ == "StrDataset":
        return h5py.check_string_dtype(dtype) is not None
    return getattr(dtype, "kind", "") in "SU"


def _scrub_echoes(nwb: Any, echoes: dict[str, str]) -> int:
    """Replace the removed identifiers in every text field and text column; returns the count."""
    from hdmf.container import Data

    n = 0
    for obj in nwb.all_children():
        if isinstance(obj, Data):  # a table column or dataset: its values are not in fields
            new, changed = _scrub(obj.data, echoes)
            if changed:
                obj.transform(lambda _old, new=new: new)
                obj.set_modified()
                n += 1
        own = getattr(obj, "fields", None)
        if not isinstance(own, dict):
            continue
        changed_obj = False
        for key, value in list(own.items()):
            if key != "data" and isinstance(value, str | bytes | list | tuple):
                new, changed = _scrub(value, echoes)
                if changed:
                    own[key] = new
                    changed_obj = True
                    n += 1
        if changed_obj:
            obj.set_modified()
    return n


def _strings(value: Any) -> list[str]:
    """The texts of an HDF5 attribute or dataset value."""
    import numpy as np

    if isinstance(value, bytes | str):
        return _texts(value)
    arr = np.asarray(value)
    if arr.dtype.kind in "OSU":
        return [t for v in arr.ravel() for t in _texts(v)]
    return []


def _echo_check(dst: Path, echoes: dict[str, str]) -> None:
    """Refuse (and delete) the copy if a removed identifier survives in any text of it.

    Every attribute and text dataset is read (HDF5 groups ``/specifications``, the cached NWB
    schema that each file carries, excepted: its English text is the same for everyone).
    """
    import h5py

    hits: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if name.startswith("specifications"):
            return
        texts = [t for v in obj.attrs.values() for t in _strings(v)]
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "OSU":
            texts += _strings(obj[()])
        for text, field in echoes.items():
            if any(text in t for t in texts):
                hits.append(field)

    with h5py.File(dst, "r") as f:
        f.visititems(visit)
    if hits:
        dst.unlink()
        raise DataFormatError(
            f"{dst.name}: the removed {hits[0]} still appears in the file after "
            "de-identification (a place neurodl does not rewrite); no copy was written. "
            "Remove it from the source file."
        )


def nwb_subject_and_date(path: Path) -> tuple[str | None, dt.date | None]:
    """The subject id and the session start date of an NWB file (None when absent).

    Examples
    --------
    >>> import tempfile
    >>> from pynwb import NWBHDF5IO, NWBFile
    >>> from pynwb.file import Subject
    >>> start = dt.datetime(2021, 3, 4, 9, 30, tzinfo=dt.timezone.utc)
    >>> subject = Subject(subject_id="JD1984", species="Homo sapiens", sex="F", age="P37Y",
    ...                   date_of_birth=dt.datetime(1984, 5, 6, tzinfo=dt.timezone.utc))
    >>> nwb = NWBFile("rest", "id-1", start, experimenter=["Smith, Ann"],
    ...               institution="City Hospital", subject=subject)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with NWBHDF5IO(f"{tmp}/rec.nwb", "w") as io:
    ...         io.write(nwb)
    ...     nwb_subject_and_date(Path(tmp) / "rec.nwb")
    ('JD1984', datetime.date(2021, 3, 4))
    """
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            sid = fh.get("general/subject/subject_id")
            start = fh.get("session_start_time")
            subject = None if sid is None else _decode(sid[()])
            date = None if start is None else dt.datetime.fromisoformat(_decode(start[()])).date()
    except (OSError, ValueError) as err:
        raise DataFormatError(
            f"{path.name}: cannot read it as an NWB (HDF5) file ({err})."
        ) from None
    return subject, date


def _decode(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _shift(value: Any, days: int) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value - dt.timedelta(days=days)
    if isinstance(value, list | tuple):
        return [_shift(v, days) for v in value]
    return value


def deidentify_nwb(
    src: Path, dst: Path, offset_days: int, subject_code: str | None
) -> dict[str, object]:
    """Write the de-identified copy of the NWB file ``src`` to ``dst``.

    Parameters
    ----------
    src, dst : Path
    offset_days : int
        Days the dates move back.
    subject_code : str or None
        The subject's new code (re-coding on), or None to remove the subject id.

    Returns
    -------
    dict
        ``session_fields_removed`` and ``subject_fields_removed`` (names), ``date_shifted``,
        ``comments_replaced`` (count).

    Examples
    --------
    >>> import tempfile
    >>> from pynwb import NWBHDF5IO, NWBFile
    >>> from pynwb.file import Subject
    >>> start = dt.datetime(2021, 3, 4, 9, 30, tzinfo=dt.timezone.utc)
    >>> subject = Subject(subject_id="JD1984", species="Homo sapiens", sex="F", age="P37Y",
    ...                   date_of_birth=dt.datetime(1984, 5, 6, tzinfo=dt.timezone.utc))
    >>> nwb = NWBFile("rest", "id-1", start, experimenter=["Smith, Ann"],
    ...               institution="City Hospital", subject=subject)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with NWBHDF5IO(f"{tmp}/rec.nwb", "w") as io:
    ...         io.write(nwb)
    ...     found = deidentify_nwb(Path(tmp) / "rec.nwb", Path(tmp) / "clean.nwb", 400, None)
    ...     with NWBHDF5IO(f"{tmp}/clean.nwb", "r") as io:
    ...         clean = io.read()
    ...         kept = (clean.experimenter, clean.subject.subject_id, clean.subject.sex,
    ...                 clean.subject.age, clean.session_start_time.date())
    >>> found  # doctest: +NORMALIZE_WHITESPACE
    {'session_fields_removed': ['experimenter', 'institution'],
     'subject_fields_removed': ['date_of_birth', 'subject_id'], 'date_shifted': True,
     'comments_replaced': 0, 'identifier_echoes_removed': 0}
    >>> kept  # age, sex and species stay; the date moved 400 days back
    (None, None, 'F', 'P37Y', datetime.date(2020, 1, 29))
    """
    from pynwb import NWBHDF5IO

    try:
        io = NWBHDF5IO(str(src), "r")
        nwb = io.read()
    except Exception as err:  # pynwb/hdmf raise many types on a broken file
        raise DataFormatError(f"{src.name}: cannot read it as an NWB file ({err}).") from None
    try:
        fields = nwb.fields
        echoes = _removed_texts(nwb)
        removed = [name for name in SESSION_FIELDS if fields.pop(name, None) is not None]
        fields["session_description"] = "de-identified recording"
        fields["identifier"] = str(uuid.uuid4())
        shifted = False
        for name in ("session_start_time", "timestamps_reference_time", "file_create_date"):
            if fields.get(name) is not None:
                fields[name] = _shift(fields[name], offset_days)
                shifted = True
        nwb.set_modified()
        subject_removed = []
        subject = fields.get("subject")
        if subject is not None:
            sub = subject.fields
            subject_removed = [name for name in SUBJECT_FIELDS if sub.pop(name, None) is not None]
            if sub.get("subject_id") is not None:
                subject_removed.append(
                    "subject_id" if subject_code is None else "subject_id (re-coded)"
                )
                if subject_code is None:
                    sub.pop("subject_id")
                else:
                    sub["subject_id"] = subject_code
            subject.set_modified()
        n_comments = 0
        for obj in nwb.all_children():
            own = getattr(obj, "fields", None)
            if isinstance(own, dict) and own.get("comments") not in (None, "no comments"):
                own["comments"] = "no comments"
                obj.set_modified()
                n_comments += 1
        n_echoes = _scrub_echoes(nwb, echoes)
        with NWBHDF5IO(str(dst), "w") as out:
            out.export(src_io=io, nwbfile=nwb)
    finally:
        io.close()
    _echo_check(dst, echoes)
    return {
        "session_fields_removed": removed,
        "subject_fields_removed": subject_removed,
        "date_shifted": shifted,
        "comments_replaced": n_comments,
        "identifier_echoes_removed": n_echoes,
    }


def _removed_texts(nwb: Any) -> dict[str, str]:
    """Text -> field name of every identifying text about to be removed (longest first)."""
    found: dict[str, str] = {}
    sources = [(nwb.fields, IDENTITY_FIELDS)]
    subject = nwb.fields.get("subject")
    if subject is not None:
        sources.append((subject.fields, ("subject_id",)))
    for own, names in sources:
        for name in names:
            for text in _texts(own.get(name)):
                text = text.strip()
                if len(text) >= MIN_ECHO_CHARS and text not in found:
                    found[text] = name
    return dict(sorted(found.items(), key=lambda kv: -len(kv[0])))
