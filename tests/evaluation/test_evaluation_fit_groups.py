"""Estimators whose fit takes ``groups`` receive the protocol's groups of the training samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from neurodl.data import EpochsDataset
from neurodl.evaluation import cross_validate

SEEN: list[np.ndarray] = []


class GroupRecorder(ClassifierMixin, BaseEstimator):
    def fit(self, X, y, groups=None):
        SEEN.append(np.asarray(groups))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_fit_receives_training_groups():
    rng = np.random.default_rng(0)
    runs = np.repeat(["1", "2", "3", "4"], 10)
    ds = EpochsDataset(
        rng.standard_normal((40, 3)), np.tile([0, 1], 20), pd.DataFrame({"run": runs})
    )
    SEEN.clear()
    res = cross_validate(GroupRecorder(), ds, "leave-one-run-out", "balanced_accuracy")
    assert len(SEEN) == res.n_folds == 4
    for groups, test in zip(SEEN, res.test_indices):
        held_out = set(runs[test])
        assert len(groups) == 30 and not held_out & set(groups)
        assert set(groups) == set(runs) - held_out


def test_a_pipelines_final_estimator_receives_the_training_groups():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.default_rng(1)
    subjects = np.repeat(["s1", "s2", "s3"], 8)
    ds = EpochsDataset(
        rng.standard_normal((24, 3)), np.tile([0, 1], 12), pd.DataFrame({"subject": subjects})
    )
    SEEN.clear()
    pipe = make_pipeline(FunctionTransformer(), GroupRecorder())
    res = cross_validate(pipe, ds, "leave-one-subject-out", "balanced_accuracy")
    assert len(SEEN) == res.n_folds == 3
    for groups, test in zip(SEEN, res.test_indices):
        assert set(groups) == set(subjects) - set(subjects[test])
        assert len(groups) == 16
