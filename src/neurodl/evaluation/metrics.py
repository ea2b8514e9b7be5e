"""Metrics registry and chance levels.

Each :class:`Metric` knows whether it needs continuous scores (probabilities or decision values),
whether higher is better, which task it is for, and its chance level for a given label
distribution (:func:`chance_level`). Simple metrics are computed with NumPy and also have a
batched form (``batch``) used by :func:`neurodl.evaluation.bootstrap_ci` to score many bootstrap
resamples at once; they are checked against scikit-learn / SciPy in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ConfigError

__all__ = ["METRICS", "Metric", "chance_level", "get_metric", "score"]


@dataclass(frozen=True)
class Metric:
    """A named score function.

    Parameters
    ----------
    name : str
        Registry name.
    func : callable
        ``func(y_true, y_pred_or_score, labels=None) -> float``.
    needs_proba : bool
        True if the second argument must be probabilities / decision values, not class labels.
    greater_is_better : bool
        Direction of the score.
    task : {"classification", "regression"}
        The kind of target it scores.
    chance : callable
        ``chance(y_true) -> float``: the expected score of a predictor that ignores the input.
    batch : callable or None
        ``batch(y_true, y_pred) -> ndarray`` on 2-D arrays ``(n_resamples, n_samples)``, scoring
        each row; None when the metric has no vectorised form.

    Examples
    --------
    >>> m = get_metric("balanced_accuracy")
    >>> m.name, m.needs_proba, m.greater_is_better, m.task
    ('balanced_accuracy', False, True, 'classification')
    >>> m.func(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])), m.chance(np.array([0, 0, 1, 1]))
    (0.75, 0.5)
    """

    name: str
    func: Callable[..., float]
    needs_proba: bool
    greater_is_better: bool
    task: str
    chance: Callable[[np.ndarray], float]
    batch: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def __call__(self, y_true: Any, y_pred: Any, *, labels: Any = None) -> float:
        return float(self.func(np.asarray(y_true), np.asarray(y_pred), labels=labels))


# ---------------------------------------------------------------------- batched (vectorised) forms
def _batch_accuracy(yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    return np.mean(yt == yp, axis=-1)


def _batch_balanced_accuracy(yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    recalls = []
    for k in np.unique(yt):
        is_k = yt == k
        n_k = is_k.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(n_k > 0, (is_k & (yp == k)).sum(axis=-1) / n_k, np.nan))
    return np.nanmean(np.stack(recalls), axis=0)


def _batch_r2(yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    ss_res = np.sum((yt - yp) ** 2, axis=-1)
    ss_tot = np.sum((yt - yt.mean(axis=-1, keepdims=True)) ** 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))


def _batch_pearson(yt: np.ndarray, yp: np.ndarray) -> np.ndarray:
    a = yt - yt.mean(axis=-1, keepdims=True)
    b = yp - yp.mean(axis=-1, keepdims=True)
    den = np.sqrt(np.sum(a * a, axis=-1) * np.sum(b * b, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.sum(a * b, axis=-1) / den, np.nan)


# ---------------------------------------------------------------------- score functions
def _per_column(func: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Callable[..., float]:
    """Apply a batched 1-D metric to 1-D or (n_samples, n_targets) arrays; average targets."""

    def wrapped(yt: np.ndarray, yp: np.ndarray, labels: Any = None) -> float:
        yt, yp = np.asarray(yt, dtype=float), np.asarray(yp, dtype=float)
        if yt.shape != yp.shape:
            raise ValueError(f"y_true and y_pred shapes differ: {yt.shape} vs {yp.shape}.")
        if yt.ndim == 1:
            return float(func(yt, yp))
        return float(np.mean(func(yt.T, yp.T)))

    return wrapped


def _check_same_length(yt: np.ndarray, yp: np.ndarray) -> None:
    if len(yt) != len(yp):
        raise ValueError(f"y_true has {len(yt)} samples but y_pred has {len(yp)}.")


def _accuracy(yt: np.ndarray, yp: np.ndarray, labels: Any = None) -> float:
    _check_same_length(yt, yp)
    return float(_batch_accuracy(yt, yp))


def _balanced_accuracy(yt: np.ndarray, yp: np.ndarray, labels: Any = None) -> float:
    _check_same_length(yt, yp)
    return float(_batch_balanced_accuracy(yt, yp))


def _kappa(yt: np.ndarray, yp: np.ndarray, labels: Any = None) -> float:
    _check_same_length(yt, yp)
    from sklearn.metrics import cohen_kappa_score

    with np.errstate(invalid="ignore", divide="ignore"):
        return float(cohen_kappa_score(yt, yp, labels=labels))


def _roc_auc(yt: np.ndarray, ys: np.ndarray, labels: Any = None) -> float:
    """ROC-AUC; binary: score of the positive (larger) class; multiclass: one-vs-rest macro."""
    from sklearn.metrics import roc_auc_score

    _check_same_length(yt, ys)
    present = np.unique(yt)
    if len(present) < 2:
        raise ValueError(
            f"roc_auc is undefined when y_true holds one class; got {present.tolist()}."
        )
    if ys.ndim == 1 or (ys.ndim == 2 and ys.shape[1] == 1):
        return float(roc_auc_score(yt, ys.reshape(-1)))
    if ys.ndim != 2:
        raise ValueError(
            f"roc_auc needs scores of shape (n_samples,) or (n_samples, n_classes); got {ys.shape}."
        )
    labels = np.unique(yt) if labels is None else np.asarray(labels)
    if ys.shape[1] != len(labels):
        raise ValueError(
            f"roc_auc got {ys.shape[1]} score columns for {len(labels)} classes {labels.tolist()}."
        )
    if ys.shape[1] == 2:
        return float(roc_auc_score(yt == labels[1], ys[:, 1]))
    sums = ys.sum(axis=1, keepdims=True)
    if not np.allclose(sums, 1.0):  # decision values: softmax to probabilities for sklearn
        e = np.exp(ys - ys.max(axis=1, keepdims=True))
        ys = e / e.sum(axis=1, keepdims=True)
    return float(roc_auc_score(yt, ys, multi_class="ovr", labels=labels))


# ---------------------------------------------------------------------- chance levels
def _chance_balanced(y: np.ndarray) -> float:
    return 1.0 / len(np.unique(y))


def _chance_accuracy(y: np.ndarray) -> float:
    _, counts = np.unique(y, return_counts=True)
    return float(counts.max() / counts.sum())


def _zero(y: np.ndarray) -> float:
    return 0.0


def _half(y: np.ndarray) -> float:
    return 0.5


#: Registry of metrics by name.
METRICS: dict[str, Metric] = {
    "balanced_accuracy": Metric(
        "balanced_accuracy",
        _balanced_accuracy,
        False,
        True,
        "classification",
        _chance_balanced,
        _batch_balanced_accuracy,
    ),
    "accuracy": Metric(
        "accuracy", _accuracy, False, True, "classification", _chance_accuracy, _batch_accuracy
    ),
    "roc_auc": Metric("roc_auc", _roc_auc, True, True, "classification", _half, None),
    "kappa": Metric("kappa", _kappa, False, True, "classification", _zero, None),
    "r2": Metric("r2", _per_column(_batch_r2), False, True, "regression", _zero, _batch_r2),
    "pearson_r": Metric(
        "pearson_r", _per_column(_batch_pearson), False, True, "regression", _zero, _batch_pearson
    ),
}


def get_metric(metric: str | Metric) -> Metric:
    """Return the :class:`Metric` called ``metric`` (an instance is returned as is).

    Examples
    --------
    >>> get_metric("roc_auc").needs_proba
    True
    """
    if isinstance(metric, Metric):
        return metric
    if not isinstance(metric, str) or metric not in METRICS:
        raise ConfigError(
            f"Invalid value for 'metric'. Allowed: {', '.join(repr(k) for k in METRICS)}; "
            f"got {metric!r}."
        )
    return METRICS[metric]


def score(metric: str | Metric, y_true: Any, y_pred: Any, *, labels: Any = None) -> float:
    """Score predictions (or probabilities / decision values for ``roc_auc``) with ``metric``.

    Parameters
    ----------
    metric : str or Metric
        A key of :data:`METRICS`.
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
        True labels or targets.
    y_pred : array-like of shape (n_samples,), (n_samples, n_classes) or (n_samples, n_targets)
        Predicted labels, targets, or (for ``roc_auc``) class scores with columns in ``labels``
        order.
    labels : array-like, optional
        The classes (column order of probabilities for ``roc_auc``; label set for ``kappa``).

    Returns
    -------
    value : float

    Examples
    --------
    >>> score("accuracy", [0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    return get_metric(metric)(y_true, y_pred, labels=labels)


def chance_level(y: Any, metric: str | Metric) -> float:
    """Return the chance level of ``metric`` for the actual label distribution ``y``.

    ``balanced_accuracy``: 1/K for K classes present; ``accuracy``: the proportion of the most
    frequent class (what a majority-class predictor scores); ``roc_auc``: 0.5; ``kappa``: 0;
    ``pearson_r``: 0; ``r2``: 0, the score of predicting the test mean. Note that under
    cross-validation, predicting the *training* mean scores slightly below 0 (pooled over
    leave-one-out folds exactly ``1 - (n / (n - 1)) ** 2``, about ``-2 / n``), so a
    cross-validated R^2 a little under 0 is still chance.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels (or targets) actually evaluated.
    metric : str or Metric
        A key of :data:`METRICS`.

    Returns
    -------
    chance : float

    Examples
    --------
    >>> chance_level([0, 0, 0, 1], "accuracy"), chance_level([0, 0, 0, 1], "balanced_accuracy")
    (0.75, 0.5)
    """
    m = get_metric(metric)
    y = np.asarray(y)
    if y.size == 0:
        raise ValueError("chance_level needs at least one label; got an empty 'y'.")
    return float(m.chance(y))
