"""Per-pair decoding scores for more than two classes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._logging import logger
from ...exceptions import ConfigError

__all__ = ["PAIRWISE_METHODS", "class_name", "pairwise_scores"]

#: Pairwise methods: how each pair of classes is scored (see :func:`pairwise_scores`).
PAIRWISE_METHODS = {
    "cv": "a separate binary cross-validation per pair (same model, protocol and seed) on the "
    "samples of the two classes",
    "predictions": "derived from the multi-class cross-validated predictions: each test sample "
    "of the two classes is assigned to whichever of the two has the higher predicted "
    "probability (or, without probabilities, only samples predicted as one of the two count)",
}


def class_name(ds: Any, label: Any) -> str:
    """The dataset's name of class ``label`` (integer labels index ``ds.classes``).

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
    >>> class_name(ds, 2), class_name(ds, "left")
    ('feet', 'left')
    """
    if (
        ds.classes is not None
        and isinstance(label, int | np.integer)
        and 0 <= label < len(ds.classes)
    ):
        return str(ds.classes[label])
    return str(label)


def pairwise_scores(
    cv: Any,
    ds: Any,
    method: str,
    *,
    estimator: Any = None,
    protocol: Any = None,
    seed: int = 0,
    n_jobs: int | None = 1,
) -> dict[str, Any]:
    """Balanced accuracy for every pair of classes (see :data:`PAIRWISE_METHODS`).

    Returns a dict with ``method``, ``description``, ``metric``, ``chance_level`` (0.5),
    ``classes``, ``matrix`` (n_classes x n_classes, NaN on the diagonal) and ``pairs`` (one
    record per pair: the two classes, the score and the samples scored).

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
    >>> out = pairwise_scores(cv, ds, "predictions")
    >>> out["classes"], np.asarray(out["matrix"]).shape, len(out["pairs"])
    (['left', 'right', 'feet'], (3, 3), 3)
    """
    from itertools import combinations

    from sklearn.metrics import balanced_accuracy_score

    if method not in PAIRWISE_METHODS:
        raise ConfigError(
            f"Invalid value for 'pairwise'. Allowed: {', '.join(PAIRWISE_METHODS)}; got {method!r}."
        )
    labels = list(cv.classes)
    names = [class_name(ds, c) for c in labels]
    k = len(labels)
    matrix = np.full((k, k), np.nan)
    pairs = []
    for i, j in combinations(range(k), 2):
        a, b = labels[i], labels[j]
        if method == "cv":
            from ...evaluation import cross_validate

            sub = ds.subset(np.isin(np.asarray(ds.y), [a, b]))
            try:
                res = cross_validate(
                    estimator, sub, protocol, "balanced_accuracy", n_jobs=n_jobs, seed=seed
                )
                value, n = float(res.score), int(sub.n_samples)
            except ValueError as err:  # e.g. a split without both classes
                logger.warning("pairwise CV %s vs %s failed: %s", names[i], names[j], err)
                value, n = float("nan"), int(sub.n_samples)
        else:
            yt = np.asarray(cv.y_true)
            keep = np.isin(yt, [a, b])
            if cv.y_score is not None and np.ndim(cv.y_score) == 2:
                sc = np.asarray(cv.y_score)[keep]
                pred = np.where(sc[:, i] >= sc[:, j], a, b)
                truth = yt[keep]
            else:
                yp = np.asarray(cv.y_pred)[keep]
                both = np.isin(yp, [a, b])
                pred, truth = yp[both], yt[keep][both]
            n = len(truth)
            value = (
                float(balanced_accuracy_score(truth, pred))
                if n and len(np.unique(truth)) == 2
                else float("nan")
            )
        matrix[i, j] = matrix[j, i] = value
        pairs.append({"a": names[i], "b": names[j], "score": value, "n_samples": n})
    return {
        "method": method,
        "description": PAIRWISE_METHODS[method],
        "metric": "balanced_accuracy",
        "chance_level": 0.5,
        "classes": names,
        "matrix": matrix,
        "pairs": pairs,
    }
