"""Haxby et al. (2001), PyMVPA example slice: registry entry, reader and quirks.

``bold.nii.gz`` (40x20x1x1452, TR 2.5 s), ``mask.nii.gz`` (530 voxels) and ``attributes.txt``
(numeric label code and run per volume). Quirks: the label codes are decoded with the table of
the folder's PyMVPA README (falling back to :data:`HAXBY_CODES`); ``bids_like/`` holds the same
slice per run, plus 25 mm whole-brain runs whose VT mask is a single voxel.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import VolumeSeries
from ..exceptions import DataFormatError, DatasetError
from ..io.fmri import _load_mask, read_nifti
from .registry import DatasetEntry, register_dataset

__all__ = ["ENTRY", "HAXBY_CODES", "HAXBY_TR_S", "read_haxby"]

#: PyMVPA's numeric codes for the Haxby example (used when its README is absent).
HAXBY_CODES: dict[str, str] = {
    "0": "rest",
    "1": "face",
    "2": "house",
    "3": "shoe",
    "4": "cat",
    "5": "scissors",
    "6": "scrambledpix",
    "7": "bottle",
    "8": "chair",
}
_HAXBY_FILES = ("bold.nii.gz", "mask.nii.gz", "attributes.txt")
HAXBY_TR_S = 2.5


def _haxby_codes(root: Path) -> dict[str, str]:
    """Parse ``* 0 - rest`` lines of the PyMVPA README; fall back to the known table."""
    readme = root / "README"
    if readme.is_file():
        found = dict(re.findall(r"^\s*\*\s*(\d+)\s*-\s*(\S+)\s*$", readme.read_text(), re.M))
        if found:
            return found
    return dict(HAXBY_CODES)


def _read_attributes(path: Path, n_volumes: int, codes: dict[str, str]) -> pd.DataFrame:
    """Read a PyMVPA ``attributes.txt`` (``label run`` per line, one line per volume)."""
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{path}: unreadable attributes file ({err}).") from None
    if table.shape[1] != 2 or table.isna().any().any():
        raise DataFormatError(
            f"{path}: expected two columns (label, run) on every line; got {table.shape[1]} "
            "column(s) or missing values."
        )
    if len(table) != n_volumes:
        raise DataFormatError(
            f"{path}: {len(table)} label rows but the image has {n_volumes} volumes; they must "
            "match."
        )
    labels, runs = table[0].to_numpy(), table[1]
    if not runs.str.fullmatch(r"\d+").all():
        bad = runs[~runs.str.fullmatch(r"\d+")].iloc[0]
        raise DataFormatError(f"{path}: run numbers must be non-negative integers; got {bad!r}.")
    numeric = pd.Series(labels).str.fullmatch(r"\d+").all()
    if numeric:
        unknown = sorted(set(labels) - set(codes))
        if unknown:
            raise DataFormatError(f"{path}: unknown label codes {unknown}; known {sorted(codes)}.")
        labels = np.array([codes[c] for c in labels], dtype=object)
    return pd.DataFrame({"label": labels.astype(str), "run": runs.astype(int).to_numpy()})


def read_haxby(root: str | Path, *, masked: bool = True) -> VolumeSeries:
    """Read the PyMVPA Haxby 2001 example (one slice, 12 runs, 8 categories + rest).

    Parameters
    ----------
    root : str or Path
        Folder with ``bold.nii.gz`` (40x20x1x1452, TR 2.5 s), ``mask.nii.gz`` and
        ``attributes.txt`` (numeric label and run per volume, decoded with the README table).
    masked : bool, default=True
        Return the masked form (530 voxels x 1452 volumes); else the 4-D form with the mask
        attached.

    Returns
    -------
    VolumeSeries
        ``events`` has one row per volume: ``label`` (str), ``run`` (int), ``volume`` (int,
        index in the series) and ``onset`` (seconds from the start of the series,
        ``volume * tr``). ``subject`` is ``"1"``.

    Raises
    ------
    DatasetError
        A required file is missing under ``root``.
    DataFormatError
        ``attributes.txt`` is malformed or its length differs from the number of volumes.

    Examples
    --------
    A 4 x 3 x 1 slice of 6 volumes stands in for the real files (``haxby2001-slice``):

    >>> import tempfile
    >>> import nibabel as nib
    >>> rng = np.random.default_rng(0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = Path(tmp)
    ...     bold = nib.Nifti1Image(rng.normal(size=(4, 3, 1, 6)).astype("float32"), np.eye(4))
    ...     bold.header.set_zooms((3.0, 3.0, 3.0, 2.5))  # TR 2.5 s
    ...     nib.save(bold, root / "bold.nii.gz")
    ...     mask = np.zeros((4, 3, 1), dtype="uint8")
    ...     mask[1:3, :2] = 1  # 4 voxels
    ...     nib.save(nib.Nifti1Image(mask, np.eye(4)), root / "mask.nii.gz")
    ...     _ = (root / "attributes.txt").write_text("0 0\\n1 0\\n2 0\\n0 1\\n1 1\\n2 1\\n")
    ...     vs = read_haxby(root)
    >>> vs.data.shape  # (voxels in the mask, volumes)
    (4, 6)
    >>> # label codes decoded with PyMVPA's table (0 rest, 1 face, 2 house); onset = volume * TR
    >>> vs.events[["label", "run", "onset"]].to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'label': ['rest', 'face', 'house', 'rest', 'face', 'house'], 'run': [0, 0, 0, 1, 1, 1],
     'onset': [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]}
    """
    root = Path(root)
    missing = [name for name in _HAXBY_FILES if not (root / name).is_file()]
    if missing:
        raise DatasetError(
            f"{root} is not the PyMVPA Haxby example: missing {', '.join(missing)} "
            f"(expected {', '.join(_HAXBY_FILES)})."
        )
    vs = read_nifti(root / "bold.nii.gz", subject="1")
    if abs(vs.tr - HAXBY_TR_S) > 1e-6:
        logger.warning(
            "%s: header TR %g s differs from the documented %g s.", root, vs.tr, HAXBY_TR_S
        )
    mask = _load_mask(root / "mask.nii.gz", vs.shape3d, vs.affine, root / "bold.nii.gz")
    events = _read_attributes(root / "attributes.txt", vs.n_volumes, _haxby_codes(root))
    events["volume"] = np.arange(vs.n_volumes)
    events["onset"] = events["volume"] * vs.tr
    vs.mask = mask
    vs.events = events
    vs.info["dataset"] = "haxby2001_pymvpa"
    return vs.apply_mask() if masked else vs


ENTRY = register_dataset(
    DatasetEntry(
        name="haxby2001-slice",
        folder="fmri/haxby2001_pymvpa",
        description="Haxby 2001 subject 1, posterior half of one axial slice: 1452 volumes, 12 runs, "
        "8 object categories + rest.",
        modality="fmri",
        sfreq=1 / HAXBY_TR_S,
        sfreq_note="TR 2.5 s; bold.nii.gz 40x20x1x1452, mask.nii.gz 530 voxels.",
        classes={
            "face": "faces",
            "house": "houses",
            "cat": "cats",
            "bottle": "bottles",
            "scissors": "scissors",
            "shoe": "shoes",
            "chair": "chairs",
            "scrambledpix": "scrambled pictures",
            "rest": "rest between blocks",
        },
        citation="Haxby JV, Gobbini MI, Furey ML, Ishai A, Schouten JL, Pietrini P. Distributed and "
        "overlapping representations of faces and objects in ventral temporal cortex. Science "
        "293:2425 (2001); Hanke M et al. PyMVPA. Neuroinformatics 7:37 (2009).",
        license="CC BY-SA 3.0.",
        source="PyMVPA/PyMVPA @20f0335f",
        loader=read_haxby,
    )
)
