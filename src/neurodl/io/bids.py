"""BIDS datasets: find data files by entity, read them into neurodl containers.

EEG, MEG and iEEG files are read with mne-bids (``read_raw_bids``) into
:class:`~neurodl.data.Recording`; functional MRI (``func/*_bold.nii[.gz]``) is read with
:func:`neurodl.io.fmri.read_nifti` into :class:`~neurodl.data.VolumeSeries`, with the events of
the matching ``*_events.tsv`` and the TR of the ``*_bold.json`` sidecar (``RepetitionTime``).
Sidecars and events follow the BIDS inheritance principle: a file higher in the tree (e.g.
``task-rest_bold.json`` at the root) applies to every run whose entities it names, and deeper
files override it.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..data import Recording, VolumeSeries
from ..exceptions import DataFormatError, DatasetError, MissingDependencyError
from .eeg import check_declared_size, check_fatal_warnings
from .fmri import _header_tr, _load_events, _load_image, read_nifti

__all__ = ["BIDSFile", "find_bids_files", "read_bids"]

#: datatype folder -> (suffix of the data files, their extensions). Longer extensions first.
DATA_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "func": ("bold", (".nii.gz", ".nii")),
    "eeg": ("eeg", (".vhdr", ".edf", ".bdf", ".set", ".fif")),
    "meg": ("meg", (".fif", ".ds", ".con", ".sqd")),
    "ieeg": ("ieeg", (".vhdr", ".edf", ".set", ".nwb", ".mefd")),
}
#: Filter argument -> BIDS entity key.
_FILTERS: dict[str, str] = {"subjects": "sub", "sessions": "ses", "tasks": "task", "runs": "run"}


@dataclass
class BIDSFile:
    """One BIDS data file and its entities.

    Parameters
    ----------
    path : Path
        The data file (or folder, for CTF ``.ds``).
    datatype : str
        ``func``, ``eeg``, ``meg`` or ``ieeg``.
    entities : dict of str to str
        Entities parsed from the file name (``sub``, ``ses``, ``task``, ``acq``, ``run``, ...).
    root : Path
        The BIDS root.

    Examples
    --------
    >>> import json, pathlib, tempfile, mne
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "dataset_description.json").write_text(json.dumps({"Name": "demo",
    ...                                                                  "BIDSVersion": "1.8.0"}))
    >>> meg = root / "sub-01" / "meg"
    >>> meg.mkdir(parents=True)
    >>> raw = mne.io.RawArray(np.zeros((2, 300)), mne.create_info(["MEG1", "MEG2"], 100.0, "mag"),
    ...                       verbose="error")
    >>> _ = raw.save(meg / "sub-01_task-rest_run-01_meg.fif", verbose="error")
    >>> f = find_bids_files(root)[0]
    >>> f.datatype, f.entities, f.path.name
    ('meg', {'sub': '01', 'task': 'rest', 'run': '01'}, 'sub-01_task-rest_run-01_meg.fif')
    """

    path: Path
    datatype: str
    entities: dict[str, str] = field(default_factory=dict)
    root: Path | None = None

    @property
    def subject(self) -> str | None:
        return self.entities.get("sub")

    @property
    def session(self) -> str | None:
        return self.entities.get("ses")

    @property
    def task(self) -> str | None:
        return self.entities.get("task")

    @property
    def run(self) -> str | None:
        return self.entities.get("run")


# ---------------------------------------------------------------------------- parsing
def _split_name(name: str) -> tuple[dict[str, str], str, str] | None:
    """Parse ``sub-01_task-x_bold.nii.gz`` into (entities, suffix, extension); None if not BIDS."""
    stem = name.partition(".")[0]
    ext = name[len(stem) :]
    parts = stem.split("_")
    entities: dict[str, str] = {}
    for part in parts[:-1]:
        key, sep, value = part.partition("-")
        if not sep or not key or not value:
            return None
        entities[key] = value
    return entities, parts[-1], ext


def _strip(key: str, value: Any) -> str:
    value = str(value)
    return value[len(key) + 1 :] if value.startswith(f"{key}-") else value


def _as_list(name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, (str, int, np.integer)) else list(value)
    if not values:
        raise ValueError(
            f"Invalid value for {name!r}: an empty list selects nothing; use None for all."
        )
    return [_strip(_FILTERS[name], v) for v in values]


def _same(key: str, a: str | None, b: str) -> bool:
    """Entity equality; run indices compare as integers (``1`` matches ``01``)."""
    if a is None:
        return False
    if key == "run" and a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


def _check_root(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"BIDS root {root} does not exist or is not a folder.")
    if not (root / "dataset_description.json").is_file():
        raise DataFormatError(
            f"{root} is not a BIDS root: dataset_description.json is missing. Pass the folder that "
            "holds dataset_description.json and the sub-* folders."
        )
    return root


def _walk(root: Path, datatypes: Iterable[str]) -> list[BIDSFile]:
    """All data files of ``datatypes`` under sub-*/[ses-*/]<datatype>/."""
    found = []
    for sub_dir in sorted(p for p in root.glob("sub-*") if p.is_dir()):
        for level in [sub_dir, *sorted(p for p in sub_dir.glob("ses-*") if p.is_dir())]:
            for dt in datatypes:
                folder = level / dt
                if not folder.is_dir():
                    continue
                suffix, exts = DATA_FILES[dt]
                for path in sorted(folder.iterdir()):
                    parsed = _split_name(path.name)
                    if parsed is None or parsed[1] != suffix or parsed[2].lower() not in exts:
                        continue
                    entities = parsed[0]
                    if "sub" not in entities or entities.get("split", "01") not in ("01", "1"):
                        continue
                    found.append(BIDSFile(path, dt, entities, root))
    return found


def find_bids_files(
    root: str | Path,
    *,
    subjects: str | Iterable[str] | None = None,
    sessions: str | Iterable[str] | None = None,
    tasks: str | Iterable[str] | None = None,
    runs: str | int | Iterable[str | int] | None = None,
    datatype: str | None = None,
) -> list[BIDSFile]:
    """List the data files of a BIDS dataset that match the given entities.

    Parameters
    ----------
    root : str or Path
        BIDS root (holds ``dataset_description.json``).
    subjects, sessions, tasks : str or list of str, optional
        Labels to keep (``"01"`` or ``"sub-01"``); default all.
    runs : int, str or list, optional
        Run indices to keep (``1`` matches ``run-01``); default all.
    datatype : {"func", "eeg", "meg", "ieeg"}, optional
        Only this datatype; default all of them.

    Returns
    -------
    list of BIDSFile
        Sorted by subject, session, task, run, path.

    Raises
    ------
    DataFormatError
        ``root`` has no ``dataset_description.json``.
    DatasetError
        A requested subject/session/task/run does not exist (the message lists those that do),
        or no file matches the combination.
    ValueError
        Unknown ``datatype``.

    Examples
    --------
    >>> import json, pathlib, tempfile, mne
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "dataset_description.json").write_text(json.dumps({"Name": "demo",
    ...                                                                  "BIDSVersion": "1.8.0"}))
    >>> meg = root / "sub-01" / "meg"
    >>> meg.mkdir(parents=True)
    >>> raw = mne.io.RawArray(np.zeros((2, 300)), mne.create_info(["MEG1", "MEG2"], 100.0, "mag"),
    ...                       verbose="error")
    >>> _ = raw.save(meg / "sub-01_task-rest_run-01_meg.fif", verbose="error")
    >>> [f.path.name for f in find_bids_files(root, subjects="01", runs=1, datatype="meg")]
    ['sub-01_task-rest_run-01_meg.fif']
    """
    root = _check_root(root)
    if datatype is not None and datatype not in DATA_FILES:
        raise ValueError(
            f"Invalid value for 'datatype'. Allowed: {', '.join(map(repr, DATA_FILES))}; "
            f"got {datatype!r}."
        )
    datatypes = list(DATA_FILES) if datatype is None else [datatype]
    files = _walk(root, datatypes)
    what = f"{datatype} data files" if datatype else "data files"
    if not files:
        raise DatasetError(f"{root}: no {what} found under sub-*/[ses-*/]<datatype>/.")
    requested = {
        name: _as_list(name, value)
        for name, value in (
            ("subjects", subjects),
            ("sessions", sessions),
            ("tasks", tasks),
            ("runs", runs),
        )
    }
    for name, wanted in requested.items():
        if wanted is None:
            continue
        key = _FILTERS[name]
        available = sorted({f.entities[key] for f in files if key in f.entities})
        unknown = [w for w in wanted if not any(_same(key, a, w) for a in available)]
        if unknown:
            raise DatasetError(
                f"Invalid value for {name!r}: {unknown} not in {root} ({what}). "
                f"Available: {available}."
            )
    selected = [
        f
        for f in files
        if all(
            wanted is None
            or any(_same(_FILTERS[n], f.entities.get(_FILTERS[n]), w) for w in wanted)
            for n, wanted in requested.items()
        )
    ]
    if not selected:
        shown = ", ".join(f.path.name for f in files[:10]) + (" ..." if len(files) > 10 else "")
        asked = ", ".join(f"{n}={v}" for n, v in requested.items() if v is not None)
        raise DatasetError(f"{root}: no {what} match {asked}. Files: {shown}.")

    def order(f: BIDSFile) -> tuple[Any, ...]:
        run = f.run or ""
        return (
            f.subject or "",
            f.session or "",
            f.task or "",
            int(run) if run.isdigit() else -1,
            run,
            str(f.path),
        )

    return sorted(selected, key=order)


# ---------------------------------------------------------------------------- readers
def _inherited(file: BIDSFile, suffix: str, ext: str) -> list[Path]:
    """Files ``*_<suffix><ext>`` that apply to ``file`` by inheritance, general first."""
    assert file.root is not None
    rel = file.path.parent.relative_to(file.root).parts
    folders = [file.root] + [file.root.joinpath(*rel[: i + 1]) for i in range(len(rel))]
    out = []
    for folder in folders:
        level = []
        for cand in folder.glob(f"*{suffix}{ext}"):
            name = cand.name
            if name != f"{suffix}{ext}" and not name.endswith(f"_{suffix}{ext}"):
                continue
            parsed = _split_name(name) if name != f"{suffix}{ext}" else ({}, suffix, ext)
            if parsed is None:
                continue
            ents = parsed[0]
            if all(file.entities.get(k) == v for k, v in ents.items()):
                level.append((len(ents), cand))
        out.extend(p for _, p in sorted(level))
    return out


def _sidecar(file: BIDSFile) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in _inherited(file, DATA_FILES[file.datatype][0], ".json"):
        try:
            merged.update(json.loads(path.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataFormatError(f"{path}: invalid JSON sidecar ({err}).") from None
    return merged


def _read_func(file: BIDSFile) -> VolumeSeries:
    sidecar = _sidecar(file)
    tr = sidecar.get("RepetitionTime")
    if tr is not None:
        try:
            tr = float(tr)
        except (TypeError, ValueError):
            raise DataFormatError(
                f"{file.path}: sidecar RepetitionTime must be a number of seconds; got {tr!r}."
            ) from None
        header_tr, _ = _header_tr(_load_image(file.path))
        if header_tr is not None and abs(header_tr - tr) > 1e-3:
            logger.warning(
                "%s: header TR %g s differs from the sidecar RepetitionTime %g s; "
                "using the sidecar (BIDS).",
                file.path,
                header_tr,
                tr,
            )
    events_files = _inherited(file, "events", ".tsv")
    events = _load_events(events_files[-1]) if events_files else None
    vs = read_nifti(
        file.path, tr=tr, events=events, subject=file.subject, session=file.session, run=file.run
    )
    vs.info.update(
        {
            "task": file.task,
            "datatype": "func",
            "bids_entities": dict(file.entities),
            "sidecar": sidecar,
            "events_file": str(events_files[-1]) if events_files else None,
        }
    )
    if tr is not None:
        vs.info["tr_source"] = "sidecar RepetitionTime"
    return vs


def _read_mne(file: BIDSFile) -> Recording:
    try:
        import mne_bids
    except ImportError:
        raise MissingDependencyError(
            "Reading BIDS EEG/MEG/iEEG needs mne-bids: pip install mne-bids."
        ) from None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bids_path = mne_bids.get_bids_path_from_fname(file.path).update(root=file.root)
            raw = mne_bids.read_raw_bids(bids_path, verbose=False)
            # the same checks as read_raw: damage MNE only warns about, declared sizes
            check_fatal_warnings(file.path, [str(w.message) for w in caught], "a recording")
            check_declared_size(raw, file.path)
            rec = Recording.from_mne(
                raw, subject=file.subject, session=file.session, run=file.run, source=str(file.path)
            )
    except DataFormatError:
        raise
    except (ValueError, OSError, RuntimeError, KeyError, IndexError, MemoryError) as err:
        raise DataFormatError(
            f"{file.path}: mne-bids could not read it ({type(err).__name__}: {err})."
        ) from None
    for w in caught:
        logger.warning("%s: %s", file.path, w.message)
    rec.info.update(
        {
            "task": file.task,
            "datatype": file.datatype,
            "reader": "mne-bids",
            "bids_entities": dict(file.entities),
        }
    )
    return rec


#: datatype -> reader of one BIDS file.
_READERS: dict[str, Callable[[BIDSFile], Recording | VolumeSeries]] = {
    "func": _read_func,
    "eeg": _read_mne,
    "meg": _read_mne,
    "ieeg": _read_mne,
}


def read_bids(
    root: str | Path,
    *,
    subjects: str | Iterable[str] | None = None,
    sessions: str | Iterable[str] | None = None,
    tasks: str | Iterable[str] | None = None,
    runs: str | int | Iterable[str | int] | None = None,
    datatype: str | None = None,
) -> list[Recording | VolumeSeries]:
    """Read the matching runs of a BIDS dataset.

    Parameters
    ----------
    root : str or Path
        BIDS root (holds ``dataset_description.json``).
    subjects, sessions, tasks, runs, datatype
        Selection, as in :func:`find_bids_files`.

    Returns
    -------
    list of Recording or VolumeSeries
        One item per data file, in the order of :func:`find_bids_files`. EEG/MEG/iEEG give a
        :class:`Recording` (SI units, events as annotations); ``func`` gives a 4-D
        :class:`VolumeSeries` whose ``events`` is the run's ``*_events.tsv`` (``onset``,
        ``duration``, ``trial_type``, ...) and whose TR is the sidecar ``RepetitionTime`` when
        present (else the NIfTI header). ``subject``/``session``/``run`` come from the file
        name; ``info["task"]`` holds the task.

    Raises
    ------
    DataFormatError
        Not a BIDS root, or a file cannot be read.
    DatasetError
        Requested entities that do not exist (the message lists the available ones).

    Examples
    --------
    >>> import json, pathlib, tempfile, mne
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "dataset_description.json").write_text(json.dumps({"Name": "demo",
    ...                                                                  "BIDSVersion": "1.8.0"}))
    >>> meg = root / "sub-01" / "meg"
    >>> meg.mkdir(parents=True)
    >>> raw = mne.io.RawArray(np.zeros((2, 300)), mne.create_info(["MEG1", "MEG2"], 100.0, "mag"),
    ...                       verbose="error")
    >>> _ = raw.save(meg / "sub-01_task-rest_run-01_meg.fif", verbose="error")
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # MNE-BIDS notes on missing sidecars
    ...     recs = read_bids(root, tasks="rest")
    >>> len(recs), recs[0].data.shape, recs[0].subject
    (1, (2, 300), '01')
    """
    files = find_bids_files(
        root, subjects=subjects, sessions=sessions, tasks=tasks, runs=runs, datatype=datatype
    )
    out = []
    for file in files:
        logger.info("Reading %s", file.path)
        out.append(_READERS[file.datatype](file))
    return out
