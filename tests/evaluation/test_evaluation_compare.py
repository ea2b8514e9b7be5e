"""Paired comparison of two models on the same splits: oracle, error rate, power, guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from neurodl.data import EpochsDataset
from neurodl.evaluation import compare_models, corrected_resampled_ttest, cross_validate
from neurodl.exceptions import ConfigError


def test_without_correction_it_is_scipys_paired_t_test():
    rng = np.random.default_rng(0)
    d = rng.normal(0.02, 0.05, size=12)
    # n_test / n_train -> 0 removes the correction: the plain one-sample t-test on differences
    mean, (lo, hi), p = corrected_resampled_ttest(d, 1e12, 1e-12)
    ref = stats.ttest_1samp(d, 0.0)
    assert mean == pytest.approx(d.mean())
    assert p == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_correction_widens_the_interval_as_test_sets_grow():
    d = np.array([0.03, 0.01, 0.05, 0.02, 0.04])
    _, (lo1, hi1), p1 = corrected_resampled_ttest(d, 80, 20)
    _, (lo2, hi2), p2 = corrected_resampled_ttest(d, 1e12, 1e-12)
    assert hi1 - lo1 > hi2 - lo2 and p1 > p2


def _columns(idx):
    return FunctionTransformer(lambda X: X[:, idx])


def _dataset(rng, effect_a, effect_b, n=80):
    y = np.repeat([0, 1], n // 2)
    X = rng.normal(size=(n, 2))
    X[:, 0] += effect_a * y
    X[:, 1] += effect_b * y
    md = pd.DataFrame({"subject": "1", "session": "1", "segment": np.arange(n).astype(str)})
    return EpochsDataset(X, y, md)


def _compare(ds, seed):
    a = make_pipeline(_columns([0]), LinearDiscriminantAnalysis())
    b = make_pipeline(_columns([1]), LinearDiscriminantAnalysis())
    cv_a = cross_validate(a, ds, "within-session", seed=seed)
    cv_b = cross_validate(b, ds, "within-session", seed=seed)
    return compare_models(cv_a, cv_b, names=("a", "b"))


def test_false_positive_rate_on_equal_models_is_near_nominal():
    # two models reading different but equally informative features: no true difference
    rng = np.random.default_rng(1)
    p = np.array([_compare(_dataset(rng, 1.0, 1.0), seed=k).p_value for k in range(150)])
    rate = float(np.mean(p < 0.05))
    assert rate <= 0.09, f"false-positive rate {rate:.3f} at alpha 0.05"


def test_a_real_difference_is_found_and_worded():
    rng = np.random.default_rng(2)
    res = _compare(_dataset(rng, 3.0, 0.0, n=120), seed=0)
    assert res.difference > 0.3 and res.p_value < 0.01
    assert res.ci[0] > 0
    assert res.verdict().startswith("'a' beat 'b' on the same splits: difference 0.")
    worse = compare_models(
        cross_validate(
            make_pipeline(_columns([1]), LinearDiscriminantAnalysis()),
            _dataset(np.random.default_rng(2), 3.0, 0.0, n=120),
            "within-session",
        ),
        cross_validate(
            make_pipeline(_columns([0]), LinearDiscriminantAnalysis()),
            _dataset(np.random.default_rng(2), 3.0, 0.0, n=120),
            "within-session",
        ),
        names=("net", "lda"),
    )
    assert "'net' scored worse than 'lda'" in worse.verdict()
    assert "difference -0." in worse.verdict()


def test_different_splits_are_refused():
    rng = np.random.default_rng(3)
    ds = _dataset(rng, 1.0, 1.0)
    a = cross_validate(LinearDiscriminantAnalysis(), ds, "within-session", seed=0)
    b = cross_validate(LinearDiscriminantAnalysis(), ds, "within-session", seed=1)
    with pytest.raises(ConfigError, match="same splits"):
        compare_models(a, b)
