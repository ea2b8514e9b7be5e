"""Cross-validated decoding: one or two models, their statistics, and a paired comparison."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._logging import logger
from ...exceptions import ConfigError

__all__ = ["DecodingResult", "ModelScores", "decode", "score_ci"]

#: ``progress(label)`` -> a context manager giving a ``callback(n_done, n_total)``.
ProgressFactory = Callable[[str], AbstractContextManager[Callable[[int, int], Any] | None]]


@contextmanager
def _no_progress(label: str) -> Iterator[None]:
    yield None


@dataclass
class ModelScores:
    """One model's cross-validated score and the statistics computed for it alone.

    Attributes
    ----------
    name : str
        The model's name in the result (e.g. ``"mlp"``).
    cv : CVResult
        Fold scores, pooled predictions and timings.
    score : float
        Mean score over splits (or blocks; see the protocol).
    ci : tuple of float
        Confidence interval of ``score``; ``ci_method`` says how it was obtained.
    ci_method : str
    permutation : PermutationResult or None
        This model's own permutation test, when computed: refitting this model on every
        permutation (``permutation.method == "refit"``) or permuting its held-out labels
        (``"held_out"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1, 2], 20)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 20)})
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + np.eye(3)[y], y=y, metadata=md,
    ...                    classes=["left", "right", "feet"])
    >>> res = decode(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out", name="lda",
    ...              n_boot=200)
    >>> m = res.models["lda"]
    >>> m.cv.scores.shape, bool(m.ci[0] <= m.score <= m.ci[1]), m.permutation is None
    ((3,), True, True)
    """

    name: str
    cv: Any
    score: float
    ci: tuple[float, float]
    ci_method: str
    permutation: Any = None

    @property
    def p_value(self) -> float | None:
        """This model's permutation p-value (None when not computed)."""
        return None if self.permutation is None else float(self.permutation.p_value)

    @property
    def timing(self) -> dict[str, float]:
        """Mean fit time per split and predict time per test sample, in seconds."""
        n_test = max(int(np.sum(self.cv.n_test)), 1)
        return {
            "fit_time_s_per_fold": float(np.mean(self.cv.fit_times)),
            "predict_time_s_per_sample": float(np.sum(self.cv.score_times) / n_test),
        }


@dataclass
class DecodingResult:
    """What :func:`decode` found.

    Attributes
    ----------
    models : dict of str to ModelScores
        The main model first, then the baseline (if any); every statistic belongs to its model.
    main : str
        Name of the main model.
    baseline : str or None
        Name of the baseline model.
    comparison : PairedComparison or None
        Main model minus baseline on the same splits.
    metric : str
    protocol : Protocol
    chance_level : float
        Chance level of the metric for these labels.
    ci_level : float
    seed : int

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1, 2], 20)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 20)})
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + np.eye(3)[y], y=y, metadata=md,
    ...                    classes=["left", "right", "feet"])
    >>> res = decode(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out", name="lda",
    ...              n_boot=200)
    >>> res.main, list(res.models), round(res.chance_level, 3), res.metric
    ('lda', ['lda'], 0.333, 'balanced_accuracy')
    """

    models: dict[str, ModelScores]
    main: str
    metric: str
    protocol: Any
    chance_level: float
    ci_level: float
    seed: int
    baseline: str | None = None
    comparison: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def main_scores(self) -> ModelScores:
        """The main model's :class:`ModelScores`."""
        return self.models[self.main]

    @property
    def score(self) -> float:
        """The main model's score."""
        return self.main_scores.score

    @property
    def p_value(self) -> float | None:
        """The main model's own permutation p-value (None when not computed)."""
        return self.main_scores.p_value


def score_ci(
    cv: Any, metric: str, *, n_boot: int = 1000, ci: float = 0.95
) -> tuple[tuple[float, float], str]:
    """CI of a cross-validated score: over blocks when there are enough, else test samples.

    Parameters
    ----------
    cv : CVResult
    metric : str
        The metric ``cv`` was scored with.
    n_boot : int
        Bootstrap resamples; 0 gives a t-interval over fold scores instead.
    ci : float
        Confidence level.

    Returns
    -------
    (low, high), method : tuple of float, str
        The interval and a sentence saying how it was computed.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1, 2], 20)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 20)})
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + np.eye(3)[y], y=y, metadata=md,
    ...                    classes=["left", "right", "feet"])
    >>> from neurodl.evaluation import cross_validate
    >>> cv = cross_validate(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out")
    >>> (low, high), how = score_ci(cv, "balanced_accuracy", n_boot=200)
    >>> bool(low <= cv.score <= high), isinstance(how, str)
    (True, True)
    """
    from ...evaluation import bootstrap_ci, fold_ci

    if not n_boot:
        finite = np.asarray(cv.scores, float)[np.isfinite(cv.scores)]
        if len(finite) < 2:
            return (float("nan"), float("nan")), "none (fewer than 2 finite fold scores)"
        iv = fold_ci(finite, ci=ci)
        return (iv.low, iv.high), "t-interval over fold scores (approximate: folds share data)"
    blocks = np.array([v for v in cv.block_scores.values() if np.isfinite(v)])
    if len(blocks) >= 4:
        iv = bootstrap_ci(blocks, None, n_boot=n_boot, ci=ci, seed=0)
        return (iv.low, iv.high), (
            f"percentile bootstrap over the {len(blocks)} blocks' scores "
            f"(blocks: {cv.protocol.get('name', '')} units)"
        )
    pred = cv.y_score if metric == "roc_auc" else cv.y_pred
    iv = bootstrap_ci((cv.y_true, pred), metric, n_boot=n_boot, ci=ci, seed=0)
    return (iv.low, iv.high), "percentile bootstrap over pooled test predictions"


def _n_perm(n_permutations: int | dict[str, int], name: str) -> int:
    if isinstance(n_permutations, dict):
        return int(n_permutations.get(name, 0))
    return int(n_permutations)


def decode(
    estimator: Any,
    dataset: Any,
    protocol: Any = "within-session",
    metric: str = "balanced_accuracy",
    *,
    baseline: Any = None,
    name: str = "model",
    baseline_name: str = "baseline",
    seed: int = 0,
    n_permutations: int | dict[str, int] = 0,
    held_out_permutations: int | dict[str, int] = 0,
    n_boot: int = 1000,
    ci: float = 0.95,
    n_jobs: int | None = 1,
    progress: ProgressFactory | None = None,
) -> DecodingResult:
    """Cross-validate a decoder (and optionally a baseline on the same splits) with statistics.

    Each model gets its own score, confidence interval and, when ``n_permutations`` asks for
    it, its own permutation p-value (labels permuted within the protocol's
    :attr:`~neurodl.evaluation.Protocol.permute_within` blocks, the model refitted on every
    permutation). With a baseline, the two are compared on the same splits with
    :func:`~neurodl.evaluation.compare_models` (corrected resampled t-test).

    Parameters
    ----------
    estimator : scikit-learn estimator or callable
        The main model (unfitted; cloned per fold), or a factory returning one. Epoch callbacks
        attached to it (e.g. :class:`~neurodl.analyses.decoding.LearningCurves`) see only the
        cross-validation fits, not the permutation refits.
    dataset : EpochsDataset
        Labelled samples ``X`` of shape (n_samples, ...) with metadata.
    protocol : str or Protocol, default="within-session"
        See :func:`neurodl.evaluation.get_protocol`.
    metric : str, default="balanced_accuracy"
        A key of :data:`neurodl.evaluation.METRICS`.
    baseline : scikit-learn estimator or callable, optional
        A second model cross-validated on the same splits.
    name, baseline_name : str
        Names of the two models in the result (must differ).
    seed : int, default=0
        Seed of the splits, the estimators' clones and the permutations.
    n_permutations : int or dict of str to int, default=0
        Permutations per model: one number for every model, or ``{name: n}`` (models not
        named get none). 0 skips the test.
    held_out_permutations : int or dict of str to int, default=0
        For models without a refitting test: permutations of their held-out labels
        (:func:`~neurodl.evaluation.held_out_permutation_test`: each fold's trained model kept,
        no refit), so that a network too costly to refit hundreds of times still gets its own
        p-value. Same form as ``n_permutations``.
    n_boot : int, default=1000
        Bootstrap resamples of each score's CI (0: t-interval over folds).
    ci : float, default=0.95
        Level of every interval.
    n_jobs : int or None, default=1
        Folds (and permutations) in parallel with joblib when not 1.
    progress : callable, optional
        ``progress(label)`` returning a context manager that yields ``callback(done, total)``
        (the CLI passes its progress bars).

    Returns
    -------
    DecodingResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA
    >>> from sklearn.dummy import DummyClassifier
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 40)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2"], 40), "session": "1"})
    >>> ds = EpochsDataset(rng.normal(size=(80, 3)) + y[:, None], y, md)
    >>> res = decode(LDA(), ds, baseline=DummyClassifier(), name="lda", baseline_name="dummy",
    ...              n_boot=0)
    >>> res.score > 0.7, res.comparison.difference > 0.2
    (True, True)
    """
    from ...evaluation import (
        chance_level,
        compare_models,
        cross_validate,
        get_protocol,
        held_out_permutation_test,
        permutation_test,
    )
    from .estimator import without_callbacks

    if baseline is not None and name == baseline_name:
        raise ConfigError(
            f"Invalid value for 'baseline_name': it must differ from the model's name {name!r}."
        )
    progress = progress or _no_progress
    proto = protocol if not isinstance(protocol, str) else get_protocol(protocol)
    estimators = {name: estimator}
    if baseline is not None:
        estimators[baseline_name] = baseline
    estimators = {
        k: (v() if callable(v) and not hasattr(v, "fit") else v) for k, v in estimators.items()
    }
    models: dict[str, ModelScores] = {}
    for i, (key, est) in enumerate(estimators.items()):
        label = "cross-validation" if i == 0 else f"{key} cross-validation"
        with progress(label) as cb:
            cv = cross_validate(est, dataset, proto, metric, n_jobs=n_jobs, seed=seed, progress=cb)
        interval, method = score_ci(cv, metric, n_boot=n_boot, ci=ci)
        models[key] = ModelScores(key, cv, float(cv.score), interval, method)
    for key, est in estimators.items():
        n_perm = _n_perm(n_permutations, key)
        if n_perm <= 0:
            continue
        logger.info("permutation test of %s: %d permutations", key, n_perm)
        with progress(f"permutation test ({key})") as cb:
            models[key].permutation = permutation_test(
                without_callbacks(est),
                dataset,
                proto,
                metric,
                n_permutations=n_perm,
                seed=seed,
                within="protocol",
                n_jobs=n_jobs,
                progress=cb,
            )
    for key in estimators:
        n_held = _n_perm(held_out_permutations, key)
        if n_held <= 0 or models[key].permutation is not None:
            continue
        logger.info("held-out permutation test of %s: %d permutations", key, n_held)
        models[key].permutation = held_out_permutation_test(
            models[key].cv, dataset, proto, n_permutations=n_held, seed=seed
        )
    comparison = None
    if baseline is not None:
        comparison = compare_models(
            models[name].cv, models[baseline_name].cv, names=(name, baseline_name), ci=ci
        )
    return DecodingResult(
        models=models,
        main=name,
        baseline=baseline_name if baseline is not None else None,
        comparison=comparison,
        metric=metric,
        protocol=proto,
        chance_level=float(chance_level(dataset.y, metric)),
        ci_level=ci,
        seed=seed,
    )
