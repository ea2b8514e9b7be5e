"""Statistics on evaluation results: permutation tests and confidence intervals."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from .._logging import logger
from ..data import EpochsDataset
from ..exceptions import ConfigError
from ..execution import ExecutionConfig, run_units
from ._json import to_jsonable
from .crossval import _aggregate, _run_fold, _run_folds, _Setup, _setup
from .metrics import Metric, get_metric
from .protocols import Protocol

__all__ = [
    "BOOTSTRAP_METHODS",
    "ConfidenceInterval",
    "PermutationResult",
    "bootstrap_ci",
    "fold_ci",
    "permutation_labels",
    "permutation_test",
]


# ---------------------------------------------------------------------- permutation test
@dataclass
class PermutationResult:
    """Outcome of :func:`permutation_test`.

    Attributes
    ----------
    score : float
        The cross-validated score with the true labels.
    null_distribution : ndarray of shape (n_permutations,)
        Scores with permuted labels.
    p_value : float
        ``(1 + #{null >= score}) / (1 + n_permutations)`` (``<=`` for lower-is-better metrics).
    metric : str
        Name of the metric.
    within : str or None
        Metadata column(s) inside which labels were permuted.
    unit : str or None
        Metadata column whose groups carried one label each and were permuted as wholes
        (None: samples were permuted).
    method : str
        ``"refit"``: the model was refitted on every permutation
        (:func:`permutation_test`); ``"held_out"``: the trained folds' test labels were
        permuted (:func:`~neurodl.evaluation.held_out_permutation_test`).

    Examples
    --------
    >>> from sklearn.neighbors import NearestCentroid
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> ds = EpochsDataset(rng.normal(size=(40, 2)) + 2 * y[:, None], y=y)
    >>> res = permutation_test(NearestCentroid(), ds, "within-session", n_permutations=19)
    >>> res.null_distribution.shape, res.metric, res.method
    ((19,), 'balanced_accuracy', 'refit')
    """

    score: float
    null_distribution: np.ndarray = field(repr=False)
    p_value: float
    metric: str = ""
    within: str | None = None
    unit: str | None = None
    method: str = "refit"

    @property
    def n_permutations(self) -> int:
        """Number of permutations."""
        return len(self.null_distribution)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {k: to_jsonable(v) for k, v in self.__dict__.items()}


def _constant_within(y: np.ndarray, groups: np.ndarray) -> bool:
    _, inv = np.unique(groups, return_inverse=True)
    _, y_codes = np.unique(y, return_inverse=True, axis=0 if y.ndim > 1 else None)
    y_codes = y_codes.reshape(-1)
    first = np.full(inv.max() + 1, -1)
    first[inv[::-1]] = y_codes[::-1]
    return bool(np.all(first[inv] == y_codes))


def _resolve_unit(dataset: EpochsDataset, y: np.ndarray, unit: str | None) -> str | None:
    if unit is None:
        return None
    if unit == "auto":
        seg = dataset.groups("segment")
        if len(np.unique(seg)) < len(seg) and _constant_within(y, seg):
            return "segment"
        return None
    groups = dataset.groups(unit)
    if not _constant_within(y, groups):
        raise ValueError(
            f"Invalid value for 'unit': labels are not constant within each {unit!r} group, so "
            f"{unit!r} groups cannot be permuted as wholes; use unit=None or 'auto'."
        )
    return unit


def permutation_labels(
    y: np.ndarray, blocks: np.ndarray | None, units: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """Return ``y`` permuted within ``blocks``, moving whole ``units`` when given.

    Parameters
    ----------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Labels to permute.
    blocks : ndarray of shape (n_samples,) or None
        Exchangeability blocks: labels only move inside a block (None: one block).
    units : ndarray of shape (n_samples,) or None
        Groups carrying one label each (e.g. segments); their labels are shuffled among the
        units of the block. None permutes samples.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    y_perm : ndarray, same shape as ``y``

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1, 0, 1])
    >>> blocks = np.array(["a", "a", "a", "a", "b", "b"])
    >>> yp = permutation_labels(y, blocks, None, np.random.default_rng(0))
    >>> [sorted(yp[blocks == b].tolist()) for b in "ab"]  # each block keeps its labels
    [[0, 0, 1, 1], [0, 1]]
    """
    y = np.asarray(y)
    n = len(y)
    block_ids = (
        np.zeros(n, dtype=np.intp)
        if blocks is None
        else np.unique(blocks, return_inverse=True)[1].reshape(-1)
    )
    out = y.copy()
    for b in np.unique(block_ids):
        idx = np.flatnonzero(block_ids == b)
        if units is None:
            out[idx] = y[rng.permutation(idx)]
            continue
        _, first, inv = np.unique(units[idx], return_index=True, return_inverse=True)
        unit_labels = y[idx[first]]
        out[idx] = unit_labels[rng.permutation(len(first))][inv.reshape(-1)]
    return out


def _null_score(
    estimator: Any, X: np.ndarray, y_perm: np.ndarray, setup: _Setup, seed: int
) -> float:
    values = np.array(
        [
            _run_fold(estimator, X, y_perm, tr, te, setup, seed)["value"]
            for tr, te, _ in setup.splits
        ],
        dtype=float,
    )
    blocks = [b for _, _, b in setup.splits]
    return _aggregate(values, blocks, setup.protocol.aggregate_by_block)[0]


def _one_permutation(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    blocks: np.ndarray | None,
    units: np.ndarray | None,
    setup: _Setup,
    seed: int,
    child: np.random.SeedSequence,
) -> float:
    y_perm = permutation_labels(y, blocks, units, np.random.default_rng(child))
    return _null_score(estimator, X, y_perm, setup, seed)


def _permutation_unit(shared: tuple, child: np.random.SeedSequence) -> float:
    """One permutation as an independent unit of :func:`~neurodl.execution.run_units`."""
    return _one_permutation(*shared, child)


def _check_n_permutations(n_permutations: Any) -> None:
    """Refuse an ``n_permutations`` that is not an integer >= 1 (bool included)."""
    if (
        isinstance(n_permutations, bool)
        or not isinstance(n_permutations, int | np.integer)
        or n_permutations < 1
    ):
        raise ConfigError(
            f"Invalid value for 'n_permutations'. Allowed: an integer >= 1; got {n_permutations!r}."
        )


def permutation_test(
    estimator: Any,
    dataset: EpochsDataset,
    protocol: str | Protocol,
    metric: str | Metric = "balanced_accuracy",
    *,
    n_permutations: int = 200,
    seed: int = 0,
    within: str | Sequence[str] | None = "protocol",
    unit: str | None = "auto",
    n_jobs: int | None = 1,
    progress: Callable[[int, int], Any] | None = None,
    execution: ExecutionConfig | Mapping[str, Any] | str | None = None,
) -> PermutationResult:
    """Test whether a cross-validated score beats chance by permuting labels.

    The splits are computed and leakage-checked once and re-used for every permutation (each
    permutation refits the estimator on the same folds). Labels are permuted *within* the blocks
    given by ``within`` (e.g. within each subject, so that differences between subjects cannot
    create a spurious effect) and, when each group of ``unit`` carries a single label (e.g.
    windows cut from one labelled segment), whole groups are permuted so that the null keeps the
    dependence between windows of a segment.

    Parameters
    ----------
    estimator : sklearn-compatible estimator
        Cloned and fitted per fold and permutation; use something fast.
    dataset : EpochsDataset
        Samples with labels ``y``.
    protocol : str or Protocol
        See :func:`~neurodl.evaluation.cross_validate`.
    metric : str or Metric, default="balanced_accuracy"
        A key of :data:`~neurodl.evaluation.METRICS`.
    n_permutations : int, default=200
        Number of label permutations.
    seed : int, default=0
        Seed of the permutations (results do not depend on ``n_jobs``), the protocol and the
        estimators.
    within : str or sequence of str or None, default="protocol"
        Metadata column(s) defining exchangeability blocks; ``"protocol"`` uses the protocol's
        own :attr:`~neurodl.evaluation.Protocol.permute_within` (e.g. subject x session for
        ``within-session``, subject otherwise); None permutes across the dataset.
    unit : str or None, default="auto"
        Metadata column whose groups are permuted as wholes. ``"auto"`` uses ``segment`` when the
        labels are constant within every segment and some segment has several samples; None
        permutes individual samples.
    n_jobs : int or None, default=1
        Local backend: permutations run in parallel with joblib when not 1.
    progress : callable or None
        Called as ``progress(n_done, n_permutations)``.
    execution : ExecutionConfig, mapping, str or None
        Where the permutations run (each is one unit: all its folds); None uses
        :func:`neurodl.execution.get_execution`. The null distribution does not depend on it.

    Returns
    -------
    result : PermutationResult

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import NearestCentroid
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> ds = EpochsDataset(rng.normal(size=(40, 2)) + 2 * y[:, None], y=y)
    >>> res = permutation_test(NearestCentroid(), ds, "within-session", n_permutations=19)
    >>> round(res.p_value, 2)
    0.05
    """
    _check_n_permutations(n_permutations)
    setup = _setup(estimator, dataset, protocol, metric, seed, want_scores=False)
    if within == "protocol":
        within = list(setup.protocol.permute_within) or None
    X, y = dataset.X, np.asarray(dataset.y)
    blocks = (
        None
        if within is None
        else dataset.groups(within if isinstance(within, str) else list(within))
    )
    unit_col = _resolve_unit(dataset, y, unit)
    units = None if unit_col is None else dataset.groups(unit_col)
    if units is not None and blocks is not None:
        units = np.char.add(np.char.add(blocks.astype(str), "|"), units.astype(str))

    folds = _run_folds(estimator, X, y, setup, seed, 1, None, execution)
    values = np.array([f["value"] for f in folds], dtype=float)
    observed = _aggregate(
        values, [b for _, _, b in setup.splits], setup.protocol.aggregate_by_block
    )[0]

    children = np.random.SeedSequence(seed).spawn(int(n_permutations))
    logger.info("permutation_test: %d permutations x %d folds", n_permutations, len(setup.splits))
    null = run_units(
        _permutation_unit,
        children,
        shared=(estimator, X, y, blocks, units, setup, seed),
        n_jobs=n_jobs,
        execution=execution,
        progress=progress,
    )
    null_arr = np.asarray(null, dtype=float)
    if setup.metric.greater_is_better:
        n_extreme = int(np.sum(~(null_arr < observed)))  # NaN counts as extreme (conservative)
    else:
        n_extreme = int(np.sum(~(null_arr > observed)))
    p = (1 + n_extreme) / (1 + len(null_arr))
    within_name = (
        None if within is None else (within if isinstance(within, str) else "/".join(within))
    )
    return PermutationResult(observed, null_arr, p, setup.metric.name, within_name, unit_col)


# ---------------------------------------------------------------------- confidence intervals
@dataclass
class ConfidenceInterval:
    """A point estimate with a confidence interval.

    Attributes
    ----------
    estimate : float
        The statistic on the original data.
    low, high : float
        Interval bounds.
    ci : float
        Confidence level.
    method : str
        How the interval was computed.
    distribution : ndarray or None
        The bootstrap distribution (bootstrap methods only).

    Examples
    --------
    >>> res = bootstrap_ci(np.random.default_rng(0).normal(1.0, 1.0, 200), n_boot=500)
    >>> res.low < res.estimate < res.high, res.ci, res.distribution.shape
    (True, 0.95, (500,))
    """

    estimate: float
    low: float
    high: float
    ci: float
    method: str
    distribution: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (without the bootstrap distribution)."""
        return {k: to_jsonable(v) for k, v in self.__dict__.items() if k != "distribution"}


#: Bootstrap interval methods: our name -> :func:`scipy.stats.bootstrap` name.
BOOTSTRAP_METHODS = {"percentile": "percentile", "basic": "basic", "bca": "BCa"}


def _check_ci(ci: Any) -> float:
    if isinstance(ci, bool) or not isinstance(ci, float | int) or not 0 < ci < 1:
        raise ConfigError(f"Invalid value for 'ci'. Allowed: a number in (0, 1); got {ci!r}.")
    return float(ci)


def _scipy_bootstrap(
    statistic: Callable[..., Any],
    n: int,
    *,
    vectorized: bool,
    n_boot: int,
    ci: float,
    method: str,
    seed: int,
) -> Any:
    kwargs: dict[str, Any] = {}
    params = inspect.signature(sps.bootstrap).parameters
    kwargs["rng" if "rng" in params else "random_state"] = np.random.default_rng(seed)

    def stat(idx: np.ndarray, axis: int = -1) -> Any:  # scipy passes axis=-1 when vectorized
        return statistic(idx)

    return sps.bootstrap(
        (np.arange(n),),
        stat,
        vectorized=vectorized,
        n_resamples=n_boot,
        confidence_level=ci,
        method=method,
        batch=max(1, int(2_000_000 // max(n, 1))),
        **kwargs,
    )


def bootstrap_ci(
    data: Any,
    metric: str | Metric | None = None,
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    groups: Any = None,
    seed: int = 0,
    method: str = "percentile",
) -> ConfidenceInterval:
    """Bootstrap confidence interval of a mean, or of a metric on test predictions.

    Resamples samples (or whole ``groups``, e.g. subjects or folds: a cluster bootstrap) with
    replacement, via :func:`scipy.stats.bootstrap`. Without groups, metrics that have a batched
    form (accuracy, balanced accuracy, r2, pearson_r) and means are computed for many resamples at
    once.

    Parameters
    ----------
    data : array-like of shape (n,) or tuple (y_true, y_pred)
        Values whose mean is bootstrapped (``metric=None``), or true labels and predictions
        (class scores for ``roc_auc``) scored with ``metric``.
    metric : str or Metric or None, default=None
        A key of :data:`~neurodl.evaluation.METRICS`; None for the mean of ``data``.
    n_boot : int, default=1000
        Number of bootstrap resamples.
    ci : float, default=0.95
        Confidence level.
    groups : array-like of shape (n,) or None
        Resample these groups as wholes instead of samples.
    seed : int, default=0
        Seed of the resampling.
    method : {"percentile", "basic", "bca"}, default="percentile"
        Interval method (``"bca"``: bias-corrected and accelerated).

    Returns
    -------
    interval : ConfidenceInterval

    Examples
    --------
    >>> import numpy as np
    >>> res = bootstrap_ci(np.random.default_rng(0).normal(1.0, 1.0, 200))
    >>> bool(res.low < 1.0 < res.high)
    True
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise ConfigError(f"Invalid value for 'n_boot'. Allowed: an integer >= 2; got {n_boot!r}.")
    ci = _check_ci(ci)
    if method not in BOOTSTRAP_METHODS:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {', '.join(repr(k) for k in BOOTSTRAP_METHODS)}; "
            f"got {method!r}."
        )
    if metric is None:
        if isinstance(data, tuple):
            raise ValueError(
                "bootstrap_ci got a (y_true, y_pred) tuple but no 'metric'; pass "
                "metric=... or a 1-D array of values."
            )
        values = np.asarray(data, dtype=float)
        if values.ndim != 1 or len(values) < 2:
            raise ValueError(
                f"bootstrap_ci needs a 1-D array of at least 2 values; got shape {values.shape}."
            )
        n = len(values)

        def full(idx: np.ndarray) -> Any:
            return values[idx].mean(axis=-1)

        batched: Callable[[np.ndarray], Any] | None = full  # the mean is vectorised already
    else:
        m = get_metric(metric)
        if not (isinstance(data, tuple | list) and len(data) == 2):
            raise ValueError(
                f"With metric={m.name!r}, 'data' must be a tuple (y_true, y_pred); "
                f"got {type(data).__name__}."
            )
        y_true, y_pred = np.asarray(data[0]), np.asarray(data[1])
        n = len(y_true)
        if len(y_pred) != n or n < 2:
            raise ValueError(
                f"y_true and y_pred must have the same length >= 2; got {n} and {len(y_pred)}."
            )
        labels = np.unique(y_true) if (m.needs_proba and y_pred.ndim == 2) else None

        def full(idx: np.ndarray) -> Any:  # type: ignore[misc]
            return m(y_true[idx], y_pred[idx], labels=labels)

        batch = m.batch
        batched = None
        if batch is not None and y_true.ndim == 1 and y_pred.ndim == 1:
            yt_b = y_true.astype(float) if m.task == "regression" else y_true
            yp_b = y_pred.astype(float) if m.task == "regression" else y_pred

            def _batched(idx: np.ndarray) -> Any:
                return batch(yt_b[idx], yp_b[idx])

            batched = _batched

    estimate = float(full(np.arange(n)))
    scipy_method = BOOTSTRAP_METHODS[method]
    if groups is None:
        vectorized = batched is not None
        res = _scipy_bootstrap(
            batched if vectorized else full,
            n,
            vectorized=vectorized,
            n_boot=int(n_boot),
            ci=ci,
            method=scipy_method,
            seed=seed,
        )
    else:
        g = np.asarray(groups)
        if g.shape != (n,):
            raise ValueError(f"'groups' must have shape ({n},); got {g.shape}.")
        uniq, inv = np.unique(g, return_inverse=True)
        if len(uniq) < 2:
            raise ValueError(f"bootstrap_ci with groups needs at least 2 groups; got {len(uniq)}.")
        members = [np.flatnonzero(inv == k) for k in range(len(uniq))]

        def by_group(gidx: np.ndarray) -> Any:
            return full(np.concatenate([members[k] for k in gidx]))

        res = _scipy_bootstrap(
            by_group,
            len(uniq),
            vectorized=False,
            n_boot=int(n_boot),
            ci=ci,
            method=scipy_method,
            seed=seed,
        )
    low, high = res.confidence_interval
    return ConfidenceInterval(
        estimate,
        float(low),
        float(high),
        ci,
        f"bootstrap-{method}",
        np.asarray(res.bootstrap_distribution),
    )


def fold_ci(
    fold_scores: Any, *, ci: float = 0.95, test_train_ratio: float | None = None
) -> ConfidenceInterval:
    """Student-t confidence interval of the mean fold score (approximate).

    Folds share training data, so their scores are not independent and this interval is usually
    too narrow. ``test_train_ratio`` (n_test / n_train) applies the Nadeau & Bengio (2003)
    correction, inflating the variance of the mean from ``s^2 / k`` to ``s^2 (1/k + n_test /
    n_train)``.

    Parameters
    ----------
    fold_scores : array-like of shape (n_folds,)
        One score per fold (NaN values are dropped).
    ci : float, default=0.95
        Confidence level.
    test_train_ratio : float or None
        Ratio of test to training set sizes for the corrected interval.

    Returns
    -------
    interval : ConfidenceInterval

    Examples
    --------
    >>> res = fold_ci([0.7, 0.8, 0.75, 0.85, 0.8])
    >>> round(res.estimate, 2), bool(res.low < 0.78 < res.high)
    (0.78, True)
    """
    ci = _check_ci(ci)
    scores = np.asarray(fold_scores, dtype=float).reshape(-1)
    scores = scores[np.isfinite(scores)]
    if len(scores) < 2:
        raise ValueError(f"fold_ci needs at least 2 finite fold scores; got {len(scores)}.")
    if test_train_ratio is not None and not test_train_ratio >= 0:
        raise ConfigError(
            f"Invalid value for 'test_train_ratio'. Allowed: a number >= 0; got "
            f"{test_train_ratio!r}."
        )
    k = len(scores)
    mean = float(scores.mean())
    factor = 1.0 / k + (test_train_ratio or 0.0)
    se = float(np.sqrt(scores.var(ddof=1) * factor))
    half = float(sps.t.ppf(0.5 + ci / 2, k - 1)) * se
    method = "t" if test_train_ratio is None else "t-corrected"
    return ConfidenceInterval(mean, mean - half, mean + half, ci, method)
