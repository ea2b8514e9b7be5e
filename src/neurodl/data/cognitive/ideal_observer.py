"""Ideal observers of the choice tasks: the accuracy ceiling of a network on the same trials.

An ideal observer sees a trial's inputs (noise included) and the task rules, and chooses as
well as the information in the inputs allows: it integrates the relevant evidence perfectly
over the stimulus epoch(s). No network trained on those inputs can beat it on average, so its
accuracy on the held-out trials is the ceiling a network's accuracy is read against.

Per task (``choice`` index as in the trial table):

- ``perceptual_decision_making``: sign of ``sum(stim_1 - stim_2)`` over the stimulus epoch.
- ``context_dependent_integration``: sign of the summed cued input (the ``context`` column).
- ``parametric_working_memory``: the mean ``frequency`` input during f1 against during f2.
- ``delayed_match_to_sample``: match when the most active stimulus channel (summed) of the
  sample and of the test epochs agree (maximum likelihood per epoch; exact at the default noise).
- ``go_nogo``, ``anti_saccade``, ``pro_anti_nogo``: the most active location channel during the
  stimulus, then the trial's rule (pro: that location, anti: the opposite, no-go: no choice).

Tasks without choices (``flip_flop``, ``interval_production``) have no ideal observer here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ...exceptions import ConfigError
from .base import TaskTrials

__all__ = ["IDEAL_OBSERVERS", "ideal_observer_accuracy", "ideal_observer_choices"]


def _window(row: pd.Series, first: str, stop: str) -> slice:
    return slice(int(row[f"{first}_start"]), int(row[f"{stop}_start"]))


def _channel(names: list[str], name: str) -> int:
    if name not in names:
        raise ConfigError(f"The ideal observer needs an input named {name!r}; inputs: {names}.")
    return names.index(name)


def _perceptual(x: np.ndarray, row: pd.Series, names: list[str]) -> float:
    w = x[_window(row, "stimulus", "delay")]
    evidence = (w[:, _channel(names, "stim_1")] - w[:, _channel(names, "stim_2")]).sum()
    return 0.0 if evidence > 0 else 1.0


def _context(x: np.ndarray, row: pd.Series, names: list[str]) -> float:
    cued = _channel(names, str(row["context"]))
    evidence = x[_window(row, "stimulus", "delay"), cued].sum()
    return 0.0 if evidence > 0 else 1.0


def _romo(x: np.ndarray, row: pd.Series, names: list[str]) -> float:
    f = _channel(names, "frequency")
    m1 = x[_window(row, "f1", "delay"), f].mean()
    m2 = x[_window(row, "f2", "response"), f].mean()
    return 0.0 if m1 > m2 else 1.0


def _match(x: np.ndarray, row: pd.Series, names: list[str]) -> float:
    cols = [i for i, n in enumerate(names) if n.startswith("stimulus_")]
    sample = np.argmax(x[_window(row, "sample", "delay")][:, cols].sum(axis=0))
    test = np.argmax(x[_window(row, "test", "response")][:, cols].sum(axis=0))
    return 0.0 if sample == test else 1.0


def _saccade(x: np.ndarray, row: pd.Series, names: list[str]) -> float:
    cols = [i for i, n in enumerate(names) if n.startswith("location_")]
    location = int(np.argmax(x[_window(row, "stimulus", "delay")][:, cols].sum(axis=0)))
    rule = str(row["rule"])
    if rule == "nogo":
        return np.nan
    if rule == "anti":
        return float((location + len(cols) // 2) % len(cols))
    return float(location)


#: Task name -> ``choose(inputs_of_one_trial, trial_row, input_names) -> choice`` (NaN: none).
IDEAL_OBSERVERS: dict[str, Callable[[np.ndarray, pd.Series, list[str]], float]] = {
    "perceptual_decision_making": _perceptual,
    "context_dependent_integration": _context,
    "parametric_working_memory": _romo,
    "delayed_match_to_sample": _match,
    "go_nogo": _saccade,
    "anti_saccade": _saccade,
    "pro_anti_nogo": _saccade,
}


def _task_of_each_trial(trials: TaskTrials) -> np.ndarray:
    if "task" in trials.trials:
        return trials.trials["task"].astype(str).to_numpy()
    return np.full(trials.n_trials, trials.task, dtype=object)


def ideal_observer_choices(trials: TaskTrials) -> np.ndarray:
    """The ideal observer's choice on each trial (NaN where the trial asks for no choice).

    Parameters
    ----------
    trials : TaskTrials
        Trials of one task of :data:`IDEAL_OBSERVERS`, or a multitask batch (``task`` column).

    Returns
    -------
    choices : ndarray of shape (n_trials,)
        Choice index per trial, comparable with ``trials.trials["choice"]``.

    Raises
    ------
    ConfigError
        A trial's task has no ideal observer (e.g. ``flip_flop``).

    Examples
    --------
    The integrator is always right at high coherence and near chance at a very low one:

    >>> from neurodl.data.cognitive import make_task_trials, perceptual_decision_making
    >>> tt = perceptual_decision_making(400, seed=0, coherences=(0.032, 0.512))
    >>> right = ideal_observer_choices(tt) == tt.trials["choice"].to_numpy()
    >>> tt.trials.assign(right=right).groupby(tt.trials["coherence"].abs())["right"].mean().round(2)
    ... # doctest: +NORMALIZE_WHITESPACE
    coherence
    0.032    0.73
    0.512    1.00
    Name: right, dtype: float64
    >>> try:
    ...     ideal_observer_choices(make_task_trials("flip_flop", 2, seed=0))
    ... except ValueError as err:
    ...     print(str(err).split(". ")[0])
    Invalid value for 'trials': no ideal observer for task 'flip_flop'
    """
    names = list(trials.input_names)
    tasks = _task_of_each_trial(trials)
    unknown = sorted(set(tasks) - set(IDEAL_OBSERVERS))
    if unknown:
        known = ", ".join(repr(k) for k in IDEAL_OBSERVERS)
        raise ConfigError(
            f"Invalid value for 'trials': no ideal observer for task {unknown[0]!r}. "
            f"Allowed: {known}."
        )
    out = np.full(trials.n_trials, np.nan)
    for i, (_, row) in enumerate(trials.trials.iterrows()):
        out[i] = IDEAL_OBSERVERS[tasks[i]](trials.inputs[i], row, names)
    return out


def ideal_observer_accuracy(trials: TaskTrials) -> float:
    """Fraction of the trials with a choice that the ideal observer gets right.

    Scored like :func:`~neurodl.estimators.task_training.choice_accuracy`: trials whose
    ``choice`` is NaN (no-go) are left out. NaN when no trial has a choice.

    Examples
    --------
    >>> from neurodl.data.cognitive import make_task_trials
    >>> tt = make_task_trials("go_nogo", 50, seed=0)
    >>> ideal_observer_accuracy(tt)
    1.0
    """
    truth = trials.trials["choice"].to_numpy(dtype=float)
    keep = ~np.isnan(truth)
    if not keep.any():
        return float("nan")
    return float(np.mean(ideal_observer_choices(trials)[keep] == truth[keep]))
