"""The container every cognitive task produces: inputs, targets, loss mask and trial metadata.

A task is a generator of :class:`TaskTrials`. Its timing is written in milliseconds; ``dt`` (ms
per step) sets the number of steps, never the timing: the same task at ``dt=10`` and ``dt=20``
has the same epochs in ms and half the steps. Supervised training minimises a masked loss
between a network's outputs and ``targets`` where ``mask > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import ConfigError, DataFormatError

__all__ = ["TaskTrials", "steps_of"]


def steps_of(duration_ms: float, dt: float, *, what: str = "duration") -> int:
    """Number of ``dt``-ms steps in ``duration_ms`` (rounded; at least 1 for a positive duration).

    Raises
    ------
    ConfigError
        When ``dt`` is not a positive finite number, or is larger than a positive duration
        (the epoch would vanish).

    Examples
    --------
    >>> steps_of(500, 20), steps_of(500, 10)
    (25, 50)
    """
    if not (isinstance(dt, int | float) and np.isfinite(dt) and dt > 0):
        raise ConfigError(f"Invalid value for 'dt'. Allowed: a positive number of ms; got {dt!r}.")
    if duration_ms < 0 or not np.isfinite(duration_ms):
        raise ConfigError(f"Invalid {what}: {duration_ms!r} ms (must be finite and >= 0).")
    if 0 < duration_ms < dt:
        raise ConfigError(
            f"Invalid value for 'dt': {dt!r} ms is longer than the task's {what} of "
            f"{duration_ms:g} ms; use dt <= {duration_ms:g}."
        )
    return round(duration_ms / dt)


@dataclass
class TaskTrials:
    """A batch of trials of a cognitive task.

    Attributes
    ----------
    inputs : ndarray of shape (n_trials, n_steps, n_inputs), float32
        What the network sees at each step (fixation cue, stimuli, context or rule inputs).
    targets : ndarray of shape (n_trials, n_steps, n_outputs), float32
        What it should output at each step.
    mask : ndarray of shape (n_trials, n_steps, n_outputs), float32
        Loss weights (0 where the output is free, e.g. during the stimulus of a decision task).
    trials : pandas.DataFrame
        One row per trial: the task's condition variables (e.g. ``coherence``, ``context``),
        ``choice`` (the correct response index, or NaN for non-choice tasks) and the step at
        which each epoch starts (columns ``<epoch>_start``) and the response epoch ends.
    dt : float
        Milliseconds per step.
    task : str
        The task's name (several names joined by ``+`` for a multitask batch).
    input_names, output_names : list of str
        One name per input / output channel.
    info : dict
        Anything else the task records (e.g. its timing in ms).

    Examples
    --------
    >>> from neurodl.data.cognitive import make_task_trials
    >>> tt = make_task_trials("perceptual_decision_making", 8, seed=0)
    >>> tt
    TaskTrials('perceptual_decision_making': 8 trials x 70 steps (dt=20 ms), 3 inputs, 3 outputs)
    >>> tt.input_names, tt.output_names
    (['fixation', 'stim_1', 'stim_2'], ['fixation', 'choice_1', 'choice_2'])
    >>> float(tt.times[tt.trials["response_start"][0]])  # ms: 300 fixation + 800 stimulus
    1100.0
    >>> tt.subset(tt.trials["choice"] == 0).n_trials
    3
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    trials: pd.DataFrame
    dt: float
    task: str
    input_names: list[str]
    output_names: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = np.asarray(self.inputs, dtype=np.float32)
        self.targets = np.asarray(self.targets, dtype=np.float32)
        self.mask = np.asarray(self.mask, dtype=np.float32)
        if self.inputs.ndim != 3 or self.targets.ndim != 3:
            raise DataFormatError(
                f"Task {self.task!r}: inputs and targets must be (n_trials, n_steps, n_channels); "
                f"got {self.inputs.shape} and {self.targets.shape}."
            )
        if self.inputs.shape[:2] != self.targets.shape[:2]:
            raise DataFormatError(
                f"Task {self.task!r}: inputs and targets disagree in trials x steps: "
                f"{self.inputs.shape[:2]} vs {self.targets.shape[:2]}."
            )
        if self.mask.shape != self.targets.shape:
            raise DataFormatError(
                f"Task {self.task!r}: mask shape {self.mask.shape} differs from targets "
                f"{self.targets.shape}."
            )
        if len(self.trials) != self.inputs.shape[0]:
            raise DataFormatError(
                f"Task {self.task!r}: {len(self.trials)} metadata rows for "
                f"{self.inputs.shape[0]} trials."
            )
        if len(self.input_names) != self.inputs.shape[2]:
            raise DataFormatError(
                f"Task {self.task!r}: {len(self.input_names)} input names for "
                f"{self.inputs.shape[2]} inputs."
            )
        if len(self.output_names) != self.targets.shape[2]:
            raise DataFormatError(
                f"Task {self.task!r}: {len(self.output_names)} output names for "
                f"{self.targets.shape[2]} outputs."
            )

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return int(self.inputs.shape[0])

    @property
    def n_steps(self) -> int:
        """Number of time steps per trial."""
        return int(self.inputs.shape[1])

    @property
    def n_inputs(self) -> int:
        """Number of input channels."""
        return int(self.inputs.shape[2])

    @property
    def n_outputs(self) -> int:
        """Number of output channels."""
        return int(self.targets.shape[2])

    @property
    def times(self) -> np.ndarray:
        """Time of each step in ms, shape (n_steps,)."""
        return np.arange(self.n_steps) * self.dt

    def subset(self, index: Any) -> TaskTrials:
        """The trials selected by ``index`` (boolean mask or integer indices)."""
        idx = np.arange(self.n_trials)[index]
        return TaskTrials(
            self.inputs[idx],
            self.targets[idx],
            self.mask[idx],
            self.trials.iloc[idx].reset_index(drop=True),
            self.dt,
            self.task,
            list(self.input_names),
            list(self.output_names),
            dict(self.info),
        )

    def __repr__(self) -> str:
        return (
            f"TaskTrials({self.task!r}: {self.n_trials} trials x {self.n_steps} steps "
            f"(dt={self.dt:g} ms), {self.n_inputs} inputs, {self.n_outputs} outputs)"
        )
