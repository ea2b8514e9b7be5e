"""One inference entry point for fixed-model RSA: :func:`evaluate_models`.

Conventions (these reproduce rsatoolbox's fixed-model evaluation of the 92-image data):

- ``data`` holds **one RDM per subject**. Average sessions first
  (``rdms.average_by("subject")``); the score of a model is the **mean over subjects** of the
  comparison between the model RDM and each subject's RDM (not the comparison with the mean RDM).
- The noise ceiling is the leave-one-subject-out lower bound and the all-subjects upper bound
  (:func:`neurodl.analyses.rsa.noise_ceiling.noise_ceiling`); ``ceiling_zscore=True`` z-scores
  each subject's RDM before averaging (as rsatoolbox does for the 92-image demo).
- Bootstrap is vectorised: every batch of resamples is one array operation. Over conditions,
  a condition drawn twice makes its self-pair undefined; those entries are NaN and ignored.
  A resample where a score is undefined (e.g. a constant RDM) is counted in ``n_degenerate``
  and left out of the CIs, never raising.
- Permutation p-values permute the model RDM's conditions (same permutations for all models),
  one-sided (model better than chance), ``(1 + #null >= observed) / (1 + n_permutations)``.
- Pairwise model comparisons: two-sided bootstrap p-values of score differences when a bootstrap
  was run, else paired t-tests over subjects; corrected with Benjamini-Hochberg FDR.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Literal

import numpy as np

from neurodl.exceptions import ConfigError, DataFormatError

from .compare import _check_method, similarity_matrix
from .noise_ceiling import NoiseCeiling, _ceiling_vectors, noise_ceiling
from .rdm import RDMs

__all__ = ["RSAResult", "evaluate_models", "fdr_bh"]

_BOOTSTRAP = {
    None: (False, False),
    "conditions": (True, False),
    "subjects": (False, True),
    "both": (True, True),
}


def fdr_bh(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN kept), via scipy's ``false_discovery_control``.

    Examples
    --------
    >>> import numpy as np
    >>> fdr_bh(np.array([0.01, 0.04, 0.03, np.nan])).round(3)
    array([0.03, 0.04, 0.04,  nan])
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        try:
            from scipy.stats import false_discovery_control
        except ImportError:  # pragma: no cover - scipy < 1.11
            q = p[ok]
            order = np.argsort(q)
            ranked = q[order] * len(q) / np.arange(1, len(q) + 1)
            adj = np.minimum.accumulate(ranked[::-1])[::-1]
            res = np.empty_like(q)
            res[order] = np.minimum(adj, 1.0)
            out[ok] = res
        else:
            out[ok] = false_discovery_control(p[ok], method="bh")
    return out


@dataclasses.dataclass
class RSAResult:
    """Result of :func:`evaluate_models` (see the module docstring for conventions).

    Attributes
    ----------
    model_names : list of str
    method : str
    scores : ndarray of shape (n_models,)
        Mean over subjects of the model-subject comparison.
    subject_scores : ndarray of shape (n_models, n_subjects)
    noise_ceiling : NoiseCeiling
    bootstrap : str or None
    ci : ndarray of shape (n_models, 2) or None
        Percentile bootstrap confidence intervals.
    ceiling_ci : ndarray of shape (2, 2) or None
        Rows lower/upper bound, columns CI low/high (condition bootstrap only).
    bootstrap_scores : ndarray of shape (n_bootstrap, n_models) or None
    n_degenerate : ndarray of shape (n_models,)
        Bootstrap samples where the score was undefined (excluded from CIs).
    p_values : ndarray of shape (n_models,) or None
        Permutation p-values (model better than chance).
    pairwise_test : str or None
    pairwise_diff, pairwise_p, pairwise_p_fdr : ndarray of shape (n_models, n_models) or None
        ``diff[i, j] = scores[i] - scores[j]``; p-values two-sided, NaN on the diagonal.
    settings : dict

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(15)
    >>> res = evaluate_models(np.stack([truth, rng.random(15)]), truth + 0.1 * rng.normal(size=(4, 15)))
    >>> res.scores.shape, res.subject_scores.shape, res.model_names
    ((2,), (2, 4), ['rdm0', 'rdm1'])
    """

    model_names: list[str]
    method: str
    scores: np.ndarray
    subject_scores: np.ndarray
    noise_ceiling: NoiseCeiling
    bootstrap: str | None = None
    ci: np.ndarray | None = None
    ceiling_ci: np.ndarray | None = None
    bootstrap_scores: np.ndarray | None = None
    n_degenerate: np.ndarray | None = None
    p_values: np.ndarray | None = None
    pairwise_test: str | None = None
    pairwise_diff: np.ndarray | None = None
    pairwise_p: np.ndarray | None = None
    pairwise_p_fdr: np.ndarray | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (bootstrap samples left out), with the conventions spelled out."""
        from neurodl.evaluation._json import to_jsonable

        models = {}
        for i, name in enumerate(self.model_names):
            models[name] = {
                "score": self.scores[i],
                "ci": None if self.ci is None else self.ci[i],
                "p_value": None if self.p_values is None else self.p_values[i],
                "n_degenerate": None if self.n_degenerate is None else self.n_degenerate[i],
                "subject_scores": self.subject_scores[i],
            }
        out = {
            "method": self.method,
            "convention": "score = mean over subjects of "
            f"{self.method}(model RDM, subject RDM); one RDM per subject (sessions averaged)",
            "models": models,
            "noise_ceiling": self.noise_ceiling.to_dict(),
            "ceiling_ci": self.ceiling_ci,
            "bootstrap": self.bootstrap,
            "pairwise_test": self.pairwise_test,
            "pairwise_p_fdr": self.pairwise_p_fdr,
            "settings": self.settings,
        }
        return to_jsonable(out)


def _quiet_nanmean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """NaN-aware mean; all-NaN slices give NaN without a warning (degenerate resamples)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def _pair_index(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


def _gather(mats: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """mats (K, n, n), idx (B, n) -> (B, K, n_pairs) with NaN for self-pairs of repeated conditions."""
    iu0, iu1 = _pair_index(mats.shape[1])
    rows, cols = idx[:, iu0], idx[:, iu1]
    vals = mats[:, rows, cols]  # (K, B, P)
    vals = np.where((rows == cols)[None], np.nan, vals)
    return vals.transpose(1, 0, 2)


def _percentile_ci(samples: np.ndarray, confidence: float) -> np.ndarray:
    """samples (B, K) -> (K, 2) NaN-aware percentile CI."""
    tail = 100 * (1 - confidence) / 2
    out = np.full((samples.shape[1], 2), np.nan)
    for k in range(samples.shape[1]):
        col = samples[:, k]
        col = col[np.isfinite(col)]
        if col.size:
            out[k] = np.percentile(col, [tail, 100 - tail])
    return out


def _check_inputs(models: Any, data: Any) -> tuple[RDMs, RDMs]:
    mods = models if isinstance(models, RDMs) else RDMs(models)
    dat = data if isinstance(data, RDMs) else RDMs(data)
    if mods.n_conditions != dat.n_conditions:
        raise DataFormatError(
            f"'models' and 'data' must share their conditions; got {mods.n_conditions} and "
            f"{dat.n_conditions} conditions."
        )
    return mods, dat


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"'{name}' must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def evaluate_models(
    models: RDMs | Any,
    data: RDMs | Any,
    *,
    method: str = "pearson",
    bootstrap: Literal["conditions", "subjects", "both"] | None = None,
    n_bootstrap: int = 1000,
    n_permutations: int = 0,
    ceiling_zscore: bool = False,
    pairwise: bool = True,
    confidence: float = 0.95,
    batch_size: int = 50,
    seed: int | None = 0,
    progress: Any = None,
) -> RSAResult:
    """Evaluate fixed model RDMs against subjects' data RDMs, with optional inference.

    Parameters
    ----------
    models : RDMs or ndarray of shape (n_models, n_pairs)
    data : RDMs or ndarray of shape (n_subjects, n_pairs)
        One RDM per subject.
    method : str, default='pearson'
        Comparison method: 'pearson', 'spearman', 'kendall_tau_a', 'cosine', 'whitened_cosine',
        'whitened_pearson'.
    bootstrap : {'conditions', 'subjects', 'both'} or None, default=None
        What to resample for CIs and pairwise tests.
    n_bootstrap : int, default=1000
    n_permutations : int, default=0
        Condition-label permutations of the model RDMs for per-model p-values (0: none).
    ceiling_zscore : bool, default=False
        Z-score subjects' RDMs before averaging them in the noise ceiling.
    pairwise : bool, default=True
        Pairwise model comparisons with FDR correction (needs a bootstrap or >= 2 subjects).
    confidence : float, default=0.95
    batch_size : int, default=50
        Resamples per vectorised batch (bounds memory).
    seed : int or None, default=0
    progress : callable, optional
        Called as ``progress(n_done, n_bootstrap)`` after each batch of resamples.

    Returns
    -------
    RSAResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(15)  # condensed RDM of 6 conditions
    >>> data = truth + 0.1 * rng.normal(size=(4, 15))  # 4 subjects
    >>> models = np.stack([truth, rng.random(15)])
    >>> res = evaluate_models(models, data, bootstrap="subjects", n_bootstrap=100)
    >>> bool(res.scores[0] > res.scores[1]), res.ci.shape
    (True, (2, 2))
    >>> bool(res.noise_ceiling.lower <= res.noise_ceiling.upper)
    True
    """
    _check_method(method)
    if bootstrap not in _BOOTSTRAP:
        raise ConfigError(
            f"Invalid value for 'bootstrap'. Allowed: {[k for k in _BOOTSTRAP if k]} or None; got {bootstrap!r}."
        )
    n_bootstrap = _check_count("n_bootstrap", n_bootstrap, 1)
    n_permutations = _check_count("n_permutations", n_permutations, 0)
    batch_size = _check_count("batch_size", batch_size, 1)
    if not 0 < float(confidence) < 1:
        raise ConfigError(f"'confidence' must be in (0, 1); got {confidence!r}.")
    mods, dat = _check_inputs(models, data)
    rng = np.random.default_rng(seed)
    n_cond, n_subj, n_mod = dat.n_conditions, dat.n_rdms, mods.n_rdms

    subject_scores = similarity_matrix(mods.dissimilarities, dat.dissimilarities, method=method)
    scores = _quiet_nanmean(subject_scores, axis=1)
    ceiling = noise_ceiling(dat, method=method, zscore=ceiling_zscore) if n_subj > 1 else None
    if ceiling is None:
        nan = np.full(n_subj, np.nan)
        ceiling = NoiseCeiling(np.nan, np.nan, nan, nan, method, ceiling_zscore)
    result = RSAResult(
        model_names=list(mods.names),
        method=method,
        scores=scores,
        subject_scores=subject_scores,
        noise_ceiling=ceiling,
        bootstrap=bootstrap,
        settings={
            "n_bootstrap": n_bootstrap if bootstrap else 0,
            "n_permutations": n_permutations,
            "ceiling_zscore": ceiling_zscore,
            "confidence": confidence,
            "seed": seed,
            "n_subjects": n_subj,
            "n_conditions": n_cond,
        },
    )
    boot_cond, boot_subj = _BOOTSTRAP[bootstrap]
    if bootstrap is not None:
        if boot_subj and n_subj < 2:
            raise DataFormatError(f"bootstrap over subjects needs >= 2 subject RDMs; got {n_subj}.")
        _run_bootstrap(
            result, mods, dat, boot_cond, boot_subj, n_bootstrap, batch_size, rng, progress
        )
        result.ci = _percentile_ci(result.bootstrap_scores, confidence)
    if n_permutations:
        result.p_values = _permutation_p(mods, dat, scores, method, n_permutations, batch_size, rng)
    if pairwise and n_mod > 1:
        _pairwise(result)
    return result


def _run_bootstrap(
    result: RSAResult,
    mods: RDMs,
    dat: RDMs,
    boot_cond: bool,
    boot_subj: bool,
    n_bootstrap: int,
    batch_size: int,
    rng: np.random.Generator,
    progress: Any = None,
) -> None:
    n_cond, n_subj = dat.n_conditions, dat.n_rdms
    model_mats, data_mats = mods.get_matrices(), dat.get_matrices()
    samples, ceil_samples = [], []
    n_mod, zscore = mods.n_rdms, result.noise_ceiling.zscore
    both = np.concatenate([model_mats, data_mats])
    fast = (
        result.method in _FAST_METHODS
        and bool(np.all(np.isfinite(both)))
        and not np.any(np.diagonal(both, axis1=1, axis2=2))
    )
    flat = both.reshape(len(both), -1)
    for start in range(0, n_bootstrap, batch_size):
        b = min(batch_size, n_bootstrap - start)
        if boot_cond and fast:
            idx = rng.integers(0, n_cond, size=(b, n_cond))
            per_subj, ceil = _fast_condition_sample(flat, idx, n_mod, result.method, zscore)
            if ceil is not None:
                ceil_samples.append(ceil)
        elif boot_cond:
            idx = rng.integers(0, n_cond, size=(b, n_cond))
            mv, dv = _gather(model_mats, idx), _gather(data_mats, idx)  # (b, M, P), (b, S, P)
            per_subj = similarity_matrix(mv, dv, method=result.method)
            if n_subj > 1:
                lo, up = _ceiling_vectors(dv, result.method, result.noise_ceiling.zscore)
                ceil_samples.append(np.stack([_quiet_nanmean(lo), _quiet_nanmean(up)], axis=1))
        else:
            per_subj = np.broadcast_to(result.subject_scores, (b, *result.subject_scores.shape))
        if boot_subj:
            counts = np.zeros((b, n_subj))
            draws = rng.integers(0, n_subj, size=(b, n_subj))
            np.add.at(counts, (np.arange(b)[:, None], draws), 1.0)
        else:
            counts = np.ones((b, n_subj))
        weights = counts[:, None, :] * np.isfinite(per_subj)
        with np.errstate(invalid="ignore", divide="ignore"):
            samples.append(np.nansum(per_subj * counts[:, None, :], axis=-1) / weights.sum(-1))
        if progress is not None:
            progress(start + b, n_bootstrap)
    boot = np.concatenate(samples, axis=0)
    boot[~np.isfinite(boot)] = np.nan
    result.bootstrap_scores = boot
    result.n_degenerate = np.isnan(boot).sum(axis=0)
    if ceil_samples:
        cs = np.concatenate(ceil_samples, axis=0)
        result.ceiling_ci = _percentile_ci(cs, result.settings["confidence"])


_FAST_METHODS = {"pearson": True, "cosine": False}  # method -> centre the vectors


def _fast_condition_sample(
    flat: np.ndarray, idx: np.ndarray, n_mod: int, method: str, zscore: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """One batch of condition resamples for Pearson/cosine with a shared self-pair mask.

    ``flat`` holds the square model and data RDMs, shape (n_models + n_subjects, n * n), with
    zero diagonals, so self-pairs of repeated conditions are 0 and only need masking out of the
    means and norms. Returns per-subject scores (b, n_models, n_subjects) and ceiling means (b, 2).
    """
    n = idx.shape[1]
    iu0, iu1 = np.triu_indices(n, k=1)
    rows, cols = idx[:, iu0], idx[:, iu1]
    w = (rows != cols).astype(float)  # (b, P)
    n_valid = w.sum(-1)
    x = np.take(flat, rows * n + cols, axis=1)  # (K, b, P), self-pairs are 0

    def unit(v: np.ndarray) -> np.ndarray:
        if _FAST_METHODS[method]:
            with np.errstate(invalid="ignore", divide="ignore"):
                v = (v - (v.sum(-1, keepdims=True) / n_valid[:, None])) * w
        else:
            v = v.copy()
        norm = np.sqrt(np.einsum("...p,...p->...", v, v))[..., None]
        ok = (norm > 1e-300) & (n_valid[:, None] >= 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(ok, 1.0 / norm, np.nan)
        v *= scale
        return v

    u = unit(x)
    um, us = u[:n_mod].transpose(1, 0, 2), u[n_mod:].transpose(1, 2, 0)  # (b, M, P), (b, P, S)
    per_subj = np.clip(um @ us, -1.0, 1.0)
    n_subj = len(flat) - n_mod
    if n_subj < 2:
        return per_subj, None
    subj = x[n_mod:]
    if zscore:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = subj.sum(-1, keepdims=True) / n_valid[:, None]
            c = (subj - mean) * w
            subj_avg = c / np.sqrt((c * c).sum(-1, keepdims=True) / n_valid[:, None])
    else:
        subj_avg = subj
    total = subj_avg.sum(0)
    us_ = u[n_mod:]
    upper = np.einsum("sbp,bp->bs", us_, unit(total))
    lower = np.einsum("sbp,sbp->bs", us_, unit((total[None] - subj_avg) / (n_subj - 1)))
    return per_subj, np.stack([_quiet_nanmean(lower), _quiet_nanmean(upper)], axis=1)


def _permutation_p(
    mods: RDMs,
    dat: RDMs,
    scores: np.ndarray,
    method: str,
    n_permutations: int,
    batch_size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    model_mats = mods.get_matrices()
    exceed = np.zeros(mods.n_rdms)
    for start in range(0, n_permutations, batch_size):
        b = min(batch_size, n_permutations - start)
        perms = rng.permuted(np.tile(np.arange(dat.n_conditions), (b, 1)), axis=1)
        mv = _gather(model_mats, perms)
        null = _quiet_nanmean(similarity_matrix(mv, dat.dissimilarities[None], method=method))
        exceed += np.sum(null >= scores[None] - 1e-12, axis=0)
    return (1.0 + exceed) / (1.0 + n_permutations)


def _pairwise(result: RSAResult) -> None:
    n_mod = len(result.model_names)
    diff = result.scores[:, None] - result.scores[None, :]
    p = np.full((n_mod, n_mod), np.nan)
    iu = np.triu_indices(n_mod, k=1)
    if result.bootstrap_scores is not None:
        bs = result.bootstrap_scores
        d = bs[:, :, None] - bs[:, None, :]
        ok = np.isfinite(d)
        n_ok = ok.sum(0)
        le = ((d <= 0) & ok).sum(0)
        ge = ((d >= 0) & ok).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_all = np.minimum(1.0, 2 * (np.minimum(le, ge) + 1) / (n_ok + 1))
        p[iu] = p_all[iu]
        result.pairwise_test = "bootstrap (two-sided, differences of resampled scores)"
    elif result.subject_scores.shape[1] >= 2:
        from scipy.stats import ttest_rel

        ss = result.subject_scores
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # identical scores: p is NaN
            for i, j in zip(*iu, strict=True):
                p[i, j] = ttest_rel(ss[i], ss[j], nan_policy="omit").pvalue
        result.pairwise_test = "paired t-test over subjects (two-sided)"
    else:
        return
    p[(iu[1], iu[0])] = p[iu]
    q = np.full_like(p, np.nan)
    q[iu] = fdr_bh(p[iu])
    q[(iu[1], iu[0])] = q[iu]
    result.pairwise_diff = diff
    result.pairwise_p = p
    result.pairwise_p_fdr = q
