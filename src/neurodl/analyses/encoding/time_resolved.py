"""Time-resolved (sliding-window) decoding of epochs, with bootstrap CIs and a chance level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = ["TimeResolvedResult", "time_resolved_decoding"]


@dataclass
class TimeResolvedResult:
    """Scores per window centre.

    Attributes
    ----------
    times : ndarray of shape (n_windows,)
        Window centres in seconds (relative to the epoch's ``tmin``).
    scores : ndarray of shape (n_windows,)
        Balanced accuracy of out-of-fold predictions pooled over folds.
    ci : ndarray of shape (2, n_windows)
        Percentile bootstrap interval over trials.
    chance : float
    """

    times: np.ndarray
    scores: np.ndarray
    ci: np.ndarray
    chance: float


def _balanced(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Balanced accuracy per column of ``pred`` (n_samples, k); y (n_samples, k) or (n_samples,)."""
    yy = y if y.ndim == 2 else np.broadcast_to(y[:, None], pred.shape)
    acc = []
    for c in range(n_classes):
        m = yy == c
        cnt = m.sum(0)
        acc.append(
            np.divide(((pred == c) & m).sum(0), cnt, out=np.full(cnt.shape, np.nan), where=cnt > 0)
        )
    return np.nanmean(np.stack(acc), axis=0)


def time_resolved_decoding(
    X: Any,
    y: Any,
    sfreq: float,
    *,
    window: float = 0.2,
    step: float = 0.1,
    tmin: float = 0.0,
    estimator: Any = None,
    folds: Any = 5,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
) -> TimeResolvedResult:
    """Decode ``y`` from each sliding window of the epochs (features: channels x window samples).

    Parameters
    ----------
    X : ndarray of shape (n_epochs, n_channels, n_times)
    y : ndarray of shape (n_epochs,) of int class codes
    sfreq : float
    window, step : float
        Window length and step in seconds.
    tmin : float, default=0.0
        Time of the first sample, for the returned window centres.
    estimator : sklearn classifier, optional
        Default: standardise + shrinkage LDA on the window's mean per channel and its slope.
    folds : int or list of (train, test), default=5
        An int gives stratified, shuffled K-fold with ``seed``.
    n_boot, ci, seed
        Percentile bootstrap over trials of the pooled out-of-fold predictions.
    n_jobs : int, default=1

    Returns
    -------
    TimeResolvedResult
    """
    from joblib import Parallel, delayed
    from sklearn.base import clone
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=float)
    y = np.asarray(y).astype(int)
    if X.ndim != 3 or y.shape != (X.shape[0],):
        raise DataFormatError(
            f"'X' must be (n_epochs, n_channels, n_times) with one y per epoch; got {X.shape}, {y.shape}."
        )
    if not (0 < window) or not (0 < step):
        raise ConfigError(
            f"'window' and 'step' must be positive seconds; got {window!r}, {step!r}."
        )
    w = max(2, round(window * sfreq))
    s = max(1, round(step * sfreq))
    if w > X.shape[2]:
        raise ConfigError(f"Invalid value for 'window': {window} s is longer than the epochs.")
    starts = np.arange(0, X.shape[2] - w + 1, s)
    if estimator is None:
        estimator = make_pipeline(
            StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        )
    if isinstance(folds, (int, np.integer)):
        folds = list(
            StratifiedKFold(int(folds), shuffle=True, random_state=seed).split(X[:, 0, 0], y)
        )
    folds = [(np.asarray(a), np.asarray(b)) for a, b in folds]
    ramp = np.linspace(-1, 1, w)

    def features(st: int) -> np.ndarray:
        seg = X[:, :, st : st + w]
        return np.concatenate([seg.mean(2), (seg * ramp).mean(2)], axis=1)

    def one(st: int) -> np.ndarray:
        F = features(st)
        pred = np.empty_like(y)
        for tr, te in folds:
            pred[te] = clone(estimator).fit(F[tr], y[tr]).predict(F[te])
        return pred

    preds = np.column_stack(Parallel(n_jobs=n_jobs)(delayed(one)(st) for st in starts))
    n_classes = int(y.max()) + 1
    scores = _balanced(y, preds, n_classes)
    rng = np.random.default_rng(seed)
    boots = np.empty((n_boot, len(starts)))
    for b in range(n_boot):
        idx = rng.integers(0, y.size, y.size)
        boots[b] = _balanced(y[idx], preds[idx], n_classes)
    alpha = (1 - ci) / 2
    interval = (
        np.nanquantile(boots, [alpha, 1 - alpha], axis=0)
        if n_boot
        else np.full((2, len(starts)), np.nan)
    )
    times = tmin + (starts + (w - 1) / 2) / sfreq
    return TimeResolvedResult(times, scores, interval, 1.0 / n_classes)
