"""cross_validate: planted effects, sklearn oracle, pooled outputs, JSON, bad inputs."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from sklearn.svm import LinearSVC

from neurodl.data import EpochsDataset
from neurodl.evaluation import CVResult, cross_validate, get_protocol
from neurodl.exceptions import ConfigError


def make_dataset(
    n_subjects=3, n_sessions=2, n_per_session=20, n_classes=2, effect=1.5, seed=0, regression=False
):
    rng = np.random.default_rng(seed)
    rows, y = [], []
    for s in range(n_subjects):
        for ses in range(n_sessions):
            for t in range(n_per_session):
                rows.append(
                    {
                        "subject": f"S{s}",
                        "session": f"ses{ses}",
                        "run": "0",
                        "recording": f"S{s}_{ses}",
                        "trial": t,
                        "onset": 2.0 * t,
                    }
                )
                y.append(t % n_classes)
    y = np.array(y)
    X = rng.normal(size=(len(y), 4))
    if regression:
        target = X[:, 0] * effect + rng.normal(scale=0.5, size=len(y))
        return EpochsDataset(X, target, pd.DataFrame(rows))
    X[:, 0] += effect * y
    return EpochsDataset(X, y, pd.DataFrame(rows), info={"window_s": 1.0})


class PredictOnly(ClassifierMixin, BaseEstimator):
    """A classifier without predict_proba / decision_function."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_planted_effect_beats_chance_and_pooled_outputs_are_consistent():
    ds = make_dataset(n_classes=3)
    res = cross_validate(LinearDiscriminantAnalysis(), ds, "within-session", "balanced_accuracy")
    assert isinstance(res, CVResult)
    assert res.n_folds == 6 * 5 and res.chance == pytest.approx(1 / 3)
    assert res.score > 0.6
    # within-session: per-session means then averaged
    blocks = np.array(res.blocks)
    for b, v in res.block_scores.items():
        assert v == pytest.approx(res.scores[blocks == b].mean())
    assert res.score == pytest.approx(np.mean(list(res.block_scores.values())))
    assert len(res.block_scores) == 6
    # pooled predictions: each sample once; confusion matrix and pooled score agree with sklearn
    np.testing.assert_array_equal(np.sort(res.sample_index), np.arange(ds.n_samples))
    np.testing.assert_array_equal(res.y_true, ds.y[res.sample_index])
    np.testing.assert_array_equal(res.confusion_matrix, confusion_matrix(res.y_true, res.y_pred))
    assert res.pooled_score == pytest.approx(balanced_accuracy_score(res.y_true, res.y_pred))
    assert res.y_score.shape == (ds.n_samples, 3)
    np.testing.assert_allclose(res.y_score.sum(1), 1.0)
    assert res.classes == [0, 1, 2]
    assert (res.fit_times >= 0).all() and (res.n_train + res.n_test <= ds.n_samples).all()


def test_predictions_match_a_manual_sklearn_loop():
    ds = make_dataset()
    proto = get_protocol("leave-one-subject-out")
    res = cross_validate(LogisticRegression(), ds, proto, "accuracy")
    for k, (train, test) in enumerate(proto.split(ds)):
        est = LogisticRegression().fit(ds.X[train], ds.y[train])
        np.testing.assert_array_equal(res.y_pred[res.fold == k], est.predict(ds.X[test]))
        np.testing.assert_allclose(res.y_score[res.fold == k], est.predict_proba(ds.X[test]))
        assert res.scores[k] == pytest.approx(np.mean(est.predict(ds.X[test]) == ds.y[test]))
        assert res.blocks[k] == f"S{k}"
    assert res.score == pytest.approx(res.scores.mean())


def test_roc_auc_with_decision_function_and_no_effect_is_near_chance():
    ds = make_dataset(effect=0.0, n_subjects=4, seed=3)
    res = cross_validate(LinearSVC(), ds, "leave-one-subject-out", "roc_auc")
    assert res.chance == 0.5 and abs(res.score - 0.5) < 0.15
    strong = cross_validate(LinearSVC(), make_dataset(effect=3.0), "cross-session", "roc_auc")
    assert strong.score > 0.9


def test_regression_and_json_round_trip():
    ds = make_dataset(regression=True)
    res = cross_validate(
        Ridge(), ds, get_protocol("grouped-kfold", n_splits=3, group_by="recording"), "r2"
    )
    assert res.score > 0.5 and res.classes is None and res.confusion_matrix is None
    assert res.y_score is None
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["metric"] == "r2" and d["protocol"]["name"] == "grouped-kfold"
    assert len(d["scores"]) == 3 and d["protocol"]["params"]["group_by"] == "recording"


def test_nan_fold_scores_are_ignored_and_serialised_as_null():
    ds = make_dataset(n_subjects=3, n_sessions=1, n_per_session=12)
    ds.y[:12] = 0  # subject S0 has only class 0: roc_auc undefined on that fold
    res = cross_validate(LogisticRegression(), ds, "leave-one-subject-out", "roc_auc")
    assert np.isnan(res.scores[0]) and np.isfinite(res.scores[1:]).all()
    assert res.score == pytest.approx(res.scores[1:].mean())
    assert res.to_dict()["scores"][0] is None


def test_parallel_progress_and_seed_are_deterministic():
    ds = make_dataset(n_subjects=2)
    calls = []
    a = cross_validate(
        LinearDiscriminantAnalysis(),
        ds,
        "within-session",
        seed=1,
        progress=lambda i, n: calls.append((i, n)),
    )
    assert calls == [(i, 20) for i in range(1, 21)]
    with joblib.parallel_config(backend="threading"):  # process start-up is slow on CI
        b = cross_validate(LinearDiscriminantAnalysis(), ds, "within-session", seed=1, n_jobs=2)
    np.testing.assert_allclose(a.scores, b.scores)
    np.testing.assert_array_equal(a.sample_index, b.sample_index)
    c = cross_validate(
        LinearDiscriminantAnalysis(), ds, "within-session", seed=2, return_predictions=False
    )
    assert not np.array_equal(a.test_indices[0], c.test_indices[0])  # seed moves the folds
    assert c.y_pred is None and c.confusion_matrix is None


@pytest.mark.parametrize(
    ("estimator", "dataset_kw", "protocol", "metric", "error", "match"),
    [
        (
            LogisticRegression(),
            {},
            "loso",
            "accuracy",
            ConfigError,
            "'protocol'.*'leave-one-subject-out'.*got 'loso'",
        ),
        (LogisticRegression(), {}, 3, "accuracy", ConfigError, "'protocol'.*got 3"),
        (
            LogisticRegression(),
            {},
            "within-session",
            "auc",
            ConfigError,
            "'metric'.*'roc_auc'.*got 'auc'",
        ),
        (
            PredictOnly(),
            {},
            "within-session",
            "roc_auc",
            TypeError,
            "'roc_auc' needs class scores.*PredictOnly has neither predict_proba",
        ),
        (
            object(),
            {},
            "within-session",
            "accuracy",
            TypeError,
            "'estimator'.*fit and predict; got object",
        ),
        (
            LogisticRegression(),
            {"n_subjects": 1},
            "leave-one-subject-out",
            "accuracy",
            ValueError,
            "at least 2 subjects; found 1",
        ),
    ],
)
def test_bad_cross_validate_inputs_table(estimator, dataset_kw, protocol, metric, error, match):
    ds = make_dataset(**dataset_kw)
    with pytest.raises(error, match=match):
        cross_validate(estimator, ds, protocol, metric)


def test_dataset_without_labels_or_wrong_type_is_refused():
    ds = make_dataset()
    with pytest.raises(ValueError, match=r"dataset.y is None"):
        cross_validate(LogisticRegression(), EpochsDataset(ds.X), "within-session")
    with pytest.raises(TypeError, match="EpochsDataset; got ndarray"):
        cross_validate(LogisticRegression(), ds.X, "within-session")
