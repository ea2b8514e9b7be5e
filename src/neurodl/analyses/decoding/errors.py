"""The misclassified test samples of a decoding run, and where they concentrate."""

from __future__ import annotations

from typing import Any

import numpy as np

from .pairwise import class_name

__all__ = ["ERROR_COLUMNS", "misclassified_samples"]

#: Metadata columns shown beside each misclassified sample (when present and not constant).
ERROR_COLUMNS = ("subject", "session", "run", "recording", "segment", "trial", "onset", "set")


def misclassified_samples(
    cv: Any, ds: Any, max_rows: int = 50, score_kind: str | None = None
) -> dict[str, Any] | None:
    """The test samples a classifier got wrong, most confidently wrong first.

    Answers "are the errors spread out, or concentrated in a few segments, runs or
    subjects?" without a custom script. Classification only; ``None`` when the run kept no
    pooled predictions.

    Parameters
    ----------
    cv : CVResult
        Cross-validation result with pooled ``y_true``, ``y_pred``, ``sample_index``, ``fold``
        and (when the estimator gives them) class scores ``y_score``.
    ds : EpochsDataset
        The dataset that was cross-validated (its metadata describes each sample).
    max_rows : int, default=50
        At most this many samples are listed (``n_errors`` counts them all).
    score_kind : str, optional
        What ``cv.y_score`` holds (``"predict_proba"`` or ``"decision_function"``); recorded.

    Returns
    -------
    dict or None
        ``n_errors``, ``n_tested``, ``score_kind`` (what ``p_true``/``p_pred`` hold: class
        probabilities for ``"predict_proba"``, decision scores otherwise; None and NaN
        columns when the run kept no class scores),
        ``rows`` (sample index, fold, true and predicted class, ``p_true``/``p_pred`` and the
        metadata columns of :data:`ERROR_COLUMNS` that vary across the dataset), ``error_rate``
        and ``concentration``: for each of those grouping columns where some value holds more
        than one error, the number of distinct values among the errors, the value holding the
        most errors, how many, and the error rate among that value's tested samples (e.g. 4 of 9
        errors in one segment, whose error rate is 1.0 against 0.02 overall).

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
    >>> out = misclassified_samples(cv, ds, max_rows=5)
    >>> sorted(out)[:3], len(out["rows"]) <= 5
    (['concentration', 'error_rate', 'n_errors'], True)
    """
    if cv.y_true is None or cv.y_pred is None or cv.sample_index is None or cv.classes is None:
        return None
    y_true, y_pred = np.asarray(cv.y_true), np.asarray(cv.y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    labels = list(cv.classes)

    score = None if cv.y_score is None else np.asarray(cv.y_score, dtype=float)
    p_true = p_pred = np.full(len(y_true), np.nan)
    if score is not None and score.ndim == 2 and score.shape[1] == len(labels):
        col = {c: k for k, c in enumerate(labels)}
        rows_ = np.arange(len(y_true))
        p_true = score[rows_, [col[c] for c in y_true]]
        p_pred = score[rows_, [col[c] for c in y_pred]]
    order = wrong[np.argsort(p_true[wrong], kind="stable")] if len(wrong) else wrong
    md = ds.metadata
    cols = [c for c in ERROR_COLUMNS if c in md.columns and md[c].nunique() > 1]
    idx = np.asarray(cv.sample_index)
    folds = np.asarray(cv.fold) if cv.fold is not None else np.full(len(idx), -1)
    rows = []
    for i in order[:max_rows]:
        meta = md.iloc[int(idx[i])]
        rows.append(
            {
                "sample": int(idx[i]),
                "fold": int(folds[i]),
                "true": class_name(ds, y_true[i]),
                "predicted": class_name(ds, y_pred[i]),
                "p_true": float(p_true[i]),
                "p_pred": float(p_pred[i]),
                **{c: meta[c].item() if hasattr(meta[c], "item") else meta[c] for c in cols},
            }
        )
    concentration = {}
    tested = md.iloc[idx] if len(idx) else md.iloc[:0]
    for c in cols:
        if c in ("trial", "onset") or not len(wrong):
            continue
        values, n = np.unique(md[c].to_numpy()[idx[wrong]].astype(str), return_counts=True)
        if len(values) == len(wrong):  # one error per value: nothing concentrates
            continue
        top = int(np.argmax(n))
        n_in_top = int(np.sum(tested[c].to_numpy().astype(str) == values[top]))
        concentration[c] = {
            "n_values": len(values),
            "top_value": str(values[top]),
            "top_count": int(n[top]),
            "top_error_rate": float(n[top] / max(n_in_top, 1)),
        }
    return {
        "n_errors": len(wrong),
        "n_tested": len(y_true),
        "error_rate": float(len(wrong) / max(len(y_true), 1)),
        "score_kind": None if score is None else score_kind,
        "rows": rows,
        "concentration": concentration,
    }
