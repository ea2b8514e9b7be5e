"""The single ``neurodl`` logger and the ``verbose=`` convention.

Library code logs to ``logger``; only the CLI attaches handlers and progress bars.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

logger = logging.getLogger("neurodl")
logger.addHandler(logging.NullHandler())

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _to_level(verbose: bool | str | int | None) -> int:
    if verbose is None:
        return logger.level or logging.WARNING
    if isinstance(verbose, bool):
        return logging.INFO if verbose else logging.WARNING
    if isinstance(verbose, int):
        return verbose
    key = str(verbose).lower()
    if key not in _LEVELS:
        raise ValueError(
            f"Invalid value for 'verbose'. Allowed: {sorted(_LEVELS)}, True, False or an int; got {verbose!r}."
        )
    return _LEVELS[key]


def set_log_level(verbose: bool | str | int | None) -> None:
    """Set the level of the ``neurodl`` logger (``True`` -> INFO, ``False`` -> WARNING).

    Examples
    --------
    >>> import logging
    >>> from neurodl import logger, set_log_level
    >>> old = logger.level
    >>> set_log_level(True)
    >>> logging.getLevelName(logger.level)
    'INFO'
    >>> set_log_level("debug")
    >>> logging.getLevelName(logger.level)
    'DEBUG'
    >>> try:
    ...     set_log_level("loud")
    ... except ValueError as err:
    ...     print(str(err).split(". ")[0])
    Invalid value for 'verbose'
    >>> set_log_level(old)
    """
    logger.setLevel(_to_level(verbose))


@contextlib.contextmanager
def use_log_level(verbose: bool | str | int | None) -> Iterator[None]:
    """Temporarily change the ``neurodl`` log level; restored even on error.

    Examples
    --------
    >>> import logging
    >>> from neurodl import logger, use_log_level
    >>> before = logger.level
    >>> with use_log_level("error"):
    ...     logging.getLevelName(logger.level)
    'ERROR'
    >>> logger.level == before
    True
    """
    old = logger.level
    logger.setLevel(_to_level(verbose))
    try:
        yield
    finally:
        logger.setLevel(old)
