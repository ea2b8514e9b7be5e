"""The ``masked_samples`` sampler of a config (``data.to_samples: {masked_samples: ...}``).

:func:`masked_samples_sampler` gives a config the nilearn route of
:func:`neurodl.analyses.fmri.maskers.masked_samples`: the series the NIfTI reader returned, an
events table, a voxel mask (``masker: voxels``, a ``NiftiMasker``) or a labels atlas
(``masker: labels``, a ``NiftiLabelsMasker``: one feature per region) and the per-run cleaning
of :func:`~neurodl.analyses.fmri.maskers.clean_signals`. Paths (``events``, ``mask``, a
``clean.confounds`` table) resolve from the working folder, like the other data paths.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..exceptions import ConfigError, DataFormatError

__all__ = ["CLEAN_KEYS", "MASKERS", "masked_samples_sampler"]

#: ``masker`` of :func:`masked_samples_sampler` -> what ``mask`` is.
MASKERS = {
    "voxels": "a mask image (non-zero voxels kept; nilearn NiftiMasker): one feature per voxel",
    "labels": "a labels atlas (integer region codes, 0 background; nilearn NiftiLabelsMasker): "
    "one feature per region, the mean of its voxels",
}
#: Keys of ``clean`` (parameters of :func:`~neurodl.analyses.fmri.maskers.clean_signals`).
CLEAN_KEYS = ("detrend", "standardize", "confounds", "high_pass", "low_pass")


def _clean_params(clean: dict[str, Any] | None) -> dict[str, Any] | None:
    """``clean`` with its keys checked and a ``confounds`` path read as a table."""
    if clean is None:
        return None
    for key in clean:
        if key not in CLEAN_KEYS:
            close = difflib.get_close_matches(str(key), CLEAN_KEYS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"Invalid key {key!r} in 'clean' of masked_samples.{hint} Allowed: "
                f"{', '.join(CLEAN_KEYS)}."
            )
    out = dict(clean)
    conf = out.get("confounds")
    if isinstance(conf, (str, Path)):
        path = Path(conf)
        if not path.is_file():
            raise DataFormatError(f"Invalid value for 'clean.confounds': no such file {path}.")
        table = pd.read_csv(path, sep="," if path.suffix.lower() == ".csv" else "\t",
                            na_values=["n/a"])  # fmt: skip
        if table.isna().to_numpy().any():
            raise DataFormatError(
                f"Invalid value for 'clean.confounds': {path} has {int(table.isna().sum().sum())} "
                "missing values (fMRIPrep derivatives start with n/a): keep complete columns."
            )
        out["confounds"] = table.to_numpy(dtype=float)
    return out


def _atlas_masker(mask: str | None, img: Any) -> Any:
    """An unfitted ``NiftiLabelsMasker`` on the atlas at ``mask``, checked against ``img``'s grid."""
    from nilearn.maskers import NiftiLabelsMasker

    from ..analyses.fmri.maskers import _load_mask_img

    if mask is None:
        raise ConfigError(
            "masked_samples with masker 'labels' needs 'mask': the path of a labels atlas."
        )
    atlas = _load_mask_img(mask)
    codes = np.asarray(atlas.dataobj)
    if not np.allclose(codes, np.round(codes)):
        raise DataFormatError(
            f"Invalid value for 'mask': {mask} is not a labels atlas (non-integer values); use "
            "masker 'voxels' for a probability or mask image."
        )
    if not np.any(codes != 0):
        raise DataFormatError(f"Invalid value for 'mask': the atlas {mask} has no region.")
    if tuple(atlas.shape[:3]) != tuple(img.shape[:3]) or not np.allclose(
        atlas.affine, img.affine, atol=1e-3
    ):
        raise DataFormatError(
            f"Invalid value for 'mask': the atlas {mask} is on another grid (shape "
            f"{tuple(atlas.shape[:3])}) than the image ({tuple(img.shape[:3])}) or its affine "
            "differs; resample it to the image first (nilearn.image.resample_to_img, "
            "interpolation='nearest')."
        )
    return NiftiLabelsMasker(labels_img=atlas, resampling_target=None)


def masked_samples_sampler(
    volumes: Any,
    *,
    events: str | None = None,
    mask: str | None = None,
    masker: Literal["voxels", "labels"] = "voxels",
    clean: dict[str, Any] | None = None,
    labels: list[str] | None = None,
    exclude: list[str] | tuple[str, ...] = ("rest",),
    block_average: bool = False,
) -> Any:
    """Decoding samples from a NIfTI series with a nilearn masker, cleaned run by run.

    Parameters
    ----------
    volumes : VolumeSeries
        What the NIfTI reader returned (4-D, or masked by the reader's ``mask``).
    events : str, optional
        Path of a table with one row per volume (``label``, and ``run`` when the image holds
        several runs), or BIDS events (``onset``, ``duration``, ``trial_type``; one run); TSV,
        CSV for ``.csv``. Default: the events the reader attached (its ``events`` parameter).
    mask : str, optional
        Path of a mask image (``masker: voxels``) or of a labels atlas (``masker: labels``),
        on the image's grid. Default with ``voxels``: nilearn's EPI mask of the image.
    masker : {"voxels", "labels"}, default="voxels"
        What ``mask`` is (``MASKERS``): one feature per voxel, or per atlas region.
    clean : dict, optional
        Per-run cleaning, keys of ``CLEAN_KEYS`` (``detrend``, ``standardize``,
        ``confounds`` (a table path), ``high_pass``, ``low_pass``; Hz); default
        ``{detrend: true, standardize: true}``.
    labels : list of str, optional
        Classes to keep, in code order (default: all but ``exclude``, sorted).
    exclude : list of str, default=("rest",)
        Labels dropped when ``labels`` is not given.
    block_average : bool, default=False
        One sample per block (consecutive volumes of one label within a run).

    Returns
    -------
    EpochsDataset
        As :func:`~neurodl.analyses.fmri.maskers.masked_samples`: ``X`` of shape
        (n_samples, n_voxels or n_regions), ``info["feature_space"]`` ``"voxels"`` or
        ``"regions"``, the fitted masker and the cleaning steps.

    Raises
    ------
    ConfigError
        An unknown ``masker`` or ``clean`` key, ``labels`` without an atlas.
    DataFormatError
        A missing file, an atlas that is not integer-valued or on another grid, events not
        matching the volumes.

    Examples
    --------
    Two runs of 12 volumes, a 2-region atlas; region 1 answers faces:

    >>> import pathlib, tempfile, nibabel as nib
    >>> from neurodl.data import VolumeSeries
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> lab = np.tile(["rest", "face", "face", "rest", "house", "house"], 4)
    >>> pd.DataFrame({"label": lab, "run": np.repeat([1, 2], 12)}).to_csv(
    ...     tmp / "events.tsv", sep="\\t", index=False)
    >>> atlas = np.zeros((4, 4, 2), dtype=np.int16)
    >>> atlas[:2], atlas[2:] = 1, 2
    >>> nib.save(nib.Nifti1Image(atlas, np.eye(4)), tmp / "atlas.nii.gz")
    >>> data = rng.normal(size=(4, 4, 2, 24)).astype("float32")
    >>> data[:2] += 1.5 * (lab == "face")
    >>> vs = VolumeSeries(data, 2.0, np.eye(4))
    >>> ds = masked_samples_sampler(vs, events=str(tmp / "events.tsv"),
    ...                             mask=str(tmp / "atlas.nii.gz"), masker="labels")
    >>> ds.X.shape, ds.classes, ds.info["feature_space"]  # 16 volumes x 2 regions
    ((16, 2), ['face', 'house'], 'regions')
    >>> try:
    ...     masked_samples_sampler(vs, events=str(tmp / "events.tsv"), clean={"detrnd": True})
    ... except ValueError as err:  # a ConfigError
    ...     print(str(err).split(" Allowed")[0])
    Invalid key 'detrnd' in 'clean' of masked_samples. Did you mean 'detrend'?
    """
    from ..analyses.fmri.maskers import masked_samples
    from ..data import VolumeSeries

    if not isinstance(volumes, VolumeSeries):
        raise DataFormatError(
            "The masked_samples sampler needs an fMRI image (a NIfTI file read as a "
            f"VolumeSeries); got {type(volumes).__name__}."
        )
    if masker not in MASKERS:
        raise ConfigError(
            f"Invalid value for 'masker'. Allowed: {', '.join(map(repr, MASKERS))}; got {masker!r}."
        )
    table = events if events is not None else volumes.events
    if table is None:
        raise ConfigError(
            "masked_samples needs 'events': a table with a label per volume (or BIDS events)."
        )
    params = _clean_params(clean)
    img = volumes.to_nifti()
    chosen = _atlas_masker(mask, img) if masker == "labels" else mask
    return masked_samples(img, table, mask=chosen, t_r=volumes.tr, clean=params, labels=labels,
                          exclude=tuple(exclude), block_average=block_average,
                          subject=volumes.subject)  # fmt: skip
