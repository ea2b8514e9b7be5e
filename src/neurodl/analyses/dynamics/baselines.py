"""Latent-variable baselines: spike smoothing, PCA, factor analysis, a GPFA-like smoother.

All work on trials ``(n_trials, n_bins, n_neurons)`` of spike counts. The latent models
(:class:`LatentBaseline`) expose ``fit(counts)`` and ``transform(counts) -> latents`` of shape
(n_trials, n_bins, n_components). :func:`heldout_readout` then maps latents (or smoothed held-in
activity) to rates of held-out neurons with a Poisson GLM, which is how NLB scores baselines.

The GPFA-like smoother fits factor analysis on square-root counts, then linear-Gaussian dynamics
``z_t = A z_{t-1} + w`` on the FA latents, and returns Kalman (Rauch-Tung-Striebel) smoothed
latents: temporal smoothing learned from the data instead of a fixed kernel (GPFA uses Gaussian
processes; the AR(1) state-space prior is its Markov counterpart).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from .binning import smooth_counts

__all__ = [
    "LATENT_BASELINES",
    "FactorAnalysisLatents",
    "GPFASmoother",
    "LatentBaseline",
    "PCALatents",
    "heldout_readout",
    "smooth_rates",
]


def _check_trials(counts: Any) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    if c.ndim != 3:
        raise DataFormatError(
            f"'counts' must be (n_trials, n_bins, n_neurons); got shape {c.shape}."
        )
    if not np.isfinite(c).all():
        raise DataFormatError("'counts' contains NaN or infinite values.")
    return c


def smooth_rates(counts: Any, sigma: float = 2.0) -> np.ndarray:
    """Gaussian-smoothed counts (expected counts per bin), per trial along bins.

    Parameters
    ----------
    counts : ndarray of shape (n_trials, n_bins, n_neurons)
    sigma : float, default=2.0
        Kernel SD in bins.

    Returns
    -------
    rates : ndarray of the same shape

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(6, 20, 5)).astype(float)  # trials x bins x neurons
    >>> r = smooth_rates(counts, sigma=2.0)
    >>> r.shape, bool(r.std() < counts.std())
    ((6, 20, 5), True)
    """
    return smooth_counts(_check_trials(counts), sigma, axis=1)


class LatentBaseline:
    """Base of the latent baselines: square-root transform, optional pre-smoothing, a model.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(6, 20, 5)).astype(float)  # trials x bins x neurons
    >>> isinstance(PCALatents(n_components=3), LatentBaseline)
    True
    >>> PCALatents(n_components=3, sigma=1.0).fit(counts).transform(counts[:2]).shape
    (2, 20, 3)
    """

    def __init__(self, n_components: int = 8, *, sigma: float = 0.0) -> None:
        if isinstance(n_components, bool) or not isinstance(n_components, int) or n_components < 1:
            raise ConfigError(
                f"Invalid value for 'n_components'. Allowed: an integer >= 1; got {n_components!r}."
            )
        self.n_components = n_components
        self.sigma = sigma

    def _prep(self, counts: Any) -> tuple[np.ndarray, tuple[int, ...]]:
        c = _check_trials(counts)
        x = np.sqrt(smooth_counts(c, self.sigma, axis=1) if self.sigma else c)
        return x.reshape(-1, c.shape[-1]), c.shape

    def _model(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, counts: Any) -> LatentBaseline:
        x, _ = self._prep(counts)
        if self.n_components > x.shape[1]:
            raise ConfigError(
                f"'n_components' ({self.n_components}) exceeds the number of neurons ({x.shape[1]})."
            )
        self.model_ = self._model().fit(x)
        return self

    def transform(self, counts: Any) -> np.ndarray:
        """Latents of shape (n_trials, n_bins, n_components)."""
        x, shape = self._prep(counts)
        return self.model_.transform(x).reshape(shape[0], shape[1], -1)

    def fit_transform(self, counts: Any) -> np.ndarray:
        return self.fit(counts).transform(counts)


class PCALatents(LatentBaseline):
    """PCA on (optionally smoothed) square-root counts.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(6, 20, 5)).astype(float)  # trials x bins x neurons
    >>> PCALatents(n_components=3).fit_transform(counts).shape  # (n_trials, n_bins, n_components)
    (6, 20, 3)
    """

    def _model(self) -> Any:
        from sklearn.decomposition import PCA

        return PCA(self.n_components)


class FactorAnalysisLatents(LatentBaseline):
    """Factor analysis (:class:`sklearn.decomposition.FactorAnalysis`) on square-root counts.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(6, 20, 5)).astype(float)  # trials x bins x neurons
    >>> FactorAnalysisLatents(n_components=2).fit_transform(counts).shape
    (6, 20, 2)
    """

    def _model(self) -> Any:
        from sklearn.decomposition import FactorAnalysis

        return FactorAnalysis(self.n_components, random_state=0)


class GPFASmoother(FactorAnalysisLatents):
    """Factor analysis + linear-Gaussian dynamics, latents smoothed by Kalman/RTS.

    Parameters
    ----------
    n_components : int, default=8
    sigma : float, default=0.0
        Optional Gaussian pre-smoothing (bins) before the square root.

    Attributes
    ----------
    A_ : ndarray of shape (n_components, n_components)
        Fitted latent dynamics.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(6, 20, 5)).astype(float)  # trials x bins x neurons
    >>> GPFASmoother(n_components=2).fit_transform(counts).shape  # smooth latents per trial
    (6, 20, 2)
    """

    def fit(self, counts: Any) -> GPFASmoother:
        super().fit(counts)
        fa = self.model_
        c = _check_trials(counts)
        z = super().transform(c)  # FA posterior means, (n_trials, n_bins, k)
        z0 = z[:, :-1].reshape(-1, z.shape[-1])
        z1 = z[:, 1:].reshape(-1, z.shape[-1])
        k = z.shape[-1]
        self.A_ = np.linalg.solve(z0.T @ z0 + 1e-6 * np.eye(k), z0.T @ z1).T
        self.Q_ = np.cov((z1 - z0 @ self.A_.T).T).reshape(k, k) + 1e-6 * np.eye(k)
        self.P0_ = np.cov(z[:, 0].T).reshape(k, k) + 1e-3 * np.eye(k)
        self.z0_ = z[:, 0].mean(0)
        self.C_ = fa.components_.T  # (n_neurons, k)
        self.R_ = fa.noise_variance_
        self.d_ = fa.mean_
        return self

    def transform(self, counts: Any) -> np.ndarray:
        x, shape = self._prep(counts)
        x = x.reshape(shape) - self.d_
        A, Q, C = self.A_, self.Q_, self.C_
        k = A.shape[0]
        CtRi = C.T / self.R_
        CtRiC = CtRi @ C
        out = np.empty((shape[0], shape[1], k))
        for i in range(shape[0]):
            T = shape[1]
            m_f = np.empty((T, k))
            P_f = np.empty((T, k, k))
            P_p = np.empty((T, k, k))
            m, P = self.z0_, self.P0_
            for t in range(T):
                if t > 0:
                    m, P = A @ m, A @ P @ A.T + Q
                P_p[t] = P
                P_post = np.linalg.inv(np.linalg.inv(P) + CtRiC)
                m = P_post @ (np.linalg.solve(P, m) + CtRi @ x[i, t])
                P = P_post
                m_f[t], P_f[t] = m, P
            ms = m_f.copy()
            for t in range(T - 2, -1, -1):
                J = P_f[t] @ A.T @ np.linalg.inv(P_p[t + 1])
                ms[t] = m_f[t] + J @ (ms[t + 1] - A @ m_f[t])
            out[i] = ms
        return out


#: baseline name -> class.
LATENT_BASELINES: dict[str, type[LatentBaseline]] = {
    "pca": PCALatents,
    "fa": FactorAnalysisLatents,
    "gpfa": GPFASmoother,
}


def heldout_readout(
    features_train: Any,
    heldout_train: Any,
    features_test: Any,
    *,
    alpha: float = 1e-2,
) -> np.ndarray:
    """Predict held-out neurons' rates from features with one Poisson GLM per neuron.

    Parameters
    ----------
    features_train : ndarray of shape (n_trials, n_bins, n_features)
        Latents or log-smoothed held-in activity on the training trials.
    heldout_train : ndarray of shape (n_trials, n_bins, n_heldout)
        Held-out neurons' counts on the training trials.
    features_test : ndarray of shape (n_test, n_bins, n_features)
    alpha : float, default=1e-2
        L2 penalty of :class:`sklearn.linear_model.PoissonRegressor`.

    Returns
    -------
    rates : ndarray of shape (n_test, n_bins, n_heldout)
        Expected counts per bin.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(6, 20, 5)).astype(float)  # trials x bins x neurons
    >>> feats = np.log1p(smooth_rates(counts[..., :3]))  # held-in neurons 0-2
    >>> rates = heldout_readout(feats[:4], counts[:4, :, 3:], feats[4:])  # predict neurons 3-4
    >>> rates.shape, bool((rates > 0).all())
    ((2, 20, 2), True)
    """
    from sklearn.linear_model import PoissonRegressor

    ftr = np.asarray(features_train, dtype=float)
    fte = np.asarray(features_test, dtype=float)
    htr = np.asarray(heldout_train, dtype=float)
    if ftr.shape[:2] != htr.shape[:2]:
        raise DataFormatError(
            f"'features_train' {ftr.shape} and 'heldout_train' {htr.shape} differ in trials/bins."
        )
    a = ftr.reshape(-1, ftr.shape[-1])
    mu, sd = a.mean(0), a.std(0)
    sd = np.where(sd > 1e-8, sd, 1.0)  # constant features (silent neurons) stay constant
    a = (a - mu) / sd
    b = np.clip((fte.reshape(-1, fte.shape[-1]) - mu) / sd, -10.0, 10.0)
    y = htr.reshape(-1, htr.shape[-1])
    out = np.empty((len(b), y.shape[1]))
    for j in range(y.shape[1]):
        mean = y[:, j].mean()
        if mean == 0:  # never fired in training: a small constant rate, no GLM
            out[:, j] = 1.0 / (10.0 * len(y))
            continue
        with warnings.catch_warnings(), np.errstate(over="ignore", divide="ignore"):
            warnings.simplefilter("ignore")  # lbfgs convergence/overflow notices on sparse data
            glm = PoissonRegressor(alpha=alpha, max_iter=500).fit(a, y[:, j])
            pred = glm.predict(b)
        # Guard against runaway extrapolation: keep rates within a plausible range.
        out[:, j] = np.clip(np.nan_to_num(pred, nan=mean), 1e-6, 10.0 * y[:, j].max() + 1.0)
    return out.reshape(fte.shape[0], fte.shape[1], -1)
