"""Site harmonisation (ComBat) and confound regression, fitted on training subjects only.

:func:`combat_fit` / :func:`combat_apply` are the functional core of ComBat (Johnson, Li &
Rabinovic 2007, Biostatistics 8:118; for imaging Fortin et al. 2017/2018, NeuroImage): a
location/scale model per feature ``x = alpha + C beta + gamma_site + delta_site * eps`` whose
site parameters are shrunk towards their across-feature priors by parametric empirical Bayes.
They follow the reference implementation ``neuroCombat`` step by step and the tests compare the
two on the same data. :class:`ComBat` and :class:`ConfoundRegressor` are the scikit-learn shells;
both take ``sites`` / ``covariates`` as keyword arguments of ``fit`` and ``transform`` (the
subject pipeline of :mod:`.pipeline` routes them), so nothing is learnt from test subjects.

A site never seen in training (leave-one-site-out) cannot use training site parameters. With
``unseen_site="estimate"`` its location and scale are estimated from its own subjects at
transform time (the same per-site empirical Bayes, on features standardised with the training
mean, covariate effects and pooled variance; labels unused), the usual way to harmonise a new
scanner; ``"error"`` refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "ComBat",
    "CombatModel",
    "ConfoundRegressor",
    "combat_apply",
    "combat_fit",
    "site_decodability",
]


@dataclass
class CombatModel:
    """Fitted ComBat parameters (features in columns).

    Attributes
    ----------
    sites : ndarray of str of shape (n_sites,)
    grand_mean : ndarray of shape (n_features,)
    beta : ndarray of shape (n_covariates, n_features)
        Covariate effects (kept in the data).
    var_pooled : ndarray of shape (n_features,)
    gamma_star, delta_star : ndarray of shape (n_sites, n_features)
        Empirical-Bayes site location and scale.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sites = np.repeat(["A", "B"], 10)
    >>> X = rng.standard_normal((20, 3)) + 5.0 * (sites == "B")[:, None]  # site B shifted
    >>> model = combat_fit(X, sites)
    >>> model.sites.tolist(), model.gamma_star.shape, model.grand_mean.shape
    (['A', 'B'], (2, 3), (3,))
    """

    sites: np.ndarray
    grand_mean: np.ndarray
    beta: np.ndarray
    var_pooled: np.ndarray
    gamma_star: np.ndarray
    delta_star: np.ndarray


def _design_covariates(covariates: Any, n: int) -> np.ndarray:
    if covariates is None:
        return np.zeros((n, 0))
    C = np.asarray(covariates, dtype=float)
    C = C.reshape(n, -1) if C.ndim == 1 else C
    if C.shape[0] != n or not np.all(np.isfinite(C)):
        raise DataFormatError(
            f"Covariates must be a finite array with one row per subject ({n}); got shape "
            f"{C.shape}{' with NaN/inf' if C.shape[0] == n else ''}."
        )
    return C


def _eb_site(s: np.ndarray, conv: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Parametric empirical Bayes for one site: ``s`` (n_site, n_features) standardised data."""
    n = s.shape[0]
    g_hat = s.mean(axis=0)
    d_hat = s.var(axis=0, ddof=1)
    d_hat[d_hat == 0] = 1.0
    g_bar, t2 = g_hat.mean(), g_hat.var(ddof=1)
    m, s2 = d_hat.mean(), d_hat.var(ddof=1)
    a, b = (2 * s2 + m**2) / s2, (m * s2 + m**3) / s2
    g_old, d_old = g_hat.copy(), d_hat.copy()
    change = 1.0
    while change > conv:
        g_new = (t2 * n * g_hat + d_old * g_bar) / (t2 * n + d_old)
        sum2 = ((s - g_new) ** 2).sum(axis=0)
        d_new = (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
        change = max(np.max(np.abs(g_new - g_old) / g_old), np.max(np.abs(d_new - d_old) / d_old))
        g_old, d_old = g_new, d_new
    return g_new, d_new


def combat_fit(X: np.ndarray, sites: np.ndarray, covariates: Any = None) -> CombatModel:
    """Fit ComBat on ``X`` (n_subjects, n_features) with a site per subject.

    Parameters
    ----------
    X : ndarray of shape (n_subjects, n_features)
    sites : array-like of shape (n_subjects,)
    covariates : array-like of shape (n_subjects, n_covariates) or None
        Numeric effects to keep (e.g. age, sex as 0/1). Never the diagnosis in a predictive
        analysis: test labels are unknown at transform time.

    Returns
    -------
    CombatModel

    Raises
    ------
    DataFormatError
        Fewer than 2 sites, a site with fewer than 2 subjects, or non-finite data.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sites = np.repeat(["A", "B"], 10)
    >>> X = rng.standard_normal((20, 3)) + 5.0 * (sites == "B")[:, None]  # site B shifted
    >>> model = combat_fit(X, sites)
    >>> model.delta_star.shape, bool(model.gamma_star[1].mean() > model.gamma_star[0].mean())
    ((2, 3), True)
    """
    X = np.asarray(X, dtype=float)
    sites = np.asarray(sites).astype(str)
    if X.ndim != 2 or len(sites) != len(X) or not np.all(np.isfinite(X)):
        raise DataFormatError(
            f"ComBat needs finite features of shape (n_subjects, n_features) and one site per "
            f"subject; got X {X.shape} and {len(sites)} sites."
        )
    levels, counts = np.unique(sites, return_counts=True)
    if len(levels) < 2 or counts.min() < 2:
        raise DataFormatError(
            "ComBat needs at least 2 sites with at least 2 subjects each; got "
            f"{dict(zip(levels.tolist(), counts.tolist()))}."
        )
    n = len(X)
    C = _design_covariates(covariates, n)
    onehot = (sites[:, None] == levels[None, :]).astype(float)
    design = np.hstack([onehot, C])
    B_hat = np.linalg.solve(design.T @ design, design.T @ X)
    grand_mean = (counts / n) @ B_hat[: len(levels)]
    beta = B_hat[len(levels) :]
    var_pooled = np.mean((X - design @ B_hat) ** 2, axis=0)
    var_pooled[var_pooled == 0] = np.median(var_pooled[var_pooled != 0]) if var_pooled.any() else 1
    s = (X - grand_mean - C @ beta) / np.sqrt(var_pooled)
    gammas, deltas = zip(*(_eb_site(s[sites == lv]) for lv in levels))
    return CombatModel(levels, grand_mean, beta, var_pooled, np.array(gammas), np.array(deltas))


def combat_apply(
    model: CombatModel,
    X: np.ndarray,
    sites: np.ndarray,
    covariates: Any = None,
    *,
    unseen_site: str = "estimate",
) -> np.ndarray:
    """Harmonise ``X`` (n_subjects, n_features) with a fitted :class:`CombatModel`.

    Sites not in ``model.sites`` are estimated from their own subjects (``"estimate"``, needs
    at least 2 of them) or refused (``"error"``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sites = np.repeat(["A", "B"], 10)
    >>> X = rng.standard_normal((20, 3)) + 5.0 * (sites == "B")[:, None]  # site B shifted
    >>> Xh = combat_apply(combat_fit(X, sites), X, sites)
    >>> Xh.shape, bool(abs(Xh[sites == "B"].mean() - Xh[sites == "A"].mean()) < 0.5)
    ((20, 3), True)
    """
    if unseen_site not in ("estimate", "error"):
        raise ConfigError(
            f"Invalid value for 'unseen_site'. Allowed: 'estimate', 'error'; got {unseen_site!r}."
        )
    X = np.asarray(X, dtype=float)
    sites = np.asarray(sites).astype(str)
    C = _design_covariates(covariates, len(X))
    if C.shape[1] != model.beta.shape[0]:
        raise DataFormatError(
            f"ComBat was fitted with {model.beta.shape[0]} covariates; got {C.shape[1]}."
        )
    mod_mean = model.grand_mean + C @ model.beta
    sd = np.sqrt(model.var_pooled)
    s = (X - mod_mean) / sd
    out = np.empty_like(X)
    known = {str(v): k for k, v in enumerate(model.sites)}
    for site in np.unique(sites):
        rows = sites == site
        if site in known:
            g, d = model.gamma_star[known[site]], model.delta_star[known[site]]
        elif unseen_site == "error":
            raise DataFormatError(
                f"Site {site!r} was not in the ComBat training data (sites {list(known)}); set "
                "unseen_site='estimate' to estimate it from its own subjects."
            )
        elif rows.sum() < 2:
            raise DataFormatError(
                f"Unseen site {site!r} has {int(rows.sum())} subject; estimating its ComBat "
                "parameters needs at least 2."
            )
        else:
            g, d = _eb_site(s[rows])
        out[rows] = (s[rows] - g) / np.sqrt(d) * sd + mod_mean[rows]
    return out


class ComBat(TransformerMixin, BaseEstimator):
    """ComBat harmonisation as a transformer; ``fit``/``transform`` take ``sites=``.

    Parameters
    ----------
    use_covariates : bool, default=True
        Keep the effects of the covariates passed as ``covariates=`` (age, sex, ...).
    unseen_site : {"estimate", "error"}, default="estimate"
        What to do with a site absent from the training subjects (see the module docstring).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sites = np.repeat(["a", "b"], 20)
    >>> X = rng.normal(size=(40, 5)) + 3 * (sites == "b")[:, None]
    >>> Xh = ComBat().fit_transform(X, sites=sites)
    >>> bool(abs(Xh[sites == "a"].mean() - Xh[sites == "b"].mean()) < 0.5)
    True
    """

    def __init__(self, *, use_covariates: bool = True, unseen_site: str = "estimate") -> None:
        self.use_covariates = use_covariates
        self.unseen_site = unseen_site

    def fit(self, X: Any, y: Any = None, *, sites: Any = None, covariates: Any = None) -> ComBat:
        """Fit on training subjects ``X`` (n_subjects, n_features) with their ``sites``."""
        if sites is None:
            raise ConfigError("ComBat.fit needs sites= (one site label per subject).")
        self.model_ = combat_fit(X, sites, covariates if self.use_covariates else None)
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X: Any, *, sites: Any = None, covariates: Any = None) -> np.ndarray:
        """Harmonise ``X`` (n_subjects, n_features); returns the same shape."""
        check_is_fitted(self, "model_")
        if sites is None:
            raise ConfigError("ComBat.transform needs sites= (one site label per subject).")
        cov = covariates if self.use_covariates else None
        return combat_apply(self.model_, X, sites, cov, unseen_site=self.unseen_site)

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> np.ndarray:
        return self.fit(X, y, **params).transform(X, **params)


class ConfoundRegressor(TransformerMixin, BaseEstimator):
    """Remove the linear effect of confounds (age, sex, motion), fitted on training subjects.

    ``fit`` regresses each feature on ``[1, covariates]`` of the training subjects; ``transform``
    subtracts the fitted confound part (not the intercept) from any subjects.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> age = rng.uniform(20, 60, size=(30, 1))
    >>> X = 0.1 * age + rng.standard_normal((30, 2))
    >>> Xc = ConfoundRegressor().fit(X, covariates=age).transform(X, covariates=age)
    >>> Xc.shape, bool(abs(np.corrcoef(Xc[:, 0], age[:, 0])[0, 1]) < 0.01)
    ((30, 2), True)
    """

    def fit(self, X: Any, y: Any = None, *, covariates: Any = None, sites: Any = None) -> Any:
        """Fit on ``X`` (n_subjects, n_features) and ``covariates`` (n_subjects, n_confounds)."""
        X = np.asarray(X, dtype=float)
        C = _design_covariates(covariates, len(X))
        self.mean_ = C.mean(axis=0)
        design = np.hstack([np.ones((len(X), 1)), C - self.mean_])
        coef, *_ = np.linalg.lstsq(design, X, rcond=None)
        self.coef_ = coef[1:]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any, *, covariates: Any = None, sites: Any = None) -> np.ndarray:
        """Return ``X`` minus the confounds' fitted effect."""
        check_is_fitted(self, "coef_")
        X = np.asarray(X, dtype=float)
        C = _design_covariates(covariates, len(X))
        return X - (C - self.mean_) @ self.coef_

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> np.ndarray:
        return self.fit(X, y, **params).transform(X, **params)


def site_decodability(
    X: np.ndarray,
    sites: np.ndarray,
    *,
    harmonizer: Any = None,
    covariates: Any = None,
    n_splits: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """How well the site can be predicted from the features (before or after harmonisation).

    Stratified k-fold over subjects (site as the label); in each fold the optional
    ``harmonizer`` (e.g. :class:`ComBat`) is fitted on the training subjects only, then
    standardisation + a ridge classifier (closed form, fast with many features) predict the test
    subjects' site.

    Returns
    -------
    dict
        ``balanced_accuracy`` (pooled over folds), ``chance`` (1 / n_sites) and ``n_sites``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sites = np.repeat(["A", "B"], 10)
    >>> X = rng.standard_normal((20, 3)) + 5.0 * (sites == "B")[:, None]  # site B shifted
    >>> before = site_decodability(X, sites, n_splits=5)
    >>> after = site_decodability(X, sites, harmonizer=ComBat(), n_splits=5)
    >>> before["balanced_accuracy"], bool(after["balanced_accuracy"] < 0.8), after["chance"]
    (1.0, True, 0.5)
    """
    from sklearn.base import clone
    from sklearn.linear_model import RidgeClassifier
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, dtype=float)
    sites = np.asarray(sites).astype(str)
    levels, counts = np.unique(sites, return_counts=True)
    k = int(min(n_splits, counts.min()))
    if len(levels) < 2 or k < 2:
        return {"balanced_accuracy": float("nan"), "chance": float("nan"), "n_sites": len(levels)}
    C = None if covariates is None else _design_covariates(covariates, len(X))
    pred = np.empty(len(X), dtype=object)
    for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed).split(X, sites):
        Xtr, Xte = X[tr], X[te]
        if harmonizer is not None:
            h = clone(harmonizer)
            ctr = None if C is None else C[tr]
            cte = None if C is None else C[te]
            Xtr = h.fit(Xtr, sites=sites[tr], covariates=ctr).transform(
                Xtr, sites=sites[tr], covariates=ctr
            )
            Xte = h.transform(Xte, sites=sites[te], covariates=cte)
        clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=float(X.shape[1])))
        pred[te] = clf.fit(Xtr, sites[tr]).predict(Xte)
    return {
        "balanced_accuracy": float(balanced_accuracy_score(sites, pred.astype(str))),
        "chance": 1.0 / len(levels),
        "n_sites": len(levels),
    }
