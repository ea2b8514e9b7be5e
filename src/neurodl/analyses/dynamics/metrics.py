"""Neural Latents Benchmark metrics, written from their definitions (no pinned dependencies).

All rates are *expected counts per bin* (``rate_hz * bin_size``), arrays of shape
(n_trials, n_bins, n_neurons) or (n_bins, n_neurons).

- :func:`bits_per_spike`: Poisson log-likelihood gain over each neuron's mean rate, in bits per
  spike (NLB's ``bits_per_spike``). ``co-bps`` is this on held-out neurons, ``fp-bps`` on
  forward-prediction bins.
- :func:`velocity_r2`: ridge regression from inferred rates to behaviour, cross-validated over
  trials, R^2 averaged over behaviour dimensions.
- :func:`psth_r2`: R^2 between condition-averaged predicted rates and the empirical PSTHs,
  averaged over neurons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "bits_per_spike",
    "co_bps",
    "fp_bps",
    "latent_r2",
    "poisson_log_likelihood",
    "psth_r2",
    "r2_per_dim",
    "velocity_r2",
]


def _as_pair(rates: Any, counts: Any) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rates, dtype=float)
    c = np.asarray(counts, dtype=float)
    if r.shape != c.shape:
        raise DataFormatError(
            f"'rates' and 'counts' must have the same shape; got {r.shape} and {c.shape}."
        )
    if r.size == 0:
        raise DataFormatError("'rates' is empty.")
    if not np.isfinite(r).all():
        raise DataFormatError(f"'rates' contains {int((~np.isfinite(r)).sum())} NaN/inf values.")
    if (r < 0).any():
        raise DataFormatError(f"'rates' must be >= 0; minimum is {r.min()!r}.")
    if (c < 0).any() or not np.isfinite(c).all():
        raise DataFormatError("'counts' must be finite and >= 0.")
    return r.reshape(-1, r.shape[-1]), c.reshape(-1, c.shape[-1])


def poisson_log_likelihood(rates: Any, counts: Any, *, eps: float = 1e-9) -> float:
    """Total Poisson log-likelihood (nats) of ``counts`` under expected counts ``rates``.

    Parameters
    ----------
    rates, counts : ndarray of shape (..., n_neurons)

    Returns
    -------
    ll : float
        ``sum(k log(lam) - lam - log(k!))`` with ``lam`` floored at ``eps``.

    Examples
    --------
    >>> round(poisson_log_likelihood(np.array([1.0, 2.0]), np.array([0, 3])), 3)
    -2.712
    """
    r, c = _as_pair(rates, counts)
    lam = np.maximum(r, eps)
    return float(np.sum(c * np.log(lam) - lam - gammaln(c + 1)))


def bits_per_spike(rates: Any, counts: Any) -> float:
    """Log-likelihood gain of ``rates`` over each neuron's mean rate, in bits per spike.

    Parameters
    ----------
    rates : ndarray of shape (n_trials, n_bins, n_neurons) or (n_bins, n_neurons)
        Predicted expected counts per bin.
    counts : ndarray of the same shape
        Observed spike counts.

    Returns
    -------
    bps : float
        ``(LL(rates) - LL(mean rate per neuron)) / (n_spikes * log 2)``; NaN without spikes.

    Examples
    --------
    >>> counts = np.array([[0, 1], [2, 1]])
    >>> round(bits_per_spike(counts.mean(axis=0, keepdims=True) * np.ones((2, 2)), counts), 6)
    0.0
    """
    r, c = _as_pair(rates, counts)
    n_spikes = c.sum()
    if n_spikes == 0:
        return float("nan")
    null = np.broadcast_to(c.mean(axis=0, keepdims=True), c.shape)
    gain = poisson_log_likelihood(r, c) - poisson_log_likelihood(null, c)
    return float(gain / (n_spikes * np.log(2)))


def co_bps(heldout_rates: Any, heldout_counts: Any) -> float:
    """Co-smoothing bits/spike: :func:`bits_per_spike` on held-out neurons.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.5, 3.0, size=(20, 10, 4))  # trials x bins x neurons (counts/bin)
    >>> counts = rng.poisson(rates)
    >>> bool(co_bps(rates, counts) > 0), bool(co_bps(rates, counts) > co_bps(rates[::-1], counts))
    (True, True)
    """
    return bits_per_spike(heldout_rates, heldout_counts)


def fp_bps(forward_rates: Any, forward_counts: Any) -> float:
    """Forward-prediction bits/spike: :func:`bits_per_spike` on bins after the observed window.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.5, 3.0, size=(20, 10, 4))  # trials x bins x neurons (counts/bin)
    >>> counts = rng.poisson(rates)
    >>> bool(fp_bps(rates, counts) > 0)  # the true rates beat each neuron's mean rate
    True
    """
    return bits_per_spike(forward_rates, forward_counts)


def r2_per_dim(y_true: Any, y_pred: Any) -> np.ndarray:
    """R^2 of each column (``1 - SS_res / SS_tot``), arrays flattened to (n, n_dims).

    Examples
    --------
    >>> y = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> r2_per_dim(y, np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])).round(3).tolist()
    [1.0, -2.0]
    """
    yt = np.asarray(y_true, dtype=float)
    yp = np.asarray(y_pred, dtype=float)
    if yt.shape != yp.shape:
        raise DataFormatError(
            f"'y_true' and 'y_pred' must have the same shape; got {yt.shape} and {yp.shape}."
        )
    yt = yt.reshape(-1, yt.shape[-1]) if yt.ndim > 1 else yt[:, None]
    yp = yp.reshape(-1, yp.shape[-1]) if yp.ndim > 1 else yp[:, None]
    ss_res = ((yt - yp) ** 2).sum(axis=0)
    ss_tot = ((yt - yt.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)


def velocity_r2(
    rates: Any,
    behavior: Any,
    *,
    n_splits: int = 5,
    alphas: Any = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4),
    lag: int = 0,
    seed: int = 0,
) -> float:
    """Ridge decoding of behaviour from inferred rates, cross-validated over trials.

    Parameters
    ----------
    rates : ndarray of shape (n_trials, n_bins, n_neurons)
    behavior : ndarray of shape (n_trials, n_bins, n_dims)
    n_splits : int, default=5
        Folds over trials (each trial stays whole, so no bins of a trial leak).
    alphas : sequence of float
        Ridge penalties, chosen by inner leave-one-out CV (:class:`sklearn.linear_model.RidgeCV`).
    lag : int, default=0
        Behaviour at bin ``t + lag`` is decoded from rates at bin ``t``.
    seed : int, default=0

    Returns
    -------
    r2 : float
        Pooled out-of-fold R^2, averaged over behaviour dimensions.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.5, 3.0, size=(10, 20, 5))  # trials x bins x neurons
    >>> velocity = np.log(rates[..., :2]) @ np.array([[1.0, 0.5], [-0.5, 1.0]])
    >>> r2 = velocity_r2(rates, velocity, n_splits=2)  # decoded from log rates
    >>> bool(r2 > 0.9)
    True
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold

    r = np.asarray(rates, dtype=float)
    b = np.asarray(behavior, dtype=float)
    if r.ndim != 3 or b.ndim != 3 or r.shape[:2] != b.shape[:2]:
        raise DataFormatError(
            "'rates' and 'behavior' must be (n_trials, n_bins, ...) with matching trials and bins; "
            f"got {r.shape} and {b.shape}."
        )
    if not isinstance(lag, int) or not 0 <= lag < r.shape[1]:
        raise ConfigError(f"Invalid value for 'lag'. Allowed: 0 <= lag < n_bins; got {lag!r}.")
    if not isinstance(n_splits, int) or not 2 <= n_splits <= r.shape[0]:
        raise ConfigError(
            f"Invalid value for 'n_splits'. Allowed: 2 to n_trials ({r.shape[0]}); got {n_splits!r}."
        )
    r = r[:, : r.shape[1] - lag]
    b = b[:, lag:]
    feats = np.log(r + 1e-3)
    pred = np.empty_like(b)
    for tr, te in KFold(n_splits, shuffle=True, random_state=seed).split(r):
        Xtr = feats[tr].reshape(-1, feats.shape[-1])
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-9
        model = RidgeCV(alphas=np.asarray(alphas, dtype=float)).fit(
            (Xtr - mu) / sd, b[tr].reshape(-1, b.shape[-1])
        )
        pred[te] = model.predict((feats[te].reshape(-1, feats.shape[-1]) - mu) / sd).reshape(
            b[te].shape
        )
    return float(np.nanmean(r2_per_dim(b, pred)))


def psth_r2(
    rates: Any, reference: Any, conditions: Any, *, reference_is_psth: bool = False
) -> float:
    """R^2 between predicted and reference PSTHs, averaged over neurons.

    Parameters
    ----------
    rates : ndarray of shape (n_trials, n_bins, n_neurons)
        Predicted rates; averaged over the trials of each condition.
    reference : ndarray
        Observed (or true) rates/counts of shape (n_trials, n_bins, n_neurons), averaged the
        same way; or PSTHs of shape (n_conditions, n_bins, n_neurons) with
        ``reference_is_psth=True`` (conditions in sorted order).
    conditions : ndarray of shape (n_trials,)
    reference_is_psth : bool, default=False

    Returns
    -------
    r2 : float
        For each neuron, R^2 of the concatenated condition PSTHs; the mean over neurons.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.5, 3.0, size=(20, 10, 4))  # trials x bins x neurons (counts/bin)
    >>> counts = rng.poisson(rates)
    >>> conditions = np.tile([0, 1], 10)
    >>> round(psth_r2(rates, rates, conditions), 3), bool(psth_r2(rates, counts, conditions) < 1)
    (1.0, True)
    """
    r = np.asarray(rates, dtype=float)
    cond = np.asarray(conditions).reshape(-1)
    if r.ndim != 3 or cond.shape[0] != r.shape[0]:
        raise DataFormatError(
            f"'rates' must be (n_trials, n_bins, n_neurons) with one condition per trial; got "
            f"{r.shape} and {cond.shape[0]} conditions."
        )
    levels = np.unique(cond)
    pred = np.stack([r[cond == c].mean(axis=0) for c in levels])
    ref = np.asarray(reference, dtype=float)
    if not reference_is_psth:
        ref = np.stack([ref[cond == c].mean(axis=0) for c in levels])
    if ref.shape != pred.shape:
        raise DataFormatError(
            f"Reference PSTHs have shape {ref.shape}; predicted PSTHs {pred.shape}."
        )
    per_neuron = r2_per_dim(ref.reshape(-1, ref.shape[-1]), pred.reshape(-1, pred.shape[-1]))
    return float(np.nanmean(per_neuron))


def latent_r2(inferred: Any, true: Any, *, train: Any = None) -> float:
    """R^2 of the best affine map from inferred latents to the true latents.

    Parameters
    ----------
    inferred : ndarray of shape (n_trials, n_bins, n_inferred) or (n_samples, n_inferred)
    true : ndarray of shape (n_trials, n_bins, n_true) or (n_samples, n_true)
    train : array of int or bool, optional
        Trials (first axis) used to fit the map; R^2 is then measured on the other trials.
        Default: fit and score on everything.

    Returns
    -------
    r2 : float
        Mean over true dimensions of the R^2 of the least-squares affine prediction.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> true = rng.standard_normal((100, 2))
    >>> inferred = true @ np.array([[2.0, 0.5, 1.0], [0.0, 1.0, -1.0]]) + 3.0  # an affine map
    >>> round(latent_r2(inferred, true), 3)
    1.0
    """
    z = np.asarray(inferred, dtype=float)
    x = np.asarray(true, dtype=float)
    if z.shape[:-1] != x.shape[:-1]:
        raise DataFormatError(
            f"'inferred' and 'true' must share all but the last axis; got {z.shape} and {x.shape}."
        )
    if train is None:
        fit_idx = test_idx = np.arange(z.shape[0])
    else:
        mask = np.zeros(z.shape[0], bool)
        mask[np.asarray(train)] = True
        fit_idx, test_idx = np.flatnonzero(mask), np.flatnonzero(~mask)
    zf = z[fit_idx].reshape(-1, z.shape[-1])
    A = np.column_stack([zf, np.ones(len(zf))])
    W, *_ = np.linalg.lstsq(A, x[fit_idx].reshape(-1, x.shape[-1]), rcond=None)
    zt = z[test_idx].reshape(-1, z.shape[-1])
    pred = np.column_stack([zt, np.ones(len(zt))]) @ W
    return float(np.nanmean(r2_per_dim(x[test_idx].reshape(-1, x.shape[-1]), pred)))
