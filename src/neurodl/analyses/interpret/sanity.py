"""Sanity checks of attribution maps (Adebayo et al. 2018, NeurIPS) and their stability.

A map that explains the model must change when the model is destroyed. The *model
randomisation* check re-initialises the network's layers one by one from the top (cascading,
ending with every layer random) and the *label randomisation* check refits the model on
permuted labels; each compares the map before and after by Spearman rank correlation of its
absolute values. A map whose rank correlation stays above :data:`SANITY_THRESHOLD` (0.5) after
full randomisation describes the input, not the model, and fails. :func:`map_stability` is
the mean pairwise rank correlation of maps across folds or seeds.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "MIN_MAP_VALUES",
    "SANITY_THRESHOLD",
    "SanityCheck",
    "fit_on_permuted_labels",
    "label_randomisation",
    "map_stability",
    "model_randomisation",
    "rank_correlation",
    "sanity_verdict",
]

#: Rank correlation above which a map "survives" randomisation (and so fails the check).
SANITY_THRESHOLD = 0.5
#: Fewest map values for a verdict. Two unrelated maps of n values have a Spearman correlation
#: with SD about 1/sqrt(n - 1): below 12 values it exceeds 0.5 by chance more than 5% of the time
#: (t-approximation), so a per-channel map of 8 channels would pass or fail with the data's seed.
MIN_MAP_VALUES = 12


@dataclass
class SanityCheck:
    """One row of the sanity-check table.

    Attributes
    ----------
    check : str
        ``model randomisation`` or ``label randomisation``.
    step : str
        The layer re-initialised last (cascading: every layer above it is random too),
        ``all layers`` (full randomisation), or ``refit on permuted labels``.
    rank_correlation : float or None
        Spearman correlation of |map| before and after (None when a map is constant).
    verdict : str
        ``fail`` (survives: correlation > threshold), ``pass`` or ``undefined`` (a constant
        map, or fewer than :data:`MIN_MAP_VALUES` values: too few to tell chance from survival).
    final : bool
        Whether this row decides the check (full randomisation; the label refit).

    Examples
    --------
    >>> row = SanityCheck("model randomisation", "all layers", 0.1, "pass")
    >>> row.verdict, row.final, sanity_verdict([row])
    ('pass', True, 'pass')
    """

    check: str
    step: str
    rank_correlation: float | None
    verdict: str
    final: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for results and tables)."""
        return dict(self.__dict__)


def rank_correlation(a: Any, b: Any) -> float | None:
    """Spearman rank correlation of ``|a|`` and ``|b|`` (same shape); None if one is constant.

    Examples
    --------
    >>> rank_correlation([1.0, -2.0, 3.0], [0.1, 0.2, 0.3]), rank_correlation([1, 1, 1], [1, 2, 3])
    (1.0, None)
    """
    from scipy.stats import spearmanr

    a, b = np.abs(np.asarray(a, float)), np.abs(np.asarray(b, float))
    if a.shape != b.shape:
        raise DataFormatError(
            f"Maps to compare must have the same shape; got {a.shape} and {b.shape}."
        )
    a, b = a.ravel(), b.ravel()
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    rho = float(spearmanr(a, b).statistic)
    return rho if np.isfinite(rho) else None


def _verdict(rho: float | None, threshold: float, n_values: int | None = None) -> str:
    if rho is None or (n_values is not None and n_values < MIN_MAP_VALUES):
        return "undefined"
    return "fail" if rho > threshold else "pass"


def _check_threshold(threshold: Any) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not -1 <= threshold < 1
    ):
        raise ConfigError(
            f"Invalid value for 'threshold'. Allowed: a float in [-1, 1); got {threshold!r}."
        )
    return float(threshold)


def _parametrised_layers(module: Any) -> list[tuple[str, Any]]:
    """Leaf-most modules owning parameters, in registration (input-to-output) order."""
    return [
        (name or type(m).__name__, m)
        for name, m in module.named_modules()
        if any(True for _ in m.parameters(recurse=False))
    ]


def _reinit(module: Any, seed: int) -> None:
    import torch

    with torch.no_grad():
        torch.manual_seed(seed)
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
            if hasattr(module, "running_mean") and module.running_mean is not None:
                # a batch norm reset to identity would leave the map unchanged: randomise it
                module.weight.normal_(0.0, 1.0)
                module.bias.normal_(0.0, 1.0)
            return
        for p in module.parameters(recurse=False):
            p.normal_(0.0, float(p.detach().std()) if p.numel() > 1 else 1.0)


def _neural_part(estimator: Any) -> Any:
    from sklearn.pipeline import Pipeline

    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def model_randomisation(
    estimator: Any,
    explain: Callable[[Any], np.ndarray],
    *,
    reference: np.ndarray | None = None,
    cascade: bool = True,
    threshold: float = SANITY_THRESHOLD,
    seed: int = 0,
) -> list[SanityCheck]:
    """Model-randomisation check: rank correlation of the map before and after re-initialising.

    Parameters
    ----------
    estimator : fitted NeuralClassifier/NeuralRegressor, linear model, or Pipeline ending in one
        Networks: each parametrised layer is re-initialised in turn from the output layer down
        (cascading; batch-norm scales and shifts drawn from N(0, 1)). Linear models
        (``coef_``): the weights and intercept are replaced by Gaussian draws of the same scale.
        The estimator itself is not modified (a deep copy is randomised).
    explain : callable
        ``explain(estimator) -> map`` of any fixed shape (e.g. mean |attribution| per channel
        and time over the explained samples).
    reference : ndarray, optional
        The map of the intact model (default ``explain(estimator)``).
    cascade : bool, default=True
        One row per layer (cascading) or only the full randomisation.
    threshold : float, default=0.5
    seed : int, default=0

    Returns
    -------
    list of SanityCheck
        Cascading rows (``final=False``) then the full randomisation (``final=True``).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 16))
    >>> X[:, 0] += 2 * y
    >>> explain = lambda est: np.abs(est.coef_[0])  # the map: |weights| per feature
    >>> clf = LogisticRegression().fit(X, y)
    >>> rows = model_randomisation(clf, explain, reference=explain(clf))
    >>> [(r.step, r.verdict) for r in rows]
    [('all layers', 'pass')]
    """
    threshold = _check_threshold(threshold)
    ref = explain(estimator) if reference is None else np.asarray(reference)
    est_copy = copy.deepcopy(estimator)
    part = _neural_part(est_copy)
    rows: list[SanityCheck] = []
    if hasattr(part, "model_") and hasattr(part, "_task"):
        layers = _parametrised_layers(part.model_)[::-1]
        if not layers:
            raise ConfigError("The network has no parameters to randomise.")
        for i, (name, layer) in enumerate(layers):
            _reinit(layer, seed + i)
            last = i == len(layers) - 1
            if cascade or last:
                rho = rank_correlation(ref, explain(est_copy))
                rows.append(
                    SanityCheck(
                        "model randomisation",
                        "all layers" if last else f"top down to {name}",
                        rho,
                        _verdict(rho, threshold, np.size(ref)),
                        final=last,
                    )
                )
        return rows
    if getattr(part, "coef_", None) is not None:
        rng = np.random.default_rng(seed)
        coef = np.asarray(part.coef_, float)
        part.coef_ = rng.normal(0.0, coef.std() or 1.0, coef.shape)
        if hasattr(part, "intercept_"):
            icpt = np.asarray(part.intercept_, float)
            part.intercept_ = rng.normal(0.0, icpt.std() or 1.0, icpt.shape)
        rho = rank_correlation(ref, explain(est_copy))
        verdict = _verdict(rho, threshold, np.size(ref))
        return [SanityCheck("model randomisation", "all layers", rho, verdict)]
    raise ConfigError(
        "Invalid value for 'estimator'. Allowed: a fitted NeuralClassifier/NeuralRegressor or a "
        f"linear model with coef_ (or a Pipeline ending in one); got {type(part).__name__}."
    )


def label_randomisation(
    estimator: Any,
    X: Any,
    y: Any,
    explain: Callable[[Any], np.ndarray],
    *,
    reference: np.ndarray,
    threshold: float = SANITY_THRESHOLD,
    seed: int = 0,
    permuted_model: Any = None,
) -> SanityCheck:
    """Data-randomisation check: refit a clone on permuted labels and compare the maps.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Cloned (unfitted) and fitted on ``X`` with labels permuted by ``seed``.
    X : ndarray of shape (n_samples, ...)
        Training samples (those the intact model was fitted on).
    y : ndarray of shape (n_samples,)
    explain : callable
        ``explain(fitted estimator) -> map``.
    reference : ndarray
        The intact model's map.
    threshold : float, default=0.5
    seed : int, default=0
    permuted_model : fitted estimator, optional
        A model already fitted by :func:`fit_on_permuted_labels` (reused across methods).

    Returns
    -------
    SanityCheck

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 16))
    >>> X[:, 0] += 2 * y
    >>> explain = lambda est: np.abs(est.coef_[0])  # the map: |weights| per feature
    >>> clf = LogisticRegression().fit(X, y)
    >>> row = label_randomisation(LogisticRegression(), X, y, explain, reference=explain(clf))
    >>> row.check, row.step, row.verdict
    ('label randomisation', 'refit on permuted labels', 'pass')
    """
    threshold = _check_threshold(threshold)
    fitted = permuted_model
    if fitted is None:
        fitted = fit_on_permuted_labels(estimator, X, y, seed=seed)
    rho = rank_correlation(reference, explain(fitted))
    verdict = _verdict(rho, threshold, np.size(reference))
    return SanityCheck("label randomisation", "refit on permuted labels", rho, verdict)


def fit_on_permuted_labels(
    estimator: Any, X: Any, y: Any, *, seed: int = 0, fit_params: dict[str, Any] | None = None
) -> Any:
    """A clone of ``estimator`` fitted on ``X`` with the labels ``y`` permuted by ``seed``
    (``fit_params``, e.g. the samples' ``groups``, passed to ``fit`` as they are).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.random.default_rng(0).standard_normal((20, 3)), np.repeat([0, 1], 10)
    >>> est = LogisticRegression()
    >>> permuted = fit_on_permuted_labels(est, X, y, seed=0)
    >>> permuted is est, permuted.coef_.shape
    (False, (1, 3))
    """
    from sklearn.base import clone

    y = np.asarray(y)
    if len(y) != len(X):
        raise DataFormatError(f"'y' has {len(y)} entries but X has {len(X)} samples.")
    rng = np.random.default_rng(seed)
    return clone(estimator).fit(X, y[rng.permutation(len(y))], **(fit_params or {}))


def map_stability(maps: Sequence[Any]) -> float | None:
    """Mean pairwise Spearman rank correlation of ``|map|`` over maps (folds or seeds).

    Parameters
    ----------
    maps : sequence of ndarray, all of one shape
        At least 2.

    Returns
    -------
    float or None
        None when every pair is undefined (constant maps).

    Examples
    --------
    >>> base = np.arange(10.0)
    >>> round(map_stability([base, base + 0.1, base[::-1]]), 2)
    -0.33
    """
    maps = [np.asarray(m, float) for m in maps]
    if len(maps) < 2:
        raise ConfigError(f"Invalid value for 'maps'. Allowed: at least 2 maps; got {len(maps)}.")
    rhos = [rank_correlation(a, b) for a, b in itertools.combinations(maps, 2)]
    rhos = [r for r in rhos if r is not None]
    return float(np.mean(rhos)) if rhos else None


def sanity_verdict(checks: Sequence[SanityCheck]) -> str:
    """``fail`` if any deciding row fails, ``pass`` if all pass, else ``undefined``.

    Examples
    --------
    >>> rows = [SanityCheck("model randomisation", "all layers", 0.1, "pass"),
    ...         SanityCheck("label randomisation", "refit on permuted labels", 0.9, "fail")]
    >>> sanity_verdict(rows), sanity_verdict(rows[:1])
    ('fail', 'pass')
    """
    final = [c.verdict for c in checks if c.final]
    if "fail" in final:
        return "fail"
    if final and all(v == "pass" for v in final):
        return "pass"
    return "undefined"
