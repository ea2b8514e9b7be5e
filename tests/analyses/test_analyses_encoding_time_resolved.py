"""Time-resolved decoding: amplitude vs band-power window features on planted effects."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.analyses.encoding.time_resolved import time_resolved_decoding, window_features
from neurodl.data.simulate import simulate_motor_imagery
from neurodl.exceptions import ConfigError, DataFormatError


@pytest.fixture(scope="module")
def erd_in_a_window():
    """3-s epochs: a null second, one second of simulated imagery (ERD), a null second.

    The middle second comes from ``simulate_motor_imagery`` with a strong effect; the first and
    last from the same simulator with ``effect_size=0`` (data independent of the labels).
    """
    kw = dict(n_subjects=1, n_sessions=1, n_trials=80, n_channels=8, trial_duration=1.0)
    pre = simulate_motor_imagery(effect_size=0.0, seed=1, **kw)
    mid = simulate_motor_imagery(effect_size=0.9, seed=2, **kw)
    post = simulate_motor_imagery(effect_size=0.0, seed=3, **kw)
    X = np.concatenate([pre.X, mid.X, post.X], axis=2)
    return X, mid.y, mid.sfreq


def _run(data, features):
    X, y, sfreq = data
    return time_resolved_decoding(
        X, y, sfreq, window=0.5, step=0.25, features=features, folds=4, n_boot=100, seed=0
    )


def test_bandpower_finds_the_erd_window_and_amplitude_does_not(erd_in_a_window):
    power, amp = _run(erd_in_a_window, "bandpower"), _run(erd_in_a_window, "amplitude")
    np.testing.assert_allclose(power.times, amp.times)
    sfreq = erd_in_a_window[2]
    start = power.times - (0.5 * sfreq - 1) / 2 / sfreq  # times are window centres
    end = start + 0.5
    inside = (start > 1.0 - 1e-9) & (end < 2.0 + 1e-9)  # the window lies within the ERD second
    outside = (end < 1.0 + 1e-9) | (start > 2.0 - 1e-9)
    assert inside.sum() == 3 and outside.sum() >= 4
    assert power.scores[inside].max() > 0.8, power.scores
    assert power.ci[0, inside].max() > power.chance  # the CI excludes chance at the peak
    assert power.scores[outside].max() < 0.7, power.scores
    assert amp.scores.max() < 0.7, amp.scores  # ERD is invisible to window mean and slope
    peak = power.times[np.argmax(power.scores)]
    assert 1.0 < peak < 2.0


def test_bandpower_features_match_the_power_of_planted_sines():
    """Oracle: a sine of amplitude A has variance A**2 / 2; other bands see (almost) nothing."""
    sfreq = 200.0
    t = np.arange(1000) / sfreq
    amps = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.5]])  # (epoch, [10 Hz, 25 Hz] amplitude)
    X = np.stack(
        [
            [a10 * np.sin(2 * np.pi * 10 * t), a25 * np.sin(2 * np.pi * 25 * t + 1.0)]
            for a10, a25 in amps
        ]
    )  # (3 epochs, 2 channels, 1000): channel 0 at 10 Hz, channel 1 at 25 Hz
    F, starts = window_features(
        X, sfreq, window=1.0, step=0.5, features="bandpower", bands=[(8, 13), (20, 30)]
    )
    assert F.shape == (len(starts), 3, 2 * 2) and starts[1] == 100
    mid = len(starts) // 2  # away from the epoch edges
    # layout: band-major, then channel: [band0 ch0, band0 ch1, band1 ch0, band1 ch1]
    np.testing.assert_allclose(F[mid][[0, 2], 0], np.log(amps[[0, 2], 0] ** 2 / 2), atol=0.05)
    assert F[mid][1, 0] < np.log(1e-4) and F[mid][0, 3] < np.log(1e-4)  # silent channels
    np.testing.assert_allclose(F[mid][[1, 2], 3], np.log(amps[[1, 2], 1] ** 2 / 2), atol=0.05)
    tiny = np.finfo(float).tiny
    assert np.all(F[mid][:, 1] < np.log(1e-4))  # 25 Hz sine outside the 8-13 Hz band
    assert np.all(F[mid][:, 2] < np.log(1e-4))  # 10 Hz sine outside the 20-30 Hz band
    assert np.all(np.isfinite(F)) and F.min() >= np.log(tiny)


def test_amplitude_features_are_window_mean_and_slope():
    X = np.random.default_rng(1).standard_normal((4, 3, 50))
    F, starts = window_features(X, 10.0, window=1.0, step=1.0)
    ramp = np.linspace(-1, 1, 10)
    seg = X[:, :, starts[2] : starts[2] + 10]
    np.testing.assert_allclose(F[2], np.concatenate([seg.mean(2), (seg * ramp).mean(2)], 1))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"features": "phase"}, ConfigError, "'features'. Allowed: 'amplitude', 'bandpower'"),
        ({"features": "bandpower", "bands": [(13, 8)]}, ConfigError, "'bands'"),
        ({"features": "bandpower", "bands": [(8, 60)]}, ConfigError, "sfreq / 2 = 50"),
        ({"features": "bandpower", "bands": "alpha"}, ConfigError, "'bands'"),
        ({"window": 0.0}, ConfigError, "positive seconds"),
        ({"window": 10.0}, ConfigError, "'window'"),
    ],
)
def test_bad_window_feature_options(kwargs, error, match):
    X = np.zeros((4, 2, 200))
    with pytest.raises(error, match=match):
        window_features(X, 100.0, **kwargs)


def test_bad_input_shape():
    with pytest.raises(DataFormatError, match="n_epochs, n_channels, n_times"):
        window_features(np.zeros((4, 200)), 100.0)
