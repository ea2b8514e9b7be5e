"""A cache of finished unit results, so a run killed part way resumes where it stopped.

Each unit's result is one pickle file named by a hash of (code version, the unit function,
the shared inputs, the unit). The code version is neurodl's version plus a hash of the source
file defining the unit function, so editing that code invalidates the cache; the shared inputs
are hashed by content (:func:`joblib.hash`, arrays by their bytes). Files are written to a
temporary name and renamed, so a process killed mid-write leaves no half entry under the final
name; an unreadable entry is treated as missing and recomputed.

Examples
--------
>>> import tempfile
>>> def square(shared, unit):
...     return unit * unit
>>> cache = UnitCache(tempfile.mkdtemp(), square, shared=(1, 2))
>>> key = cache.key(3)
>>> cache.load(key) is cache.MISSING
True
>>> cache.save(key, 9)
>>> cache.load(key)
9
"""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._logging import logger

__all__ = ["UnitCache", "code_version"]


def code_version(fn: Callable[..., Any]) -> str:
    """neurodl's version plus a hash of the source file defining ``fn`` (or its qualified name).

    Examples
    --------
    >>> from neurodl.execution import run_units
    >>> v = code_version(run_units)
    >>> len(v), v == code_version(run_units)  # 16 hex digits, stable while the file is unchanged
    (16, True)
    >>> code_version(len) != v  # a built-in: its name and neurodl's version only
    True
    """
    from .. import __version__

    h = hashlib.sha256(f"{__version__}|{fn.__module__}.{fn.__qualname__}".encode())
    try:
        source = inspect.getsourcefile(fn)
        if source is not None:
            h.update(Path(source).read_bytes())
    except (TypeError, OSError):  # built-in or source not on disk: the name and version only
        pass
    return h.hexdigest()[:16]


class UnitCache:
    """Finished results of ``fn(shared, unit)`` under ``directory``.

    Parameters
    ----------
    directory : str or path
        Folder of the entries (created when missing); several runs may share it.
    fn : callable
        The unit function (its code version is part of every key).
    shared : object
        The inputs every unit shares (data, estimator, splits, seed): hashed once by content.

    Examples
    --------
    A run killed part way resumes: :func:`~neurodl.execution.run_units` with a ``cache_dir``
    stores each finished unit and only computes the missing ones.

    >>> import tempfile
    >>> import numpy as np
    >>> from neurodl.execution import run_units
    >>> calls = []
    >>> def mean_of_row(shared, unit):
    ...     calls.append(unit)
    ...     return float(shared[unit].mean())
    >>> data = np.arange(12.0).reshape(3, 4)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     first = run_units(mean_of_row, [0, 1], shared=data, execution={"cache_dir": tmp})
    ...     again = run_units(mean_of_row, [0, 1, 2], shared=data, execution={"cache_dir": tmp})
    ...     cache = UnitCache(tmp, mean_of_row, shared=data)
    ...     n_entries = len(list(cache.directory.glob("*.pkl")))
    >>> again, calls, n_entries  # units 0 and 1 came from the cache
    ([1.5, 5.5, 9.5], [0, 1, 2], 3)
    >>> cache.key(0) != UnitCache(tmp, mean_of_row, shared=data + 1).key(0)  # new data, new key
    True
    """

    MISSING = object()

    def __init__(self, directory: str | os.PathLike[str], fn: Callable[..., Any], shared: Any):
        import joblib

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._base = f"{code_version(fn)}|{joblib.hash(shared)}"

    def key(self, unit: Any) -> str:
        """The entry name of ``unit`` (hex digest)."""
        import joblib

        return hashlib.sha256(f"{self._base}|{joblib.hash(unit)}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.pkl"

    def load(self, key: str) -> Any:
        """The stored result, or :attr:`MISSING`."""
        path = self._path(key)
        if not path.exists():
            return self.MISSING
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError) as err:
            logger.warning("unit cache entry %s unreadable (%s); recomputing it", path.name, err)
            return self.MISSING

    def save(self, key: str, result: Any) -> None:
        """Store ``result`` atomically (temporary file, then rename)."""
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
