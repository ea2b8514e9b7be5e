"""Pseudonymise subject codes before an analysis sees them.

With pseudonyms on, every container loaded for a run has its subject codes replaced, so
``results.json``, the report and the logs only ever hold the pseudonyms: ``P01``, ``P02``... in
the sorted order of the original codes, or, with a secret key, ``S-`` + 10 hex digits of an
HMAC-SHA256 of the code (stable across runs and datasets that share the key, not reversible
without it). File names and sources that contain a code get the pseudonym in its place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "active_pseudonyms",
    "pseudonym_map",
    "pseudonymise_subjects",
    "remember_pseudonyms",
    "replace_codes",
    "scrub_folder",
]

#: The pseudonyms of the run in progress (original code -> pseudonym), for the output writers.
_ACTIVE: dict[str, str] = {}


def remember_pseudonyms(mapping: dict[str, str] | None) -> None:
    """Record (or with None, forget) the pseudonyms of the run in progress.

    Examples
    --------
    >>> remember_pseudonyms({"S01": "P7f3a"})
    >>> replace_codes("subject S01 done", active_pseudonyms())
    'subject P7f3a done'
    >>> remember_pseudonyms(None)
    """
    _ACTIVE.clear()
    _ACTIVE.update(mapping or {})


def active_pseudonyms() -> dict[str, str]:
    """The pseudonyms of the run in progress (empty when pseudonymisation is off).

    Examples
    --------
    >>> remember_pseudonyms({"S01": "P7f3a"})
    >>> active_pseudonyms()
    {'S01': 'P7f3a'}
    >>> remember_pseudonyms(None)  # the run is over: forget them
    >>> active_pseudonyms()
    {}
    """
    return dict(_ACTIVE)


def pseudonym_map(codes: Iterable[Any], *, key: str | bytes | None = None) -> dict[str, str]:
    """Map each distinct subject code to its pseudonym.

    Parameters
    ----------
    codes : iterable
        Subject codes (converted to str; None is skipped).
    key : str, bytes or None
        Secret key: pseudonyms are ``S-`` + 10 hex digits of HMAC-SHA256(key, code). None:
        ``P01``, ``P02``... in sorted order of the codes (zero-padded to the count's width).

    Returns
    -------
    dict of str to str

    Examples
    --------
    >>> pseudonym_map(["chb07", "chb01", "chb07"])
    {'chb01': 'P1', 'chb07': 'P2'}
    >>> pseudonym_map(["chb01"], key="secret")["chb01"].startswith("S-")
    True
    """
    unique = sorted({str(c) for c in codes if c is not None})
    if key is not None:
        secret = key.encode() if isinstance(key, str) else key
        return {
            c: "S-" + hmac.new(secret, c.encode(), hashlib.sha256).hexdigest()[:10] for c in unique
        }
    width = len(str(len(unique)))
    return {c: f"P{i + 1:0{width}d}" for i, c in enumerate(unique)}


def replace_codes(obj: Any, mapping: dict[str, str]) -> Any:
    """Replace every code (longest first, whole tokens) inside a string, dict, list or tuple.

    Examples
    --------
    >>> mapping = {"S01": "PX", "S011": "PY"}  # longest first: S011 is not read as S01 + 1
    >>> replace_codes({"file": "S01_run1.edf", "ids": ["S01", "S011"]}, mapping)
    {'file': 'PX_run1.edf', 'ids': ['PX', 'PY']}
    """
    if not mapping:
        return obj
    if isinstance(obj, dict):
        return {replace_codes(k, mapping): replace_codes(v, mapping) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(replace_codes(v, mapping) for v in obj)
    if not isinstance(obj, str):
        return obj
    pattern = re.compile(
        r"(?<![A-Za-z0-9])("
        + "|".join(re.escape(c) for c in sorted(mapping, key=len, reverse=True))
        + r")(?![A-Za-z0-9])"
    )
    return pattern.sub(lambda m: mapping[m.group(1)], obj)


#: Output files rewritten by :func:`scrub_folder` (text formats neurodl writes).
_TEXT_SUFFIXES = (".html", ".json", ".txt", ".csv", ".tsv", ".md", ".yaml", ".yml", ".log")


def scrub_folder(folder: Any, mapping: dict[str, str]) -> list[str]:
    """Replace the codes of ``mapping`` in every text file of ``folder`` (recursively).

    Returns the names of the files changed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "log.txt").write_text("subject S01 finished")
    >>> scrub_folder(folder, {"S01": "PX"}), (folder / "log.txt").read_text()
    (['log.txt'], 'subject PX finished')
    """
    from pathlib import Path

    changed = []
    if not mapping:
        return changed
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = replace_codes(text, mapping)
        if new != text:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
            changed.append(path.name)
    return changed


def _codes_of(obj: Any) -> list[Any]:
    if isinstance(obj, (list, tuple)):
        return [c for item in obj for c in _codes_of(item)]
    metadata = getattr(obj, "metadata", None)
    if metadata is not None and "subject" in getattr(metadata, "columns", ()):
        return list(metadata["subject"])
    return [getattr(obj, "subject", None)]


def _apply(obj: Any, mapping: dict[str, str]) -> Any:
    if isinstance(obj, list):
        return [_apply(item, mapping) for item in obj]
    if isinstance(obj, tuple):
        return tuple(_apply(item, mapping) for item in obj)
    changes: dict[str, Any] = {}
    metadata = getattr(obj, "metadata", None)
    if metadata is not None and hasattr(metadata, "columns"):
        metadata = metadata.copy()
        for column in ("subject", "recording", "session", "run", "source"):
            if column in metadata.columns:
                metadata[column] = [
                    mapping.get(str(v), replace_codes(v, mapping))
                    if column == "subject"
                    else replace_codes(v, mapping)
                    for v in metadata[column]
                ]
        changes["metadata"] = metadata
    if getattr(obj, "subject", None) is not None:
        changes["subject"] = mapping.get(str(obj.subject), str(obj.subject))
    if isinstance(getattr(obj, "source", None), str):
        changes["source"] = replace_codes(obj.source, mapping)
    if not changes:
        return obj
    if dataclasses.is_dataclass(obj):
        fields = {f.name for f in dataclasses.fields(obj)}
        return dataclasses.replace(obj, **{k: v for k, v in changes.items() if k in fields})
    for name, value in changes.items():
        setattr(obj, name, value)
    return obj


def pseudonymise_subjects(
    obj: Any, *, key: str | bytes | None = None
) -> tuple[Any, dict[str, str]]:
    """Replace the subject codes of a container (or list of containers) by pseudonyms.

    Parameters
    ----------
    obj : EpochsDataset, Recording, VolumeSeries, SpikeTrains or a list of them
        Subject codes are read from ``metadata["subject"]`` or ``.subject``; the ``recording``,
        ``session`` and ``run`` metadata columns and ``.source`` get codes replaced inside them.
    key : str, bytes or None
        See :func:`pseudonym_map`.

    Returns
    -------
    (pseudonymised, mapping)
        A new container (dataclasses are copied; the input is not modified) and the map from
        original codes to pseudonyms (keep it private: it re-identifies).

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.data import Recording
    >>> rec = Recording(np.zeros((1, 10)), 10.0, subject="S01", source="data/S01_rest.edf")
    >>> new, mapping = pseudonymise_subjects(rec, key="secret")
    >>> new.subject == mapping["S01"], "S01" in new.source, rec.subject
    (True, False, 'S01')
    """
    mapping = pseudonym_map(_codes_of(obj), key=key)
    return _apply(obj, mapping), mapping
