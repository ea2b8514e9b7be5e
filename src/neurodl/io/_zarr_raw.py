"""Reading a zarr v3 array of raw float32 windows straight from its chunk files."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["raw_chunk_layout"]


def raw_chunk_layout(array: Any) -> Any:
    """``(chunk file of window i, window shape, fill value)`` when chunks are raw windows.

    zarr's read path costs about 0.5 ms per chunk in Python (asyncio, codec pipeline) on this
    machine, several times the cost of reading a window's bytes. When every chunk is exactly one
    window of little-endian float32, stored uncompressed (a single ``bytes`` codec), unsharded,
    in a local folder, the chunk file *is* the window's bytes: it is read with ``numpy.fromfile``
    (``benchmarks/results/lazy_loading.md``; ``tests/io/test_io_chunked_store_raw.py`` checks
    it against zarr's own reads). Anything else (compression, shards, another layout) returns
    None and reads go through zarr.
    """
    try:
        meta = array.metadata
        codecs = [type(c).__name__ for c in meta.codecs]
        chunk = tuple(meta.chunk_grid.chunk_shape)
        endian = getattr(meta.data_type, "endianness", None)
        local = type(array.store).__name__ == "LocalStore"
        key = meta.encode_chunk_key
    except AttributeError:  # another zarr version or format: use zarr's reads
        return None
    if (
        codecs != ["BytesCodec"]
        or chunk[0] != 1
        or chunk[1:] != tuple(meta.shape[1:])
        or np.dtype(array.dtype) != np.dtype("float32")
        or endian not in ("little", None)
        or not local
    ):
        return None
    zeros = (0,) * (len(meta.shape) - 1)
    return (lambda i: key((i, *zeros))), chunk[1:], float(meta.fill_value)
