"""Paired comparison of two models cross-validated on the same splits.

Why the corrected resampled t-test
----------------------------------
Two models scored on the same folds give one score difference per fold. The differences are
paired (same test samples), which removes the fold-to-fold variation both models share, but they
are not independent: the training sets of k-fold splits overlap, so a plain paired t-test on fold
differences underestimates the variance and rejects far too often (Dietterich 1998; Nadeau &
Bengio 2003). Nadeau & Bengio's correction inflates the variance of the mean difference from
``1/J`` to ``1/J + n_test/n_train``; Bouckaert & Frank (2004) found it keeps the type I error near
its nominal level where the naive test does not, and it is the test scikit-learn's model
comparison example uses. A sign-flip permutation test on the differences would be exact only for
independent differences (not the case for overlapping training sets) and, with the five folds
most protocols give, could never reach p < 0.05 (smallest attainable p = 2/32). The false-positive
rate of :func:`compare_models` on simulated equal models is checked in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ConfigError

__all__ = ["PairedComparison", "compare_models", "corrected_resampled_ttest"]

#: Name of the test used by :func:`compare_models` (recorded in every comparison).
COMPARISON_METHOD = (
    "corrected resampled t-test on per-split score differences (Nadeau & Bengio 2003): variance "
    "of the mean difference inflated by 1/J + n_test/n_train for overlapping training sets"
)


@dataclass(frozen=True)
class PairedComparison:
    """Result of comparing model ``a`` with model ``b`` on the same splits.

    Attributes
    ----------
    model_a, model_b : str
        Names of the two models; differences are ``a - b``.
    metric : str
        The score compared (higher is better unless ``greater_is_better`` is False).
    difference : float
        Mean per-split score difference ``a - b``.
    ci : tuple of float
        Confidence interval of the mean difference (same corrected variance as the test).
    ci_level : float
        Level of ``ci``.
    p_value : float
        Two-sided p-value of "no difference in expected score".
    n_splits : int
        Number of splits whose difference entered the test (finite in both models).
    greater_is_better : bool
        Direction of the metric, used by :meth:`verdict`.
    method : str
        The test (see the module docstring).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from sklearn.dummy import DummyClassifier
    >>> from neurodl.data import EpochsDataset
    >>> from neurodl.evaluation import cross_validate
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 30)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 20)})
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + y[:, None], y=y, metadata=md)
    >>> lda = cross_validate(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out")
    >>> dummy = cross_validate(DummyClassifier(), ds, "leave-one-subject-out")
    >>> res = compare_models(lda, dummy, names=("lda", "dummy"))
    >>> res.model_a, res.n_splits, res.ci_level, bool(res.ci[0] < res.difference < res.ci[1])
    ('lda', 3, 0.95, True)
    """

    model_a: str
    model_b: str
    metric: str
    difference: float
    ci: tuple[float, float]
    ci_level: float
    p_value: float
    n_splits: int
    greater_is_better: bool = True
    method: str = COMPARISON_METHOD

    def verdict(self, alpha: float = 0.05) -> str:
        """One sentence a reader can act on, e.g. "mlp did not beat lda: difference ...".

        Examples
        --------
        >>> PairedComparison("mlp", "lda", "balanced_accuracy", -0.008, (-0.05, 0.03), 0.95,
        ...                  0.62, 40).verdict()
        "'mlp' did not beat 'lda' on the same splits: difference -0.008 [-0.050, 0.030], p = 0.62."
        """
        better = self.difference > 0 if self.greater_is_better else self.difference < 0
        if not np.isfinite(self.p_value):
            head = f"{self.model_a!r} and {self.model_b!r} could not be compared"
        elif self.p_value < alpha and better:
            head = f"{self.model_a!r} beat {self.model_b!r}"
        elif self.p_value < alpha:
            head = f"{self.model_a!r} scored worse than {self.model_b!r}"
        else:
            head = f"{self.model_a!r} did not beat {self.model_b!r}"
        lo, hi = self.ci
        return (
            f"{head} on the same splits: difference {self.difference:.3f} "
            f"[{lo:.3f}, {hi:.3f}], p = {self.p_value:.2g}."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every attribute."""
        return {
            "model_a": self.model_a,
            "model_b": self.model_b,
            "metric": self.metric,
            "difference": float(self.difference),
            "ci": [float(self.ci[0]), float(self.ci[1])],
            "ci_level": float(self.ci_level),
            "p_value": float(self.p_value),
            "n_splits": int(self.n_splits),
            "greater_is_better": bool(self.greater_is_better),
            "method": self.method,
        }


def corrected_resampled_ttest(
    differences: Any, n_train: Any, n_test: Any, *, ci: float = 0.95
) -> tuple[float, tuple[float, float], float]:
    """Mean, confidence interval and two-sided p-value of per-split differences.

    Parameters
    ----------
    differences : array-like of shape (n_splits,)
        Score of model a minus score of model b on each split.
    n_train, n_test : array-like of shape (n_splits,) or int
        Training and test set sizes of each split (their mean ratio sets the correction).
    ci : float, default=0.95
        Level of the interval.

    Returns
    -------
    mean : float
    interval : tuple of float
    p_value : float
        NaN with fewer than 2 splits. When every difference is identical the variance is 0:
        p = 1 for a zero difference and 0 otherwise.

    Examples
    --------
    >>> m, (lo, hi), p = corrected_resampled_ttest([0.1, 0.12, 0.08, 0.11, 0.09], 80, 20)
    >>> round(m, 3), p < 0.05
    (0.1, True)
    """
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    n = len(d)
    if n < 2:
        return (
            (float(np.mean(d)) if n else float("nan")),
            (float("nan"), float("nan")),
            float("nan"),
        )
    ratio = float(np.mean(np.broadcast_to(np.asarray(n_test, float), d.shape))) / float(
        np.mean(np.broadcast_to(np.asarray(n_train, float), d.shape))
    )
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    se = np.sqrt((1.0 / n + ratio) * var)
    if se == 0:
        return mean, (mean, mean), 1.0 if mean == 0 else 0.0
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), df=n - 1))
    half = float(stats.t.ppf(0.5 + ci / 2, df=n - 1) * se)
    return mean, (mean - half, mean + half), p


def compare_models(
    cv_a: Any,
    cv_b: Any,
    *,
    names: tuple[str, str] = ("a", "b"),
    ci: float = 0.95,
) -> PairedComparison:
    """Compare two :class:`~neurodl.evaluation.CVResult` computed on the same splits.

    Parameters
    ----------
    cv_a, cv_b : CVResult
        Cross-validation results of the two models; their test indices must match split by
        split (run both with the same protocol, dataset and seed).
    names : tuple of str
        Names used in the result and its verdict.
    ci : float, default=0.95
        Level of the interval of the mean difference.

    Returns
    -------
    PairedComparison

    Raises
    ------
    ConfigError
        When the two results were not computed on the same splits or metric.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from sklearn.dummy import DummyClassifier
    >>> from neurodl.data import EpochsDataset
    >>> from neurodl.evaluation import cross_validate
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 30)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 20)})
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + y[:, None], y=y, metadata=md)
    >>> lda = cross_validate(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out")
    >>> dummy = cross_validate(DummyClassifier(), ds, "leave-one-subject-out")
    >>> res = compare_models(lda, dummy, names=("lda", "dummy"))
    >>> bool(res.difference > 0.2), bool(res.p_value < 0.05)
    (True, True)
    """
    if cv_a.metric != cv_b.metric:
        raise ConfigError(
            f"Invalid comparison: the models were scored with different metrics "
            f"({cv_a.metric!r} vs {cv_b.metric!r})."
        )
    same = len(cv_a.test_indices) == len(cv_b.test_indices) and all(
        np.array_equal(a, b) for a, b in zip(cv_a.test_indices, cv_b.test_indices)
    )
    if not same:
        raise ConfigError(
            "Invalid comparison: the two cross-validation results were not computed on the same "
            "splits (test indices differ); run both with the same protocol, data and seed."
        )
    from .metrics import METRICS

    a, b = np.asarray(cv_a.scores, float), np.asarray(cv_b.scores, float)
    ok = np.isfinite(a) & np.isfinite(b)
    mean, interval, p = corrected_resampled_ttest(
        a[ok] - b[ok], np.asarray(cv_a.n_train)[ok], np.asarray(cv_a.n_test)[ok], ci=ci
    )
    metric = METRICS.get(cv_a.metric)
    return PairedComparison(
        model_a=names[0],
        model_b=names[1],
        metric=cv_a.metric,
        difference=mean,
        ci=interval,
        ci_level=ci,
        p_value=p,
        n_splits=int(ok.sum()),
        greater_is_better=True if metric is None else bool(metric.greater_is_better),
    )
