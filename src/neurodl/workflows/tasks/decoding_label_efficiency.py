"""The decoding task's ``options.label_efficiency``: scores with a fraction of the labels.

How much does each model lose when only part of the training labels exist? On the protocol's own
splits, every model of the run (the main model and the baseline, rebuilt fresh per fit, a
pretrained encoder included) is fitted on 10, 25, 50 and 100% (``fractions``) of each training
fold's labelled samples (stratified by class, nested across fractions, seeded per fold) and scored
on the whole test fold (:func:`neurodl.evaluation.label_efficiency.label_efficiency`). The result
goes to ``results.json["label_efficiency"]`` and the report shows the label-efficiency curves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from ..config import TaskOptions

__all__ = ["LabelEfficiencyOptions", "add_label_efficiency_report", "run_label_efficiency"]


class LabelEfficiencyOptions(TaskOptions):
    """``options.label_efficiency`` of the decoding task.

    Examples
    --------
    >>> LabelEfficiencyOptions.model_validate({}).fractions
    [0.1, 0.25, 0.5, 1.0]
    >>> try:
    ...     LabelEfficiencyOptions.model_validate({"fractions": [0.5, 0.0]})
    ... except ValueError as err:
    ...     print(str(err).splitlines()[2].strip())
    Value error, each fraction must be in (0, 1]; got 0.0 [type=value_error, \
input_value=[0.5, 0.0], input_type=list]
    """

    fractions: list[float] = Field(default_factory=lambda: [0.1, 0.25, 0.5, 1.0], min_length=1)
    """Fractions of each training fold's labels to fit on, each in (0, 1]; run in increasing
    order, each fraction's labelled samples containing the smaller ones'."""

    @field_validator("fractions")
    @classmethod
    def _check_fractions(cls, value: list[float]) -> list[float]:
        for f in value:
            if not 0.0 < f <= 1.0:
                raise ValueError(f"each fraction must be in (0, 1]; got {f!r}")
        return sorted(set(value))


def run_label_efficiency(
    opts: LabelEfficiencyOptions,
    builders: dict[str, Callable[[], Any]],
    dataset: Any,
    protocol: Any,
    *,
    metric: str,
    seed: int,
) -> dict[str, Any]:
    """Fit every model with each fraction of the labels on the protocol's splits.

    Parameters
    ----------
    opts : LabelEfficiencyOptions
    builders : dict
        Model name -> a function returning a fresh, unfitted estimator.
    dataset : EpochsDataset
        The samples the run cross-validates (``X`` of shape (n_samples, ...)).
    protocol : Protocol
        The run's protocol: the same splits as the cross-validation.
    metric, seed
        The run's metric and seed (label draws use ``seed + fold``).

    Returns
    -------
    dict
        :meth:`~neurodl.evaluation.label_efficiency.LabelEfficiencyResult.to_dict`, plus
        ``chance_level`` (:func:`neurodl.evaluation.metrics.chance_level` of the labels) and
        ``fold_labels``.

    Examples
    --------
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from neurodl.data.simulate import simulate_motor_imagery
    >>> from neurodl.evaluation import get_protocol
    >>> from neurodl.preprocessing import LogBandPower
    >>> from sklearn.pipeline import make_pipeline
    >>> ds = simulate_motor_imagery(n_subjects=3, n_sessions=1, n_trials=40, n_channels=8,
    ...                             sfreq=64.0, seed=0)
    >>> lda = lambda: make_pipeline(LogBandPower(sfreq=64.0), LinearDiscriminantAnalysis())
    >>> out = run_label_efficiency(LabelEfficiencyOptions(fractions=[0.25, 1.0]), {"lda": lda},
    ...                            ds, get_protocol("leave-one-subject-out"),
    ...                            metric="balanced_accuracy", seed=0)
    >>> out["fractions"], sorted({r["n_labels"] for r in out["rows"]}), out["chance_level"]
    ([0.25, 1.0], [20, 80], 0.5)
    """
    from ...evaluation.label_efficiency import label_efficiency
    from ...evaluation.metrics import chance_level
    from ._report_labels import describe_folds

    splits = [(tr, te) for tr, te, _ in protocol.splits(dataset)]
    if protocol.groups:
        groups = dataset.groups(list(protocol.groups))
    else:  # a protocol without disjoint groups (blocked time series): every sample its own
        groups = np.arange(dataset.n_samples)
    res = label_efficiency(
        dataset.X,
        dataset.y,
        groups,
        splits=splits,
        fractions=opts.fractions,
        models={name: (lambda encoder, make=make: make()) for name, make in builders.items()},
        metric=metric,
        seed=seed,
    )
    out = res.to_dict()
    out["chance_level"] = chance_level(dataset.y, metric)
    out["fold_labels"] = describe_folds(dataset.metadata, [te for _, te in splits])
    return out


def add_label_efficiency_report(rep: Any, le: dict[str, Any], metric_words: str) -> None:
    """The label-efficiency section: the curves and the mean score per model and fraction.

    Examples
    --------
    >>> from neurodl.report import Report
    >>> rep = Report("demo")
    >>> le = {"fractions": [0.5, 1.0], "models": ["lda"], "chance_level": 0.5,
    ...       "rows": [{"fold": k, "fraction": f, "model": "lda", "score": s, "n_labels": n}
    ...                for k in range(2) for f, s, n in ((0.5, 0.7, 20), (1.0, 0.8, 40))]}
    >>> add_label_efficiency_report(rep, le, "balanced accuracy")
    >>> rep.sections
    ['Label efficiency']
    """
    import pandas as pd

    from ...report.figures import plot_label_efficiency

    rep.add_figure(
        plot_label_efficiency(le["rows"], le["models"], chance=le.get("chance_level")),
        title="Label-efficiency curves",
        section="Label efficiency",
        caption=(
            f"Mean {metric_words} over the test folds (bars: the range over folds) against the "
            "fraction of each training fold's labels used; same splits for every model."
        ),
    )
    table = []
    for f in le["fractions"]:
        row: dict[str, Any] = {"labels": f"{f:.0%}"}
        rows = [r for r in le["rows"] if r["fraction"] == f]
        row["labelled samples (per fold)"] = int(np.median([r["n_labels"] for r in rows]))
        for m in le["models"]:
            scores = [r["score"] for r in rows if r["model"] == m and r["score"] is not None]
            row[m] = round(float(np.mean(scores)), 3) if scores else None
        table.append(row)
    rep.add_table(pd.DataFrame(table), title="Mean score per fraction", section="Label efficiency")
