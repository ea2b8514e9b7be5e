"""Metrics against scikit-learn / SciPy oracles, batched forms, and chance levels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier, DummyRegressor

from neurodl.evaluation import METRICS, chance_level, get_metric, score
from neurodl.exceptions import ConfigError


@pytest.fixture
def clf_data():
    rng = np.random.default_rng(0)
    y = rng.choice(3, size=60, p=[0.5, 0.3, 0.2])
    y_pred = np.where(rng.random(60) < 0.6, y, rng.integers(0, 3, 60))
    proba = rng.dirichlet(np.ones(3), size=60)
    proba[np.arange(60), y] += 0.5
    proba /= proba.sum(1, keepdims=True)
    return y, y_pred, proba


def test_classification_metrics_match_sklearn(clf_data):
    y, y_pred, proba = clf_data
    assert score("accuracy", y, y_pred) == pytest.approx(skm.accuracy_score(y, y_pred))
    assert score("balanced_accuracy", y, y_pred) == pytest.approx(
        skm.balanced_accuracy_score(y, y_pred)
    )
    assert score("kappa", y, y_pred) == pytest.approx(skm.cohen_kappa_score(y, y_pred))
    assert score("roc_auc", y, proba) == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr")
    )
    # string labels work too
    names = np.array(["a", "b", "c"])
    assert score("balanced_accuracy", names[y], names[y_pred]) == pytest.approx(
        skm.balanced_accuracy_score(y, y_pred)
    )


def test_binary_roc_auc_accepts_one_or_two_columns(clf_data):
    y, _, proba = clf_data
    yb = (y == 0).astype(int)
    p1 = proba[:, 0]
    expected = skm.roc_auc_score(yb, p1)
    assert score("roc_auc", yb, p1) == pytest.approx(expected)
    assert score("roc_auc", yb, np.column_stack([1 - p1, p1])) == pytest.approx(expected)
    # multiclass decision values (not summing to one) give the same AUC as their softmax
    dec = np.log(proba) + 3.0
    assert score("roc_auc", y, dec) == pytest.approx(score("roc_auc", y, proba))


def test_regression_metrics_match_sklearn_and_scipy():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(50, 3))
    y_pred = y + rng.normal(scale=0.8, size=y.shape)
    assert score("r2", y[:, 0], y_pred[:, 0]) == pytest.approx(skm.r2_score(y[:, 0], y_pred[:, 0]))
    assert score("r2", y, y_pred) == pytest.approx(skm.r2_score(y, y_pred))
    assert score("pearson_r", y[:, 0], y_pred[:, 0]) == pytest.approx(
        stats.pearsonr(y[:, 0], y_pred[:, 0])[0]
    )
    assert score("pearson_r", y, y_pred) == pytest.approx(
        np.mean([stats.pearsonr(y[:, j], y_pred[:, j])[0] for j in range(3)])
    )


@pytest.mark.parametrize("name", [n for n, m in METRICS.items() if m.batch is not None])
def test_batched_forms_equal_row_by_row_scores(name, clf_data):
    m = METRICS[name]
    rng = np.random.default_rng(2)
    if m.task == "classification":
        y, y_pred, _ = clf_data
        y, y_pred = y.astype(float), y_pred.astype(float)
    else:
        y = rng.normal(size=60)
        y_pred = y + rng.normal(size=60)
    idx = rng.integers(0, 60, size=(7, 60))
    batched = m.batch(y[idx], y_pred[idx])
    rows = [m(y[i], y_pred[i]) for i in idx]
    np.testing.assert_allclose(batched, rows)


def test_metric_properties():
    assert {n for n, m in METRICS.items() if m.needs_proba} == {"roc_auc"}
    assert all(m.greater_is_better for m in METRICS.values())
    assert get_metric(METRICS["r2"]) is METRICS["r2"]


def test_chance_levels_match_dummy_predictors():
    y = np.array([0] * 30 + [1] * 15 + [2] * 5)
    X = np.zeros((len(y), 1))
    majority = DummyClassifier(strategy="most_frequent").fit(X, y).predict(X)
    assert chance_level(y, "accuracy") == pytest.approx(skm.accuracy_score(y, majority)) == 0.6
    assert (
        chance_level(y, "balanced_accuracy")
        == pytest.approx(skm.balanced_accuracy_score(y, majority))
        == pytest.approx(1 / 3)
    )
    assert chance_level(y, "kappa") == skm.cohen_kappa_score(y, majority) == 0.0
    constant = np.full(len(y), 0.3)
    assert chance_level(y == 0, "roc_auc") == skm.roc_auc_score(y == 0, constant) == 0.5
    yr = np.random.default_rng(0).normal(size=40)
    mean_pred = DummyRegressor().fit(X[:40], yr).predict(X[:40])
    assert chance_level(yr, "r2") == pytest.approx(skm.r2_score(yr, mean_pred)) == 0.0
    assert chance_level(yr, "pearson_r") == 0.0


def test_r2_of_training_mean_under_leave_one_out_is_slightly_negative():
    """The documented caveat: a training-mean predictor scores 1 - (n / (n - 1))**2 pooled."""
    y = np.random.default_rng(3).normal(size=20)
    n = len(y)
    loo_mean = (y.sum() - y) / (n - 1)
    assert score("r2", y, loo_mean) == pytest.approx(1 - (n / (n - 1)) ** 2)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: get_metric("auc"),
            ConfigError,
            "Allowed: 'balanced_accuracy', 'accuracy', 'roc_auc', 'kappa', 'r2', 'pearson_r'; "
            "got 'auc'",
        ),
        (lambda: chance_level([0, 1], "f1"), ConfigError, "'metric'.*got 'f1'"),
        (lambda: chance_level([], "accuracy"), ValueError, "empty 'y'"),
        (lambda: score("accuracy", [0, 1, 1], [0, 1]), ValueError, "3 samples but y_pred has 2"),
        (lambda: score("r2", [0.0, 1.0], [[0.0], [1.0]]), ValueError, "shapes differ"),
        (
            lambda: score("roc_auc", [0, 1, 2], np.ones((3, 2))),
            ValueError,
            "2 score columns for 3 classes",
        ),
    ],
)
def test_bad_metric_inputs_table(call, error, match):
    with pytest.raises(error, match=match):
        call()
