"""Exception hierarchy: every neurodl error is also the matching built-in.

Catch ``NeurodlError`` to handle anything neurodl raises on purpose, or the built-in
(``ValueError``, ``FileNotFoundError``, ...) for generic code.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataFormatError",
    "DatasetError",
    "LeakageError",
    "MissingDependencyError",
    "NeurodlError",
    "NotFittedError",
    "OutputExistsError",
    "OutputWriteError",
]


class NeurodlError(Exception):
    """Base class of all errors raised deliberately by neurodl."""


class DataFormatError(NeurodlError, ValueError):
    """A file is corrupt, truncated, unsupported, or its metadata are impossible."""


class ConfigError(NeurodlError, ValueError):
    """A configuration value or key is invalid."""


class LeakageError(NeurodlError, ValueError):
    """A train/test split would leak information (shared group or overlapping windows)."""


class DatasetError(NeurodlError, FileNotFoundError):
    """A named dataset is unknown, missing under the data root, or fails its checksums."""


class NotFittedError(NeurodlError, ValueError, AttributeError):
    """An estimator or transformer was used before ``fit``."""


class OutputExistsError(NeurodlError, FileExistsError):
    """An output folder exists and ``overwrite`` was not given."""


class OutputWriteError(NeurodlError, OSError):
    """An output folder cannot be written: held by another run, read-only or full file system."""


class MissingDependencyError(NeurodlError, ImportError):
    """An optional dependency needed for this feature is not installed."""
