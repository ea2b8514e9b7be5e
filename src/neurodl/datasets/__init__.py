"""Named real datasets under the data root: registry, checksums, explicit download.

Importing this package registers the built-in entries; it reads no files and downloads
nothing. Point ``NEURODL_DATA`` (or ``neurodl.set_config(data_root=...)``) at the data folder.

Examples
--------
>>> from neurodl.datasets import get_dataset, list_datasets
>>> "bonn" in list_datasets()
True
>>> get_dataset("bonn").sfreq
173.61
"""

from __future__ import annotations

from . import _entries  # noqa: F401  (registers the built-in datasets)
from .fetch import fetch_dataset
from .registry import (
    REGISTRY,
    DatasetEntry,
    FileRecord,
    dataset_path,
    get_dataset,
    list_datasets,
    load_dataset,
    register_dataset,
    temporary_dataset,
)
from .verify import FileCheck, VerifyReport, sha256_file, verify_dataset

__all__ = [
    "REGISTRY",
    "DatasetEntry",
    "FileCheck",
    "FileRecord",
    "VerifyReport",
    "dataset_path",
    "fetch_dataset",
    "get_dataset",
    "list_datasets",
    "load_dataset",
    "register_dataset",
    "sha256_file",
    "temporary_dataset",
    "verify_dataset",
]
