"""Named real datasets under the data root: registry, checksums, explicit download.

One module per dataset that has a reader of its own holds its entry, its reader and its quirks
(:mod:`.bonn`, :mod:`.eegmmidb`, :mod:`.eegmat`, :mod:`.haxby`, :mod:`.kriegeskorte92`,
:mod:`.abide`); format-fixture collections and sets read with a generic :mod:`neurodl.io` reader
are in ``_entries.py``. Checksums are package data (``checksums/<folder>.txt``).

Importing this package registers the built-in entries and reads their checksum lists from the
package; it never touches the data root and downloads nothing. Point ``NEURODL_DATA`` (or
``neurodl.set_config(data_root=...)``) at the data folder.

Examples
--------
>>> from neurodl.datasets import get_dataset, list_datasets
>>> "bonn" in list_datasets()
True
>>> get_dataset("bonn").sfreq
173.61
"""

from __future__ import annotations

# Importing the dataset modules registers their entries.
from . import _entries  # noqa: F401
from .abide import AbideTimeSeries, read_abide
from .bonn import read_bonn
from .eegmat import read_eegmat
from .eegmmidb import read_eegmmidb
from .fetch import fetch_dataset
from .haxby import read_haxby
from .kriegeskorte92 import read_kriegeskorte92
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
    "AbideTimeSeries",
    "DatasetEntry",
    "FileCheck",
    "FileRecord",
    "VerifyReport",
    "dataset_path",
    "fetch_dataset",
    "get_dataset",
    "list_datasets",
    "load_dataset",
    "read_abide",
    "read_bonn",
    "read_eegmat",
    "read_eegmmidb",
    "read_haxby",
    "read_kriegeskorte92",
    "register_dataset",
    "sha256_file",
    "temporary_dataset",
    "verify_dataset",
]
