"""Binning, smoothing, behaviour alignment, calcium ingestion and contiguous-block CV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import gaussian_filter1d

from neurodl.analyses.dynamics import (
    ContiguousBlockCV,
    align_behavior,
    bin_spikes,
    bin_trials,
    cross_val_predict_blocks,
    history_windows,
    lagged_features,
    read_calcium,
    smooth_counts,
    transform_behavior,
)
from neurodl.data import SpikeTrains
from neurodl.exceptions import ConfigError, DataFormatError


def _spikes() -> SpikeTrains:
    times = [np.array([0.05, 0.15, 0.16, 1.05, 1.25]), np.array([0.5, 1.5])]
    trials = pd.DataFrame({"start_time": [0.0, 1.0], "stop_time": [0.4, 1.4], "go": [0.1, 1.1]})
    return SpikeTrains(times, trials=trials)


def test_bin_spikes_matches_histogram():
    st = _spikes()
    counts, edges = bin_spikes(st, 0.1, t_start=0.0, t_stop=2.0)
    assert counts.shape == (20, 2)
    np.testing.assert_array_equal(counts[:, 0], np.histogram(st.times[0], edges)[0])
    assert counts.sum() == st.n_spikes


def test_bin_trials_aligned():
    st = _spikes()
    out = bin_trials(st, 0.1, align="start_time")
    assert out.shape == (2, 4, 2)
    np.testing.assert_array_equal(out[0, :, 0], [1, 2, 0, 0])
    np.testing.assert_array_equal(out[1, :, 0], [1, 0, 1, 0])
    go = bin_trials(st, 0.1, align="go", t_before=0.1, t_after=0.2, trials=[1])
    np.testing.assert_array_equal(go[0, :, 0], [1, 0, 1])


def test_smooth_counts_matches_scipy(rng):
    x = rng.poisson(2.0, (3, 40, 5)).astype(float)
    np.testing.assert_allclose(
        smooth_counts(x, 2.0, axis=1), gaussian_filter1d(x, 2.0, axis=1, mode="nearest")
    )
    np.testing.assert_array_equal(smooth_counts(x, 0, axis=1), x)


def test_align_behavior_mean_and_interp():
    t = np.arange(0, 1, 0.01)
    v = np.column_stack([t, 2 * t])
    edges = np.array([0.0, 0.25, 0.5, 1.0])
    out = align_behavior(t, v, edges)
    np.testing.assert_allclose(
        out[:, 0], [t[t < 0.25].mean(), t[(t >= 0.25) & (t < 0.5)].mean(), t[t >= 0.5].mean()]
    )
    interp = align_behavior(t, v, edges, method="interp")
    np.testing.assert_allclose(interp[:, 1], 2 * np.array([0.125, 0.375, 0.75]))


def test_transform_behavior_circular():
    out = transform_behavior(np.array([0.0, 27.0, 54.0]), "circular", period=108)
    np.testing.assert_allclose(out, [[1, 0], [0, 1], [-1, 0]], atol=1e-12)


def test_lagged_and_history_windows_agree(rng):
    x = rng.normal(size=(6, 2))
    lag = lagged_features(x, 3)
    np.testing.assert_array_equal(lag[4, :2], x[4])
    np.testing.assert_array_equal(lag[4, 2:4], x[3])
    np.testing.assert_array_equal(lag[1, 4:], 0.0)
    win = history_windows(x, 3)
    assert win.shape == (6, 2, 3)
    np.testing.assert_array_equal(win[4, :, -1], x[4])
    np.testing.assert_array_equal(win[4, :, 0], x[2])


def test_contiguous_block_cv_blocks_and_gap():
    cv = ContiguousBlockCV(4, gap=2)
    seen = []
    for train, test in cv.split(np.zeros(40)):
        assert np.all(np.diff(test) == 1)  # contiguous
        dist = np.min(np.abs(train[:, None] - test[None, :]))
        assert dist > 2
        seen.append(test)
    np.testing.assert_array_equal(np.concatenate(seen), np.arange(40))


def test_cross_val_predict_blocks_linear(rng):
    from sklearn.linear_model import LinearRegression

    X = rng.normal(size=(100, 3))
    y = X @ np.array([[1.0], [2.0], [-1.0]])
    pred, scores = cross_val_predict_blocks(LinearRegression, X, y, ContiguousBlockCV(5))
    np.testing.assert_allclose(pred, y, atol=1e-8)
    assert np.allclose(scores, 1.0)


def test_read_calcium_array(tmp_path, rng):
    data = rng.normal(size=(4, 50))
    np.save(tmp_path / "x.npy", data)
    dff, fs = read_calcium(tmp_path / "x.npy")
    assert fs is None
    np.testing.assert_array_equal(dff, data.T)
    dff, fs = read_calcium(tmp_path / "x.npy", fs=30.0)
    assert fs == 30.0


def test_read_calcium_suite2p_folder(tmp_path, rng):
    F = rng.uniform(100, 200, (3, 80)).astype(np.float32)
    np.save(tmp_path / "F.npy", F)
    np.save(tmp_path / "Fneu.npy", np.zeros_like(F))
    np.save(tmp_path / "spks.npy", np.zeros_like(F))
    np.save(tmp_path / "iscell.npy", np.array([[1, 0.9], [0, 0.1], [1, 0.8]]))
    dff, fs = read_calcium(tmp_path, fs=10.0, baseline_percentile=10.0)
    assert dff.shape == (80, 2) and fs == 10.0
    f0 = np.percentile(F[0].astype(float), 10.0)
    np.testing.assert_allclose(dff[:, 0], (F[0] - f0) / f0, rtol=1e-6)


@pytest.mark.parametrize(
    ("func", "kwargs", "error", "match"),
    [
        (bin_spikes, {"spikes": [np.array([0.1])], "bin_size": 0}, ConfigError, "bin_size"),
        (
            bin_spikes,
            {"spikes": [np.array([0.1])], "bin_size": 0.1, "t_start": 1.0, "t_stop": 0.5},
            ConfigError,
            "t_stop",
        ),
        (
            bin_trials,
            {"spikes": SpikeTrains([np.array([0.1])]), "bin_size": 0.1},
            DataFormatError,
            "trial table",
        ),
        (bin_trials, {"spikes": _spikes(), "bin_size": 0.1, "align": "nope"}, ConfigError, "align"),
        (bin_trials, {"spikes": _spikes(), "bin_size": 1.0}, ConfigError, "shorter than one bin"),
        (smooth_counts, {"counts": np.ones((3, 2)), "sigma": -1}, ConfigError, "sigma"),
        (
            align_behavior,
            {"times": np.arange(3), "values": np.ones(3), "edges": [0, 1], "method": "x"},
            ConfigError,
            "method",
        ),
        (
            align_behavior,
            {"times": np.arange(3), "values": np.ones(4), "edges": [0, 1]},
            DataFormatError,
            "behaviour",
        ),
        (
            transform_behavior,
            {"values": np.ones(3), "transform": "polar"},
            ConfigError,
            "transform",
        ),
        (
            transform_behavior,
            {"values": np.ones(3), "transform": "circular"},
            ConfigError,
            "period",
        ),
        (lagged_features, {"X": np.ones((4, 2)), "n_lags": 0}, ConfigError, "n_lags"),
        (lagged_features, {"X": np.ones(4), "n_lags": 2}, DataFormatError, "2-D"),
        (ContiguousBlockCV, {"n_splits": 1}, ConfigError, "n_splits"),
        (ContiguousBlockCV, {"n_splits": 3, "gap": -1}, ConfigError, "gap"),
    ],
)
def test_ingest_bad_input(func, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(**kwargs)


def test_contiguous_block_cv_too_few_samples():
    with pytest.raises(DataFormatError, match="needs at least 10"):
        list(ContiguousBlockCV(5, gap=3).split(np.zeros(6)))
    with pytest.raises(DataFormatError, match="no training bins"):
        list(ContiguousBlockCV(2, gap=3).split(np.zeros(5)))
