"""Ridge solvers (pure functions): per-target penalties by cross-validation, banded ridge.

The estimators built on them are :mod:`neurodl.analyses.encoding.ridge`
(:class:`~neurodl.analyses.encoding.ridge.RidgeCVPerTarget`,
:class:`~neurodl.analyses.encoding.ridge.BandedRidgeCV`).

How it is computed
------------------
For every fold the training Gram matrix is decomposed **once** (float64): ``X_tr^T X_tr`` (primal
form, ``p x p``, obtained as the full ``X^T X`` minus the validation block, with the training
means removed analytically rather than by copying) or the kernel ``X_tr X_tr^T`` when features
outnumber samples (dual form). In both forms the validation prediction for penalty ``alpha`` is
``B diag(d) C`` with ``d = 1 / (lam + alpha)``, ``lam`` the eigenvalues, ``B`` the validation
design in the eigenbasis (``n_val x r``) and ``C`` the projected training targets (``r x t``,
``V^T X_tr^T Y_tr`` obtained from the full ``X^T Y`` computed once, or ``U^T Y_tr``).

Per-target validation scores only need ``y.pred``, ``1.pred`` and ``||pred||^2``. The first two
are ``(B^T y) . (d c)`` and ``(B^T 1) . (d c)``. The last, ``c^T D G D c`` with ``G = B^T B``, is
split by partial fractions (``d_k d_l = (d_k - d_l) / (lam_l - lam_k)``) into
``sum_k d_k^2 G_kk c_k^2 + 2 sum_k d_k c_k h_k`` with ``h = Gamma c``,
``Gamma_kl = G_kl / (lam_l - lam_k)``: one ``r x r x t`` product per fold, whatever the number of
penalties, instead of one ``n_val x r x t`` product per penalty. That product and the sums are
float64; eigenvalues closer than ``1e-7`` relative are merged (their block of ``G`` is applied
exactly), which bounds the cancellation. The products that grow with the number of targets
(``X^T Y``, ``V^T X^T Y``, ``B^T Y_val``, the refit) use ``dtype`` (float32 by default). Targets
are processed in chunks of ``chunk_size``.

The penalty of each target is the one with the best mean validation score over folds (``r2``
averaged over folds as scikit-learn's ``GridSearchCV`` does, or ``pearson`` / ``neg_mse``). The
final model is refitted on all samples with each target's own penalty from one more
decomposition: the penalty only rescales the columns of ``C``, so all targets share it.

Banded ridge (several feature spaces with one penalty each, Nunez-Elizalde et al. 2019) is ridge on
``[X_1 / sqrt(g_1), ..., X_k / sqrt(g_k)]``: :class:`~neurodl.analyses.encoding.ridge.BandedRidgeCV` searches a grid of relative
band penalties ``g`` and, for each, the global penalties with the same solver; each target keeps
its best (band weights, penalty) pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import linalg

from ...exceptions import ConfigError, DataFormatError

__all__ = ["SCORINGS", "ridge_cv_scores", "ridge_path_coef"]

#: Scoring name -> description (validation score per target per fold, averaged over folds).
SCORINGS: dict[str, str] = {
    "r2": "coefficient of determination on the validation fold (sklearn r2_score per target)",
    "pearson": "Pearson correlation of predictions and validation targets",
    "neg_mse": "minus the validation mean squared error",
}

_SOLVERS = ("auto", "primal", "dual")
_EPS = 1e-12
#: Eigenvalues closer than this (relative to ``lam + min(alphas)``) are merged (see ``_cluster``).
_GAP_TOL = 1e-7
#: Eigenvalues below this fraction of the largest are dropped (null space of the design).
_RANK_TOL = 1e-10
#: Largest matrix decomposed on a single BLAS thread (see ``_eigh``).
_EIGH_SERIAL_MAX = 3000


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


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ConfigError(
            f"Invalid value for 'dtype'. Allowed: 'float32', 'float64'; got {dtype!r}."
        )
    return dt


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


def _eigh(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-pairs of a symmetric PSD matrix, ascending, without its numerical null space.

    Matrices up to ``_EIGH_SERIAL_MAX`` run on one BLAS thread: the tridiagonal reduction is a
    long chain of small level-2 BLAS calls, whose thread synchronisation costs more than it saves
    at this size and becomes 5-50x slower when the cores are shared with other jobs (measured:
    0.4 s on one thread vs 2-21 s on two threads for p=1000 at load 12 on 2 cores).
    """
    from threadpoolctl import threadpool_limits

    limit = 1 if A.shape[0] <= _EIGH_SERIAL_MAX else None
    with threadpool_limits(limits=limit, user_api="blas"):
        lam, V = linalg.eigh(A, check_finite=False, driver="evd", overwrite_a=True)
    keep = lam > max(lam[-1], 0.0) * _RANK_TOL if lam.size else lam > 0
    return lam[keep], V[:, keep]


def _cluster(lam: np.ndarray, alpha_min: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge (near-)equal ascending eigenvalues; return (snapped eigenvalues, cluster labels).

    Neighbours closer than ``_GAP_TOL * (lam + alpha_min)`` share a cluster and take its mean:
    a relative change of at most about 1e-7 of the training Gram matrix, which keeps the
    partial-fraction terms ``1 / (lam_l - lam_k)`` bounded.
    """
    new = np.diff(lam) > _GAP_TOL * (lam[1:] + alpha_min)
    labels = np.concatenate([[0], np.cumsum(new)])
    means = np.bincount(labels, lam) / np.bincount(labels)
    return means[labels], labels


@dataclass
class _Fold:
    """One training set in its eigenbasis; prediction of the validation block for ``alpha``:
    ``B @ diag(1 / (lam + alpha)) @ C`` (``C`` is computed per target chunk)."""

    test: np.ndarray
    train: np.ndarray
    form: str
    lam: np.ndarray  # (r,) float64, clustered
    basis: np.ndarray  # (p, r) V (primal) or (n_tr, r) U (dual), working dtype
    B: np.ndarray  # (n_val, r) working dtype
    s: np.ndarray  # (r,) V^T xm (primal)
    bsum: np.ndarray  # (r,) column sums of B
    gamma: np.ndarray  # (r, r) G_kl / (lam_l - lam_k), zero inside clusters
    gdiag: np.ndarray  # (r,) diagonal of G = B^T B
    blocks: list[tuple[slice, np.ndarray]]  # G restricted to clusters of >= 2 eigenvalues


def _setup_fold(
    Xc: np.ndarray,
    XtX: np.ndarray | None,
    xsum: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    solver: str,
    fit_intercept: bool,
    alpha_min: float,
    dtype: np.dtype,
) -> _Fold:
    """Decompose one training set (float64) from the full, globally centred design ``Xc``."""
    n_tr, p = len(train), Xc.shape[1]
    form = solver if solver != "auto" else ("dual" if p > n_tr else "primal")
    Xv = Xc[test]
    xm = (xsum - Xv.sum(0)) / n_tr if fit_intercept else np.zeros(p)
    if form == "primal":
        A = XtX - Xv.T @ Xv if XtX is not None else Xc[train].T @ Xc[train]
        A -= n_tr * np.outer(xm, xm)
        lam, V = _eigh(A)
        s = V.T @ xm
        B = Xv @ V - s
        basis = V
    else:
        Xtr = Xc[train] - xm
        lam, U = _eigh(Xtr @ Xtr.T)
        B = (Xv - xm) @ (Xtr.T @ U)
        s = np.zeros(lam.size)
        basis = U
    lam, labels = _cluster(lam, alpha_min)
    G = B.T @ B
    same = labels[:, None] == labels[None, :]
    gamma = np.zeros_like(G)
    np.divide(G, lam[None, :] - lam[:, None], out=gamma, where=~same)
    blocks = []
    for lab in np.flatnonzero(np.bincount(labels) > 1):
        idx = np.flatnonzero(labels == lab)
        sl = slice(idx[0], idx[-1] + 1)
        blocks.append((sl, G[sl, sl].copy()))
    return _Fold(
        test=test, train=train, form=form, lam=lam, basis=basis.astype(dtype, copy=False),
        B=B.astype(dtype, copy=False), s=s, bsum=B.sum(0), gamma=gamma,
        gdiag=np.diag(G).copy(), blocks=blocks,
    )  # fmt: skip


def _fold_scores(
    f: _Fold,
    Yw: np.ndarray,
    XtY: np.ndarray | None,
    ysum: np.ndarray,
    alphas: np.ndarray,
    scoring: str,
    fit_intercept: bool,
    chunk_size: int,
    out: np.ndarray,
) -> None:
    """Add this fold's validation score of every penalty and target to ``out`` (n_alphas, t).

    With ``d = 1 / (lam + alpha)`` and ``c`` a column of ``C``: the cross term
    ``y_val . pred = (B^T y_val) . (d c)`` and the sum ``1^T pred = (B^T 1) . (d c)`` are
    small ``(n_alphas x r) @ (r x t)`` products. The quadratic term ``||B diag(d) c||^2`` splits
    by partial fractions, ``d_k d_l = (d_k - d_l) / (lam_l - lam_k)``, into
    ``sum_k d_k^2 c_k (G_block c)_k + 2 sum_k d_k c_k h_k`` with ``h = Gamma c``: one
    ``r x r x t`` product per fold (in float64) instead of one ``n_val x r x t`` per penalty.
    """
    n_tr, n_val, r = len(f.train), len(f.test), f.lam.size
    inv = 1.0 / (f.lam[None, :] + alphas[:, None])  # (n_alphas, r)
    inv_b = inv * f.bsum[None, :]  # psum = inv_b @ C
    inv_q = np.hstack([inv * inv, 2.0 * inv])  # pp = inv_q @ [J * C; H * C]
    n_t = Yw.shape[1]
    buf = np.empty((3 * r, min(chunk_size, n_t)))  # [E * C; J * C; H * C], reused
    for start in range(0, n_t, chunk_size):
        sl = slice(start, min(start + chunk_size, n_t))
        w = sl.stop - sl.start
        yv = Yw[f.test, sl]
        E = f.B.T @ yv  # (r, w): B^T y_val, working dtype
        if f.form == "primal":
            C = f.basis.T @ XtY[:, sl]  # V^T X^T Y - B^T y_val - s ysum^T (see _setup_fold)
            C -= E
            C = C.astype(np.float64, copy=False)
            if fit_intercept:
                C -= np.outer(f.s, ysum[sl])
        else:
            C = (f.basis.T @ Yw[f.train, sl]).astype(np.float64, copy=False)
        ec, jc, hc = buf[:r, :w], buf[r : 2 * r, :w], buf[2 * r :, :w]
        np.multiply(E, C, out=ec)
        np.multiply(C, f.gdiag[:, None], out=jc)
        for bsl, g in f.blocks:
            np.matmul(g, C[bsl], out=jc[bsl])
        jc *= C
        np.matmul(f.gamma, C, out=hc)
        hc *= C
        psum = inv_b @ C
        pp = inv_q @ buf[r:, :w]
        ysum_v = yv.sum(0, dtype=np.float64)
        ym = (ysum[sl] - ysum_v) / n_tr if fit_intercept else np.zeros(w)
        yp = inv @ ec  # validation targets taken about the training mean: subtract ym * psum
        yp -= psum * ym[None, :]
        yv64 = yv.astype(np.float64, copy=False)
        yy = np.einsum("ij,ij->j", yv64, yv64) - 2 * ym * ysum_v + n_val * ym**2
        ys = ysum_v - n_val * ym
        out[:, sl] += _score(scoring, yy, ys, pp, yp, psum, n_val)


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
    dtype: Any = np.float32,
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
        Centre ``X`` and ``Y`` with the training means of each fold (computed analytically).
    solver : {"auto", "primal", "dual"}, default="auto"
        ``auto`` takes the kernel (dual) form when features outnumber training samples.
    chunk_size : int, default=2000
        Targets processed at a time (bounds the working memory to a few
        ``n_features * chunk_size`` arrays).
    dtype : {float32, float64}, default=float32
        Precision of the products that grow with the number of targets. Decompositions and the
        partial-fraction sums are always float64; ``float64`` matches a direct scikit-learn loop
        to ~1e-10, ``float32`` to ~1e-5 and is about twice as fast.

    Returns
    -------
    scores : ndarray of shape (n_alphas, n_targets)
        Mean validation score over folds.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 5))
    >>> Y = X @ rng.standard_normal((5, 3)) + 0.5 * rng.standard_normal((60, 3))
    >>> scores = ridge_cv_scores(X, Y, [0.1, 1e4], cv=3)  # (n_alphas, n_targets)
    >>> scores.shape, bool((scores[0] > scores[1]).all())
    ((2, 3), True)
    """
    scores, _ = _cv_scores(
        X, Y, alphas, cv, groups, scoring, fit_intercept, solver, chunk_size, dtype
    )
    return scores


@dataclass
class _Prepared:
    """Globally centred data reused by the CV search and the refit."""

    Xc: np.ndarray  # (n, p) float64, centred by the mean of all samples
    Yw: np.ndarray  # (n, t) working dtype, centred
    xbar: np.ndarray
    ybar: np.ndarray
    XtX: np.ndarray | None  # (p, p) float64 (primal only)
    XtY: np.ndarray | None  # (p, t) working dtype (primal only)
    ysum: np.ndarray  # (t,) column sums of Yw in float64 (~0)


def _prepare(X: np.ndarray, Y: np.ndarray, fit_intercept: bool, dtype: np.dtype, primal: bool):
    xbar = X.mean(0) if fit_intercept else np.zeros(X.shape[1])
    ybar = Y.mean(0) if fit_intercept else np.zeros(Y.shape[1])
    Xc = X - xbar
    Yw = np.empty(Y.shape, dtype)
    np.subtract(Y, ybar, out=Yw, casting="unsafe")
    XtX = XtY = None
    if primal:
        XtX = Xc.T @ Xc
        XtY = Xc.astype(dtype, copy=False).T @ Yw
    return _Prepared(Xc, Yw, xbar, ybar, XtX, XtY, Yw.sum(0, dtype=np.float64))


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
    keep: bool = False,
) -> tuple[np.ndarray, Any]:
    dt = _check_dtype(dtype)
    X = _check_2d("X", X, np.float64)
    Y = _check_2d("Y", Y, np.float64)
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
    p = X.shape[1]
    any_primal = solver == "primal" or (solver == "auto" and any(p <= len(tr) for tr, _ in folds))
    prep = _prepare(X, Y, fit_intercept, dt, any_primal)
    xsum = prep.Xc.sum(0)
    total = np.zeros((alphas.size, Y.shape[1]))
    form = solver
    for train, test in folds:
        f = _setup_fold(
            prep.Xc, prep.XtX, xsum, np.asarray(train), np.asarray(test), solver,
            fit_intercept, float(alphas.min()), dt,
        )  # fmt: skip
        form = f.form
        _fold_scores(
            f, prep.Yw, prep.XtY, prep.ysum, alphas, scoring, fit_intercept, int(chunk_size), total
        )
    return total / len(folds), (prep if keep else form)


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


def _coef(
    prep: _Prepared, alpha: np.ndarray, solver: str, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (p, t) and intercepts with one penalty per target from one decomposition.

    The penalty enters only as a per-column scaling ``C / (lam + alpha_j)`` in the eigenbasis, so
    all targets (whatever their penalty) share one eigendecomposition and two products.
    """
    n, p = prep.Xc.shape
    form = solver if solver != "auto" else ("dual" if p > n else "primal")
    if form == "primal":
        lam, V = _eigh(prep.XtX.copy() if prep.XtX is not None else prep.Xc.T @ prep.Xc)
        XtY = prep.XtY if prep.XtY is not None else prep.Xc.astype(dtype).T @ prep.Yw
        right = V.astype(dtype, copy=False)
        C = right.T @ XtY
    else:
        lam, U = _eigh(prep.Xc @ prep.Xc.T)
        right = (prep.Xc.T @ U).astype(dtype, copy=False)
        C = U.astype(dtype, copy=False).T @ prep.Yw
    C /= (lam[:, None] + alpha[None, :]).astype(dtype, copy=False)
    coef = np.asarray(right @ C, dtype=np.float64)
    return coef, prep.ybar - prep.xbar @ coef


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
        Kept for API compatibility (the refit is two dense products).

    Returns
    -------
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 4))
    >>> Y = X @ np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.5, 0.0]])
    >>> coef, intercept = ridge_path_coef(X, Y, np.array([1e-6, 1e-6]))
    >>> coef.shape, intercept.shape, bool(np.allclose(coef[:, 1], [0, 2, 0, 0], atol=1e-3))
    ((4, 2), (2,), True)
    """
    X = _check_2d("X", X, np.float64)
    Y = _check_2d("Y", Y, np.float64)
    alpha = np.asarray(alpha_per_target, dtype=float).reshape(-1)
    if alpha.size != Y.shape[1] or np.any(alpha <= 0):
        raise ConfigError(
            f"'alpha_per_target' must hold {Y.shape[1]} positive values; got shape {alpha.shape}."
        )
    if solver not in _SOLVERS:
        raise ConfigError(
            f"Invalid value for 'solver'. Allowed: {', '.join(map(repr, _SOLVERS))}; got {solver!r}."
        )
    prep = _prepare(X, Y, fit_intercept, np.dtype(np.float64), primal=False)
    return _coef(prep, alpha, solver, np.dtype(np.float64))
