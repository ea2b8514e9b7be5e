"""Epoched EEG/MEG files read with MNE: ``-epo.fif`` and epoched EEGLAB ``.set`` (trials > 1).

:func:`read_epochs` returns an :class:`~neurodl.data.EpochsDataset` made by
:meth:`~neurodl.data.EpochsDataset.from_mne`: labels are the event names, each epoch its own
segment, and channel types, ``tmin``, ``event_id`` and the montage are kept so that
``EpochsDataset.to_mne()`` gives the epochs back. :func:`is_epoched` tells
:func:`neurodl.io.read` which reader a ``.fif`` or ``.set`` file needs. MNE objects never leave
this module; anything MNE cannot read becomes one :class:`~neurodl.exceptions.DataFormatError`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from .._logging import logger, use_log_level
from ..data import EpochsDataset
from ..exceptions import DataFormatError
from .eeg import _check_file, _format_name, _mne_guard, _precheck, _suffix

__all__ = ["EPOCHS_FIF_SUFFIXES", "is_epoched", "read_epochs"]

#: File-name endings MNE uses for epochs saved as FIF.
EPOCHS_FIF_SUFFIXES = ("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")


def _fif_has_epochs(path: Path) -> bool | None:
    """Whether the FIF tree of ``path`` holds an epochs block (None: cannot tell)."""
    try:
        from mne._fiff.constants import FIFF
        from mne._fiff.open import fiff_open
        from mne._fiff.tree import dir_tree_find

        fid, tree, _ = fiff_open(path, verbose="error")
        with fid:
            return bool(dir_tree_find(tree, FIFF.FIFFB_MNE_EPOCHS))
    except Exception:  # private MNE API or a damaged file: let the reader report it
        logger.debug("Could not inspect the FIF tree of %s", path, exc_info=True)
        return None


def _eeglab_trials(path: Path) -> int | None:
    """``EEG.trials`` of an EEGLAB ``.set`` header (None: cannot tell)."""
    try:
        from mne.io.eeglab.eeglab import _check_load_mat

        return int(_check_load_mat(path, None, preload=False).trials)
    except Exception:  # private MNE API or a damaged file: let the reader report it
        logger.debug("Could not read the EEGLAB header of %s", path, exc_info=True)
        return None


def is_epoched(path: str | Path) -> bool:
    """True when ``path`` holds epoched data: an epochs FIF or an EEGLAB ``.set`` with trials > 1.

    FIF files are recognised by name (``-epo.fif``...) or by an epochs block in their tree;
    EEGLAB files by ``EEG.trials`` in the header (the samples are not read). A file that cannot
    be inspected counts as continuous, so the recording reader reports its problem.

    Examples
    --------
    >>> import tempfile, mne, numpy as np
    >>> info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 500)), info, verbose="error")
    >>> epochs = mne.EpochsArray(np.zeros((3, 2, 50)), info, verbose="error")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = Path(tmp)
    ...     _ = raw.save(folder / "x_raw.fif", verbose="error")
    ...     _ = epochs.save(folder / "x-epo.fif", verbose="error")
    ...     is_epoched(folder / "x-epo.fif"), is_epoched(folder / "x_raw.fif")
    (True, False)
    """
    path = Path(path)
    if not path.is_file():
        return False
    name = path.name.lower()
    suffix = _suffix(path)
    if suffix in (".fif", ".fif.gz"):
        if name.endswith(EPOCHS_FIF_SUFFIXES):
            return True
        return bool(_fif_has_epochs(path))
    if suffix == ".set":
        trials = _eeglab_trials(path)
        return trials is not None and trials > 1
    return False


def read_epochs(
    path: str | Path,
    *,
    subject: str | None = None,
    session: str | None = None,
    run: str | None = None,
    verbose: bool | str | int | None = None,
) -> EpochsDataset:
    """Read an epoched file (MNE ``-epo.fif``, epoched EEGLAB ``.set``) into an EpochsDataset.

    Parameters
    ----------
    path : str or Path
        An epochs FIF (``*-epo.fif``, read with ``mne.read_epochs``) or an EEGLAB ``.set``
        holding several trials (``mne.read_epochs_eeglab``; its ``.fdt`` beside it).
    subject, session, run : str or None
        Identity written to every epoch's metadata (used for grouping by the evaluation layer).
    verbose : bool, str, int or None
        Level of the ``neurodl`` logger during the call. MNE's warnings are logged on it.

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_epochs, n_channels, n_times) in SI units; ``y`` the event codes as
        ``0..K-1`` with ``classes`` their event names; metadata ``recording`` the file name
        without suffix, ``segment`` one id per epoch (``<recording>_<index>``), ``onset`` the
        event time in seconds; ``info`` holds ``ch_types``, ``tmin``, ``tmax``, ``event_id``,
        the ``montage``, the ``format`` and the ``source`` file.

    Raises
    ------
    DataFormatError
        The file is missing, empty, damaged, holds no epochs (a continuous recording: use
        :func:`~neurodl.io.eeg.read_raw`), or is of a type with no epochs reader.

    Examples
    --------
    Four 2-channel epochs (two per event) saved by MNE, then read back:

    >>> import tempfile
    >>> import mne, numpy as np
    >>> info = mne.create_info(["C3", "C4"], sfreq=100.0, ch_types="eeg")
    >>> X = np.random.default_rng(0).normal(scale=1e-5, size=(4, 2, 50))
    >>> events = np.array([[0, 0, 1], [100, 0, 2], [200, 0, 1], [300, 0, 2]])
    >>> epochs = mne.EpochsArray(X, info, events=events, tmin=-0.1,
    ...                          event_id={"left": 1, "right": 2}, verbose="error")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "sub-01_task-mi-epo.fif"
    ...     _ = epochs.save(path, verbose="error")
    ...     ds = read_epochs(path, subject="01")
    >>> ds
    <EpochsDataset X (4, 2, 50), y (4,), 1 subject(s)>
    >>> ds.y, ds.classes, ds.info["tmin"], bool(np.allclose(ds.X, X))
    (array([0, 1, 0, 1]), ['left', 'right'], -0.1, True)
    >>> ds.metadata.loc[1, "segment"], float(ds.metadata.loc[1, "onset"])  # event time, s
    ('sub-01_task-mi_001', 1.0)
    """
    import mne

    path = _check_file(path)
    suffix = _suffix(path)
    if suffix not in (".fif", ".fif.gz", ".set"):
        raise DataFormatError(
            f"{path}: no epochs reader for {suffix!r} files. Allowed: MNE epochs '-epo.fif' "
            "and epoched EEGLAB '.set'."
        )
    with use_log_level(verbose) if verbose is not None else contextlib.nullcontext():
        _precheck(path)
        what = f"{_format_name(path)} epochs"
        with _mne_guard(path, what):
            if suffix == ".set":
                epochs = mne.read_epochs_eeglab(path, verbose="warning")
            else:
                epochs = mne.read_epochs(path, preload=True, verbose="warning")
        if len(epochs) == 0:
            raise DataFormatError(f"{path}: cannot be read as {what}: it holds no epochs.")
        recording = path.name
        for end in (".gz", ".fif", ".set", "-epo", "_epo"):
            if recording.lower().endswith(end):
                recording = recording[: -len(end)]
        ds = EpochsDataset.from_mne(
            epochs, subject=subject, session=session, run=run, recording=recording
        )
        ds.info.update(
            {
                "reader": "mne",
                "format": _format_name(path),
                "source": str(path),
                "tmax": float(epochs.tmax),
            }
        )
        logger.info("Read %r from %s", ds, path)
        return ds
