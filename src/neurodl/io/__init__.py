"""Readers: one function per source format, each returning a neutral container.

:func:`read` picks the reader from the file name; the format-specific readers live in
``io/eeg.py`` (MNE), ``io/fmri.py`` (nibabel), ``io/spikes.py`` (NWB, suite2p),
``io/arrays.py`` (MAT/NPZ/CSV/NPY) and ``io/bids.py``; epoched files (``-epo.fif``, EEGLAB
``.set`` with several trials) go to :func:`~neurodl.io.epochs.read_epochs` (``io/epochs.py``).
MNE, nibabel and pynwb objects never leave this package. Readers of named datasets live in :mod:`neurodl.datasets`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, DataFormatError
from .arrays import read_array
from .bids import read_bids
from .eeg import read_chbmit_seizures, read_raw
from .epochs import is_epoched, read_epochs
from .fmri import read_nifti
from .spikes import read_nwb, read_suite2p

__all__ = ["READERS", "read", "read_epochs"]

#: suffix (lower case) -> reader. The first match wins; longer suffixes first. The readers import
#: MNE, nibabel or pynwb only when called.
READERS: dict[str, Callable[..., Any]] = {
    ".nii.gz": read_nifti,
    ".nii": read_nifti,
    ".mgz": read_nifti,
    ".mgh": read_nifti,
    ".hdr": read_nifti,  # Analyze 7.5 / NIfTI pair (.hdr + .img)
    ".img": read_nifti,
    ".edf": read_raw,
    ".bdf": read_raw,
    ".gdf": read_raw,
    ".vhdr": read_raw,
    ".ahdr": read_raw,  # BrainVision header under its other suffix
    ".set": read_raw,
    ".fif": read_raw,
    ".fif.gz": read_raw,
    ".eeg": read_raw,  # Nihon Kohden
    ".cnt": read_raw,
    ".seizures": read_chbmit_seizures,
    ".nwb": read_nwb,
    ".mat": read_array,
    ".npz": read_array,
    ".npy": read_array,
    ".csv": read_array,
    ".txt": read_array,
}


def _is_nirx_header(path: Path) -> bool:
    """True when ``path`` is a NIRx (fNIRS) text header (``[GeneralInfo]``), not Analyze/NIfTI."""
    try:
        with open(path, "rb") as fid:
            return fid.read(64).lstrip(b"\xef\xbb\xbf \r\n").startswith(b"[GeneralInfo]")
    except OSError:
        return False


def _resolve(path: Path) -> Callable[..., Any]:
    """Return the reader of ``path`` (a file by suffix, or a suite2p/BIDS folder)."""
    name = path.name.lower()
    if path.is_dir():
        if (path / "stat.npy").exists() or (path / "F.npy").exists():
            return read_suite2p
        if (path / "dataset_description.json").exists():
            return read_bids
        raise DataFormatError(
            f"{path}: a folder that is neither a suite2p plane folder (F.npy, stat.npy) "
            "nor a BIDS root (dataset_description.json)."
        )
    for suffix in sorted(READERS, key=len, reverse=True):
        if name.endswith(suffix):
            reader = READERS[suffix]
            if reader is read_raw and is_epoched(path):
                return read_epochs
            if suffix == ".hdr" and _is_nirx_header(path):
                return read_raw  # MNE reads NIRx recordings from their .hdr
            return reader
    known = ", ".join(sorted(READERS))
    raise DataFormatError(f"{path}: unsupported file type {path.suffix!r}. Supported: {known}.")


def read(path: str | Path, **kwargs: Any) -> Any:
    """Read any supported file or folder into a neurodl container.

    Parameters
    ----------
    path : str or Path
        A recording file, a suite2p plane folder or a BIDS root.
    **kwargs
        Passed to the format-specific reader (e.g. ``sfreq=`` for plain arrays).

    Returns
    -------
    Recording, VolumeSeries, SpikeTrains, EpochsDataset or Annotations

    Examples
    --------
    >>> import pathlib, tempfile, mne, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x_raw.fif"
    >>> info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 500)), info, verbose="error")
    >>> _ = raw.save(path, verbose="error")
    >>> rec = read(path)  # the reader is chosen from the file
    >>> type(rec).__name__, rec.data.shape, rec.sfreq
    ('Recording', (2, 500), 100.0)
    """
    import inspect

    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file or folder.")
    reader = _resolve(path)
    params = inspect.signature(reader).parameters
    accepted = [  # everything after the path that can be passed by name
        n
        for i, (n, p) in enumerate(params.items())
        if i > 0 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise ConfigError(
                f"Invalid reader parameter(s) {', '.join(map(repr, unknown))} for {path.name} "
                f"({reader.__name__}). Allowed: {', '.join(map(repr, accepted)) or 'none'}."
            )
    return reader(path, **kwargs)
