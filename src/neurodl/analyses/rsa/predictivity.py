"""Linear predictivity of neural responses from model features, as Brain-Score computes it.

Protocol (Brain-Score ``neural`` benchmarks, e.g. MajajHong2015): a linear map (PLS regression with
25 components, ``scale=False``, or ridge) is fitted on 90% of the stimuli and tested on the other
10%, over 10 stratified shuffle splits. On held-out stimuli, each neuroid's predictions are
compared with its responses by Pearson r; the split score is the **median over neuroids**, and the
raw score is the mean over splits. The ceiling is the split-half internal consistency over
repetitions: per neuroid, Pearson r between the mean responses of two random halves of the
repetitions, Spearman-Brown corrected ``2r / (1 + r)``, median over neuroids, mean over 10 splits.
The ceiled score is ``raw / ceiling`` (the convention is recorded in every result: not squared).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from neurodl._logging import logger
from neurodl.exceptions import ConfigError, DataFormatError

__all__ = ["CONVENTION", "linear_predictivity", "split_half_ceiling"]

CONVENTION = (
    "ceiled_score = raw_score / ceiling (not squared); raw_score = mean over splits of the median "
    "over neuroids of held-out Pearson r; ceiling = split-half Spearman-Brown consistency"
)


def _pls(n_components: int, alpha: float) -> Any:
    from sklearn.cross_decomposition import PLSRegression

    return PLSRegression(n_components=n_components, scale=False)


def _ridge(n_components: int, alpha: float) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=alpha)


_REGRESSIONS: dict[str, Callable[[int, float], Any]] = {"pls": _pls, "ridge": _ridge}


def _columnwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(0)
    b = b - b.mean(0)
    den = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(0) / den
    return np.where(den > 0, r, np.nan)


def split_half_ceiling(
    repetitions: Any, *, n_splits: int = 10, seed: int | None = 0
) -> tuple[float, np.ndarray]:
    """Split-half internal consistency, Spearman-Brown corrected.

    Parameters
    ----------
    repetitions : ndarray of shape (n_repetitions, n_stimuli, n_neuroids)
    n_splits : int, default=10
    seed : int or None, default=0

    Returns
    -------
    ceiling : float
        Mean over splits of the median over neuroids.
    per_neuroid : ndarray of shape (n_neuroids,)
        Corrected consistency per neuroid, averaged over splits.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(30, 4))
    >>> reps = signal + 0.3 * rng.normal(size=(6, 30, 4))  # 6 repetitions, 30 stimuli, 4 neuroids
    >>> ceiling, per_neuroid = split_half_ceiling(reps, n_splits=5)
    >>> per_neuroid.shape, bool(ceiling > 0.9)
    ((4,), True)
    """
    R = np.asarray(repetitions, dtype=float)
    if R.ndim != 3 or R.shape[0] < 2:
        raise DataFormatError(
            f"'repetitions' must have shape (n_repetitions >= 2, n_stimuli, n_neuroids); got {R.shape}."
        )
    rng = np.random.default_rng(seed)
    per, meds = [], []
    for _ in range(n_splits):
        order = rng.permutation(R.shape[0])
        half = R.shape[0] // 2
        r = _columnwise_pearson(R[order[:half]].mean(0), R[order[half:]].mean(0))
        with np.errstate(invalid="ignore", divide="ignore"):
            sb = 2 * r / (1 + r)
        per.append(sb)
        meds.append(np.nanmedian(sb))
    return float(np.mean(meds)), np.nanmean(np.stack(per), axis=0)


def linear_predictivity(
    features: Any,
    responses: Any,
    *,
    regression: str = "pls",
    n_components: int = 25,
    alpha: float = 1.0,
    n_splits: int = 10,
    test_size: float = 0.1,
    stratify: Any = None,
    repetitions: Any = None,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Brain-Score-style linear predictivity of neural responses from features.

    Parameters
    ----------
    features : ndarray of shape (n_stimuli, n_features)
    responses : ndarray of shape (n_stimuli, n_neuroids)
        Repetition-averaged responses.
    regression : {'pls', 'ridge'}, default='pls'
    n_components : int, default=25
        PLS components (capped at the training set size and feature count).
    alpha : float, default=1.0
        Ridge penalty.
    n_splits : int, default=10
    test_size : float, default=0.1
    stratify : array-like of shape (n_stimuli,), optional
        Labels (e.g. object category) for :class:`~sklearn.model_selection.StratifiedShuffleSplit`;
        without them, :class:`~sklearn.model_selection.ShuffleSplit`.
    repetitions : ndarray of shape (n_repetitions, n_stimuli, n_neuroids), optional
        Single-repetition responses for the split-half ceiling.
    seed : int or None, default=0

    Returns
    -------
    result : dict
        ``raw_score`` (float), ``split_scores`` (list), ``per_neuroid_r`` (ndarray, mean over
        splits), ``ceiling`` (float or None), ``ceiled_score`` (float or None), ``convention``,
        and the settings.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> features = rng.normal(size=(60, 8))
    >>> responses = features @ rng.normal(size=(8, 5)) + 0.1 * rng.normal(size=(60, 5))
    >>> out = linear_predictivity(features, responses, regression="ridge", n_splits=3)
    >>> out["per_neuroid_r"].shape, len(out["split_scores"]), bool(out["raw_score"] > 0.9)
    ((5,), 3, True)
    """
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    if regression not in _REGRESSIONS:
        raise ConfigError(
            f"Invalid value for 'regression'. Allowed: {sorted(_REGRESSIONS)}; got {regression!r}."
        )
    X = np.asarray(features, dtype=float)
    Y = np.asarray(responses, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise DataFormatError(
            f"'features' (n_stimuli, n_features) and 'responses' (n_stimuli, n_neuroids) must share "
            f"their first axis; got shapes {X.shape} and {Y.shape}."
        )
    if not 0 < test_size < 1:
        raise ConfigError(f"'test_size' must be in (0, 1); got {test_size!r}.")
    if stratify is None:
        splitter = ShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=seed)
        split_iter = splitter.split(X)
    else:
        labels = np.asarray(stratify)
        if labels.shape != (X.shape[0],):
            raise DataFormatError(
                f"'stratify' must have shape ({X.shape[0]},); got {labels.shape}."
            )
        splitter = StratifiedShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=seed)
        split_iter = splitter.split(X, labels)
    from sklearn.exceptions import ConvergenceWarning

    split_scores, per_neuroid = [], []
    n_unconverged = 0
    for train, test in split_iter:
        n_comp = max(1, min(n_components, len(train) - 1, X.shape[1]))
        model = _REGRESSIONS[regression](n_comp, alpha)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X[train], Y[train])
        n_unconverged += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        pred = np.asarray(model.predict(X[test])).reshape(len(test), -1)
        r = _columnwise_pearson(pred, Y[test])
        per_neuroid.append(r)
        split_scores.append(float(np.nanmedian(r)))
    if n_unconverged:
        logger.info(
            "linear_predictivity: %d PLS components hit max_iter (late, noise-only components).",
            n_unconverged,
        )
    raw = float(np.mean(split_scores))
    ceiling = None
    if repetitions is not None:
        ceiling, _ = split_half_ceiling(repetitions, n_splits=n_splits, seed=seed)
    return {
        "raw_score": raw,
        "split_scores": split_scores,
        "per_neuroid_r": np.nanmean(np.stack(per_neuroid), axis=0),
        "ceiling": ceiling,
        "ceiled_score": None if ceiling is None else raw / ceiling,
        "convention": CONVENTION,
        "regression": regression,
        "n_components": n_components if regression == "pls" else None,
        "alpha": alpha if regression == "ridge" else None,
        "n_splits": n_splits,
        "test_size": test_size,
        "stratified": stratify is not None,
        "n_convergence_warnings": n_unconverged,
    }
