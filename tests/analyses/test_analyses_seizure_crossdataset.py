"""Cross-dataset protocol: simulated datasets with other rates/gains/lengths, and Bonn -> MAT."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.analyses.seizure import PostProcessing, SeizureDetector
from neurodl.analyses.seizure.crossdataset import (
    PROTOCOL,
    cross_dataset_decode,
    cross_dataset_seizure,
    harmonize_epochs,
    harmonize_recording,
    map_channels,
)
from neurodl.data import EpochsDataset
from neurodl.data.simulate import simulate_continuous_seizures
from neurodl.exceptions import DataFormatError


def test_map_channels_explicit_and_missing():
    assert map_channels(["T3", "T4", "Cz"], {"T3": "T7", "T4": "T8"}, ["T8", "T7"]) == [1, 0]
    with pytest.raises(DataFormatError, match="missing after mapping"):
        map_channels(["T3", "Cz"], None, ["T7"])
    with pytest.raises(DataFormatError, match="duplicate"):
        map_channels(["T3", "T7"], {"T3": "T7"}, None)


def test_harmonize_recording_resamples_and_renames():
    (rec,) = simulate_continuous_seizures(1, duration_hours=0.1, sfreq=256.0, n_channels=4, seed=3)
    rec.ch_names = ["Fp1", "Fp2", "C3", "OLD_C4"]
    out = harmonize_recording(rec, sfreq=128.0, channel_map={"OLD_C4": "C4"}, channels=["C4", "C3"])
    assert out.sfreq == 128.0 and out.ch_names == ["C4", "C3"]
    assert out.n_times == rec.n_times // 2
    # Annotations (seconds) survive resampling unchanged.
    np.testing.assert_allclose(out.annotations.onset, rec.annotations.onset)
    # Same content: a 10 Hz-band correlation oracle between the original (decimated) and output.
    from scipy.signal import resample_poly

    ref = resample_poly(rec.data[3].astype(float), 1, 2)
    assert np.corrcoef(ref[1000:-1000], out.data[0][1000:-1000])[0, 1] > 0.99


def test_harmonize_epochs_rewindows_segments():
    X = np.random.default_rng(0).standard_normal((3, 1, 1000))
    ds = EpochsDataset(X, np.array([0, 1, 0]), sfreq=100.0, ch_names=["ch000"])
    out = harmonize_epochs(ds, sfreq=50.0, channel_map={"ch000": "EEG"}, window=4.0)
    # 1000 samples at 100 Hz = 10 s -> 500 at 50 Hz -> two 4 s windows (200 samples) each.
    assert out.X.shape == (6, 1, 200)
    assert out.y.tolist() == [0, 0, 1, 1, 0, 0]
    assert out.ch_names == ["EEG"]
    assert out.metadata["segment"].tolist() == ["0", "0", "1", "1", "2", "2"]
    assert out.metadata["onset"].tolist() == [0.0, 4.0, 0.0, 4.0, 0.0, 4.0]
    with pytest.raises(DataFormatError, match="window"):
        harmonize_epochs(ds, sfreq=50.0, window=30.0)


def test_cross_dataset_simulated_seizures():
    # Dataset A: 128 Hz, volts, 40-min recordings. Dataset B: 256 Hz, microvolts (x 1e6),
    # 25-min recordings, old 10-20 names (T3/T4) and channels in another order.
    a = simulate_continuous_seizures(3, duration_hours=0.6, sfreq=128.0, n_channels=6, seed=10)
    b = simulate_continuous_seizures(2, duration_hours=0.45, sfreq=256.0, n_channels=6, seed=20)
    old = {"T7": "T3", "T8": "T4"}
    for rec in b:
        rec.data = rec.data[::-1] * 1e6
        rec.ch_names = [old.get(c, c) for c in rec.ch_names[::-1]]
        rec.subject = f"B{rec.subject}"
    channels = list(a[0].ch_names)
    det = SeizureDetector(postprocessing=PostProcessing(smooth=3, threshold=0.7, min_duration=8))
    ev = cross_dataset_seizure(
        a, b, det, sfreq=128.0, channels=channels, test_map={"T3": "T7", "T4": "T8"}
    )
    assert ev.protocol == PROTOCOL == "cross-dataset"
    assert set(ev.per_subject["subject"]) == {"B01", "B02"}
    assert ev.summary["auroc"] > 0.8
    assert ev.summary["sensitivity"] >= 0.5
    # Without the channel map the test dataset cannot be aligned: an error, not a silent drop.
    with pytest.raises(DataFormatError, match="missing after mapping"):
        cross_dataset_seizure(a, b, det, sfreq=128.0, channels=channels)


@pytest.mark.realdata
def test_bonn_to_mat_files_at_another_rate(shared_data, tmp_path):
    """Train on Bonn (173.61 Hz), test on Bonn segments resampled to 256 Hz, scaled to volts,
    cut to 12 s and written as a MAT file, read back through the generic array reader."""
    from scipy.io import savemat
    from scipy.signal import resample

    from neurodl.datasets.bonn import read_bonn
    from neurodl.io.arrays import read_array

    root = shared_data("eeg/bonn")
    train = read_bonn(root, sets=["A", "E"])  # whole 23.6 s segments, labels 0 (A) / 1 (E)
    # The "other site": 20 segments per class at 256 Hz, in volts, 12 s long.
    rng = np.random.default_rng(0)
    pick = np.r_[rng.choice(100, 20, replace=False), 100 + rng.choice(100, 20, replace=False)]
    seg = np.asarray(train.X)[pick, 0]
    n256 = round(seg.shape[-1] * 256.0 / train.sfreq)
    other = resample(seg, n256, axis=-1)[:, : 12 * 256] * 1e-6
    path = tmp_path / "site_b.mat"
    savemat(path, {"X": other[:, None, :], "y": np.asarray(train.y)[pick]})
    test = read_array(
        path,
        sfreq=256.0,
        axis_order="epochs_channels_times",
        key="X",
        label_key="y",
        ch_names=["EEG-B"],
    )
    assert test.X.shape == (40, 1, 12 * 256)
    common = {"sfreq": 128.0, "channels": ["EEG"], "window": 4.0}
    tr = harmonize_epochs(train, **common)
    te = harmonize_epochs(test, channel_map={"EEG-B": "EEG"}, **common)
    assert tr.X.shape[1:] == te.X.shape[1:] == (1, 512)
    res = cross_dataset_decode(tr, te, train_name="bonn", test_name="bonn-mat-256Hz")
    assert res.protocol == "cross-dataset"
    assert res.n_test == 40 * 3
    # A vs E transfers across rate, gain and segment length (within-Bonn reference: 0.997).
    assert res.scores["balanced_accuracy"] > 0.9
    assert res.scores["roc_auc"] > 0.95
