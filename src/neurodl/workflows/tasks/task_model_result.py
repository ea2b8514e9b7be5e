"""The typed result of the ``task_model`` task and its parts (``results.json``).

:class:`TaskModelResult` holds the training summary, held-out accuracies, the fixed points of
every search (with the line-attractor test), the psychometric curve and the trajectories;
:mod:`neurodl.workflows.tasks.task_model` fills it, the ``perturbation`` task reuses the
training and psychometric parts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..results import ResultPart, TaskResult

__all__ = ["TaskModelResult"]


class LineAttractorSummary(ResultPart):
    """See :func:`neurodl.analyses.rnn_dynamics.detect_line_attractor`."""

    detected: bool
    n_points: int
    variance_ratio: float | None
    extent: float | None
    n_considered: int = 0
    variance_ratio_all: float | None = None
    leading_modulus_median: float | None = None
    leading_modulus_max: float | None = None


class FixedPointSummary(ResultPart):
    """One fixed-point search at a constant input."""

    input: str = Field(description="'zero' or the input channel held at 1 (others at 0).")
    n_initial: int
    n_points: int
    n_slow_points: int
    counts: dict[str, int] = Field(description="Fixed points per stability label.")
    stability: list[str]
    max_eigenvalue_modulus: list[float | None] = Field(description="Per fixed point.")
    q: list[float | None]
    time_s: float
    line_attractor: LineAttractorSummary


class PsychometricSummary(ResultPart):
    """Held-out choices against a stimulus (``p_choice1``: fraction answered ``choice_1``)."""

    stimulus: str
    levels: list[float]
    n_trials: list[int]
    p_choice1: list[float | None]
    ci_low: list[float | None]
    ci_high: list[float | None]
    slope: float | None
    bias: float | None
    pse: float | None


class TrajectorySummary(ResultPart):
    """Condition-averaged trajectories of the held-out trials on the top PCs."""

    condition: str
    conditions: list[str]
    n_trials: list[int]
    explained_variance_ratio: list[float | None]


class TrainingSummary(ResultPart):
    """How the training went (``accuracy``: on the validation trials)."""

    n_epochs: int
    time_s: float
    stopped_reason: str
    accuracy: float | None
    history: list[dict[str, float | None]]


class TaskModelResult(TaskResult):
    """Result of the ``task_model`` task (``results.json``).

    ``score_mean`` is the held-out ``accuracy``: choice accuracy (sign accuracy for flip-flop),
    averaged over the tasks with an accuracy when several are trained.

    Examples
    --------
    The fields this task adds to every result's (:func:`run_task_model` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in TaskModelResult.model_fields if k not in TaskResult.model_fields][:8]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['tasks', 'dt', 'n_train_trials', 'n_test_trials', 'network', 'network_params', 'n_params',
     'n_inputs']
    >>> sorted(TrainingSummary.model_fields)  # the 'training' entry
    ['accuracy', 'history', 'n_epochs', 'stopped_reason', 'time_s']
    """

    task: Literal["task_model"] = "task_model"
    tasks: list[str]
    dt: float
    n_train_trials: int
    n_test_trials: int
    network: str
    network_params: dict[str, Any]
    n_params: int
    n_inputs: int
    n_outputs: int
    input_names: list[str]
    output_names: list[str]
    training: TrainingSummary
    accuracy: float | None
    accuracy_per_task: dict[str, float | None]
    accuracy_kind: dict[str, str | None] = Field(description="'choice', 'sign' or null per task.")
    learning_curve: dict[str, list[float | None]]
    fixed_points: list[FixedPointSummary]
    psychometric: PsychometricSummary | None = None
    trajectories: TrajectorySummary | None = None
    timing: dict[str, float]

    def summary_lines(self) -> list[str]:
        """Tasks and network, accuracy, training, fixed points."""
        acc = "n/a" if self.accuracy is None else f"{self.accuracy:.3f}"
        lines = [f"{self.dataset} | {self.network} ({self.n_params} parameters)"]
        chance = "" if self.chance_level is None else f" (chance {self.chance_level:.2f})"
        lines.append(f"held-out accuracy = {acc}{chance} on {self.n_test_trials} trials")
        if len(self.accuracy_per_task) > 1:
            lines.append(
                "per task: "
                + ", ".join(
                    f"{k} {'n/a' if v is None else f'{v:.3f}'}"
                    for k, v in self.accuracy_per_task.items()
                )
            )
        t = self.training
        lines.append(f"trained {t.n_epochs} epochs in {t.time_s:.1f} s ({t.stopped_reason})")
        for fp in self.fixed_points:
            counts = ", ".join(f"{v} {k}" for k, v in fp.counts.items() if v)
            line = "line attractor" if fp.line_attractor.detected else "no line attractor"
            lines.append(
                f"fixed points at input {fp.input}: {fp.n_points} ({counts or 'none'}), "
                f"{line} ({fp.time_s:.1f} s)"
            )
        if self.psychometric is not None:
            p = self.psychometric
            slope = "n/a" if p.slope is None else f"{p.slope:.2f}"
            lines.append(f"psychometric slope over {p.stimulus} = {slope}")
        return lines
