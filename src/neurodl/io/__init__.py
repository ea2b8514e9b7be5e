"""Readers: one function per source format, each returning a neutral container.

:func:`read` picks the reader from the file name; the format-specific readers live in
``io/eeg.py`` (MNE), ``io/fmri.py`` (nibabel), ``io/spikes.py`` (NWB, suite2p),
``io/arrays.py`` (MAT/NPZ/CSV/NPY) and ``io/bids.py``. MNE, nibabel and pynwb objects never
leave this package.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..exceptions import DataFormatError

__all__ = ["READERS", "read"]

#: suffix (lower case) -> "module:function". The first match wins; longer suffixes first.
READERS: dict[str, str] = {
    ".nii.gz": "fmri:read_nifti",
    ".nii": "fmri:read_nifti",
    ".edf": "eeg:read_raw",
    ".bdf": "eeg:read_raw",
    ".gdf": "eeg:read_raw",
    ".vhdr": "eeg:read_raw",
    ".set": "eeg:read_raw",
    ".fif": "eeg:read_raw",
    ".fif.gz": "eeg:read_raw",
    ".eeg": "eeg:read_raw",  # Nihon Kohden
    ".cnt": "eeg:read_raw",
    ".seizures": "eeg:read_chbmit_seizures",
    ".nwb": "spikes:read_nwb",
    ".mat": "arrays:read_array",
    ".npz": "arrays:read_array",
    ".npy": "arrays:read_array",
    ".csv": "arrays:read_array",
    ".txt": "arrays:read_array",
}


def _resolve(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        if (path / "stat.npy").exists() or (path / "F.npy").exists():
            return "spikes:read_suite2p"
        if (path / "dataset_description.json").exists():
            return "bids:read_bids"
        raise DataFormatError(
            f"{path}: a folder that is neither a suite2p plane folder (F.npy, stat.npy) "
            "nor a BIDS root (dataset_description.json)."
        )
    for suffix in sorted(READERS, key=len, reverse=True):
        if name.endswith(suffix):
            return READERS[suffix]
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
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file or folder.")
    module, func = _resolve(path).split(":")
    reader = getattr(importlib.import_module(f"{__name__}.{module}"), func)
    return reader(path, **kwargs)
