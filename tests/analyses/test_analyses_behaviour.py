"""Psychometric and chronometric curves (neurodl.analyses.behaviour)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from neurodl.analyses.behaviour import (
    chronometric_curve,
    psychometric_curve,
    reaction_times,
    wilson_interval,
)
from neurodl.exceptions import ConfigError, DataFormatError


def test_psychometric_fit_recovers_planted_logistic():
    rng = np.random.default_rng(0)
    levels = np.array([-0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5])
    s = rng.choice(levels, 20_000)
    slope, bias = 8.0, 0.5
    choices = (rng.random(s.size) < expit(slope * s + bias)).astype(float)
    curve = psychometric_curve(s, choices)
    assert curve.slope == pytest.approx(slope, rel=0.05)
    assert curve.bias == pytest.approx(bias, abs=0.05)
    assert curve.pse == pytest.approx(-bias / slope, abs=0.01)
    np.testing.assert_array_equal(curve.levels, levels)
    assert curve.n_trials.sum() == s.size
    # the planted probabilities lie within the (99.9 %) Wilson intervals
    truth = expit(slope * levels + bias)
    wide = psychometric_curve(s, choices, fit=False, confidence=0.999)
    assert np.all((wide.ci_low <= truth) & (truth <= wide.ci_high))
    np.testing.assert_allclose(curve.predict(levels), truth, atol=0.02)
    assert set(curve.to_dict()) >= {"levels", "p_choice1", "slope", "bias"}


def test_fit_matches_sklearn_unpenalised_logistic():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    s = rng.normal(0, 1, 500)
    c = (rng.random(500) < expit(1.5 * s - 0.3)).astype(int)
    ref = LogisticRegression(C=1e12, tol=1e-10, max_iter=10_000).fit(s[:, None], c)
    curve = psychometric_curve(s, c)
    assert curve.slope == pytest.approx(ref.coef_[0, 0], rel=1e-3)
    assert curve.bias == pytest.approx(ref.intercept_[0], abs=1e-3)


def test_wilson_interval_known_values():
    # 8/10 at 95 %: (0.4902, 0.9433); 0/5 lower bound 0
    low, high = wilson_interval([8, 0], [10, 5])
    np.testing.assert_allclose(low, [0.490163, 0.0], atol=1e-5)
    np.testing.assert_allclose(high, [0.943318, 0.434482], atol=1e-5)
    with pytest.raises(ConfigError, match=r"'confidence'.*1.5"):
        wilson_interval([1], [2], confidence=1.5)


def test_psychometric_drops_nan_choices_and_no_fit():
    curve = psychometric_curve([-1, -1, 1, 1, 1], [0, np.nan, 1, 0, np.nan], fit=False)
    assert curve.p_choice1.tolist() == [0.0, 0.5]
    assert curve.n_trials.tolist() == [1, 2]
    assert curve.slope is None and curve.pse is None
    with pytest.raises(ConfigError, match="fit=False"):
        curve.predict([0.0])


@pytest.mark.parametrize(
    ("stimulus", "choices", "match"),
    [
        ([0, 1], [0, 2], r"0 or 1.*\[2.0\]"),
        ([0, 1, 2], [0, 1], r"same length.*\(3,\).*\(2,\)"),
        ([0, 1], [np.nan, np.nan], "No trial with a choice"),
    ],
)
def test_psychometric_bad_input(stimulus, choices, match):
    with pytest.raises(DataFormatError, match=match):
        psychometric_curve(stimulus, choices)


def test_reaction_times_first_crossing():
    out = np.zeros((3, 6, 2))
    out[0, 2:, 0] = 1.0  # crosses at 2
    out[1, 4:, 1] = 0.8  # crosses at 4 on the other output
    out[1, 0, 0] = 0.9  # before start: ignored
    rt = reaction_times(out, 0.5, start=1)
    np.testing.assert_array_equal(rt[:2], [2.0, 4.0])
    assert np.isnan(rt[2])
    np.testing.assert_array_equal(reaction_times(out[:, :, 0], 0.5)[:2], [2.0, 0.0])
    with pytest.raises(DataFormatError, match=r"got \(3,\)"):
        reaction_times(np.zeros(3), 0.5)


def test_chronometric_curve_means_per_level():
    s = np.array([0.1, 0.1, 0.1, 0.5, 0.5, 0.9])
    rt = np.array([10.0, 14.0, np.nan, 4.0, 6.0, np.nan])
    curve = chronometric_curve(s, rt)
    np.testing.assert_allclose(curve.mean_rt[:2], [12.0, 5.0])
    np.testing.assert_allclose(curve.sem_rt[:2], [2.0, 1.0])
    assert curve.n_trials.tolist() == [2, 2, 0]
    assert np.isnan(curve.mean_rt[2])
    assert curve.to_dict()["mean_rt"] == [12.0, 5.0, None]
