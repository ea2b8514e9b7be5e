"""Re-referencing checked against mne.set_eeg_reference / mne.set_bipolar_reference."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from neurodl.data import Recording
from neurodl.exceptions import ConfigError
from neurodl.preprocessing import set_reference

NAMES = ["Fp1", "F7", "Cz", "O1"]


@pytest.fixture
def rec(rng):
    return Recording(rng.standard_normal((4, 300)), 100.0, NAMES, ["eeg"] * 4, ["V"] * 4)


def test_average_reference_matches_mne(rec):
    out = set_reference(rec, "average")
    raw, _ = mne.set_eeg_reference(rec.to_mne(), "average", copy=True, verbose="error")
    np.testing.assert_allclose(out.data, raw.get_data())
    np.testing.assert_allclose(out.data.sum(axis=0), 0, atol=1e-12)


@pytest.mark.parametrize("ref", [["Cz"], ["Cz", "O1"]])
def test_channel_reference_matches_mne(rec, ref):
    out = set_reference(rec, ref)
    raw, _ = mne.set_eeg_reference(rec.to_mne(), ref, copy=True, verbose="error")
    np.testing.assert_allclose(out.data, raw.get_data())
    assert out.ch_names == NAMES


def test_bipolar_matches_mne(rec):
    pairs = [("Fp1", "F7"), ("Cz", "O1")]
    out = set_reference(rec, bipolar=pairs)
    raw = mne.set_bipolar_reference(
        rec.to_mne(), [a for a, _ in pairs], [c for _, c in pairs], copy=True, verbose="error"
    )
    assert out.ch_names == raw.ch_names == ["Fp1-F7", "Cz-O1"]
    np.testing.assert_allclose(out.data, raw.get_data())
    assert out.ch_types == ["eeg", "eeg"]


def test_bipolar_keep_refs_appends_channels(rec):
    out = set_reference(rec, bipolar=[("Fp1", "F7")], drop_refs=False)
    assert out.ch_names == [*NAMES, "Fp1-F7"]
    np.testing.assert_allclose(out.data[-1], rec.data[0] - rec.data[1])


def test_only_eeg_like_channels_are_rereferenced(rng):
    rec = Recording(
        rng.standard_normal((3, 50)), 100.0, ["C3", "C4", "STI"], ["eeg", "eeg", "stim"]
    )
    out = set_reference(rec, "average")
    np.testing.assert_array_equal(out.data[2], rec.data[2])
    np.testing.assert_allclose(out.data[:2], rec.data[:2] - rec.data[:2].mean(axis=0))
    # synthetic misc channels: all of them
    misc = Recording(rec.data, 100.0)
    np.testing.assert_allclose(
        set_reference(misc, "average").data, rec.data - rec.data.mean(axis=0)
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ref": ["Pz"]}, r"Unknown reference channel.*'Pz'.*Available.*'Fp1', 'F7', 'Cz', 'O1'"),
        ({"bipolar": [("Fp1", "T3")]}, r"Unknown bipolar channel.*'T3'.*Available.*'Fp1'"),
        ({"ref": "mean"}, r"'ref'.*'average'.*'mean'"),
        ({}, r"exactly one of 'ref'.*'bipolar'"),
        ({"ref": "average", "bipolar": [("Fp1", "F7")]}, r"exactly one"),
        ({"ref": []}, r"at least one"),
        ({"bipolar": []}, r"at least one"),
        ({"bipolar": ["Fp1"]}, r"pairs"),
        ({"ref": "average", "ch_types": ["seeg"]}, r"No channels of type.*seeg.*present.*eeg"),
    ],
)
def test_bad_reference(rec, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        set_reference(rec, **kwargs)
