"""Brain maps of the fMRI tasks: decoder weights written as NIfTI, maps drawn on anatomy.

The decoding task calls :func:`decoder_weight_map` for voxel (or region) samples and a linear
model; the searchlight and encoding reports call :func:`map_on_anatomy`. The background is the
mean EPI of the series (``info["mean_volume"]`` of the samples, or the series itself): always
on the map's grid, whatever space the data are in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..._logging import logger

__all__ = ["decoder_weight_map", "map_on_anatomy"]

#: File the decoding task writes the weight map to.
WEIGHTS_FILE = "decoder_weights.nii.gz"


def _masker_of(info: dict[str, Any]) -> Any:
    """The samples' masker: the one that made them, or one built from ``mask`` + ``affine``."""
    if info.get("masker") is not None:
        return info["masker"]
    mask, affine = info.get("mask"), info.get("affine")
    if mask is None or affine is None:
        return None
    from ...analyses.fmri.maskers import masker_from_mask

    return masker_from_mask(mask, affine)


def _background(info: dict[str, Any]) -> Any:
    mean = info.get("mean_volume")
    if mean is None or info.get("affine") is None:
        return None
    from ...report.figures.brain_maps import mean_volume

    return mean_volume(mean, info["affine"])


def decoder_weight_map(
    estimator: Any, dataset: Any, out_dir: str | Path | None
) -> list[dict[str, Any]] | None:
    """Refit a linear decoder on ``dataset``, write its weights as NIfTI, draw them.

    Parameters
    ----------
    estimator : unfitted estimator or Pipeline
        The run's model (:func:`neurodl.analyses.fmri.maskers.linear_weights` finds its
        ``coef_``).
    dataset : EpochsDataset
        fMRI samples of shape (n_samples, n_voxels) whose ``info`` holds a ``masker`` (from
        :func:`~neurodl.analyses.fmri.maskers.masked_samples`) or ``mask`` and ``affine`` (from
        :func:`~neurodl.analyses.fmri.glm.fmri_samples`).
    out_dir : str or Path, optional
        Where ``decoder_weights.nii.gz`` is written.

    Returns
    -------
    list of dict or None
        One entry per figure: ``figure``, ``title``, ``caption``, ``file``; ``None`` when the
        samples are not voxels of an image or the model has no linear weights.
    """
    from ...analyses.fmri.maskers import linear_weights, weight_map

    info = dataset.info
    masker = _masker_of(info)
    if masker is None:
        return None
    try:
        fitted = estimator.fit(dataset.X, dataset.y)
        linear_weights(fitted)
        img = weight_map(fitted, masker)
    except (TypeError, ValueError) as err:  # no coef_, or features that are not voxels
        logger.info("no decoder weight map: %s", err)
        return None
    file = None
    if out_dir is not None:
        import nibabel as nib

        file = WEIGHTS_FILE
        nib.save(img, str(Path(out_dir) / file))
    from ...report.figures.brain_maps import plot_brain_map

    classes = [str(c) for c in (dataset.classes or [])]
    data = img.get_fdata()
    maps = [data] if data.ndim == 3 else [data[..., k] for k in range(data.shape[3])]
    names = [f"{classes[1]} vs {classes[0]}"] if len(maps) == 1 and len(classes) == 2 else classes
    out = []
    for k, vol in enumerate(maps):
        import nibabel as nib

        name = names[k] if k < len(names) else str(k)
        out.append(
            {
                "figure": plot_brain_map(
                    nib.Nifti1Image(vol.astype(np.float32), img.affine),
                    title=f"Decoder weights: {name}",
                    bg_img=_background(info),
                    colorbar_label="weight",
                ),
                "title": f"Decoder weights on anatomy ({name})",
                "caption": "Weights of the model refitted on all samples, back-projected to the "
                "voxels by the masker (inverse_transform; standardised features when the model "
                "scales them), drawn over the mean EPI. Weights are not activations (Haufe et "
                f"al. 2014). Written to {file or 'no file'}.",
                "file": file,
            }
        )
    return out


def map_on_anatomy(
    volumes: Any,
    values: np.ndarray,
    *,
    title: str,
    label: str,
    threshold: float | None = None,
) -> Any:
    """One value per voxel of a :class:`~neurodl.data.VolumeSeries` drawn over its mean EPI.

    Parameters
    ----------
    volumes : VolumeSeries
        The series the values belong to (4-D or masked).
    values : ndarray of shape (n_voxels,)
        One value per mask voxel, in the series' (C) order.
    title, label : str
        Figure title and colour-bar label.
    threshold : float, optional
        ``abs(value) <= threshold`` is transparent.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import nibabel as nib

    from ...report.figures.brain_maps import mean_volume, plot_brain_map

    values = np.nan_to_num(np.asarray(values, dtype=float))
    if threshold is not None and not (np.abs(values) > threshold).any():
        threshold = None  # nothing passes: show the map rather than an empty figure
    vol = volumes.unmask(values, fill=0.0)
    mean = volumes.data.mean(axis=-1)
    if volumes.is_masked:
        mean = volumes.unmask(mean, fill=0.0)
    return plot_brain_map(
        nib.Nifti1Image(vol.astype(np.float32), volumes.affine),
        title=title,
        bg_img=mean_volume(mean, volumes.affine),
        threshold=threshold,
        colorbar_label=label,
    )
