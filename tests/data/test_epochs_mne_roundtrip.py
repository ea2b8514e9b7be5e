"""mne.Epochs -> EpochsDataset -> mne.Epochs keeps data, channel types, tmin, event_id, montage."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.data import EpochsDataset, as_epochs_dataset

mne = pytest.importorskip("mne")

CODES = {"rest": 3, "left": 10, "right": 20}


def _epochs(n: int = 9, seed: int = 1):
    rng = np.random.default_rng(seed)
    names = ["Fz", "Cz", "Pz", "EOG1", "STI"]
    info = mne.create_info(names, 250.0, ["eeg", "eeg", "eeg", "eog", "stim"])
    X = rng.normal(size=(n, 5, 40)) * 1e-5
    labels = np.array(list(CODES))[np.arange(n) % 3]
    events = np.column_stack(
        [100 + 90 * np.arange(n), np.zeros(n, int), [CODES[k] for k in labels]]
    )
    epochs = mne.EpochsArray(X, info, events, tmin=-0.2, event_id=CODES, verbose="error")
    montage = mne.channels.make_dig_montage(
        ch_pos={"Fz": [0.0, 0.07, 0.08], "Cz": [0.0, 0.0, 0.1], "Pz": [0.0, -0.07, 0.08]},
        nasion=[0.0, 0.1, 0.0],
        lpa=[-0.08, 0.0, 0.0],
        rpa=[0.08, 0.0, 0.0],
        coord_frame="head",
    )
    epochs.set_montage(montage, on_missing="ignore")
    return epochs, labels


def _assert_same(a, b):
    np.testing.assert_array_equal(a.get_data(), b.get_data())
    assert a.ch_names == b.ch_names
    assert a.get_channel_types() == b.get_channel_types()
    assert a.tmin == pytest.approx(b.tmin)
    assert a.info["sfreq"] == b.info["sfreq"]
    assert a.event_id == b.event_id
    np.testing.assert_array_equal(a.events, b.events)
    pa, pb = a.get_montage().get_positions(), b.get_montage().get_positions()
    assert pa["coord_frame"] == pb["coord_frame"]
    assert set(pa["ch_pos"]) == set(pb["ch_pos"])
    for name in pa["ch_pos"]:
        np.testing.assert_allclose(pa["ch_pos"][name], pb["ch_pos"][name])
    for key in ("nasion", "lpa", "rpa"):
        np.testing.assert_allclose(pa[key], pb[key])


def test_roundtrip_through_epochs_dataset():
    epochs, labels = _epochs()
    ds = EpochsDataset.from_mne(epochs, subject="s1", recording="rec")
    assert [ds.classes[k] for k in ds.y] == labels.tolist()
    assert ds.metadata["segment"].tolist()[:2] == ["rec_000", "rec_001"]
    back = ds.to_mne()
    _assert_same(epochs, back)
    assert set(back.metadata["subject"]) == {"s1"}


def test_roundtrip_survives_save_and_load(tmp_path):
    epochs, _ = _epochs()
    ds = EpochsDataset.from_mne(epochs)
    loaded = EpochsDataset.load(ds.save(tmp_path / "ds"), mmap=False)
    _assert_same(epochs, loaded.to_mne())


def test_subset_keeps_the_codes_of_the_classes_it_holds():
    epochs, labels = _epochs()
    ds = EpochsDataset.from_mne(epochs)
    part = ds.subset(labels == "right").to_mne()
    assert part.event_id == {"right": 20}
    assert set(part.events[:, 2]) == {20}
    assert part.get_montage() is not None


def test_plain_dataset_to_mne_uses_class_names():
    rng = np.random.default_rng(0)
    ds = EpochsDataset(rng.normal(size=(4, 2, 10)), y=np.array([0, 1, 1, 0]), sfreq=100.0)
    ds.classes = ["a", "b"]
    ep = ds.to_mne()
    assert ep.event_id == {"a": 0, "b": 1}
    assert ep.get_channel_types() == ["misc", "misc"]
    assert ep.tmin == 0.0
    np.testing.assert_array_equal(ep.get_data(), ds.X)


def test_to_mne_refuses_continuous_targets():
    ds = EpochsDataset(np.zeros((3, 2, 5)), y=np.array([0.1, 0.2, 0.3]), sfreq=10.0)
    with pytest.raises(ValueError, match="integer class labels"):
        ds.to_mne()


def test_as_epochs_dataset():
    epochs, _ = _epochs()
    ds = as_epochs_dataset(epochs)
    assert ds.classes == ["rest", "left", "right"]  # in event-code order
    assert as_epochs_dataset(ds) is ds
    with pytest.raises(
        TypeError, match=r"Allowed: an mne\.Epochs or an EpochsDataset; got ndarray"
    ):
        as_epochs_dataset(np.zeros((3, 2, 5)))
