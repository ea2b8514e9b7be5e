"""Subject-level cross-validation: pipelines that carry sites and confounds into every fit.

:class:`SubjectPipeline` is a minimal sklearn-style pipeline whose steps may take ``sites=`` and
``covariates=`` in ``fit`` / ``transform`` (ComBat, confound regression); the runner gives each
step only the training subjects' values when fitting. :class:`InnerCVSelect` chooses among
candidate pipelines by cross-validation on the training subjects only (nested CV).
:func:`subject_cross_validate` splits a :class:`~.cohort.SubjectCohort` with a named protocol of
:mod:`neurodl.evaluation.protocols` (leakage-checked), and returns a
:class:`~neurodl.evaluation.CVResult` so that :func:`~neurodl.evaluation.compare_models` can pair
two models on the same folds. :func:`subject_permutation_test` permutes the diagnosis across
subjects (within sites when asked) and refits on the same folds.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from ..._logging import logger
from ...evaluation import CVResult, PermutationResult, check_no_leakage, permutation_labels
from ...evaluation.protocols import Protocol, get_protocol
from ...exceptions import ConfigError, DataFormatError
from .cohort import SubjectCohort
from .stats import subject_metrics

__all__ = [
    "InnerCVSelect",
    "SubjectCV",
    "SubjectPipeline",
    "subject_cross_validate",
    "subject_permutation_test",
    "subject_splits",
]

_SIDE = ("sites", "covariates")


def _accepts(method: Any, name: str) -> bool:
    owner = getattr(method, "__self__", None)
    if owner is not None:  # bound method: cache by class (signatures do not change per object)
        return _accepts_by_class(type(owner), method.__name__, name)
    return _accepts_uncached(method, name)


@functools.lru_cache(maxsize=1024)
def _accepts_by_class(cls: type, method_name: str, name: str) -> bool:
    return _accepts_uncached(getattr(cls, method_name), name)


def _accepts_uncached(method: Any, name: str) -> bool:
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _side(method: Any, side: dict[str, Any]) -> dict[str, Any]:
    """The side information (sites, covariates) that ``method`` takes."""
    return {k: v for k, v in side.items() if v is not None and _accepts(method, k)}


class SubjectPipeline(BaseEstimator):
    """Steps ``[(name, transformer), ..., (name, estimator)]`` with sites/covariates routed.

    Parameters
    ----------
    steps : list of (str, estimator)
        Transformers then a final estimator. A step whose ``fit``/``transform`` has a ``sites``
        or ``covariates`` parameter receives the values of the subjects it is given.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.analyses.biomarkers.harmonize import ComBat
    >>> rng = np.random.default_rng(0)
    >>> sites, y = np.repeat(["a", "b"], 20), np.tile([0, 1], 20)
    >>> X = rng.normal(size=(40, 3)) + y[:, None] + 5 * (sites == "b")[:, None]
    >>> pipe = SubjectPipeline([("combat", ComBat()), ("lr", LogisticRegression())])
    >>> pipe.fit(X, y, sites=sites).score(X, y, sites=sites) > 0.7
    True
    """

    def __init__(self, steps: list[tuple[str, Any]]) -> None:
        self.steps = steps

    def _check(self) -> None:
        if not self.steps or any(
            not (isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str)) for s in self.steps
        ):
            raise ConfigError(
                f"Invalid value for 'steps'. Allowed: a non-empty list of (name, estimator); "
                f"got {self.steps!r}."
            )

    def fit(self, X: Any, y: Any, *, sites: Any = None, covariates: Any = None) -> Any:
        """Fit every step on the training subjects ``X`` (n_subjects, ...)."""
        self._check()
        side = {"sites": sites, "covariates": covariates}
        self.steps_ = []
        Xt = X
        for name, step in self.steps[:-1]:
            est = clone(step)
            est.fit(Xt, y, **_side(est.fit, side))
            Xt = est.transform(Xt, **_side(est.transform, side))
            self.steps_.append((name, est))
        name, final = self.steps[-1]
        final = clone(final)
        final.fit(Xt, y, **_side(final.fit, side))
        self.steps_.append((name, final))
        self.classes_ = getattr(final, "classes_", np.unique(y))
        return self

    def _transform(self, X: Any, side: dict[str, Any]) -> Any:
        check_is_fitted(self, "steps_")
        Xt = X
        for _, est in self.steps_[:-1]:
            Xt = est.transform(Xt, **_side(est.transform, side))
        return Xt

    @property
    def final_(self) -> Any:
        """The fitted final estimator."""
        check_is_fitted(self, "steps_")
        return self.steps_[-1][1]

    def predict(self, X: Any, *, sites: Any = None, covariates: Any = None) -> np.ndarray:
        """Predicted class per subject."""
        side = {"sites": sites, "covariates": covariates}
        return np.asarray(self.final_.predict(self._transform(X, side)))

    def decision_score(self, X: Any, *, sites: Any = None, covariates: Any = None) -> np.ndarray:
        """Score of class ``classes_[1]`` per subject (decision function or probability)."""
        Xt = self._transform(X, {"sites": sites, "covariates": covariates})
        final = self.final_
        if hasattr(final, "decision_function"):
            s = np.asarray(final.decision_function(Xt), dtype=float)
            return s if s.ndim == 1 else s[:, -1]
        return np.asarray(final.predict_proba(Xt), dtype=float)[:, -1]

    def score(self, X: Any, y: Any, *, sites: Any = None, covariates: Any = None) -> float:
        """Balanced accuracy."""
        from sklearn.metrics import balanced_accuracy_score

        return float(
            balanced_accuracy_score(y, self.predict(X, sites=sites, covariates=covariates))
        )


def _score_of(est: Any, X: Any, side: dict[str, Any]) -> np.ndarray:
    if hasattr(est, "decision_score"):
        return est.decision_score(X, **_side(est.decision_score, side))
    if hasattr(est, "decision_function"):
        s = np.asarray(est.decision_function(X), dtype=float)
        return s if s.ndim == 1 else s[:, -1]
    return np.asarray(est.predict_proba(X), dtype=float)[:, -1]


class InnerCVSelect(BaseEstimator):
    """Pick one of several candidate pipelines by CV on the training subjects only (nested CV).

    Parameters
    ----------
    candidates : dict of str to estimator
        Named candidates (e.g. ``{"correlation": ..., "tangent+combat": ...}``).
    inner : {"site-stratified", "leave-one-site-out"}, default="site-stratified"
        Inner splits: stratified k-fold by site x label, or leave-one-site-out.
    n_splits : int, default=3
        Inner folds for ``"site-stratified"``.
    seed : int, default=0

    Attributes
    ----------
    best_name_ : str
    inner_scores_ : dict of str to float
        Mean inner balanced accuracy of each candidate.
    best_estimator_ : estimator
        The chosen candidate refitted on all training subjects.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> sel = InnerCVSelect({"strong": LogisticRegression(C=1.0),
    ...                      "weak": LogisticRegression(C=1e-6)})
    >>> sel.fit(cohort.X, cohort.y, sites=cohort.sites).best_name_, sorted(sel.inner_scores_)
    ('strong', ['strong', 'weak'])
    """

    def __init__(
        self,
        candidates: dict[str, Any],
        *,
        inner: str = "site-stratified",
        n_splits: int = 3,
        seed: int = 0,
    ) -> None:
        self.candidates = candidates
        self.inner = inner
        self.n_splits = n_splits
        self.seed = seed

    def _inner_splits(self, y: np.ndarray, sites: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

        if self.inner == "leave-one-site-out":
            return list(LeaveOneGroupOut().split(y, y, sites))
        if self.inner != "site-stratified":
            raise ConfigError(
                "Invalid value for 'inner'. Allowed: 'site-stratified', 'leave-one-site-out'; "
                f"got {self.inner!r}."
            )
        strata = np.char.add(sites.astype(str), y.astype(str))
        _, counts = np.unique(strata, return_counts=True)
        if counts.min() < self.n_splits:  # tiny strata: stratify by label only
            strata = y
        cv = StratifiedKFold(self.n_splits, shuffle=True, random_state=self.seed)
        return list(cv.split(y, strata))

    def fit(self, X: Any, y: Any, *, sites: Any = None, covariates: Any = None) -> Any:
        """Score every candidate by inner CV on (X, y), refit the best on all of it."""
        y = np.asarray(y)
        sites_arr = np.asarray(["0"] * len(y) if sites is None else sites).astype(str)
        cov = None if covariates is None else np.asarray(covariates, dtype=float)
        splits = self._inner_splits(y, sites_arr)
        self.inner_scores_ = {}
        for name, cand in self.candidates.items():
            scores = []
            for tr, te in splits:
                est = clone(cand)
                side_tr = {"sites": sites_arr[tr], "covariates": None if cov is None else cov[tr]}
                side_te = {"sites": sites_arr[te], "covariates": None if cov is None else cov[te]}
                est.fit(X[tr], y[tr], **_side(est.fit, side_tr))
                pred = est.predict(X[te], **_side(est.predict, side_te))
                scores.append(subject_metrics(y[te], pred)["balanced_accuracy"])
            self.inner_scores_[name] = float(np.nanmean(scores))
        self.best_name_ = max(self.inner_scores_, key=self.inner_scores_.get)
        best = clone(self.candidates[self.best_name_])
        side = {"sites": sites_arr, "covariates": cov}
        self.best_estimator_ = best.fit(X, y, **_side(best.fit, side))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: Any, *, sites: Any = None, covariates: Any = None) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        est = self.best_estimator_
        return est.predict(X, **_side(est.predict, {"sites": sites, "covariates": covariates}))

    def decision_score(self, X: Any, *, sites: Any = None, covariates: Any = None) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return _score_of(self.best_estimator_, X, {"sites": sites, "covariates": covariates})


@dataclass
class SubjectCV:
    """Outcome of :func:`subject_cross_validate`.

    Attributes
    ----------
    cv : CVResult
        Per-fold balanced accuracy, pooled predictions (``y_score`` of shape (n, 2)), test
        indices: the input of :func:`~neurodl.evaluation.compare_models`.
    y_score : ndarray of shape (n_tested,)
        Decision score of class 1 per tested subject, in ``cv.sample_index`` order.
    fold_metrics : list of dict
        Balanced accuracy, AUC, sensitivity, specificity per fold.
    weights : list of ndarray or None
        Final linear weights per fold (None when the model has none).
    selected : list of str or None
        The candidate chosen in each fold by :class:`InnerCVSelect`.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> res = subject_cross_validate(LogisticRegression(), cohort, "leave-one-site-out")
    >>> len(res.fold_metrics), res.y_score.shape, len(res.weights)
    (2, (30,), 2)
    """

    cv: CVResult
    y_score: np.ndarray
    fold_metrics: list[dict[str, float]]
    weights: list[np.ndarray | None] = field(default_factory=list)
    selected: list[str | None] = field(default_factory=list)


def subject_splits(
    cohort: SubjectCohort, protocol: str | Protocol, **params: Any
) -> tuple[Protocol, list[tuple[np.ndarray, np.ndarray, str]]]:
    """Folds of a named protocol over the cohort's subjects, each leakage-checked.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> protocol, folds = subject_splits(cohort, "leave-one-site-out")
    >>> [(len(train), len(test), name) for train, test, name in folds]
    [(15, 15, 'site0'), (15, 15, 'site1')]
    """
    proto = get_protocol(protocol, **params)
    ds = cohort.to_epochs_dataset()
    splits = proto.splits(ds)
    for tr, te, _ in splits:
        check_no_leakage(ds, tr, te, group_by=proto.groups)
    return proto, splits


def _linear_weights(est: Any) -> np.ndarray | None:
    if hasattr(est, "best_estimator_"):
        est = est.best_estimator_
    steps = getattr(est, "steps_", None) or [("", est)]
    coef = getattr(steps[-1][1], "coef_", None)
    return None if coef is None else np.asarray(coef, dtype=float).reshape(-1)


def _run_fold(
    estimator: Any,
    cohort: SubjectCohort,
    y: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    *,
    need_score: bool = True,
) -> dict[str, Any]:
    cov = cohort.confounds.to_numpy(dtype=float) if cohort.confounds.shape[1] else None
    side_tr = {"sites": cohort.sites[tr], "covariates": None if cov is None else cov[tr]}
    side_te = {"sites": cohort.sites[te], "covariates": None if cov is None else cov[te]}
    est = clone(estimator)
    est.fit(cohort.X[tr], y[tr], **_side(est.fit, side_tr))
    pred = np.asarray(est.predict(cohort.X[te], **_side(est.predict, side_te)))
    score = _score_of(est, cohort.X[te], side_te) if need_score else None
    return {"est": est, "pred": pred, "score": score}


def subject_cross_validate(
    estimator: Any,
    cohort: SubjectCohort,
    protocol: str | Protocol = "leave-one-site-out",
    *,
    keep_weights: bool = True,
    progress: Callable[[int, int], Any] | None = None,
    **protocol_params: Any,
) -> SubjectCV:
    """Cross-validate ``estimator`` over the subjects of ``cohort``; everything fitted per fold.

    Parameters
    ----------
    estimator : estimator
        A :class:`SubjectPipeline`, :class:`InnerCVSelect` or any classifier with
        ``fit``/``predict`` and ``decision_function`` or ``predict_proba``.
    cohort : SubjectCohort
        Binary labels 0/1.
    protocol : str or Protocol, default="leave-one-site-out"
        A protocol of :mod:`neurodl.evaluation.protocols` (e.g. ``"site-stratified-kfold"``).
    keep_weights : bool, default=True
        Keep each fold's final linear weights (for stability).
    progress : callable, optional
        Called as ``progress(n_done, n_folds)`` after each fold.
    **protocol_params
        Passed to the protocol (``n_splits``, ``seed``).

    Returns
    -------
    SubjectCV

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> res = subject_cross_validate(LogisticRegression(), cohort, "leave-one-site-out")
    >>> res.cv.scores.round(2).tolist(), res.fold_metrics[0]["n_test"]  # one fold per site
    ([0.81, 0.93], 15)
    """
    if set(np.unique(cohort.y)) - {0, 1}:
        raise DataFormatError(
            f"Subject-level statistics need binary labels 0/1; got {np.unique(cohort.y).tolist()}."
        )
    proto, splits = subject_splits(cohort, protocol, **protocol_params)
    y = cohort.y
    folds, fold_metrics, scores = [], [], []
    for k, (tr, te, block) in enumerate(splits):
        res = _run_fold(estimator, cohort, y, tr, te)
        m = subject_metrics(y[te], res["pred"], res["score"])
        folds.append(res)
        fold_metrics.append({"fold": k, "block": block, "n_test": len(te), **m})
        scores.append(m["balanced_accuracy"])
        logger.info("subject CV fold %d (%s): balanced accuracy %.3f", k, block, scores[-1])
        if progress is not None:
            progress(k + 1, len(splits))
    tested = np.concatenate([te for _, te, _ in splits])
    y_pred = np.concatenate([f["pred"] for f in folds])
    y_score1 = np.concatenate([f["score"] for f in folds])
    pooled = subject_metrics(y[tested], y_pred, y_score1)["balanced_accuracy"]
    cv = CVResult(
        protocol=proto.to_dict(),
        metric="balanced_accuracy",
        score=float(np.nanmean(scores)),
        scores=np.asarray(scores, dtype=float),
        blocks=[b for _, _, b in splits],
        block_scores={b: float(s) for (_, _, b), s in zip(splits, scores)},
        pooled_score=pooled,
        chance=0.5,
        fit_times=np.zeros(len(splits)),
        score_times=np.zeros(len(splits)),
        n_train=np.array([len(tr) for tr, _, _ in splits]),
        n_test=np.array([len(te) for _, te, _ in splits]),
        test_indices=[te for _, te, _ in splits],
        y_true=y[tested],
        y_pred=y_pred,
        y_score=np.column_stack([-y_score1, y_score1]),
        sample_index=tested,
        fold=np.repeat(np.arange(len(splits)), [len(te) for _, te, _ in splits]),
        classes=[0, 1],
    )
    weights = [_linear_weights(f["est"]) if keep_weights else None for f in folds]
    selected = [getattr(f["est"], "best_name_", None) for f in folds]
    return SubjectCV(cv, y_score1, fold_metrics, weights, selected)


def subject_permutation_test(
    estimator: Any,
    cohort: SubjectCohort,
    protocol: str | Protocol = "leave-one-site-out",
    *,
    n_permutations: int = 200,
    within_site: bool = True,
    seed: int = 0,
    observed: float | None = None,
    statistic: str = "pooled",
    **protocol_params: Any,
) -> PermutationResult:
    """Permutation test of the subject-level balanced accuracy: diagnosis permuted across subjects.

    Every permutation refits ``estimator`` on the same folds. With ``within_site`` the labels
    move only among subjects of one site (each site keeps its class balance, so a site effect
    cannot masquerade as a group effect). The statistic is the balanced accuracy of all
    out-of-fold predictions pooled (``"pooled"``, defined even when a small test fold holds one
    class) or the mean of the fold scores (``"fold_mean"``); ``observed`` (when given, to
    avoid refitting) must be the same statistic.

    Returns
    -------
    PermutationResult
        ``p = (1 + #{null >= observed}) / (1 + n_permutations)``; ``unit="subject"``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> perm = subject_permutation_test(LogisticRegression(), cohort, n_permutations=19)
    >>> round(perm.score, 2), perm.p_value, perm.within, perm.unit
    (0.87, 0.05, 'site', 'subject')
    """
    if (
        isinstance(n_permutations, bool)
        or not isinstance(n_permutations, int)
        or n_permutations < 1
    ):
        raise ConfigError(
            f"Invalid value for 'n_permutations'. Allowed: an integer >= 1; got {n_permutations!r}."
        )
    _, splits = subject_splits(cohort, protocol, **protocol_params)

    if statistic not in ("pooled", "fold_mean"):
        raise ConfigError(
            f"Invalid value for 'statistic'. Allowed: 'pooled', 'fold_mean'; got {statistic!r}."
        )

    def cv_score(y: np.ndarray) -> float:
        vals, preds = [], np.empty_like(y)
        for tr, te, _ in splits:
            preds[te] = _run_fold(estimator, cohort, y, tr, te, need_score=False)["pred"]
            vals.append(subject_metrics(y[te], preds[te])["balanced_accuracy"])
        tested = np.concatenate([te for _, te, _ in splits])
        if statistic == "pooled":
            return subject_metrics(y[tested], preds[tested])["balanced_accuracy"]
        return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")

    y = cohort.y
    obs = cv_score(y) if observed is None else float(observed)
    blocks = cohort.sites if within_site else None
    null = np.empty(n_permutations)
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(n_permutations)):
        null[k] = cv_score(permutation_labels(y, blocks, None, np.random.default_rng(child)))
    p = (1 + int(np.sum(~(null < obs)))) / (1 + n_permutations)
    return PermutationResult(obs, null, p, "balanced_accuracy", "site" if within_site else None,
                             "subject")  # fmt: skip
