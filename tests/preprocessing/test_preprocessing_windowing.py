"""Windows stay inside recordings and labelled regions; epochs match mne.Epochs."""

from __future__ import annotations

import logging

import mne
import numpy as np
import pytest

from neurodl.data import Annotations, Recording
from neurodl.exceptions import ConfigError, DataFormatError
from neurodl.preprocessing import epochs_from_annotations, make_windows

SFREQ = 100.0


def _ramp_rec(n_times, offset, **kw):
    """Channel 0 holds a unique time stamp per sample: offset + sample index."""
    data = np.vstack([offset + np.arange(n_times, dtype=float), np.zeros(n_times)])
    return Recording(data, SFREQ, ["a", "b"], **kw)


def test_windows_never_cross_recordings_and_have_correct_onsets():
    recs = [
        _ramp_rec(1050, 0, subject="1", session="s", run="r"),
        _ramp_rec(700, 10_000, subject="2"),
    ]
    ds = make_windows(recs, window=2.0, stride=1.5)
    md = ds.metadata
    # 1050 samples: starts 0,150,...,750 (850+200>1050) -> 6 ; 700: 0,150,300,450 -> 4
    assert ds.X.shape == (10, 2, 200)
    assert md["recording"].tolist() == ["sub-1_ses-s_run-r"] * 6 + ["sub-2"] * 4
    assert md["segment"].tolist() == md["recording"].tolist()
    assert md["subject"].tolist() == ["1"] * 6 + ["2"] * 4
    assert md["session"].tolist()[0] == "s" and md["run"].tolist()[0] == "r"
    assert md["trial"].tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3]
    np.testing.assert_allclose(md["onset"], [0, 1.5, 3, 4.5, 6, 7.5, 0, 1.5, 3, 4.5])
    stamps = ds.X[:, 0, :]
    offsets = np.where(md["subject"] == "1", 0, 10_000)
    # each window is contiguous samples of ONE recording starting at its onset
    expected = offsets[:, None] + (md["onset"].to_numpy() * SFREQ)[:, None] + np.arange(200)
    np.testing.assert_array_equal(stamps, expected)
    assert ds.info["window_s"] == 2.0 and ds.info["stride_s"] == 1.5 and ds.info["sfreq"] == SFREQ
    assert ds.y is None and ds.sfreq == SFREQ and ds.ch_names == ["a", "b"]


def test_fixed_label_per_recording():
    recs = [_ramp_rec(500, 0, subject="1"), _ramp_rec(500, 0, subject="2")]
    ds = make_windows(recs, window=1.0, stride=1.0, label=[3, 4], classes=None)
    assert ds.y.tolist() == [3] * 5 + [4] * 5
    assert make_windows(recs, window=1.0, stride=1.0, label=1).y.tolist() == [1] * 10


def test_labels_from_annotations_never_cross_boundaries():
    ann = Annotations([3.0], [4.0], ["seizure"])  # seizure [3, 7) s
    rec = _ramp_rec(1000, 0, annotations=ann, subject="1")
    ds = make_windows(
        rec,
        window=2.0,
        stride=1.0,
        label_from_annotations={"seizure": 1},
        classes=["bg", "seizure"],
    )
    on = ds.metadata["onset"].to_numpy()
    end = on + 2.0
    y = ds.y
    # region [0,3): starts 0,1 ; [3,7): 3,4,5 ; [7,10): 7,8
    np.testing.assert_allclose(on, [0, 1, 3, 4, 5, 7, 8])
    assert y.tolist() == [0, 0, 1, 1, 1, 0, 0]
    crosses = (on < 3) & (end > 3) | (on < 7) & (end > 7)
    assert not crosses.any()
    assert ((on >= 3) & (end <= 7) == (y == 1)).all()
    assert ds.classes == ["bg", "seizure"]
    # window content matches the onset
    np.testing.assert_array_equal(ds.X[:, 0, 0], on * SFREQ)


def test_duplicate_recording_ids_are_told_apart(caplog):
    recs = [_ramp_rec(300, 0), _ramp_rec(300, 0)]
    with caplog.at_level(logging.INFO, logger="neurodl"):
        ds = make_windows(recs, window=1.0, stride=1.0)
    assert ds.metadata["recording"].tolist() == ["recording#0"] * 3 + ["recording#1"] * 3
    assert "share the id" in caplog.text


@pytest.mark.parametrize(
    ("recs", "kwargs", "error", "match"),
    [
        ([], {}, ConfigError, "at least one Recording"),
        ([np.zeros((2, 10))], {}, TypeError, r"recordings\[0\].*ndarray"),
        ("two_rates", {}, DataFormatError, r"sampling rate.*100 Hz.*200 Hz"),
        ("two_montages", {}, DataFormatError, r"same channels"),
        ("one", {"window": 0}, ConfigError, r"'window'.*0"),
        ("one", {"window": 0.001}, ConfigError, r"'window'.*shorter than one sample"),
        ("one", {"stride": -1}, ConfigError, r"'stride'.*-1"),
        ("one", {"window": 100.0}, DataFormatError, r"No window of 100 s.*10 s"),
        ("one", {"label": 1, "label_from_annotations": {"x": 1}}, ConfigError, "at most one"),
        ("one", {"label": [1, 2]}, ConfigError, r"one per recording \(1\); got 2"),
        (
            "one",
            {"label_from_annotations": {"seizure": 1}},
            ConfigError,
            r"\['seizure'\] occur.*Present: \['artifact'\]",
        ),
        ("one", {"label_from_annotations": {}}, ConfigError, "non-empty dict"),
    ],
)
def test_bad_window_inputs(recs, kwargs, error, match):
    ann = Annotations([1.0], [1.0], ["artifact"])
    base = _ramp_rec(1000, 0, annotations=ann)
    table = {
        "one": [base],
        "two_rates": [base, Recording(np.zeros((2, 10)), 200.0, ["a", "b"])],
        "two_montages": [base, Recording(np.zeros((2, 10)), SFREQ, ["a", "c"])],
    }
    recs = table.get(recs, recs) if isinstance(recs, str) else recs
    args = {"window": 1.0, "stride": 1.0, **kwargs}
    with pytest.raises(error, match=match):
        make_windows(recs, **args)


def test_overlapping_annotation_labels_are_rejected():
    ann = Annotations([1.0, 1.5], [1.0, 1.0], ["a", "b"])
    rec = _ramp_rec(500, 0, annotations=ann)
    with pytest.raises(DataFormatError, match="overlaps"):
        make_windows(rec, window=0.5, stride=0.5, label_from_annotations={"a": 1, "b": 2})


# --------------------------------------------------------------------------- epochs
@pytest.fixture
def event_rec(rng):
    onsets = [0.1, 1.0, 2.0, 3.0, 4.0, 5.95]  # the first and last are too close to the edges
    labels = ["left", "right", "left", "rest", "right", "left"]
    ann = Annotations(onsets, np.zeros(6), labels)
    return Recording(
        rng.standard_normal((3, 600)) + 5.0,
        SFREQ,
        ["C3", "Cz", "C4"],
        ["eeg"] * 3,
        annotations=ann,
        subject="7",
    )


@pytest.mark.parametrize("baseline", [None, (None, 0.0), (-0.2, -0.1)])
def test_epochs_match_mne_epochs(event_rec, baseline, caplog):
    with caplog.at_level(logging.INFO, logger="neurodl"):
        ds = epochs_from_annotations(
            event_rec, {"left": 0, "right": 1}, -0.2, 0.5, baseline=baseline
        )
    raw = event_rec.to_mne()
    events, _ = mne.events_from_annotations(raw, event_id={"left": 1, "right": 2}, verbose="error")
    ep = mne.Epochs(
        raw,
        events,
        {"left": 1, "right": 2},
        -0.2,
        0.5,
        baseline=baseline,
        picks="all",
        preload=True,
        verbose="error",
    )
    np.testing.assert_allclose(ds.X, ep.get_data(copy=True))
    assert ds.y.tolist() == [1, 0, 1] == (ep.events[:, 2] - 1).tolist()
    assert ds.classes == ["left", "right"]
    np.testing.assert_allclose(ds.metadata["event_onset"], [1.0, 2.0, 4.0])
    np.testing.assert_allclose(ds.metadata["onset"], [0.8, 1.8, 3.8])
    assert ds.info["n_dropped_edge"] == 2
    np.testing.assert_allclose(ds.info["dropped_onsets"], [0.1, 5.95])
    assert ds.info["window_s"] == pytest.approx(0.71)
    assert "dropped 2 event(s)" in caplog.text
    assert set(ds.metadata["subject"]) == {"7"}


def test_epochs_from_label_list(event_rec):
    ds = epochs_from_annotations(event_rec, ["rest", "right"], 0.0, 0.5)
    assert ds.y.tolist() == [1, 0, 1] and ds.classes == ["rest", "right"]
    assert ds.X.shape == (3, 3, 51)
    np.testing.assert_array_equal(ds.X[1], event_rec.data[:, 300:351])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"event_labels": ["blink"]}, r"\['blink'\] occur.*Present: \['left', 'rest', 'right'\]"),
        ({"event_labels": []}, "at least one"),
        ({"tmin": 0.5, "tmax": 0.2}, r"'tmin' must be below 'tmax'.*0.5.*0.2"),
        ({"tmin": "x"}, r"numbers"),
        ({"baseline": (0.3, 0.1)}, r"'baseline'.*\(0.3, 0.1\)"),
        ({"baseline": (-1.0, 0.0)}, r"'baseline' must lie within"),
        ({"baseline": 0.1}, r"'baseline'.*pair"),
        ({"tmin": -3.0, "tmax": 3.0}, r"every event is too close"),
    ],
)
def test_bad_epoch_inputs(event_rec, kwargs, match):
    args = {"event_labels": ["left"], "tmin": -0.2, "tmax": 0.5, **kwargs}
    with pytest.raises(ConfigError, match=match):
        epochs_from_annotations(event_rec, **args)
