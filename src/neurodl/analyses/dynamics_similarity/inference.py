"""Side-by-side comparison of two systems with shuffle controls and bootstrap CIs.

:func:`compare_dynamics` runs any of :data:`METHODS` (CCA, Procrustes, DSA, RSA) on the same
pair of trajectory arrays and, per method:

* a shuffle null: ``'condition'`` permutes the conditions of ``Y`` (breaks the correspondence
  between the two systems' conditions) and ``'time'`` permutes each condition's time points of
  ``Y`` independently (keeps the state distribution, destroys the dynamics); the p-value is
  ``(1 + #null at least as good as observed) / (1 + n_shuffles)``;
* a percentile bootstrap CI over conditions (the same resampled conditions for both systems).

Each method says whether its score is a similarity (higher = more alike) or a distance and which
null suits it by default (time for DSA, conditions for the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from ._checks import as_trajectories, check_float, check_int
from .alignment import cca_similarity, procrustes_distance
from .dsa import dsa_distance

__all__ = [
    "METHODS",
    "NULL_KINDS",
    "DynamicsComparison",
    "MethodComparison",
    "MethodSpec",
    "bootstrap_conditions",
    "bootstrap_trials",
    "compare_dynamics",
    "rsa_similarity",
    "shuffle_null",
]

#: Shuffle nulls: permute conditions of Y, or time points of Y within each condition.
NULL_KINDS = ("condition", "time")


def rsa_similarity(
    X: Any, Y: Any, *, metric: str = "correlation", method: str = "spearman"
) -> float:
    """RSA between two trajectory sets: condition RDMs of the flattened trajectories, compared.

    Each condition's pattern is its whole trajectory (``n_times * n_units`` values); the RDMs
    come from :func:`neurodl.analyses.rsa.compute_rdm` and are compared with
    :func:`neurodl.analyses.rsa.compare_rdms` (``method``, default Spearman).

    Examples
    --------
    >>> from neurodl.analyses.dynamics_similarity import conjugate_pair
    >>> X, Y = conjugate_pair("rotation", n_conditions=4, n_times=20, n_units=3,
    ...                       shared_starts=True)  # Y = X M exactly
    >>> round(rsa_similarity(X, X), 3), bool(rsa_similarity(X, Y) > 0)
    (1.0, True)
    """
    from ..rsa import compare_rdms, compute_rdm

    x, y = as_trajectories(X, "X"), as_trajectories(Y, "Y")
    if x.shape[0] != y.shape[0] or x.shape[0] < 3:
        raise DataFormatError(
            "RSA needs the same number of conditions (at least 3) in 'X' and 'Y'; got "
            f"{x.shape[0]} and {y.shape[0]}."
        )
    rx = compute_rdm(x.reshape(x.shape[0], -1), metric=metric)
    ry = compute_rdm(y.reshape(y.shape[0], -1), metric=metric)
    return float(compare_rdms(rx, ry, method=method)[0, 0])


@dataclass(frozen=True)
class MethodSpec:
    """One comparison method: its function, direction and default null.

    Examples
    --------
    >>> spec = METHODS["dsa"]
    >>> spec.higher_is_similar, spec.default_null, spec.description
    (False, 'time', 'DSA angular distance (rad)')
    """

    func: Callable[..., float]
    higher_is_similar: bool
    default_null: Literal["condition", "time"]
    description: str


#: name -> method. Parameters of each go through ``compare_dynamics(params={name: {...}})``.
METHODS: dict[str, MethodSpec] = {
    "cca": MethodSpec(cca_similarity, True, "condition", "mean canonical correlation"),
    "procrustes": MethodSpec(
        procrustes_distance, False, "condition", "angular Procrustes distance (rad)"
    ),
    "dsa": MethodSpec(dsa_distance, False, "time", "DSA angular distance (rad)"),
    "rsa": MethodSpec(rsa_similarity, True, "condition", "RDM Spearman correlation"),
}


def _check_method(name: str) -> MethodSpec:
    if name not in METHODS:
        raise ConfigError(
            f"Invalid value for 'methods'. Allowed: {', '.join(METHODS)}; got {name!r}."
        )
    return METHODS[name]


def _shuffled(y: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "condition":
        return y[rng.permutation(y.shape[0])]
    order = np.argsort(rng.random(y.shape[:2]), axis=1)
    return np.take_along_axis(y, order[..., None], axis=1)


def shuffle_null(
    score: Callable[[np.ndarray, np.ndarray], float],
    X: Any,
    Y: Any,
    *,
    kind: Literal["condition", "time"] = "condition",
    n_shuffles: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """Scores of ``X`` against shuffled copies of ``Y``.

    Parameters
    ----------
    score : callable ``(X, Y) -> float``
    X, Y : array-like of shape (n_conditions, n_times, n_units) or (n_times, n_units)
    kind : {'condition', 'time'}
        See the module docstring. 'condition' needs at least 2 conditions, 'time' at least 2
        time points.
    n_shuffles : int, default=100
    seed : int, default=0

    Returns
    -------
    null : ndarray of shape (n_shuffles,)

    Examples
    --------
    >>> from neurodl.analyses.dynamics_similarity import conjugate_pair
    >>> X, Y = conjugate_pair("rotation", n_conditions=4, n_times=20, n_units=3,
    ...                       shared_starts=True)  # Y = X M exactly
    >>> from neurodl.analyses.dynamics_similarity import cca_similarity
    >>> null = shuffle_null(cca_similarity, X, Y, kind="condition", n_shuffles=10)
    >>> null.shape
    (10,)
    """
    if kind not in NULL_KINDS:
        raise ConfigError(
            f"Invalid value for 'null'. Allowed: {', '.join(NULL_KINDS)}; got {kind!r}."
        )
    n_shuffles = check_int(n_shuffles, "n_shuffles", 1)
    x, y = as_trajectories(X, "X"), as_trajectories(Y, "Y")
    axis = 0 if kind == "condition" else 1
    if y.shape[axis] < 2:
        what = "conditions" if kind == "condition" else "time points"
        raise DataFormatError(
            f"A {kind!r} shuffle needs at least 2 {what}; 'Y' has {y.shape[axis]}."
        )
    rng = np.random.default_rng(seed)
    return np.array([score(x, _shuffled(y, kind, rng)) for _ in range(n_shuffles)])


def bootstrap_conditions(
    score: Callable[[np.ndarray, np.ndarray], float],
    X: Any,
    Y: Any,
    *,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, np.ndarray]:
    """Percentile bootstrap CI of ``score(X, Y)`` over conditions (resampled jointly).

    Returns
    -------
    low, high : float
    scores : ndarray of shape (n_valid,)
        Bootstrap scores (resamples where the score failed, e.g. all one condition, are dropped).

    Examples
    --------
    >>> from neurodl.analyses.dynamics_similarity import conjugate_pair
    >>> X, Y = conjugate_pair("rotation", n_conditions=4, n_times=20, n_units=3,
    ...                       shared_starts=True)  # Y = X M exactly
    >>> from neurodl.analyses.dynamics_similarity import cca_similarity
    >>> low, high, scores = bootstrap_conditions(cca_similarity, X, Y, n_boot=20)
    >>> bool(low <= high), scores.ndim
    (True, 1)
    """
    n_boot = check_int(n_boot, "n_boot", 1)
    ci = check_float(ci, "ci", 0.0, 1.0)
    x, y = as_trajectories(X, "X"), as_trajectories(Y, "Y")
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise DataFormatError(
            "A bootstrap over conditions needs the same number of conditions (at least 2) in "
            f"'X' and 'Y'; got {x.shape[0]} and {y.shape[0]}."
        )
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(n_boot):
        idx = rng.integers(0, x.shape[0], x.shape[0])
        try:
            scores.append(score(x[idx], y[idx]))
        except (DataFormatError, ConfigError, np.linalg.LinAlgError):
            continue
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan"), values
    tail = (1 - ci) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)), values


def _condition_index(labels: Any, name: str) -> list[np.ndarray]:
    lab = np.asarray(labels)
    values = sorted(dict.fromkeys(lab.tolist()))
    groups = [np.flatnonzero(lab == v) for v in values]
    if len(groups) < 2:
        raise DataFormatError(f"{name!r} must name at least 2 conditions; got {len(groups)}.")
    return groups


def bootstrap_trials(
    score: Callable[[np.ndarray, np.ndarray], float],
    trials_x: Any,
    conditions_x: Any,
    trials_y: Any,
    conditions_y: Any,
    *,
    prepare: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, np.ndarray]:
    """Percentile bootstrap CI of a score of condition means, resampling trials within conditions.

    Each resample draws, for every condition of each system, as many trials as it has (with
    replacement), averages them per condition (conditions in sorted label order, matched by
    position between the systems) and scores the two mean arrays.

    Parameters
    ----------
    score : callable ``(X, Y) -> float``
        Called on condition means ``(n_conditions, n_times, n_units)``.
    trials_x, trials_y : array-like of shape (n_trials, n_times, n_units) or (n_trials, n_units)
        Single trials of each system (2-D: one time point).
    conditions_x, conditions_y : array-like of shape (n_trials,)
        Condition label of each trial; both systems need the same number of conditions.
    prepare : callable ``(X, Y) -> (X, Y)``, optional
        Applied to the means before scoring (e.g. time-averaging, z-scoring).
    n_boot, ci, seed
        See :func:`bootstrap_conditions`.

    Returns
    -------
    low, high : float
    scores : ndarray of shape (n_valid,)

    Examples
    --------
    >>> from neurodl.analyses.dynamics_similarity import cca_similarity
    >>> rng = np.random.default_rng(0)
    >>> trials = rng.standard_normal((12, 10, 3))  # 12 trials, 10 time points, 3 units
    >>> conds = np.repeat(["a", "b", "c"], 4)
    >>> low, high, scores = bootstrap_trials(cca_similarity, trials, conds, trials @ np.eye(3),
    ...                                      conds, n_boot=10)
    >>> bool(0 <= low <= high <= 1), scores.shape
    (True, (10,))
    """
    n_boot = check_int(n_boot, "n_boot", 1)
    ci = check_float(ci, "ci", 0.0, 1.0)
    tx, ty = np.asarray(trials_x, dtype=float), np.asarray(trials_y, dtype=float)
    tx = tx[:, None] if tx.ndim == 2 else tx
    ty = ty[:, None] if ty.ndim == 2 else ty
    gx, gy = (
        _condition_index(conditions_x, "conditions_x"),
        _condition_index(conditions_y, "conditions_y"),
    )
    if (
        len(gx) != len(gy)
        or tx.shape[0] != len(np.asarray(conditions_x))
        or ty.shape[0] != len(np.asarray(conditions_y))
    ):
        raise DataFormatError(
            f"Trials and condition labels must agree, with the same number of conditions on both "
            f"sides; got {tx.shape[0]} trials / {len(gx)} conditions and {ty.shape[0]} trials / "
            f"{len(gy)} conditions."
        )
    rng = np.random.default_rng(seed)

    def means(trials: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
        return np.stack([trials[rng.choice(g, g.size)].mean(axis=0) for g in groups])

    scores = []
    for _ in range(n_boot):
        x, y = means(tx, gx), means(ty, gy)
        if prepare is not None:
            x, y = prepare(x, y)
        try:
            scores.append(score(x, y))
        except (DataFormatError, ConfigError, np.linalg.LinAlgError):
            continue
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan"), values
    tail = (1 - ci) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail)), values


@dataclass
class MethodComparison:
    """One method's score, shuffle null and CI (see :func:`compare_dynamics`).

    Examples
    --------
    >>> from neurodl.analyses.dynamics_similarity import conjugate_pair
    >>> X, Y = conjugate_pair("rotation", n_conditions=4, n_times=20, n_units=3,
    ...                       shared_starts=True)  # Y = X M exactly
    >>> m = compare_dynamics(X, Y, methods=["cca"], n_shuffles=9, n_boot=5).methods["cca"]
    >>> m.method, m.higher_is_similar, len(m.null_scores), m.null
    ('cca', True, 9, 'condition')
    """

    method: str
    score: float
    higher_is_similar: bool
    null: str | None = None
    null_scores: list[float] = field(default_factory=list)
    p_value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return asdict(self)


@dataclass
class DynamicsComparison:
    """Every method's :class:`MethodComparison` for one pair of systems.

    Examples
    --------
    >>> from neurodl.analyses.dynamics_similarity import conjugate_pair
    >>> X, Y = conjugate_pair("rotation", n_conditions=4, n_times=20, n_units=3,
    ...                       shared_starts=True)  # Y = X M exactly
    >>> res = compare_dynamics(X, Y, methods=["cca", "rsa"], n_shuffles=5, n_boot=5)
    >>> sorted(res.methods), res.shape_x
    (['cca', 'rsa'], (4, 20, 3))
    """

    methods: dict[str, MethodComparison]
    shape_x: tuple[int, ...]
    shape_y: tuple[int, ...]

    def scores(self) -> dict[str, float]:
        """Method -> score."""
        return {k: v.score for k, v in self.methods.items()}


def _p_value(observed: float, null: np.ndarray, higher_is_similar: bool) -> float:
    better = null >= observed if higher_is_similar else null <= observed
    return float((1 + np.sum(better)) / (1 + null.size))


def compare_dynamics(
    X: Any,
    Y: Any,
    *,
    methods: Sequence[str] = ("cca", "procrustes", "dsa", "rsa"),
    params: Mapping[str, Mapping[str, Any]] | None = None,
    null: Mapping[str, str] | None = None,
    n_shuffles: int = 100,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> DynamicsComparison:
    """Compare two systems with several methods, each with a shuffle null and a bootstrap CI.

    Parameters
    ----------
    X, Y : array-like of shape (n_conditions, n_times, n_units) or (n_times, n_units)
        Same conditions and time points (DSA alone allows them to differ; units may differ).
    methods : sequence of str
        Keys of :data:`METHODS`.
    params : mapping, optional
        Per method, keyword arguments of its function (e.g. ``{"dsa": {"n_delays": 3}}``).
    null : mapping, optional
        Per method, ``'condition'`` or ``'time'`` (default: the method's own).
    n_shuffles, n_boot : int
        0 skips the null / the CI.
    ci : float, default=0.95
    seed : int, default=0

    Returns
    -------
    comparison : DynamicsComparison

    Examples
    --------
    >>> from neurodl.analyses.dynamics_similarity import conjugate_pair
    >>> X, Y = conjugate_pair("rotation", n_conditions=4, n_times=20, n_units=3,
    ...                       shared_starts=True)  # Y = X M exactly
    >>> res = compare_dynamics(X, Y, methods=["cca", "procrustes"], n_shuffles=9, n_boot=5)
    >>> cca = res.methods["cca"]
    >>> bool(cca.score > 0.9), cca.p_value
    (True, 0.1)
    """
    import time

    params, null = dict(params or {}), dict(null or {})
    for key in [*params, *null]:
        _check_method(key)
    x, y = as_trajectories(X, "X"), as_trajectories(Y, "Y")
    n_shuffles = check_int(n_shuffles, "n_shuffles", 0)
    n_boot = check_int(n_boot, "n_boot", 0)
    out: dict[str, MethodComparison] = {}
    for name in methods:
        spec = _check_method(name)
        kwargs = dict(params.get(name, {}))

        def score(a: np.ndarray, b: np.ndarray, f: Any = spec.func, kw: Any = kwargs) -> float:
            return float(f(a, b, **kw))

        t0 = time.perf_counter()
        res = MethodComparison(name, score(x, y), spec.higher_is_similar, params=kwargs)
        if n_shuffles:
            res.null = null.get(name, spec.default_null)
            values = shuffle_null(score, x, y, kind=res.null, n_shuffles=n_shuffles, seed=seed)
            res.null_scores = [float(v) for v in values]
            res.p_value = _p_value(res.score, values, spec.higher_is_similar)
        if n_boot:
            res.ci_low, res.ci_high, _ = bootstrap_conditions(
                score, x, y, n_boot=n_boot, ci=ci, seed=seed
            )
        res.time_s = time.perf_counter() - t0
        out[name] = res
    return DynamicsComparison(out, tuple(x.shape), tuple(y.shape))
