"""EEGMMIDB reader: oracle is the EDF read by MNE directly."""

from __future__ import annotations

import functools
from pathlib import Path

import mne
import numpy as np
import pytest

from neurodl.data import EpochsDataset
from neurodl.datasets.eegmmidb import read_eegmmidb
from neurodl.exceptions import DatasetError


@functools.lru_cache(maxsize=4)
def _mmidb(root: Path, **kwargs) -> EpochsDataset:
    return read_eegmmidb(root, **kwargs)


@pytest.mark.realdata
def test_eegmmidb_imagery_lr(shared_data):
    root = shared_data("eeg/eegmmidb_S001")
    ds = _mmidb(root)
    assert ds.X.shape == (45, 64, 640)  # 3 runs x 15 cues; 4 s at 160 Hz
    assert ds.sfreq == 160.0
    assert ds.classes == ["left_fist", "right_fist"]
    counts = np.bincount(ds.y, minlength=2)
    assert counts.sum() == 45 and counts.min() >= 20
    assert all("." not in c for c in ds.ch_names) and {"C3", "Cz", "C4", "Fcz"} <= set(ds.ch_names)
    md = ds.metadata
    assert sorted(md["run"].unique()) == ["12", "4", "8"]
    assert set(md["recording"]) == {"S001R04", "S001R08", "S001R12"}
    assert (md["subject"] == "S001").all() and md["segment"].nunique() == 45
    assert md.groupby("run")["trial"].apply(list).map(lambda t: t == list(range(15))).all()
    # oracle: the first epoch of run 8 cut from MNE's own reading of the EDF
    raw = mne.io.read_raw_edf(root / "S001R08.edf", preload=True, verbose="error")
    ann = raw.annotations[np.isin(raw.annotations.description, ["T1", "T2"])]
    row = md.index[(md["run"] == "8") & (md["trial"] == 0)][0]
    assert md.loc[row, "onset"] == pytest.approx(ann.onset[0])
    assert ds.y[row] == {"T1": 0, "T2": 1}[ann.description[0]]
    start = round(ann.onset[0] * 160)
    np.testing.assert_array_equal(ds.X[row], raw.get_data()[:, start : start + 640])


@pytest.mark.realdata
def test_eegmmidb_rest_and_filter(shared_data):
    root = shared_data("eeg/eegmmidb_S001")
    ds = read_eegmmidb(root, task="rest", tmin=0.0, tmax=2.0, l_freq=8.0, h_freq=30.0)
    assert ds.classes == ["eyes_open", "eyes_closed"]
    assert ds.X.shape == (60, 64, 320)  # 2 runs x 60 s / 2 s windows
    np.testing.assert_array_equal(np.bincount(ds.y), [30, 30])
    assert list(ds.metadata.loc[ds.y == 1, "run"].unique()) == ["2"]
    freqs = np.fft.rfftfreq(320, 1 / 160)
    power = (np.abs(np.fft.rfft(ds.X, axis=-1)) ** 2).mean(axis=(0, 1))
    in_band = power[(freqs >= 9) & (freqs <= 28)].mean()
    assert power[(freqs >= 1) & (freqs <= 4)].mean() < 0.05 * in_band  # planted: the band-pass
    assert power[freqs >= 45].mean() < 0.05 * in_band


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("task", "runs", "classes"),
    [
        ("real_lr", {"3", "7", "11"}, ["left_fist", "right_fist"]),
        ("imagery_fists_feet", {"6", "10", "14"}, ["both_fists", "both_feet"]),
    ],
)
def test_eegmmidb_tasks(shared_data, task, runs, classes):
    ds = read_eegmmidb(shared_data("eeg/eegmmidb_S001"), task=task, tmin=0.5, tmax=2.5)
    assert set(ds.metadata["run"]) == runs and ds.classes == classes
    assert ds.X.shape[1:] == (64, 320) and len(ds) >= 40
    assert set(ds.metadata["event"]) == {"T1", "T2"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"task": "imagery"}, ValueError, "Invalid value for 'task'.*'imagery_lr'"),
        ({"tmin": 2.0, "tmax": 1.0}, ValueError, "tmax > tmin"),
        ({"subject": "sub1"}, ValueError, "'subject'"),
        ({"subject": 2}, DatasetError, r"S002R04\.edf"),
    ],
)
def test_eegmmidb_bad(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_eegmmidb(tmp_path, **kwargs)


@pytest.mark.realdata
def test_eegmmidb_physionet_layout(shared_data, tmp_path):
    """Files may also sit in a ``S001/`` sub-folder, as on PhysioNet."""
    src = shared_data("eeg/eegmmidb_S001")
    (tmp_path / "S001").mkdir()
    for run in (4, 8, 12):
        (tmp_path / "S001" / f"S001R{run:02d}.edf").symlink_to(src / f"S001R{run:02d}.edf")
    ds = read_eegmmidb(tmp_path, subject=1, tmin=-0.5, tmax=0.5)
    assert ds.X.shape[1:] == (64, 160) and ds.metadata["subject"].eq("S001").all()
    ref = _mmidb(src)
    np.testing.assert_array_equal(ds.y, ref.y)
    np.testing.assert_array_equal(ds.X[:, :, 80:], ref.X[:, :, :80])  # tmin shifts the window
