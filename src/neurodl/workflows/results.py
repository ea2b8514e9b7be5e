"""Typed results: what every task writes to ``results.json`` and what reports and the CLI read.

Every task returns a subclass of :class:`TaskResult`. The common top-level keys (``task``,
``dataset``, ``protocol``, ``metric``, ``score_mean``, ``score_ci``, ``chance_level``,
``p_value``, ``n_splits``, ``seed``, ``versions``, ``data_hash``) mean the same in every task;
the top-level score and p-value belong to the task's main model, and ``models`` holds each
model's own statistics. ``results.json`` carries :data:`SCHEMA_VERSION`; the JSON schema of a
task's results is generated from its class (:meth:`TaskResult.json_schema`).

Non-finite numbers are stored as ``null`` (JSON has no NaN); numeric fields that can be
undefined are typed ``float | None``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SCHEMA_VERSION",
    "ComparisonStats",
    "ModelStats",
    "ResultPart",
    "TaskResult",
    "jsonable",
]

#: Version of the ``results.json`` layout (1: the untyped dicts before typed results).
SCHEMA_VERSION = 2


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths and non-finite floats into JSON-safe values.

    Examples
    --------
    >>> import json
    >>> from pathlib import Path
    >>> import numpy as np
    >>> values = {"score": np.float64(0.75), "ci": np.array([0.6, np.nan]), "n": np.int64(3),
    ...           "report": Path("out") / "report.html", 1: np.bool_(True)}
    >>> jsonable(values)  # NaN -> None (JSON has no NaN)
    {'score': 0.75, 'ci': [0.6, None], 'n': 3, 'report': 'out/report.html', '1': True}
    >>> json.dumps(jsonable(values))
    '{"score": 0.75, "ci": [0.6, null], "n": 3, "report": "out/report.html", "1": true}'
    """
    if isinstance(obj, BaseModel):
        return jsonable(obj.model_dump())
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, np.floating | float):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


class ResultPart(BaseModel):
    """Base of every typed part of a result (strict: unknown keys are refused).

    Examples
    --------
    >>> from pydantic import ValidationError
    >>> class Dropped(ResultPart):
    ...     n_dropped: int
    ...     reason: str = "peak_to_peak"
    >>> Dropped(n_dropped=3)
    Dropped(n_dropped=3, reason='peak_to_peak')
    >>> try:
    ...     Dropped.model_validate({"n_dropped": 3, "reasons": "flat"})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["loc"], err.errors()[0]["msg"])
    ('reasons',) Extra inputs are not permitted
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelStats(ResultPart):
    """One model's own statistics (score, interval, folds and, when computed, its p-value).

    Examples
    --------
    The statistics of a cross-validated LDA, as a task stores them under ``models``:

    >>> import numpy as np
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from neurodl.data import EpochsDataset
    >>> from neurodl.evaluation import cross_validate
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 30)
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + y[:, None], y=y)
    >>> cv = cross_validate(LinearDiscriminantAnalysis(), ds, "within-session")
    >>> stats = ModelStats.model_validate(
    ...     jsonable({"name": "lda", "kind": "classical", "score_mean": cv.score,
    ...               "fold_scores": cv.scores})
    ... )
    >>> stats.role, len(stats.fold_scores) == cv.n_folds, stats.p_value
    ('main', True, None)
    >>> bool(stats.score_mean > 0.5)  # above chance: the classes differ by one SD
    True
    """

    name: str = Field(description="Registered model name (e.g. 'mlp', 'lda').")
    role: str = Field("main", description="'main' or 'baseline'.")
    kind: str | None = Field(None, description="'neural', 'classical' or 'ensemble'.")
    score_mean: float | None
    score_ci: list[float | None] | None = None
    ci_method: str | None = None
    fold_scores: list[float | None] = Field(default_factory=list)
    block_scores: dict[str, float | None] = Field(default_factory=dict)
    p_value: float | None = Field(
        None,
        description="This model's own permutation p-value (see permutation_method).",
    )
    permutation_method: Literal["refit", "held_out"] | None = Field(
        None,
        description="'refit': the model refitted on every permutation; 'held_out': each "
        "fold's trained model kept and its test labels permuted (no refit).",
    )
    n_permutations: int = 0
    null_scores: list[float | None] | None = None
    permuted_within: str | None = None
    fit_time_s_per_fold: float | None = None
    predict_time_s_per_sample: float | None = None


class ComparisonStats(ResultPart):
    """A paired comparison of two models on the same splits (``model_a - model_b``).

    Examples
    --------
    What :func:`neurodl.evaluation.compare_models` found, as a task stores it:

    >>> import numpy as np, pandas as pd
    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    >>> from sklearn.dummy import DummyClassifier
    >>> from neurodl.data import EpochsDataset
    >>> from neurodl.evaluation import compare_models, cross_validate
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 30)
    >>> md = pd.DataFrame({"subject": np.repeat(["1", "2", "3"], 20)})
    >>> ds = EpochsDataset(rng.standard_normal((60, 3)) + y[:, None], y=y, metadata=md)
    >>> lda = cross_validate(LinearDiscriminantAnalysis(), ds, "leave-one-subject-out")
    >>> dummy = cross_validate(DummyClassifier(), ds, "leave-one-subject-out")
    >>> res = compare_models(lda, dummy, names=("lda", "dummy"))
    >>> comp = ComparisonStats.model_validate({**res.to_dict(), "verdict": res.verdict()})
    >>> comp.n_splits, round(comp.difference, 3), comp.ci_level
    (3, 0.233, 0.95)
    >>> comp.verdict
    "'lda' beat 'dummy' on the same splits: difference 0.233 [0.120, 0.347], p = 0.013."
    """

    model_a: str
    model_b: str
    metric: str
    difference: float | None
    ci: list[float | None]
    ci_level: float
    p_value: float | None
    n_splits: int
    greater_is_better: bool = True
    method: str
    verdict: str = Field(description="One sentence for the report and the CLI.")


class TaskResult(ResultPart):
    """Base of every task's typed result.

    Subclasses add their own typed fields and may override :meth:`summary_lines` (what the CLI
    prints). Build one from computed values with :meth:`create` (converts numpy values and
    NaN); read one back from ``results.json`` with :meth:`from_dict`.

    Examples
    --------
    >>> import numpy as np
    >>> res = TaskResult.create(
    ...     task="decoding", dataset="motor_imagery", protocol="within-session",
    ...     metric="balanced_accuracy", score_mean=np.float64(0.8123),
    ...     score_ci=np.array([0.71, 0.9]), chance_level=0.5, p_value=0.005, n_splits=5,
    ... )
    >>> for line in res.summary_lines():
    ...     print(line)
    motor_imagery | within-session | decoding
    balanced_accuracy = 0.812 [0.710, 0.900] (chance 0.500, permutation p = 0.0050, 5 splits)
    >>> data = res.to_dict()  # what results.json holds
    >>> data["schema_version"], data["score_ci"]
    (2, [0.71, 0.9])
    >>> TaskResult.from_dict(data) == res
    True
    >>> TaskResult.create(task="decoding", score_mean=float("nan")).score_mean is None
    True
    >>> TaskResult.json_schema()["required"]
    ['task']
    """

    schema_version: int = SCHEMA_VERSION
    task: str
    name: str = "run"
    dataset: str | None = None
    protocol: str | None = None
    metric: str | None = None
    score_mean: float | None = Field(None, description="The main model's score.")
    score_ci: list[float | None] | None = None
    chance_level: float | None = None
    p_value: float | None = Field(
        None, description="The main model's own permutation p-value (None when not computed)."
    )
    n_splits: int | None = None
    seed: int = 0
    versions: dict[str, str] = Field(default_factory=dict)
    data_hash: str | None = None
    models: dict[str, ModelStats] = Field(
        default_factory=dict, description="Each model's own statistics, the main model first."
    )
    summary: str | None = Field(None, description="A task-specific one-paragraph summary.")
    warnings: list[str] = Field(
        default_factory=list,
        description="Failed or doubtful fits (one predicted class, training loss that did not "
        "fall, input scale), each once; shown in the CLI and at the top of the report.",
    )
    config: dict[str, Any] = Field(default_factory=dict)
    neurodl_version: str | None = None
    duration_s: float | None = None

    @classmethod
    def create(cls, **values: Any) -> TaskResult:
        """Validate ``values`` after converting numpy arrays/scalars and NaN (-> None)."""
        return cls.model_validate(jsonable(values))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe dict written to ``results.json``."""
        return jsonable(self.model_dump(mode="python"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        """Read back what :meth:`to_dict` wrote (validated strictly)."""
        return cls.model_validate(data)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of this task's ``results.json``."""
        return cls.model_json_schema()

    def summary_lines(self) -> list[str]:
        """What the CLI prints after a run (the report path is added by the CLI)."""
        head = " | ".join(str(v) for v in (self.dataset, self.protocol, self.task) if v)
        lines = [head]
        if self.score_mean is not None and self.metric:
            ci = self.score_ci or [None, None]
            text = f"{self.metric} = {self.score_mean:.3f}"
            if ci[0] is not None and ci[1] is not None:
                text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
            extra = []
            if self.chance_level is not None:
                extra.append(f"chance {self.chance_level:.3f}")
            if self.p_value is not None:
                extra.append(f"permutation p = {self.p_value:.4f}")
            if self.n_splits:
                extra.append(f"{self.n_splits} splits")
            lines.append(text + (f" ({', '.join(extra)})" if extra else ""))
        if self.summary:
            lines.append(self.summary)
        return lines
