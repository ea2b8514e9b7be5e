from __future__ import annotations

import mne
import numpy as np
import pandas as pd
import pytest

from neurodl.data import Annotations, EpochsDataset, Recording, SpikeTrains, VolumeSeries
from neurodl.exceptions import DataFormatError


def _rec(rng, n_ch=3, n_t=1000, sfreq=100.0):
    ann = Annotations([1.0, 5.0], [0.5, 0.0], ["stim", "resp"])
    return Recording(
        rng.standard_normal((n_ch, n_t)),
        sfreq,
        ["C3", "Cz", "C4"][:n_ch],
        ["eeg"] * n_ch,
        ["V"] * n_ch,
        ann,
        subject="01",
        run="2",
    )


def test_recording_roundtrip_mne(rng):
    rec = _rec(rng)
    raw = rec.to_mne()
    assert isinstance(raw, mne.io.BaseRaw)
    back = Recording.from_mne(raw, subject="01", run="2")
    np.testing.assert_allclose(back.data, rec.data)
    assert back.ch_names == rec.ch_names and back.ch_types == ["eeg"] * 3
    np.testing.assert_allclose(back.annotations.onset, [1.0, 5.0])
    assert list(back.annotations.label) == ["stim", "resp"]
    assert back.recording_id == "sub-01_run-2"


def test_recording_crop_pick(rng):
    rec = _rec(rng)
    part = rec.crop(2.0, 8.0)
    assert part.n_times == 600
    np.testing.assert_allclose(part.annotations.onset, [3.0])
    assert rec.pick(["C4", "C3"]).ch_names == ["C4", "C3"]
    with pytest.raises(ValueError, match=r"Unknown channel.*'Fz'"):
        rec.pick(["Fz"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": np.zeros(10), "sfreq": 100}, "2 dimensions.*got shape \\(10,\\)"),
        ({"data": np.zeros((2, 10)), "sfreq": 0}, "positive.*got 0"),
        ({"data": np.zeros((2, 10)), "sfreq": -5}, "positive.*got -5"),
        ({"data": np.zeros((2, 10)), "sfreq": "fast"}, "number.*'fast'"),
        ({"data": np.full((2, 10), np.nan), "sfreq": 10}, "20 NaN"),
        ({"data": np.zeros((2, 10)), "sfreq": 10, "ch_names": ["a"]}, "1 entries but data has 2"),
        ({"data": np.zeros((2, 10)), "sfreq": 10, "ch_names": ["a", "a"]}, "Duplicate"),
    ],
)
def test_recording_rejects_bad_input(kwargs, match):
    with pytest.raises(DataFormatError, match=match):
        Recording(**kwargs)


def test_epochs_dataset_roundtrip_mne_and_storage(rng, tmp_path):
    X = rng.standard_normal((6, 2, 50))
    md = pd.DataFrame({"subject": ["a", "a", "a", "b", "b", "b"]})
    ds = EpochsDataset(X, np.array([0, 1, 0, 1, 0, 1]), md, sfreq=50.0, ch_names=["x", "y"])
    assert ds.groups("subject").tolist() == ["a"] * 3 + ["b"] * 3
    ep = ds.to_mne()
    back = EpochsDataset.from_mne(ep)
    np.testing.assert_allclose(back.X, X)
    np.testing.assert_array_equal(back.y, ds.y)
    folder = ds.save(tmp_path / "ds")
    loaded = EpochsDataset.load(folder, mmap=True)
    assert isinstance(loaded.X, np.memmap)
    np.testing.assert_allclose(loaded.X, X)
    assert loaded.data_hash() == ds.data_hash()
    with pytest.raises(FileExistsError):
        ds.save(folder)
    tds = ds.to_torch()
    x0, y0 = tds[1]
    assert tuple(x0.shape) == (2, 50) and int(y0) == 1


def test_epochs_dataset_rejects_mismatch():
    with pytest.raises(DataFormatError, match="y has 3 labels but X has 4"):
        EpochsDataset(np.zeros((4, 2, 5)), np.zeros(3))
    with pytest.raises(DataFormatError, match="metadata has 2 rows"):
        EpochsDataset(np.zeros((4, 2, 5)), metadata=pd.DataFrame({"subject": ["a", "b"]}))


def test_data_hash_changes_with_data(rng):
    X = rng.standard_normal((4, 2, 5))
    a = EpochsDataset(X, np.array([0, 1, 0, 1]))
    X2 = X.copy()
    X2[0, 0, 0] += 1e-9
    assert a.data_hash() != EpochsDataset(X2, np.array([0, 1, 0, 1])).data_hash()


def test_volume_series_nifti_roundtrip(rng):
    mask = np.zeros((4, 5, 3), bool)
    mask[1:3, 1:4, 1] = True
    data4d = rng.standard_normal((4, 5, 3, 7))
    vs = VolumeSeries(data4d, tr=2.0, mask=mask)
    masked = vs.apply_mask()
    assert masked.data.shape == (6, 7)
    img = masked.to_nifti()
    assert img.shape == (4, 5, 3, 7)
    assert img.header.get_zooms()[3] == pytest.approx(2.0)
    np.testing.assert_allclose(np.asarray(img.dataobj)[mask], data4d[mask], rtol=1e-6)
    with pytest.raises(DataFormatError, match="mask has 6 voxels but data has 5"):
        VolumeSeries(np.zeros((5, 7)), tr=2.0, mask=mask)


def test_spike_trains_bin():
    st = SpikeTrains([[0.01, 0.02, 0.15], [0.5]])
    counts = st.bin(0.1, 0.0, 0.6)
    assert counts.shape == (2, 6)
    assert counts[0].tolist() == [2, 1, 0, 0, 0, 0]
    assert counts[1].tolist() == [0, 0, 0, 0, 0, 1]
