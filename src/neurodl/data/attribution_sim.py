"""Simulated EEG with a known answer for attribution maps: sources, windows and suppressors.

:func:`simulate_attribution_eeg` plants a class-dependent burst (a Hann-tapered oscillation, so
it has both a time window and a frequency band) on a few *source* channels. Each source also
carries a strong *distractor* (smooth noise without class information) that is recorded a
second time, almost clean, on a *suppressor* channel. A linear model subtracts the suppressor
from its source to cancel the distractor, so it gives the suppressor a large weight although
that channel carries no class signal at all (Haufe et al. 2014, NeuroImage 87: 96-110). The
remaining channels hold independent background noise. What was planted is stored in
``info["ground_truth"]``, so attribution maps can be scored against the truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ConfigError
from .epochs import EpochsDataset
from .simulate._common import check_float, check_int, make_rng, pink_noise

__all__ = ["ATTRIBUTION_CLASSES", "simulate_attribution_eeg"]

#: Class names of :func:`simulate_attribution_eeg` (the burst's sign).
ATTRIBUTION_CLASSES = ["negative", "positive"]


def _burst(times: np.ndarray, window: tuple[float, float], frequency: float) -> np.ndarray:
    """Hann-tapered cosine inside ``window`` (seconds), zero outside; peak 1."""
    lo, hi = window
    inside = (times >= lo) & (times < hi)
    phase = (times - lo) / (hi - lo)
    taper = np.where(inside, np.sin(np.pi * phase) ** 2, 0.0)
    return taper * np.cos(2 * np.pi * frequency * (times - (lo + hi) / 2))


def simulate_attribution_eeg(
    n_trials: int = 600,
    n_channels: int = 10,
    n_sources: int = 2,
    n_suppressors: int = 2,
    *,
    sfreq: float = 64.0,
    duration: float = 1.0,
    window: tuple[float, float] = (0.35, 0.75),
    frequency: float = 6.0,
    effect_size: float = 1.0,
    distractor: float = 2.0,
    seed: int | None = 0,
) -> EpochsDataset:
    """Simulate two-class epochs whose class signal sits on known channels, times and band.

    Every channel has unit-variance pink background noise times a channel gain drawn
    log-uniformly in [0.5, 2] (real montages differ in amplitude). Source channel ``k`` adds
    ``+-effect_size * burst(t)`` (the sign is the class) and ``distractor * d_k(t)``, where
    ``d_k`` is unit-variance pink noise; suppressor channel ``k`` records ``d_k(t)`` plus 10%
    white noise and nothing else. Channel roles are placed at random positions (seeded).

    Parameters
    ----------
    n_trials : int, default=600
        Trials, half per class (even number >= 4).
    n_channels : int, default=10
        Channels (>= n_sources + n_suppressors + 1).
    n_sources : int, default=2
        Channels carrying the class signal (>= 1).
    n_suppressors : int, default=2
        Suppressor channels (0 to ``n_sources``), each paired with one source.
    sfreq : float, default=64.0
        Sampling rate in Hz (>= 16).
    duration : float, default=1.0
        Epoch length in seconds (0 to ``duration``).
    window : (float, float), default=(0.35, 0.75)
        Seconds of the burst (``0 <= start < stop <= duration``).
    frequency : float, default=6.0
        Burst frequency in Hz (below Nyquist); the true band is ``frequency +- 2 / width``
        where ``width`` is the window length (the taper's main lobe).
    effect_size : float, default=1.0
        Peak burst amplitude in units of the background noise's standard deviation (0: null).
    distractor : float, default=2.0
        Standard deviation of the distractor on the sources (what suppressors cancel).
    seed : int or None, default=0

    Returns
    -------
    dataset : EpochsDataset
        ``X`` of shape (n_trials, n_channels, round(duration * sfreq)), ``y`` (0 =
        ``negative``, 1 = ``positive``), channel names ``src1.., sup1.., noise1..`` and
        ``info["ground_truth"]``: ``source_channels``, ``suppressor_channels``,
        ``noise_channels`` (indices), ``window`` (s), ``window_samples`` (start, stop),
        ``band`` (Hz), ``frequency``, ``pairs`` (suppressor index -> source index).

    Examples
    --------
    >>> ds = simulate_attribution_eeg(n_trials=8, n_channels=6)
    >>> ds.X.shape, ds.info["ground_truth"]["window_samples"]
    ((8, 6, 64), (23, 48))
    """
    n_trials = check_int("n_trials", n_trials, 4)
    if n_trials % 2:
        raise ConfigError(
            f"Invalid value for 'n_trials'. Allowed: an even int >= 4; got {n_trials}."
        )
    n_sources = check_int("n_sources", n_sources, 1)
    n_suppressors = check_int("n_suppressors", n_suppressors, 0, n_sources)
    n_channels = check_int("n_channels", n_channels, n_sources + n_suppressors + 1)
    sfreq = check_float("sfreq", sfreq, 16.0)
    duration = check_float("duration", duration, 0.0, 60.0, low_open=True)
    n_times = round(duration * sfreq)
    if n_times < 8:
        raise ConfigError(
            f"Invalid value for 'duration'. Allowed: at least 8 samples at sfreq={sfreq:g}; "
            f"got {duration!r}."
        )
    try:
        lo, hi = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Invalid value for 'window'. Allowed: (start, stop) in seconds; got {window!r}."
        ) from None
    if not 0.0 <= lo < hi <= duration:
        raise ConfigError(
            f"Invalid value for 'window'. Allowed: 0 <= start < stop <= duration ({duration:g} s);"
            f" got {window!r}."
        )
    frequency = check_float("frequency", frequency, 0.0, sfreq / 2, high_open=True)
    effect_size = check_float("effect_size", effect_size, 0.0)
    distractor = check_float("distractor", distractor, 0.0)
    rng = make_rng(seed)

    times = np.arange(n_times) / sfreq
    burst = _burst(times, (lo, hi), frequency)
    y = rng.permutation(np.repeat([0, 1], n_trials // 2))
    sign = 2.0 * y - 1.0
    n_noise = n_channels - n_sources - n_suppressors
    names = (
        [f"src{k + 1}" for k in range(n_sources)]
        + [f"sup{k + 1}" for k in range(n_suppressors)]
        + [f"noise{k + 1}" for k in range(n_noise)]
    )
    order = rng.permutation(n_channels)  # position of each role in the montage
    gain = np.exp(rng.uniform(np.log(0.5), np.log(2.0), n_channels))
    X = pink_noise(rng, (n_trials, n_channels, n_times), sfreq) * gain[None, :, None]
    dist = pink_noise(rng, (n_trials, n_sources, n_times), sfreq)
    for k in range(n_sources):
        X[:, k] += distractor * dist[:, k] + effect_size * sign[:, None] * burst[None, :]
    for k in range(n_suppressors):
        j = n_sources + k
        X[:, j] = distractor * dist[:, k] + 0.1 * distractor * rng.standard_normal(
            (n_trials, n_times)
        )
    X = X[:, np.argsort(order)]  # role r goes to position order[r]
    ch_names = [names[r] for r in np.argsort(order)]
    inside = np.flatnonzero(burst != 0.0)
    width = hi - lo
    truth: dict[str, Any] = {
        "source_channels": [int(order[k]) for k in range(n_sources)],
        "suppressor_channels": [int(order[n_sources + k]) for k in range(n_suppressors)],
        "noise_channels": [int(order[n_sources + n_suppressors + k]) for k in range(n_noise)],
        "pairs": {int(order[n_sources + k]): int(order[k]) for k in range(n_suppressors)},
        "window": (lo, hi),
        "window_samples": (int(inside[0]), int(inside[-1]) + 1) if inside.size else (0, 0),
        "frequency": frequency,
        "band": (max(frequency - 2.0 / width, 0.0), frequency + 2.0 / width),
        "effect_size": effect_size,
        "distractor": distractor,
        "gains": gain[np.argsort(order)].tolist(),
    }
    metadata = pd.DataFrame(
        {
            "subject": "sim",
            "session": "1",
            "run": "1",
            "recording": "sim",
            "segment": [f"sim/trial-{i}" for i in range(n_trials)],
            "trial": np.arange(n_trials),
            "onset": np.arange(n_trials) * (duration + 1.0),
        }
    )
    info = {"ground_truth": truth, "tmin": 0.0, "simulator": "attribution_eeg"}
    return EpochsDataset(X, y, metadata, sfreq, ch_names, list(ATTRIBUTION_CLASSES), info)
