"""Low-dimensional views of recurrent-network hidden states: per-condition PCA trajectories."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

__all__ = ["PCATrajectories", "pca_trajectories"]


@dataclass(frozen=True)
class PCATrajectories:
    """Per-condition mean hidden-state trajectories on the top principal components.

    Attributes
    ----------
    conditions : ndarray of shape (n_conditions,)
        The distinct condition labels, sorted.
    trajectories : ndarray of shape (n_conditions, n_steps, n_components)
        Mean trajectory of each condition projected on the PCs.
    explained_variance_ratio : ndarray of shape (n_components,)
    components : ndarray of shape (n_components, n_hidden)
    mean : ndarray of shape (n_hidden,)
    n_trials : ndarray of shape (n_conditions,)
        Trials averaged per condition.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> res = pca_trajectories(rng.normal(size=(6, 10, 5)), ["a", "b"] * 3, n_components=2)
    >>> res.conditions.tolist(), res.components.shape, res.n_trials.tolist()
    (['a', 'b'], (2, 5), [3, 3])
    """

    conditions: np.ndarray
    trajectories: np.ndarray
    explained_variance_ratio: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    n_trials: np.ndarray

    def project(self, states) -> np.ndarray:
        """Project states (e.g. fixed points) on the PCs.

        Parameters
        ----------
        states : array-like of shape (..., n_hidden)

        Returns
        -------
        projected : ndarray of shape (..., n_components)
        """
        arr = np.asarray(states, dtype=float)
        if arr.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"Invalid value for 'states': last axis must be n_hidden={self.mean.shape[0]}; "
                f"got shape {arr.shape}."
            )
        return (arr - self.mean) @ self.components.T


def pca_trajectories(hidden, conditions, n_components: int = 3) -> PCATrajectories:
    """Fit PCA on all hidden states and project each condition's mean trajectory.

    Parameters
    ----------
    hidden : array-like of shape (n_trials, n_steps, n_hidden)
        Hidden states (a torch tensor is detached).
    conditions : array-like of shape (n_trials,)
        Condition label of each trial.
    n_components : int, default=3

    Returns
    -------
    result : PCATrajectories

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> res = pca_trajectories(rng.normal(size=(6, 10, 5)), [0, 1] * 3, n_components=2)
    >>> res.trajectories.shape
    (2, 10, 2)
    """
    if hasattr(hidden, "detach"):
        hidden = hidden.detach().cpu().numpy()
    h = np.asarray(hidden, dtype=float)
    if h.ndim != 3 or 0 in h.shape:
        raise ValueError(
            "Invalid value for 'hidden': expected shape (n_trials, n_steps, n_hidden); "
            f"got {h.shape}."
        )
    if not np.all(np.isfinite(h)):
        raise ValueError("Invalid value for 'hidden': contains non-finite values (NaN or inf).")
    cond = np.asarray(conditions)
    if cond.shape != (h.shape[0],):
        raise ValueError(
            f"Invalid value for 'conditions': expected shape (n_trials={h.shape[0]},); "
            f"got {cond.shape}."
        )
    max_comp = min(h.shape[0] * h.shape[1], h.shape[2])
    if not 1 <= int(n_components) <= max_comp:
        raise ValueError(
            f"Invalid value for 'n_components': must be in [1, {max_comp}]; got {n_components}."
        )
    pca = PCA(n_components=int(n_components)).fit(h.reshape(-1, h.shape[2]))
    labels, inverse, counts = np.unique(cond, return_inverse=True, return_counts=True)
    means = np.stack([h[inverse == k].mean(axis=0) for k in range(labels.size)])
    proj = (means - pca.mean_) @ pca.components_.T
    return PCATrajectories(
        conditions=labels,
        trajectories=proj,
        explained_variance_ratio=pca.explained_variance_ratio_.copy(),
        components=pca.components_.copy(),
        mean=pca.mean_.copy(),
        n_trials=counts,
    )
