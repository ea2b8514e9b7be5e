"""Nested hyper-parameter search: grouped inner cross-validation inside each outer training fold.

:func:`search_hyperparameters` scores every configuration of a search space (see
:mod:`neurodl.evaluation.search_space`) by cross-validation under an *inner* protocol whose
splits are grouped (subject, session, run, ...) and checked for leakage, with bad trials
stopped early over the inner folds (successive halving). It runs on the execution backend in
force (:func:`~neurodl.execution.run_trials`: local joblib, or Ray Tune on a Ray cluster).

:class:`SearchCV` is the estimator to cross-validate: its ``fit`` receives only the outer
training samples (and their dataset indices, ``sample_index``, from
:func:`~neurodl.evaluation.cross_validate`), builds the inner splits from those samples alone,
so the outer test fold is never seen by the search, refits the best configuration on the
whole outer training set and keeps the search in ``search_`` (and in ``cv_fold_info_``, which
:func:`~neurodl.evaluation.cross_validate` collects per fold).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.metaestimators import available_if

from .._logging import logger
from ..data import EpochsDataset
from ..exceptions import ConfigError, NotFittedError
from ..execution import ExecutionConfig, get_execution
from ..execution.tune import run_trials
from ._json import to_jsonable
from .crossval import _run_fold, _seeded_clone, _setup
from .protocols import PROTOCOLS, GroupedKFold, Protocol, get_protocol
from .search_space import SearchSpace, sample_configs

__all__ = ["SearchCV", "SearchResult", "resolve_inner_protocol", "search_hyperparameters"]


@dataclass
class SearchResult:
    """Outcome of :func:`search_hyperparameters`.

    Attributes
    ----------
    trials : list of dict
        One per configuration: ``index``, ``params``, ``score`` (mean inner score over the
        folds run), ``fold_scores``, ``n_folds`` run and ``stopped`` (early, by the scheduler).
    best_index : int
        Index of the best trial among those that ran every inner fold (ties: the first).
    best_params : dict
        Its configuration.
    best_score : float
        Its mean inner score.
    metric : str
        The inner metric.
    greater_is_better : bool
        Direction of the metric.
    inner_protocol : dict
        The inner protocol's description (name, parameters, disjoint groups).
    n_inner_splits : int
        Inner folds.
    scheduler : str
        Early stopping of trials (``asha`` or ``none``).
    backend : str
        Where the trials ran (``local`` or ``ray``).
    space : dict
        The search space.
    inner_splits : list of (ndarray, ndarray)
        Inner ``(train, validation)`` indices into the searched dataset.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 20)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3", "4"], 10)})
    >>> ds = EpochsDataset(rng.standard_normal((40, 3)) + y[:, None], y=y, metadata=md)
    >>> res = search_hyperparameters(LogisticRegression(), ds, {"C": {"grid": [1e-4, 1.0]}})
    >>> len(res.trials), sorted(res.best_params), res.n_inner_splits  # 3 inner folds by subject
    (2, ['C'], 3)
    """

    trials: list[dict[str, Any]]
    best_index: int
    best_params: dict[str, Any]
    best_score: float
    metric: str
    greater_is_better: bool
    inner_protocol: dict[str, Any]
    n_inner_splits: int
    scheduler: str
    backend: str
    space: dict[str, Any]
    inner_splits: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, repr=False)

    @property
    def n_trials(self) -> int:
        """Number of configurations tried."""
        return len(self.trials)

    @property
    def n_stopped(self) -> int:
        """Trials stopped early by the scheduler."""
        return sum(bool(t["stopped"]) for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (without the inner split indices)."""
        out = {k: v for k, v in self.__dict__.items() if k != "inner_splits"}
        out["n_inner_train"] = [len(tr) for tr, _ in self.inner_splits]
        return to_jsonable(out)


def _build(estimator: Any, params: Mapping[str, Any]) -> Any:
    """A fresh estimator with ``params``: ``clone(est).set_params`` or ``factory(params)``."""
    if hasattr(estimator, "fit"):
        return clone(estimator).set_params(**params)
    return estimator(dict(params))


def _check_names(estimator: Any, space: SearchSpace) -> None:
    if not hasattr(estimator, "get_params"):
        return  # a factory checks its own parameters
    import difflib

    allowed = list(estimator.get_params(deep=True))
    lower = {a.lower(): a for a in allowed}
    for name in space.dimensions:
        if name not in allowed:
            close = difflib.get_close_matches(name.lower(), list(lower), n=1)
            hint = f" Did you mean {lower[close[0]]!r}?" if close else ""
            raise ConfigError(
                f"Unknown parameter {name!r} in the search space of "
                f"{type(estimator).__name__}.{hint}"
            )


def resolve_inner_protocol(
    spec: str | Protocol,
    dataset: EpochsDataset,
    *,
    group_by: Sequence[str] = ("subject",),
    params: Mapping[str, Any] | None = None,
    n_splits: int = 3,
    seed: int = 0,
) -> Protocol:
    """The inner protocol of a search on ``dataset`` (the outer training samples).

    Parameters
    ----------
    spec : str or Protocol
        ``"auto"``: :class:`~neurodl.evaluation.GroupedKFold` by the first column of
        ``group_by`` with at least two values in ``dataset`` (``min(n_splits, n_values)``
        folds); else a key of :data:`~neurodl.evaluation.PROTOCOLS` (built with ``params``
        and ``seed``) or a Protocol.
    dataset : EpochsDataset
        The samples the search splits.
    group_by : sequence of str, default=("subject",)
        Candidate group columns for ``"auto"``, in order (usually the outer protocol's groups).
    params : dict, optional
        Parameters of a named protocol.
    n_splits : int, default=3
        Most inner folds for ``"auto"``.
    seed : int, default=0
        Seed of the protocol's shuffling.

    Returns
    -------
    protocol : Protocol

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 20)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3", "4"], 10)})
    >>> ds = EpochsDataset(rng.standard_normal((40, 3)) + y[:, None], y=y, metadata=md)
    >>> proto = resolve_inner_protocol("auto", ds)
    >>> proto.name, len(list(proto.split(ds)))
    ('grouped-kfold', 3)
    """
    if isinstance(spec, Protocol):
        return spec
    if spec == "auto":
        for col in group_by:
            if col not in dataset.metadata.columns:
                continue
            n = len(np.unique(dataset.groups(col)))
            if n >= 2:
                return GroupedKFold(min(n_splits, n), group_by=col, seed=seed)
        raise ConfigError(
            f"inner_protocol 'auto' groups the inner folds by the outer protocol's groups "
            f"{list(group_by)}, but an outer training fold holds fewer than two of their values. "
            f"Set search.inner_protocol (e.g. 'grouped-kfold' with inner_protocol_params "
            f"{{group_by: run}}, or 'within-session')."
        )
    if spec not in PROTOCOLS:
        import difflib

        close = difflib.get_close_matches(str(spec), [*PROTOCOLS, "auto"], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Unknown inner_protocol {spec!r}.{hint} Allowed: 'auto', "
            f"{', '.join(repr(k) for k in PROTOCOLS)}."
        )
    kw = dict(params or {})
    if "seed" in inspect.signature(PROTOCOLS[spec].__init__).parameters:
        kw.setdefault("seed", seed)
    return get_protocol(spec, **kw)


def _inner_step(shared: tuple, config: dict[str, Any], step: int) -> float:
    """Score of one configuration on one inner fold (a step of :func:`run_trials`)."""
    estimator, X, y, setup, seed = shared
    train, val, _ = setup.splits[step]
    return float(_run_fold(_build(estimator, config), X, y, train, val, setup, seed)["value"])


def search_hyperparameters(
    estimator: Any,
    dataset: EpochsDataset,
    space: SearchSpace | Mapping[str, Any],
    *,
    inner_protocol: str | Protocol = "auto",
    group_by: Sequence[str] = ("subject",),
    protocol_params: Mapping[str, Any] | None = None,
    metric: str = "balanced_accuracy",
    n_trials: int | None = None,
    scheduler: str = "asha",
    reduction_factor: float = 2,
    grace_period: int = 1,
    seed: int = 0,
    n_jobs: int | None = 1,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
) -> SearchResult:
    """Score each configuration of ``space`` by grouped inner cross-validation on ``dataset``.

    Parameters
    ----------
    estimator : sklearn estimator or callable
        The estimator whose ``set_params`` takes the space's names, or a factory
        ``factory(params) -> estimator``.
    dataset : EpochsDataset
        The samples searched (in a nested search: one outer training fold).
    space : SearchSpace or mapping
        The search space (:class:`~neurodl.evaluation.search_space.SearchSpace`).
    inner_protocol, group_by, protocol_params
        See :func:`resolve_inner_protocol`; every inner split is checked by
        :func:`~neurodl.evaluation.check_no_leakage` against the inner protocol's groups.
    metric : str, default="balanced_accuracy"
        Inner metric (a key of :data:`~neurodl.evaluation.METRICS`).
    n_trials : int or None
        Draws per grid point (see :func:`~neurodl.evaluation.search_space.sample_configs`).
    scheduler : {"asha", "none"}, default="asha"
        Successive halving over the inner folds, or every trial on every fold.
    reduction_factor : float, default=2
        Fraction ``1 / reduction_factor`` of the trials kept at each rung.
    grace_period : int, default=1
        Inner folds every trial runs.
    seed : int, default=0
        Seed of the draws, the inner splits and the estimators.
    n_jobs : int or None, default=1
        Local backend: inner folds in a joblib pool when not 1.
    execution : ExecutionConfig, mapping, str or None
        ``backend: ray`` runs the trials with Ray Tune; None uses the settings in force.

    Returns
    -------
    result : SearchResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 30)
    >>> md = pd.DataFrame({"subject": np.repeat(["a", "b", "c"], 20)})
    >>> ds = EpochsDataset(rng.normal(size=(60, 2)) + y[:, None], y=y, metadata=md)
    >>> res = search_hyperparameters(
    ...     LogisticRegression(), ds, {"C": {"grid": [1e-6, 1.0]}}, scheduler="none")
    >>> res.best_params, res.inner_protocol["groups"]
    ({'C': 1.0}, ['subject'])
    """
    space = SearchSpace.from_mapping(space)
    _check_names(estimator, space)
    configs = sample_configs(space, n_trials, seed)
    proto = resolve_inner_protocol(
        inner_protocol, dataset, group_by=group_by, params=protocol_params, seed=seed
    )
    probe = _build(estimator, configs[0])
    setup = _setup(probe, dataset, proto, metric, seed, want_scores=False)
    m = setup.metric
    cfg = get_execution() if execution is None else ExecutionConfig.from_value(execution)
    records = run_trials(
        _inner_step,
        configs,
        len(setup.splits),
        shared=(estimator, dataset.X, np.asarray(dataset.y), setup, seed),
        mode="max" if m.greater_is_better else "min",
        scheduler=scheduler,  # type: ignore[arg-type]
        reduction_factor=reduction_factor,
        grace_period=grace_period,
        n_jobs=n_jobs,
        execution=cfg,
    )
    sign = 1.0 if m.greater_is_better else -1.0
    longest = max(r.n_steps for r in records)
    finished = [r for r in records if r.n_steps == longest and np.isfinite(r.score)]
    if not finished:
        raise ValueError(f"Every trial of the search scored NaN on the inner metric {m.name!r}.")
    best = min(finished, key=lambda r: (-sign * r.score, r.index))
    logger.info(
        "search: %d trials, %d stopped early, best %s = %.4f with %s",
        len(records),
        sum(r.stopped for r in records),
        m.name,
        best.score,
        best.config,
    )
    return SearchResult(
        trials=[
            {
                "index": r.index,
                "params": r.config,
                "score": r.score,
                "fold_scores": r.step_scores,
                "n_folds": r.n_steps,
                "stopped": r.stopped,
            }
            for r in records
        ],
        best_index=best.index,
        best_params=dict(best.config),
        best_score=best.score,
        metric=m.name,
        greater_is_better=m.greater_is_better,
        inner_protocol=proto.to_dict(),
        n_inner_splits=len(setup.splits),
        scheduler=scheduler,
        backend=cfg.backend,
        space=space.to_dict(),
        inner_splits=[(tr, va) for tr, va, _ in setup.splits],
    )


def _has(attr: str) -> Callable[[Any], bool]:
    def check(self: SearchCV) -> bool:
        target = getattr(self, "best_estimator_", None)
        if target is None:
            base = self.estimator
            target = base if hasattr(base, "fit") else base({})
        return hasattr(target, attr)

    return check


class SearchCV(BaseEstimator):
    """An estimator that tunes itself by a grouped inner search on its training samples.

    Cross-validated with :func:`~neurodl.evaluation.cross_validate`, each outer fold's ``fit``
    gets the outer training samples and their dataset rows (``sample_index``): the inner
    protocol splits those rows only (grouped by their ``metadata``), so the outer test fold
    never enters the search. The best configuration is refitted on all training samples.

    Parameters
    ----------
    estimator : sklearn estimator or callable
        See :func:`search_hyperparameters`.
    space : mapping or SearchSpace
        The search space.
    metadata : DataFrame or None
        One row per sample of the whole dataset (``sample_index`` selects the training rows);
        None: each sample its own group (``fit`` without ``sample_index``).
    info : dict or None
        The dataset's ``info`` (window length, for the overlap check).
    inner_protocol, group_by, protocol_params, metric, n_trials, scheduler, reduction_factor,
    grace_period, seed, n_jobs, execution
        See :func:`search_hyperparameters`.

    Attributes
    ----------
    search_ : SearchResult
    best_params_ : dict
    best_estimator_ : estimator
        Refitted on all training samples.
    inner_splits_ : list of (ndarray, ndarray)
        Inner ``(train, validation)`` splits as rows of ``metadata``.
    cv_fold_info_ : dict
        ``{"search": search_.to_dict()}``, kept by cross-validation per outer fold.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> SearchCV(LogisticRegression(), {"C": {"grid": [0.1, 1.0]}}).scheduler
    'asha'
    """

    def __init__(
        self,
        estimator: Any,
        space: Mapping[str, Any],
        *,
        metadata: pd.DataFrame | None = None,
        info: dict[str, Any] | None = None,
        inner_protocol: str | Protocol = "auto",
        group_by: Sequence[str] = ("subject",),
        protocol_params: Mapping[str, Any] | None = None,
        metric: str = "balanced_accuracy",
        n_trials: int | None = None,
        scheduler: str = "asha",
        reduction_factor: float = 2,
        grace_period: int = 1,
        seed: int = 0,
        n_jobs: int | None = 1,
        execution: ExecutionConfig | None = None,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.metadata = metadata
        self.info = info
        self.inner_protocol = inner_protocol
        self.group_by = group_by
        self.protocol_params = protocol_params
        self.metric = metric
        self.n_trials = n_trials
        self.scheduler = scheduler
        self.reduction_factor = reduction_factor
        self.grace_period = grace_period
        self.seed = seed
        self.n_jobs = n_jobs
        self.execution = execution

    def _dataset(self, X: Any, y: Any, sample_index: Any) -> tuple[EpochsDataset, np.ndarray]:
        n = len(X)
        if sample_index is None:
            if self.metadata is not None and len(self.metadata) != n:
                raise ValueError(
                    f"SearchCV.fit got {n} samples without sample_index, but metadata has "
                    f"{len(self.metadata)} rows; fit it through neurodl.evaluation."
                    f"cross_validate (which passes sample_index) or pass sample_index."
                )
            rows = np.arange(n)
        else:
            rows = np.asarray(sample_index, dtype=np.intp)
            if rows.shape != (n,):
                raise ValueError(f"sample_index must have shape ({n},) like X; got {rows.shape}.")
        md = None
        if self.metadata is not None:
            md = self.metadata.iloc[rows].reset_index(drop=True)
        ds = EpochsDataset(np.asarray(X), y=np.asarray(y), metadata=md, info=dict(self.info or {}))
        return ds, rows

    def fit(self, X: Any, y: Any, sample_index: Any = None) -> SearchCV:
        """Search on ``(X, y)`` by inner CV, then refit the best configuration on all of it.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...)
            Training samples.
        y : ndarray of shape (n_samples,)
            Their labels.
        sample_index : ndarray of int of shape (n_samples,) or None
            Rows of ``metadata`` of the samples (given by cross-validation).

        Returns
        -------
        self : SearchCV
        """
        ds, rows = self._dataset(X, y, sample_index)
        self.search_ = search_hyperparameters(
            self.estimator,
            ds,
            self.space,
            inner_protocol=self.inner_protocol,
            group_by=self.group_by,
            protocol_params=self.protocol_params,
            metric=self.metric,
            n_trials=self.n_trials,
            scheduler=self.scheduler,
            reduction_factor=self.reduction_factor,
            grace_period=self.grace_period,
            seed=self.seed,
            n_jobs=self.n_jobs,
            execution=self.execution,
        )
        self.best_params_ = dict(self.search_.best_params)
        self.inner_splits_ = [(rows[tr], rows[va]) for tr, va in self.search_.inner_splits]
        est = _seeded_clone(_build(self.estimator, self.best_params_), self.seed)
        self.best_estimator_ = est.fit(ds.X, ds.y)
        if hasattr(est, "classes_"):
            self.classes_ = est.classes_
        self.cv_fold_info_ = {"search": self.search_.to_dict()}
        return self

    def _fitted(self) -> Any:
        if not hasattr(self, "best_estimator_"):
            raise NotFittedError("This SearchCV is not fitted yet; call fit first.")
        return self.best_estimator_

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of the refitted best estimator, shape (n_samples,)."""
        return self._fitted().predict(X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the best estimator, shape (n_samples, n_classes)."""
        return self._fitted().predict_proba(X)

    @available_if(_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision values of the best estimator, shape (n_samples,) or (n_samples, n_classes)."""
        return self._fitted().decision_function(X)
