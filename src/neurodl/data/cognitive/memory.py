"""Working-memory tasks: parametric working memory (Romo) and delayed match-to-sample."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...exceptions import ConfigError
from ._build import (
    Timeline,
    assemble,
    check_n_trials,
    check_range,
    decision_targets,
    make_rng,
    noise_sd,
)
from .base import TaskTrials

__all__ = ["delayed_match_to_sample", "parametric_working_memory"]

#: Base frequencies f1 in Hz of Romo et al. (1999); f2 = f1 +/- 8 Hz.
ROMO_F1 = (10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0)


def _delays(rng: np.random.Generator, n: int, delay_ms: float | Sequence[float]) -> np.ndarray:
    """One delay per trial: a fixed value, or drawn from the given values."""
    values = check_range("delay_ms", delay_ms, 0.0, np.inf)
    return rng.choice(values, size=n)


def parametric_working_memory(
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    f1_values: Sequence[float] = ROMO_F1,
    f_difference: float = 8.0,
    f_range: tuple[float, float] = (2.0, 42.0),
    noise: float = 0.1,
    fixation_ms: float = 300.0,
    f1_ms: float = 500.0,
    delay_ms: float | Sequence[float] = (1000.0, 1500.0, 2000.0),
    f2_ms: float = 500.0,
    response_ms: float = 300.0,
) -> TaskTrials:
    """Parametric working memory (Romo, Brody, Hernandez & Lemus 1999).

    Two vibration frequencies f1 and f2 (Hz) are shown one after the other, separated by a delay,
    on the single input ``frequency`` as ``(f - f_low) / (f_high - f_low)`` (``f_range``) plus
    noise. Inputs ``[fixation, frequency]``; outputs ``[fixation, choice_1, choice_2]``:
    ``choice`` 0 when f1 > f2, 1 when f1 < f2. f1 is drawn from ``f1_values`` and f2 is
    ``f1 +/- f_difference``. Epochs: fixation, f1, delay, f2, response.

    Examples
    --------
    >>> tt = parametric_working_memory(3, seed=0)
    >>> {"f1", "f2", "f1_start", "delay_start", "f2_start"} <= set(tt.trials.columns)
    True
    """
    n = check_n_trials(n_trials)
    rng = make_rng(seed, rng)
    f_low, f_high = (float(v) for v in f_range)
    if not f_high > f_low:
        raise ConfigError(f"Invalid value for 'f_range': need low < high; got {f_range!r}.")
    f1_set = check_range("f1_values", f1_values, f_low, f_high)
    if not (np.isfinite(f_difference) and f_difference > 0):
        raise ConfigError(
            f"Invalid value for 'f_difference'. Allowed: a number > 0 Hz; got {f_difference!r}."
        )
    f1 = rng.choice(f1_set, size=n)
    sign = rng.choice([-1.0, 1.0], size=n)
    f2 = f1 + sign * f_difference
    check_range("f2 (f1 +/- f_difference)", f2, f_low, f_high)
    choice = np.where(f1 > f2, 0.0, 1.0)
    delays = _delays(rng, n, delay_ms)
    epochs = ["fixation", "f1", "delay", "f2", "response"]
    durations = np.column_stack(
        [
            np.full(n, fixation_ms),
            np.full(n, f1_ms),
            delays,
            np.full(n, f2_ms),
            np.full(n, response_ms),
        ]
    )
    tl = Timeline(epochs, durations, dt)
    sd = noise_sd(noise, dt)

    inputs = np.zeros((n, tl.n_steps, 2))
    inputs[..., 0] = np.arange(tl.n_steps)[None, :] < tl.start("response")[:, None]
    width = f_high - f_low
    level = np.where(tl.window("f1"), ((f1 - f_low) / width)[:, None], 0.0)
    level = np.where(tl.window("f2"), ((f2 - f_low) / width)[:, None], level)
    on = tl.window("f1") | tl.window("f2")
    inputs[..., 1] = np.where(on, level + sd * rng.standard_normal(on.shape), 0.0)
    targets, mask = decision_targets(tl, choice, 2)
    return assemble(
        "parametric_working_memory",
        tl,
        inputs,
        targets,
        mask,
        {"f1": f1, "f2": f2, "delay_ms": delays, "choice": choice},
        ["fixation", "frequency"],
        ["fixation", "choice_1", "choice_2"],
        {"f_range": (f_low, f_high), "choice_meaning": ["f1 > f2", "f1 < f2"]},
    )


def delayed_match_to_sample(
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    n_stimuli: int = 4,
    p_match: float = 0.5,
    noise: float = 0.1,
    fixation_ms: float = 300.0,
    sample_ms: float = 500.0,
    delay_ms: float | Sequence[float] = (500.0, 1000.0, 1500.0),
    test_ms: float = 500.0,
    response_ms: float = 300.0,
) -> TaskTrials:
    """Delayed match-to-sample.

    A sample stimulus (one of ``n_stimuli``, one-hot on inputs ``stimulus_1..n``) is shown, then
    a delay, then a test stimulus; after the test the network reports match (``choice`` 0,
    output ``choice_1``) or non-match (``choice`` 1, output ``choice_2``). Inputs ``[fixation,
    stimulus_1, ..., stimulus_n]``; outputs ``[fixation, choice_1, choice_2]``. Epochs:
    fixation, sample, delay, test, response. Columns ``sample``, ``test``, ``match``.

    Examples
    --------
    >>> tt = delayed_match_to_sample(5, seed=0, n_stimuli=3)
    >>> tt.input_names
    ['fixation', 'stimulus_1', 'stimulus_2', 'stimulus_3']
    """
    n = check_n_trials(n_trials)
    rng = make_rng(seed, rng)
    if isinstance(n_stimuli, bool) or not isinstance(n_stimuli, int | np.integer) or n_stimuli < 2:
        raise ConfigError(
            f"Invalid value for 'n_stimuli'. Allowed: an integer >= 2; got {n_stimuli!r}."
        )
    p_match = float(check_range("p_match", p_match, 0.0, 1.0)[0])
    sample = rng.integers(0, n_stimuli, size=n)
    match = rng.random(n) < p_match
    other = (sample + rng.integers(1, n_stimuli, size=n)) % n_stimuli
    test = np.where(match, sample, other)
    choice = np.where(match, 0.0, 1.0)
    delays = _delays(rng, n, delay_ms)
    epochs = ["fixation", "sample", "delay", "test", "response"]
    durations = np.column_stack(
        [
            np.full(n, fixation_ms),
            np.full(n, sample_ms),
            delays,
            np.full(n, test_ms),
            np.full(n, response_ms),
        ]
    )
    tl = Timeline(epochs, durations, dt)
    sd = noise_sd(noise, dt)

    inputs = np.zeros((n, tl.n_steps, 1 + n_stimuli))
    inputs[..., 0] = np.arange(tl.n_steps)[None, :] < tl.start("response")[:, None]
    rows = np.arange(n)
    inputs[rows, :, 1 + sample] = tl.window("sample")
    inputs[rows, :, 1 + test] += tl.window("test")
    on = (tl.window("sample") | tl.window("test"))[..., None]
    inputs[..., 1:] = np.where(
        on, inputs[..., 1:] + sd * rng.standard_normal((n, tl.n_steps, n_stimuli)), 0.0
    )
    targets, mask = decision_targets(tl, choice, 2)
    return assemble(
        "delayed_match_to_sample",
        tl,
        inputs,
        targets,
        mask,
        {"sample": sample, "test": test, "match": match, "delay_ms": delays, "choice": choice},
        ["fixation", *[f"stimulus_{k + 1}" for k in range(n_stimuli)]],
        ["fixation", "choice_1", "choice_2"],
        {"n_stimuli": int(n_stimuli), "choice_meaning": ["match", "non-match"]},
    )
