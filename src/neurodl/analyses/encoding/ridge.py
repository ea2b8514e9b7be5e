"""Ridge estimators with a penalty per target chosen by cross-validation, and banded ridge.

The scikit-learn API over the solvers of :mod:`neurodl.analyses.encoding._solvers` (which
documents how the scores, penalties and refits are computed): :class:`RidgeCVPerTarget` (one
penalty per target) and :class:`BandedRidgeCV` (one penalty per feature band, Nunez-Elizalde et
al. 2019). :func:`ridge_cv_scores`, :func:`ridge_path_coef` and :data:`SCORINGS` are
re-exported here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from ..._logging import logger
from ...exceptions import ConfigError, DataFormatError, NotFittedError
from ._solvers import (
    SCORINGS,
    _check_2d,
    _check_alphas,
    _check_dtype,
    _coef,
    _cv_scores,
    ridge_cv_scores,
    ridge_path_coef,
)

__all__ = [
    "SCORINGS",
    "BandedRidgeCV",
    "RidgeCVPerTarget",
    "ridge_cv_scores",
    "ridge_path_coef",
]


class RidgeCVPerTarget(RegressorMixin, BaseEstimator):
    """Ridge regression whose penalty is chosen by cross-validation separately for each target.

    Parameters
    ----------
    alphas : sequence of float, default=logspace(-3, 5, 17)
    cv : int, splitter or iterable of (train, test), default=5
        Unshuffled ``KFold`` for an int (``GroupKFold`` when ``fit`` gets ``groups``).
    scoring : {"r2", "pearson", "neg_mse"}, default="r2"
    fit_intercept : bool, default=True
    solver : {"auto", "primal", "dual"}, default="auto"
    chunk_size : int, default=2000
    dtype : {"float32", "float64"}, default="float32"
        Precision of the large products (those that grow with the number of targets) in the
        search and the refit; decompositions are always float64. ``float64`` reproduces a
        direct scikit-learn ``Ridge`` loop to ~1e-10, ``float32`` to ~1e-5 relative and is
        about twice as fast.

    Attributes
    ----------
    best_alphas_ : ndarray of shape (n_targets,)
    cv_scores_ : ndarray of shape (n_alphas, n_targets)
    coef_ : ndarray of shape (n_targets, n_features)
        Same layout as scikit-learn's ``Ridge``.
    intercept_ : ndarray of shape (n_targets,)
    solver_ : str
        The form used ("primal" or "dual").

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 5)); Y = X @ rng.standard_normal((5, 3))
    >>> model = RidgeCVPerTarget(alphas=[0.01, 1.0, 100.0]).fit(X, Y)
    >>> model.best_alphas_.shape, round(model.score(X, Y), 3)
    ((3,), 1.0)
    """

    def __init__(
        self,
        alphas: Sequence[float] = tuple(np.logspace(-3, 5, 17)),
        *,
        cv: Any = 5,
        scoring: str = "r2",
        fit_intercept: bool = True,
        solver: str = "auto",
        chunk_size: int = 2000,
        dtype: str = "float32",
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.chunk_size = chunk_size
        self.dtype = dtype

    def fit(self, X: Any, y: Any, groups: Any = None) -> RidgeCVPerTarget:
        """Choose each target's penalty by CV, then refit on all samples.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples, n_targets) or (n_samples,)
        groups : array-like of shape (n_samples,), optional
            Passed to the CV splitter.

        Returns
        -------
        self : RidgeCVPerTarget
        """
        dt = _check_dtype(self.dtype)
        Y = np.asarray(y, dtype=float)
        self._1d = Y.ndim == 1
        alphas = _check_alphas(self.alphas)
        scores, prep = _cv_scores(
            X, Y, alphas, self.cv, groups, self.scoring, self.fit_intercept, self.solver,
            self.chunk_size, dt, keep=True,
        )  # fmt: skip
        self.cv_scores_ = scores
        self.best_alphas_ = alphas[np.argmax(scores, axis=0)]
        # Refit on all samples: one decomposition for all targets, whatever their penalty.
        coef, intercept = _coef(prep, self.best_alphas_, self.solver, dt)
        n, p = prep.Xc.shape
        self.solver_ = self.solver if self.solver != "auto" else ("dual" if p > n else "primal")
        self.coef_ = coef.T
        self.intercept_ = intercept
        self.n_features_in_ = p
        logger.debug("RidgeCVPerTarget: %d targets, solver %s", coef.shape[1], self.solver_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict with each target's own penalty.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        Y : ndarray of shape (n_samples, n_targets) (or (n_samples,) for a 1-D ``y`` in fit)
        """
        if not hasattr(self, "coef_"):
            raise NotFittedError("This RidgeCVPerTarget is not fitted yet; call fit first.")
        X = _check_2d("X", X, np.float64)
        if X.shape[1] != self.n_features_in_:
            raise DataFormatError(
                f"'X' has {X.shape[1]} features; the model was fitted on {self.n_features_in_}."
            )
        out = X @ self.coef_.T + self.intercept_
        return out[:, 0] if self._1d else out


def _band_grid(n_bands: int, n_ratios: int, span: float) -> np.ndarray:
    """Relative band penalties: every combination of ``n_ratios`` log-spaced values, first = 1."""
    levels = np.logspace(-span, span, n_ratios)
    rows = [(1.0, *rest) for rest in itertools.product(levels, repeat=n_bands - 1)]
    return np.unique(np.array(rows), axis=0)


class BandedRidgeCV(RegressorMixin, BaseEstimator):
    """Banded ridge: one penalty per feature space (band), chosen per target by CV.

    Each candidate of relative band penalties ``g`` (band 0 fixed at 1, the others on a log grid)
    rescales the bands to ``X_b / sqrt(g_b)`` and runs the one-decomposition-per-fold search over
    ``alphas``; each target keeps the (``g``, ``alpha``) pair with the best CV score, so its
    penalty on band ``b`` is ``alpha * g_b``. A useless band is switched off by a large ``g_b``.

    Parameters
    ----------
    bands : sequence of int
        Number of columns of each band, in the column order of ``X`` (they must sum to
        ``n_features``).
    alphas : sequence of float, default=logspace(-3, 5, 17)
    n_ratios : int, default=5
        Grid points per extra band for the relative penalties.
    ratio_span : float, default=3.0
        The relative penalties range over ``10**-span`` .. ``10**span``.
    cv, scoring, fit_intercept, solver, chunk_size, dtype
        As in :class:`RidgeCVPerTarget`.

    Attributes
    ----------
    band_penalties_ : ndarray of shape (n_targets, n_bands)
    cv_best_scores_ : ndarray of shape (n_targets,)
    coef_ : ndarray of shape (n_targets, n_features)
    intercept_ : ndarray of shape (n_targets,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 6)); Y = X[:, :3] @ rng.standard_normal((3, 2))
    >>> m = BandedRidgeCV(bands=[3, 3], alphas=[0.1, 10.0], n_ratios=3).fit(X, Y)
    >>> m.band_penalties_.shape
    (2, 2)
    """

    def __init__(
        self,
        bands: Sequence[int] = (),
        *,
        alphas: Sequence[float] = tuple(np.logspace(-3, 5, 17)),
        n_ratios: int = 5,
        ratio_span: float = 3.0,
        cv: Any = 5,
        scoring: str = "r2",
        fit_intercept: bool = True,
        solver: str = "auto",
        chunk_size: int = 2000,
        dtype: str = "float64",
    ) -> None:
        self.bands = bands
        self.alphas = alphas
        self.n_ratios = n_ratios
        self.ratio_span = ratio_span
        self.cv = cv
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.chunk_size = chunk_size
        self.dtype = dtype

    def _band_index(self, p: int) -> np.ndarray:
        sizes = [int(b) for b in self.bands]
        if not sizes or any(b < 1 for b in sizes) or sum(sizes) != p:
            raise ConfigError(
                f"Invalid value for 'bands': positive column counts summing to n_features ({p}); "
                f"got {list(self.bands)!r}."
            )
        return np.repeat(np.arange(len(sizes)), sizes)

    def fit(self, X: Any, y: Any, groups: Any = None) -> BandedRidgeCV:
        """Search band penalties and global penalties per target; refit on all samples."""
        X = _check_2d("X", X, np.float64)
        Y = np.asarray(y, dtype=float)
        self._1d = Y.ndim == 1
        Y = Y[:, None] if self._1d else Y
        band = self._band_index(X.shape[1])
        alphas = _check_alphas(self.alphas)
        if isinstance(self.n_ratios, bool) or not isinstance(self.n_ratios, (int, np.integer)):
            raise ConfigError(
                f"Invalid value for 'n_ratios': a positive int; got {self.n_ratios!r}."
            )
        if self.n_ratios < 1:
            raise ConfigError(
                f"Invalid value for 'n_ratios': a positive int; got {self.n_ratios!r}."
            )
        grid = _band_grid(int(band.max()) + 1, int(self.n_ratios), float(self.ratio_span))
        best = np.full(Y.shape[1], -np.inf)
        pen = np.zeros((Y.shape[1], grid.shape[1]))
        for g in grid:
            scale = 1.0 / np.sqrt(g[band])
            scores, _ = _cv_scores(
                X * scale, Y, alphas, self.cv, groups, self.scoring, self.fit_intercept,
                self.solver, self.chunk_size, np.dtype(self.dtype),
            )  # fmt: skip
            arg = np.argmax(scores, axis=0)
            top = scores[arg, np.arange(Y.shape[1])]
            better = top > best
            best[better] = top[better]
            pen[better] = alphas[arg[better], None] * g[None, :]
        self.band_penalties_ = pen
        self.cv_best_scores_ = best
        # Refit: group targets sharing a penalty vector (one decomposition per group).
        coef = np.zeros((X.shape[1], Y.shape[1]))
        intercept = np.zeros(Y.shape[1])
        keys, inverse = np.unique(pen / pen[:, :1], axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for k, ratios in enumerate(keys):
            cols = np.flatnonzero(inverse == k)
            scale = 1.0 / np.sqrt(ratios[band])
            c, b = ridge_path_coef(
                X * scale, Y[:, cols], pen[cols, 0], fit_intercept=self.fit_intercept,
                solver=self.solver, chunk_size=self.chunk_size,
            )  # fmt: skip
            coef[:, cols] = c * scale[:, None]
            intercept[cols] = b
        self.coef_ = coef.T
        self.intercept_ = intercept
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict all targets; ``X`` of shape (n_samples, n_features)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("This BandedRidgeCV is not fitted yet; call fit first.")
        X = _check_2d("X", X, np.float64)
        out = X @ self.coef_.T + self.intercept_
        return out[:, 0] if self._1d else out
