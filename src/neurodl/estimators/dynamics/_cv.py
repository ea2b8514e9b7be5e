"""Contiguous-block cross-validation splitter for time-binned data (no shuffling across folds).

Used by :class:`~neurodl.estimators.dynamics.WienerFilter` for its inner penalty search;
re-exported by :mod:`neurodl.analyses.dynamics.cv` (with :func:`cross_val_predict_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = ["ContiguousBlockCV"]


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
