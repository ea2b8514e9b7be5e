"""Centered kernel alignment (CKA), linear and RBF, biased or unbiased (debiased HSIC).

Conventions follow Kornblith et al. (2019): ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))``
with centered Gram matrices. ``debiased=True`` uses the unbiased HSIC estimator of Song et al.
(2012), which removes the positive bias of CKA with few samples and many features; it can be
slightly negative for unrelated representations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist, squareform

from neurodl.exceptions import ConfigError, DataFormatError

__all__ = ["cka", "gram_linear", "gram_rbf", "hsic"]


def gram_linear(X: np.ndarray, **_: Any) -> np.ndarray:
    """Linear kernel ``X X'``, shape (n_samples, n_samples).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> gram_linear(X).shape, gram_linear(X)[0].tolist()
    ((3, 3), [1.0, 3.0, 5.0])
    """
    return X @ X.T


def gram_rbf(X: np.ndarray, *, sigma: float | None = None, threshold: float = 1.0) -> np.ndarray:
    """RBF kernel ``exp(-d^2 / (2 (threshold * median d)^2))`` unless ``sigma`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> K = gram_rbf(np.random.default_rng(0).normal(size=(5, 3)))
    >>> K.shape, np.allclose(np.diag(K), 1.0), bool(np.allclose(K, K.T))
    ((5, 5), True, True)
    """
    sq = squareform(pdist(X, "sqeuclidean"))
    if sigma is None:
        med = np.median(np.sqrt(sq[np.triu_indices_from(sq, k=1)]))
        sigma = threshold * med
    if not sigma > 0:
        raise DataFormatError(
            f"RBF bandwidth must be > 0; got sigma={sigma!r} (identical samples?)."
        )
    return np.exp(-sq / (2.0 * sigma**2))


_KERNELS: dict[str, Callable[..., np.ndarray]] = {"linear": gram_linear, "rbf": gram_rbf}


def _center(K: np.ndarray) -> np.ndarray:
    return K - K.mean(0, keepdims=True) - K.mean(1, keepdims=True) + K.mean()


def hsic(K: np.ndarray, L: np.ndarray, *, debiased: bool = False) -> float:
    """HSIC between two Gram matrices of shape (n, n), up to a constant factor.

    Biased: ``tr(Kc Lc) / (n - 1)^2``. Debiased (Song et al. 2012, needs n >= 4):
    ``[tr(K~L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2 1'K~L~1 / (n-2)] / (n (n-3))`` with zeroed diagonals.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> K = gram_linear(X)
    >>> same = hsic(K, K)
    >>> bool(same > 0), round(hsic(K, K) / same, 3)
    (True, 1.0)
    """
    n = K.shape[0]
    if not debiased:
        return float(np.sum(_center(K) * _center(L)) / (n - 1) ** 2)
    if n < 4:
        raise DataFormatError(f"the unbiased HSIC needs >= 4 samples; got {n}.")
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0.0)
    np.fill_diagonal(Lt, 0.0)
    sk, sl = Kt.sum(), Lt.sum()
    term = np.sum(Kt * Lt) + sk * sl / ((n - 1) * (n - 2)) - 2.0 * (Kt.sum(0) @ Lt.sum(1)) / (n - 2)
    return float(term / (n * (n - 3)))


def cka(
    X: Any, Y: Any, *, kernel: str = "linear", debiased: bool = False, sigma: float | None = None
) -> float:
    """Centered kernel alignment between two representations of the same stimuli.

    Parameters
    ----------
    X : ndarray of shape (n_stimuli, n_features_x)
    Y : ndarray of shape (n_stimuli, n_features_y)
    kernel : {'linear', 'rbf'}, default='linear'
    debiased : bool, default=False
        Use the unbiased HSIC estimator.
    sigma : float, optional
        RBF bandwidth; default: the median pairwise distance (per representation).

    Returns
    -------
    similarity : float
        1 for representations equal up to an orthogonal transform and isotropic scaling (linear).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((20, 5))
    >>> round(cka(X, 3.0 * X), 6)
    1.0
    """
    if kernel not in _KERNELS:
        raise ConfigError(
            f"Invalid value for 'kernel'. Allowed: {sorted(_KERNELS)}; got {kernel!r}."
        )
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise DataFormatError(
            f"'X' and 'Y' must be 2-D with the same number of stimuli (rows); got shapes {X.shape} and {Y.shape}."
        )
    if X.shape[0] < 2:
        raise DataFormatError(f"CKA needs >= 2 stimuli; got {X.shape[0]}.")
    kw = {"sigma": sigma} if kernel == "rbf" else {}
    K, L = _KERNELS[kernel](X, **kw), _KERNELS[kernel](Y, **kw)
    if kernel == "linear" and not debiased:  # centre features instead of the Gram (same result)
        Xc, Yc = X - X.mean(0), Y - Y.mean(0)
        K, L = Xc @ Xc.T, Yc @ Yc.T
    kl = hsic(K, L, debiased=debiased)
    kk, ll = hsic(K, K, debiased=debiased), hsic(L, L, debiased=debiased)
    if kk <= 0 or ll <= 0:
        return float("nan")
    return float(kl / np.sqrt(kk * ll))
