"""EEGMAT reader: facts of the data README, MNE's own reading as oracle, bad input."""

from __future__ import annotations

import functools
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest

from neurodl.data import Recording
from neurodl.datasets import load_dataset
from neurodl.datasets.eegmat import read_eegmat, read_eegmat_subjects
from neurodl.exceptions import DataFormatError, DatasetError

EEGMAT = "eeg/eegmat_mental_arithmetic"
SUBJECTS = [f"Subject{i:02d}" for i in (*range(11), 14)]
SCALP = ["Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4", "T5", "T6", "P3", "P4",
         "O1", "O2", "Fz", "Cz", "Pz"]  # fmt: skip


@functools.lru_cache(maxsize=2)
def _windows(root: Path):
    return read_eegmat(root, last=60.0, window=4.0)


@pytest.mark.realdata
def test_eegmat_recordings_match_the_readme(shared_data):
    root = shared_data(EEGMAT)
    recs = load_dataset("eegmat", data_root=root.parents[1], picks="all")
    assert len(recs) == 24 and all(isinstance(r, Recording) for r in recs)
    assert sorted({r.subject for r in recs}) == SUBJECTS  # 12 subjects
    for rec in recs:
        assert rec.sfreq == 500.0 and rec.n_channels == 21  # 19 EEG + A2-A1 + ECG
        assert rec.ch_names == [*SCALP, "A2-A1", "ECG"]
        assert rec.ch_types == ["eeg"] * 19 + ["misc", "ecg"]
        assert rec.session == "1" and len(rec.annotations) == 0
        # rest ~182 s (170 s for Subject04, 188 s for Subject10), task 60 s (files hold 62 s)
        expected = {"1": ("rest", 170.0, 188.0), "2": ("task", 62.0, 62.0)}[rec.run]
        assert rec.info["condition"] == expected[0]
        assert expected[1] <= rec.duration <= expected[2]
    good = {r.subject for r in recs if r.info["count_quality"] == "good"}
    assert len(good) == 6  # 6 good and 6 bad counters here
    assert {r.info["sex"] for r in recs} == {"F", "M"}


@pytest.mark.realdata
def test_eegmat_data_match_mne(shared_data):
    root = shared_data(EEGMAT)
    (rec,) = read_eegmat(root, subjects=[3], conditions=["task"])
    raw = mne.io.read_raw_edf(root / "Subject03_2.edf", preload=True, verbose="error")
    np.testing.assert_array_equal(rec.data, raw.get_data()[:19])
    assert rec.subject == "Subject03" and rec.run == "2"
    info = read_eegmat_subjects(root).set_index("subject").loc["Subject03"]
    assert rec.info["age"] == info["age"] == 17 and rec.info["count_quality"] == "good"


@pytest.mark.realdata
def test_eegmat_windows(shared_data):
    root = shared_data(EEGMAT)
    ds = _windows(root)
    assert ds.X.shape == (12 * 2 * 15, 19, 2000)  # last 60 s, 4 s windows, 500 Hz
    assert ds.classes == ["rest", "task"] and np.bincount(ds.y).tolist() == [180, 180]
    md = ds.metadata
    assert md["subject"].nunique() == 12 and md["segment"].nunique() == 24
    assert (md.groupby("subject")["count_quality"].nunique() == 1).all()
    rest = md[(md["subject"] == "Subject00") & (md["condition"] == "rest")]
    assert rest["onset"].iloc[0] == pytest.approx(182.0 - 60.0)  # seconds within the file
    # oracle: the first rest window of Subject00 is the last minute of the EDF
    raw = mne.io.read_raw_edf(root / "Subject00_1.edf", preload=True, verbose="error")
    start = round(122.0 * 500)
    np.testing.assert_array_equal(ds.X[rest.index[0]], raw.get_data()[:19, start : start + 2000])
    quality = read_eegmat(root, subjects=[0, 1], last=8.0, window=4.0, label="count_quality")
    assert quality.classes == ["bad", "good"]
    assert quality.y.tolist() == [0] * 4 + [1] * 4  # Subject00 bad, Subject01 good counter


def _fake_root(tmp_path: Path) -> Path:
    pd.DataFrame(
        {"Subject": ["Subject00"], "Age": [21], "Gender": ["F"], "Recording year": [2011],
         "Number of subtractions": [9.7], "Count quality": [0]}
    ).to_csv(tmp_path / "subject-info.csv", index=False)  # fmt: skip
    return tmp_path


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"conditions": ["sleep"]}, ValueError, "Invalid value for 'conditions'"),
        ({"conditions": []}, ValueError, "'conditions'"),
        ({"label": "age"}, ValueError, "Invalid value for 'label'.*'condition'"),
        ({"picks": "ecg"}, ValueError, "Invalid value for 'picks'"),
        ({"window": 0}, ValueError, "Invalid value for 'window'"),
        ({"last": -1.0}, ValueError, "Invalid value for 'last'"),
        ({"stride": 1.0}, ValueError, "'stride': it needs 'window'"),
        ({}, DatasetError, "No EEGMAT recordings"),
    ],
)
def test_eegmat_bad_input(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        read_eegmat(_fake_root(tmp_path), **kwargs)


def test_eegmat_subject_table_errors(tmp_path):
    with pytest.raises(DatasetError, match="subject table missing"):
        read_eegmat_subjects(tmp_path)
    (tmp_path / "subject-info.csv").write_text("Subject,Age\nSubject00,21\n")
    with pytest.raises(DataFormatError, match=r"missing columns.*Gender"):
        read_eegmat_subjects(tmp_path)


@pytest.mark.realdata
def test_eegmat_unknown_subject(shared_data):
    with pytest.raises(ValueError, match=r"Invalid value for 'subjects'.*Subject14"):
        read_eegmat(shared_data(EEGMAT), subjects=["Subject12"])
