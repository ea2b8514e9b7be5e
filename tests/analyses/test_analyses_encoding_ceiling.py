"""Noise ceilings and delayed designs against closed-form oracles."""

from __future__ import annotations

import numpy as np
import pytest

from neurodl.analyses.encoding.ceiling import (
    ceiling_normalize,
    noise_ceiling,
    spearman_brown,
    split_half_reliability,
)
from neurodl.analyses.encoding.fir import condition_design, delay_features, fir_design
from neurodl.exceptions import ConfigError, DataFormatError


def _repeats(n_rep=8, n_cond=400, snr=(0.25, 1.0, 4.0), seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((n_cond, len(snr))) * np.sqrt(snr)
    return signal, signal[None] + rng.standard_normal((n_rep, n_cond, len(snr)))


def test_spearman_brown_oracle():
    assert spearman_brown(0.5, 2) == pytest.approx(2 / 3)
    assert spearman_brown(2 / 3, 0.5) == pytest.approx(0.5)
    assert spearman_brown(-0.2, 3) == 0.0


@pytest.mark.parametrize("method", ["split_half", "repeats"])
def test_ceiling_matches_theory(method):
    snr = np.array([0.25, 1.0, 4.0])
    _, data = _repeats(snr=snr)
    for n_avg in (1, 8):
        theory = np.sqrt(snr / (snr + 1.0 / n_avg))
        got = noise_ceiling(data, method=method, n_average=n_avg, n_splits=20)
        np.testing.assert_allclose(got, theory, atol=0.05)


def test_perfect_model_normalises_to_one():
    signal, data = _repeats(n_cond=4000, seed=1)
    r = np.array([np.corrcoef(signal[:, j], data[0, :, j])[0, 1] for j in range(3)])
    norm = ceiling_normalize(r, noise_ceiling(data, n_average=1, n_splits=20))
    np.testing.assert_allclose(norm, 1.0, atol=0.08)
    assert np.isnan(ceiling_normalize(np.array([0.1]), np.array([0.05]))[0])


def test_split_half_reliability_shape_and_bad_input():
    _, data = _repeats()
    assert split_half_reliability(data, n_splits=3).shape == (3,)
    with pytest.raises(DataFormatError, match="n_repeats"):
        noise_ceiling(data[:1])
    with pytest.raises(ConfigError, match="method"):
        noise_ceiling(data, method="loo")
    with pytest.raises(ConfigError, match="n_average"):
        noise_ceiling(data, n_average=0)
    with pytest.raises(DataFormatError, match="same shape"):
        ceiling_normalize(np.ones(2), np.ones(3))


def test_delay_features_respects_runs():
    X = np.arange(1, 7, dtype=float)[:, None]
    runs = [0, 0, 0, 1, 1, 1]
    out = delay_features(X, [0, 1, -1], runs=runs)
    np.testing.assert_array_equal(out[:, 0], X[:, 0])
    np.testing.assert_array_equal(out[:, 1], [0, 1, 2, 0, 4, 5])
    np.testing.assert_array_equal(out[:, 2], [2, 3, 0, 5, 6, 0])


def test_fir_design_columns():
    labels = ["rest", "a", "a", "b", "rest", "b"]
    design, conds = condition_design(labels)
    assert conds == ["a", "b"] and design.sum() == 4
    X, names = fir_design(labels, 2)
    assert names == ["a@0", "b@0", "a@1", "b@1"]
    np.testing.assert_array_equal(X[:, 2], [0, 0, 1, 1, 0, 0])
    with pytest.raises(ConfigError, match="n_delays"):
        fir_design(labels, 0)
