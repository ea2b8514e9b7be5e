"""A chunked on-disk store of windows/epochs (zarr v3) for data larger than memory.

:class:`ChunkedStoreWriter` writes a store in one streaming pass, one recording (an
:class:`~neurodl.data.EpochsDataset` of its windows) at a time, so preprocessing a corpus never
holds more than one recording in memory. :func:`open_store` returns a :class:`ChunkedStore`
whose ``X`` is read lazily: batches in a deterministic order (:meth:`ChunkedStore.batches`), a
map-style ``torch`` Dataset for DataLoader workers (:meth:`ChunkedStore.torch_dataset`) and a
view the training engine indexes like a tensor (:meth:`ChunkedStore.torch_view`).

Layout of ``<path>`` (a zarr v3 group):

- ``X``: float32 array of shape (n_samples, n_channels, n_times), ``chunk_samples`` samples per
  chunk (optionally grouped in shards of ``shard_samples``: fewer files for big corpora);
- ``y``: labels (n_samples,) or (n_samples, n_targets);
- ``metadata.csv``: one row per sample, appended recording by recording;
- ``neurodl_store.json``: the completion marker, written last (after every chunk is on disk):
  store format version, neurodl version, preprocessing provenance, sampling rate, channel and
  class names, ``n_samples`` and the data hash. A store without it was killed while being
  written (or is being written) and is refused.

The data hash is a SHA-256 over every recording's float32 ``X`` bytes, ``y`` bytes and
metadata rows, in order; :meth:`ChunkedStore.verify` recomputes it from disk.

Examples
--------
>>> import tempfile, numpy as np
>>> from neurodl.data import EpochsDataset
>>> path = tempfile.mkdtemp() + "/windows.zarr"
>>> with ChunkedStoreWriter(path, provenance={"bandpass": [4, 38]}) as writer:
...     for rec in range(3):
...         X = np.zeros((5, 2, 10), dtype=np.float32) + rec
...         writer.append(EpochsDataset(X, y=np.arange(5) % 2))
>>> store = open_store(path, expect_provenance={"bandpass": [4, 38]})
>>> store.n_samples, store.X[[14, 0]][:, 0, 0].tolist()
(15, [2.0, 0.0])
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import METADATA_COLUMNS, EpochsDataset
from ..exceptions import DataFormatError, OutputExistsError
from ._zarr_raw import raw_chunk_layout

__all__ = [
    "STORE_FORMAT_VERSION",
    "ChunkedStore",
    "ChunkedStoreWriter",
    "open_store",
    "write_store",
]

#: version of the on-disk layout; a store of another version is refused
STORE_FORMAT_VERSION = 1
MARKER = "neurodl_store.json"
_METADATA = "metadata.csv"


def _neurodl_version() -> str:
    from .. import __version__

    return __version__


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values), for naming differences."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


def _differences(stored: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    a, b = _flatten(json.loads(json.dumps(stored))), _flatten(json.loads(json.dumps(expected)))
    missing = object()
    return [
        f"{k!r}: store {a.get(k, '(absent)')!r}, expected {b.get(k, '(absent)')!r}"
        for k in sorted(set(a) | set(b))
        if a.get(k, missing) != b.get(k, missing)
    ]


class ChunkedStoreWriter:
    """Write a store one recording at a time; the completion marker is written on :meth:`close`.

    Parameters
    ----------
    path : str or path
        Folder of the store (``*.zarr`` by convention).
    provenance : dict
        JSON-serialisable description of how the windows were made (preprocessing steps and
        parameters, source files, window length...); readers can require an exact match.
    chunk_samples : int, default=1
        Samples per zarr chunk (1: random access reads exactly the samples asked for).
    shard_samples : int or None, default=None
        Samples per shard file (a multiple of ``chunk_samples``); None stores one file per chunk.
    overwrite : bool, default=False
        Replace an existing store (complete or not) at ``path``.

    Used as a context manager, the marker is written only when the block ends without an error.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from neurodl.data import EpochsDataset
    >>> path = tempfile.mkdtemp() + "/windows.zarr"
    >>> recs = [EpochsDataset(np.zeros((4, 2, 10), dtype=np.float32) + r, y=np.arange(4) % 2)
    ...         for r in range(2)]
    >>> with ChunkedStoreWriter(path, provenance={"window": 0.1}) as writer:
    ...     for rec in recs:  # e.g. one preprocessed file at a time
    ...         writer.append(rec)
    >>> open_store(path).n_samples
    8
    """

    def __init__(
        self,
        path: str | Path,
        *,
        provenance: Mapping[str, Any],
        chunk_samples: int = 1,
        shard_samples: int | None = None,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if not isinstance(provenance, Mapping):
            raise TypeError(
                f"Invalid value for 'provenance'. Allowed: a mapping; got {type(provenance).__name__}."
            )
        self.provenance = json.loads(json.dumps(dict(provenance)))  # JSON-safe, a copy
        if not isinstance(chunk_samples, int) or chunk_samples < 1:
            raise ValueError(
                f"Invalid value for 'chunk_samples'. Allowed: an int >= 1; got {chunk_samples!r}."
            )
        if shard_samples is not None and (
            not isinstance(shard_samples, int) or shard_samples % chunk_samples
        ):
            raise ValueError(
                f"Invalid value for 'shard_samples'. Allowed: None or a multiple of "
                f"chunk_samples={chunk_samples}; got {shard_samples!r}."
            )
        self.chunk_samples, self.shard_samples = chunk_samples, shard_samples
        if self.path.exists():
            if not overwrite:
                raise OutputExistsError(
                    f"A store exists at {self.path}; pass overwrite=True to rebuild it."
                )
            shutil.rmtree(self.path)
        self._hash = hashlib.sha256()
        self._n = 0
        self._n_recordings = 0
        self._sizes: list[int] = []
        self._first: EpochsDataset | None = None
        self._X: Any = None
        self._y: Any = None
        self._closed = False

    def _create(self, rec: EpochsDataset) -> None:
        import zarr

        root = zarr.open_group(self.path, mode="w")
        shape = rec.X.shape[1:]
        kw: dict[str, Any] = {"chunks": (self.chunk_samples, *shape)}
        if self.shard_samples is not None:
            kw["shards"] = (self.shard_samples, *shape)
        self._X = root.create_array(
            "X", shape=(0, *shape), dtype="float32", compressors=None, fill_value=0.0, **kw
        )
        if rec.y is not None:
            y = np.asarray(rec.y)
            self._y = root.create_array(
                "y",
                shape=(0, *y.shape[1:]),
                chunks=(65536, *y.shape[1:]),
                dtype=y.dtype,
                fill_value=0,
            )
        self._first = rec

    def _check_like_first(self, rec: EpochsDataset) -> None:
        first = self._first
        assert first is not None
        for name, got, want in (
            ("sample shape", rec.X.shape[1:], first.X.shape[1:]),
            ("sfreq", rec.sfreq, first.sfreq),
            ("ch_names", rec.ch_names, first.ch_names),
            ("classes", rec.classes, first.classes),
            ("labels present", rec.y is not None, first.y is not None),
        ):
            if got != want:
                raise DataFormatError(
                    f"Recording {self._n_recordings} does not match the store: {name} is "
                    f"{got!r}, the store has {want!r}."
                )

    def append(self, recording: EpochsDataset) -> None:
        """Add the windows of one recording (written to disk before this returns)."""
        if self._closed:
            raise ValueError(f"The store writer for {self.path} is closed.")
        if not isinstance(recording, EpochsDataset):
            raise TypeError(
                f"Invalid value for 'recording'. Allowed: an EpochsDataset; "
                f"got {type(recording).__name__}."
            )
        if self._first is None:
            self._create(recording)
        else:
            self._check_like_first(recording)
        X = np.ascontiguousarray(recording.X, dtype=np.float32)
        self._X.append(X, axis=0)
        self._hash.update(X.tobytes())
        if self._y is not None:
            y = np.ascontiguousarray(recording.y)
            self._y.append(y, axis=0)
            self._hash.update(y.tobytes())
        assert recording.metadata is not None
        md = recording.metadata
        csv = md.to_csv(index=False, header=self._n == 0)
        with (self.path / _METADATA).open("a") as f:
            f.write(csv)
        self._hash.update(md[list(METADATA_COLUMNS)].to_csv(index=False, header=False).encode())
        self._n += len(X)
        self._n_recordings += 1
        self._sizes.append(len(X))

    def close(self) -> Path:
        """Write the completion marker (the store is readable from now on) and return the path."""
        if self._closed:
            return self.path
        if self._first is None:
            raise DataFormatError(f"No recording was appended to the store at {self.path}.")
        first = self._first
        marker = {
            "format": "neurodl-chunked-store",
            "format_version": STORE_FORMAT_VERSION,
            "neurodl_version": _neurodl_version(),
            "provenance": self.provenance,
            "n_samples": self._n,
            "n_recordings": self._n_recordings,
            "recording_sizes": self._sizes,
            "sample_shape": list(first.X.shape[1:]),
            "sfreq": first.sfreq,
            "ch_names": first.ch_names,
            "classes": first.classes,
            "data_hash": self._hash.hexdigest(),
        }
        tmp = self.path / f".{MARKER}.tmp"
        tmp.write_text(json.dumps(marker, indent=1, default=str))
        tmp.replace(self.path / MARKER)
        self._closed = True
        return self.path

    def __enter__(self) -> ChunkedStoreWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True  # no marker: the store stays incomplete and is refused


def write_store(
    path: str | Path,
    recordings: Iterable[EpochsDataset],
    *,
    provenance: Mapping[str, Any],
    chunk_samples: int = 1,
    shard_samples: int | None = None,
    overwrite: bool = False,
) -> ChunkedStore:
    """Stream ``recordings`` (e.g. a generator preprocessing one file at a time) into a store.

    Returns the opened :class:`ChunkedStore`. See :class:`ChunkedStoreWriter` for the
    parameters.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from neurodl.data import EpochsDataset
    >>> path = tempfile.mkdtemp() + "/windows.zarr"
    >>> recs = [EpochsDataset(np.zeros((4, 2, 10), dtype=np.float32) + r, y=np.arange(4) % 2)
    ...         for r in range(2)]
    >>> store = write_store(path, (r for r in recs), provenance={"window": 0.1})
    >>> store.n_samples, store.metadata.shape[0]
    (8, 8)
    """
    with ChunkedStoreWriter(
        path,
        provenance=provenance,
        chunk_samples=chunk_samples,
        shard_samples=shard_samples,
        overwrite=overwrite,
    ) as writer:
        for rec in recordings:
            writer.append(rec)
    return open_store(path, expect_provenance=provenance)


def open_store(
    path: str | Path,
    *,
    expect_provenance: Mapping[str, Any] | None = None,
    allow_other_version: bool = False,
) -> ChunkedStore:
    """Open a complete store, refusing one that is half-written or not what the caller expects.

    Parameters
    ----------
    path : str or path
        The store folder.
    expect_provenance : dict or None
        When given, the store's provenance must equal it; the differences are named.
    allow_other_version : bool, default=False
        Accept a store written by another neurodl version (same store format).

    Raises
    ------
    DataFormatError
        No completion marker (half-written store), another store format or neurodl version,
        or a different provenance.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from neurodl.data import EpochsDataset
    >>> path = tempfile.mkdtemp() + "/windows.zarr"
    >>> recs = [EpochsDataset(np.zeros((4, 2, 10), dtype=np.float32) + r, y=np.arange(4) % 2)
    ...         for r in range(2)]
    >>> _ = write_store(path, recs, provenance={"window": 0.1})
    >>> store = open_store(path, expect_provenance={"window": 0.1})
    >>> store.X[[0, 7]][:, 0, 0].tolist()  # lazy: only these two windows are read
    [0.0, 1.0]
    """
    path = Path(path)
    marker_path = path / MARKER
    if not path.is_dir():
        raise DataFormatError(f"No chunked store at {path}.")
    if not marker_path.exists():
        raise DataFormatError(
            f"The store at {path} is incomplete: its completion marker {MARKER} is missing (the "
            "writer was stopped before it finished, or is still writing). Rebuild it with "
            "overwrite=True."
        )
    marker = json.loads(marker_path.read_text())
    if marker.get("format_version") != STORE_FORMAT_VERSION:
        raise DataFormatError(
            f"The store at {path} has store format {marker.get('format_version')!r} (neurodl "
            f"{marker.get('neurodl_version')}); this neurodl reads format {STORE_FORMAT_VERSION}. "
            "Rebuild it."
        )
    if marker.get("neurodl_version") != _neurodl_version() and not allow_other_version:
        raise DataFormatError(
            f"The store at {path} was written by neurodl {marker.get('neurodl_version')}, this is "
            f"neurodl {_neurodl_version()}; rebuild it or pass allow_other_version=True."
        )
    if expect_provenance is not None:
        diff = _differences(marker["provenance"], expect_provenance)
        if diff:
            raise DataFormatError(
                f"The store at {path} was made with a different preprocessing: {'; '.join(diff)}."
            )
    return ChunkedStore(path, marker)


class LazyWindows:
    """``X`` of a store: indexed like an array, read from disk on demand.

    ``X[i]``, ``X[a:b]`` and ``X[indices]`` return float32 ndarrays; indices may repeat and come
    in any order (they are read sorted, then put back in the order asked).
    """

    def __init__(self, path: Path, shape: tuple[int, ...]) -> None:
        self.path = path
        self.shape = shape
        self.dtype = np.dtype("float32")
        self.ndim = len(shape)
        self._array: Any = None
        self._raw: Any = None

    def _zarr(self) -> Any:
        if self._array is None:  # opened lazily: also in each DataLoader worker process
            import zarr

            self._array = zarr.open_array(self.path / "X", mode="r")
            self._raw = raw_chunk_layout(self._array)
        return self._array

    def _read_raw(self, uniq: np.ndarray) -> np.ndarray:
        """Windows ``uniq`` read straight from their chunk files (one window, raw bytes each)."""
        key, shape, fill = self._raw
        out = np.empty((len(uniq), *shape), dtype=np.float32)
        for k, i in enumerate(uniq):
            try:
                out[k] = np.fromfile(self.path / "X" / key(int(i)), dtype="<f4").reshape(shape)
            except FileNotFoundError:  # a chunk zarr never wrote holds the fill value
                out[k] = fill
        return out

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "shape": self.shape, "dtype": self.dtype, "ndim": self.ndim}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _array=None, _raw=None)

    def __getitem__(self, index: Any) -> np.ndarray:
        arr = self._zarr()
        if isinstance(index, int | np.integer | slice):
            return np.asarray(arr[index])
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = np.where(idx < 0, idx + self.shape[0], idx).astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[0]):
            raise IndexError(f"index out of range for {self.shape[0]} samples")
        uniq, inverse = np.unique(idx, return_inverse=True)
        if self._raw is not None:
            block = self._read_raw(uniq)
        elif len(uniq) and uniq[-1] - uniq[0] + 1 == len(uniq):  # contiguous: one slice
            block = np.asarray(arr[int(uniq[0]) : int(uniq[-1]) + 1])
        else:
            block = np.asarray(arr.get_orthogonal_selection((uniq,)))
        return block[inverse.reshape(idx.shape)]


class TorchView:
    """What the training engine indexes: ``view[idx]`` is a float32 ``torch.Tensor`` batch."""

    #: tells :func:`neurodl.estimators.torch_engine.loop.train` to index, not copy, this input
    lazy_batches = True

    def __init__(self, windows: LazyWindows) -> None:
        self.windows = windows
        self.shape = windows.shape

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: Any) -> Any:
        import torch

        if hasattr(index, "numpy"):
            index = index.numpy()
        return torch.from_numpy(self.windows[index])


class StoreTorchDataset:
    """A map-style ``torch`` Dataset of ``(x, y)`` pairs read lazily (DataLoader workers ok)."""

    def __init__(self, windows: LazyWindows, y: np.ndarray | None) -> None:
        self.windows, self.y = windows, y

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        return self.__getitems__([i])[0]

    def __getitems__(self, indices: list[int]) -> list[tuple[Any, Any]]:
        """A whole batch in one read (``DataLoader`` calls this when it exists)."""
        import torch

        xs = torch.from_numpy(self.windows[np.asarray(indices, dtype=np.int64)])
        if self.y is None:
            ys = torch.full((len(indices),), -1)
        elif np.issubdtype(self.y.dtype, np.integer):
            ys = torch.as_tensor(self.y[indices], dtype=torch.long)
        else:
            ys = torch.as_tensor(np.asarray(self.y[indices], dtype=np.float32))
        return list(zip(xs, ys, strict=True))


class ChunkedStore:
    """A complete store opened by :func:`open_store` (``X`` on disk, the rest in memory).

    Attributes
    ----------
    X : LazyWindows
        Lazy float32 windows of shape (n_samples, n_channels, n_times).
    y : ndarray of shape (n_samples,) or (n_samples, n_targets), or None
    metadata : DataFrame
        One row per sample (``subject``, ``session``, ``recording``, ...).
    provenance : dict
        How the windows were made, as given to the writer.
    data_hash : str
        SHA-256 recorded by the writer (see the module docstring).

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from neurodl.data import EpochsDataset
    >>> path = tempfile.mkdtemp() + "/windows.zarr"
    >>> recs = [EpochsDataset(np.zeros((4, 2, 10), dtype=np.float32) + r, y=np.arange(4) % 2)
    ...         for r in range(2)]
    >>> store = write_store(path, recs, provenance={"window": 0.1})
    >>> store.X.shape, store.y.tolist(), store.provenance, len(store.data_hash)
    ((8, 2, 10), [0, 1, 0, 1, 0, 1, 0, 1], {'window': 0.1}, 64)
    """

    def __init__(self, path: Path, marker: dict[str, Any]) -> None:
        import zarr

        self.path = path
        self.marker = marker
        self.provenance: dict[str, Any] = marker["provenance"]
        self.data_hash: str = marker["data_hash"]
        self.sfreq = marker["sfreq"]
        self.ch_names = marker["ch_names"]
        self.classes = marker["classes"]
        n = int(marker["n_samples"])
        self.X = LazyWindows(path, (n, *marker["sample_shape"]))
        root = zarr.open_group(path, mode="r")
        self.y = np.asarray(root["y"][:]) if "y" in root else None
        self.metadata = pd.read_csv(path / _METADATA, dtype={c: str for c in METADATA_COLUMNS[:5]})
        if len(self.metadata) != n or self.X._zarr().shape[0] != n:
            raise DataFormatError(
                f"The store at {path} is inconsistent: the marker says {n} samples, X has "
                f"{self.X._zarr().shape[0]} and the metadata {len(self.metadata)} rows."
            )

    @property
    def n_samples(self) -> int:
        """Number of windows."""
        return self.X.shape[0]

    def nbytes(self) -> int:
        """Bytes of ``X`` (what an in-memory copy would take)."""
        return int(np.prod(self.X.shape)) * 4

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        epoch: int = 0,
        indices: np.ndarray | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """Yield ``(indices, X_batch, y_batch)`` in a deterministic order.

        The order is ``indices`` (default all samples) as given, or permuted by
        ``numpy.random.default_rng([seed, epoch])`` when ``shuffle``: the same for every call
        with the same arguments, on every machine. Only one batch is in memory at a time.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"Invalid value for 'batch_size'. Allowed: an int >= 1; got {batch_size!r}."
            )
        order = np.arange(self.n_samples) if indices is None else np.asarray(indices)
        if shuffle:
            order = order[np.random.default_rng([seed, epoch]).permutation(len(order))]
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            yield idx, self.X[idx], None if self.y is None else self.y[idx]

    def torch_dataset(self) -> StoreTorchDataset:
        """A map-style ``torch.utils.data.Dataset`` of ``(x, y)`` read on demand."""
        return StoreTorchDataset(self.X, self.y)

    def torch_view(self) -> TorchView:
        """``X`` as the training engine's ``X_train`` (batches read when indexed)."""
        return TorchView(self.X)

    def verify(self, batch_size: int = 256) -> None:
        """Recompute the data hash from disk, recording by recording; raise on a mismatch."""
        h = hashlib.sha256()
        bounds = np.cumsum([0, *self.marker["recording_sizes"]])
        for a, b in itertools.pairwise(bounds):
            for s in range(a, b, batch_size):
                h.update(np.ascontiguousarray(self.X[s : min(b, s + batch_size)]).tobytes())
            if self.y is not None:
                h.update(np.ascontiguousarray(self.y[a:b]).tobytes())
            md = self.metadata.iloc[a:b][list(METADATA_COLUMNS)]
            h.update(md.to_csv(index=False, header=False).encode())
        if h.hexdigest() != self.data_hash:
            raise DataFormatError(
                f"The store at {self.path} does not match its data hash (recorded "
                f"{self.data_hash[:12]}..., on disk {h.hexdigest()[:12]}...): it was modified."
            )

    def __repr__(self) -> str:
        return f"<ChunkedStore {self.path.name}: X {self.X.shape}, {self.marker['n_recordings']} recordings>"
