"""fMRI readers (nibabel): NIfTI-1/2 and MGH images, and labelled volumes to datasets.

Every reader returns a :class:`~neurodl.data.VolumeSeries`; nibabel objects never leave this
module. :func:`volumes_to_dataset` turns a labelled series into an
:class:`~neurodl.data.EpochsDataset` of voxel patterns for decoding.

TR policy of :func:`read_nifti`
-------------------------------
1. ``tr=`` given: used as is (the header is ignored).
2. Otherwise the header: ``pixdim[4]`` converted to seconds with the time unit of
   ``xyzt_units`` (``msec`` / ``usec`` are divided by 1000 / 10**6; ``sec`` and ``unknown`` are
   taken as seconds); for MGH files the ``tr`` field (milliseconds).
   A value above 100 s in ``sec``/``unknown`` units is taken as milliseconds with a logged
   warning (SPM writes such headers; nibabel's ``example4d.nii.gz`` says 2000 "sec").
3. A 4-D image whose header has no positive finite TR raises :class:`DataFormatError` asking
   for ``tr=``: timing errors would otherwise pass silently into every time-based analysis.
4. A 3-D image becomes a single-volume series (``data[..., np.newaxis]``); it has no time axis,
   so a missing TR is set to a nominal 1.0 s (``info["tr_source"] == "nominal"``).
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._logging import logger
from ..data import EpochsDataset, VolumeSeries
from ..data.epochs import NO_SESSION
from ..exceptions import DataFormatError

__all__ = ["read_nifti", "volumes_to_dataset"]

#: xyzt time unit -> factor to seconds. Spectral units (hz, ppm, rads) are not times.
_TIME_UNIT_TO_S: dict[str, float] = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6, "unknown": 1.0}
#: Header TRs above this (in "seconds") are read as milliseconds.
_MAX_PLAUSIBLE_TR_S = 100.0
#: TR given to 3-D images (a single volume has no time axis).
_NOMINAL_TR_S = 1.0
#: nibabel image classes we refuse, with the reason shown to the user.
_UNSUPPORTED_IMAGES: dict[str, str] = {
    "Cifti2Image": "CIFTI-2 (grayordinate data, not a voxel grid); use nibabel.cifti2 directly",
    "GiftiImage": "GIfTI (surface data, not a voxel grid); use nibabel.gifti directly",
}
#: Errors raised by nibabel / gzip / numpy when a file is corrupt or truncated.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    OSError,
    zlib.error,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    RuntimeError,
    OverflowError,
)
#: Largest ratio of uncompressed to compressed size deflate can reach (about 1032:1): a
#: ``.nii.gz`` whose header declares more data than this is corrupt, refused before allocating.
_MAX_DEFLATE_RATIO = 1100
#: What :func:`read_nifti` does with NaN/inf voxel values.
NONFINITE_POLICIES = ("raise", "zero")


def _nibabel_errors() -> tuple[type[BaseException], ...]:
    from nibabel.freesurfer.mghformat import MGHError
    from nibabel.spatialimages import HeaderDataError, ImageDataError

    return (*_READ_ERRORS, HeaderDataError, ImageDataError, MGHError)


# ---------------------------------------------------------------------------- helpers
def _load_image(path: Path) -> Any:
    """Return the nibabel image at ``path`` (header only) or raise DataFormatError."""
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError

    if not path.exists():
        raise DataFormatError(f"{path}: no such file.")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder; read_nifti needs a NIfTI or MGH file.")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            img = nib.load(str(path))
    except ImageFileError as err:
        raise DataFormatError(
            f"{path}: not a readable image (nibabel: {err}). Supported: NIfTI-1/2 "
            "(.nii, .nii.gz, .hdr/.img), MGH (.mgh, .mgz)."
        ) from None
    except _nibabel_errors() as err:
        raise DataFormatError(
            f"{path}: corrupt or truncated image header ({type(err).__name__}: {err})."
        ) from None
    _relay(caught, path)
    kind = type(img).__name__
    if kind in _UNSUPPORTED_IMAGES:
        raise DataFormatError(f"{path}: unsupported image format {_UNSUPPORTED_IMAGES[kind]}.")
    if not hasattr(img, "dataobj") or not hasattr(img, "affine") or img.affine is None:
        raise DataFormatError(f"{path}: unsupported image type {kind}; not a voxel image.")
    return img


def _check_image_header(img: Any, path: Path) -> None:
    """Refuse impossible headers before any voxel is allocated.

    Checks: positive dimensions; the bytes the header declares (offset + voxels x item size)
    against the size of the data file (exact bound for uncompressed files, the deflate limit
    for ``.gz``); a finite intensity scaling (``scl_slope``/``scl_inter``).
    """
    try:
        shape = tuple(int(n) for n in img.shape)
        itemsize = int(img.get_data_dtype().itemsize)
        offset = int(getattr(img.dataobj, "offset", 0) or 0)
    except _nibabel_errors() as err:
        raise DataFormatError(
            f"{path}: corrupt image header ({type(err).__name__}: {err})."
        ) from None
    if not shape or any(n <= 0 for n in shape):
        raise DataFormatError(f"{path}: corrupt image header: dimensions {shape} must be positive.")
    declared = offset + int(np.prod(shape, dtype=object)) * itemsize
    image_map = getattr(img, "file_map", {}).get("image")
    data_file = Path(image_map.filename) if image_map is not None and image_map.filename else path
    if data_file.is_file():
        held = data_file.stat().st_size
        compressed = data_file.name.lower().endswith((".gz", ".mgz"))
        limit = held * _MAX_DEFLATE_RATIO if compressed else held
        if declared > limit:
            raise DataFormatError(
                f"{path}: the header declares {shape} voxels of {itemsize} bytes "
                f"({declared} bytes) but {data_file.name} holds {held} bytes"
                + (" compressed (deflate cannot compress that much)" if compressed else "")
                + ": the header is corrupt or the data truncated."
            )
    scaling = _raw_scaling(img)
    if scaling is not None:
        slope, inter = scaling
        unset = np.isnan(slope) and np.isnan(inter)  # nibabel writes NaN/NaN for "no scaling"
        if not unset and (np.isinf(slope) or np.isnan(slope) or not np.isfinite(inter)):
            raise DataFormatError(
                f"{path}: invalid intensity scaling scl_slope={slope!r}, scl_inter={inter!r} "
                "(both must be finite, or both NaN for no scaling); the header is corrupt."
            )


def _raw_scaling(img: Any) -> tuple[float, float] | None:
    """``(scl_slope, scl_inter)`` as stored in the file (nibabel resets them on load), or None."""
    from nibabel.openers import ImageOpener

    file_map = getattr(img, "file_map", {})
    header_map = file_map.get("header") or file_map.get("image")  # .nii: one file
    if header_map is None or not header_map.filename or "scl_slope" not in img.header:
        return None
    try:
        with ImageOpener(header_map.filename) as fobj:
            raw = img.header_class.from_fileobj(fobj, check=False)
        return float(raw["scl_slope"]), float(raw["scl_inter"])
    except Exception:  # the header was read once already; nothing more to learn here
        return None


def _relay(caught: list[warnings.WarningMessage], path: Path) -> None:
    for w in caught:
        logger.warning("%s: %s", path, w.message)


def _image_data(img: Any, path: Path) -> np.ndarray:
    """Return the scaled voxel data as float32, or raise DataFormatError."""
    _check_image_header(img, path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = np.asarray(img.get_fdata(dtype=np.float32))
    except FileNotFoundError as err:
        raise DataFormatError(f"{path}: the image data file is missing ({err}).") from None
    except _nibabel_errors() as err:
        raise DataFormatError(
            f"{path}: corrupt or truncated image data ({type(err).__name__}: {err})."
        ) from None
    _relay(caught, path)
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim not in (3, 4):
        raise DataFormatError(
            f"{path}: expected a 3-D or 4-D image (x, y, z[, time]); got shape {data.shape}."
        )
    return data


def _header_tr(img: Any) -> tuple[float | None, str]:
    """Return (TR in seconds or None, how it was derived) from an image header."""
    header = img.header
    kind = type(img).__name__
    if kind.startswith("MGH"):
        raw = float(header["tr"])
        return (raw / 1000.0, "header tr (ms)") if np.isfinite(raw) and raw > 0 else (None, "")
    zooms = header.get_zooms()
    if len(zooms) < 4:
        return None, ""
    raw = float(zooms[3])
    unit = header.get_xyzt_units()[1] if hasattr(header, "get_xyzt_units") else "unknown"
    if unit not in _TIME_UNIT_TO_S:
        return None, f"time unit {unit!r} is not a time"
    if not np.isfinite(raw) or raw <= 0:
        return None, ""
    tr = raw * _TIME_UNIT_TO_S[unit]
    if unit in ("sec", "unknown") and tr > _MAX_PLAUSIBLE_TR_S:
        return raw / 1000.0, f"header pixdim[4]={raw:g} {unit}, implausible, read as ms"
    return tr, f"header pixdim[4] ({unit})"


def _load_mask(mask: Any, shape3d: tuple[int, ...], affine: np.ndarray, source: Path) -> np.ndarray:
    """Return ``mask`` (path or array) as a boolean array of ``shape3d``."""
    where = f"mask for {source}"
    if isinstance(mask, (str, Path)):
        mpath = Path(mask)
        mimg = _load_image(mpath)
        arr = _image_data(mimg, mpath)
        if arr.ndim == 4 and arr.shape[3] == 1:
            arr = arr[..., 0]
        if (
            arr.ndim == 3
            and arr.shape == shape3d
            and not np.allclose(mimg.affine, affine, atol=1e-3)
        ):
            raise DataFormatError(
                f"Invalid value for 'mask': {mpath} is on a different grid (affine) than {source}; "
                "resample it to the image first."
            )
        where = str(mpath)
    else:
        arr = np.asarray(mask)
    if arr.shape != shape3d:
        raise DataFormatError(
            f"Invalid value for 'mask' ({where}): its shape must equal the volume shape "
            f"{shape3d}; got {arr.shape}."
        )
    if arr.dtype != bool and not np.all(np.isfinite(arr.astype(float))):
        raise DataFormatError(f"Invalid value for 'mask' ({where}): contains NaN/inf.")
    out = arr.astype(bool)
    if not out.any():
        raise DataFormatError(f"Invalid value for 'mask' ({where}): it selects no voxel.")
    return out


def _load_events(events: Any) -> pd.DataFrame | None:
    if events is None:
        return None
    if isinstance(events, pd.DataFrame):
        return events.reset_index(drop=True)
    epath = Path(events)
    if not epath.is_file():
        raise DataFormatError(f"Invalid value for 'events': no such file {epath}.")
    sep = "," if epath.suffix.lower() == ".csv" else "\t"
    try:
        return pd.read_csv(epath, sep=sep, na_values=["n/a"])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{epath}: unreadable events table ({err}).") from None


# ---------------------------------------------------------------------------- read_nifti
def read_nifti(
    path: str | Path,
    *,
    mask: str | Path | np.ndarray | None = None,
    tr: float | None = None,
    events: pd.DataFrame | str | Path | None = None,
    subject: str | None = None,
    session: str | None = None,
    run: str | None = None,
    nonfinite: str = "raise",
) -> VolumeSeries:
    """Read a NIfTI-1/NIfTI-2 (or MGH) image into a :class:`VolumeSeries`.

    Parameters
    ----------
    path : str or Path
        ``.nii``, ``.nii.gz``, a ``.hdr`` of an ``.hdr/.img`` pair, or ``.mgh``/``.mgz``.
        Either byte order. CIFTI-2 and GIfTI files are rejected (not voxel grids).
    mask : str, Path or ndarray of shape (nx, ny, nz), optional
        A mask image (same grid as ``path``) or array; non-zero voxels are kept and the series
        is returned in masked form, data of shape (n_voxels, n_volumes).
    tr : float, optional
        Repetition time in seconds; overrides the header. See the module docstring for the
        policy when it is not given (4-D images without a header TR raise).
    events : DataFrame, str or Path, optional
        Per-volume or per-event table (a path is read as TSV, or CSV for ``.csv``).
    subject, session, run : str, optional
        Identity of the run, kept on the series.
    nonfinite : {"raise", "zero"}, default="raise"
        NaN/inf voxel values (inside ``mask`` when one is given): ``"raise"`` refuses the file,
        as every neurodl reader does; ``"zero"`` sets them to 0 (e.g. SPM images with NaN
        outside the brain) and records how many in ``info["n_nonfinite_zeroed"]``.

    Returns
    -------
    VolumeSeries
        ``data`` float32 of shape (nx, ny, nz, n_volumes), or (n_voxels, n_volumes) with a
        mask. A 3-D image gives ``n_volumes == 1``. ``info`` holds ``format``, ``tr_source``,
        ``original_shape`` and ``original_dtype``.

    Raises
    ------
    DataFormatError
        Unreadable, truncated or unsupported file, a header declaring more data than the file
        holds, invalid intensity scaling, NaN/inf values (``nonfinite="raise"``), mask of the
        wrong shape or grid, or a 4-D image without TR.

    Examples
    --------
    >>> import pathlib, tempfile, nibabel as nib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "bold.nii.gz"
    >>> img = nib.Nifti1Image(np.zeros((4, 4, 3, 10), dtype=np.float32), np.eye(4))
    >>> img.header.set_zooms((3.0, 3.0, 3.0, 2.0))  # TR 2 s
    >>> nib.save(img, path)
    >>> vs = read_nifti(path)
    >>> vs.data.shape, vs.tr
    ((4, 4, 3, 10), 2.0)
    """
    if nonfinite not in NONFINITE_POLICIES:
        raise ValueError(
            f"Invalid value for 'nonfinite'. Allowed: 'raise', 'zero'; got {nonfinite!r}."
        )
    path = Path(path)
    img = _load_image(path)
    data = _image_data(img, path)
    original_shape = tuple(int(s) for s in img.shape)
    if tr is not None:
        tr_s, tr_source = float(tr), "argument"
    else:
        tr_s, tr_source = _header_tr(img)
        if tr_s is None:
            if data.ndim == 4 and data.shape[3] > 1:
                why = f" ({tr_source})" if tr_source else ""
                raise DataFormatError(
                    f"{path}: the header has no valid repetition time{why} for a 4-D image of "
                    f"{data.shape[3]} volumes; pass tr= (seconds)."
                )
            tr_s, tr_source = _NOMINAL_TR_S, "nominal"
        elif "implausible" in tr_source:
            logger.warning("%s: %s -> TR %g s; pass tr= to override.", path, tr_source, tr_s)
    if data.ndim == 3:
        data = data[..., np.newaxis]
    affine = np.asarray(img.affine, dtype=float)
    mask_arr = None if mask is None else _load_mask(mask, data.shape[:3], affine, path)
    if mask_arr is not None:
        data = data[mask_arr]
    bad = ~np.isfinite(data)
    n_bad = int(bad.sum())
    if n_bad and nonfinite == "raise":
        where = " inside the mask" if mask_arr is not None else ""
        raise DataFormatError(
            f"{path}: {n_bad} NaN/inf voxel values{where}; pass nonfinite='zero' to read them "
            "as 0, or a mask= that excludes them."
        )
    if n_bad:
        data[bad] = 0.0
    info = {
        "reader": "nibabel",
        "format": type(img).__name__,
        "tr_source": tr_source,
        "original_shape": original_shape,
        "original_dtype": str(img.get_data_dtype()),
    }
    if nonfinite == "zero":
        info["n_nonfinite_zeroed"] = n_bad
    return VolumeSeries(
        data,
        tr_s,
        affine,
        mask=mask_arr,
        events=_load_events(events),
        subject=None if subject is None else str(subject),
        session=None if session is None else str(session),
        run=None if run is None else str(run),
        source=str(path),
        info=info,
    )


# ---------------------------------------------------------------------------- to dataset
def _per_volume_table(vs: VolumeSeries) -> pd.DataFrame:
    """Return one row per volume with ``label`` and ``run`` (from per-volume or BIDS events)."""
    ev = vs.events
    n = vs.n_volumes
    if ev is None:
        raise DataFormatError(
            "volumes_to_dataset needs labelled volumes: the series has no events (read it with "
            "read_haxby, or pass events= to read_nifti)."
        )
    if "label" in ev.columns:
        if len(ev) != n:
            raise DataFormatError(
                f"events has {len(ev)} rows with a 'label' column but the series has {n} volumes; "
                "per-volume labels must match one to one."
            )
        table = pd.DataFrame({"label": ev["label"].astype(str).to_numpy()})
        run = ev["run"].to_numpy() if "run" in ev.columns else np.full(n, vs.run or "0")
        table["run"] = [str(r) for r in run]
        return table
    if {"onset", "duration", "trial_type"} <= set(ev.columns):
        # BIDS events: each volume takes the trial_type of the event covering its start time.
        times = np.arange(n) * vs.tr
        labels = np.full(n, "rest", dtype=object)
        for onset, dur, ttype in ev[["onset", "duration", "trial_type"]].itertuples(index=False):
            labels[(times >= onset - 1e-9) & (times < onset + dur - 1e-9)] = str(ttype)
        return pd.DataFrame({"label": labels.astype(str), "run": str(vs.run or "0")})
    raise DataFormatError(
        "events must have a per-volume 'label' column or BIDS columns onset, duration, "
        f"trial_type; got columns {list(ev.columns)}."
    )


def volumes_to_dataset(
    vs: VolumeSeries,
    *,
    labels: Sequence[str] | None = None,
    exclude: Sequence[str] = ("rest",),
    block_average: bool = False,
) -> EpochsDataset:
    """Turn a labelled fMRI series into voxel patterns for decoding.

    Parameters
    ----------
    vs : VolumeSeries
        A series whose ``events`` give a label per volume (a ``label`` column with one row per
        volume, plus ``run`` when several runs are concatenated, as from :func:`read_haxby`),
        or BIDS events (``onset``, ``duration``, ``trial_type``: each volume takes the event
        covering its acquisition start, others are ``"rest"``; no hemodynamic shift).
    labels : sequence of str, optional
        Classes to keep, in the order of their integer codes (``["face", "house"]``). Default:
        every label present except ``exclude``, sorted.
    exclude : sequence of str, default=("rest",)
        Labels dropped when ``labels`` is not given.
    block_average : bool, default=False
        Average the volumes of each block (consecutive volumes of one label within a run) into
        one sample.

    Returns
    -------
    EpochsDataset
        ``X`` of shape (n_samples, n_voxels) (voxels inside the mask), ``y`` ints indexing
        ``classes``. Metadata: ``run``; ``recording`` (``sub-<s>_run-<r>``); ``segment`` (the
        block id, so block-mates stay in one fold); ``trial`` (volume index in the series, or
        block index); ``onset`` (seconds from the start of the run); ``volume``; ``label``.

    Raises
    ------
    DataFormatError
        No per-volume labels, or the labels do not match the number of volumes.
    ValueError
        ``labels`` names a label that is not in the series, or nothing is left to keep.

    Examples
    --------
    >>> from neurodl.data import VolumeSeries
    >>> mask = np.ones((2, 2, 1), dtype=bool)
    >>> labels = pd.DataFrame({"label": ["rest", "face", "face", "house", "house", "rest"]})
    >>> vs = VolumeSeries(np.random.default_rng(0).standard_normal((4, 6)), tr=2.0, mask=mask,
    ...                   events=labels)
    >>> ds = volumes_to_dataset(vs, labels=["face", "house"])
    >>> ds.X.shape, ds.y.tolist(), ds.classes
    ((4, 4), [0, 0, 1, 1], ['face', 'house'])
    """
    table = _per_volume_table(vs)
    n = vs.n_volumes
    present = sorted(set(table["label"]))
    if labels is None:
        classes = [lab for lab in present if lab not in set(exclude)]
    else:
        classes = [str(lab) for lab in labels]
        unknown = [lab for lab in classes if lab not in present]
        if unknown:
            raise ValueError(
                f"Invalid value for 'labels': {unknown} not in the series. Available: {present}."
            )
    if not classes:
        raise ValueError(f"No label left to keep: present {present}, exclude {list(exclude)}.")
    run = table["run"].to_numpy()
    lab = table["label"].to_numpy()
    change = np.ones(n, bool)
    change[1:] = (lab[1:] != lab[:-1]) | (run[1:] != run[:-1])
    block = np.cumsum(change) - 1
    run_start = {r: np.flatnonzero(run == r)[0] for r in pd.unique(run)}
    subject = vs.subject or "0"
    volume = np.arange(n)
    meta = pd.DataFrame(
        {
            "subject": subject,
            "session": vs.session or NO_SESSION,
            "run": run,
            "recording": [f"sub-{subject}_run-{r}" for r in run],
            "segment": block.astype(str),
            "trial": volume,
            "onset": (volume - np.array([run_start[r] for r in run])) * vs.tr,
            "volume": volume,
            "label": lab,
        }
    )
    X = vs.masked().T
    keep = np.isin(lab, classes)
    if block_average:
        blocks = np.unique(block[keep])
        X = np.stack([X[block == b].mean(axis=0) for b in blocks])
        first = np.array([np.flatnonzero(block == b)[0] for b in blocks], dtype=int)
        meta = meta.iloc[first].reset_index(drop=True)
        meta["trial"] = blocks
        meta["n_volumes"] = [int((block == b).sum()) for b in blocks]
    else:
        X = X[keep]
        meta = meta[keep].reset_index(drop=True)
    y = np.array([classes.index(v) for v in meta["label"]], dtype=int)
    info = {
        "tr": vs.tr,
        "source": vs.source,
        "block_average": bool(block_average),
        "n_voxels": int(X.shape[1]),
        # the grid the voxel columns come from (C order), for models on the volume grid
        "mask": vs.mask if vs.mask is not None else np.ones(vs.shape3d, bool),
        "affine": vs.affine,  # with the mask: back-projection of per-voxel values
    }
    return EpochsDataset(np.asarray(X), y, meta, None, None, classes, info)
