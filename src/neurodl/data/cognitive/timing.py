"""Timing tasks: interval production (ready-set-go) and the 3-bit flip-flop memory task."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...exceptions import ConfigError
from ._build import Timeline, assemble, check_choice, check_n_trials, check_range, make_rng
from .base import TaskTrials, steps_of

__all__ = ["flip_flop", "interval_production"]


def interval_production(
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    intervals_ms: Sequence[float] = (480.0, 560.0, 640.0, 720.0, 800.0),
    fixation_ms: float = 300.0,
    pulse_ms: float = 40.0,
    response_ms: float = 100.0,
) -> TaskTrials:
    """Ready-set-go interval production (Jazayeri & Shadlen 2010).

    Inputs ``[fixation, ready, set]``: the fixation cue stays on for the whole trial; ``ready``
    and ``set`` are pulses of ``pulse_ms`` whose onsets are ``interval`` ms apart. Outputs
    ``[fixation, go]``: hold fixation until ``interval`` ms after the set onset, then emit a
    ``response_ms`` go pulse (fixation 0). Epochs: fixation, ready (ready onset to set onset),
    set (set onset to go), response. Mask: 1 on the whole trial, 0 in padding. ``choice`` is NaN.
    Intervals are rounded to whole steps, so choose multiples of ``dt`` for exact timing.

    Examples
    --------
    >>> tt = interval_production(3, seed=0, intervals_ms=[600])
    >>> int(tt.trials.set_start[0] - tt.trials.ready_start[0]) * tt.dt
    600.0
    """
    n = check_n_trials(n_trials)
    rng = make_rng(seed, rng)
    ivals = check_range("intervals_ms", intervals_ms, 0.0, np.inf)
    if np.any(ivals <= pulse_ms):
        bad = ivals[ivals <= pulse_ms][0]
        raise ConfigError(
            f"Invalid value for 'intervals_ms': {bad:g} ms is not longer than pulse_ms={pulse_ms:g}."
        )
    interval = rng.choice(ivals, size=n)
    epochs = ["fixation", "ready", "set", "response"]
    durations = np.column_stack(
        [np.full(n, fixation_ms), interval, interval, np.full(n, response_ms)]
    )
    tl = Timeline(epochs, durations, dt)
    pulse = steps_of(pulse_ms, dt, what="pulse")
    t = np.arange(tl.n_steps)[None, :]

    inputs = np.zeros((n, tl.n_steps, 3))
    inputs[..., 0] = tl.alive()
    for k, epoch in enumerate(("ready", "set")):
        s = tl.start(epoch)[:, None]
        inputs[..., 1 + k] = (t >= s) & (t < s + pulse)
    targets = np.zeros((n, tl.n_steps, 2))
    targets[..., 0] = t < tl.start("response")[:, None]
    targets[..., 1] = tl.window("response")
    mask = np.ones_like(targets)
    return assemble(
        "interval_production",
        tl,
        inputs,
        targets,
        mask,
        {"interval": interval, "choice": np.full(n, np.nan)},
        ["fixation", "ready", "set"],
        ["fixation", "go"],
        {"pulse_ms": float(pulse_ms)},
    )


def flip_flop(
    n_trials: int,
    *,
    dt: float = 20.0,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
    n_bits: int = 3,
    duration_ms: float = 2000.0,
    pulse_rate: float = 2.0,
    pulse_ms: float = 20.0,
    unset: str = "free",
) -> TaskTrials:
    """The n-bit flip-flop (Sussillo & Barak 2013), 3 bits by default.

    Inputs ``[flip_1..n]``: occasional pulses of +1 or -1 (``pulse_ms`` long, onsets at a
    Poisson rate of ``pulse_rate`` per second per bit, drawn on a 1 ms grid and placed at the
    step containing them; pulses of one bit never overlap). Outputs ``[bit_1..n]``: each holds
    the sign of its input's last pulse. Before a bit's first pulse its target is 0 and
    ``unset`` says what the loss does with it: ``"free"`` (default) masks those steps out (the
    task defines no memory yet, so a trained network needs only the ``2**n_bits`` memory states of
    Sussillo & Barak); ``"zero"`` asks for output 0 there (mask 1 everywhere; the network then
    also learns stable "bit not yet set" states). One epoch, ``stimulus``; ``choice`` NaN; column ``n_pulses``. ``info["pulses"]`` lists, per trial, the
    ``(bit, onset_ms, sign)`` of each pulse.

    Examples
    --------
    >>> tt = flip_flop(2, seed=0)
    >>> tt.output_names
    ['bit_1', 'bit_2', 'bit_3']
    """
    n = check_n_trials(n_trials)
    rng = make_rng(seed, rng)
    if isinstance(n_bits, bool) or not isinstance(n_bits, int | np.integer) or n_bits < 1:
        raise ConfigError(f"Invalid value for 'n_bits'. Allowed: an integer >= 1; got {n_bits!r}.")
    check_range("pulse_rate", pulse_rate, 0.0, np.inf)
    check_choice("unset", unset, ("free", "zero"))
    tl = Timeline(["stimulus"], np.full((n, 1), duration_ms), dt)
    pulse = steps_of(pulse_ms, dt, what="pulse")
    if pulse < 1:
        raise ConfigError(
            f"Invalid value for 'pulse_ms'. Allowed: a duration > 0 ms; got {pulse_ms!r}."
        )
    n_ms = round(float(duration_ms))
    inputs = np.zeros((n, tl.n_steps, n_bits))
    targets = np.zeros((n, tl.n_steps, n_bits))
    mask = np.ones_like(targets)
    pulses: list[list[tuple[int, float, int]]] = []
    for i in range(n):
        events = []
        for b in range(n_bits):
            onsets = np.flatnonzero(rng.random(n_ms) < pulse_rate / 1000.0)
            signs = rng.choice([-1, 1], size=onsets.size)
            last_step = -pulse
            first_step = tl.n_steps  # no pulse yet: the whole trial is "unset"
            for onset, sign in zip(onsets, signs, strict=True):
                step = int(onset // dt)
                if step < last_step + pulse or step >= tl.n_steps:
                    continue
                inputs[i, step : step + pulse, b] = sign
                targets[i, step:, b] = sign
                events.append((b, float(onset), int(sign)))
                first_step = min(first_step, step)
                last_step = step
            if unset == "free":
                mask[i, :first_step, b] = 0.0
        pulses.append(sorted(events, key=lambda e: (e[1], e[0])))
    return assemble(
        "flip_flop",
        tl,
        inputs,
        targets,
        mask,
        {"n_pulses": [len(p) for p in pulses], "choice": np.full(n, np.nan)},
        [f"flip_{b + 1}" for b in range(n_bits)],
        [f"bit_{b + 1}" for b in range(n_bits)],
        {"pulses": pulses, "pulse_rate": float(pulse_rate), "unset": unset},
    )
