"""Model-agnostic occlusion importance, for any estimator with ``predict``.

:func:`permutation_importance` permutes one channel (or one time window) across samples (or
sets it to zero or its mean) and records the drop of a metric; :func:`band_importance` removes
one frequency band with a zero-phase band-stop filter. Classical pipelines work as well as
networks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from ._network import _check_X

__all__ = [
    "DEFAULT_BANDS",
    "OCCLUSION_MODES",
    "Importance",
    "band_importance",
    "permutation_importance",
]

#: Default frequency bands (Hz) of :func:`band_importance`.
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}


@dataclass
class Importance:
    """Drop of a score when one unit (channel, time window or band) is occluded.

    Attributes
    ----------
    labels : list of str
        The units (channel names, ``"t0-t1"`` windows or band names).
    importances : ndarray of shape (n_units, n_repeats)
        ``baseline_score - occluded score`` per repeat (positive: the unit helps).
    mean, std : ndarray of shape (n_units,)
    baseline_score : float
        Score on the intact data.
    metric : str
    kind : str
        ``"channels"``, ``"time"`` or ``"bands"``.

    Examples
    --------
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3))
    >>> X[:, 1] += 2 * y
    >>> imp = permutation_importance(LinearDiscriminantAnalysis().fit(X, y), X, y, n_repeats=3)
    >>> imp.kind, imp.importances.shape, imp.labels
    ('channels', (3, 3), ['0', '1', '2'])
    """

    labels: list[str]
    importances: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    baseline_score: float
    metric: str
    kind: str

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most important units with their mean score drop."""
        order = np.argsort(self.mean)[::-1][: max(int(k), 0)]
        return [(self.labels[i], float(self.mean[i])) for i in order]


def _occlude_permute(Xo: np.ndarray, sl: Any, rng: np.random.Generator) -> None:
    Xo[sl] = Xo[sl][rng.permutation(len(Xo))]


def _occlude_zero(Xo: np.ndarray, sl: Any, rng: np.random.Generator) -> None:
    Xo[sl] = 0.0


def _occlude_mean(Xo: np.ndarray, sl: Any, rng: np.random.Generator) -> None:
    Xo[sl] = Xo[sl].mean(axis=0, keepdims=True)


#: How a unit is occluded: permuted across samples, set to 0, or set to its mean over samples.
OCCLUSION_MODES: dict[str, Callable[[np.ndarray, Any, np.random.Generator], None]] = {
    "permute": _occlude_permute,
    "zero": _occlude_zero,
    "mean": _occlude_mean,
}


def _scorer(metric: str) -> Callable[[Any, Any], float]:
    from ...evaluation import METRICS, score

    if metric not in METRICS:
        raise ConfigError(
            f"Invalid value for 'metric'. Allowed: {', '.join(sorted(METRICS))}; got {metric!r}."
        )
    if metric == "roc_auc":
        raise ConfigError(
            "Invalid value for 'metric'. Occlusion scores predicted labels/targets; got "
            "'roc_auc' (use 'balanced_accuracy')."
        )
    return lambda y, pred: float(score(metric, y, pred))


def _check_y(y: Any, n: int) -> np.ndarray:
    if y is None:
        raise ConfigError("Occlusion importance needs the labels/targets 'y'; got y=None.")
    y = np.asarray(y)
    if y.shape[0] != n:
        raise DataFormatError(f"'y' has {y.shape[0]} entries but X has {n} samples.")
    return y


def permutation_importance(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    over: str = "channels",
    n_windows: int = 10,
    mode: str = "permute",
    metric: str = "balanced_accuracy",
    n_repeats: int = 5,
    ch_names: list[str] | None = None,
    sfreq: float | None = None,
    groups: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Importance:
    """Score drop of a fitted estimator when one channel (or time window) is occluded.

    Works for any fitted estimator with ``predict`` (classical or neural). Scored on the data
    given: pass held-out samples to measure what generalises, training samples to describe what
    the fit uses.

    Parameters
    ----------
    estimator : fitted estimator
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
        2-D ``X``: each feature is a unit (``over="channels"`` only).
    y : ndarray of shape (n_samples,)
    over : {"channels", "time"}, default="channels"
        Occlude one channel at a time, or one of ``n_windows`` equal time windows (all channels).
    n_windows : int, default=10
    mode : {"permute", "zero", "mean"}, default="permute"
        Permute the unit across samples (keeps its distribution), set it to 0, or to its mean.
    metric : str, default="balanced_accuracy"
        A key of :data:`neurodl.evaluation.METRICS` scoring predictions (not ``roc_auc``).
    n_repeats : int, default=5
        Repeats of the random permutation (``mode="permute"``; other modes run once).
    ch_names : list of str, optional
    sfreq : float, optional
        Window labels in seconds instead of samples.
    groups : dict of str to sequence of int, optional
        ``over="channels"`` only: occlude these channel (2-D: feature) indices together, one
        unit per key (e.g. all band-power features of one electrode).
    seed : int, default=0

    Returns
    -------
    Importance

    Examples
    --------
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3))  # 3 features; only the second carries the class
    >>> X[:, 1] += 2 * y
    >>> imp = permutation_importance(LinearDiscriminantAnalysis().fit(X, y), X, y, n_repeats=3)
    >>> int(imp.mean.argmax()), imp.mean.shape, imp.baseline_score
    (1, (3,), 0.95)
    """
    X = _check_X(X)
    y = _check_y(y, len(X))
    if over not in ("channels", "time"):
        raise ConfigError(f"Invalid value for 'over'. Allowed: 'channels', 'time'; got {over!r}.")
    if mode not in OCCLUSION_MODES:
        raise ConfigError(
            f"Invalid value for 'mode'. Allowed: {', '.join(map(repr, OCCLUSION_MODES))}; "
            f"got {mode!r}."
        )
    for name, value in (("n_repeats", n_repeats), ("n_windows", n_windows)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"Invalid value for {name!r}. Allowed: an int >= 1; got {value!r}.")
    scorer = _scorer(metric)
    units: list[tuple[str, Any]]
    if groups is not None:
        if over != "channels":
            raise ConfigError("'groups' needs over='channels'; got over='time'.")
        n = X.shape[1]
        units = []
        for name, members in groups.items():
            idx = np.asarray(members, dtype=int)
            if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= n:
                raise ConfigError(
                    f"Invalid value for 'groups'. Allowed: non-empty index lists within "
                    f"[0, {n - 1}]; got {name!r}: {np.asarray(members).tolist()!r:.80}."
                )
            units.append((str(name), (slice(None), idx)))
    elif over == "channels":
        n = X.shape[1]
        names = [str(c) for c in ch_names] if ch_names is not None else [str(i) for i in range(n)]
        if len(names) != n:
            raise DataFormatError(f"'ch_names' has {len(names)} entries but X has {n} channels.")
        units = [(names[i], (slice(None), i)) for i in range(n)]
    else:
        if X.ndim != 3:
            raise DataFormatError(f"over='time' needs 3-D X; got shape {X.shape}.")
        n_times = X.shape[2]
        if n_windows > n_times:
            raise ConfigError(
                f"Invalid value for 'n_windows'. Allowed: <= n_times ({n_times}); got {n_windows}."
            )
        edges = np.linspace(0, n_times, int(n_windows) + 1).round().astype(int)
        scale = 1.0 / sfreq if sfreq else 1.0
        units = [
            (f"{a * scale:g}-{b * scale:g}", (slice(None), slice(None), slice(a, b)))
            for a, b in itertools.pairwise(edges)
        ]
    base = scorer(y, estimator.predict(X))
    reps = int(n_repeats) if mode == "permute" else 1
    rng = np.random.default_rng(seed)
    occlude = OCCLUSION_MODES[mode]
    imp = np.empty((len(units), reps))
    for u, (_, sl) in enumerate(units):
        for r in range(reps):
            Xo = X.copy()
            occlude(Xo, sl, rng)
            imp[u, r] = base - scorer(y, estimator.predict(Xo))
    return Importance(
        labels=[u[0] for u in units],
        importances=imp,
        mean=imp.mean(axis=1),
        std=imp.std(axis=1),
        baseline_score=base,
        metric=metric,
        kind=over,
    )


def band_importance(
    estimator: Any,
    X: Any,
    y: Any,
    sfreq: float,
    *,
    bands: Mapping[str, tuple[float, float]] | None = None,
    metric: str = "balanced_accuracy",
    order: int = 4,
) -> Importance:
    """Score drop when one frequency band is removed (zero-phase Butterworth band-stop).

    Parameters
    ----------
    estimator : fitted estimator with ``predict``
    X : ndarray of shape (n_samples, n_chans, n_times)
    y : ndarray of shape (n_samples,)
    sfreq : float
        Sampling rate (Hz).
    bands : dict of str to (low, high), optional
        Bands in Hz (default :data:`DEFAULT_BANDS`, those below Nyquist).
    metric : str, default="balanced_accuracy"
    order : int, default=4
        Filter order (:func:`scipy.signal.butter`, applied with :func:`scipy.signal.sosfiltfilt`).

    Returns
    -------
    Importance
        ``kind == "bands"``, one repeat per band.

    Examples
    --------
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> t = np.arange(128) / 64.0  # 2 s at 64 Hz
    >>> alpha = np.sin(2 * np.pi * 10 * t)  # class 1 has a 10 Hz rhythm
    >>> X = 0.5 * rng.standard_normal((40, 1, 128)) + 2 * y[:, None, None] * alpha
    >>> logvar = FunctionTransformer(lambda Z: np.log(Z.var(axis=-1)))
    >>> clf = make_pipeline(logvar, LinearDiscriminantAnalysis()).fit(X, y)
    >>> imp = band_importance(clf, X, y, 64.0, bands={"theta": (4, 8), "alpha": (8, 13)})
    >>> imp.labels, imp.mean.round(1).tolist()
    (['theta', 'alpha'], [0.0, 0.5])
    """
    from scipy.signal import butter, sosfiltfilt

    X = _check_X(X)
    if X.ndim != 3:
        raise DataFormatError(
            f"band_importance needs 3-D X (n_samples, n_chans, n_times); got {X.shape}."
        )
    y = _check_y(y, len(X))
    if isinstance(sfreq, bool) or not isinstance(sfreq, int | float | np.number) or not sfreq > 0:
        raise ConfigError(f"Invalid value for 'sfreq'. Allowed: a float > 0; got {sfreq!r}.")
    nyq = sfreq / 2.0
    if bands is None:
        bands = {
            k: (lo, min(hi, 0.95 * nyq)) for k, (lo, hi) in DEFAULT_BANDS.items() if lo < 0.9 * nyq
        }
    for name, band in bands.items():
        lo, hi = (float(v) for v in band)
        if not 0 < lo < hi < nyq:
            raise ConfigError(
                f"Invalid band {name!r}. Allowed: 0 < low < high < Nyquist ({nyq:g} Hz); "
                f"got ({lo:g}, {hi:g})."
            )
    scorer = _scorer(metric)
    base = scorer(y, estimator.predict(X))
    labels, imp = [], []
    for name, (lo, hi) in bands.items():
        sos = butter(order, [lo, hi], btype="bandstop", fs=sfreq, output="sos")
        Xf = sosfiltfilt(sos, X, axis=-1)
        labels.append(str(name))
        imp.append([base - scorer(y, estimator.predict(Xf))])
    arr = np.asarray(imp, float)
    return Importance(
        labels=labels,
        importances=arr,
        mean=arr.mean(axis=1),
        std=arr.std(axis=1),
        baseline_score=base,
        metric=metric,
        kind="bands",
    )
