"""Linear models: weights (filters) versus activation patterns (Haufe et al. 2014).

The weights ``W`` of a linear decoder are *filters*: they also load on channels that only
cancel noise (suppressors) and carry no class signal. The activation pattern
``A = Cov(X) W Cov(s)^-1`` with ``s = X W`` (Haufe et al. 2014, NeuroImage 87: 96-110, eq. 6)
is what the decoded source looks like in the data: a channel without signal gets (in
expectation) zero pattern, however large its filter weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError, NotFittedError
from ._network import _check_X

__all__ = ["LinearMaps", "linear_gradient_x_input", "linear_patterns"]


@dataclass
class LinearMaps:
    """Filters and activation patterns of a fitted linear model.

    Attributes
    ----------
    filters : ndarray of shape (n_components, *sample_shape)
        The weights (one component for a binary classifier or single-output regressor).
    patterns : ndarray of shape (n_components, *sample_shape)
        ``Cov(X) W Cov(s)^-1``, in the units of the input.
    sample_shape : tuple of int
        ``X.shape[1:]`` when the linear step sees the flattened samples, else (n_features,).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 2, 5))  # flattened by the pipeline below
    >>> X[y == 1, 0] += 1.0
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> flat = FunctionTransformer(lambda Z: Z.reshape(len(Z), -1))
    >>> maps = linear_patterns(make_pipeline(flat, LogisticRegression()).fit(X, y), X)
    >>> maps.filters.shape, maps.patterns.shape, maps.sample_shape
    ((1, 2, 5), (1, 2, 5), (2, 5))
    """

    filters: np.ndarray
    patterns: np.ndarray
    sample_shape: tuple[int, ...]


def _linear_parts(estimator: Any, X: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``(features as the linear step sees them, coef of shape (k, n_features), sample shape)``."""
    from sklearn.pipeline import Pipeline

    X = _check_X(X)
    pre, last = None, estimator
    if isinstance(estimator, Pipeline):
        last = estimator.steps[-1][1]
        pre = estimator[:-1] if len(estimator.steps) > 1 else None
    coef = getattr(last, "coef_", None)
    if coef is None:
        if hasattr(last, "fit") and not hasattr(last, "n_features_in_"):
            raise NotFittedError(f"{type(last).__name__} is not fitted yet; call fit first.")
        raise ConfigError(
            "Invalid value for 'estimator'. Allowed: a fitted linear model with coef_ (LDA, "
            "LogisticRegression, LinearSVC, Ridge, ...) or a Pipeline ending in one; got "
            f"{type(last).__name__}."
        )
    Xf = np.asarray(pre.transform(X), float) if pre is not None else X
    Xf = Xf.reshape(len(Xf), -1)
    coef = np.atleast_2d(np.asarray(coef, float))
    if coef.shape[1] != Xf.shape[1]:
        raise DataFormatError(
            f"The linear step has {coef.shape[1]} weights per output but sees {Xf.shape[1]} "
            "features of X."
        )
    shape = X.shape[1:] if Xf.shape[1] == int(np.prod(X.shape[1:])) else (Xf.shape[1],)
    return Xf, coef, tuple(shape)


def linear_patterns(estimator: Any, X: Any) -> LinearMaps:
    """Filters and Haufe activation patterns of a fitted linear model on samples ``X``.

    Parameters
    ----------
    estimator : fitted linear model or Pipeline ending in one
        Anything with ``coef_`` of shape (n_features,) or (n_outputs, n_features): LDA,
        logistic regression, linear SVM, ridge. Steps before it are applied to ``X``; the
        patterns are in the space the linear step sees (reshaped to the sample shape when that
        space is the flattened samples).
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
        Samples whose covariance defines the patterns (held-out samples describe the data the
        model is applied to). At least 3 samples.

    Returns
    -------
    LinearMaps

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 200)
    >>> d = rng.normal(size=400)                       # distractor
    >>> X = np.c_[y + d, d + 0.1 * rng.normal(size=400)]  # channel 1: suppressor
    >>> maps = linear_patterns(LinearDiscriminantAnalysis().fit(X, y), X)
    >>> bool(abs(maps.filters[0, 1]) > 0.5 * abs(maps.filters[0, 0]))
    True
    >>> bool(abs(maps.patterns[0, 1]) < 0.2 * abs(maps.patterns[0, 0]))
    True
    """
    Xf, coef, shape = _linear_parts(estimator, X)
    if len(Xf) < 3:
        raise DataFormatError(f"Patterns need at least 3 samples; got {len(Xf)}.")
    Xc = Xf - Xf.mean(axis=0)
    W = coef.T  # (n_features, k)
    S = Xc @ W  # (n, k)
    cov_s = np.atleast_2d(S.T @ S / (len(Xc) - 1))
    A = (Xc.T @ S / (len(Xc) - 1)) @ np.linalg.pinv(cov_s)  # Cov(X) W Cov(s)^-1
    k = coef.shape[0]
    return LinearMaps(
        filters=coef.reshape(k, *shape), patterns=A.T.reshape(k, *shape), sample_shape=shape
    )


def linear_gradient_x_input(estimator: Any, X: Any, component: int = 0) -> np.ndarray:
    """Per-sample ``w * x`` of a linear model (its gradient x input), in the linear step's space.

    Parameters
    ----------
    estimator : fitted linear model or Pipeline ending in one
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
    component : int, default=0
        Row of ``coef_``.

    Returns
    -------
    attributions : ndarray of shape (n_samples, *sample_shape)

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 4)), np.repeat([0, 1], 15)
    >>> clf = LogisticRegression().fit(X, y)
    >>> A = linear_gradient_x_input(clf, X)
    >>> A.shape, bool(np.allclose(A, clf.coef_[0] * X))
    ((30, 4), True)
    """
    Xf, coef, shape = _linear_parts(estimator, X)
    if not 0 <= int(component) < coef.shape[0]:
        raise ConfigError(
            f"Invalid value for 'component'. Allowed: 0 to {coef.shape[0] - 1}; got {component!r}."
        )
    return (Xf * coef[int(component)]).reshape(len(Xf), *shape)
