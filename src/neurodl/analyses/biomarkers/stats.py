"""Subject-level statistics: classification metrics with bootstrap CIs, effect sizes with FDR,
stability of weights across folds and bootstraps, and what a small sample can detect."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as sps

from ...exceptions import DataFormatError

__all__ = [
    "SUBJECT_METRICS",
    "effect_sizes",
    "minimum_detectable_effect",
    "subject_metrics",
    "subject_metrics_ci",
    "weight_stability",
]

#: Metric name -> what it is (class 1 is the "positive" class: patient / good counter / D).
SUBJECT_METRICS: dict[str, str] = {
    "balanced_accuracy": "mean of sensitivity and specificity",
    "auc": "area under the ROC curve of the decision score",
    "sensitivity": "recall of class 1",
    "specificity": "recall of class 0",
}


def _metrics_batch(y: np.ndarray, pred: np.ndarray, score: np.ndarray | None) -> dict[str, Any]:
    """Metrics for rows of resampled index arrays; y, pred, score are (n_boot, n)."""
    pos, neg = y == 1, y == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = (pos & (pred == 1)).sum(-1) / pos.sum(-1)
        spec = (neg & (pred == 0)).sum(-1) / neg.sum(-1)
    out = {"sensitivity": sens, "specificity": spec, "balanced_accuracy": (sens + spec) / 2}
    if score is not None:
        # Mann-Whitney form of the AUC: rank the scores row by row
        ranks = sps.rankdata(score, axis=-1)
        n_pos, n_neg = pos.sum(-1), neg.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["auc"] = ((ranks * pos).sum(-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


def subject_metrics(y_true: Any, y_pred: Any, y_score: Any = None) -> dict[str, float]:
    """Balanced accuracy, AUC, sensitivity and specificity of binary subject predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of int of shape (n_subjects,)
        Labels 0/1 (1 is the positive class).
    y_score : array-like of shape (n_subjects,) or None
        Decision score of class 1 (AUC is NaN without it).

    Examples
    --------
    >>> m = subject_metrics([0, 0, 1, 1], [0, 1, 1, 1], [0.1, 0.6, 0.7, 0.9])
    >>> m["sensitivity"], m["specificity"], m["auc"]
    (1.0, 0.5, 1.0)
    """
    y = np.asarray(y_true)[None]
    score = None if y_score is None else np.asarray(y_score, dtype=float)[None]
    res = _metrics_batch(y, np.asarray(y_pred)[None], score)
    out = {k: float(v[0]) for k, v in res.items()}
    out.setdefault("auc", float("nan"))
    return out


def subject_metrics_ci(
    y_true: Any,
    y_pred: Any,
    y_score: Any = None,
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Metrics with percentile bootstrap CIs, resampling subjects (stratified by class).

    Subjects are resampled with replacement within each class, so every resample has both
    classes and the class balance of the sample.

    Returns
    -------
    dict
        metric -> ``{"estimate", "low", "high"}``.

    Examples
    --------
    >>> y_true = np.array([0] * 10 + [1] * 10)
    >>> y_pred = np.array([0] * 8 + [1] * 2 + [1] * 9 + [0])
    >>> out = subject_metrics_ci(y_true, y_pred, n_boot=200)
    >>> round(out["balanced_accuracy"]["estimate"], 2), sorted(out["balanced_accuracy"])
    (0.85, ['estimate', 'high', 'low'])
    """
    y, pred = np.asarray(y_true), np.asarray(y_pred)
    score = None if y_score is None else np.asarray(y_score, dtype=float)
    point = subject_metrics(y, pred, score)
    rng = np.random.default_rng(seed)
    idx_parts = [
        rng.choice(np.flatnonzero(y == c), size=(n_boot, int(np.sum(y == c)))) for c in np.unique(y)
    ]
    idx = np.concatenate(idx_parts, axis=1)
    boot = _metrics_batch(y[idx], pred[idx], None if score is None else score[idx])
    alpha = (1 - ci) / 2
    out = {}
    for k, est in point.items():
        dist = boot.get(k)
        if dist is None or not np.isfinite(dist).any():
            out[k] = {"estimate": est, "low": float("nan"), "high": float("nan")}
            continue
        lo, hi = np.nanquantile(dist, [alpha, 1 - alpha])
        out[k] = {"estimate": est, "low": float(lo), "high": float(hi)}
    return out


def effect_sizes(
    X: Any, y: Any, *, ci: float = 0.95, alpha: float = 0.05, names: Any = None
) -> dict[str, np.ndarray]:
    """Per-feature Cohen's d and Hedges' g (class 1 minus class 0) with CIs and BH-FDR.

    ``d = (mean_1 - mean_0) / s_pooled`` with ``s_pooled`` the pooled standard deviation
    (ddof=1); ``g = J d`` with the exact small-sample correction
    ``J = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))``, ``df = n_0 + n_1 - 2``. The CI of ``g``
    uses the normal approximation ``SE^2 = (n_0+n_1)/(n_0 n_1) + g^2 / (2 (n_0+n_1))`` (Hedges &
    Olkin 1985). p-values: Student's two-sample t-test (:func:`scipy.stats.ttest_ind`), adjusted
    with Benjamini-Hochberg (:func:`scipy.stats.false_discovery_control`).

    Parameters
    ----------
    X : array-like of shape (n_subjects, n_features)
    y : array-like of int of shape (n_subjects,)
        Two classes 0/1.
    ci : float, default=0.95
    alpha : float, default=0.05
        FDR level of ``significant``.
    names : sequence of str or None
        Feature names (default ``f0``, ``f1``, ...).

    Returns
    -------
    dict of ndarray of shape (n_features,)
        ``name, cohens_d, hedges_g, g_low, g_high, t, p, q, significant``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 50)
    >>> X = rng.standard_normal((100, 2))
    >>> X[:, 0] += y  # d = 1 on the first feature
    >>> es = effect_sizes(X, y, names=["f0", "f1"])
    >>> es["hedges_g"].round(1).tolist(), es["significant"].tolist()
    ([0.9, -0.2], [True, False])
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise DataFormatError(
            f"effect_sizes needs X (n_subjects, n_features) and y (n_subjects,); got {X.shape} "
            f"and {y.shape}."
        )
    a, b = X[y == 1], X[y == 0]
    n1, n0 = len(a), len(b)
    if n1 < 2 or n0 < 2:
        raise DataFormatError(f"effect_sizes needs at least 2 subjects per class; got {n0}, {n1}.")
    df = n0 + n1 - 2
    sp = np.sqrt(((n1 - 1) * a.var(axis=0, ddof=1) + (n0 - 1) * b.var(axis=0, ddof=1)) / df)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (a.mean(axis=0) - b.mean(axis=0)) / sp
    from scipy.special import gammaln

    J = np.exp(gammaln(df / 2) - np.log(np.sqrt(df / 2)) - gammaln((df - 1) / 2))
    g = J * d
    se = np.sqrt((n0 + n1) / (n0 * n1) + g**2 / (2 * (n0 + n1)))
    z = sps.norm.ppf(0.5 + ci / 2)
    t, p = sps.ttest_ind(a, b, axis=0)
    p = np.asarray(p, dtype=float)
    finite = np.isfinite(p)
    q = np.full_like(p, np.nan)
    if finite.any():
        q[finite] = sps.false_discovery_control(p[finite], method="bh")
    if names is None:
        names = [f"f{i}" for i in range(X.shape[1])]
    return {
        "name": np.asarray(names, dtype=str),
        "cohens_d": d,
        "hedges_g": g,
        "g_low": g - z * se,
        "g_high": g + z * se,
        "t": np.asarray(t, dtype=float),
        "p": p,
        "q": q,
        "significant": np.nan_to_num(q, nan=1.0) < alpha,
    }


def weight_stability(weights: Any, *, top_k: int = 50) -> dict[str, Any]:
    """How stable linear weights are across fits (folds or bootstraps).

    Parameters
    ----------
    weights : array-like of shape (n_fits, n_features)
        One weight (or pattern) vector per fit.
    top_k : int, default=50
        Size of the selected set (largest absolute weights).

    Returns
    -------
    dict
        ``mean_rank_correlation`` (mean pairwise Spearman correlation of the weights),
        ``mean_jaccard_top_k`` (mean pairwise overlap of the top-k sets), ``selection_frequency``
        (ndarray of shape (n_features,): fraction of fits in whose top-k each feature is),
        ``top_k``, ``n_fits``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> w = np.r_[5.0, 4.0, np.zeros(8)] + 0.1 * rng.standard_normal((5, 10))  # 5 folds
    >>> out = weight_stability(w, top_k=2)
    >>> out["mean_jaccard_top_k"], out["selection_frequency"][:3].tolist(), out["n_fits"]
    (1.0, [1.0, 1.0, 0.0], 5)
    """
    W = np.asarray(weights, dtype=float)
    if W.ndim != 2 or len(W) < 2:
        raise DataFormatError(f"weight_stability needs >= 2 weight vectors; got shape {W.shape}.")
    k = int(min(top_k, W.shape[1]))
    top = np.argsort(-np.abs(W), axis=1)[:, :k]
    sel = np.zeros(W.shape, dtype=bool)
    np.put_along_axis(sel, top, True, axis=1)
    pairs = [(i, j) for i in range(len(W)) for j in range(i + 1, len(W))]
    jac = [np.sum(sel[i] & sel[j]) / np.sum(sel[i] | sel[j]) for i, j in pairs]
    ranks = sps.rankdata(W, axis=1)
    rho = np.corrcoef(ranks)[np.triu_indices(len(W), k=1)]
    return {
        "mean_rank_correlation": float(np.nanmean(rho)),
        "mean_jaccard_top_k": float(np.mean(jac)),
        "selection_frequency": sel.mean(axis=0),
        "top_k": k,
        "n_fits": len(W),
    }


def minimum_detectable_effect(
    n0: int, n1: int, *, alpha: float = 0.05, power: float = 0.8
) -> dict[str, float]:
    """What a two-group sample of sizes ``n0``/``n1`` can show.

    Returns
    -------
    dict
        ``min_detectable_d``: the smallest true standardised difference (Cohen's d) a two-sided
        t-test detects with ``power`` at ``alpha`` (noncentral t, solved exactly);
        ``n_relabelings``: number of distinct label assignments C(n, n1);
        ``min_p_value_exact``: the smallest p-value a permutation test over subjects can reach
        (1 / C(n, n1) when enumerating, 1/(n_perm+1) with n_perm random permutations).

    Examples
    --------
    >>> out = minimum_detectable_effect(20, 20)
    >>> round(out["min_detectable_d"], 2), out["n_relabelings"]
    (0.91, 137846528820.0)
    """
    from math import comb

    from scipy.optimize import brentq

    df = n0 + n1 - 2
    crit = sps.t.ppf(1 - alpha / 2, df)
    scale = np.sqrt(n0 * n1 / (n0 + n1))

    def power_gap(d: float) -> float:
        nc = d * scale
        return float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc) - power)

    d_min = brentq(power_gap, 1e-6, 10.0 / scale)  # noncentrality <= 10: nct stays finite
    n_rel = comb(n0 + n1, n1)
    return {
        "min_detectable_d": float(d_min),
        "n_relabelings": float(n_rel),
        "min_p_value_exact": 1.0 / n_rel,
        "alpha": alpha,
        "power": power,
    }
