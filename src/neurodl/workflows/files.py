"""``data.source: files``: several recordings, each with its subject, session and run.

``data.files`` lists paths and/or glob patterns; every match is read with the same reader and
``data.params``. The subject, session and run of a recording come from its file name: BIDS
entities (``sub-01_ses-2_task-x_run-03_eeg.edf``) by default, or ``data.pattern`` (e.g.
``"{subject}R{run}"`` for ``S001R04.edf``), so a config can ask for leave-one-run-out or
cross-session evaluation on raw files.

Examples
--------
>>> file_entities("sub-01_ses-2_run-03_eeg.edf")
{'subject': '01', 'session': '2', 'run': '03'}
>>> file_entities("S001R04.edf", "{subject}R{run}")
{'subject': 'S001', 'run': '04'}
"""

from __future__ import annotations

import glob
import inspect
import os
import re
import string
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError
from .config import DataConfig

__all__ = ["ENTITIES", "expand_files", "file_entities", "read_files"]

#: The entities a file name may give, with their BIDS keys.
ENTITIES = {"subject": "sub", "session": "ses", "run": "run"}


def _stem(name: str) -> str:
    """The file name without its extension(s) (``bold.nii.gz`` -> ``bold``)."""
    return Path(name).name.split(".", 1)[0]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for literal, field, spec, _ in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field not in ENTITIES or spec:
            raise ConfigError(
                f"Invalid value at 'data.pattern': unknown field {{{field}}}. Allowed: "
                f"{', '.join('{' + k + '}' for k in ENTITIES)}; got {pattern!r}."
            )
        parts.append(f"(?P<{field}>.+?)")
    return re.compile("".join(parts))


def file_entities(name: str, pattern: str | None = None) -> dict[str, str]:
    """Subject/session/run of a file from its name (BIDS entities, or ``pattern``).

    Parameters
    ----------
    name : str
        File name or path; its extension is ignored.
    pattern : str or None
        Template of the name without extension with fields ``{subject}``, ``{session}``,
        ``{run}`` (e.g. ``"{subject}R{run}"``); None reads BIDS entities (``sub-``, ``ses-``,
        ``run-``).

    Returns
    -------
    dict of str to str
        The entities found (absent ones are left out).

    Examples
    --------
    >>> file_entities("data/sub-07_ses-post_task-rest_run-2_eeg.edf")
    {'subject': '07', 'session': 'post', 'run': '2'}
    >>> file_entities("S001R04.edf", "{subject}R{run}")  # PhysioNet EEG-MMI style names
    {'subject': 'S001', 'run': '04'}
    >>> try:
    ...     file_entities("S001R04.edf", "{subject}_run{run}")
    ... except ValueError as err:  # a ConfigError
    ...     print(err)
    Invalid value at 'data.pattern': the file name 'S001R04' does not match '{subject}_run{run}'.
    """
    stem = _stem(name)
    if pattern is None:
        out = {}
        for key, short in ENTITIES.items():
            m = re.search(rf"(?:^|_){short}-([A-Za-z0-9]+)", stem)
            if m:
                out[key] = m.group(1)
        return out
    m = _pattern_regex(pattern).fullmatch(stem)
    if m is None:
        raise ConfigError(
            f"Invalid value at 'data.pattern': the file name {stem!r} does not match {pattern!r}."
        )
    return {k: v for k, v in m.groupdict().items() if v is not None}


def expand_files(data: DataConfig) -> list[Path]:
    """The recordings of ``data.files``: each path or glob match, sorted, without repeats.

    Environment variables in the entries are expanded (``${NEURODL_DATA}/eeg/*.edf``), so a
    shared config names the data root without a machine path.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("S002R01.edf", "S001R02.edf", "S001R01.edf"):
    ...         _ = (Path(tmp) / name).write_bytes(b"")
    ...     data = DataConfig(source="files", files=[f"{tmp}/S001*.edf", f"{tmp}/S00*R01.edf"])
    ...     print([p.name for p in expand_files(data)])  # sorted per entry, no repeats
    ...     try:
    ...         expand_files(DataConfig(source="files", files=[f"{tmp}/S003*.edf"]))
    ...     except ValueError as err:  # a ConfigError
    ...         print(str(err).replace(tmp, "TMP"))
    ['S001R01.edf', 'S001R02.edf', 'S002R01.edf']
    Invalid value at 'data.files': no file matches 'TMP/S003*.edf'.
    """
    found: list[Path] = []
    for raw in data.files or []:
        item = os.path.expandvars(raw)
        if "$" in item:
            raise ConfigError(
                f"Invalid value at 'data.files': {raw!r} names an environment variable that is "
                "not set (e.g. export NEURODL_DATA=../shared/data)."
            )
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matches:
            raise ConfigError(f"Invalid value at 'data.files': no file matches {item!r}.")
        for m in matches:
            path = Path(m)
            if not path.exists():
                raise ConfigError(f"Invalid value at 'data.files': {m!r} does not exist.")
            if path not in found:
                found.append(path)
    if not found:
        raise ConfigError("Invalid value at 'data.files': no file given.")
    return found


def read_files(data: DataConfig) -> tuple[list[Any], str]:
    """Read every file of ``data.files`` with its entities; return ``(objects, name)``.

    Examples
    --------
    Three short recordings of two subjects; subject and run come from the file names:

    >>> import tempfile, mne, numpy as np
    >>> info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for stem in ("S001R01", "S001R02", "S002R01"):
    ...         raw = mne.io.RawArray(np.zeros((3, 200)), info, verbose="error")
    ...         _ = raw.save(Path(tmp) / f"{stem}_raw.fif", verbose="error")
    ...     data = DataConfig(source="files", files=[f"{tmp}/S*_raw.fif"],
    ...                       pattern="{subject}R{run}_raw")
    ...     recs, name = read_files(data)
    >>> name
    '3 files (S001R01_raw.fif, ...)'
    >>> [(rec.subject, rec.run, rec.data.shape) for rec in recs]
    [('S001', '01', (3, 200)), ('S001', '02', (3, 200)), ('S002', '01', (3, 200))]
    """
    from ..io import _resolve, read

    paths = expand_files(data)
    readers = {_resolve(p).__name__ for p in paths}
    if len(readers) > 1:
        raise ConfigError(
            f"Invalid value at 'data.files': the files need different readers ({sorted(readers)}); "
            "list files of one format."
        )
    accepted = set(inspect.signature(_resolve(paths[0])).parameters)
    objects = []
    for path in paths:
        entities = file_entities(path.name, data.pattern)
        kwargs = {k: v for k, v in entities.items() if k in accepted}
        obj = read(path, **{**kwargs, **data.params})
        for key, value in entities.items():
            if key not in kwargs and hasattr(obj, key):
                setattr(obj, key, value)
        objects.append(obj)
    name = paths[0].name if len(paths) == 1 else f"{len(paths)} files ({paths[0].name}, ...)"
    return objects, name
