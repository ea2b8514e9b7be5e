"""Shared machinery of the task generators: validation, per-trial epoch timelines, padding.

Every generator draws its conditions and epoch durations in **milliseconds** first (so the same
``seed`` gives the same trials at any ``dt``), then converts each epoch to steps with
:func:`~neurodl.data.cognitive.base.steps_of` and only then draws the input noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import ConfigError
from .base import TaskTrials, steps_of

__all__ = [
    "Timeline",
    "assemble",
    "check_choice",
    "check_n_trials",
    "check_range",
    "decision_targets",
    "make_rng",
    "noise_sd",
]


def make_rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    """The generator to draw from: ``rng`` when given, else ``default_rng(seed)``."""
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ConfigError(
                f"Invalid value for 'rng'. Allowed: a numpy Generator; got {type(rng).__name__}."
            )
        return rng
    return np.random.default_rng(seed)


def check_n_trials(n_trials: Any) -> int:
    """``n_trials`` as an int >= 1, else a ConfigError naming it."""
    if isinstance(n_trials, bool) or not isinstance(n_trials, int | np.integer) or n_trials < 1:
        raise ConfigError(
            f"Invalid value for 'n_trials'. Allowed: an integer >= 1; got {n_trials!r}."
        )
    return int(n_trials)


def check_range(
    name: str, values: Any, low: float, high: float, *, nonempty: bool = True
) -> np.ndarray:
    """``values`` as a 1-D float array inside ``[low, high]``, else a ConfigError naming the value."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if nonempty and arr.size == 0:
        raise ConfigError(
            f"Invalid value for {name!r}: at least one value is needed; got {values!r}."
        )
    bad = arr[~((arr >= low) & (arr <= high))]
    if bad.size:
        raise ConfigError(
            f"Invalid value for {name!r}: {bad[0]:g} is outside [{low:g}, {high:g}]; got {values!r}."
        )
    return arr


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    """``value`` when it is one of ``allowed``, else a ConfigError listing them."""
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"Invalid value for {name!r}. Allowed: {shown}; got {value!r}.")
    return value


def noise_sd(noise: float, dt: float) -> float:
    """Per-step noise SD: ``noise`` at dt=20 ms, scaled by sqrt(20/dt) so evidence per ms is dt-free."""
    if not (np.isfinite(noise) and noise >= 0):
        raise ConfigError(f"Invalid value for 'noise'. Allowed: a number >= 0; got {noise!r}.")
    return float(noise) * float(np.sqrt(20.0 / dt))


class Timeline:
    """Per-trial epochs in ms turned into start steps, padded to a common length.

    Parameters
    ----------
    epochs : sequence of str
        Epoch names in order.
    durations_ms : ndarray of shape (n_trials, n_epochs)
        Duration of each epoch of each trial in ms (0 allowed for an absent epoch).
    dt : float
        ms per step.
    """

    def __init__(self, epochs: Sequence[str], durations_ms: np.ndarray, dt: float) -> None:
        self.epochs = list(epochs)
        self.durations_ms = np.asarray(durations_ms, dtype=float)
        self.dt = float(dt)
        steps = np.zeros(self.durations_ms.shape, dtype=int)
        for j, name in enumerate(self.epochs):
            for i, d in enumerate(self.durations_ms[:, j]):
                steps[i, j] = steps_of(float(d), dt, what=f"{name} epoch")
        self.steps = steps
        self.starts = np.concatenate(
            [np.zeros((len(steps), 1), dtype=int), np.cumsum(steps, axis=1)], axis=1
        )
        self.ends = self.starts[:, -1]
        self.n_trials = len(steps)
        self.n_steps = int(self.ends.max())

    def start(self, epoch: str) -> np.ndarray:
        """Start step of ``epoch`` for each trial."""
        return self.starts[:, self.epochs.index(epoch)]

    def end(self, epoch: str) -> np.ndarray:
        """End step (exclusive) of ``epoch`` for each trial."""
        return self.starts[:, self.epochs.index(epoch) + 1]

    def columns(self) -> dict[str, np.ndarray]:
        """``<epoch>_start`` for every epoch and ``trial_end`` (the first padded step)."""
        cols = {f"{name}_start": self.start(name) for name in self.epochs}
        cols["trial_end"] = self.ends.copy()
        if "response" in self.epochs:
            cols["response_end"] = self.end("response")
        return cols

    def window(self, epoch: str) -> np.ndarray:
        """Boolean (n_trials, n_steps): True inside ``epoch``."""
        t = np.arange(self.n_steps)[None, :]
        return (t >= self.start(epoch)[:, None]) & (t < self.end(epoch)[:, None])

    def between(self, first: str, last: str) -> np.ndarray:
        """Boolean (n_trials, n_steps): True from the start of ``first`` to the end of ``last``."""
        t = np.arange(self.n_steps)[None, :]
        return (t >= self.start(first)[:, None]) & (t < self.end(last)[:, None])

    def alive(self) -> np.ndarray:
        """Boolean (n_trials, n_steps): True before the trial's end (False in the padding)."""
        return np.arange(self.n_steps)[None, :] < self.ends[:, None]

    def info(self) -> dict[str, Any]:
        """The timing in ms, for ``TaskTrials.info``."""
        return {"epochs": list(self.epochs), "durations_ms": self.durations_ms.copy()}


def decision_targets(
    tl: Timeline, choice: np.ndarray, n_choices: int
) -> tuple[np.ndarray, np.ndarray]:
    """Targets and mask of a fixate-then-choose task.

    Outputs are ``[fixation, choice_1, ..., choice_n]``: fixation is 1 before the ``response``
    epoch, and the correct choice (``choice`` index, NaN = withhold) is 1 during it. The mask is 1
    on every output from the trial start to the end of the response (the network must hold
    fixation and keep the choice outputs at 0 until the go cue) and 0 in the padding.
    """
    targets = np.zeros((tl.n_trials, tl.n_steps, n_choices + 1), dtype=np.float32)
    pre = np.arange(tl.n_steps)[None, :] < tl.start("response")[:, None]
    resp = tl.window("response")
    targets[..., 0] = pre
    for i, c in enumerate(choice):
        if np.isnan(c):
            targets[i, resp[i], 0] = 1.0  # withhold: keep fixating
        else:
            targets[i, resp[i], 1 + int(c)] = 1.0
    mask = np.repeat(tl.alive()[..., None], n_choices + 1, axis=2).astype(np.float32)
    return targets, mask


def assemble(
    task: str,
    tl: Timeline,
    inputs: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray,
    conditions: dict[str, Any],
    input_names: list[str],
    output_names: list[str],
    info: dict[str, Any] | None = None,
) -> TaskTrials:
    """Build the ``TaskTrials``: zero the padding, write the trial table, record the timing."""
    alive = tl.alive()[..., None]
    inputs = np.where(alive, inputs, 0.0)
    targets = np.where(alive, targets, 0.0)
    mask = np.where(alive, mask, 0.0)
    table = pd.DataFrame({**conditions, **tl.columns()})
    return TaskTrials(
        inputs,
        targets,
        mask,
        table,
        tl.dt,
        task,
        list(input_names),
        list(output_names),
        {**tl.info(), **(info or {})},
    )
