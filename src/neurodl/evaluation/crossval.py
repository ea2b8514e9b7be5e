"""Cross-validation runner: a protocol, a leakage check on every split, per-fold and pooled scores."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from .._logging import logger
from ..data import EpochsDataset, as_epochs_dataset
from ..exceptions import ConfigError
from ..execution import ExecutionConfig, run_units
from ._json import to_jsonable
from .leakage import check_no_leakage
from .metrics import Metric, chance_level, get_metric
from .protocols import PROTOCOLS, Protocol, get_protocol

__all__ = ["CVResult", "cross_validate", "group_fit_params", "protocol_groups"]


@dataclass
class CVResult:
    """Outcome of :func:`cross_validate`.

    Attributes
    ----------
    protocol : dict
        The protocol's name, parameters and guaranteed-disjoint groups.
    metric : str
        Name of the metric.
    score : float
        The summary score: mean of the fold scores (for ``within-session``: mean over
        subject x session blocks of the mean fold score in each block). NaN fold scores (e.g. a
        test fold with one class for ``roc_auc``) are ignored.
    scores : ndarray of shape (n_folds,)
        Score of each fold.
    blocks : list of str
        The block each fold belongs to (subject/session, held-out subject, ...).
    block_scores : dict of str to float
        Mean fold score per block.
    pooled_score : float or None
        The metric on all test predictions pooled (None without predictions).
    chance : float
        :func:`~neurodl.evaluation.chance_level` of the metric for the tested labels.
    fit_times, score_times : ndarray of shape (n_folds,)
        Seconds spent fitting and predicting in each fold.
    n_train, n_test : ndarray of int of shape (n_folds,)
        Sizes of the training and test sets.
    test_indices : list of ndarray
        Test sample indices of each fold.
    y_true, y_pred : ndarray of shape (n_tested,) or None
        Pooled labels and predictions, in fold order (``return_predictions=True``).
    y_score : ndarray of shape (n_tested, n_classes) or None
        Pooled class probabilities (or decision values) in ``classes`` order, when available.
    sample_index, fold : ndarray of int of shape (n_tested,) or None
        Dataset index and fold number of each pooled prediction.
    classes : list or None
        The classes (classification).
    confusion_matrix : ndarray of shape (n_classes, n_classes) or None
        Pooled confusion matrix, rows true classes, columns predictions, in ``classes`` order.
    fold_info : list of dict or None
        Per fold, the fitted estimator's ``cv_fold_info_`` (e.g. the inner search of a
        :class:`~neurodl.evaluation.SearchCV`); None when the estimator has none.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 30)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 20)})
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + y[:, None], y=y, metadata=md)
    >>> res = cross_validate(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out")
    >>> res.scores.shape, res.blocks, res.chance, res.n_test.tolist()
    ((3,), ['1', '2', '3'], 0.5, [20, 20, 20])
    """

    protocol: dict[str, Any]
    metric: str
    score: float
    scores: np.ndarray
    blocks: list[str]
    block_scores: dict[str, float]
    pooled_score: float | None
    chance: float
    fit_times: np.ndarray
    score_times: np.ndarray
    n_train: np.ndarray
    n_test: np.ndarray
    test_indices: list[np.ndarray] = field(repr=False)
    y_true: np.ndarray | None = field(default=None, repr=False)
    y_pred: np.ndarray | None = field(default=None, repr=False)
    y_score: np.ndarray | None = field(default=None, repr=False)
    sample_index: np.ndarray | None = field(default=None, repr=False)
    fold: np.ndarray | None = field(default=None, repr=False)
    classes: list[Any] | None = None
    confusion_matrix: np.ndarray | None = field(default=None, repr=False)
    fold_info: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        return len(self.scores)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (arrays as lists, NaN as None)."""
        return {k: to_jsonable(v) for k, v in self.__dict__.items()}


# ---------------------------------------------------------------------- shared internals
@dataclass
class _Setup:
    protocol: Protocol
    metric: Metric
    splits: list[tuple[np.ndarray, np.ndarray, str]]
    classes: np.ndarray | None
    score_kind: str | None  # "predict_proba", "decision_function" or None
    keep_scores: bool  # compute class scores in each fold
    # Group labels (the protocol's disjoint columns) handed to estimators whose ``fit`` takes
    # ``groups``, so an inner validation split (e.g. early stopping) respects them too.
    fit_groups: np.ndarray | None = None


def _resolve_protocol(protocol: str | Protocol, seed: int) -> Protocol:
    if isinstance(protocol, str) and protocol in PROTOCOLS:
        cls = PROTOCOLS[protocol]
        import inspect

        if "seed" in inspect.signature(cls.__init__).parameters:
            return get_protocol(protocol, seed=seed)
    if not isinstance(protocol, str | Protocol):
        raise ConfigError(
            f"Invalid value for 'protocol'. Allowed: a Protocol or one of "
            f"{', '.join(repr(k) for k in PROTOCOLS)}; got {protocol!r}."
        )
    return get_protocol(protocol)


def _setup(
    estimator: Any,
    dataset: EpochsDataset,
    protocol: str | Protocol,
    metric: str | Metric,
    seed: int,
    want_scores: bool,
) -> _Setup:
    dataset = as_epochs_dataset(dataset)
    if dataset.y is None:
        raise ValueError("The dataset has no labels (dataset.y is None); cross-validation needs y.")
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise TypeError(
            f"Invalid value for 'estimator'. Allowed: an object with fit and predict; "
            f"got {type(estimator).__name__}."
        )
    proto = _resolve_protocol(protocol, seed)
    m = get_metric(metric)
    score_kind = None
    if m.task == "classification" or want_scores:
        for kind in ("predict_proba", "decision_function"):
            if hasattr(estimator, kind):
                score_kind = kind
                break
    if m.needs_proba and score_kind is None:
        raise TypeError(
            f"Metric {m.name!r} needs class scores: the estimator "
            f"{type(estimator).__name__} has neither predict_proba nor decision_function."
        )
    classes = np.unique(dataset.y) if m.task == "classification" else None
    splits = proto.splits(dataset)
    for train, test, _ in splits:
        check_no_leakage(dataset, train, test, group_by=proto.groups)
    keep_scores = score_kind is not None and classes is not None and (m.needs_proba or want_scores)
    fit_groups = dataset.groups(list(proto.groups)) if proto.groups else None
    return _Setup(proto, m, splits, classes, score_kind, keep_scores, fit_groups)


def _seeded_clone(estimator: Any, seed: int) -> Any:
    est = clone(estimator)
    params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    if "random_state" in params and params["random_state"] is None:
        est.set_params(random_state=seed)
    return est


def _class_scores(est: Any, X: np.ndarray, kind: str, classes: np.ndarray) -> np.ndarray:
    """Return scores of shape (n, n_classes) aligned to ``classes``."""
    raw = np.asarray(getattr(est, kind)(X), dtype=float)
    est_classes = np.asarray(getattr(est, "classes_", classes))
    if raw.ndim == 1 and len(est_classes) == 2:  # binary decision function: est_classes[1]
        raw = np.column_stack([-raw, raw])
    raw = raw.reshape(len(X), -1)
    if raw.shape[1] != len(est_classes):
        raise ValueError(
            f"{kind} returned {raw.shape[1]} columns for {len(est_classes)} classes "
            f"{est_classes.tolist()}."
        )
    out = np.zeros((len(X), len(classes)))
    if kind == "decision_function":
        out[:] = raw.min() - 1.0
    pos = np.searchsorted(classes, est_classes)
    out[:, pos] = raw
    return out


def _fold_score(
    metric: Metric,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    classes: np.ndarray | None,
) -> float:
    try:
        if metric.needs_proba:
            return metric(y_true, y_score, labels=classes)
        return metric(y_true, y_pred, labels=classes)
    except ValueError as err:
        logger.warning("metric %s undefined on a fold (%s); scored as NaN", metric.name, err)
        return float("nan")


def _fit_takes(est: Any, name: str) -> bool:
    """True when ``est.fit`` has an explicit ``name`` parameter (not a Pipeline's **params)."""
    import inspect

    try:
        return name in inspect.signature(est.fit).parameters
    except (TypeError, ValueError):
        return False


def _fit_takes_groups(est: Any) -> bool:
    """True when ``est.fit`` has an explicit ``groups`` parameter (not a Pipeline's **params)."""
    return _fit_takes(est, "groups")


def protocol_groups(dataset: Any, protocol: str | Protocol, seed: int = 0) -> np.ndarray | None:
    """The groups ``protocol`` keeps disjoint (e.g. subjects), one per sample of ``dataset``.

    What :func:`cross_validate` hands to an estimator's ``fit``; None for a protocol without
    groups (e.g. a stratified k-fold over samples).

    Examples
    --------
    >>> import pandas as pd
    >>> from neurodl.data import EpochsDataset
    >>> meta = pd.DataFrame({"subject": ["s1", "s1", "s2", "s2"]})
    >>> ds = EpochsDataset(np.zeros((4, 2)), np.array([0, 1, 0, 1]), meta)
    >>> protocol_groups(ds, "leave-one-subject-out").tolist()
    ['s1', 's1', 's2', 's2']
    """
    proto = _resolve_protocol(protocol, seed)
    return dataset.groups(list(proto.groups)) if proto.groups else None


def group_fit_params(est: Any, groups: Any) -> dict[str, Any]:
    """The ``fit`` keyword arguments that hand ``groups`` to ``est`` ({} when it takes none).

    An estimator whose ``fit`` has a ``groups`` parameter gets ``groups``; a Pipeline (e.g.
    preprocessing + network) gets ``<last step>__groups``, which it routes to its final
    estimator (whose inner validation split and group-wise batches then respect the groups).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from neurodl.estimators import NeuralClassifier
    >>> groups = ["s1", "s1", "s2"]
    >>> list(group_fit_params(NeuralClassifier(), groups))
    ['groups']
    >>> list(group_fit_params(make_pipeline(FunctionTransformer(), NeuralClassifier()), groups))
    ['neuralclassifier__groups']
    >>> group_fit_params(LogisticRegression(), groups), group_fit_params(NeuralClassifier(), None)
    ({}, {})
    """
    if groups is None:
        return {}
    if _fit_takes_groups(est):
        return {"groups": groups}
    steps = getattr(est, "steps", None)
    if isinstance(steps, list) and steps and _fit_takes_groups(steps[-1][1]):
        return {f"{steps[-1][0]}__groups": groups}
    return {}


def _run_fold(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    setup: _Setup,
    seed: int,
) -> dict[str, Any]:
    est = _seeded_clone(estimator, seed)
    t0 = time.perf_counter()
    fit_kw: dict[str, Any] = {}
    if setup.fit_groups is not None:
        fit_kw.update(group_fit_params(est, setup.fit_groups[train]))
    if _fit_takes(est, "sample_index"):  # e.g. SearchCV: the rows' metadata for inner splits
        fit_kw["sample_index"] = train
    est.fit(np.asarray(X[train]), y[train], **fit_kw)
    t1 = time.perf_counter()
    X_test = np.asarray(X[test])
    y_pred = np.asarray(est.predict(X_test))
    y_score = None
    if setup.keep_scores:
        y_score = _class_scores(est, X_test, setup.score_kind, setup.classes)
    t2 = time.perf_counter()
    value = _fold_score(setup.metric, y[test], y_pred, y_score, setup.classes)
    return {
        "y_pred": y_pred,
        "y_score": y_score,
        "value": value,
        "fit_time": t1 - t0,
        "score_time": t2 - t1,
        "info": getattr(est, "cv_fold_info_", None),
    }


def _aggregate(values: np.ndarray, blocks: list[str], by_block: bool) -> tuple[float, dict]:
    blocks_arr = np.asarray(blocks)
    block_scores = {}
    for b in dict.fromkeys(blocks):
        v = values[blocks_arr == b]
        block_scores[b] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    pool = np.array(list(block_scores.values())) if by_block else values
    total = float(np.nanmean(pool)) if np.isfinite(pool).any() else float("nan")
    return total, block_scores


def _fold_unit(shared: tuple, split: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """One fold as an independent unit of :func:`~neurodl.execution.run_units`."""
    estimator, X, y, setup, seed = shared
    return _run_fold(estimator, X, y, split[0], split[1], setup, seed)


def _run_folds(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    setup: _Setup,
    seed: int,
    n_jobs: int | None,
    progress: Callable[[int, int], Any] | None,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
) -> list[dict]:
    return run_units(
        _fold_unit,
        [(train, test) for train, test, _ in setup.splits],
        shared=(estimator, X, y, setup, seed),
        n_jobs=n_jobs,
        execution=execution,
        progress=progress,
    )


def cross_validate(
    estimator: Any,
    dataset: EpochsDataset,
    protocol: str | Protocol,
    metric: str | Metric = "balanced_accuracy",
    *,
    n_jobs: int | None = 1,
    return_predictions: bool = True,
    seed: int = 0,
    progress: Callable[[int, int], Any] | None = None,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
) -> CVResult:
    """Cross-validate ``estimator`` on ``dataset`` under a named protocol, guarding every split.

    Each fold fits a fresh :func:`sklearn.base.clone` of ``estimator`` (with ``random_state`` set
    to ``seed`` when it has one left at None). Before any fitting, every split is checked with
    :func:`~neurodl.evaluation.check_no_leakage` against the protocol's disjoint groups and for
    overlapping windows; a leaky split raises :class:`~neurodl.exceptions.LeakageError`.

    Parameters
    ----------
    estimator : sklearn-compatible estimator
        Has ``fit(X, y)`` and ``predict(X)``; ``predict_proba`` or ``decision_function`` for
        ``roc_auc``.
    dataset : EpochsDataset or mne.Epochs
        ``X`` of shape (n_samples, ...) is passed to the estimator as is; ``y`` is required.
        An ``mne.Epochs`` is converted with :meth:`~neurodl.data.EpochsDataset.from_mne`
        (labels = event names, every epoch in one subject/session/run).
    protocol : str or Protocol
        A key of :data:`~neurodl.evaluation.PROTOCOLS` (built with ``seed`` where it shuffles) or
        a :class:`~neurodl.evaluation.Protocol`.
    metric : str or Metric, default="balanced_accuracy"
        A key of :data:`~neurodl.evaluation.METRICS`.
    n_jobs : int or None, default=1
        Local backend: folds run in parallel with joblib when not 1.
    return_predictions : bool, default=True
        Keep pooled predictions, class scores and the confusion matrix.
    seed : int, default=0
        Seed for the protocol's shuffling and the estimators' ``random_state``.
    progress : callable or None
        Called as ``progress(n_done, n_folds)`` after each fold (e.g. to update a bar).
    execution : ExecutionConfig, mapping, str or None
        Where the folds run (``{"backend": "ray", "address": ...}``, a result cache, ...);
        None uses :func:`neurodl.execution.get_execution`. Scores do not depend on it.

    Returns
    -------
    result : CVResult

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> ds = EpochsDataset(rng.normal(size=(40, 3)) + y[:, None], y=y)
    >>> res = cross_validate(LinearDiscriminantAnalysis(), ds, "within-session")
    >>> res.n_folds, res.score > res.chance
    (5, True)
    """
    dataset = as_epochs_dataset(dataset)
    setup = _setup(estimator, dataset, protocol, metric, seed, want_scores=return_predictions)
    X, y = dataset.X, np.asarray(dataset.y)
    logger.info(
        "cross_validate: %s, %d folds, metric %s",
        setup.protocol.name,
        len(setup.splits),
        setup.metric.name,
    )
    folds = _run_folds(estimator, X, y, setup, seed, n_jobs, progress, execution)

    values = np.array([f["value"] for f in folds], dtype=float)
    blocks = [b for _, _, b in setup.splits]
    total, block_scores = _aggregate(values, blocks, setup.protocol.aggregate_by_block)
    test_indices = [te for _, te, _ in setup.splits]
    tested = np.concatenate(test_indices)
    classes = setup.classes

    y_true = y[tested]
    y_pred = np.concatenate([f["y_pred"] for f in folds])
    has_scores = all(f["y_score"] is not None for f in folds)
    y_score = np.concatenate([f["y_score"] for f in folds]) if has_scores else None
    pooled = _fold_score(setup.metric, y_true, y_pred, y_score, classes)
    result = CVResult(
        protocol=setup.protocol.to_dict(),
        metric=setup.metric.name,
        score=total,
        scores=values,
        blocks=blocks,
        block_scores=block_scores,
        pooled_score=pooled,
        chance=chance_level(y_true, setup.metric),
        fit_times=np.array([f["fit_time"] for f in folds]),
        score_times=np.array([f["score_time"] for f in folds]),
        n_train=np.array([len(tr) for tr, _, _ in setup.splits]),
        n_test=np.array([len(te) for _, te, _ in setup.splits]),
        test_indices=test_indices,
        classes=None if classes is None else classes.tolist(),
    )
    if any(f.get("info") is not None for f in folds):
        result.fold_info = [f.get("info") for f in folds]
    if return_predictions:
        result.y_true, result.y_pred, result.y_score = y_true, y_pred, y_score
        result.sample_index = tested
        result.fold = np.repeat(np.arange(len(folds)), [len(te) for te in test_indices])
        if classes is not None:
            from sklearn.metrics import confusion_matrix

            result.confusion_matrix = confusion_matrix(y_true, y_pred, labels=classes)
    return result
