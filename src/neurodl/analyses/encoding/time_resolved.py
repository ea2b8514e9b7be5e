"""Time-resolved (sliding-window) decoding of epochs, with bootstrap CIs and a chance level.

Windows are independent units of :func:`neurodl.execution.run_units` (in this process, a joblib
pool with ``n_jobs`` or a Ray cluster with ``execution``; the same scores on every backend).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from ...execution import ExecutionConfig, run_units

__all__ = [
    "DEFAULT_BANDS",
    "WINDOW_FEATURES",
    "TimeResolvedResult",
    "time_resolved_decoding",
    "window_features",
]

#: Default frequency bands (Hz) of the ``"bandpower"`` features: mu/alpha and beta.
DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((8.0, 13.0), (13.0, 30.0))


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

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3, 100))
    >>> res = time_resolved_decoding(X, y, 100.0, window=0.2, step=0.2, n_boot=100)
    >>> res.times.round(2).tolist(), res.scores.shape, res.ci.shape, res.chance
    ([0.1, 0.3, 0.5, 0.7, 0.9], (5,), (2, 5), 0.5)
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


def _amplitude_prepare(X: np.ndarray, sfreq: float, bands: Any) -> np.ndarray:
    return X[:, None]


def _bandpower_prepare(X: np.ndarray, sfreq: float, bands: Any) -> np.ndarray:
    from ...preprocessing import BandpassFilter

    out = []
    for lo, hi in bands:
        # Each epoch filtered on its own (stateless, nothing fitted): no information crosses
        # from test to training epochs.
        out.append(BandpassFilter(lo, hi, sfreq=sfreq).fit_transform(X))
    return np.stack(out, axis=1)


def _amplitude_window(seg: np.ndarray, ramp: np.ndarray) -> np.ndarray:
    # seg: (n_epochs, 1, n_channels, w) -> mean and slope per channel
    seg = seg[:, 0]
    return np.concatenate([seg.mean(2), (seg * ramp).mean(2)], axis=1)


def _bandpower_window(seg: np.ndarray, ramp: np.ndarray) -> np.ndarray:
    # seg: (n_epochs, n_bands, n_channels, w) -> log-variance per band and channel
    var = seg.var(axis=3)
    tiny = np.finfo(float).tiny
    return np.log(np.maximum(var, tiny)).reshape(seg.shape[0], -1)


#: ``features`` option -> (prepare the whole epochs once, features of one window).
WINDOW_FEATURES: dict[str, tuple[Any, Any]] = {
    "amplitude": (_amplitude_prepare, _amplitude_window),
    "bandpower": (_bandpower_prepare, _bandpower_window),
}


def _check_bands(bands: Any, sfreq: float) -> tuple[tuple[float, float], ...]:
    try:
        out = tuple((float(lo), float(hi)) for lo, hi in bands)
    except (TypeError, ValueError):
        out = ()
    if not out or any(not (0 < lo < hi < sfreq / 2) for lo, hi in out):
        raise ConfigError(
            f"Invalid value for 'bands': a list of (low, high) Hz with 0 < low < high < "
            f"sfreq / 2 = {sfreq / 2:g}; got {bands!r}."
        )
    return out


def window_features(
    X: Any,
    sfreq: float,
    *,
    window: float = 0.2,
    step: float = 0.1,
    features: str = "amplitude",
    bands: Any = DEFAULT_BANDS,
) -> tuple[np.ndarray, np.ndarray]:
    """Features of each sliding window of the epochs (nothing is fitted to the data).

    Parameters
    ----------
    X : ndarray of shape (n_epochs, n_channels, n_times)
    sfreq : float
    window, step : float
        Window length and step in seconds.
    features : {"amplitude", "bandpower"}, default="amplitude"
        ``"amplitude"``: the window's mean and linear slope per channel (evoked responses).
        ``"bandpower"``: log-variance of the band-passed signal per band and channel within
        the window (rhythm power, e.g. motor-imagery ERD); each whole epoch is band-passed
        once (zero-phase FIR, per epoch, stateless) before it is cut into windows.
    bands : sequence of (low, high), default=((8, 13), (13, 30))
        Pass bands in Hz for ``"bandpower"``.

    Returns
    -------
    F : ndarray of shape (n_windows, n_epochs, n_features)
        ``n_features`` is ``2 * n_channels`` (amplitude) or ``n_bands * n_channels``.
    starts : ndarray of shape (n_windows,)
        First sample of each window.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((5, 3, 100))  # 5 epochs, 3 channels, 1 s
    >>> F, starts = window_features(X, 100.0, window=0.2, step=0.1)
    >>> F.shape, starts.tolist()[:3]  # (n_windows, n_epochs, 2 * n_channels), first samples
    ((9, 5, 6), [0, 10, 20])
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 3:
        raise DataFormatError(f"'X' must be (n_epochs, n_channels, n_times); got {X.shape}.")
    if not (0 < window) or not (0 < step):
        raise ConfigError(
            f"'window' and 'step' must be positive seconds; got {window!r}, {step!r}."
        )
    if not isinstance(features, str) or features not in WINDOW_FEATURES:
        raise ConfigError(
            f"Invalid value for 'features'. Allowed: {', '.join(map(repr, WINDOW_FEATURES))}; "
            f"got {features!r}."
        )
    w = max(2, round(window * sfreq))
    s = max(1, round(step * sfreq))
    if w > X.shape[2]:
        raise ConfigError(f"Invalid value for 'window': {window} s is longer than the epochs.")
    prepare, per_window = WINDOW_FEATURES[features]
    if features == "bandpower":
        bands = _check_bands(bands, sfreq)
    Xp = prepare(X, sfreq, bands)
    starts = np.arange(0, X.shape[2] - w + 1, s)
    ramp = np.linspace(-1, 1, w)
    F = np.stack([per_window(Xp[..., st : st + w], ramp) for st in starts])
    return F, starts


def _window_predictions(shared: tuple[Any, ...], window: int) -> np.ndarray:
    """One unit of :func:`time_resolved_decoding`: out-of-fold predictions of one window."""
    from sklearn.base import clone

    F_all, y, folds, estimator = shared
    F = F_all[window]
    pred = np.empty_like(y)
    for tr, te in folds:
        pred[te] = clone(estimator).fit(F[tr], y[tr]).predict(F[te])
    return pred


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
    features: str = "amplitude",
    bands: Any = DEFAULT_BANDS,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> TimeResolvedResult:
    """Decode ``y`` from each sliding window of the epochs (features: see :func:`window_features`).

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
        Default: standardise + shrinkage LDA, both fitted on the training folds only.
    folds : int or list of (train, test), default=5
        An int gives stratified, shuffled K-fold with ``seed``.
    n_boot, ci, seed
        Percentile bootstrap over trials of the pooled out-of-fold predictions.
    n_jobs : int, default=1
        Local backend: joblib workers (one window per unit).
    features : {"amplitude", "bandpower"}, default="amplitude"
        Per-window features (:data:`WINDOW_FEATURES`): mean and slope per channel, or
        log-variance of band-passed signal per band and channel (rhythm power).
    bands : sequence of (low, high), default=((8, 13), (13, 30))
        Bands in Hz for ``"bandpower"``.
    execution : ExecutionConfig, mapping, str or None
        Where the windows run (:func:`neurodl.execution.run_units`); None uses
        :func:`neurodl.execution.get_execution`. The scores do not depend on it.
    progress : callable, optional
        Called as ``progress(n_done, n_windows)`` as windows finish.

    Returns
    -------
    TimeResolvedResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3, 100))  # 1 s epochs at 100 Hz
    >>> X[y == 1, :, 50:] += 2.0  # class difference in the second half only
    >>> res = time_resolved_decoding(X, y, 100.0, window=0.2, step=0.2, n_boot=100)
    >>> res.scores.shape, bool(res.scores[:2].max() < 0.8), bool(res.scores[-2:].min() > 0.9)
    ((5,), True, True)
    """
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
    F_all, starts = window_features(
        X, sfreq, window=window, step=step, features=features, bands=bands
    )
    w = max(2, round(window * sfreq))
    if estimator is None:
        estimator = make_pipeline(
            StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        )
    if isinstance(folds, (int, np.integer)):
        folds = list(
            StratifiedKFold(int(folds), shuffle=True, random_state=seed).split(X[:, 0, 0], y)
        )
    folds = [(np.asarray(a), np.asarray(b)) for a, b in folds]

    preds = np.column_stack(
        run_units(
            _window_predictions,
            range(len(F_all)),
            shared=(F_all, y, folds, estimator),
            n_jobs=n_jobs,
            execution=execution,
            progress=progress,
        )
    )
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
