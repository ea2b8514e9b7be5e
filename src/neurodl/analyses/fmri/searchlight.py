"""Searchlight decoding over spherical neighbourhoods inside the mask, in parallel.

Neighbourhoods are balls of ``radius`` millimetres (voxel sizes from the affine) around each mask
voxel, restricted to mask voxels; on single-slice data (one voxel thick) the ball is a disk.
Each neighbourhood is cross-validated with the given folds (e.g. leave-one-run-out); batches of
centres are independent units of :func:`neurodl.execution.run_units`: in this process, a joblib
pool (``n_jobs``) or a Ray cluster (``execution``), with the same scores on every backend.
:func:`searchlight_map` writes the scores as a NIfTI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..._logging import logger
from ...data import VolumeSeries
from ...exceptions import ConfigError, DataFormatError
from ...execution import ExecutionConfig, run_units

__all__ = ["searchlight", "searchlight_map", "sphere_neighbors"]


def sphere_neighbors(mask: Any, radius: float, *, affine: Any = None) -> list[np.ndarray]:
    """Mask-voxel indices within ``radius`` mm of each mask voxel.

    Parameters
    ----------
    mask : ndarray of bool, shape (nx, ny, nz)
    radius : float
        Ball radius in mm (voxel units when ``affine`` is None). ``0`` gives single voxels.
    affine : ndarray of shape (4, 4), optional
        Voxel-to-world transform; its column norms are the voxel sizes.

    Returns
    -------
    neighbors : list of ndarray of int
        ``neighbors[i]`` indexes the mask voxels (in ``mask[mask]`` order) around voxel ``i``.

    Examples
    --------
    >>> mask = np.ones((3, 3, 1), dtype=bool)
    >>> nb = sphere_neighbors(mask, radius=1.0)
    >>> len(nb), nb[4].tolist()  # the centre voxel and its 4 face neighbours
    (9, [1, 3, 4, 5, 7])
    """
    from scipy.spatial import cKDTree

    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 3 or not mask.any():
        raise DataFormatError(
            f"'mask' must be a non-empty 3-D boolean array; got shape {mask.shape}."
        )
    if not np.isfinite(radius) or radius < 0:
        raise ConfigError(
            f"Invalid value for 'radius': a non-negative number (mm); got {radius!r}."
        )
    sizes = (
        np.ones(3) if affine is None else np.linalg.norm(np.asarray(affine, float)[:3, :3], axis=0)
    )
    coords = np.argwhere(mask) * sizes
    tree = cKDTree(coords)
    return [
        np.asarray(sorted(n), dtype=int) for n in tree.query_ball_point(coords, r=radius + 1e-6)
    ]


def _score_batch(
    X: np.ndarray,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    neighbors: list[np.ndarray],
    estimator: Any,
    scoring: str,
) -> np.ndarray:
    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    out = np.empty(len(neighbors))
    for i, nb in enumerate(neighbors):
        Xi = X[:, nb]
        vals = [scorer(clone(estimator).fit(Xi[tr], y[tr]), Xi[te], y[te]) for tr, te in folds]
        out[i] = float(np.mean(vals))
    return out


def _score_unit(shared: tuple[Any, ...], batch: list[np.ndarray]) -> np.ndarray:
    """One unit of :func:`searchlight`: the scores of one batch of centres."""
    X, y, folds, estimator, scoring = shared
    return _score_batch(X, y, folds, batch, estimator, scoring)


def searchlight(
    X: Any,
    y: Any,
    neighbors: Sequence[np.ndarray],
    *,
    estimator: Any = None,
    folds: Any = None,
    groups: Any = None,
    scoring: str = "balanced_accuracy",
    n_jobs: int = 1,
    batch_size: int = 64,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> np.ndarray:
    """Cross-validated decoding score of every neighbourhood.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_voxels)
    y : ndarray of shape (n_samples,)
    neighbors : list of ndarray of int
        From :func:`sphere_neighbors`.
    estimator : sklearn estimator, optional
        Default: standardise + shrinkage LDA (fast, closed form).
    folds : list of (train, test), optional
        Default: leave-one-group-out over ``groups`` (e.g. runs).
    groups : array-like of shape (n_samples,), optional
    scoring : str, default="balanced_accuracy"
        A scikit-learn scorer name.
    n_jobs : int, default=1
        Local backend: joblib workers (batches of ``batch_size`` centres each).
    batch_size : int, default=64
        Centres per unit of work.
    execution : ExecutionConfig, mapping, str or None
        Where the batches run (:func:`neurodl.execution.run_units`; e.g. ``{"backend": "ray",
        "address": ...}``); None uses :func:`neurodl.execution.get_execution`. The scores do
        not depend on it.
    progress : callable, optional
        Called as ``progress(n_done, n_batches)`` as batches of centres finish.

    Returns
    -------
    scores : ndarray of shape (n_voxels,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 20)
    >>> X = rng.standard_normal((40, 3))
    >>> X[:, 0] += 3 * y  # only voxel 0 is informative
    >>> neighbors = [np.array([0]), np.array([1]), np.array([2])]
    >>> scores = searchlight(X, y, neighbors, groups=np.repeat([0, 1, 2, 3], 10))
    >>> scores.shape, int(scores.argmax()), bool(scores[0] > 0.8)
    ((3,), 0, True)
    """
    from sklearn.model_selection import LeaveOneGroupOut

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise DataFormatError(
            f"'X' must be (n_samples, n_voxels) and 'y' (n_samples,); got {X.shape}, {y.shape}."
        )
    if len(neighbors) != X.shape[1]:
        raise DataFormatError(f"Got {len(neighbors)} neighbourhoods for {X.shape[1]} voxels.")
    if estimator is None:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator = make_pipeline(
            StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        )
    if folds is None:
        if groups is None:
            raise ConfigError(
                "searchlight needs 'folds' or 'groups' (e.g. the run of each sample)."
            )
        folds = list(LeaveOneGroupOut().split(X, y, groups))
    folds = [(np.asarray(a), np.asarray(b)) for a, b in folds]
    batches = [list(neighbors[i : i + batch_size]) for i in range(0, len(neighbors), batch_size)]
    logger.info(
        "searchlight: %d centres, %d folds, %d batches", len(neighbors), len(folds), len(batches)
    )
    parts = run_units(
        _score_unit,
        batches,
        shared=(X, y, folds, estimator, scoring),
        n_jobs=n_jobs,
        execution=execution,
        progress=progress,
    )
    return np.concatenate(parts)


def searchlight_map(vs: VolumeSeries, scores: Any) -> Any:
    """Return the per-voxel ``scores`` (mask order) as a 3-D NIfTI image on the grid of ``vs``.

    Examples
    --------
    >>> from neurodl.data.simulate import simulate_fmri
    >>> vs = simulate_fmri(n_runs=2, n_categories=2, shape=(3, 3, 3))
    >>> img = searchlight_map(vs, np.full(int(vs.mask.sum()), 0.5))
    >>> img.shape
    (3, 3, 3)
    """
    return vs.map_to_nifti(np.asarray(scores, dtype=float))
