"""Permutation tests (null calibration, planted effect) and confidence intervals (coverage)."""

from __future__ import annotations

import dataclasses
import json

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import balanced_accuracy_score

from neurodl.data import EpochsDataset
from neurodl.evaluation import (
    METRICS,
    bootstrap_ci,
    fold_ci,
    get_protocol,
    permutation_labels,
    permutation_test,
)
from neurodl.exceptions import ConfigError


class Centroid(ClassifierMixin, BaseEstimator):
    """Nearest class mean: a tiny, fast classifier for the many fits of a null simulation."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.means_ = np.stack([X[y == c].mean(0) for c in self.classes_])
        return self

    def predict(self, X):
        d = ((X[:, None, :] - self.means_[None]) ** 2).sum(-1)
        return self.classes_[d.argmin(1)]


class LeastSquares(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        A = np.column_stack([X, np.ones(len(X))])
        self.coef_ = np.linalg.lstsq(A, y, rcond=None)[0]
        return self

    def predict(self, X):
        return np.column_stack([X, np.ones(len(X))]) @ self.coef_


def two_subjects(X, y):
    n = len(y)
    md = pd.DataFrame({"subject": np.repeat(["a", "b"], n // 2)})
    return EpochsDataset(X, y, md)


def test_null_p_values_are_uniform_for_a_continuous_score():
    """Labels independent of X: p-values over repeated experiments follow U(0, 1)."""
    rng = np.random.default_rng(0)
    ps = []
    for _ in range(60):
        ds = two_subjects(rng.normal(size=(20, 1)), rng.normal(size=20))
        res = permutation_test(
            LeastSquares(),
            ds,
            "leave-one-subject-out",
            "pearson_r",
            n_permutations=49,
            seed=int(rng.integers(1 << 31)),
        )
        ps.append(res.p_value)
    assert stats.kstest(ps, "uniform").pvalue > 0.01


def test_null_false_positive_rate_is_within_binomial_bounds_for_classification():
    rng = np.random.default_rng(1)
    n_exp = 60
    ps = []
    for _ in range(n_exp):
        ds = two_subjects(rng.normal(size=(20, 2)), np.tile([0, 1], 10))
        res = permutation_test(
            Centroid(),
            ds,
            "leave-one-subject-out",
            n_permutations=39,
            seed=int(rng.integers(1 << 31)),
        )
        ps.append(res.p_value)
    ps = np.array(ps)
    upper = stats.binom.ppf(0.999, n_exp, 0.05)
    assert np.sum(ps <= 0.05) <= upper
    assert np.sum(ps <= 0.5) <= stats.binom.ppf(0.999, n_exp, 0.5)
    assert ps.min() < 0.5  # not degenerate (e.g. always 1)


def test_planted_effect_gives_small_p_and_the_p_formula_holds():
    rng = np.random.default_rng(2)
    y = np.tile([0, 1], 20)
    X = rng.normal(size=(40, 2))
    X[:, 0] += 1.5 * y
    ds = two_subjects(X, y)
    res = permutation_test(
        Centroid(), ds, get_protocol("within-session", n_splits=4), n_permutations=199, seed=0
    )
    assert res.p_value < 0.01
    assert res.p_value == (1 + np.sum(res.null_distribution >= res.score)) / 200
    assert res.score > 0.75 and abs(np.mean(res.null_distribution) - 0.5) < 0.05
    # by default labels are permuted within the protocol's blocks (subject x session here)
    assert res.n_permutations == 199 and res.within == "subject/session" and res.unit is None
    json.dumps(res.to_dict(), allow_nan=False)


def test_permutations_are_deterministic_and_independent_of_n_jobs():
    rng = np.random.default_rng(3)
    ds = two_subjects(rng.normal(size=(20, 2)), np.tile([0, 1], 10))
    a = permutation_test(Centroid(), ds, "leave-one-subject-out", n_permutations=8, seed=5)
    with joblib.parallel_config(backend="threading"):
        b = permutation_test(
            Centroid(), ds, "leave-one-subject-out", n_permutations=8, seed=5, n_jobs=2
        )
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    calls = []
    permutation_test(
        Centroid(),
        ds,
        "leave-one-subject-out",
        n_permutations=3,
        progress=lambda i, n: calls.append((i, n)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_labels_are_permuted_within_blocks_and_by_whole_units():
    rng = np.random.default_rng(4)
    blocks = np.repeat(["a", "b"], 12)
    y = np.r_[np.zeros(9), np.ones(3), np.zeros(3), np.ones(9)].astype(int)
    units = np.array([f"u{i // 3}" for i in range(24)])  # 3 windows per unit, constant labels
    for _ in range(5):
        yp = permutation_labels(y, blocks, None, rng)
        for b in ("a", "b"):  # the label counts of each block are kept
            assert np.sum(yp[blocks == b]) == np.sum(y[blocks == b])
        yu = permutation_labels(y, blocks, units, rng)
        for u in np.unique(units):
            assert len(np.unique(yu[units == u])) == 1
        for b in ("a", "b"):
            assert np.sum(yu[blocks == b]) == np.sum(y[blocks == b])
    assert not all(np.array_equal(permutation_labels(y, None, None, rng), y) for _ in range(3))


def test_permutation_unit_auto_uses_segments_with_constant_labels():
    rng = np.random.default_rng(5)
    y = np.repeat([0, 1, 0, 1, 0, 1, 0, 1], 3)
    md = pd.DataFrame(
        {
            "subject": "a",
            "segment": [f"s{i // 3}" for i in range(24)],
            "recording": [f"s{i // 3}" for i in range(24)],
        }
    )
    ds = EpochsDataset(rng.normal(size=(24, 2)), y, md)
    res = permutation_test(
        Centroid(), ds, get_protocol("grouped-kfold", n_splits=4), n_permutations=5
    )
    assert res.unit == "segment"
    with pytest.raises(ValueError, match="labels are not constant within each 'subject'"):
        permutation_test(
            Centroid(),
            ds,
            get_protocol("grouped-kfold", n_splits=4),
            n_permutations=5,
            unit="subject",
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_permutations": 0}, ConfigError, "'n_permutations'.*got 0"),
        ({"metric": "f1"}, ConfigError, "'metric'.*got 'f1'"),
        ({"within": "site"}, ValueError, r"Unknown metadata column.*'site'"),
    ],
)
def test_bad_permutation_inputs_table(kwargs, error, match):
    ds = two_subjects(np.zeros((8, 2)), np.tile([0, 1], 4))
    with pytest.raises(error, match=match):
        permutation_test(Centroid(), ds, "leave-one-subject-out", **kwargs)


# ---------------------------------------------------------------------- confidence intervals
def test_bootstrap_ci_of_a_mean_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(6)
    n_rep = 200
    hits = [
        (r := bootstrap_ci(rng.normal(0.3, 1.0, 40), n_boot=400, seed=k)).low < 0.3 < r.high
        for k in range(n_rep)
    ]
    coverage = np.mean(hits)
    assert 0.88 <= coverage <= 0.99  # percentile bootstrap at n=40 slightly under-covers


def test_fold_ci_covers_the_true_mean_for_independent_scores():
    rng = np.random.default_rng(7)
    hits = [(r := fold_ci(rng.normal(0.7, 0.05, 5))).low < 0.7 < r.high for _ in range(400)]
    assert 0.92 <= np.mean(hits) <= 0.98
    plain, corrected = fold_ci([0.7, 0.8, 0.75]), fold_ci([0.7, 0.8, 0.75], test_train_ratio=0.25)
    assert corrected.high - corrected.low > plain.high - plain.low
    half = stats.t.ppf(0.975, 2) * np.std([0.7, 0.8, 0.75], ddof=1) / np.sqrt(3)
    assert plain.high == pytest.approx(0.75 + half)


def test_bootstrap_ci_of_a_metric_matches_oracle_and_unvectorised_path():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, 80)
    y_pred = np.where(rng.random(80) < 0.7, y, rng.integers(0, 3, 80))
    fast = bootstrap_ci((y, y_pred), "balanced_accuracy", n_boot=300, seed=1)
    assert fast.estimate == pytest.approx(balanced_accuracy_score(y, y_pred))
    slow_metric = dataclasses.replace(METRICS["balanced_accuracy"], batch=None)
    slow = bootstrap_ci((y, y_pred), slow_metric, n_boot=300, seed=1)
    np.testing.assert_allclose(np.sort(fast.distribution), np.sort(slow.distribution))
    assert fast.low == pytest.approx(slow.low) and fast.high == pytest.approx(slow.high)
    assert fast.low < fast.estimate < fast.high
    bca = bootstrap_ci((y, y_pred), "kappa", n_boot=200, method="bca")
    assert bca.method == "bootstrap-bca" and bca.low < bca.estimate < bca.high
    assert set(bca.to_dict()) == {"estimate", "low", "high", "ci", "method"}


def test_group_bootstrap_is_wider_for_clustered_data():
    rng = np.random.default_rng(9)
    groups = np.repeat(np.arange(8), 25)
    values = rng.normal(size=8)[groups] + 0.1 * rng.normal(size=200)  # strong clustering
    naive = bootstrap_ci(values, n_boot=500)
    clustered = bootstrap_ci(values, n_boot=500, groups=groups)
    assert (clustered.high - clustered.low) > 2 * (naive.high - naive.low)
    assert clustered.estimate == pytest.approx(values.mean())


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((np.ones(5),), {"n_boot": 1}, ConfigError, "'n_boot'.*got 1"),
        ((np.ones(5),), {"ci": 95}, ConfigError, r"'ci'.*\(0, 1\); got 95"),
        ((np.ones(5),), {"method": "bc"}, ConfigError, "'percentile', 'basic', 'bca'; got 'bc'"),
        (([0, 1], [0, 1]), {}, ValueError, "'metric'"),
        (((np.ones(4), np.ones(4)),), {}, ValueError, "tuple .*but no 'metric'"),
        ((np.ones(4),), {"metric": "accuracy"}, ValueError, r"tuple \(y_true, y_pred\)"),
        (((np.ones(4), np.ones(3)),), {"metric": "accuracy"}, ValueError, "same length"),
        ((np.ones(4),), {"groups": [0, 0, 0, 0]}, ValueError, "at least 2 groups"),
        ((np.ones(4),), {"groups": [0, 1]}, ValueError, r"'groups' must have shape \(4,\)"),
    ],
)
def test_bad_bootstrap_inputs_table(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        bootstrap_ci(*args, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"fold_scores": [0.5]}, ValueError, "at least 2 finite fold scores; got 1"),
        ({"fold_scores": [0.5, 0.6], "ci": 1.0}, ConfigError, "'ci'"),
        ({"fold_scores": [0.5, 0.6], "test_train_ratio": -1}, ConfigError, "'test_train_ratio'"),
    ],
)
def test_bad_fold_ci_inputs_table(kwargs, error, match):
    with pytest.raises(error, match=match):
        fold_ci(**kwargs)
