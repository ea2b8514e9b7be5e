"""Contiguous-block cross-validation for time-binned data (no shuffling of bins across folds).

Neighbouring bins are correlated (smooth behaviour, history windows), so a shuffled K-fold
leaks. :class:`ContiguousBlockCV` cuts the bins into ``n_splits`` contiguous test blocks and
drops ``gap`` bins on each side of the test block from the training set. It is a scikit-learn
splitter (``split(X) -> (train, test)``). For forward-chaining (never train on the future), use
:class:`neurodl.evaluation.BlockedTimeSeries` on an EpochsDataset instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from .metrics import r2_per_dim

__all__ = ["ContiguousBlockCV", "cross_val_predict_blocks"]


class ContiguousBlockCV:
    """K contiguous test blocks with ``gap`` bins removed from training on each side.

    Parameters
    ----------
    n_splits : int, default=5
    gap : int, default=0
        Bins excluded from training before and after each test block (use at least the
        history length of the decoder).

    Examples
    --------
    >>> cv = ContiguousBlockCV(3, gap=1)
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros(6))][1]
    ([0, 5], [2, 3])
    """

    def __init__(self, n_splits: int = 5, *, gap: int = 0) -> None:
        if isinstance(n_splits, bool) or not isinstance(n_splits, int) or n_splits < 2:
            raise ConfigError(
                f"Invalid value for 'n_splits'. Allowed: an integer >= 2; got {n_splits!r}."
            )
        if isinstance(gap, bool) or not isinstance(gap, int) or gap < 0:
            raise ConfigError(f"Invalid value for 'gap'. Allowed: an integer >= 0; got {gap!r}.")
        self.n_splits = n_splits
        self.gap = gap

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` index arrays; test blocks are contiguous and in order."""
        n = len(X)
        if n < 2 * self.n_splits:
            raise DataFormatError(
                f"ContiguousBlockCV(n_splits={self.n_splits}, gap={self.gap}) needs at least "
                f"{2 * self.n_splits} samples; got {n}."
            )
        bounds = np.linspace(0, n, self.n_splits + 1).astype(int)
        idx = np.arange(n)
        for k in range(self.n_splits):
            lo, hi = bounds[k], bounds[k + 1]
            test = idx[lo:hi]
            train = idx[(idx < lo - self.gap) | (idx >= hi + self.gap)]
            if train.size == 0:
                raise DataFormatError(
                    f"ContiguousBlockCV(n_splits={self.n_splits}, gap={self.gap}) needs more "
                    f"samples: fold {k} has no training bins left out of {n}."
                )
            yield train, test


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
