"""Provenance records: versions, platform, timestamp, JSON safety."""

from __future__ import annotations

import datetime as dt
import json
import platform

import numpy as np
import scipy
import sklearn

import neurodl
from neurodl.data import EpochsDataset
from neurodl.evaluation import get_protocol, library_versions, provenance


def test_provenance_record_has_versions_platform_and_inputs():
    ds = EpochsDataset(np.arange(12.0).reshape(6, 2), y=np.array([0, 1] * 3))
    proto = get_protocol("grouped-kfold", n_splits=3, group_by="recording")
    rec = provenance(
        protocol=proto,
        seed=7,
        data_hash=ds.data_hash(),
        config={"lr": np.float32(0.5), "layers": (1, 2), "nan": float("nan")},
    )
    json.dumps(rec, allow_nan=False)
    assert rec["protocol"] == {
        "name": "grouped-kfold",
        "groups": ["recording"],
        "permute_within": ["subject"],
        "params": {
            "n_splits": 3,
            "group_by": "recording",
            "stratify": False,
            "shuffle": True,
            "seed": 0,
        },
    }
    assert rec["seed"] == 7 and rec["data_hash"] == ds.data_hash() and len(rec["data_hash"]) == 64
    assert rec["config"] == {"lr": 0.5, "layers": [1, 2], "nan": None}
    v = rec["versions"]
    assert v["python"] == platform.python_version()
    assert v["numpy"] == np.__version__ and v["scipy"] == scipy.__version__
    assert v["scikit-learn"] == sklearn.__version__ and v["neurodl"] == neurodl.__version__
    assert {"torch", "mne", "pandas"} <= set(v)
    assert rec["platform"]["system"] == platform.system()
    stamp = dt.datetime.fromisoformat(rec["timestamp"])
    assert stamp.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 60


def test_provenance_defaults_and_plain_protocol_names():
    rec = provenance(protocol="leave-one-subject-out")
    assert rec["protocol"] == "leave-one-subject-out" and rec["seed"] is None
    assert rec["config"] == {} and rec["data_hash"] is None
    assert library_versions()["python"] == platform.python_version()
