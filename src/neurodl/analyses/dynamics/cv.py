"""Contiguous-block cross-validation for time-binned data (no shuffling of bins across folds).

Neighbouring bins are correlated (smooth behaviour, history windows), so a shuffled K-fold
leaks. :class:`ContiguousBlockCV` cuts the bins into ``n_splits`` contiguous test blocks and
drops ``gap`` bins on each side of the test block from the training set. It is a scikit-learn
splitter (``split(X) -> (train, test)``). For forward-chaining (never train on the future), use
:class:`neurodl.evaluation.BlockedTimeSeries` on an EpochsDataset instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...estimators.dynamics._cv import ContiguousBlockCV
from .metrics import r2_per_dim

__all__ = ["ContiguousBlockCV", "cross_val_predict_blocks"]


def cross_val_predict_blocks(
    make_estimator: Callable[[], Any],
    X: Any,
    y: Any,
    cv: ContiguousBlockCV,
) -> tuple[np.ndarray, list[float]]:
    """Out-of-fold predictions of a decoder under contiguous-block CV.

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh estimator with ``fit(X, y)`` / ``predict(X)``; the decoders of
        :mod:`neurodl.analyses.dynamics.decoders` see the *whole* block (they build their own
        history windows), so train and test are passed as contiguous pieces.
    X : ndarray of shape (n_bins, n_features)
    y : ndarray of shape (n_bins, n_dims)
    cv : ContiguousBlockCV

    Returns
    -------
    y_pred : ndarray of shape (n_bins, n_dims)
    fold_r2 : list of float
        Mean R^2 over dims per fold.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from neurodl.analyses.dynamics import ContiguousBlockCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))  # 200 bins x 4 neurons
    >>> velocity = X @ np.array([1.0, -2.0, 0.0, 0.5]) + 0.1 * rng.normal(size=200)
    >>> pred, fold_r2 = cross_val_predict_blocks(lambda: Ridge(alpha=1.0), X, velocity,
    ...                                          ContiguousBlockCV(5, gap=2))
    >>> pred.shape, np.round(fold_r2, 3).tolist()  # every bin predicted once, out of fold
    ((200, 1), [0.999, 0.998, 0.999, 0.997, 0.998])
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    y2 = y[:, None] if y.ndim == 1 else y
    pred = np.full(y2.shape, np.nan)
    scores = []
    for train, test in cv.split(X):
        est = make_estimator()
        est.fit(X[train], y2[train])
        p = np.asarray(est.predict(X[test])).reshape(len(test), -1)
        pred[test] = p
        scores.append(float(np.nanmean(r2_per_dim(y2[test], p))))
    return pred, scores
