"""voxel_cnn: masked voxel vectors on the mask's grid, 2-D for a slice and 3-D for volumes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodl.estimators import make_estimator
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.models import build_model
from neurodl.models.volumetric import VoxelCNN, grid_layout

torch.set_num_threads(1)


def _blob_mask(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """An irregular mask inside a larger grid (so the bounding box is a crop)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    inner = tuple(slice(1, s - 1) if s > 2 else slice(0, s) for s in shape)
    mask[inner] = rng.random(mask[inner].shape) < 0.8
    return mask


def _oracle_box(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """numpy oracle: values on the full grid (volume[mask] = values), cropped to the mask's box."""
    vol = np.zeros(mask.shape)
    vol[mask] = values
    idx = np.nonzero(mask)
    return vol[tuple(slice(i.min(), i.max() + 1) for i in idx)]


@pytest.mark.parametrize("shape", [(9, 8, 7), (10, 7, 1), (6, 1, 5)])
def test_to_grid_puts_each_voxel_at_its_ijk(shape):
    mask = _blob_mask(shape)
    n_vox = int(mask.sum())
    net = VoxelCNN(1, n_vox, 2, mask=mask)
    x = torch.arange(1, 2 * n_vox + 1, dtype=torch.float32).reshape(2, 1, n_vox)
    grid = net.to_grid(x).numpy()
    for b in range(2):
        expect = _oracle_box(mask, x[b, 0].numpy())
        thin = [i for i, s in enumerate(expect.shape) if s == 1]
        if thin:  # a slice: 2-D grid, the singleton axis is the input channel
            assert net.grid_shape == (1, *[s for i, s in enumerate(expect.shape) if i != thin[0]])
            expect = np.moveaxis(expect, thin[0], 0)
        else:
            assert net.grid_shape == (1, *expect.shape)
            expect = expect[None]
        np.testing.assert_array_equal(grid[b], expect)
    # every voxel lands exactly once; off-mask cells are zero
    assert np.count_nonzero(grid[0]) == n_vox
    assert net.grid_origin == tuple(int(i.min()) for i in np.nonzero(mask))


def test_convolution_dimensionality_follows_the_grid():
    slice_mask, vol_mask = _blob_mask((10, 7, 1)), _blob_mask((6, 6, 5))
    n_s, n_v = int(slice_mask.sum()), int(vol_mask.sum())
    assert isinstance(VoxelCNN(1, n_s, 2, mask=slice_mask).features[0], torch.nn.Conv2d)
    assert isinstance(VoxelCNN(1, n_v, 2, mask=vol_mask).features[0], torch.nn.Conv3d)
    assert isinstance(VoxelCNN(1, n_s, 2, mask=slice_mask, dims="3d").features[0], torch.nn.Conv3d)
    # 2-D on a volume: the thinnest axis of the box becomes the input channels
    net = VoxelCNN(1, n_v, 2, mask=vol_mask, dims="2d")
    assert isinstance(net.features[0], torch.nn.Conv2d)
    index, shape, _ = grid_layout(vol_mask, "2d")
    assert shape[0] == min(shape) and len(shape) == 3 and index.size == np.prod(shape)
    x = torch.randn(3, 1, n_v)
    assert net(x).shape == (3, 2)
    # a 2-D mask is a slice: same grid as the (nx, ny, 1) mask
    flat = VoxelCNN(1, n_s, 2, mask=slice_mask[:, :, 0])
    assert flat.grid_shape == VoxelCNN(1, n_s, 2, mask=slice_mask).grid_shape
    assert flat.grid_shape[0] == 1 and len(flat.grid_shape) == 3


def test_mask_size_mismatch_names_both_counts():
    mask = _blob_mask((8, 8, 1))
    n_vox = int(mask.sum())
    with pytest.raises(DataFormatError, match=rf"mask has {n_vox} voxels.*= {n_vox + 3} values"):
        build_model("voxel_cnn", n_chans=1, n_times=n_vox + 3, n_outputs=2, mask=mask)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mask": np.zeros((4, 4, 1), bool)}, ConfigError, "selects no voxel"),
        ({"mask": np.ones((2, 2, 2, 2), bool)}, ConfigError, "2-D or 3-D boolean"),
        ({"mask": np.ones((4, 4), float)}, ConfigError, "2-D or 3-D boolean"),
        ({"dims": "4d"}, ConfigError, "'dims'. Allowed: 'auto', '2d', '3d'"),
        ({"kernel_size": 4}, ConfigError, "odd"),
        ({"n_filters": 0}, ConfigError, "'n_filters'"),
        ({"dropout": 1.0}, ConfigError, "'dropout'"),
    ],
)
def test_bad_hyperparameters(kwargs, error, match):
    n_chans, n_times = 4, 4
    if "mask" in kwargs and kwargs["mask"].dtype == bool and kwargs["mask"].any():
        n_times = int(kwargs["mask"].sum()) // n_chans
    with pytest.raises(error, match=match):
        VoxelCNN(n_chans, n_times, 2, **kwargs)


def _planted(mask: np.ndarray, n: int, seed: int, shuffle: bool = False):
    """Samples whose class sets the sign of a smooth spatial bump, in noise of equal power."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    centre = np.array(mask.shape) / 2
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in mask.shape], indexing="ij"), -1)
    bump = np.exp(-(((grid - centre) / 2.0) ** 2).sum(-1))[mask]
    y = np.arange(n) % 2
    # spatially smooth noise: the pattern is found by pooling neighbours
    sigma = [1.0 if s > 1 else 0.0 for s in mask.shape]
    noise = np.stack(
        [gaussian_filter(rng.standard_normal(mask.shape), sigma)[mask] for _ in range(n)]
    )
    noise /= noise.std()
    X = noise + 1.5 * np.where(y[:, None] == 1, 1.0, -1.0) * bump
    if shuffle:
        y = rng.permutation(y)
    return X.astype(np.float32), y


@pytest.mark.parametrize("shape", [(12, 10, 1), (8, 8, 6)])
def test_planted_smooth_pattern_is_recovered_and_shuffled_labels_are_not(shape):
    mask = _blob_mask(shape, seed=1)
    params = dict(max_epochs=15, num_threads=1, n_filters=8, batch_size=32, lr=3e-3)
    scores = {}
    for shuffle in (False, True):
        X, y = _planted(mask, 240, seed=2, shuffle=shuffle)
        Xt, yt = _planted(mask, 160, seed=3, shuffle=shuffle)
        est = make_estimator("voxel_cnn", seed=0, mask=mask, **params).fit(X, y)
        scores[shuffle] = float((est.predict(Xt) == yt).mean())
    assert scores[False] > 0.8, scores
    assert scores[True] < 0.65, scores
