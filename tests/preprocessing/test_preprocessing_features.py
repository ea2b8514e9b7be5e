"""Artifact rejection (vs MNE's reject/flat) and band-power features (vs scipy.signal.welch)."""

from __future__ import annotations

import logging

import mne
import numpy as np
import pandas as pd
import pytest
from scipy import signal

from neurodl.data import EpochsDataset
from neurodl.exceptions import ConfigError, DataFormatError, NotFittedError
from neurodl.preprocessing import LogBandPower, Vectorizer, reject_by_amplitude

SFREQ = 250.0


@pytest.fixture
def noisy(rng):
    X = rng.normal(0, 1e-6, (8, 3, 100))
    X[2, 1, 50] += 500e-6  # spike on channel B
    X[5, 0] = 0.0  # flat channel A
    X[6, 2, 10] -= 400e-6  # spike on channel C
    md = {"subject": list("11112222"), "trial": np.arange(8)}
    return EpochsDataset(X, np.arange(8) % 2, pd.DataFrame(md), SFREQ, ["A", "B", "C"])


def test_rejection_matches_mne_and_reports_reasons(noisy, caplog):
    with caplog.at_level(logging.INFO, logger="neurodl"):
        kept, report = reject_by_amplitude(noisy, peak_to_peak=100e-6, flat=1e-9)
    info = mne.create_info(noisy.ch_names, SFREQ, "eeg")
    ep = mne.EpochsArray(noisy.X.copy(), info, verbose="error")
    ep.drop_bad(reject={"eeg": 100e-6}, flat={"eeg": 1e-9}, verbose="error")
    np.testing.assert_array_equal(np.flatnonzero([len(d) > 0 for d in ep.drop_log]), report.dropped)
    assert report.dropped.tolist() == [2, 5, 6]
    assert report.reasons == {2: ["peak_to_peak:B"], 5: ["flat:A"], 6: ["peak_to_peak:C"]}
    assert report.per_channel.loc["B", "peak_to_peak"] == 1
    assert report.per_channel.loc["A", "flat"] == 1
    assert report.n_total == 8 and report.n_dropped == 3 and report.n_kept == 5
    assert kept.n_samples == 5
    assert kept.metadata["trial"].tolist() == [0, 1, 3, 4, 7]
    assert kept.y.tolist() == [0, 1, 1, 0, 1]
    np.testing.assert_array_equal(kept.X, noisy.X[[0, 1, 3, 4, 7]])
    assert "Rejected 3/8" in caplog.text


def test_per_channel_thresholds(noisy):
    _, report = reject_by_amplitude(noisy, peak_to_peak=[1.0, 1.0, 100e-6])
    assert report.dropped.tolist() == [6]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ConfigError, "'peak_to_peak' and/or 'flat'"),
        ({"peak_to_peak": -1}, ConfigError, r"'peak_to_peak'.*positive.*-1"),
        ({"flat": [1, 2]}, ConfigError, r"'flat'.*per channel \(3\).*\[1, 2\]"),
    ],
)
def test_bad_rejection_inputs(noisy, kwargs, error, match):
    with pytest.raises(error, match=match):
        reject_by_amplitude(noisy, **kwargs)


def test_rejection_needs_epochs_dataset():
    with pytest.raises(TypeError, match=r"EpochsDataset.*ndarray"):
        reject_by_amplitude(np.zeros((2, 2, 2)), flat=1)
    with pytest.raises(DataFormatError, match=r"\(2, 4\)"):
        reject_by_amplitude(EpochsDataset(np.zeros((2, 4))), flat=1)


def test_log_bandpower_matches_direct_welch(rng):
    X = rng.standard_normal((5, 2, 500))
    bands = ((4, 8), (8, 13), (13, 30))
    feats = LogBandPower(SFREQ, bands=bands).fit_transform(X)
    freqs, psd = signal.welch(X, fs=SFREQ, nperseg=256, axis=-1)
    df = freqs[1] - freqs[0]
    expected = np.stack(
        [np.log(psd[..., (freqs >= lo) & (freqs < hi)].sum(-1) * df) for lo, hi in bands], axis=-1
    ).reshape(5, -1)
    np.testing.assert_allclose(feats, expected, rtol=1e-10)
    assert feats.shape == (5, 6)


def test_log_bandpower_planted_alpha(rng):
    t = np.arange(500) / SFREQ
    X = 0.1 * rng.standard_normal((6, 2, 500))
    X[:3, 1] += np.sin(2 * np.pi * 10 * t)  # alpha on channel 1 of the first three samples
    lbp = LogBandPower(SFREQ).fit(X)
    feats = lbp.transform(X).reshape(6, 2, 3)
    assert (feats[:3, 1, 1] > feats[3:, 1, 1].max() + 3).all()  # alpha band, channel 1
    assert abs(feats[:3, 1, 0].mean() - feats[3:, 1, 0].mean()) < 1.0  # theta unchanged
    assert lbp.get_feature_names_out()[:2].tolist() == ["ch0_4-8Hz", "ch0_8-13Hz"]
    assert lbp.get_feature_names_out(["C3", "C4"])[-1] == "C4_13-30Hz"


def test_periodogram_method(rng):
    X = rng.standard_normal((2, 1, 250))
    feats = LogBandPower(SFREQ, bands=[(8, 13)], method="periodogram").fit_transform(X)
    f, p = signal.periodogram(X, fs=SFREQ, window="hann", axis=-1)
    np.testing.assert_allclose(
        feats[:, 0], np.log(p[:, 0, (f >= 8) & (f < 13)].sum(-1) * (f[1] - f[0]))
    )


def test_vectorizer_roundtrip(rng):
    X = rng.standard_normal((4, 3, 5))
    v = Vectorizer().fit(X)
    np.testing.assert_array_equal(v.transform(X), X.reshape(4, 15))
    np.testing.assert_array_equal(v.inverse_transform(v.transform(X)), X)


@pytest.mark.parametrize(
    ("est", "X", "error", "match"),
    [
        (
            LogBandPower(SFREQ, bands=[(8, 200)]),
            np.zeros((1, 1, 100)),
            ConfigError,
            r"'bands'.*Nyquist \(125 Hz.*\[\(8, 200\)\]",
        ),
        (LogBandPower(SFREQ, bands=[(13, 8)]), np.zeros((1, 1, 100)), ConfigError, r"low < high"),
        (
            LogBandPower(SFREQ, bands="alpha"),
            np.zeros((1, 1, 100)),
            ConfigError,
            r"'bands'.*'alpha'",
        ),
        (
            LogBandPower(SFREQ, bands=[(8, 8.5)]),
            np.zeros((1, 1, 100)),
            ConfigError,
            r"no frequency bin.*2.5 Hz.*nperseg",
        ),
        (
            LogBandPower(SFREQ, method="fft"),
            np.zeros((1, 1, 100)),
            ConfigError,
            r"'method'.*'welch', 'periodogram'.*'fft'",
        ),
        (LogBandPower(SFREQ, nperseg=1), np.zeros((1, 1, 100)), ConfigError, r"'nperseg'.*1"),
        (LogBandPower(0), np.zeros((1, 1, 100)), ConfigError, r"'sfreq'.*0"),
        (LogBandPower(SFREQ), np.zeros((1, 100)), DataFormatError, r"\(1, 100\)"),
        (Vectorizer(), np.zeros(3), DataFormatError, r"at least 2.*\(3,\)"),
    ],
)
def test_bad_feature_inputs(est, X, error, match):
    with pytest.raises(error, match=match):
        est.fit(X)


def test_features_not_fitted_and_shape_mismatch():
    with pytest.raises(NotFittedError):
        LogBandPower(SFREQ).transform(np.zeros((1, 1, 100)))
    with pytest.raises(NotFittedError):
        Vectorizer().transform(np.zeros((1, 2)))
    lbp = LogBandPower(SFREQ).fit(np.zeros((1, 2, 300)))
    with pytest.raises(DataFormatError, match=r"\(2, 200\).*fitted on \(2, 300\)"):
        lbp.transform(np.zeros((1, 2, 200)))
    with pytest.raises(DataFormatError, match=r"\(3,\).*fitted on \(2,\)"):
        Vectorizer().fit(np.zeros((1, 2))).transform(np.zeros((1, 3)))
