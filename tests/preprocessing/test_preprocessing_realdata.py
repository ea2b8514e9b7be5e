"""Real recordings through the preprocessing layer (small files under NEURODL_DATA)."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from neurodl.data import Recording
from neurodl.preprocessing import (
    LogBandPower,
    epochs_from_annotations,
    filter_recording,
    make_windows,
    reject_by_amplitude,
    set_reference,
)

BONN_SFREQ = 173.61


@pytest.mark.realdata
def test_eegmmidb_imagery_epochs_match_mne(shared_data):
    path = shared_data("eeg/eegmmidb_S001/S001R04.edf")
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    rec = Recording.from_mne(raw, subject="S001", run="04")
    rec = set_reference(filter_recording(rec, 7.0, 30.0), "average")
    ds = epochs_from_annotations(rec, {"T1": 0, "T2": 1}, 0.5, 2.5)
    assert ds.X.shape == (15, 64, 321)
    assert sorted(np.bincount(ds.y).tolist()) == [7, 8]
    # oracle: the same chain in MNE
    raw.filter(7.0, 30.0, verbose="error").set_eeg_reference("average", verbose="error")
    events, _ = mne.events_from_annotations(raw, event_id={"T1": 1, "T2": 2}, verbose="error")
    ep = mne.Epochs(
        raw, events, {"T1": 1, "T2": 2}, 0.5, 2.5, baseline=None, preload=True, verbose="error"
    )
    np.testing.assert_allclose(ds.X, ep.get_data(copy=True), atol=1e-12)
    assert ds.y.tolist() == (ep.events[:, 2] - 1).tolist()


@pytest.mark.realdata
def test_bonn_windows_and_bandpower(shared_data):
    recs = []
    for folder, label in (("A_Z", 0), ("E_S", 1)):
        names = sorted(p.name for p in shared_data(f"eeg/bonn/{folder}").iterdir())[:2]
        for name in names:
            x = np.loadtxt(shared_data(f"eeg/bonn/{folder}/{name}"))[None, :]
            recs.append((Recording(x, BONN_SFREQ, ["EEG"], source=f"{folder}/{name}"), label))
    ds = make_windows(
        [r for r, _ in recs],
        window=1024 / BONN_SFREQ,
        stride=1024 / BONN_SFREQ,
        label=[lab for _, lab in recs],
    )
    assert ds.X.shape == (16, 1, 1024)  # 4097 samples -> 4 windows of 1024 per segment
    assert ds.metadata.groupby("recording").size().tolist() == [4, 4, 4, 4]
    kept, report = reject_by_amplitude(ds, flat=1.0)
    assert report.n_dropped == 0 and kept.n_samples == 16
    feats = LogBandPower(BONN_SFREQ, bands=[(1, 4), (4, 8), (8, 13), (13, 30)]).fit_transform(ds.X)
    assert feats.shape == (16, 4) and np.isfinite(feats).all()
    # ictal (E) windows carry more power than healthy (A) ones in the 1-30 Hz range
    assert feats[ds.y == 1].mean() > feats[ds.y == 0].mean()
