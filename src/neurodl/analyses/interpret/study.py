"""Attribution methods scored against a planted truth, with their sanity checks.

:func:`attribution_study` fits a network and a linear model on the training folds of a
simulated dataset with known sources (:func:`neurodl.data.attribution_sim.simulate_attribution_eeg`),
computes every method's map on the held-out samples, scores the maps against the truth
(:func:`~neurodl.analyses.interpret.truth.score_map`), runs the model- and label-randomisation
checks (:mod:`~neurodl.analyses.interpret.sanity`) on the first fold's models and measures the
maps' stability across folds and seeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from .gradients import (
    deeplift,
    feature_ablation,
    gradient_x_input,
    integrated_gradients,
    occlusion,
    saliency,
)
from .linear import linear_gradient_x_input, linear_patterns
from .sanity import (
    SANITY_THRESHOLD,
    SanityCheck,
    fit_on_permuted_labels,
    label_randomisation,
    map_stability,
    model_randomisation,
    sanity_verdict,
)
from .truth import score_map

__all__ = [
    "LINEAR_METHODS",
    "NETWORK_METHODS",
    "AttributionStudy",
    "MethodResult",
    "attribution_study",
]

#: Per-sample network methods of the study (the key is the method's name in reports).
NETWORK_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "integrated_gradients": integrated_gradients,
    "deeplift": deeplift,
    "gradient_x_input": gradient_x_input,
    "saliency": saliency,
    "occlusion": occlusion,
    "feature_ablation": feature_ablation,
}


def _linear_filter(est: Any, X: np.ndarray) -> np.ndarray:
    return linear_patterns(est, X).filters[0]


def _linear_pattern(est: Any, X: np.ndarray) -> np.ndarray:
    return linear_patterns(est, X).patterns[0]


def _linear_gxi(est: Any, X: np.ndarray) -> np.ndarray:
    return np.abs(linear_gradient_x_input(est, X)).mean(axis=0)


#: Linear-model maps: the weights, per-sample ``w * x`` and the Haufe activation pattern.
LINEAR_METHODS: dict[str, Callable[[Any, np.ndarray], np.ndarray]] = {
    "linear_filter": _linear_filter,
    "linear_gradient_x_input": _linear_gxi,
    "linear_pattern": _linear_pattern,
}


@dataclass
class MethodResult:
    """One method's map, its scores against the truth, its checks and its stability.

    Attributes
    ----------
    method : str
    model : str
        ``network`` or ``linear``.
    map : ndarray of shape (n_chans, n_times)
        Absolute map pooled over the held-out folds.
    scores : dict
        :func:`~neurodl.analyses.interpret.truth.score_map` of ``map``.
    fold_maps : list of ndarray of shape (n_chans, n_times)
    stability_folds : float or None
        Mean pairwise rank correlation of the fold maps.
    stability_seeds : float or None
        Same over networks refitted with other seeds on the first fold (None for linear).
    checks : list of SanityCheck
    verdict : str
        ``pass``, ``fail`` or ``undefined`` (:func:`~.sanity.sanity_verdict`).
    time_s : float
        Seconds to compute the held-out maps (all folds).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from neurodl.data.attribution_sim import simulate_attribution_eeg
    >>> from neurodl.estimators import NeuralClassifier
    >>> ds = simulate_attribution_eeg(n_trials=60, n_channels=4, n_sources=1, n_suppressors=1)
    >>> net = NeuralClassifier("linear", max_epochs=3, validation_fraction=0.0, random_state=0)
    >>> linear = make_pipeline(FunctionTransformer(lambda Z: Z.reshape(len(Z), -1)),
    ...                        LogisticRegression())
    >>> study = attribution_study(ds, net, linear, network_methods=["gradient_x_input"],
    ...                           linear_methods=["linear_pattern"], n_splits=2, n_seeds=1,
    ...                           checks=False)
    >>> m = study.methods[0]
    >>> m.map.shape, len(m.fold_maps), sorted(m.scores)[:2]
    ((4, 64), 2, ['mass_sources', 'mass_suppressors'])
    """

    method: str
    model: str
    map: np.ndarray
    scores: dict[str, float | None]
    fold_maps: list[np.ndarray]
    stability_folds: float | None
    stability_seeds: float | None
    checks: list[SanityCheck] = field(default_factory=list)
    verdict: str = "undefined"
    time_s: float = 0.0


@dataclass
class AttributionStudy:
    """Result of :func:`attribution_study`.

    Attributes
    ----------
    methods : list of MethodResult
    truth : dict
        The planted ground truth.
    fold_scores : dict of str to list of float
        Held-out balanced accuracy per fold of ``network`` and ``linear``.
    n_splits, n_explain, n_check_samples : int
    threshold : float

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from neurodl.data.attribution_sim import simulate_attribution_eeg
    >>> from neurodl.estimators import NeuralClassifier
    >>> ds = simulate_attribution_eeg(n_trials=60, n_channels=4, n_sources=1, n_suppressors=1)
    >>> net = NeuralClassifier("linear", max_epochs=3, validation_fraction=0.0, random_state=0)
    >>> linear = make_pipeline(FunctionTransformer(lambda Z: Z.reshape(len(Z), -1)),
    ...                        LogisticRegression())
    >>> study = attribution_study(ds, net, linear, network_methods=["gradient_x_input"],
    ...                           linear_methods=["linear_pattern"], n_splits=2, n_seeds=1,
    ...                           checks=False)
    >>> [(m.method, m.model) for m in study.methods], study.n_splits
    ([('gradient_x_input', 'network'), ('linear_pattern', 'linear')], 2)
    """

    methods: list[MethodResult]
    truth: dict[str, Any]
    fold_scores: dict[str, list[float]]
    n_splits: int
    n_explain: int
    n_check_samples: int
    threshold: float


def _network_explainer(method: str, X: np.ndarray, y: np.ndarray) -> Callable[[Any], np.ndarray]:
    fn = NETWORK_METHODS[method]

    def explain(est: Any) -> np.ndarray:
        return np.abs(fn(est, X, target="true", y=y)).mean(axis=0)

    return explain


def _linear_explainer(method: str, X: np.ndarray) -> Callable[[Any], np.ndarray]:
    fn = LINEAR_METHODS[method]
    return lambda est: fn(est, X)


def _check_methods(given: Sequence[str] | None, table: dict[str, Any], name: str) -> list[str]:
    methods = list(table) if given is None else list(given)
    bad = [m for m in methods if m not in table]
    if bad:
        raise ConfigError(
            f"Invalid value for {name!r}. Allowed: {', '.join(map(repr, table))}; got {bad[0]!r}."
        )
    return methods


def _reseeded(estimator: Any, seed: int) -> Any | None:
    from sklearn.base import clone

    est = clone(estimator)
    if "random_state" not in est.get_params():
        return None
    return est.set_params(random_state=seed)


def attribution_study(
    ds: Any,
    network: Any,
    linear: Any,
    *,
    network_methods: Sequence[str] | None = None,
    linear_methods: Sequence[str] | None = None,
    n_splits: int = 3,
    n_explain: int = 200,
    n_check_samples: int = 100,
    n_seeds: int = 2,
    checks: bool = True,
    cascade: bool = True,
    threshold: float = SANITY_THRESHOLD,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> AttributionStudy:
    """Score every attribution method against the planted truth, with sanity checks.

    Parameters
    ----------
    ds : EpochsDataset
        Two-class samples ``X`` of shape (n_samples, n_chans, n_times) with
        ``info["ground_truth"]`` (see :func:`~neurodl.data.attribution_sim.simulate_attribution_eeg`).
    network : NeuralClassifier (unfitted)
        Cloned and fitted on each training fold.
    linear : scikit-learn linear classifier or Pipeline ending in one (unfitted)
        Fitted on the training folds; it must accept ``X`` as given (flatten it in the
        pipeline, e.g. ``FunctionTransformer(lambda X: X.reshape(len(X), -1))``).
    network_methods, linear_methods : list of str, optional
        Keys of :data:`NETWORK_METHODS` / :data:`LINEAR_METHODS` (default: all).
    n_splits : int, default=3
        Stratified folds; every method's map is computed on each held-out fold.
    n_explain : int, default=200
        Held-out samples explained per fold (at most).
    n_check_samples : int, default=100
        Samples of the first held-out fold used by the sanity checks.
    n_seeds : int, default=2
        Networks (seeds ``seed``, ``seed + 1``, ...) on the first fold for the seed stability
        (1: none).
    checks : bool, default=True
        Run the model- and label-randomisation checks.
    cascade : bool, default=True
        One model-randomisation row per layer (else only the full randomisation).
    threshold : float, default=0.5
        Rank correlation above which a map survives randomisation (fails).
    seed : int, default=0
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    AttributionStudy

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from neurodl.data.attribution_sim import simulate_attribution_eeg
    >>> from neurodl.estimators import NeuralClassifier
    >>> ds = simulate_attribution_eeg(n_trials=60, n_channels=4, n_sources=1, n_suppressors=1)
    >>> net = NeuralClassifier("linear", max_epochs=3, validation_fraction=0.0, random_state=0)
    >>> linear = make_pipeline(FunctionTransformer(lambda Z: Z.reshape(len(Z), -1)),
    ...                        LogisticRegression())
    >>> study = attribution_study(ds, net, linear, network_methods=["gradient_x_input"],
    ...                           linear_methods=["linear_pattern"], n_splits=2, n_seeds=1,
    ...                           checks=False)
    >>> sorted(study.fold_scores), len(study.fold_scores["network"])
    (['linear', 'network'], 2)
    """
    from sklearn.base import clone
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold

    say = progress or (lambda msg: None)
    truth = dict(ds.info.get("ground_truth") or {})
    if not truth:
        raise DataFormatError("The dataset has no info['ground_truth'] to score maps against.")
    X = np.asarray(ds.X, float)
    y = np.asarray(ds.y)
    if X.ndim != 3:
        raise DataFormatError(f"X must have shape (n_samples, n_chans, n_times); got {X.shape}.")
    net_methods = _check_methods(network_methods, NETWORK_METHODS, "network_methods")
    lin_methods = _check_methods(linear_methods, LINEAR_METHODS, "linear_methods")
    for name, value, low in (
        ("n_splits", n_splits, 2),
        ("n_explain", n_explain, 2),
        ("n_check_samples", n_check_samples, 2),
        ("n_seeds", n_seeds, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ConfigError(
                f"Invalid value for {name!r}. Allowed: an int >= {low}; got {value!r}."
            )
    rng = np.random.default_rng(seed)
    folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y))
    fold_maps: dict[str, list[np.ndarray]] = {m: [] for m in [*net_methods, *lin_methods]}
    times = dict.fromkeys(fold_maps, 0.0)
    fold_scores: dict[str, list[float]] = {"network": [], "linear": []}
    first: dict[str, Any] = {}
    for f, (train, test) in enumerate(folds):
        say(f"fold {f + 1}/{n_splits}: fitting")
        net = clone(network).fit(X[train], y[train])
        lin = clone(linear).fit(X[train], y[train])
        fold_scores["network"].append(balanced_accuracy_score(y[test], net.predict(X[test])))
        fold_scores["linear"].append(balanced_accuracy_score(y[test], lin.predict(X[test])))
        ex = np.sort(rng.choice(test, min(n_explain, len(test)), replace=False))
        for m in net_methods:
            t0 = time.perf_counter()
            fold_maps[m].append(_network_explainer(m, X[ex], y[ex])(net))
            times[m] += time.perf_counter() - t0
        for m in lin_methods:
            t0 = time.perf_counter()
            fold_maps[m].append(_linear_explainer(m, X[test])(lin))
            times[m] += time.perf_counter() - t0
        if f == 0:
            first = {"net": net, "lin": lin, "train": train, "test": test}
    chk = np.sort(
        rng.choice(first["test"], min(n_check_samples, len(first["test"])), replace=False)
    )
    seed_maps: dict[str, list[np.ndarray]] = {m: [] for m in net_methods}
    for s in range(1, n_seeds):
        est = _reseeded(network, seed + s)
        if est is None:
            break
        say(f"seed stability: refit {s}/{n_seeds - 1}")
        est.fit(X[first["train"]], y[first["train"]])
        for m in net_methods:
            seed_maps[m].append(_network_explainer(m, X[chk], y[chk])(est))
    permuted: dict[str, Any] = {}
    if checks:
        say("label randomisation: refitting on permuted labels")
        tr = first["train"]
        permuted["network"] = fit_on_permuted_labels(network, X[tr], y[tr], seed=seed)
        permuted["linear"] = fit_on_permuted_labels(linear, X[tr], y[tr], seed=seed)
    results = []
    for m in [*net_methods, *lin_methods]:
        kind = "network" if m in NETWORK_METHODS else "linear"
        pooled = np.abs(np.mean(fold_maps[m], axis=0))
        rows: list[SanityCheck] = []
        explain = (
            _network_explainer(m, X[chk], y[chk])
            if kind == "network"
            else _linear_explainer(m, X[chk])
        )
        model = first["net"] if kind == "network" else first["lin"]
        ref = explain(model)
        if checks:
            say(f"sanity checks: {m}")
            rows = model_randomisation(
                model, explain, reference=ref, cascade=cascade, threshold=threshold, seed=seed
            )
            base = network if kind == "network" else linear
            rows.append(
                label_randomisation(
                    base,
                    X[first["train"]],
                    y[first["train"]],
                    explain,
                    reference=ref,
                    threshold=threshold,
                    seed=seed,
                    permuted_model=permuted[kind],
                )
            )
        seeds = seed_maps.get(m) or []
        results.append(
            MethodResult(
                method=m,
                model=kind,
                map=pooled,
                scores=score_map(pooled, truth),
                fold_maps=[np.abs(a) for a in fold_maps[m]],
                stability_folds=map_stability(fold_maps[m]),
                stability_seeds=map_stability([ref, *seeds]) if seeds else None,
                checks=rows,
                verdict=sanity_verdict(rows),
                time_s=times[m],
            )
        )
    return AttributionStudy(
        methods=results,
        truth=truth,
        fold_scores=fold_scores,
        n_splits=int(n_splits),
        n_explain=int(n_explain),
        n_check_samples=len(chk),
        threshold=float(threshold),
    )
