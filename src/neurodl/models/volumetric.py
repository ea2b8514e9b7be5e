"""Convolutional decoder on the masked volume grid (fMRI), "voxel_cnn".

fMRI decoding samples are masked voxel vectors, ``(n_samples, n_voxels)``: the columns are the
voxels of a boolean ``mask`` in C order (``volume[mask]``, as :meth:`VolumeSeries.masked` gives
them). :class:`VoxelCNN` puts each vector back on the mask's bounding box (zeros outside the
mask) with a precomputed gather index, then applies 2-D convolutions when the box is one voxel
thick (a slice) or 3-D convolutions for volumes.

The mask is a hyperparameter. The decoding workflow fills it from the samples' ``info["mask"]``
(set by the fMRI samplers) because the class lists it in ``data_params``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..exceptions import ConfigError, DataFormatError
from ._layers import check_choice, check_positive_int, check_probability
from .registry import register_model

__all__ = ["CONV_DIMS", "VoxelCNN", "grid_layout"]

#: ``dims`` option -> number of spatial axes the convolutions run over (``None``: from the mask).
CONV_DIMS: dict[str, int | None] = {"auto": None, "2d": 2, "3d": 3}

#: Layers per number of spatial axes.
_LAYERS: dict[int, tuple[type, type, type, type]] = {
    2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.Dropout2d),
    3: (nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d, nn.Dropout3d),
}


def grid_layout(mask: Any, dims: str = "auto") -> tuple[np.ndarray, tuple[int, ...], tuple]:
    """Gather index that puts masked voxel vectors on the mask's bounding-box grid.

    Parameters
    ----------
    mask : array-like of bool, shape (nx, ny) or (nx, ny, nz)
        The voxels of the samples, in C order.
    dims : {"auto", "2d", "3d"}, default="auto"
        ``"auto"``: 2-D when the bounding box is one voxel thick along some axis, else 3-D.
        ``"2d"`` on a thick box: the box's thinnest axis becomes the input channels.

    Returns
    -------
    index : ndarray of int64, shape (n_in_channels * prod(spatial),)
        For each grid cell (C order over ``(channels, *spatial)``), ``1 + voxel column`` or 0
        for cells outside the mask (the gather reads a leading zero column).
    shape : tuple of int
        ``(n_in_channels, *spatial)`` with 2 or 3 spatial axes.
    origin : tuple of int
        Offset of the bounding box in the mask's grid (for mapping back).

    Examples
    --------
    >>> mask = np.zeros((5, 5, 4), dtype=bool)
    >>> mask[1:4, 2:4, 1:3] = True  # a 3 x 2 x 2 block of 12 voxels
    >>> mask[1, 2, 1] = False  # one hole: 11 voxels
    >>> index, shape, origin = grid_layout(mask)
    >>> shape, origin  # one input channel on the 3-D bounding box
    ((1, 3, 2, 2), (1, 2, 1))
    >>> int((index == 0).sum()), int(index.max())  # the hole reads the zero column
    (1, 11)
    >>> grid_layout(mask[:, :, 1:2])[1]  # a single slice: a 2-D grid
    (1, 3, 2)
    """
    m = np.asarray(mask)
    if m.dtype != bool or m.ndim not in (2, 3):
        raise ConfigError(
            f"Invalid value for 'mask': expected a 2-D or 3-D boolean array; got "
            f"dtype {m.dtype}, shape {m.shape}."
        )
    if m.ndim == 2:
        m = m[:, :, None]
    if not m.any():
        raise ConfigError("Invalid value for 'mask': it selects no voxel.")
    n_spatial = check_choice("dims", dims, CONV_DIMS)
    idx = np.nonzero(m)
    origin = tuple(int(i.min()) for i in idx)
    box = m[tuple(slice(lo, int(i.max()) + 1) for lo, i in zip(origin, idx, strict=True))]
    grid = np.zeros(box.shape, dtype=np.int64)
    grid[box] = np.arange(1, int(box.sum()) + 1)
    thin = int(np.argmin(box.shape))
    if n_spatial is None:
        n_spatial = 2 if box.shape[thin] == 1 else 3
    if n_spatial == 2:
        # channels first: the thinnest axis (size 1 for a slice) becomes the input channels
        grid = np.moveaxis(grid, thin, 0)
    else:
        grid = grid[None]
    return grid.ravel(), tuple(int(s) for s in grid.shape), origin


@register_model("voxel_cnn")
class VoxelCNN(nn.Module):
    """CNN on the masked volume grid: gather to the bounding box -> conv blocks -> linear head.

    Each block is convolution (``kernel_size``, same padding, no bias) -> batch norm -> ELU ->
    max pooling by 2 (along axes still longer than 1) -> spatial dropout; then flatten ->
    dropout -> linear.

    Parameters
    ----------
    n_chans, n_times : int
        Input shape ``(batch, n_chans, n_times)``; ``n_chans * n_times`` must equal the number
        of voxels in ``mask`` (2-D samples arrive as ``(batch, 1, n_voxels)``).
    n_outputs : int
        Classes (or targets).
    sfreq : float or None
        Unused (uniform signature).
    mask : array-like of bool, shape (nx, ny) or (nx, ny, nz), optional
        The voxel grid of the samples' columns (C order). Filled by the decoding workflow from
        the samples' ``info["mask"]``. ``None``: the input ``(n_chans, n_times)`` itself is the
        2-D image (every cell a "voxel").
    dims : {"auto", "2d", "3d"}, default="auto"
        See :func:`grid_layout`.
    n_filters : int, default=16
        Filters of the first block; each further block doubles them.
    n_blocks : int, default=2
    kernel_size : int, default=3
        Odd kernel size along every spatial axis.
    dropout : float, default=0.3
        Spatial dropout after each block and dropout before the head.

    Examples
    --------
    >>> import numpy as np, torch
    >>> mask = np.zeros((6, 5, 1), bool); mask[1:5, 1:4] = True
    >>> net = VoxelCNN(1, 12, 3, mask=mask)
    >>> net.grid_shape, net(torch.zeros(2, 1, 12)).shape
    ((1, 4, 3), torch.Size([2, 3]))
    """

    #: Hyperparameters the decoding workflow fills from the samples' ``info``.
    data_params: ClassVar[tuple[str, ...]] = ("mask",)

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: Any = None,
        mask: Any = None,
        dims: str = "auto",
        n_filters: int = 16,
        n_blocks: int = 2,
        kernel_size: int = 3,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.dims, self.dropout = dims, dropout
        self.n_filters, self.n_blocks, self.kernel_size = n_filters, n_blocks, kernel_size
        n_filters = check_positive_int("n_filters", n_filters)
        n_blocks = check_positive_int("n_blocks", n_blocks)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ConfigError(
                f"Invalid value for 'kernel_size': expected an odd int; got {kernel_size}."
            )
        drop = check_probability("dropout", dropout)
        grid_mask = np.ones((n_chans, n_times), bool) if mask is None else mask
        index, shape, origin = grid_layout(grid_mask, dims)
        n_vox = int(np.count_nonzero(index))
        if n_chans * n_times != n_vox:
            raise DataFormatError(
                f"Model 'voxel_cnn': the mask has {n_vox} voxels but the input has "
                f"n_chans * n_times = {n_chans} * {n_times} = {n_chans * n_times} values per "
                "sample; pass the mask the samples were cut with."
            )
        self.n_voxels = n_vox
        self.grid_shape, self.grid_origin = shape, origin
        self.register_buffer("grid_index", torch.as_tensor(index), persistent=False)
        n_sp = len(shape) - 1
        conv, norm, pool, drop_sp = _LAYERS[n_sp]
        layers: list[nn.Module] = []
        size, c_in = list(shape[1:]), shape[0]
        for b in range(n_blocks):
            c_out = n_filters * 2**b
            kernel = tuple(min(kernel_size, 2 * (s // 2) + 1) for s in size)
            layers += [
                conv(c_in, c_out, kernel, padding=tuple(k // 2 for k in kernel), bias=False),
                norm(c_out),
                nn.ELU(),
            ]
            pk = tuple(2 if s > 1 else 1 for s in size)
            if any(k > 1 for k in pk):
                layers.append(pool(pk, ceil_mode=True))
                size = [math.ceil(s / k) for s, k in zip(size, pk, strict=True)]
            layers.append(drop_sp(drop))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(drop), nn.Linear(c_in * math.prod(size), n_outputs)
        )

    def to_grid(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_chans, n_times) -> (batch, *grid_shape), zeros off the mask."""
        flat = x.reshape(x.shape[0], -1)
        padded = torch.cat([flat.new_zeros(flat.shape[0], 1), flat], dim=1)
        return padded[:, self.grid_index].reshape(x.shape[0], *self.grid_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_chans, n_times) -> (batch, n_outputs)."""
        return self.head(self.features(self.to_grid(x)))
