"""Label-efficiency curves: scores with a fraction of the training labels, on the same folds.

:func:`label_efficiency` runs, for every split of a grouped protocol (e.g. leave-one-subject-out)
and every fraction of the training labels (:func:`label_subset`: stratified, nested across
fractions, seeded per fold), each model built by a factory, and scores it on the whole test
fold. A self-supervised pretrainer (anything with ``fit(X, recordings=, onsets=, sample_ids=)``
and an ``encoder_`` after fit, e.g. :class:`~neurodl.estimators.pretraining.SSLPretrainer`) is
fitted once per fold on the unlabelled pool, before any label is drawn, and its encoder is passed
to every factory. Test-fold data never enter it: :func:`pretrain_pool` keeps only pool windows
whose group is not a test group, unless ``unlabelled_test_data=True`` (transductive
pretraining on the test subject's unlabelled windows, recorded in the result). The pool ids each
fold's pretrainer saw are kept (:attr:`LabelEfficiencyResult.pretrain_ids`).

Per (model, fraction), :meth:`LabelEfficiencyResult.cv_result` gives the fold scores in the form
:func:`~neurodl.evaluation.compare_models` reads (same test indices for every model), so two
models are compared by the corrected resampled t-test on the same folds.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> X, y = rng.standard_normal((60, 3)), np.tile([0, 1], 30)
>>> X[y == 1] += 1.0
>>> groups = np.repeat(np.arange(3), 20)
>>> splits = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in range(3)]
>>> res = label_efficiency(X, y, groups, splits=splits, fractions=[0.1, 1.0],
...                        models={"lr": lambda enc: LogisticRegression()})
>>> sorted(res.summary()["lr"])
[0.1, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone

from ..exceptions import ConfigError, DataFormatError, LeakageError
from .metrics import get_metric

__all__ = [
    "FoldScores",
    "LabelEfficiencyResult",
    "UnlabelledPool",
    "label_efficiency",
    "label_subset",
    "pretrain_pool",
]


def label_subset(y: Any, fraction: float, seed: int) -> np.ndarray:
    """Indices of ``max(1, round(fraction * n_c))`` samples of each class ``c``, sorted.

    The draw is a seeded permutation per class cut at the requested size, so subsets for a
    larger fraction contain those of a smaller one (same seed).

    Examples
    --------
    >>> y = np.array([0] * 8 + [1] * 4)
    >>> idx = label_subset(y, 0.5, seed=0)  # half of each class
    >>> len(idx), np.bincount(y[idx]).tolist(), set(label_subset(y, 0.25, 0)) <= set(idx)
    (6, [4, 2], True)
    """
    if not (isinstance(fraction, int | float) and 0 < fraction <= 1):
        raise ConfigError(f"Invalid value for 'fraction'. Allowed: (0, 1]; got {fraction!r}.")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        perm = idx[rng.permutation(len(idx))]
        keep.append(perm[: max(1, round(fraction * len(idx)))])
    return np.sort(np.concatenate(keep))


def pretrain_pool(
    pool_groups: Any, test_groups: Sequence[Any], *, unlabelled_test_data: bool = False
) -> np.ndarray:
    """Indices of the unlabelled pool a fold may pretrain on: no test group unless allowed.

    Examples
    --------
    >>> groups = np.array(["s1", "s1", "s2", "s3"])
    >>> pretrain_pool(groups, ["s2"]).tolist()  # never the test subject's windows
    [0, 1, 3]
    >>> pretrain_pool(groups, ["s2"], unlabelled_test_data=True).tolist()
    [0, 1, 2, 3]
    """
    pool_groups = np.asarray(pool_groups)
    if unlabelled_test_data:
        return np.arange(len(pool_groups))
    return np.flatnonzero(~np.isin(pool_groups, np.asarray(list(test_groups))))


@dataclass
class UnlabelledPool:
    """Unlabelled windows for pretraining.

    Attributes
    ----------
    X : ndarray of shape (n_pool, n_chans, n_times)
    groups : ndarray of shape (n_pool,)
        Group of each window in the protocol's sense (the subject for leave-one-subject-out).
    recordings : ndarray of shape (n_pool,) or None
    onsets : ndarray of shape (n_pool,) or None
        Seconds within the recording.
    ch_names : list of str or None

    Examples
    --------
    >>> pool = UnlabelledPool(np.zeros((6, 2, 50)), groups=np.repeat(["s1", "s2", "s3"], 2))
    >>> pool.X.shape, pretrain_pool(pool.groups, ["s2"]).tolist()
    ((6, 2, 50), [0, 1, 4, 5])
    """

    X: np.ndarray
    groups: np.ndarray
    recordings: np.ndarray | None = None
    onsets: np.ndarray | None = None
    ch_names: list[str] | None = None


@dataclass
class FoldScores:
    """Fold scores of one model at one fraction, in the form :func:`compare_models` reads.

    Examples
    --------
    >>> fs = FoldScores("balanced_accuracy", np.array([0.7, 0.8]), np.array([30, 30]),
    ...                 np.array([10, 10]), [np.arange(10), np.arange(10, 20)])
    >>> round(float(fs.scores.mean()), 2), fs.metric
    (0.75, 'balanced_accuracy')
    """

    metric: str
    scores: np.ndarray
    n_train: np.ndarray
    n_test: np.ndarray
    test_indices: list[np.ndarray]

    @property
    def score(self) -> float:
        return float(np.nanmean(self.scores))


@dataclass
class LabelEfficiencyResult:
    """Scores per fold, fraction and model.

    Attributes
    ----------
    metric : str
    fractions : list of float
    models : list of str
    rows : list of dict
        One per (fold, fraction, model): ``fold``, ``fraction``, ``model``, ``score``,
        ``n_labels`` (labelled training windows used), ``n_train`` (windows in the training
        fold, what the corrected t-test of :func:`compare_models` takes as training-set size:
        folds overlap through it whatever the fraction), ``n_test``, ``fit_s``.
    test_indices : list of ndarray
        Test indices of each fold.
    test_groups : list of list
    pretrain_ids : list of ndarray or None
        Per fold, the pool indices given to the pretrainer (None without one).
    unlabelled_test_data : bool
        Whether the test folds' unlabelled windows were allowed into pretraining.

    Examples
    --------
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 20)
    >>> groups = np.repeat(["s1", "s2", "s3", "s4"], 10)
    >>> X = rng.standard_normal((40, 3)) + y[:, None]
    >>> splits = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in ["s1", "s2"]]
    >>> res = label_efficiency(X, y, groups, splits=splits, fractions=[0.25, 1.0],
    ...                        models={"lda": lambda encoder: LinearDiscriminantAnalysis()})
    >>> res.fractions, res.models, len(res.rows)  # 2 folds x 2 fractions x 1 model
    ([0.25, 1.0], ['lda'], 4)
    """

    metric: str
    fractions: list[float]
    models: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    test_indices: list[np.ndarray] = field(default_factory=list)
    test_groups: list[list[Any]] = field(default_factory=list)
    pretrain_ids: list[np.ndarray | None] = field(default_factory=list)
    unlabelled_test_data: bool = False

    def scores(self, model: str, fraction: float) -> np.ndarray:
        """Fold scores of ``model`` at ``fraction``, in fold order."""
        rows = sorted(
            (r for r in self.rows if r["model"] == model and r["fraction"] == fraction),
            key=lambda r: r["fold"],
        )
        if not rows:
            raise ConfigError(
                f"No scores for model={model!r} at fraction={fraction!r}. Models: {self.models}; "
                f"fractions: {self.fractions}."
            )
        return np.asarray([r["score"] for r in rows], dtype=float)

    def cv_result(self, model: str, fraction: float) -> FoldScores:
        """Fold scores with the sizes and test indices :func:`compare_models` needs."""
        rows = sorted(
            (r for r in self.rows if r["model"] == model and r["fraction"] == fraction),
            key=lambda r: r["fold"],
        )
        return FoldScores(
            metric=self.metric,
            scores=self.scores(model, fraction),
            n_train=np.asarray([r["n_train"] for r in rows]),
            n_test=np.asarray([r["n_test"] for r in rows]),
            test_indices=[self.test_indices[r["fold"]] for r in rows],
        )

    def summary(self) -> dict[str, dict[float, float]]:
        """Mean fold score per model and fraction."""
        return {
            m: {f: float(np.nanmean(self.scores(m, f))) for f in self.fractions}
            for m in self.models
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "fractions": list(self.fractions),
            "models": list(self.models),
            "rows": self.rows,
            "test_groups": [[str(g) for g in gs] for gs in self.test_groups],
            "n_pretrain_windows": [None if p is None else len(p) for p in self.pretrain_ids],
            "unlabelled_test_data": self.unlabelled_test_data,
            "summary": {m: {str(f): s for f, s in d.items()} for m, d in self.summary().items()},
        }


def _takes_groups(pretrainer: Any) -> bool:
    """True for a pretrainer that draws its batches within groups (``batch_by_group``)."""
    return bool(getattr(pretrainer, "batch_by_group", False))


def label_efficiency(
    X: Any,
    y: Any,
    groups: Any,
    *,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    fractions: Sequence[float],
    models: dict[str, Callable[[Any], Any]],
    pretrainer: Any = None,
    pool: UnlabelledPool | None = None,
    unlabelled_test_data: bool = False,
    metric: str = "balanced_accuracy",
    seed: int = 0,
    progress: Callable[[dict[str, Any]], Any] | None = None,
) -> LabelEfficiencyResult:
    """Score each model with each fraction of the training labels on every split.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
    y : ndarray of shape (n_samples,)
    groups : ndarray of shape (n_samples,)
        Group of each sample; no group may be on both sides of a split.
    splits : sequence of (train_idx, test_idx)
    fractions : sequence of float in (0, 1]
    models : dict
        ``name -> factory(encoder)``; ``encoder`` is the fold's pretrained encoder (``None``
        without a pretrainer). The factory returns an unfitted classifier.
    pretrainer : estimator, optional
        Cloned and fitted once per fold on the allowed part of ``pool``.
    pool : UnlabelledPool, optional
        Unlabelled windows (required with ``pretrainer``).
    unlabelled_test_data : bool, default=False
        Allow the test groups' unlabelled pool windows into pretraining.
    metric : str, default="balanced_accuracy"
    seed : int, default=0
        Label draws use ``seed + fold``.
    progress : callable, optional
        Called with each result row.

    Examples
    --------
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 20)
    >>> groups = np.repeat(["s1", "s2", "s3", "s4"], 10)
    >>> X = rng.standard_normal((40, 3)) + y[:, None]
    >>> splits = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in ["s1", "s2"]]
    >>> res = label_efficiency(X, y, groups, splits=splits, fractions=[0.25, 1.0],
    ...                        models={"lda": lambda encoder: LinearDiscriminantAnalysis()})
    >>> [(r["fold"], r["fraction"], r["n_labels"]) for r in res.rows]
    [(0, 0.25, 8), (0, 1.0, 30), (1, 0.25, 8), (1, 1.0, 30)]
    """
    import time

    X, y, groups = np.asarray(X), np.asarray(y), np.asarray(groups)
    if not (len(X) == len(y) == len(groups)):
        raise DataFormatError(f"X, y and groups have {len(X)}, {len(y)} and {len(groups)} samples.")
    if pretrainer is not None and pool is None:
        raise ConfigError("A pretrainer needs an unlabelled 'pool'; got pool=None.")
    scorer = get_metric(metric)
    fractions = [float(f) for f in fractions]
    res = LabelEfficiencyResult(
        metric=metric,
        fractions=fractions,
        models=list(models),
        unlabelled_test_data=bool(unlabelled_test_data),
    )
    for k, (tr, te) in enumerate(splits):
        tr, te = np.asarray(tr), np.asarray(te)
        test_groups = sorted(set(groups[te].tolist()))
        shared = set(groups[tr].tolist()) & set(test_groups)
        if shared:
            raise LeakageError(
                f"Split {k}: groups {sorted(shared)[:5]} are in both the training and test fold."
            )
        res.test_indices.append(te)
        res.test_groups.append(test_groups)
        encoder = None
        ids = None
        if pretrainer is not None and pool is not None:
            ids = pretrain_pool(pool.groups, test_groups, unlabelled_test_data=unlabelled_test_data)
            fitted = clone(pretrainer).fit(
                pool.X[ids],
                recordings=None if pool.recordings is None else pool.recordings[ids],
                onsets=None if pool.onsets is None else pool.onsets[ids],
                ch_names=pool.ch_names,
                sample_ids=ids,
                **({"groups": pool.groups[ids]} if _takes_groups(pretrainer) else {}),
            )
            encoder = fitted.encoder_
        res.pretrain_ids.append(ids)
        for frac in fractions:
            sub = tr[label_subset(y[tr], frac, seed + k)]
            for name, factory in models.items():
                t0 = time.perf_counter()
                est = factory(encoder).fit(X[sub], y[sub])
                row = {
                    "fold": k,
                    "fraction": frac,
                    "model": name,
                    "score": float(scorer(y[te], est.predict(X[te]))),
                    "n_labels": len(sub),
                    "n_train": len(tr),
                    "n_test": len(te),
                    "fit_s": round(time.perf_counter() - t0, 2),
                }
                res.rows.append(row)
                if progress is not None:
                    progress(row)
    return res
