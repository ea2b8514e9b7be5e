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
    """Base class of all errors raised deliberately by neurodl.

    Examples
    --------
    Catch it to handle anything neurodl refuses on purpose, whatever the built-in it also is:

    >>> from neurodl import NeurodlError, get_config
    >>> try:
    ...     get_config("colour")
    ... except NeurodlError as err:
    ...     print(type(err).__name__, "|", str(err).split(". ")[0])
    ConfigError | Unknown neurodl setting 'colour'
    >>> NeurodlError.__mro__[1:]
    (<class 'Exception'>, <class 'BaseException'>, <class 'object'>)
    """


class DataFormatError(NeurodlError, ValueError):
    """A file is corrupt, truncated, unsupported, or its metadata are impossible.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.evaluation.sample_quality import sliced_wasserstein
    >>> try:  # windows must be 3-D (n_windows, n_chans, n_times)
    ...     sliced_wasserstein(np.zeros((4, 2)), np.zeros((4, 2)))
    ... except DataFormatError as err:
    ...     print(str(err).split(";")[1].strip())
    got shapes (4, 2) and (4, 2).
    >>> issubclass(DataFormatError, NeurodlError), issubclass(DataFormatError, ValueError)
    (True, True)
    """


class ConfigError(NeurodlError, ValueError):
    """A configuration value or key is invalid.

    Examples
    --------
    >>> from neurodl import set_config
    >>> try:
    ...     set_config(njobs=4)
    ... except ConfigError as err:
    ...     print(str(err).split(". ")[0])
    Unknown neurodl setting 'njobs'
    >>> issubclass(ConfigError, NeurodlError), issubclass(ConfigError, ValueError)
    (True, True)
    """


class LeakageError(NeurodlError, ValueError):
    """A train/test split would leak information (shared group or overlapping windows).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurodl.data import EpochsDataset
    >>> from neurodl.evaluation import check_no_leakage
    >>> md = pd.DataFrame({"subject": ["1", "1", "2", "2"]})
    >>> ds = EpochsDataset(np.zeros((4, 2)), metadata=md)
    >>> try:  # subject 1 on both sides
    ...     check_no_leakage(ds, [0, 2], [1, 3], group_by="subject")
    ... except LeakageError as err:
    ...     print(str(err).split(": ")[0])
    2 value(s) of metadata column 'subject' appear in both train and test
    >>> issubclass(LeakageError, NeurodlError), issubclass(LeakageError, ValueError)
    (True, True)
    """


class DatasetError(NeurodlError, FileNotFoundError):
    """A named dataset is unknown, missing under the data root, or fails its checksums.

    Examples
    --------
    >>> from neurodl import config_context, get_data_root
    >>> with config_context(data_root=None):
    ...     try:
    ...         get_data_root()
    ...     except DatasetError as err:
    ...         print(str(err).split(". ")[0])
    No data root set
    >>> issubclass(DatasetError, NeurodlError), issubclass(DatasetError, FileNotFoundError)
    (True, True)
    """


class NotFittedError(NeurodlError, ValueError, AttributeError):
    """An estimator or transformer was used before ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.analyses.encoding.ridge import RidgeCVPerTarget
    >>> try:
    ...     RidgeCVPerTarget().predict(np.zeros((3, 2)))
    ... except NotFittedError as err:
    ...     print(err)
    This RidgeCVPerTarget is not fitted yet; call fit first.
    >>> [c.__name__ for c in NotFittedError.__bases__]
    ['NeurodlError', 'ValueError', 'AttributeError']
    """


class OutputExistsError(NeurodlError, FileExistsError):
    """An output folder exists and ``overwrite`` was not given.

    Examples
    --------
    >>> import tempfile
    >>> from neurodl.workflows.outdir import claim_output
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with claim_output(f"{tmp}/run") as claim:
    ...         _ = claim.publish()
    ...     try:  # a second run to the same --out
    ...         claim_output(f"{tmp}/run")
    ...     except OutputExistsError as err:
    ...         print(str(err).replace(tmp, "TMP").split(";")[0])
    Output folder 'TMP/run' already exists
    >>> issubclass(OutputExistsError, NeurodlError), issubclass(OutputExistsError, FileExistsError)
    (True, True)
    """


class OutputWriteError(NeurodlError, OSError):
    """An output folder cannot be written: held by another run, read-only or full file system.

    Examples
    --------
    >>> import tempfile
    >>> from neurodl.workflows.outdir import claim_output
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with claim_output(f"{tmp}/run"):  # this run holds the folder
    ...         try:
    ...             claim_output(f"{tmp}/run")
    ...         except OutputWriteError as err:
    ...             print(str(err).replace(tmp, "TMP").split(" (pid")[0])
    Output folder 'TMP/run' is being written by another neurodl run
    >>> issubclass(OutputWriteError, NeurodlError), issubclass(OutputWriteError, OSError)
    (True, True)
    """


class MissingDependencyError(NeurodlError, ImportError):
    """An optional dependency needed for this feature is not installed.

    Examples
    --------
    Hide pynwb (as if it were not installed) and read an NWB file:

    >>> import sys
    >>> from unittest import mock
    >>> from neurodl.io import read_nwb
    >>> with mock.patch.dict(sys.modules, {"pynwb": None}):
    ...     try:
    ...         read_nwb("session.nwb")
    ...     except MissingDependencyError as err:
    ...         print(err)
    Reading NWB files needs pynwb: pip install neurodl[nwb]
    >>> issubclass(MissingDependencyError, NeurodlError)
    True
    >>> issubclass(MissingDependencyError, ImportError)
    True
    """
