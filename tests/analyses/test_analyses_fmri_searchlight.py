"""Searchlight neighbourhoods vs brute force, planted informative voxels, NIfTI output."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.analyses.fmri.searchlight import searchlight, searchlight_map, sphere_neighbors
from neurodl.data import VolumeSeries
from neurodl.exceptions import ConfigError, DataFormatError


def test_neighbors_match_brute_force(rng):
    mask = rng.random((5, 4, 3)) > 0.3
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    nb = sphere_neighbors(mask, 3.5, affine=affine)
    coords = np.argwhere(mask) * [2.0, 2.0, 3.0]
    dist = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    for i, n in enumerate(nb):
        np.testing.assert_array_equal(n, np.flatnonzero(dist[i] <= 3.5 + 1e-6))


def test_single_slice_gives_disks():
    mask = np.ones((7, 7, 1), bool)
    nb = sphere_neighbors(mask, 1.0)
    assert max(len(n) for n in nb) == 5  # centre + 4 in-plane neighbours


def test_searchlight_finds_planted_voxels(rng):
    n, n_vox = 60, 12
    y = np.tile([0, 1], n // 2)
    X = rng.standard_normal((n, n_vox))
    X[:, :3] += 3.0 * y[:, None]
    groups = np.repeat(np.arange(4), n // 4)
    nb = [np.array([i]) for i in range(n_vox)]
    scores = searchlight(X, y, nb, groups=groups, n_jobs=2, batch_size=5)
    assert scores[:3].min() > 0.8 and np.median(scores[3:]) < 0.7
    mask = np.zeros((4, 3, 1), bool)
    mask.ravel()[:n_vox] = True
    vs = VolumeSeries(np.zeros((4, 3, 1, 2)), 2.0, mask=mask)
    img = searchlight_map(vs, scores)
    np.testing.assert_allclose(img.get_fdata()[mask], scores, rtol=1e-6)


def test_bad_inputs():
    with pytest.raises(ConfigError, match="radius"):
        sphere_neighbors(np.ones((2, 2, 2), bool), -1)
    with pytest.raises(DataFormatError, match="mask"):
        sphere_neighbors(np.zeros((2, 2, 2), bool), 1)
    with pytest.raises(ConfigError, match="groups"):
        searchlight(np.zeros((4, 1)), np.array([0, 1, 0, 1]), [np.array([0])])
    with pytest.raises(DataFormatError, match="neighbourhoods"):
        searchlight(np.zeros((4, 2)), np.array([0, 1, 0, 1]), [np.array([0])], groups=[0, 0, 1, 1])
