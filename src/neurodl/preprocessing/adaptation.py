"""Unsupervised adaptation of signals to a subject, recording or dataset (no labels used).

Each function computes a statistic on the unlabelled samples of one group (a subject, a
recording, a dataset) and uses it to transform that group's samples only, so a test group is
adapted with its own data and nothing of it reaches the other groups. Which groups' data were
used is the caller's to record (see :func:`neurodl.evaluation.adapt_dataset`).

==============================  ==================================================================
function                        what each group's samples become
==============================  ==================================================================
:func:`align_signals`           ``R^{-1/2} X``: whitened by the group's reference covariance ``R``
                                (``"euclidean"``: arithmetic mean of the sample covariances, He &
                                Wu 2019; ``"riemann"``: Riemannian mean of shrinkage covariances, so
                                the group's covariances are re-centred at the identity, Zanini et
                                al. 2018)
:func:`recentre_covariances`    ``M^{-1/2} C M^{-1/2}`` for covariance matrices ``C`` (pyRiemann)
:func:`standardize_groups`      per channel: minus the group's mean, divided by the group's SD
:func:`scale_groups`            divided by one number per group (median per-channel SD): amplitude
                                harmonisation between datasets or sites
==============================  ==================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataFormatError

__all__ = [
    "ALIGN_METHODS",
    "MIN_WINDOWS",
    "align_signals",
    "group_indices",
    "recentre_covariances",
    "reference_covariance",
    "scale_groups",
    "standardize_groups",
]

#: Reference covariance of :func:`align_signals`: name -> description.
ALIGN_METHODS: dict[str, str] = {
    "euclidean": "arithmetic mean of the sample covariances (He & Wu 2019)",
    "riemann": "Riemannian mean of (OAS) covariances (re-centring, Zanini et al. 2018)",
}
#: Default minimum number of samples in a group for a covariance mean: below it the mean is
#: mostly the samples' own covariance, and whitening by it removes the signal itself.
MIN_WINDOWS = 3


def group_indices(groups: Any, n: int) -> dict[Any, np.ndarray]:
    """Sample indices of each group, in order of first appearance.

    Parameters
    ----------
    groups : array-like of shape (n_samples,)
    n : int
        Number of samples (checked against ``len(groups)``).

    Examples
    --------
    >>> {k: v.tolist() for k, v in group_indices(["s2", "s1", "s2"], 3).items()}
    {'s2': [0, 2], 's1': [1]}
    """
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise DataFormatError(
            f"Invalid value for 'groups'. Allowed: one label per sample ({n}); got shape "
            f"{groups.shape}."
        )
    return {g: np.flatnonzero(groups == g) for g in dict.fromkeys(groups.tolist())}


def _check_3d(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise DataFormatError(
            f"Invalid value for 'X'. Allowed: signals of shape (n_samples, n_chans, n_times); "
            f"got shape {X.shape}."
        )
    return X


def _check_count(group: Any, n: int, min_windows: int, what: str) -> None:
    if n < min_windows:
        raise DataFormatError(
            f"Adaptation needs at least {min_windows} windows per group for a covariance mean "
            f"({what}); group {group!r} has {n}. Use longer recordings or shorter windows, "
            "adapt by a larger group, or lower 'min_windows'."
        )


def reference_covariance(
    X: np.ndarray, method: str = "euclidean", estimator: str = "oas"
) -> np.ndarray:
    """The reference covariance of one group's signals.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_chans, n_times)
    method : {"euclidean", "riemann"}
        See :data:`ALIGN_METHODS`.
    estimator : str, default="oas"
        pyRiemann covariance estimator of the ``"riemann"`` mean (``"scm"``: the sample
        covariance, exact re-centring of sample covariances; ``"oas"``: shrinkage, robust for
        short windows).

    Returns
    -------
    R : ndarray of shape (n_chans, n_chans)
        Symmetric positive definite.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((5, 3, 200))  # 5 windows, 3 channels
    >>> R = reference_covariance(X, method="euclidean")
    >>> R.shape, bool(np.all(np.linalg.eigvalsh(R) > 0))
    ((3, 3), True)
    """
    X = _check_3d(X)
    if method not in ALIGN_METHODS:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {', '.join(map(repr, ALIGN_METHODS))}; "
            f"got {method!r}."
        )
    if method == "euclidean":
        covs = np.einsum("nct,ndt->ncd", X, X) / X.shape[-1]
        return covs.mean(axis=0)
    from pyriemann.estimation import Covariances
    from pyriemann.geometry.mean import mean_riemann

    covs = Covariances(estimator=estimator).fit_transform(X)
    return mean_riemann(covs)


def align_signals(
    X: Any,
    groups: Any,
    *,
    method: str = "euclidean",
    min_windows: int = MIN_WINDOWS,
    estimator: str = "oas",
) -> np.ndarray:
    """Whiten each group's signals by that group's reference covariance.

    ``X_i <- R_g^{-1/2} X_i`` for every sample ``i`` of group ``g``: afterwards the group's mean
    covariance (``"euclidean"``) or Riemannian mean covariance (``"riemann"``) is the identity,
    so differences between subjects in head shape, impedance and gain are removed before any
    model sees the data. Works as an input transform for networks and for covariance pipelines.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_chans, n_times)
    groups : array-like of shape (n_samples,)
        The group (subject, recording, dataset) of each sample.
    method : {"euclidean", "riemann"}, default="euclidean"
    min_windows : int, default=3
        Fewest samples a group may have (see :data:`MIN_WINDOWS`).
    estimator : str, default="oas"
        Covariance estimator of ``method="riemann"`` (see :func:`reference_covariance`).

    Returns
    -------
    X_aligned : ndarray of shape (n_samples, n_chans, n_times)

    Raises
    ------
    DataFormatError
        A group has fewer than ``min_windows`` samples.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 3, 100)) * np.array([1.0, 5.0, 0.2])[:, None]
    >>> Xa = align_signals(X, np.repeat(["a", "b"], 10))
    >>> cov = np.einsum("nct,ndt->cd", Xa[:10], Xa[:10]) / (10 * 100)
    >>> bool(np.allclose(cov, np.eye(3)))
    True
    """
    from scipy.linalg import fractional_matrix_power

    X = _check_3d(X)
    out = np.empty_like(X)
    for g, idx in group_indices(groups, len(X)).items():
        _check_count(g, len(idx), min_windows, f"{method} alignment")
        R = reference_covariance(X[idx], method, estimator)
        W = np.real(fractional_matrix_power(R, -0.5))
        out[idx] = np.einsum("cd,ndt->nct", W, X[idx])
    return out


def recentre_covariances(C: Any, groups: Any, *, min_windows: int = MIN_WINDOWS) -> np.ndarray:
    """Re-centre each group's covariance matrices at the identity (Riemannian mean).

    ``C_i <- M_g^{-1/2} C_i M_g^{-1/2}`` with ``M_g`` the Riemannian mean of group ``g``'s
    matrices (pyRiemann's ``mean_riemann``), as :class:`pyriemann.transfer.TLCenter` does per
    domain.

    Parameters
    ----------
    C : array-like of shape (n_samples, n_chans, n_chans)
        Symmetric positive definite matrices.
    groups : array-like of shape (n_samples,)
    min_windows : int, default=3

    Returns
    -------
    C_recentred : ndarray of shape (n_samples, n_chans, n_chans)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((6, 2, 50))
    >>> C = A @ A.transpose(0, 2, 1) / 50  # 6 covariance matrices of 2 channels
    >>> Cr = recentre_covariances(C, [0, 0, 0, 1, 1, 1])
    >>> Cr.shape, bool(np.allclose(Cr, Cr.transpose(0, 2, 1)))
    ((6, 2, 2), True)
    """
    from pyriemann.geometry.base import invsqrtm
    from pyriemann.geometry.mean import mean_riemann

    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 3 or C.shape[1] != C.shape[2]:
        raise DataFormatError(
            f"Invalid value for 'C'. Allowed: matrices of shape (n_samples, n_chans, n_chans); "
            f"got shape {C.shape}."
        )
    out = np.empty_like(C)
    for g, idx in group_indices(groups, len(C)).items():
        _check_count(g, len(idx), min_windows, "Riemannian re-centring")
        W = invsqrtm(mean_riemann(C[idx]))
        out[idx] = W @ C[idx] @ W
    return out


def standardize_groups(X: Any, groups: Any, *, eps: float = 1e-12) -> np.ndarray:
    """Standardise each channel (feature) within each group: zero mean, unit SD.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
        Statistics per channel over the group's samples and times (3-D), or per feature (2-D).
    groups : array-like of shape (n_samples,)

    Returns
    -------
    X_std : ndarray, same shape as ``X``

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((6, 2)) + np.array([0, 0, 0, 10, 10, 10])[:, None]
    >>> Z = standardize_groups(X, [0, 0, 0, 1, 1, 1])
    >>> bool(np.allclose(Z[3:].mean(axis=0), 0)), Z[3:].std(axis=0).round(6).tolist()
    (True, [1.0, 1.0])
    """
    X = np.asarray(X, dtype=np.float64)
    axes = (0, 2) if X.ndim == 3 else (0,)
    out = np.empty_like(X)
    for _, idx in group_indices(groups, len(X)).items():
        mu = X[idx].mean(axis=axes, keepdims=True)
        sd = X[idx].std(axis=axes, keepdims=True)
        out[idx] = (X[idx] - mu) / np.maximum(sd, eps)
    return out


def scale_groups(X: Any, groups: Any, *, target: float = 1.0) -> tuple[np.ndarray, dict]:
    """Amplitude harmonisation: divide each group by its median per-channel SD (one number).

    Relative amplitudes within a group (between its classes and channels) are kept; only the
    overall gain of each group (site, amplifier, unit) is removed.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_chans, n_times)
    groups : array-like of shape (n_samples,)
    target : float, default=1.0
        The median per-channel SD of every group afterwards.

    Returns
    -------
    X_scaled : ndarray, same shape as ``X``
    gains : dict
        Group -> the factor its samples were multiplied by.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 2, 100)) * np.array([1.0, 1.0, 1e-6, 1e-6])[:, None, None]
    >>> Xs, gains = scale_groups(X, ["a", "a", "b", "b"])  # group b recorded in volts
    >>> Xs.shape, round(float(Xs[2:].std() / Xs[:2].std()), 1)
    ((4, 2, 100), 1.0)
    """
    X = _check_3d(X)
    out = np.empty_like(X)
    gains = {}
    for g, idx in group_indices(groups, len(X)).items():
        sd = float(np.median(X[idx].std(axis=(0, 2))))
        if not np.isfinite(sd) or sd <= 0:
            raise DataFormatError(
                f"Amplitude harmonisation: group {g!r} has a median channel SD of {sd}; "
                "it needs non-constant finite signals."
            )
        gains[g] = target / sd
        out[idx] = X[idx] * gains[g]
    return out, gains
