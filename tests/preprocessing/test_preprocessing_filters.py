"""Filtering and resampling: MNE/SciPy oracles, planted spectral effects, bad inputs."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from scipy import signal

from neurodl.data import Annotations, Recording
from neurodl.exceptions import ConfigError, DataFormatError, NotFittedError
from neurodl.preprocessing import (
    BandpassFilter,
    NotchFilter,
    Resample,
    filter_recording,
    notch_filter_recording,
    resample_recording,
)

SFREQ = 250.0


def _sines(freqs, n_times=2500, n_ch=2, sfreq=SFREQ, rng=None):
    t = np.arange(n_times) / sfreq
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs)
    out = np.tile(x, (n_ch, 1))
    if rng is not None:
        out = out + 0.01 * rng.standard_normal(out.shape)
    return out


def _power_at(x, f, sfreq=SFREQ):
    freqs, psd = signal.welch(x, fs=sfreq, nperseg=500, axis=-1)
    return psd[..., np.argmin(np.abs(freqs - f))]


@pytest.mark.parametrize(
    ("method", "phase"), [("fir", "zero"), ("iir", "zero"), ("fir", "causal"), ("iir", "causal")]
)
def test_bandpass_keeps_10hz_removes_40hz(method, phase, rng):
    rec = Recording(_sines([10, 40], rng=rng), SFREQ)
    out = filter_recording(rec, 8.0, 12.0, method=method, phase=phase)
    before10, before40 = _power_at(rec.data, 10), _power_at(rec.data, 40)
    after10, after40 = _power_at(out.data, 10), _power_at(out.data, 40)
    np.testing.assert_allclose(after10, before10, rtol=0.2)
    assert (after40 < 1e-3 * before40).all()
    assert out is not rec and rec.data is not out.data


def test_filter_recording_matches_mne_and_keeps_annotations(rng):
    ann = Annotations([1.0], [2.0], ["seizure"])
    rec = Recording(rng.standard_normal((3, 2000)), SFREQ, annotations=ann, subject="01")
    out = filter_recording(rec, 1.0, 30.0)
    oracle = mne.filter.filter_data(rec.data, SFREQ, 1.0, 30.0, verbose="error")
    np.testing.assert_allclose(out.data, oracle)
    np.testing.assert_array_equal(out.annotations.onset, [1.0])
    assert out.subject == "01"
    # the input is untouched
    assert not np.allclose(rec.data, out.data)


def test_causal_filter_output_does_not_see_the_future(rng):
    x = rng.standard_normal((1, 2000))
    y = x.copy()
    y[:, 1500:] += 10 * rng.standard_normal((1, 500))
    a = filter_recording(Recording(x, SFREQ), 8.0, 30.0, method="iir", phase="causal").data
    b = filter_recording(Recording(y, SFREQ), 8.0, 30.0, method="iir", phase="causal").data
    np.testing.assert_allclose(a[:, :1500], b[:, :1500])
    assert not np.allclose(a[:, 1500:], b[:, 1500:])


def test_notch_removes_line_noise_and_matches_mne(rng):
    rec = Recording(_sines([10, 50], rng=rng), SFREQ)
    out = notch_filter_recording(rec, [50.0])
    np.testing.assert_allclose(
        out.data, mne.filter.notch_filter(rec.data, SFREQ, [50.0], verbose="error")
    )
    assert (_power_at(out.data, 50) < 1e-2 * _power_at(rec.data, 50)).all()
    np.testing.assert_allclose(_power_at(out.data, 10), _power_at(rec.data, 10), rtol=0.2)


def test_bandpass_transformer_matches_function_per_epoch(rng):
    X = rng.standard_normal((4, 2, 1000))
    Xt = BandpassFilter(8.0, 30.0, sfreq=SFREQ).fit(X).transform(X)
    for i in range(len(X)):
        np.testing.assert_allclose(Xt[i], filter_recording(Recording(X[i], SFREQ), 8.0, 30.0).data)
    Xn = NotchFilter(50.0, sfreq=SFREQ).fit_transform(X)
    np.testing.assert_allclose(Xn, mne.filter.notch_filter(X, SFREQ, [50.0], verbose="error"))


def test_short_epochs_warn_through_logger_not_python_warnings(rng, caplog):
    X = rng.standard_normal((2, 1, 100))
    with caplog.at_level("WARNING", logger="neurodl"):
        BandpassFilter(1.0, 30.0, sfreq=SFREQ).fit_transform(X)
    assert "longer than the signal" in caplog.text


def test_resample_matches_mne_raw_resample_and_keeps_annotations(rng):
    ann = Annotations([2.0], [1.0], ["x"])
    rec = Recording(_sines([5], n_times=2000, rng=rng), SFREQ, annotations=ann)
    out = resample_recording(rec, 100.0)
    assert out.sfreq == 100.0 and out.n_times == 800
    oracle = rec.to_mne().resample(100.0, verbose="error").get_data()
    np.testing.assert_allclose(out.data, oracle, atol=1e-12)
    np.testing.assert_array_equal(out.annotations.onset, [2.0])
    assert out.duration == pytest.approx(rec.duration)
    # the 5 Hz sine survives
    assert np.argmax(np.abs(np.fft.rfft(out.data[0]))) * 100.0 / 800 == pytest.approx(5.0)


def test_resample_transformer_shape_and_identity(rng):
    X = rng.standard_normal((3, 2, 400))
    assert Resample(new_sfreq=100.0, sfreq=200.0).fit_transform(X).shape == (3, 2, 200)
    np.testing.assert_array_equal(Resample(new_sfreq=200.0, sfreq=200.0).fit_transform(X), X)


BAD_FILTER = [
    ({"l_freq": 8.0, "h_freq": 125.0}, ConfigError, r"h_freq.*Nyquist.*125.*sfreq=250.*h_freq=125"),
    ({"l_freq": 8.0, "h_freq": 200.0}, ConfigError, r"sfreq=250.*h_freq=200"),
    ({"l_freq": 30.0, "h_freq": 8.0}, ConfigError, r"l_freq=30.*h_freq=8"),
    ({"l_freq": 10.0, "h_freq": 10.0}, ConfigError, r"'l_freq' must be below 'h_freq'"),
    ({"l_freq": None, "h_freq": None}, ConfigError, r"l_freq.*h_freq.*both None"),
    ({"l_freq": -1.0, "h_freq": 30.0}, ConfigError, r"'l_freq'.*positive.*-1"),
    ({"l_freq": "a", "h_freq": 30.0}, ConfigError, r"'l_freq'.*'a'"),
    (
        {"l_freq": 1.0, "h_freq": 30.0, "method": "butter"},
        ConfigError,
        r"'method'.*'fir'.*'butter'",
    ),
    (
        {"l_freq": 1.0, "h_freq": 30.0, "phase": "minimum"},
        ConfigError,
        r"'phase'.*'causal'.*'minimum'",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_FILTER)
def test_bad_filter_params(kwargs, error, match):
    rec = Recording(np.zeros((1, 1000)), SFREQ)
    with pytest.raises(error, match=match):
        filter_recording(rec, **kwargs)
    with pytest.raises(error, match=match):
        BandpassFilter(sfreq=SFREQ, **kwargs).fit(np.zeros((2, 1, 1000)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda r: notch_filter_recording(r, [125.0]), ConfigError, r"Nyquist.*125.*freqs=\[125"),
        (lambda r: notch_filter_recording(r, []), ConfigError, r"'freqs'.*\[\]"),
        (lambda r: notch_filter_recording(r, [-50]), ConfigError, r"'freqs'"),
        (lambda r: resample_recording(r, 0), ConfigError, r"'sfreq'.*0"),
        (lambda r: filter_recording(r.data, 1, 30), TypeError, r"'rec'.*Recording.*ndarray"),
        (
            lambda r: BandpassFilter(1, 30, SFREQ).fit(r.data),
            DataFormatError,
            r"3 dim.*\(1, 1000\)",
        ),
        (
            lambda r: BandpassFilter(1, 30, SFREQ).transform(r.data[None]),
            NotFittedError,
            "not fitted",
        ),
        (
            lambda r: (
                BandpassFilter(1, 30, SFREQ).fit(np.zeros((1, 2, 900))).transform(r.data[None])
            ),
            DataFormatError,
            r"1 channels.*fitted on 2",
        ),
        (
            lambda r: BandpassFilter(1, 30, SFREQ).fit(np.full((1, 1, 5), np.nan)),
            DataFormatError,
            "NaN",
        ),
        (lambda r: Resample(new_sfreq=-5, sfreq=SFREQ).fit(r.data[None]), ConfigError, "new_sfreq"),
    ],
)
def test_bad_inputs(call, error, match):
    rec = Recording(np.zeros((1, 1000)), SFREQ)
    with pytest.raises(error, match=match):
        call(rec)
