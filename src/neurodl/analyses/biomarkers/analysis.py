"""One biomarker analysis from a cohort: the functional core behind the ``biomarker`` task.

:func:`biomarker_analysis` cross-validates a linear pipeline (features -> optional confound
regression -> optional ComBat -> standardise -> L2 logistic regression; or the best of several
feature kinds chosen by nested CV on the training subjects) and optionally a network on the same
folds; it adds the paired comparison, a permutation test over subjects, bootstrap CIs over
subjects, site decodability before/after ComBat, per-feature effect sizes with BH-FDR, the
stability of the linear weights across folds and bootstraps, and what the sample size can show.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ..._logging import logger
from ...evaluation import PairedComparison, compare_models
from ...exceptions import ConfigError
from .cohort import SubjectCohort
from .connectome import CONNECTOME_KINDS, ConnectomeFeatures
from .eeg_features import DEFAULT_BANDS, BandPowerFeatures, covariance_tangent_features
from .harmonize import ComBat, ConfoundRegressor, site_decodability
from .pipeline import InnerCVSelect, SubjectCV, SubjectPipeline, subject_cross_validate
from .pipeline import subject_permutation_test as _perm_test
from .stats import (
    effect_sizes,
    minimum_detectable_effect,
    subject_metrics_ci,
    weight_stability,
)

__all__ = ["FEATURE_KINDS", "BiomarkerAnalysis", "biomarker_analysis", "feature_step"]

#: Feature kinds computed from each subject alone (nothing learnt across subjects): computed
#: once before the folds, which gives the same folds' features and makes permutations cheap.
PER_SUBJECT_FEATURES = ("correlation", "partial correlation", "bandpower", "vector")

#: Feature kind -> the cohorts it applies to.
FEATURE_KINDS: dict[str, str] = {
    **{k: "connectome (covariance matrices)" for k in CONNECTOME_KINDS},
    "bandpower": "EEG signals: log band power per channel and band",
    "riemann": "EEG signals: covariance -> tangent space (pyRiemann)",
    "vector": "feature vectors, used as they are",
}


def _cohort_kind(cohort: SubjectCohort) -> str:
    X = cohort.X
    if X.ndim == 3 and X.shape[1] == X.shape[2] and "sfreq" not in cohort.info:
        return "connectome"
    if X.ndim == 3:
        return "signal"
    return "vector"


def _default_features(kind: str) -> str:
    return {"connectome": "correlation", "signal": "bandpower", "vector": "vector"}[kind]


def feature_step(
    cohort: SubjectCohort, features: str, *, bands: Any = None, reference: str = "geometric"
) -> Any:
    """The transformer turning the cohort's rows into feature vectors of kind ``features``.

    Examples
    --------
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> feature_step(cohort, "vector").fit_transform(cohort.X).shape  # vectors pass unchanged
    (30, 6)
    """
    kind = _cohort_kind(cohort)
    allowed = {
        "connectome": list(CONNECTOME_KINDS),
        "signal": ["bandpower", "riemann"],
        "vector": ["vector"],
    }[kind]
    if features not in allowed:
        raise ConfigError(
            f"Invalid value for 'features' with a {kind} cohort. Allowed: "
            f"{', '.join(map(repr, allowed))}; got {features!r}."
        )
    if kind == "connectome":
        return ConnectomeFeatures(features, reference=reference)
    if features == "bandpower":
        return BandPowerFeatures(cohort.info["sfreq"], bands or DEFAULT_BANDS)
    if features == "riemann":
        return covariance_tangent_features(cohort.info["sfreq"])
    return FunctionTransformer()


def _feature_names(cohort: SubjectCohort, features: str, n: int, bands: Any) -> list[str]:
    if _cohort_kind(cohort) == "connectome" and features in CONNECTOME_KINDS:
        rows, cols = np.triu_indices(cohort.X.shape[1], k=1)
        return [f"r{i}-r{j}" for i, j in zip(rows, cols)]
    if features == "bandpower":
        chans = cohort.info.get("ch_names") or [f"ch{i}" for i in range(cohort.X.shape[1])]
        return [f"{c}:{lo:g}-{hi:g}Hz" for c in chans for lo, hi in (bands or DEFAULT_BANDS)]
    return [f"f{i}" for i in range(n)]


def linear_pipeline(
    cohort: SubjectCohort,
    features: str,
    *,
    combat: bool = False,
    confound_regression: bool = False,
    C: float = 0.01,
    bands: Any = None,
    reference: str = "geometric",
) -> SubjectPipeline:
    """Features -> [confound regression] -> [ComBat] -> standardise -> L2 logistic regression."""
    steps: list[tuple[str, Any]] = [
        ("features", feature_step(cohort, features, bands=bands, reference=reference))
    ]
    if confound_regression:
        steps.append(("confounds", ConfoundRegressor()))
    if combat:
        steps.append(("combat", ComBat()))
    steps += [
        ("scale", StandardScaler()),
        ("logreg", LogisticRegression(C=C, solver="liblinear", dual=True, max_iter=2000)),
    ]
    return SubjectPipeline(steps)


def network_pipeline(
    cohort: SubjectCohort, name: str, params: dict[str, Any], *, features: str, seed: int
) -> SubjectPipeline:
    """A registered network on the cohort: matrices for connectome models, features or signals.

    ``brainnetcnn`` reads the connectivity matrices of ``features`` (correlation by default);
    ``mlp``/``linear`` read the standardised feature vectors; other models read the signals.
    """
    from ...estimators import make_estimator

    params = dict(params)
    params.setdefault("device", "cpu")
    net = make_estimator(name, seed=seed, **params)
    kind = _cohort_kind(cohort)
    if kind == "connectome":
        kind_feat = features if features in CONNECTOME_KINDS else "correlation"
        first = ("features", ConnectomeFeatures(kind_feat, vectorize=name != "mlp"))
        if name == "brainnetcnn":
            first = ("features", ConnectomeFeatures(kind_feat, vectorize=False))
            return SubjectPipeline([first, ("network", net)])
        return SubjectPipeline([first, ("scale", StandardScaler()), ("network", net)])
    if name in ("mlp", "linear"):
        return SubjectPipeline(
            [
                ("features", feature_step(cohort, features)),
                ("scale", StandardScaler()),
                ("network", net),
            ]
        )
    return SubjectPipeline([("network", net)])


@dataclass
class BiomarkerAnalysis:
    """Everything :func:`biomarker_analysis` computed (plain values, arrays and CV results).

    Examples
    --------
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> res = biomarker_analysis(cohort)
    >>> res.linear_name, sorted(res.metrics)[:2], res.network is None
    ('vector + logistic regression', ['auc', 'balanced_accuracy'], True)
    """

    linear: SubjectCV
    linear_name: str
    metrics: dict[str, dict[str, float]]
    network: SubjectCV | None = None
    network_name: str | None = None
    network_metrics: dict[str, dict[str, float]] | None = None
    comparison: PairedComparison | None = None
    permutation: Any = None
    site: dict[str, Any] | None = None
    effects: dict[str, Any] = field(default_factory=dict)
    stability: dict[str, Any] = field(default_factory=dict)
    small_sample: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _stability(
    cohort: SubjectCohort,
    res: SubjectCV,
    pipe: SubjectPipeline,
    names: list[str],
    n_boot: int,
    top_k: int,
    seed: int,
) -> dict[str, Any]:
    fold_w = [w for w in res.weights if w is not None]
    out: dict[str, Any] = {}
    if len(fold_w) >= 2 and len({len(w) for w in fold_w}) == 1:
        st = weight_stability(np.array(fold_w), top_k=top_k)
        out["folds"] = {k: v for k, v in st.items() if k != "selection_frequency"}
        freq = st["selection_frequency"]
        order = np.argsort(-freq)[:10]
        out["most_selected"] = [
            {"feature": names[i] if i < len(names) else str(i), "frequency": float(freq[i])}
            for i in order
        ]
    if n_boot >= 2:
        from sklearn.base import clone

        rng = np.random.default_rng(seed)
        cov = cohort.confounds.to_numpy(dtype=float) if cohort.confounds.shape[1] else None
        boot_w = []
        for _ in range(n_boot):
            idx = np.concatenate(
                [rng.choice(np.flatnonzero(cohort.y == c), np.sum(cohort.y == c)) for c in (0, 1)]
            )
            est = clone(pipe).fit(
                cohort.X[idx],
                cohort.y[idx],
                sites=cohort.sites[idx],
                covariates=None if cov is None else cov[idx],
            )
            boot_w.append(np.asarray(est.final_.coef_).reshape(-1))
        st = weight_stability(np.array(boot_w), top_k=top_k)
        out["bootstrap"] = {k: v for k, v in st.items() if k != "selection_frequency"}
    return out


@contextlib.contextmanager
def _no_progress(label: str) -> Iterator[None]:
    yield None


def biomarker_analysis(
    cohort: SubjectCohort,
    *,
    features: str | None = None,
    candidates: list[str] | None = None,
    combat: str = "off",
    confound_regression: bool = False,
    C: float = 0.01,
    bands: Any = None,
    protocol: str = "leave-one-site-out",
    protocol_params: dict[str, Any] | None = None,
    network: dict[str, Any] | None = None,
    n_permutations: int = 0,
    within_site: bool = True,
    n_boot: int = 1000,
    ci: float = 0.95,
    alpha: float = 0.05,
    top_k: int = 50,
    n_stability_boot: int = 0,
    site_check: bool = True,
    seed: int = 0,
    progress: Any = None,
) -> BiomarkerAnalysis:
    """Run a subject-level biomarker analysis on ``cohort`` (binary labels 0/1).

    Parameters
    ----------
    cohort : SubjectCohort
    features : str or None
        A key of :data:`FEATURE_KINDS` valid for the cohort (default: correlation for
        connectomes, bandpower for EEG signals, vector for feature vectors).
    candidates : list of str or None
        Feature kinds to choose from by nested CV on the training subjects (each with and
        without ComBat when ``combat="select"``); None uses ``features`` alone.
    combat : {"off", "on", "select"}, default="off"
    confound_regression : bool, default=False
        Regress the cohort's confounds out of the features inside the folds.
    C : float, default=0.01
        Inverse L2 strength of the logistic regression.
    protocol, protocol_params
        Subject-level protocol (``leave-one-site-out``, ``site-stratified-kfold``,
        ``leave-one-subject-out``, ``grouped-kfold``, ...).
    network : dict or None
        ``{"name": registered model, "params": {...}}`` trained on the same folds.
    n_permutations : int, default=0
        Permutations of the diagnosis across subjects for the linear model (0: none).
    within_site : bool, default=True
        Permute within sites.
    n_boot, ci
        Subject bootstrap of the pooled metrics.
    alpha : float, default=0.05
        FDR level of the effect sizes.
    top_k : int, default=50
        Selected-set size for the stability of the weights.
    n_stability_boot : int, default=0
        Bootstrap refits of the linear model for weight stability (0: folds only).
    site_check : bool, default=True
        Site decodability before/after ComBat (when the cohort has >= 2 sites).
    seed : int, default=0
    progress : callable, optional
        ``progress(label)`` returning a context manager that yields ``callback(done, total)``
        or None (the CLI's progress bars); called for the linear and the network CV.

    Returns
    -------
    BiomarkerAnalysis

    Examples
    --------
    >>> from neurodl.analyses.biomarkers import simulate_cohort
    >>> cohort = simulate_cohort(30, 6, n_sites=2, group_effect=1.5, n_informative=2, seed=0)
    >>> res = biomarker_analysis(cohort, protocol="leave-one-site-out")
    >>> bool(res.metrics["balanced_accuracy"]["estimate"] > 0.7)
    True
    >>> m = res.metrics["auc"]
    >>> bool(m["low"] <= m["estimate"] <= m["high"])
    True
    """
    if combat not in ("off", "on", "select"):
        raise ConfigError(
            f"Invalid value for 'combat'. Allowed: 'off', 'on', 'select'; got {combat!r}."
        )
    kind = _cohort_kind(cohort)
    features = features or _default_features(kind)
    n_sites = len(np.unique(cohort.sites))
    if combat != "off" and n_sites < 2:
        raise ConfigError(f"combat={combat!r} needs at least 2 sites; the cohort has {n_sites}.")
    params = dict(protocol_params or {})
    kw = {"confound_regression": confound_regression, "C": C, "bands": bands}
    notes: list[str] = []
    # per-subject features: once, before the folds (equal to computing them in every fold)
    feats = np.asarray(feature_step(cohort, features, bands=bands).fit_transform(cohort.X))
    lin_cohort, lin_features = cohort, features
    if features in PER_SUBJECT_FEATURES and features != "vector":
        lin_cohort = cohort.subset(np.arange(cohort.n_subjects))
        lin_cohort.X, lin_features = feats, "vector"
        notes.append(
            f"'{features}' features depend on each {cohort.unit} alone (nothing is learnt across "
            f"{cohort.unit}s), so they were computed once before the folds; every step that "
            "learns across subjects (standardisation, ComBat, confound regression, the "
            "classifier) is fitted inside the training folds."
        )
    if candidates:
        combats = (False, True) if combat == "select" else (combat == "on",)
        cands = {
            f"{f}{'+combat' if cb else ''}": linear_pipeline(
                cohort, f, combat=cb, reference="log_euclidean", **kw
            )
            for f in candidates
            for cb in combats
        }
        linear: Any = InnerCVSelect(cands, inner="site-stratified", n_splits=3, seed=seed)
        linear_name = "best linear (nested CV over " + ", ".join(cands) + ")"
    else:
        cb = combat in ("on", "select")
        linear = linear_pipeline(lin_cohort, lin_features, combat=cb, **kw)
        linear_name = f"{features}{' + ComBat' if cb else ''} + logistic regression"
    progress = progress or _no_progress
    with progress("biomarker: linear cross-validation") as cb:
        res = subject_cross_validate(
            linear, cohort if candidates else lin_cohort, protocol, progress=cb, **params
        )
    logger.info("biomarker: %s %.3f", linear_name, res.cv.score)
    metrics = subject_metrics_ci(
        res.cv.y_true, res.cv.y_pred, res.y_score, n_boot=n_boot, ci=ci, seed=seed
    )
    out = BiomarkerAnalysis(res, linear_name, metrics, notes=notes)
    if network:
        name = str(network.get("name", "brainnetcnn"))
        net = network_pipeline(
            cohort, name, dict(network.get("params", {})), features=features, seed=seed
        )
        with progress(f"biomarker: {name} cross-validation") as cb:
            res_net = subject_cross_validate(net, cohort, protocol, progress=cb, **params)
        out.network, out.network_name = res_net, name
        out.network_metrics = subject_metrics_ci(
            res_net.cv.y_true, res_net.cv.y_pred, res_net.y_score, n_boot=n_boot, ci=ci, seed=seed
        )
        out.comparison = compare_models(res_net.cv, res.cv, names=(name, "linear"))
        if res_net.cv.score <= res.cv.score:
            notes.append(
                f"The linear model scored at least as well as {name} on the same folds "
                f"({res.cv.score:.3f} vs {res_net.cv.score:.3f}); " + out.comparison.verdict()
            )
    if n_permutations > 0:
        fixed = linear if not candidates else linear_pipeline(lin_cohort, lin_features, **kw)
        out.permutation = _perm_test(
            fixed,
            lin_cohort,
            protocol,
            n_permutations=n_permutations,
            within_site=within_site and n_sites > 1,
            seed=seed,
            observed=None if candidates else res.cv.pooled_score,
            **params,
        )
        if candidates:
            notes.append(
                f"The permutation test refits the fixed pipeline '{features}' (not the nested "
                "selection) for every permutation."
            )
    # descriptive statistics on the whole cohort (no prediction: not cross-validated)
    harmonised = feats
    if (
        site_check
        and n_sites > 1
        and np.all(np.bincount(np.unique(cohort.sites, return_inverse=True)[1]) >= 2)
    ):
        out.site = {
            "before": site_decodability(feats, cohort.sites, seed=seed),
            "after": site_decodability(feats, cohort.sites, harmonizer=ComBat(), seed=seed),
        }
        harmonised = ComBat().fit_transform(feats, sites=cohort.sites, covariates=cohort.y[:, None])
        notes.append(
            "Effect sizes are computed on ComBat-harmonised features (fitted on every subject "
            "with the diagnosis as a kept covariate): a description of the sample, not a "
            "cross-validated prediction."
        )
    names = _feature_names(cohort, features, feats.shape[1], bands)
    es = effect_sizes(harmonised, cohort.y, ci=ci, alpha=alpha, names=names)
    order = np.argsort(-np.abs(np.nan_to_num(es["hedges_g"])))[:15]
    out.effects = {
        "n_features": len(es["p"]),
        "alpha": alpha,
        "n_significant": int(es["significant"].sum()),
        "max_abs_g": float(np.nanmax(np.abs(es["hedges_g"]))),
        "top": [
            {
                k: (str(es[k][i]) if k == "name" else float(es[k][i]))
                for k in ("name", "hedges_g", "g_low", "g_high", "cohens_d", "p", "q")
            }
            for i in order
        ],
        "hedges_g": es["hedges_g"],
        "q": es["q"],
    }
    stab_pipe = linear if not candidates else linear_pipeline(lin_cohort, lin_features, **kw)
    out.stability = _stability(lin_cohort, res, stab_pipe, names, n_stability_boot, top_k, seed)
    n0, n1 = int(np.sum(cohort.y == 0)), int(np.sum(cohort.y == 1))
    mde = minimum_detectable_effect(n0, n1, alpha=alpha)
    mde["min_p_value_permutation"] = 1.0 / (n_permutations + 1) if n_permutations else None
    mde["n0"], mde["n1"] = n0, n1
    out.small_sample = mde
    if cohort.unit != "subject":
        notes.append(
            f"The unit is the {cohort.unit}, not the subject: "
            + str(cohort.info.get("note", "folds cannot keep a subject's data together"))
            + "; results are an upper bound for new subjects."
        )
    return out
