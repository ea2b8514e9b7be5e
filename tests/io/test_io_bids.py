"""BIDS reader: small trees written from real fixtures (mne-bids EEG, Haxby fMRI runs)."""

from __future__ import annotations

import json
import logging
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodl.data import Recording, VolumeSeries
from neurodl.exceptions import DataFormatError, DatasetError
from neurodl.io import read
from neurodl.io.bids import BIDSFile, find_bids_files, read_bids
from neurodl.io.fmri import volumes_to_dataset

HAXBY_RUNS = "fmri/haxby2001_pymvpa/bids_like/sub001/BOLD"
EDF = "eeg/mne_testing_subset/EDF/test_reduced.edf"
N_VOL = 30  # volumes kept per fMRI run (75 s: the first two blocks)


def _write_func(root, src_run, sub, task, run, n_vol=N_VOL):
    """Crop one Haxby run to ``n_vol`` volumes and write it (and its events) as BIDS."""
    img = nib.load(src_run / "bold_1slice.nii.gz")
    data = np.asarray(img.dataobj)[..., :n_vol]
    out = nib.Nifti1Image(data, img.affine, img.header)
    func = root / f"sub-{sub}" / "func"
    func.mkdir(parents=True, exist_ok=True)
    stem = f"sub-{sub}_task-{task}_run-{run}"
    nib.save(out, func / f"{stem}_bold.nii.gz")
    ev = pd.read_csv(src_run / "bold_events.tsv", sep="\t")
    ev = ev[ev["onset"] < n_vol * 2.5]
    ev.to_csv(func / f"{stem}_events.tsv", sep="\t", index=False)
    return data, ev


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory):
    import os
    from pathlib import Path

    data_root = os.environ.get("NEURODL_DATA")
    if data_root is None:
        pytest.skip("real data not available: set NEURODL_DATA (e.g. NEURODL_DATA=../shared/data)")
    data_root = Path(data_root)
    import mne
    import mne_bids

    root = tmp_path_factory.mktemp("bids")
    raw = mne.io.read_raw_edf(data_root / EDF, preload=True, verbose="error")
    raw.pick(raw.ch_names[:6]).crop(0, 4, include_tmax=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # test setup only: mne-bids' conversion notes
        for sub, run in (("01", "1"), ("01", "2"), ("02", "1")):
            path = mne_bids.BIDSPath(subject=sub, task="rest", run=run, root=root, datatype="eeg")
            mne_bids.write_raw_bids(raw, path, allow_preload=True, format="EDF", verbose=False)
    runs = data_root / HAXBY_RUNS
    truth = {
        ("01", "1"): _write_func(root, runs / "task001_run001", "01", "objects", "01"),
        ("01", "2"): _write_func(root, runs / "task001_run002", "01", "objects", "02"),
        ("02", "1"): _write_func(root, runs / "task001_run003", "02", "objects", "01"),
    }
    # inherited sidecar at the root; sub-02 overrides it with a run-level file
    (root / "task-objects_bold.json").write_text(json.dumps({"RepetitionTime": 2.5}))
    (root / "sub-02" / "func" / "sub-02_task-objects_run-01_bold.json").write_text(
        json.dumps({"RepetitionTime": 3.0, "TaskName": "objects"})
    )
    return root, raw, truth


@pytest.mark.realdata
def test_find_bids_files_entities(bids_root):
    root, _, _ = bids_root
    files = find_bids_files(root)
    assert all(isinstance(f, BIDSFile) for f in files)
    kinds = sorted((f.datatype, f.subject, f.task, f.run) for f in files)
    assert kinds == [
        ("eeg", "01", "rest", "1"),
        ("eeg", "01", "rest", "2"),
        ("eeg", "02", "rest", "1"),
        ("func", "01", "objects", "01"),
        ("func", "01", "objects", "02"),
        ("func", "02", "objects", "01"),
    ]
    func = find_bids_files(root, datatype="func", subjects="sub-01", runs=2)
    assert [f.path.name for f in func] == ["sub-01_task-objects_run-02_bold.nii.gz"]


@pytest.mark.realdata
def test_read_bids_func_events_and_tr(bids_root, caplog):
    root, _, truth = bids_root
    with caplog.at_level(logging.WARNING, logger="neurodl"):
        series = read_bids(root, datatype="func")
    assert [type(s) for s in series] == [VolumeSeries] * 3
    assert [(s.subject, s.run) for s in series] == [("01", "01"), ("01", "02"), ("02", "01")]
    for vs, key in zip(series, [("01", "1"), ("01", "2"), ("02", "1")]):
        data, ev = truth[key]
        np.testing.assert_array_equal(vs.data, data)
        pd.testing.assert_frame_equal(vs.events, ev.reset_index(drop=True))
        assert vs.info["task"] == "objects"
    assert [s.tr for s in series] == [2.5, 2.5, 3.0]  # root sidecar, then run-level override
    assert "differs from the sidecar RepetitionTime 3" in caplog.text
    ds = volumes_to_dataset(series[0])
    assert ds.classes == ["face", "scissors"]
    assert ds.metadata["volume"].tolist() == list(range(6, 15)) + list(range(21, 30))


@pytest.mark.realdata
def test_read_bids_eeg_through_mne_bids(bids_root):
    root, raw, _ = bids_root
    recs = read_bids(root, datatype="eeg", subjects=["01"], tasks="rest")
    assert [type(r) for r in recs] == [Recording] * 2
    assert [(r.subject, r.run) for r in recs] == [("01", "1"), ("01", "2")]
    rec = recs[0]
    assert rec.ch_names == raw.ch_names and rec.sfreq == raw.info["sfreq"]
    expected = raw.get_data()
    # EDF stores 16-bit integers over a (rounded) physical range: allow 0.1 % of the range
    step = np.ptp(expected, axis=1, keepdims=True) / 1000
    assert rec.data.shape == expected.shape
    assert (np.abs(rec.data - expected) <= step).all()
    labels = [str(x) for x in rec.annotations.label]
    assert labels.count("type A") == 3 and labels.count("type B") == 1
    b = rec.annotations.onset[rec.annotations.label == "type B"]
    np.testing.assert_allclose(
        b,
        raw.annotations.onset[raw.annotations.description == "type B"],
        atol=1 / raw.info["sfreq"],
    )


@pytest.mark.realdata
def test_io_read_dispatches_bids_root(bids_root):
    root, _, _ = bids_root
    items = read(root, subjects="02", datatype="func")
    assert len(items) == 1 and items[0].subject == "02" and items[0].tr == 3.0


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"subjects": "05"}, DatasetError, r"'subjects': \['05'\].*Available: \['01', '02'\]"),
        ({"tasks": ["nback"]}, DatasetError, r"'tasks'.*Available: \['objects', 'rest'\]"),
        ({"tasks": "rest", "datatype": "func"}, DatasetError, r"Available: \['objects'\]"),
        ({"runs": 7}, DatasetError, r"'runs'.*Available"),
        ({"sessions": "1"}, DatasetError, r"'sessions'.*Available: \[\]"),
        ({"subjects": "02", "runs": 2}, DatasetError, "no data files match"),
        ({"datatype": "anat"}, ValueError, r"'datatype'.*'func'.*got 'anat'"),
        ({"subjects": []}, ValueError, r"'subjects'.*empty list"),
    ],
)
def test_bad_selection(bids_root, kwargs, error, match):
    root, _, _ = bids_root
    with pytest.raises(error, match=match):
        read_bids(root, **kwargs)


def test_not_a_bids_root(tmp_path):
    (tmp_path / "sub-01").mkdir()
    with pytest.raises(DataFormatError, match=r"not a BIDS root: dataset_description\.json"):
        read_bids(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        find_bids_files(tmp_path / "nowhere")
    (tmp_path / "dataset_description.json").write_text("{}")
    with pytest.raises(DatasetError, match="no data files found"):
        read_bids(tmp_path)


def test_synthetic_func_run_without_sidecar_uses_header(tmp_path):
    (tmp_path / "dataset_description.json").write_text(json.dumps({"Name": "x"}))
    func = tmp_path / "sub-a" / "ses-2" / "func"
    func.mkdir(parents=True)
    data = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((1, 1, 1, 1.7))
    nib.save(img, func / "sub-a_ses-2_task-t_bold.nii")
    (func / "sub-a_ses-2_task-t_bold.json").write_text("{not json")
    with pytest.raises(DataFormatError, match=r"bold\.json: invalid JSON sidecar"):
        read_bids(tmp_path)
    (func / "sub-a_ses-2_task-t_bold.json").unlink()
    (vs,) = read_bids(tmp_path, sessions="ses-2")
    assert (vs.subject, vs.session, vs.run, vs.events) == ("a", "2", None, None)
    assert vs.tr == pytest.approx(1.7)
    np.testing.assert_array_equal(vs.data, data)
    # a root-level sidecar applies by inheritance and wins over the header
    (tmp_path / "task-t_bold.json").write_text(json.dumps({"RepetitionTime": 0.9}))
    (tmp_path / "task-other_bold.json").write_text(json.dumps({"RepetitionTime": 5.0}))
    (vs,) = read_bids(tmp_path)
    assert vs.tr == pytest.approx(0.9) and vs.info["tr_source"] == "sidecar RepetitionTime"
