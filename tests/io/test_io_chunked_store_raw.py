"""The chunked store's raw-chunk fast path reads exactly what zarr reads, and only when it may."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from neurodl.data import EpochsDataset
from neurodl.io._zarr_raw import raw_chunk_layout
from neurodl.io.chunked_store import open_store, write_store


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(0)
    recs = [
        EpochsDataset(rng.normal(size=(7, 3, 50)).astype(np.float32), y=np.arange(7) % 2)
        for _ in range(3)
    ]
    return write_store(tmp_path / "w.zarr", recs, provenance={"k": 1})


def test_fast_path_equals_zarr_reads(store):
    X = open_store(store.path).X
    ref = zarr.open_array(store.path / "X", mode="r")
    assert X[0] is not None and X._raw is not None  # the fast path is on for this layout
    rng = np.random.default_rng(1)
    for idx in (
        rng.integers(0, 21, 40),  # random, with repeats
        np.array([20, -1, 0, 5]),  # negative indices
        np.arange(21) % 3 == 0,  # boolean mask
        [3],
    ):
        want = ref.get_orthogonal_selection((np.arange(21)[idx],))
        np.testing.assert_array_equal(X[idx], want)
    np.testing.assert_array_equal(X[2:9], ref[2:9])
    with pytest.raises(IndexError):
        X[[21]]


def test_a_chunk_zarr_never_wrote_reads_as_the_fill_value(store):
    (store.path / "X" / "c" / "4" / "0" / "0").unlink()
    X = open_store(store.path).X
    assert np.all(X[[4]] == 0.0) and np.any(X[[5]] != 0.0)


def test_compressed_or_sharded_arrays_go_through_zarr(tmp_path):
    data = np.ones((4, 2, 8), dtype=np.float32)
    plain = zarr.create_array(
        tmp_path / "p", shape=data.shape, chunks=(1, 2, 8), dtype="f4", compressors=None
    )
    gz = zarr.create_array(
        tmp_path / "g",
        shape=data.shape,
        chunks=(1, 2, 8),
        dtype="f4",
        compressors=zarr.codecs.GzipCodec(),
    )
    sharded = zarr.create_array(
        tmp_path / "s",
        shape=data.shape,
        chunks=(1, 2, 8),
        shards=(2, 2, 8),
        dtype="f4",
        compressors=None,
    )
    big = zarr.create_array(
        tmp_path / "b", shape=data.shape, chunks=(2, 2, 8), dtype="f4", compressors=None
    )
    f8 = zarr.create_array(
        tmp_path / "d", shape=data.shape, chunks=(1, 2, 8), dtype="f8", compressors=None
    )
    assert raw_chunk_layout(plain) is not None
    for arr in (gz, sharded, big, f8):
        assert raw_chunk_layout(arr) is None


def test_sharded_store_reads_the_same(tmp_path):
    rng = np.random.default_rng(2)
    recs = [EpochsDataset(rng.normal(size=(8, 2, 16)).astype(np.float32), y=np.zeros(8, int))]
    a = write_store(tmp_path / "a.zarr", recs, provenance={})
    b = write_store(tmp_path / "b.zarr", recs, provenance={}, chunk_samples=1, shard_samples=4)
    Xa, Xb = open_store(a.path).X, open_store(b.path).X
    idx = [7, 0, 3, 3]
    np.testing.assert_array_equal(Xa[idx], Xb[idx])
    assert Xa._raw is not None and Xb._raw is None
