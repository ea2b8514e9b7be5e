"""fMRI volumes: 4-D series or masked ``(n_voxels, n_volumes)``, with TR, affine and mask."""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataFormatError
from ._checks import check_array, check_sfreq

__all__ = ["VolumeSeries"]


@dataclass
class VolumeSeries:
    """An fMRI run (or several concatenated), 4-D or masked.

    Parameters
    ----------
    data : ndarray of shape (nx, ny, nz, n_volumes) or (n_voxels, n_volumes)
        4-D image data, or voxel time series inside ``mask`` (masked form).
    tr : float
        Repetition time in seconds.
    affine : ndarray of shape (4, 4)
        Voxel-to-world transform.
    mask : ndarray of bool, shape (nx, ny, nz), optional
        Required for the masked form; for the 4-D form, restricts :meth:`masked`.
    events : DataFrame, optional
        Per-volume or per-event labels (``onset``, ``duration``, ``trial_type``, or the columns of
        an attributes file such as ``label``, ``run``).
    subject, session, run : str or None
    source : str or None

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mask = np.zeros((4, 4, 2), dtype=bool)
    >>> mask[1:3, 1:3, :] = True  # 8 voxels
    >>> vs = VolumeSeries(rng.normal(size=(4, 4, 2, 10)), tr=2.0, mask=mask)
    >>> vs
    <VolumeSeries 4-D (4, 4, 2, 10), TR 2 s>
    >>> masked = vs.apply_mask()
    >>> masked.data.shape, masked.shape3d  # (voxels, volumes); the grid is kept
    ((8, 10), (4, 4, 2))
    >>> score_map = masked.unmask(np.arange(8.0))  # per-voxel values back on the grid
    >>> score_map.shape, float(score_map[0, 0, 0]), float(score_map[2, 2, 1])  # fill, last voxel
    ((4, 4, 2), 0.0, 7.0)
    """

    data: np.ndarray
    tr: float
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    mask: np.ndarray | None = None
    events: pd.DataFrame | None = None
    subject: str | None = None
    session: str | None = None
    run: str | None = None
    source: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.source
        self.data = check_array(
            self.data, ndim=(2, 4), name="fMRI data", source=src, allow_nan=True
        )
        self.tr = check_sfreq(self.tr, source=src)
        self.affine = np.asarray(self.affine, dtype=float)
        if self.affine.shape != (4, 4):
            raise DataFormatError(f"affine must be 4x4; got shape {self.affine.shape}.")
        if self.mask is not None:
            self.mask = np.asarray(self.mask).astype(bool)
            if self.mask.ndim != 3:
                raise DataFormatError(f"mask must be 3-D; got shape {self.mask.shape}.")
        if self.data.ndim == 2:
            if self.mask is None:
                raise DataFormatError("Masked fMRI data (n_voxels, n_volumes) need a mask.")
            if int(self.mask.sum()) != self.data.shape[0]:
                raise DataFormatError(
                    f"mask has {int(self.mask.sum())} voxels but data has {self.data.shape[0]} rows."
                )
        elif self.mask is not None and self.mask.shape != self.data.shape[:3]:
            raise DataFormatError(
                f"mask shape {self.mask.shape} does not match volume shape {self.data.shape[:3]}."
            )

    @property
    def is_masked(self) -> bool:
        return self.data.ndim == 2

    @property
    def n_volumes(self) -> int:
        return int(self.data.shape[-1])

    @property
    def shape3d(self) -> tuple[int, int, int]:
        if self.is_masked:
            assert self.mask is not None
            return tuple(self.mask.shape)  # type: ignore[return-value]
        return tuple(self.data.shape[:3])  # type: ignore[return-value]

    def masked(self) -> np.ndarray:
        """Return ``(n_voxels, n_volumes)`` inside the mask (all voxels if there is none)."""
        if self.is_masked:
            return self.data
        if self.mask is None:
            return self.data.reshape(-1, self.n_volumes)
        return self.data[self.mask]

    def apply_mask(self, mask: np.ndarray | None = None) -> VolumeSeries:
        """Return the masked form (using ``mask`` or the stored mask)."""
        out = _copy.copy(self)
        m = self.mask if mask is None else np.asarray(mask).astype(bool)
        if m is None:
            m = np.ones(self.shape3d, bool)
        if self.is_masked:
            raise ValueError("Data are already masked.")
        out.mask = m
        out.data = self.data[m]
        return out

    def unmask(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Put per-voxel ``values`` of shape (n_voxels,) or (n_voxels, k) back on the 3-D grid."""
        values = np.asarray(values)
        mask = self.mask if self.mask is not None else np.ones(self.shape3d, bool)
        if values.shape[0] != int(mask.sum()):
            raise DataFormatError(
                f"Got {values.shape[0]} values for a mask of {int(mask.sum())} voxels."
            )
        out = np.full(mask.shape + values.shape[1:], fill, dtype=float)
        out[mask] = values
        return out

    def to_nifti(self) -> Any:
        """Return a ``nibabel.Nifti1Image`` of the 4-D data (masked data are unmasked)."""
        import nibabel as nib

        data = self.unmask(self.data) if self.is_masked else self.data
        img = nib.Nifti1Image(np.asarray(data, dtype=np.float32), self.affine)
        img.header.set_xyzt_units("mm", "sec")
        zooms = list(img.header.get_zooms())
        zooms[3] = self.tr
        img.header.set_zooms(zooms)
        return img

    def map_to_nifti(self, values: np.ndarray) -> Any:
        """Return a 3-D (or 4-D for 2-D values) NIfTI of per-voxel values, e.g. a score map."""
        import nibabel as nib

        return nib.Nifti1Image(self.unmask(values).astype(np.float32), self.affine)

    def __repr__(self) -> str:
        form = f"masked {self.data.shape}" if self.is_masked else f"4-D {self.data.shape}"
        return f"<VolumeSeries {form}, TR {self.tr:g} s>"
