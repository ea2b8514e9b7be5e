"""Ridge regression with a penalty per target chosen by cross-validation, and banded ridge.

How it is computed
------------------
For every fold the training design is decomposed **once**: the SVD ``X_tr = U S V^T`` when
``n_samples >= n_features`` (primal form), or the eigendecomposition ``X_tr X_tr^T = U L U^T`` of
the kernel when features outnumber samples (dual form). In both forms the ridge prediction of the
validation samples for penalty ``alpha`` is ``B diag(1 / (l + alpha)) C`` with ``l`` the
eigenvalues of the training Gram matrix, ``B`` the validation design in the eigenbasis
(``X_val V``, or ``K_val,tr U``) and ``C`` the projected training targets (``S U^T Y`` or
``U^T Y``). The validation sum of squares of every target for every penalty then follows from
``||y_val||^2 - 2 <B^T y_val, w C> + ||B w C||^2``: one ``(n_val x r) @ (r x n_targets)``
product per penalty and nothing else that grows with the number of targets. Targets are processed
in chunks so that memory stays bounded (``chunk_size`` targets at a time).

The penalty of each target is the one with the best mean validation score over folds (``r2``
averaged over folds as scikit-learn's ``GridSearchCV`` does, or ``pearson`` / ``neg_mse``). The
final model is refitted on all samples with each target's own penalty from one more
decomposition.

Banded ridge (several feature spaces with one penalty each, Nunez-Elizalde et al. 2019) is ridge on
``[X_1 / sqrt(g_1), ..., X_k / sqrt(g_k)]``: :class:`BandedRidgeCV` searches a grid of relative
band penalties ``g`` and, for each, the global penalties with the same solver; each target keeps
its best (band weights, penalty) pair.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin

from ..._logging import logger
from ...exceptions import ConfigError, DataFormatError, NotFittedError

__all__ = [
    "SCORINGS",
    "BandedRidgeCV",
    "RidgeCVPerTarget",
    "ridge_cv_scores",
    "ridge_path_coef",
]

#: Scoring name -> description (validation score per target per fold, averaged over folds).
SCORINGS: dict[str, str] = {
    "r2": "coefficient of determination on the validation fold (sklearn r2_score per target)",
    "pearson": "Pearson correlation of predictions and validation targets",
    "neg_mse": "minus the validation mean squared error",
}

_SOLVERS = ("auto", "primal", "dual")
_EPS = 1e-12


def _check_2d(name: str, arr: Any, dtype: Any) -> np.ndarray:
    out = np.asarray(arr, dtype=dtype)
    if out.ndim == 1 and name == "Y":
        out = out[:, None]
    if out.ndim != 2:
        raise DataFormatError(f"'{name}' must be 2-D (n_samples, n_{name}); got shape {out.shape}.")
    if not np.all(np.isfinite(out)):
        raise DataFormatError(f"'{name}' contains NaN or inf.")
    return out


def _check_alphas(alphas: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(alphas, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ConfigError(
            f"'alphas' must be a non-empty 1-D list of positive floats; got {alphas!r}."
        )
    return arr


def _make_folds(cv: Any, n: int, groups: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return a list of (train, test) index arrays from an int, splitter or iterable."""
    if isinstance(cv, (bool, str)):
        raise ConfigError(f"Invalid value for 'cv': an int >= 2, a splitter or folds; got {cv!r}.")
    if isinstance(cv, (int, np.integer)):
        from sklearn.model_selection import GroupKFold, KFold

        if cv < 2 or cv > n:
            raise ConfigError(f"Invalid value for 'cv': need 2 <= cv <= n_samples ({n}); got {cv}.")
        splitter = GroupKFold(int(cv)) if groups is not None else KFold(int(cv))
        folds = list(splitter.split(np.zeros(n), groups=groups))
    elif hasattr(cv, "split"):
        folds = list(cv.split(np.zeros((n, 1)), groups=groups))
    elif isinstance(cv, Iterable) and not isinstance(cv, str):
        folds = [(np.asarray(tr), np.asarray(te)) for tr, te in cv]
    else:
        raise ConfigError(
            f"Invalid value for 'cv': an int, a scikit-learn splitter or (train, test) pairs; "
            f"got {type(cv).__name__}."
        )
    if len(folds) < 1:
        raise ConfigError("Invalid value for 'cv': it produced no fold.")
    for tr, te in folds:
        if len(tr) < 2 or len(te) < 1:
            raise ConfigError(
                "Invalid value for 'cv': every fold needs >= 2 train and >= 1 test samples."
            )
    return folds


@dataclass
class _Basis:
    """Eigenbasis of one training set: ``pred = B @ (C / (l + alpha))`` (see module docstring)."""

    lam: np.ndarray  # (r,)
    to_basis: np.ndarray  # (r, n_tr): maps training targets to the basis (S U^T or U^T)


def _decompose(X: np.ndarray, solver: str) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """Return (form, lam, left, right) for X (n, p).

    primal: X = U S V^T -> lam = S^2, left = U S (n, r) so C = left^T Y, right = V (p, r).
    dual: X X^T = U L U^T -> lam = L, left = U (n, r), right = X^T U (p, r) (so X_val right = K U).
    Both satisfy: prediction(X_new) = X_new @ right @ diag(1 / (lam + alpha)) @ left^T @ Y.
    """
    n, p = X.shape
    form = solver if solver != "auto" else ("dual" if p > n else "primal")
    if form == "primal":
        U, s, Vt = linalg.svd(X, full_matrices=False, check_finite=False, lapack_driver="gesdd")
        keep = s > s[0] * 1e-10 if s.size else s > 0
        U, s, Vt = U[:, keep], s[keep], Vt[keep]
        return form, s**2, U * s, Vt.T
    K = X @ X.T
    lam, U = linalg.eigh(K, check_finite=False, driver="evr")
    keep = lam > max(lam[-1], 0.0) * 1e-10
    lam, U = lam[keep], U[:, keep]
    return form, lam, U, X.T @ U


def _center(X: np.ndarray, Y: np.ndarray, fit_intercept: bool) -> tuple[np.ndarray, ...]:
    if not fit_intercept:
        return X, Y, np.zeros(X.shape[1], X.dtype), np.zeros(Y.shape[1], Y.dtype)
    xm, ym = X.mean(0), Y.mean(0)
    return X - xm, Y - ym, xm, ym


def ridge_cv_scores(
    X: np.ndarray,
    Y: np.ndarray,
    alphas: Sequence[float],
    *,
    cv: Any = 5,
    groups: Any = None,
    scoring: Literal["r2", "pearson", "neg_mse"] = "r2",
    fit_intercept: bool = True,
    solver: Literal["auto", "primal", "dual"] = "auto",
    chunk_size: int = 2000,
    dtype: Any = np.float64,
) -> np.ndarray:
    """Cross-validated score of every penalty for every target, from one decomposition per fold.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets) or (n_samples,)
    alphas : sequence of float
        Positive penalties.
    cv : int, splitter or iterable of (train, test), default=5
        An int gives ``KFold(cv)`` (``GroupKFold`` when ``groups`` is given), unshuffled.
    groups : array-like of shape (n_samples,), optional
        Passed to the splitter (e.g. runs, so that a run never straddles a fold).
    scoring : {"r2", "pearson", "neg_mse"}, default="r2"
        Validation score per target per fold, averaged over folds.
    fit_intercept : bool, default=True
        Centre ``X`` and ``Y`` with the training means of each fold.
    solver : {"auto", "primal", "dual"}, default="auto"
        ``auto`` takes the kernel (dual) form when features outnumber training samples.
    chunk_size : int, default=2000
        Targets processed at a time (bounds memory to about ``n_val * chunk_size`` floats).
    dtype : numpy dtype, default=float64
        Working precision; ``float32`` is about twice as fast.

    Returns
    -------
    scores : ndarray of shape (n_alphas, n_targets)
        Mean validation score over folds.
    """
    scores, _ = _cv_scores(
        X, Y, alphas, cv, groups, scoring, fit_intercept, solver, chunk_size, dtype
    )
    return scores


def _cv_scores(
    X: Any,
    Y: Any,
    alphas: Any,
    cv: Any,
    groups: Any,
    scoring: str,
    fit_intercept: bool,
    solver: str,
    chunk_size: int,
    dtype: Any,
) -> tuple[np.ndarray, str]:
    X = _check_2d("X", X, dtype)
    Y = _check_2d("Y", Y, dtype)
    if X.shape[0] != Y.shape[0]:
        raise DataFormatError(
            f"'X' and 'Y' must have the same number of samples; got {X.shape[0]} and {Y.shape[0]}."
        )
    if scoring not in SCORINGS:
        raise ConfigError(
            f"Invalid value for 'scoring'. Allowed: {', '.join(map(repr, SCORINGS))}; got {scoring!r}."
        )
    if solver not in _SOLVERS:
        raise ConfigError(
            f"Invalid value for 'solver'. Allowed: {', '.join(map(repr, _SOLVERS))}; got {solver!r}."
        )
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise ConfigError(f"Invalid value for 'chunk_size': a positive int; got {chunk_size!r}.")
    alphas = _check_alphas(alphas)
    folds = _make_folds(cv, X.shape[0], groups)
    n_t = Y.shape[1]
    total = np.zeros((alphas.size, n_t))
    form = solver
    for train, test in folds:
        Xtr, Ytr, xm, ym = _center(X[train], Y[train], fit_intercept)
        form, lam, left, right = _decompose(Xtr, solver)
        B = (X[test] - xm) @ right  # (n_val, r)
        inv = (1.0 / (lam[None, :] + alphas[:, None])).astype(dtype)  # (n_alphas, r)
        b_sum = B.sum(0)
        n_val = len(test)
        for start in range(0, n_t, chunk_size):
            sl = slice(start, min(start + chunk_size, n_t))
            C = left.T @ Ytr[:, sl]  # (r, t)
            Yv = Y[test, sl] - ym[sl]
            BtY = B.T @ Yv  # (r, t)
            cross = inv @ (BtY * C)  # (n_alphas, t): y_val . pred
            pred_sum = inv @ (b_sum[:, None] * C)  # (n_alphas, t): sum of preds
            yy = (Yv * Yv).sum(0)
            ysum = Yv.sum(0)
            for a in range(alphas.size):
                P = B @ (inv[a][:, None] * C)
                pp = np.einsum("ij,ij->j", P, P)
                total[a, sl] += _score(scoring, yy, ysum, pp, cross[a], pred_sum[a], n_val)
    return total / len(folds), form


def _score(
    scoring: str,
    yy: np.ndarray,
    ysum: np.ndarray,
    pp: np.ndarray,
    yp: np.ndarray,
    psum: np.ndarray,
    n: int,
) -> np.ndarray:
    """Validation score from sums: yy = sum y^2, pp = sum pred^2, yp = sum y pred."""
    sse = yy - 2 * yp + pp
    if scoring == "neg_mse":
        return -sse / n
    if scoring == "r2":
        sst = yy - ysum**2 / n
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1.0 - sse / sst
        # sklearn's r2_score convention for a constant validation target
        return np.where(sst > _EPS * np.maximum(yy, 1.0), r2, np.where(sse <= _EPS, 1.0, 0.0))
    cov = yp - ysum * psum / n
    vy = yy - ysum**2 / n
    vp = pp - psum**2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(vy * vp)
    return np.nan_to_num(r, nan=0.0)


def ridge_path_coef(
    X: np.ndarray,
    Y: np.ndarray,
    alpha_per_target: np.ndarray,
    *,
    fit_intercept: bool = True,
    solver: Literal["auto", "primal", "dual"] = "auto",
    chunk_size: int = 2000,
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge coefficients with one penalty per target, from a single decomposition of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
    alpha_per_target : ndarray of shape (n_targets,)
    fit_intercept : bool, default=True
    solver : {"auto", "primal", "dual"}, default="auto"
    chunk_size : int, default=2000

    Returns
    -------
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)
    """
    X = _check_2d("X", X, np.float64)
    Y = _check_2d("Y", Y, np.float64)
    alpha = np.asarray(alpha_per_target, dtype=float).reshape(-1)
    if alpha.size != Y.shape[1] or np.any(alpha <= 0):
        raise ConfigError(
            f"'alpha_per_target' must hold {Y.shape[1]} positive values; got shape {alpha.shape}."
        )
    Xc, Yc, xm, ym = _center(X, Y, fit_intercept)
    _, lam, left, right = _decompose(Xc, solver)
    coef = np.empty((X.shape[1], Y.shape[1]))
    for start in range(0, Y.shape[1], chunk_size):
        sl = slice(start, min(start + chunk_size, Y.shape[1]))
        C = left.T @ Yc[:, sl]
        coef[:, sl] = right @ (C / (lam[:, None] + alpha[None, sl]))
    return coef, ym - xm @ coef


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
    dtype : {"float64", "float32"}, default="float64"
        Precision of the cross-validation search (the refit is always float64).

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
        dtype: str = "float64",
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.chunk_size = chunk_size
        self.dtype = dtype

    def fit(self, X: Any, y: Any, groups: Any = None) -> RidgeCVPerTarget:
        """Choose each target's penalty by CV, then refit on all samples."""
        if self.dtype not in ("float64", "float32"):
            raise ConfigError(
                f"Invalid value for 'dtype'. Allowed: 'float64', 'float32'; got {self.dtype!r}."
            )
        Y = np.asarray(y, dtype=float)
        self._1d = Y.ndim == 1
        alphas = _check_alphas(self.alphas)
        scores, _ = _cv_scores(
            X, Y, alphas, self.cv, groups, self.scoring, self.fit_intercept, self.solver,
            self.chunk_size, np.dtype(self.dtype),
        )  # fmt: skip
        self.cv_scores_ = scores
        self.best_alphas_ = alphas[np.argmax(scores, axis=0)]
        coef, intercept = ridge_path_coef(
            X, Y if Y.ndim == 2 else Y[:, None], self.best_alphas_,
            fit_intercept=self.fit_intercept, solver=self.solver, chunk_size=self.chunk_size,
        )  # fmt: skip
        Xa = np.asarray(X)
        self.solver_ = self.solver if self.solver != "auto" else (
            "dual" if Xa.shape[1] > Xa.shape[0] else "primal"
        )  # fmt: skip
        self.coef_ = coef.T
        self.intercept_ = intercept
        self.n_features_in_ = Xa.shape[1]
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
