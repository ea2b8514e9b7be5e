"""Sample-quality scores of generated windows against real ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from neurodl.evaluation.sample_quality import (
    c2st_auc,
    sample_quality,
    sliced_wasserstein,
    spectral_distance,
)
from neurodl.exceptions import DataFormatError


def _noise(n, seed, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal((n, 3, 128))


def test_spectral_distance_of_a_doubled_amplitude_is_6_db():
    a = _noise(30, 0)
    assert spectral_distance(a, a, sfreq=64.0) == 0.0
    assert spectral_distance(a, 2 * a, sfreq=64.0) == pytest.approx(20 * np.log10(2))


def test_sliced_wasserstein_in_one_dimension_is_scipys_w1():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 1, 1)), rng.normal(1.0, 2.0, size=(70, 1, 1))
    sd = a.std()
    expect = wasserstein_distance(a.ravel() / sd, b.ravel() / sd)
    assert sliced_wasserstein(a, b, n_projections=5) == pytest.approx(expect)


def test_sliced_wasserstein_grows_with_a_shift():
    a, b = _noise(100, 0), _noise(100, 1)
    d0 = sliced_wasserstein(a, b)
    assert d0 < sliced_wasserstein(a, b + 0.2) < sliced_wasserstein(a, b + 0.5)


def test_c2st_is_near_chance_for_one_distribution_and_high_for_two():
    a, b = _noise(60, 0), _noise(60, 1)
    assert abs(c2st_auc(a, b, sfreq=64.0) - 0.5) < 0.15
    t = np.arange(128) / 64.0
    c = b + np.sin(2 * np.pi * 10 * t)  # a 10 Hz rhythm the real windows lack
    assert c2st_auc(a, c, sfreq=64.0) > 0.95
    q = sample_quality(a, c, sfreq=64.0)
    assert q["c2st_auc"] > 0.95 and abs(q["real_vs_real_c2st_auc"] - 0.5) < 0.25
    assert q["spectral_distance_db"] > q["real_vs_real_spectral_distance_db"]
    assert q["spectral_distance_db"] > 2 * spectral_distance(a, b, sfreq=64.0)


def test_mismatched_shapes_are_refused():
    with pytest.raises(DataFormatError, match=r"same channels and length; got shapes"):
        spectral_distance(_noise(5, 0), _noise(5, 1)[:, :2], sfreq=64.0)
