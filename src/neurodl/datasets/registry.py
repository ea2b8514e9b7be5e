"""The registry of named datasets: what each one is, where it lives, which files it holds.

Every entry is one :class:`DatasetEntry` registered with :func:`register_dataset`; names are
unique and an unknown name lists the known ones. Entries live under the data root
(:func:`neurodl.get_data_root`: ``$NEURODL_DATA`` or ``set_config(data_root=...)``) or under an
explicit ``data_root=``. Nothing here downloads: see :func:`neurodl.datasets.fetch_dataset`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .._config import get_data_root
from ..exceptions import DatasetError

__all__ = [
    "REGISTRY",
    "DatasetEntry",
    "FileRecord",
    "dataset_path",
    "get_dataset",
    "list_datasets",
    "load_dataset",
    "read_checksums",
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

    Examples
    --------
    >>> rec = FileRecord("sub-01/eeg.edf", "0" * 64, 1024)
    >>> rec.path, rec.size
    ('sub-01/eeg.edf', 1024)
    """

    path: str
    sha256: str
    size: int


#: package folder holding one checksum list per dataset folder: ``checksums/eeg/bonn.txt``.
CHECKSUM_DIR = "checksums"


def files_from_table(table: str) -> tuple[FileRecord, ...]:
    """Parse ``sha256 size relpath`` lines (the format of the ``checksums/*/*.txt`` lists).

    Parameters
    ----------
    table : str
        One file per line; blank lines and lines starting with ``#`` are ignored.

    Returns
    -------
    tuple of FileRecord
    """
    out = []
    for i, line in enumerate(table.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or len(parts[0]) != 64 or not parts[1].isdigit():
            raise DatasetError(
                f"Invalid checksum line {i}: expected '<sha256> <size> <path>'; got {line!r}."
            )
        out.append(FileRecord(parts[2], parts[0].lower(), int(parts[1])))
    return tuple(out)


def checksum_resource(folder: str) -> Any:
    """Return the package-data file (a Traversable) holding the checksums of ``folder``.

    Parameters
    ----------
    folder : str
        Dataset folder relative to the data root, e.g. ``"eeg/bonn"``; its list is
        ``neurodl/datasets/checksums/eeg/bonn.txt``.
    """
    res = resources.files(__package__).joinpath(CHECKSUM_DIR)
    parts = folder.split("/")
    for part in parts[:-1]:
        res = res.joinpath(part)
    return res.joinpath(f"{parts[-1]}.txt")


@cache
def read_checksums(folder: str) -> tuple[FileRecord, ...]:
    """Return the file records of dataset folder ``folder`` from the package data.

    Parameters
    ----------
    folder : str
        Dataset folder relative to the data root, e.g. ``"eeg/bonn"``.

    Returns
    -------
    tuple of FileRecord
        Sorted by path.

    Raises
    ------
    DatasetError
        If the package holds no checksum list for ``folder``.
    """
    res = checksum_resource(folder) if folder and ".." not in folder.split("/") else None
    if res is None or not res.is_file():
        raise DatasetError(
            f"No checksum table for folder {folder!r}: expected the package file "
            f"neurodl/datasets/{CHECKSUM_DIR}/{folder}.txt (regenerate it with "
            "`python -m neurodl.datasets._make_checksums DATA_ROOT`)."
        )
    return files_from_table(res.read_text(encoding="utf-8"))


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
    loader : callable or None
        The function :func:`load_dataset` calls as ``loader(target, **kwargs)`` (e.g.
        :func:`neurodl.datasets.bonn.read_bonn`, or a generic reader of :mod:`neurodl.io` such
        as :func:`neurodl.io.arrays.read_array`); ``None`` when the folder is a collection of
        files each read with :func:`neurodl.io.read`.
    loader_target : str
        Path relative to the dataset folder that the loader receives (``""``: the folder).
    loader_kwargs : Mapping of str to Any
        Default keyword arguments of the loader (overridden by those of :func:`load_dataset`).
    files : tuple of FileRecord
        Every file with its SHA-256 and size; read from the package data
        (``neurodl/datasets/checksums/<folder>.txt``, see :func:`read_checksums`) when not given.

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
    loader: Callable[..., Any] | None = None
    loader_target: str = ""
    loader_kwargs: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[FileRecord, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip().lower() or " " in self.name:
            raise DatasetError(
                f"Invalid dataset name {self.name!r}: use lower case without spaces, e.g. 'bonn'."
            )
        if self.loader is not None and not callable(self.loader):
            raise DatasetError(
                f"Invalid loader {self.loader!r} for dataset {self.name!r}: expected a function "
                "called as loader(path, **kwargs), e.g. neurodl.datasets.bonn.read_bonn."
            )
        if not self.files:
            try:
                files = read_checksums(self.folder)
            except DatasetError as err:
                raise DatasetError(f"Dataset {self.name!r}: no files given. {err}") from None
            object.__setattr__(self, "files", files)

    @property
    def n_files(self) -> int:
        """Number of files."""
        return len(self.files)

    @property
    def total_size(self) -> int:
        """Total size of the files in bytes."""
        return sum(f.size for f in self.files)

    @property
    def loader_name(self) -> str:
        """Dotted name of the loader (``"neurodl.datasets.bonn.read_bonn"``), or ``""``."""
        if self.loader is None:
            return ""
        module = getattr(self.loader, "__module__", None) or ""
        name = getattr(self.loader, "__qualname__", None) or repr(self.loader)
        return f"{module}.{name}" if module else name


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

    Examples
    --------
    >>> import hashlib, tempfile
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = register_dataset(
    ...     DatasetEntry("lab-pilot", "eeg/lab_pilot", "Pilot data.", "eeg", "Our lab.", "CC0",
    ...                  files=(record,))
    ... )
    >>> get_dataset("lab-pilot").n_files, "lab-pilot" in list_datasets()
    (1, True)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         dataset_path("lab-pilot", tmp)
    ...     except DatasetError as err:
    ...         print(str(err).replace(tmp, "<tmp>"))  # doctest: +NORMALIZE_WHITESPACE
    Dataset 'lab-pilot' is missing: <tmp>/eeg/lab_pilot does not exist. Point NEURODL_DATA (or
    data_root=) at the folder that holds it, or download it with
    `neurodl datasets fetch lab-pilot --url URL`.
    >>> try:
    ...     register_dataset(entry)
    ... except DatasetError as err:
    ...     print(err)
    A dataset named 'lab-pilot' is already registered.
    >>> _ = REGISTRY.pop("lab-pilot")  # unregister (temporary_dataset does this for a block)
    """
    if not isinstance(entry, DatasetEntry):
        raise TypeError(f"entry must be a DatasetEntry; got {type(entry).__name__}.")
    if entry.name in REGISTRY:
        raise DatasetError(f"A dataset named {entry.name!r} is already registered.")
    REGISTRY[entry.name] = entry
    return entry


@contextlib.contextmanager
def temporary_dataset(entry: DatasetEntry) -> Iterator[DatasetEntry]:
    """Register ``entry`` for the duration of a ``with`` block (tests, experiments).

    Examples
    --------
    >>> import hashlib, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "demo").mkdir()
    >>> _ = (root / "demo" / "a.txt").write_text("hello")
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = DatasetEntry("demo-doc", "demo", "A demo.", "eeg", "none", "CC0", files=(record,))
    >>> with temporary_dataset(entry):
    ...     print("demo-doc" in list_datasets())
    True
    >>> "demo-doc" in list_datasets()  # unregistered again
    False
    """
    register_dataset(entry)
    try:
        yield entry
    finally:
        REGISTRY.pop(entry.name, None)


def list_datasets() -> list[str]:
    """Return the names of all registered datasets, sorted.

    Examples
    --------
    >>> names = list_datasets()
    >>> "bonn" in names, names == sorted(names)
    (True, True)
    """
    return sorted(REGISTRY)


def get_dataset(name: str) -> DatasetEntry:
    """Return the registry entry called ``name``.

    Raises
    ------
    DatasetError
        If ``name`` is unknown; the message lists the known names.

    Examples
    --------
    >>> entry = get_dataset("bonn")
    >>> entry.modality, entry.folder
    ('eeg', 'eeg/bonn')
    """
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise DatasetError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(list_datasets())}."
        ) from None


def resolve_root(data_root: str | Path | None = None) -> Path:
    """Return ``data_root`` as a Path, or the configured data root when it is ``None``.

    Examples
    --------
    >>> resolve_root("some/data").as_posix()
    'some/data'
    """
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

    Examples
    --------
    >>> import hashlib, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "demo").mkdir()
    >>> _ = (root / "demo" / "a.txt").write_text("hello")
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = DatasetEntry("demo-doc", "demo", "A demo.", "eeg", "none", "CC0", files=(record,))
    >>> with temporary_dataset(entry):
    ...     print(dataset_path("demo-doc", root).name)
    demo
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


def load_dataset(name: str, data_root: str | Path | None = None, **kwargs: Any) -> Any:
    """Read dataset ``name`` with its loader (its dataset module's reader or a generic one).

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
        What the loader returns (a Recording, VolumeSeries, SpikeTrains, EpochsDataset, a
        list/dict of them, or the dataset's own container such as
        :class:`neurodl.datasets.abide.AbideTimeSeries`).

    Raises
    ------
    DatasetError
        If the dataset is unknown, missing or incomplete, or has no single loader.

    Examples
    --------
    >>> import hashlib, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "demo").mkdir()
    >>> _ = (root / "demo" / "a.txt").write_text("hello")
    >>> record = FileRecord("a.txt", hashlib.sha256(b"hello").hexdigest(), 5)
    >>> entry = DatasetEntry("demo-doc", "demo", "A demo.", "eeg", "none", "CC0", files=(record,))
    >>> def list_files(folder):  # the dataset's reader
    ...     return sorted(p.name for p in folder.iterdir())
    >>> entry = DatasetEntry("demo-doc", "demo", "A demo.", "eeg", "none", "CC0",
    ...                      files=(record,), loader=list_files)
    >>> with temporary_dataset(entry):
    ...     print(load_dataset("demo-doc", root))
    ['a.txt']
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
    return entry.loader(target, **{**entry.loader_kwargs, **kwargs})
