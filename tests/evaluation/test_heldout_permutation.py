"""The held-out permutation test: exact against the hypergeometric law, calibrated under the null."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA
from sklearn.dummy import DummyClassifier

from neurodl.data import EpochsDataset
from neurodl.evaluation import cross_validate, held_out_permutation_test, permutation_test
from neurodl.exceptions import ConfigError


def _dataset(n: int, shift: float, seed: int, n_subjects: int = 1) -> EpochsDataset:
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2)
    md = pd.DataFrame(
        {
            "subject": np.repeat([f"s{i}" for i in range(n_subjects)], n // n_subjects),
            "session": "1",
        }
    )
    return EpochsDataset(rng.normal(size=(n, 4)) + shift * y[:, None], y, md)


def test_exact_against_hypergeometric_convolution():
    """Accuracy with equal test folds: the null of the summed hits is a sum of hypergeometrics."""
    ds = _dataset(100, 0.4, seed=3)
    cv = cross_validate(LDA(), ds, "within-session", "accuracy")  # 5 folds of 20
    res = held_out_permutation_test(cv, ds, "within-session", n_permutations=20000, seed=1)
    assert res.score == pytest.approx(cv.score)
    assert res.method == "held_out" and res.within.startswith("fold test set")
    # exact p: per fold, X = #(pred 1 and label 1) ~ Hypergeom(N, n_label1, n_pred1) and
    # #correct = 2 X + N - n_pred1 - n_label1, so the summed hits are a convolution
    pmf, x_obs = np.array([1.0]), 0
    for k in range(cv.n_folds):
        m = cv.fold == k
        yt, yp = cv.y_true[m], cv.y_pred[m]
        n, n1, m1 = len(yt), int(yt.sum()), int(yp.sum())
        pmf = np.convolve(pmf, sps.hypergeom(n, n1, m1).pmf(np.arange(min(n1, m1) + 1)))
        x_obs += int(np.sum((yt == 1) & (yp == 1)))
    exact = pmf[x_obs:].sum()
    assert 0.001 < exact < 0.5  # a p-value the comparison can resolve
    assert res.p_value == pytest.approx(exact, abs=0.01)


def test_planted_effect_small_p_and_no_effect_large_p():
    strong = _dataset(80, 1.5, seed=0)
    cv = cross_validate(LDA(), strong, "within-session")
    assert (
        held_out_permutation_test(cv, strong, "within-session", n_permutations=199).p_value == 0.005
    )
    dummy = cross_validate(
        DummyClassifier(strategy="stratified", random_state=0), strong, "within-session"
    )
    assert (
        held_out_permutation_test(dummy, strong, "within-session", n_permutations=199).p_value
        > 0.05
    )


def test_false_positive_rate_on_equal_nothing_data():
    """No effect, 150 data sets: rejections at alpha = 0.05 stay near 5%, p roughly uniform."""
    p = []
    for seed in range(150):
        ds = _dataset(60, 0.0, seed=seed, n_subjects=2)
        cv = cross_validate(LDA(), ds, "within-session", seed=seed)
        p.append(
            held_out_permutation_test(
                cv, ds, "within-session", n_permutations=99, seed=seed
            ).p_value
        )
    p = np.asarray(p)
    assert np.mean(p <= 0.05) <= 0.10  # binomial(150, 0.05): 0.10 is > 2.5 sd above 0.05
    assert 0.4 < np.mean(p) < 0.62


def test_agrees_with_refit_test_on_a_clear_effect_and_a_null():
    for shift, expect_small in ((1.0, True), (0.0, False)):
        ds = _dataset(80, shift, seed=7, n_subjects=2)
        cv = cross_validate(LDA(), ds, "within-session")
        held_res = held_out_permutation_test(cv, ds, "within-session", n_permutations=99)
        assert held_res.score == pytest.approx(cv.score)  # blocks aggregated as in the CV
        held = held_res.p_value
        refit = permutation_test(LDA(), ds, "within-session", n_permutations=99).p_value
        assert (held <= 0.05) == (refit <= 0.05) == expect_small


def test_refuses_without_predictions_and_bad_counts():
    ds = _dataset(40, 1.0, seed=0)
    cv = cross_validate(LDA(), ds, "within-session", return_predictions=False)
    with pytest.raises(ConfigError, match="return_predictions=True"):
        held_out_permutation_test(cv, ds, "within-session")
    cv = cross_validate(LDA(), ds, "within-session")
    with pytest.raises(ConfigError, match="n_permutations"):
        held_out_permutation_test(cv, ds, "within-session", n_permutations=0)
