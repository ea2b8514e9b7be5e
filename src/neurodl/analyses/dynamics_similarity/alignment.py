"""Geometry-based alignment of two population responses: CCA and Procrustes.

Both take trajectories of shape ``(n_conditions, n_times, n_units)`` (or ``(n_times, n_units)``),
flatten conditions and time into samples and compare the two sample clouds unit-free:

* :func:`canonical_correlations` / :func:`cca_similarity`: (regularised) canonical correlation
  analysis, the mean canonical correlation over the top ``n_components`` pairs (1 for any
  invertible linear map between the two, e.g. a rotated copy).
* :func:`procrustes_distance`: the angular Procrustes distance of Williams et al. (2021), the
  angle between the two centred, unit-norm sample clouds after the best orthogonal alignment
  (0 for a rotated copy; invariant to rotations and isotropic scaling only).
* :func:`procrustes_align`: the aligning rotation itself (:func:`scipy.linalg.orthogonal_procrustes`).

Both samples must have the same number of samples; units may differ (Procrustes pads the
smaller space with zero dimensions, which leaves the distance unchanged).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import orthogonal_procrustes

from ...exceptions import DataFormatError
from ._checks import check_float, check_int, check_pair

__all__ = [
    "canonical_correlations",
    "cca_similarity",
    "procrustes_align",
    "procrustes_distance",
    "samples_of",
]


def samples_of(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flatten two trajectory arrays into centred samples ``(n_conditions * n_times, n_units)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 20, 3))  # 4 conditions, 20 time points, 3 units
    >>> M = rng.standard_normal((3, 5))
    >>> A, B = samples_of(X, X @ M)
    >>> A.shape, B.shape, bool(np.allclose(A.mean(axis=0), 0))
    ((80, 3), (80, 5), True)
    """
    x, y = check_pair(X, Y)
    xs = x.reshape(-1, x.shape[2])
    ys = y.reshape(-1, y.shape[2])
    if xs.shape[0] < 2:
        raise DataFormatError(
            f"At least 2 samples (conditions x time points) are needed; got {xs.shape[0]}."
        )
    return xs - xs.mean(axis=0), ys - ys.mean(axis=0)


def _pca(x: np.ndarray, n_components: int | None) -> np.ndarray:
    """Scores of centred ``x`` on its top ``n_components`` principal axes (all when None)."""
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    keep = s > s[0] * 1e-10 if s.size and s[0] > 0 else np.zeros(s.shape, bool)
    k = int(keep.sum()) if n_components is None else min(int(keep.sum()), n_components)
    return u[:, :k] * s[:k]


def _whitener(x: np.ndarray, reg: float) -> np.ndarray:
    """Orthonormal basis of the (shrinkage-regularised) whitened ``x``: ``x @ C^{-1/2}``."""
    cov = x.T @ x / max(x.shape[0] - 1, 1)
    if reg > 0:
        cov = (1 - reg) * cov + reg * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    w, v = np.linalg.eigh(cov)
    keep = w > w.max() * 1e-12
    inv_sqrt = (v[:, keep] / np.sqrt(w[keep])) @ v[:, keep].T
    return x @ inv_sqrt / np.sqrt(max(x.shape[0] - 1, 1))


def canonical_correlations(
    X: Any, Y: Any, *, n_components: int | None = None, reg: float = 0.0
) -> np.ndarray:
    """Canonical correlations between two trajectory sets, largest first.

    Parameters
    ----------
    X : array-like of shape (n_conditions, n_times, n_units_x) or (n_times, n_units_x)
    Y : array-like of shape (n_conditions, n_times, n_units_y) or (n_times, n_units_y)
        Same conditions and time points as ``X``.
    n_components : int, optional
        Reduce each side to its top principal components first (SVCCA, Raghu et al. 2017);
        needed when units outnumber samples, where unregularised CCA is trivially 1.
    reg : float in [0, 1], default=0.0
        Shrinkage of each covariance towards its mean variance times the identity
        (``(1 - reg) C + reg tr(C)/p I``); 0 is plain CCA.

    Returns
    -------
    rho : ndarray of shape (min(p, q),)
        Canonical correlations in [0, 1], ``p`` and ``q`` the dimensions kept on each side.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((40, 3))
    >>> canonical_correlations(x, x @ rng.standard_normal((3, 3))).round(6)
    array([1., 1., 1.])
    """
    n_components = check_int(n_components, "n_components", 1, allow_none=True)
    reg = check_float(reg, "reg", 0.0, 1.0)
    xs, ys = samples_of(X, Y)
    px, py = _pca(xs, n_components), _pca(ys, n_components)
    if px.shape[1] == 0 or py.shape[1] == 0:
        raise DataFormatError("'X' or 'Y' is constant: canonical correlations are undefined.")
    wx, wy = _whitener(px, reg), _whitener(py, reg)
    rho = np.linalg.svd(wx.T @ wy, compute_uv=False)
    return np.clip(rho[: min(px.shape[1], py.shape[1])], 0.0, 1.0)


def cca_similarity(X: Any, Y: Any, *, n_components: int | None = None, reg: float = 0.0) -> float:
    """Mean canonical correlation (see :func:`canonical_correlations`); 1 = linearly identical.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 20, 3))  # 4 conditions, 20 time points, 3 units
    >>> M = rng.standard_normal((3, 5))
    >>> round(cca_similarity(X, X @ M), 3)  # an invertible linear map: identical
    1.0
    >>> bool(cca_similarity(X, rng.standard_normal((4, 20, 3))) < 0.5)
    True
    """
    return float(np.mean(canonical_correlations(X, Y, n_components=n_components, reg=reg)))


def _normalised(x: np.ndarray, name: str) -> np.ndarray:
    norm = np.linalg.norm(x)
    if norm == 0:
        raise DataFormatError(f"{name!r} is constant: the Procrustes distance is undefined.")
    return x / norm


def _padded(x: np.ndarray, n: int) -> np.ndarray:
    return np.hstack([x, np.zeros((x.shape[0], n - x.shape[1]))]) if x.shape[1] < n else x


def _prepared(X: Any, Y: Any, n_components: int | None) -> tuple[np.ndarray, np.ndarray]:
    n_components = check_int(n_components, "n_components", 1, allow_none=True)
    xs, ys = samples_of(X, Y)
    if n_components is not None:
        xs, ys = _pca(xs, n_components), _pca(ys, n_components)
    n = max(xs.shape[1], ys.shape[1])
    return _normalised(_padded(xs, n), "X"), _normalised(_padded(ys, n), "Y")


def procrustes_distance(X: Any, Y: Any, *, n_components: int | None = None) -> float:
    """Angular Procrustes distance (Williams et al. 2021), in radians in ``[0, pi/2]``.

    ``arccos(||X^T Y||_*)`` for the centred, unit-Frobenius-norm sample clouds (the nuclear
    norm is the best alignment over orthogonal maps). Equals ``arccos(sqrt(1 - d))`` with ``d``
    the disparity of :func:`scipy.spatial.procrustes`.

    Parameters
    ----------
    X, Y : array-like of shape (n_conditions, n_times, n_units) or (n_times, n_units)
        Same conditions and time points; units may differ.
    n_components : int, optional
        Reduce each side to its top principal components first.

    Returns
    -------
    distance : float
        0 when ``Y`` is a rotated, scaled copy of ``X``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((30, 4))
    >>> q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    >>> round(procrustes_distance(x, 2.0 * x @ q), 6)
    0.0
    """
    x, y = _prepared(X, Y, n_components)
    nuclear = np.linalg.svd(x.T @ y, compute_uv=False).sum()
    return float(np.arccos(np.clip(nuclear, -1.0, 1.0)))


def procrustes_align(
    X: Any, Y: Any, *, n_components: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The rotation ``R`` minimising ``||Y R - X||`` on the normalised sample clouds.

    Returns
    -------
    rotation : ndarray of shape (n_dims, n_dims)
        Orthogonal; ``n_dims`` = the larger unit count (or ``n_components``).
    aligned : ndarray of shape (n_samples, n_dims)
        ``Y`` (centred, unit norm, zero-padded) rotated onto ``X``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 20, 3))  # 4 conditions, 20 time points, 3 units
    >>> M = rng.standard_normal((3, 5))
    >>> Q = np.linalg.qr(rng.standard_normal((3, 3)))[0]  # a rotation
    >>> R, aligned = procrustes_align(X, X @ Q)
    >>> R.shape, aligned.shape, bool(np.allclose(R @ Q.T @ Q, R))
    ((3, 3), (80, 3), True)
    """
    x, y = _prepared(X, Y, n_components)
    rotation, _ = orthogonal_procrustes(y, x)
    return rotation, y @ rotation
