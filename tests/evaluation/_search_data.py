"""Shared test data of the search tests: the label is in one planted feature only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from neurodl.data import EpochsDataset

PLANTED = 3  # the only informative feature (column 1 + PLANTED of X)
SEEN: list[np.ndarray] = []  # sample ids every Pick saw in fit/predict (spy, in-process)


def planted_search_dataset(n_subjects: int = 5, n_per_subject: int = 24, n_features: int = 6):
    """Column 0 is the sample id; class 1 is shifted by 2 on feature ``PLANTED`` only."""
    rng = np.random.default_rng(0)
    y = np.tile(np.repeat([0, 1], n_per_subject // 2), n_subjects)
    X = rng.normal(size=(len(y), 1 + n_features))
    X[:, 1 + PLANTED] += 2.0 * y
    X[:, 0] = np.arange(len(y))
    md = pd.DataFrame(
        {
            "subject": np.repeat([f"S{k}" for k in range(n_subjects)], n_per_subject),
            "session": np.tile(["1", "2"], n_subjects * n_per_subject // 2),
        }
    )
    return EpochsDataset(X, y=y, metadata=md)


class Pick(BaseEstimator, ClassifierMixin):
    """Threshold classifier on one feature (``feature``), midway between the class means."""

    def __init__(self, feature: int = 0, spy: bool = False) -> None:
        self.feature = feature
        self.spy = spy

    def fit(self, X, y):
        """Fit the threshold on column ``1 + feature``."""
        if self.spy:
            SEEN.append(np.asarray(X[:, 0], dtype=int))
        x = X[:, 1 + self.feature]
        self.classes_ = np.unique(y)
        self.mid_ = (x[y == self.classes_[0]].mean() + x[y == self.classes_[1]].mean()) / 2
        self.sign_ = np.sign(x[y == self.classes_[1]].mean() - x[y == self.classes_[0]].mean())
        return self

    def predict(self, X):
        """Class of each row."""
        if self.spy:
            SEEN.append(np.asarray(X[:, 0], dtype=int))
        above = self.sign_ * (X[:, 1 + self.feature] - self.mid_) > 0
        return self.classes_[above.astype(int)]
