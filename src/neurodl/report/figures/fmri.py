"""fMRI figures: slices of a voxel map, encoding-model score distributions and comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ._base import _as_float_array, _new_figure

__all__ = ["plot_brain_slices", "plot_ceiling_normalized_scores", "plot_encoder_comparison"]


_SLICE_AXES = {"sagittal": 0, "coronal": 1, "axial": 2}


def plot_brain_slices(
    volume3d: Any,
    *,
    title: str,
    n_slices: int = 6,
    orientation: str = "axial",
    threshold: float | None = None,
    cmap: str | None = None,
    vmax: float | None = None,
    colorbar_label: str = "",
) -> Any:
    """Plot a few evenly spaced slices of a 3-D map (voxel space), with one colorbar.

    Parameters
    ----------
    volume3d : ndarray of shape (nx, ny, nz), or an object with ``get_fdata()``
        The map (e.g. decoding accuracy or t values per voxel); NaN voxels are left blank.
    title : str
    n_slices : int, default=6
        Number of slices, spread over the extent where the map is non-zero and finite.
    orientation : {"axial", "coronal", "sagittal"}, default="axial"
        Slices along the third, second or first voxel axis.
    threshold : float, optional
        Voxels with ``abs(value) < threshold`` are left blank.
    cmap : str, optional
        Default ``"RdBu_r"`` centred on 0 when the map has both signs, else ``"viridis"``.
    vmax : float, optional
        Colour limit (default: the largest absolute value).
    colorbar_label : str, default=""

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    A weight map non-zero in axial slices 2-13 of 16 (one negative voxel): 4 slices spread
    inside that extent, a diverging colour scale centred on 0, one colour bar:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_brain_slices
    >>> vol = np.zeros((10, 12, 16))
    >>> vol[3:7, 4:9, 2:14] = 0.7
    >>> vol[4, 5, 6] = -0.3
    >>> fig = plot_brain_slices(vol, title="decoder weights", n_slices=4, colorbar_label="weight")
    >>> [ax.get_title() for ax in fig.axes[:4]], fig.axes[-1].get_ylabel()
    (['z = 4', 'z = 6', 'z = 9', 'z = 11'], 'weight')
    >>> image = fig.axes[0].images[-1]
    >>> image.get_cmap().name, image.get_clim()
    ('RdBu_r', (-0.7, 0.7))

    Bad options are refused with the allowed values:

    >>> try:
    ...     plot_brain_slices(vol, title="x", orientation="transverse")
    ... except ValueError as err:
    ...     print(err)
    Invalid value for 'orientation'. Allowed: 'sagittal', 'coronal', 'axial'; got 'transverse'.
    """
    data = volume3d.get_fdata() if hasattr(volume3d, "get_fdata") else volume3d
    vol = _as_float_array(data, name="volume3d", ndim=3, allow_nan=True)
    if orientation not in _SLICE_AXES:
        raise ValueError(
            f"Invalid value for 'orientation'. Allowed: {', '.join(map(repr, _SLICE_AXES))}; "
            f"got {orientation!r}."
        )
    if isinstance(n_slices, bool) or not isinstance(n_slices, (int, np.integer)) or n_slices < 1:
        raise ValueError(f"'n_slices' must be a positive integer; got {n_slices!r}.")
    axis = _SLICE_AXES[orientation]
    shown = vol.copy()
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            shown[np.abs(shown) < float(threshold)] = np.nan
    finite = np.isfinite(shown)
    if not finite.any():
        raise DataFormatError(
            "'volume3d' has no finite value to show (all NaN or below threshold)."
        )
    other = tuple(a for a in range(3) if a != axis)
    occupied = np.flatnonzero((finite & (shown != 0)).any(axis=other))
    if occupied.size == 0:
        occupied = np.arange(vol.shape[axis])
    n_slices = min(int(n_slices), occupied.size)
    # n_slices distinct occupied slices, evenly spaced; the extent's edges excluded when there
    # is room (a step >= 1 between grid points, so rounding never picks one slice twice)
    if occupied.size >= n_slices + 2:
        at = np.linspace(0, occupied.size - 1, n_slices + 2)[1:-1]
    else:
        at = np.linspace(0, occupied.size - 1, n_slices)
    picks = occupied[np.round(at).astype(int)]
    lo, hi = float(np.nanmin(shown)), float(np.nanmax(shown))
    if lo < 0.0 < hi:  # both signs: diverging map centred on 0
        limit = float(vmax) if vmax is not None else max(-lo, hi)
        vmin_v, vmax_v = -limit, limit
        cmap = cmap or "RdBu_r"
    else:
        vmin_v, vmax_v = lo, float(vmax) if vmax is not None else hi
        cmap = cmap or "viridis"
    if not vmin_v < vmax_v:
        vmin_v, vmax_v = vmin_v - 0.5, vmin_v + 0.5

    n_cols = min(len(picks), 6)
    n_rows = int(np.ceil(len(picks) / n_cols))
    fig = _new_figure(1.9 * n_cols + 1.0, 2.0 * n_rows + 0.5)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    im = None
    letter = "xyz"[axis]
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= len(picks):
            continue
        sl = np.take(shown, picks[k], axis=axis)
        background = np.take(np.isfinite(vol), picks[k], axis=axis)
        ax.imshow(
            np.rot90(np.where(background, 0.15, np.nan)),
            cmap="Greys",
            vmin=0.0,
            vmax=1.0,
            interpolation="nearest",
        )
        im = ax.imshow(np.rot90(sl), cmap=cmap, vmin=vmin_v, vmax=vmax_v, interpolation="nearest")
        ax.set_title(f"{letter} = {picks[k]}", fontsize=9)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label=colorbar_label)
    fig.suptitle(title)
    return fig


#: Line colours of the encoders in :func:`plot_ceiling_normalized_scores`.
_ENCODER_COLORS = {"ridge": "#4c72b0", "mlp": "#dd8452"}


def plot_ceiling_normalized_scores(norms: Mapping[str, np.ndarray]) -> Any:
    """Histogram of held-out r / noise ceiling per voxel, one outline per encoder.

    Parameters
    ----------
    norms : mapping of str to ndarray of shape (n_voxels,)
        Ceiling-normalised score of each voxel, per encoder name (non-finite values are
        left out).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes: one step histogram per encoder and a dashed line at 1 (the ceiling).

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.report.figures import plot_ceiling_normalized_scores
    >>> rng = np.random.default_rng(0)
    >>> norms = {"ridge": rng.uniform(0.0, 1.0, 500),
    ...          "mlp": np.append(rng.uniform(0.1, 1.1, 499), np.nan)}  # NaN is left out
    >>> fig = plot_ceiling_normalized_scores(norms)
    >>> ax = fig.axes[0]
    >>> ax.get_legend_handles_labels()[1], ax.get_xlabel()
    (['ridge', 'mlp'], 'held-out r / noise ceiling')
    >>> float(ax.lines[0].get_xdata()[0])  # the ceiling
    1.0
    """
    fig = _new_figure(6.0, 3.2, layout=None)
    ax = fig.add_subplot()
    for n, norm in norms.items():
        finite = norm[np.isfinite(norm)]
        ax.hist(finite, bins=30, histtype="step", lw=1.5, color=_ENCODER_COLORS.get(n), label=n)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_xlabel("held-out r / noise ceiling")
    ax.set_ylabel("voxels")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_encoder_comparison(r_ridge: np.ndarray, r_net: np.ndarray, *, encoder: str) -> Any:
    """Per-voxel held-out r of a network encoder against ridge, with the identity line.

    Parameters
    ----------
    r_ridge, r_net : ndarray of shape (n_voxels,)
        Held-out Pearson r of each voxel under ridge and under the network encoder.
    encoder : str
        Name of the network encoder (y-axis label).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes: the scatter and a dashed identity line.

    Examples
    --------
    200 voxels where the network encoder is 0.05 better everywhere (all points above the
    identity line):

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_encoder_comparison
    >>> r_ridge = np.random.default_rng(0).uniform(0.0, 0.5, 200)
    >>> fig = plot_encoder_comparison(r_ridge, r_ridge + 0.05, encoder="mlp")
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel(), ax.collections[0].get_offsets().shape
    ('held-out r, ridge', 'held-out r, mlp', (200, 2))
    """
    fig = _new_figure(4.0, 4.0, layout=None)
    ax = fig.add_subplot()
    ax.scatter(r_ridge, r_net, s=6, alpha=0.6, color="#555555")
    lim = [min(r_ridge.min(), r_net.min()), max(r_ridge.max(), r_net.max())]
    ax.plot(lim, lim, "k--", lw=1)
    ax.set_xlabel("held-out r, ridge")
    ax.set_ylabel(f"held-out r, {encoder}")
    fig.tight_layout()
    return fig
