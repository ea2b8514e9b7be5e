"""The registry of named datasets: what each one is, where it lives, which files it holds.

Every entry is one :class:`DatasetEntry` registered with :func:`register_dataset`; names are
unique and an unknown name lists the known ones. Entries live under the data root
(:func:`neurodl.get_data_root`: ``$NEURODL_DATA`` or ``set_config(data_root=...)``) or under an
explicit ``data_root=``. Nothing here downloads: see :func:`neurodl.datasets.fetch_dataset`.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import get_data_root
from ..exceptions import DatasetError
from ._checksums import TABLES

__all__ = [
    "REGISTRY",
    "DatasetEntry",
    "FileRecord",
    "dataset_path",
    "get_dataset",
    "list_datasets",
    "load_dataset",
    "register_dataset",
    "resolve_root",
    "temporary_dataset",
]


@dataclass(frozen=True)
class FileRecord:
    """One file of a dataset.

    Parameters
    ----------
    path : str
        Path relative to the dataset folder, with ``/`` separators.
    sha256 : str
        Expected SHA-256 (64 lower-case hex digits).
    size : int
        Expected size in bytes.
    """

    path: str
    sha256: str
    size: int


def files_from_table(table: str) -> tuple[FileRecord, ...]:
    """Parse ``sha256 size relpath`` lines (the format of :mod:`._checksums`).

    Parameters
    ----------
    table : str
        One file per line; blank lines are ignored.

    Returns
    -------
    tuple of FileRecord
    """
    out = []
    for i, line in enumerate(table.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or len(parts[0]) != 64 or not parts[1].isdigit():
            raise DatasetError(
                f"Invalid checksum line {i}: expected '<sha256> <size> <path>'; got {line!r}."
            )
        out.append(FileRecord(parts[2], parts[0].lower(), int(parts[1])))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class DatasetEntry:
    """A named dataset: its folder under the data root, its files and what it is.

    Parameters
    ----------
    name : str
        Registry name (lower case, ``-`` separated), e.g. ``"bonn"``.
    folder : str
        Folder relative to the data root, e.g. ``"eeg/bonn"``.
    description : str
        One line saying what the data are.
    modality : str
        ``"eeg"``, ``"meg"``, ``"fmri"``, ``"spikes"``, ``"calcium"``, ``"lfp"``, ``"mixed"``...
    citation : str
        What the data owners ask to be cited.
    license : str
        Licence note (several sets carry no formal data licence).
    source : str
        Where the files come from (repository @ commit, archive).
    sfreq : float or None
        Sampling rate in Hz (``1 / TR`` for fMRI); ``None`` when undocumented or mixed.
    sfreq_note : str
        Extra words about the rate(s) (TR, bin width, per-file rates).
    classes : Mapping of str to str
        Label or class -> meaning; empty when the data carry no labels.
    loader : str or None
        ``"module:function"`` naming the reader in :mod:`neurodl.io` that
        :func:`load_dataset` calls (e.g. ``"eeg:read_bonn"``); ``None`` when the folder is a
        collection of files each read with :func:`neurodl.io.read`.
    loader_target : str
        Path relative to the dataset folder that the loader receives (``""``: the folder).
    loader_kwargs : Mapping of str to Any
        Default keyword arguments of the loader (overridden by those of :func:`load_dataset`).
    files : tuple of FileRecord
        Every file with its SHA-256 and size; taken from :mod:`._checksums` by ``folder`` when
        not given.

    Examples
    --------
    >>> from neurodl.datasets import get_dataset
    >>> entry = get_dataset("bonn")
    >>> entry.folder, entry.sfreq, len(entry.files)
    ('eeg/bonn', 173.61, 500)
    """

    name: str
    folder: str
    description: str
    modality: str
    citation: str
    license: str
    source: str = ""
    sfreq: float | None = None
    sfreq_note: str = ""
    classes: Mapping[str, str] = field(default_factory=dict)
    loader: str | None = None
    loader_target: str = ""
    loader_kwargs: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[FileRecord, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip().lower() or " " in self.name:
            raise DatasetError(
                f"Invalid dataset name {self.name!r}: use lower case without spaces, e.g. 'bonn'."
            )
        if self.loader is not None and self.loader.count(":") != 1:
            raise DatasetError(
                f"Invalid loader {self.loader!r} for dataset {self.name!r}: expected "
                "'module:function' naming a reader in neurodl.io, e.g. 'eeg:read_bonn'."
            )
        if not self.files:
            if self.folder not in TABLES:
                raise DatasetError(
                    f"Dataset {self.name!r}: no files given and no checksum table for folder "
                    f"{self.folder!r}."
                )
            object.__setattr__(self, "files", files_from_table(TABLES[self.folder]))

    @property
    def n_files(self) -> int:
        """Number of files."""
        return len(self.files)

    @property
    def total_size(self) -> int:
        """Total size of the files in bytes."""
        return sum(f.size for f in self.files)


#: name -> entry, in registration order.
REGISTRY: dict[str, DatasetEntry] = {}


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    """Add ``entry`` to the registry and return it.

    Parameters
    ----------
    entry : DatasetEntry

    Returns
    -------
    DatasetEntry
        The same entry.

    Raises
    ------
    DatasetError
        If an entry of that name is already registered.
    """
    if not isinstance(entry, DatasetEntry):
        raise TypeError(f"entry must be a DatasetEntry; got {type(entry).__name__}.")
    if entry.name in REGISTRY:
        raise DatasetError(f"A dataset named {entry.name!r} is already registered.")
    REGISTRY[entry.name] = entry
    return entry


@contextlib.contextmanager
def temporary_dataset(entry: DatasetEntry) -> Iterator[DatasetEntry]:
    """Register ``entry`` for the duration of a ``with`` block (tests, experiments)."""
    register_dataset(entry)
    try:
        yield entry
    finally:
        REGISTRY.pop(entry.name, None)


def list_datasets() -> list[str]:
    """Return the names of all registered datasets, sorted."""
    return sorted(REGISTRY)


def get_dataset(name: str) -> DatasetEntry:
    """Return the registry entry called ``name``.

    Raises
    ------
    DatasetError
        If ``name`` is unknown; the message lists the known names.
    """
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise DatasetError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(list_datasets())}."
        ) from None


def resolve_root(data_root: str | Path | None = None) -> Path:
    """Return ``data_root`` as a Path, or the configured data root when it is ``None``."""
    if data_root is not None:
        return Path(data_root).expanduser()
    return Path(get_data_root(required=True))  # type: ignore[arg-type]


def dataset_path(
    name: str, data_root: str | Path | None = None, *, must_exist: bool = True
) -> Path:
    """Return the folder of dataset ``name`` under the data root.

    Parameters
    ----------
    name : str
        A registered dataset name (see :func:`list_datasets`).
    data_root : str or Path or None
        Root folder; default :func:`neurodl.get_data_root`.
    must_exist : bool, default=True
        Raise :class:`~neurodl.DatasetError` when the folder is absent.

    Returns
    -------
    Path
    """
    entry = get_dataset(name)
    path = resolve_root(data_root) / entry.folder
    if must_exist and not path.is_dir():
        raise DatasetError(
            f"Dataset {name!r} is missing: {path} does not exist. Point NEURODL_DATA (or "
            "data_root=) at the folder that holds it, or download it with "
            f"`neurodl datasets fetch {name} --url URL`."
        )
    return path


def _reader(loader: str) -> Any:
    module, func = loader.split(":")
    try:
        mod = importlib.import_module(f"neurodl.io.{module}")
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith("neurodl"):
            raise DatasetError(f"The reader module neurodl.io.{module} is not available.") from err
        raise
    reader = getattr(mod, func, None)
    if reader is None:
        raise DatasetError(f"The reader neurodl.io.{module}.{func} is not available.")
    return reader


def load_dataset(name: str, data_root: str | Path | None = None, **kwargs: Any) -> Any:
    """Read dataset ``name`` with its reader from :mod:`neurodl.io`.

    Parameters
    ----------
    name : str
        A registered dataset name (see :func:`list_datasets`).
    data_root : str or Path or None
        Root folder; default :func:`neurodl.get_data_root`.
    **kwargs
        Passed to the reader, overriding the entry's ``loader_kwargs``.

    Returns
    -------
    object
        What the reader returns (a Recording, VolumeSeries, SpikeTrains, EpochsDataset, or a
        list/dict of them).

    Raises
    ------
    DatasetError
        If the dataset is unknown or missing, has no reader, or its reader is not available.
    """
    entry = get_dataset(name)
    if entry.loader is None:
        raise DatasetError(
            f"Dataset {name!r} has no single reader: it is a collection of files; read them "
            "one by one with neurodl.io.read(path)."
        )
    folder = dataset_path(name, data_root)
    target = folder / entry.loader_target if entry.loader_target else folder
    if not target.exists():
        raise DatasetError(f"Dataset {name!r} is incomplete: {target} is missing.")
    reader = _reader(entry.loader)
    return reader(target, **{**entry.loader_kwargs, **kwargs})
