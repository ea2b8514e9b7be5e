"""Brain maps on anatomy: a statistical map over a background image, drawn by nilearn.

:func:`plot_brain_map` draws a 3-D map (decoder weights, searchlight accuracy, encoding r) with
:func:`nilearn.plotting.plot_stat_map` into a :class:`matplotlib.figure.Figure` with an Agg
canvas (no pyplot state, headless), ready for :meth:`neurodl.report.Report.add_figure`.

Backgrounds: any image or path (a subject's T1 or mean EPI, on the map's grid or not: nilearn
resamples), ``"mni"`` for nilearn's packaged MNI152 template (:func:`mni_template`: read from
nilearn's own package data, never downloaded; only right for maps in MNI space), or ``None``.
:func:`mean_volume` makes the mean EPI, which is always aligned with the map it came with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ._base import _new_figure

__all__ = ["mean_volume", "mni_template", "plot_brain_map"]

#: nilearn display modes accepted by :func:`plot_brain_map` (``"auto"`` picks one).
_DISPLAY_MODES = ("auto", "ortho", "x", "y", "z", "mosaic")


def mni_template(resolution: int = 2) -> Any:
    """nilearn's MNI152 T1 template (ICBM 2009a symmetric), read from nilearn's package data.

    Offline: ``nilearn.datasets.load_mni152_template`` reads the file shipped inside nilearn
    and never downloads (a test blocks the network and checks it).

    Parameters
    ----------
    resolution : int, default=2
        Voxel size in mm (1 is the packaged grid, 197 x 233 x 189).

    Returns
    -------
    nibabel.Nifti1Image
        Skull-stripped, intensities scaled to [0, 1]; shape (99, 117, 95) at 2 mm.

    Examples
    --------
    >>> from neurodl.report.figures.brain_maps import mni_template
    >>> img = mni_template()  # 2 mm, from nilearn's package data (no download)
    >>> img.shape, [float(z) for z in img.header.get_zooms()]
    ((99, 117, 95), [2.0, 2.0, 2.0])
    >>> 0.0 <= float(img.get_fdata().min()) and float(img.get_fdata().max()) <= 1.0
    True
    """
    from nilearn.datasets import load_mni152_template

    return load_mni152_template(resolution=resolution)


def mean_volume(data: Any, affine: Any) -> Any:
    """The mean over time of a 4-D series as a 3-D image (a background always on its grid).

    Parameters
    ----------
    data : ndarray of shape (nx, ny, nz, n_volumes) or (nx, ny, nz)
    affine : ndarray of shape (4, 4)

    Returns
    -------
    nibabel.Nifti1Image of shape (nx, ny, nz), float32

    Examples
    --------
    Twenty 3 mm volumes averaged into one background image on the same grid:

    >>> import numpy as np
    >>> from neurodl.report.figures.brain_maps import mean_volume
    >>> series = np.random.default_rng(0).normal(100.0, 5.0, size=(8, 9, 10, 20))
    >>> affine = np.diag([3.0, 3.0, 3.0, 1.0])
    >>> bg = mean_volume(series, affine)
    >>> bg.shape, str(bg.get_data_dtype()), round(float(bg.get_fdata().mean()), 1)
    ((8, 9, 10), 'float32', 100.0)
    >>> bool((bg.affine == affine).all())
    True
    """
    import nibabel as nib

    arr = np.asarray(data, dtype=np.float32)
    if arr.ndim == 4:
        arr = arr.mean(axis=3)
    if arr.ndim != 3:
        raise DataFormatError(f"'data' must be 3-D or 4-D; got shape {arr.shape}.")
    return nib.Nifti1Image(arr, np.asarray(affine, dtype=float))


def _as_image(img: Any, name: str) -> Any:
    import nibabel as nib

    if isinstance(img, (str, Path)):
        if not Path(img).is_file():
            raise DataFormatError(f"Invalid value for {name!r}: no such file {img}.")
        return nib.load(str(img))
    if not hasattr(img, "affine") or not hasattr(img, "get_fdata"):
        raise DataFormatError(
            f"Invalid value for {name!r}: a NIfTI image or its path; got {type(img).__name__}."
        )
    return img


def _cuts(shape: tuple[int, ...], affine: np.ndarray, mode: str) -> tuple[str, Any]:
    """A display mode and cut coordinates; a one-voxel-thick axis gets its single slice."""
    thin = [a for a in range(3) if shape[a] == 1]
    if mode != "auto":
        return mode, None
    if thin:
        axis = thin[-1]
        centre = affine @ np.array([(n - 1) / 2 for n in shape[:3]] + [1.0])
        return "xyz"[axis], [float(centre[axis])]
    return "ortho", None


def plot_brain_map(
    stat_img: Any,
    *,
    title: str,
    bg_img: Any = None,
    threshold: float | None = None,
    display_mode: str = "auto",
    colorbar_label: str = "",
    vmax: float | None = None,
    symmetric: bool | None = None,
) -> Any:
    """A 3-D statistical map on a background image, drawn with ``nilearn.plotting.plot_stat_map``.

    Parameters
    ----------
    stat_img : nibabel image or path, shape (nx, ny, nz) (or (nx, ny, nz, 1))
        The map; voxels equal to 0 (outside the mask) are transparent.
    title : str
    bg_img : nibabel image, path, "mni" or None, default=None
        The anatomy under the map (``"mni"``: :func:`mni_template`, only right for MNI-space
        maps); ``None``: no background.
    threshold : float, optional
        Values with ``abs(value) <= threshold`` are transparent (default: only exact zeros).
    display_mode : {"auto", "ortho", "x", "y", "z", "mosaic"}, default="auto"
        ``auto``: the single slice of a one-voxel-thick axis, else ``ortho`` through the peak.
    colorbar_label : str, default=""
    vmax : float, optional
        Colour limit (default: the largest absolute value).
    symmetric : bool, optional
        Colour scale centred on 0 (default: when the map has both signs).

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    DataFormatError
        Not a 3-D image, or no finite non-zero value to show.

    Examples
    --------
    A small searchlight-like map (a positive blob and one negative voxel) over the mean EPI it
    came with: three orthogonal cuts, a symmetric colour scale as the map has both signs:

    >>> import nibabel as nib
    >>> import numpy as np
    >>> from neurodl.report.figures.brain_maps import mean_volume, plot_brain_map
    >>> affine = np.diag([3.0, 3.0, 3.0, 1.0])
    >>> epi = np.random.default_rng(0).normal(100.0, 5.0, size=(8, 9, 10, 20))
    >>> stat = np.zeros((8, 9, 10))
    >>> stat[2:5, 3:6, 4:7] = 0.8
    >>> stat[5, 5, 5] = -0.4
    >>> fig = plot_brain_map(nib.Nifti1Image(stat, affine), title="encoding",
    ...                      bg_img=mean_volume(epi, affine), colorbar_label="r")
    >>> fig.get_suptitle()
    'encoding (r)'

    A map one voxel thick gets that single slice (fewer axes than the three cuts):

    >>> thin = plot_brain_map(nib.Nifti1Image(stat[:, :, 5:6], affine), title="one slice")
    >>> len(thin.axes) < len(fig.axes)
    True

    An all-zero map has nothing to show:

    >>> from neurodl.exceptions import DataFormatError
    >>> try:
    ...     plot_brain_map(nib.Nifti1Image(np.zeros((4, 4, 4)), affine), title="empty")
    ... except DataFormatError as err:
    ...     print(err)
    'stat_img' has no finite non-zero value to show.
    """
    import nibabel as nib
    from nilearn import plotting

    if display_mode not in _DISPLAY_MODES:
        raise ValueError(
            f"Invalid value for 'display_mode'. Allowed: {', '.join(map(repr, _DISPLAY_MODES))}; "
            f"got {display_mode!r}."
        )
    img = _as_image(stat_img, "stat_img")
    data = np.asarray(img.get_fdata(), dtype=np.float32)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DataFormatError(f"'stat_img' must be a 3-D map; got shape {data.shape}.")
    data = np.where(np.isfinite(data), data, 0.0).astype(np.float32)
    if not (data != 0).any():
        raise DataFormatError("'stat_img' has no finite non-zero value to show.")
    img = nib.Nifti1Image(data, np.asarray(img.affine, dtype=float))
    bg = mni_template() if isinstance(bg_img, str) and bg_img == "mni" else bg_img
    bg = None if bg is None else _as_image(bg, "bg_img")
    lo, hi = float(data.min()), float(data.max())
    both = lo < 0.0 < hi
    sym = both if symmetric is None else bool(symmetric)
    mode, cuts = _cuts(data.shape, img.affine, display_mode)
    thin = cuts is not None
    fig = _new_figure(4.6 if thin else 7.5, 3.4 if thin else 2.8, layout=None)
    plotting.plot_stat_map(
        img,
        bg_img=bg,
        figure=fig,
        display_mode=mode,
        cut_coords=cuts,
        threshold=float(threshold) if threshold is not None else 1e-12,
        vmax=vmax,
        symmetric_cbar=sym,
        cmap="RdBu_r" if sym else "inferno",
        colorbar=True,
        black_bg=False,
        draw_cross=False,
        annotate=True,
        dim=0,
        title=None,
    )
    fig.suptitle(title + (f" ({colorbar_label})" if colorbar_label else ""), fontsize=10)
    return fig
