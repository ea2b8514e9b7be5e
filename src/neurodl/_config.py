"""Process-wide settings with thread-local overrides.

Settings: ``data_root`` (default: ``$NEURODL_DATA``), ``progress`` (True or ``"bar"``: progress
bars; ``"log"``: log lines per fold and every few epochs; False: silent),
``n_jobs`` (default ``$NEURODL_N_JOBS`` or 1), ``pseudonymise_subjects`` (replace subject codes
by pseudonyms in everything a run writes; default ``$NEURODL_PSEUDONYMISE_SUBJECTS``: 1/true/yes)
and ``pseudonym_key`` (secret for stable keyed pseudonyms; default ``$NEURODL_PSEUDONYM_KEY``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .exceptions import ConfigError

_KEYS = ("data_root", "progress", "n_jobs", "pseudonymise_subjects", "pseudonym_key")
_global: dict[str, Any] = {}
_local = threading.local()


def _defaults() -> dict[str, Any]:
    root = os.environ.get("NEURODL_DATA")
    n_jobs = os.environ.get("NEURODL_N_JOBS", "1")
    try:
        n_jobs_i = int(n_jobs)
    except ValueError:
        raise ConfigError(f"NEURODL_N_JOBS must be an integer; got {n_jobs!r}.") from None
    pseudo = os.environ.get("NEURODL_PSEUDONYMISE_SUBJECTS", "").strip().lower()
    return {
        "data_root": Path(root) if root else None,
        "progress": True,
        "n_jobs": n_jobs_i,
        "pseudonymise_subjects": pseudo in ("1", "true", "yes"),
        "pseudonym_key": os.environ.get("NEURODL_PSEUDONYM_KEY") or None,
    }


def _check_keys(kwargs: dict[str, Any]) -> None:
    for key in kwargs:
        if key not in _KEYS:
            raise ConfigError(f"Unknown neurodl setting {key!r}. Allowed: {', '.join(_KEYS)}.")


def get_config(key: str | None = None) -> Any:
    """Return one setting, or a dict of all of them.

    Examples
    --------
    >>> from neurodl import config_context, get_config
    >>> sorted(get_config())
    ['data_root', 'n_jobs', 'progress', 'pseudonym_key', 'pseudonymise_subjects']
    >>> with config_context(n_jobs=3):
    ...     get_config("n_jobs")
    3
    >>> try:
    ...     get_config("colour")
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(". ")[1])
    Allowed: data_root, progress, n_jobs, pseudonymise_subjects, pseudonym_key.
    """
    cfg = _defaults()
    cfg.update(_global)
    cfg.update(getattr(_local, "overrides", {}))
    if key is None:
        return cfg
    _check_keys({key: None})
    return cfg[key]


def set_config(**kwargs: Any) -> None:
    """Set settings for the whole process (``data_root=``, ``progress=``, ``n_jobs=``).

    Examples
    --------
    >>> from neurodl import get_config, set_config
    >>> old = get_config("progress")
    >>> set_config(progress="log")  # log lines instead of progress bars, in every thread
    >>> get_config("progress")
    'log'
    >>> set_config(progress=old)
    >>> try:
    ...     set_config(njobs=4)
    ... except ValueError as err:  # a ConfigError
    ...     print(type(err).__name__, str(err).split(". ")[0])
    ConfigError Unknown neurodl setting 'njobs'
    """
    _check_keys(kwargs)
    if "data_root" in kwargs and kwargs["data_root"] is not None:
        kwargs["data_root"] = Path(kwargs["data_root"])
    _global.update(kwargs)


@contextlib.contextmanager
def config_context(**kwargs: Any) -> Iterator[None]:
    """Override settings in this thread for the duration of a ``with`` block.

    Examples
    --------
    >>> from pathlib import Path
    >>> from neurodl import config_context, get_config
    >>> before = get_config("n_jobs")
    >>> with config_context(n_jobs=4, data_root="/data/eeg"):
    ...     get_config("n_jobs"), get_config("data_root") == Path("/data/eeg")
    (4, True)
    >>> get_config("n_jobs") == before  # restored on leaving the block
    True
    """
    _check_keys(kwargs)
    if "data_root" in kwargs and kwargs["data_root"] is not None:
        kwargs["data_root"] = Path(kwargs["data_root"])
    old = dict(getattr(_local, "overrides", {}))
    _local.overrides = {**old, **kwargs}
    try:
        yield
    finally:
        _local.overrides = old


def get_data_root(required: bool = True) -> Path | None:
    """Return the data root (``NEURODL_DATA`` or ``set_config(data_root=...)``).

    Examples
    --------
    >>> from pathlib import Path
    >>> from neurodl import config_context, get_data_root
    >>> with config_context(data_root="/data/eeg"):
    ...     get_data_root() == Path("/data/eeg")
    True
    >>> with config_context(data_root=None):
    ...     print(get_data_root(required=False))
    ...     try:
    ...         get_data_root()
    ...     except FileNotFoundError as err:  # a DatasetError
    ...         print(type(err).__name__, str(err).split(". ")[0])
    None
    DatasetError No data root set
    """
    root = get_config("data_root")
    if root is None and required:
        from .exceptions import DatasetError

        raise DatasetError(
            "No data root set. Set the environment variable NEURODL_DATA to the folder that holds "
            "the datasets (e.g. NEURODL_DATA=../shared/data) or call "
            "neurodl.set_config(data_root=...)."
        )
    return root
