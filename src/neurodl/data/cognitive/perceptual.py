"""Perceptual decisions: random-dots decision making and context-dependent integration."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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

__all__ = [
    "CONTEXT_COHERENCES",
    "CONTEXT_NOISE",
    "DEFAULT_COHERENCES",
    "PERCEPTUAL_NOISE",
    "context_dependent_integration",
    "perceptual_decision_making",
]

#: Signed coherences of the random-dots task (Britten et al. 1992 levels, no zero).
DEFAULT_COHERENCES = (-0.512, -0.256, -0.128, -0.064, 0.064, 0.128, 0.256, 0.512)
#: Signed coherences of the context task: the three levels per sign of Mante et al. 2013 (about
#: 0.05, 0.15 and 0.50 in their monkeys), as in NeuroGym's ``ContextDecisionMaking`` (5/15/50 %).
CONTEXT_COHERENCES = (-0.5, -0.15, -0.05, 0.05, 0.15, 0.5)
#: Per-step input noise SD at dt=20 ms of each stimulus channel of the random-dots task:
#: NeuroGym's ``PerceptualDecisionMaking`` default ``sigma=1`` (SD ``sigma / sqrt(dt_ms)`` per
#: step), i.e. ``1 / sqrt(20)``.
PERCEPTUAL_NOISE = float(1.0 / np.sqrt(20.0))
#: Per-step noise SD at dt=20 ms of each (signed) evidence channel of the context task: NeuroGym's
#: ``ContextDecisionMaking`` default ``sigma=1`` on each of the two channels of a modality, whose
#: difference (the signed evidence) has SD ``sqrt(2) * sigma / sqrt(dt_ms)``: ``sqrt(2 / 20)``.
CONTEXT_NOISE = float(np.sqrt(2.0 / 20.0))


def _choice_of(coherence: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0 when the signed coherence is positive, 1 when negative, a coin flip at 0."""
    choice = np.where(coherence > 0, 0.0, 1.0)
    zero = coherence == 0
    choice[zero] = rng.integers(0, 2, size=int(zero.sum()))
    return choice


def perceptual_decision_making(
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    coherences: Sequence[float] = DEFAULT_COHERENCES,
    noise: float = PERCEPTUAL_NOISE,
    fixation_ms: float = 300.0,
    stimulus_ms: float = 800.0,
    delay_ms: float = 0.0,
    response_ms: float = 300.0,
) -> TaskTrials:
    """Random-dots perceptual decision making.

    Inputs ``[fixation, stim_1, stim_2]``: the fixation cue is on until the response epoch; during
    the stimulus, ``stim_1`` and ``stim_2`` have means ``(1 + c) / 2`` and ``(1 - c) / 2`` (their
    difference is the signed coherence ``c``) plus Gaussian noise of SD ``noise * sqrt(20 / dt)``.
    Outputs ``[fixation, choice_1, choice_2]``: hold fixation, then choose the stronger stimulus
    (``choice`` 0 for ``c > 0``, 1 for ``c < 0``, random at 0). Epochs: fixation, stimulus,
    delay (optional), response. Mask: 1 from trial start to response end, 0 in padding.

    Defaults: the nonzero coherences of Britten et al. (1992) and the input noise of NeuroGym's
    ``PerceptualDecisionMaking`` (``sigma=1``: :data:`PERCEPTUAL_NOISE` at dt=20 ms); the stimulus
    lasts 800 ms (NeuroGym: 2000 ms). A perfect integrator of ``stim_1 - stim_2`` then chooses
    right on about 97% of trials (90% at coherence 0.064; see
    :func:`~neurodl.data.cognitive.ideal_observer_accuracy`). Until 2026-12 the default noise was
    1.0, which capped that ideal observer at about 0.80.

    Examples
    --------
    >>> tt = perceptual_decision_making(4, dt=20, seed=0)
    >>> tt.inputs.shape, tt.input_names
    ((4, 70, 3), ['fixation', 'stim_1', 'stim_2'])
    """
    n = check_n_trials(n_trials)
    rng = make_rng(seed, rng)
    coh_set = check_range("coherences", coherences, -1.0, 1.0)
    coherence = rng.choice(coh_set, size=n)
    choice = _choice_of(coherence, rng)
    epochs = ["fixation", "stimulus", "delay", "response"]
    durations = np.tile([fixation_ms, stimulus_ms, delay_ms, response_ms], (n, 1))
    tl = Timeline(epochs, durations, dt)
    sd = noise_sd(noise, dt)

    inputs = np.zeros((n, tl.n_steps, 3))
    inputs[..., 0] = np.arange(tl.n_steps)[None, :] < tl.start("response")[:, None]
    stim = tl.window("stimulus")
    means = np.stack([(1 + coherence) / 2, (1 - coherence) / 2], axis=1)
    noisy = means[:, None, :] + sd * rng.standard_normal((n, tl.n_steps, 2))
    inputs[..., 1:] = np.where(stim[..., None], noisy, 0.0)
    targets, mask = decision_targets(tl, choice, 2)
    return assemble(
        "perceptual_decision_making",
        tl,
        inputs,
        targets,
        mask,
        {"coherence": coherence, "choice": choice},
        ["fixation", "stim_1", "stim_2"],
        ["fixation", "choice_1", "choice_2"],
        {"noise_sd_per_step": sd, "choice_meaning": ["stim_1 stronger", "stim_2 stronger"]},
    )


def context_dependent_integration(
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    coherences: Sequence[float] = CONTEXT_COHERENCES,
    noise: float = CONTEXT_NOISE,
    fixation_ms: float = 300.0,
    stimulus_ms: float = 800.0,
    delay_ms: float = 0.0,
    response_ms: float = 300.0,
) -> TaskTrials:
    """Context-dependent integration (Mante, Sussillo, Shenoy & Newsome 2013).

    Inputs ``[fixation, motion, colour, context_motion, context_colour]``: during the stimulus
    ``motion`` and ``colour`` carry their own signed coherences (drawn independently) plus noise;
    the one-hot context cue is on from the trial start to the response. Outputs ``[fixation,
    choice_1, choice_2]``: the correct ``choice`` is 0 when the cued dimension's coherence is
    positive, 1 when negative. Columns: ``motion_coherence``, ``colour_coherence``, ``context``
    ("motion" or "colour"), ``cued_coherence``, ``choice`` and the epoch starts.

    Defaults follow Mante et al. (2013) as NeuroGym's ``ContextDecisionMaking`` implements them:
    coherences +-0.05, +-0.15, +-0.50 (:data:`CONTEXT_COHERENCES`) and noise ``sigma=1`` per
    channel (:data:`CONTEXT_NOISE` on the signed evidence at dt=20 ms); the stimulus lasts 800 ms
    (Mante and NeuroGym: 750 ms, which is not a whole number of 20 ms steps). A perfect
    integrator of the cued input then chooses right on about 95% of trials (84% at coherence
    0.05; see :func:`~neurodl.data.cognitive.ideal_observer_accuracy`). Until 2026-12 the
    defaults were the random-dots coherences with noise 1.0, which capped that ideal observer at
    about 0.85-0.89 (below the issue's 90% goal).

    Examples
    --------
    >>> tt = context_dependent_integration(4, seed=1)
    >>> tt.input_names[3:]
    ['context_motion', 'context_colour']
    """
    n = check_n_trials(n_trials)
    rng = make_rng(seed, rng)
    coh_set = check_range("coherences", coherences, -1.0, 1.0)
    motion = rng.choice(coh_set, size=n)
    colour = rng.choice(coh_set, size=n)
    ctx = rng.integers(0, 2, size=n)
    cued = np.where(ctx == 0, motion, colour)
    choice = _choice_of(cued, rng)
    epochs = ["fixation", "stimulus", "delay", "response"]
    durations = np.tile([fixation_ms, stimulus_ms, delay_ms, response_ms], (n, 1))
    tl = Timeline(epochs, durations, dt)
    sd = noise_sd(noise, dt)

    inputs = np.zeros((n, tl.n_steps, 5))
    before_response = np.arange(tl.n_steps)[None, :] < tl.start("response")[:, None]
    inputs[..., 0] = before_response
    stim = tl.window("stimulus")
    noisy = np.stack([motion, colour], axis=1)[:, None, :] + sd * rng.standard_normal(
        (n, tl.n_steps, 2)
    )
    inputs[..., 1:3] = np.where(stim[..., None], noisy, 0.0)
    inputs[np.arange(n), :, 3 + ctx] = before_response
    targets, mask = decision_targets(tl, choice, 2)
    return assemble(
        "context_dependent_integration",
        tl,
        inputs,
        targets,
        mask,
        {
            "motion_coherence": motion,
            "colour_coherence": colour,
            "context": np.array(["motion", "colour"])[ctx],
            "cued_coherence": cued,
            "choice": choice,
        },
        ["fixation", "motion", "colour", "context_motion", "context_colour"],
        ["fixation", "choice_1", "choice_2"],
        {"noise_sd_per_step": sd, "choice_meaning": ["cued > 0", "cued < 0"]},
    )
