"""Searchlight and time-resolved decoding on a local two-node Ray cluster (``ray start``) give
exactly the maps of the local backend (units through ``neurodl.execution.run_units``)."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.analyses.encoding.time_resolved import time_resolved_decoding
from neurodl.analyses.fmri.searchlight import searchlight, sphere_neighbors
from neurodl.execution import ExecutionConfig, LocalRayCluster, connect_ray

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'neurodl[ray]'")


def _volume():
    """6 x 5 x 2 mask, 48 samples in 4 runs; a planted effect in the first 6 voxels."""
    rng = np.random.default_rng(0)
    mask = np.ones((6, 5, 2), bool)
    n = 48
    y = np.tile([0, 1], n // 2)
    X = rng.standard_normal((n, int(mask.sum())))
    X[:, :6] += 2.5 * y[:, None]
    return X, y, np.repeat(np.arange(4), n // 4), sphere_neighbors(mask, 1.0)


def _epochs():
    """40 epochs of 3 channels, 1 s at 100 Hz; class 1 has a bump in 0.4-0.6 s."""
    rng = np.random.default_rng(1)
    y = np.tile([0, 1], 20)
    X = rng.standard_normal((40, 3, 100))
    X[y == 1, 0, 40:60] += 1.5
    return X, y


def _both(execution):
    X, y, groups, nb = _volume()
    sl = searchlight(X, y, nb, groups=groups, batch_size=12, execution=execution)
    Xe, ye = _epochs()
    tr = time_resolved_decoding(
        Xe, ye, 100.0, window=0.2, step=0.1, folds=4, n_boot=50, seed=0, execution=execution
    )
    return sl, tr


@pytest.mark.slow  # one test: a cluster start
def test_searchlight_and_time_resolved_identical_on_ray_and_local(monkeypatch):
    sl_local, tr_local = _both("local")
    assert sl_local[:6].min() > 0.8 and np.median(sl_local[20:]) < 0.7  # the planted voxels
    assert tr_local.scores[np.abs(tr_local.times - 0.5) < 0.01].item() > 0.8  # the bump window
    puts = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda obj: puts.append(1) or real_put(obj))
    with LocalRayCluster(n_nodes=2, cpus_per_node=1) as cluster:
        cfg = ExecutionConfig(backend="ray", address=cluster.address)
        connect_ray(cfg)
        cluster.wait_for_nodes(ray)
        sl_ray, tr_ray = _both(cfg)
    assert len(puts) == 2  # the shared inputs went once per analysis: the units ran on Ray
    np.testing.assert_array_equal(sl_ray, sl_local)
    np.testing.assert_array_equal(tr_ray.scores, tr_local.scores)
    np.testing.assert_array_equal(tr_ray.ci, tr_local.ci)
    np.testing.assert_array_equal(tr_ray.times, tr_local.times)
    assert not ray.is_initialized()
