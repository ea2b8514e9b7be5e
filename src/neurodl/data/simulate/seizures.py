"""Continuous EEG with seizures and artefacts at known times (one Recording per subject)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...exceptions import ConfigError
from ..recording import Annotations, Recording
from ._common import (
    SCALP_POSITIONS,
    band_noise,
    check_float,
    check_int,
    check_size,
    make_rng,
    pick_channels,
    pink_noise,
    spatial_gain,
)

__all__ = ["ARTIFACT_RATES", "simulate_continuous_seizures"]

_PRIORITY = [
    "Fp1",
    "Fp2",
    "C3",
    "C4",
    "T7",
    "T8",
    "O1",
    "O2",
    "F7",
    "F8",
    "P7",
    "P8",
    "F3",
    "F4",
    "P3",
    "P4",
    "Fz",
    "Cz",
    "Pz",
    "FC5",
    "FC6",
    "CP5",
    "CP6",
    "Oz",
    "Fpz",
]
#: Possible seizure foci (each subject has one, each seizure starts near it).
_FOCI = ["T7", "T8", "F7", "F8", "C3", "C4", "P7", "P8"]

#: Events per hour of each artefact kind at ``artifact_rate=1`` (blinks: 6 per minute).
ARTIFACT_RATES: dict[str, float] = {
    "eye_blink": 360.0,
    "muscle": 20.0,
    "electrode_pop": 10.0,
    "flat": 3.0,
}

_UV = 1e-6
_BACKGROUND_UV = 15.0
_MIN_GAP = 120.0  # s between seizures and from the recording edges


def _spike_wave(phase: np.ndarray) -> np.ndarray:
    """One spike-and-wave complex per cycle of ``phase`` (radians): sharp spike, slow wave."""
    theta = np.mod(phase, 2 * np.pi)
    spike = np.exp(-((theta - 0.4) ** 2) / (2 * 0.22**2))
    wave = -0.55 * np.exp(-((theta - 3.6) ** 2) / (2 * 0.9**2))
    return spike + wave


def _seizure(
    rng: np.random.Generator, n: int, sfreq: float, dist: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """A seizure of ``n`` samples on channels at scalp distance ``dist`` from its focus.

    Frequency slows from 4-6 Hz to 2.5-3.5 Hz, amplitude builds up then fades, and the
    discharge spreads from the focus (channels at distance d join after ``d * spread`` s).
    """
    t = np.arange(n) / sfreq
    dur = n / sfreq
    f0, f1 = rng.uniform(4.0, 6.0), rng.uniform(2.5, 3.5)
    freq = f0 + (f1 - f0) * (t / dur) + 0.15 * band_noise(rng, (n,), sfreq, 0.2, 0.1)
    phase = 2 * np.pi * np.cumsum(freq) / sfreq + rng.uniform(0, 2 * np.pi)
    wave = _spike_wave(phase)
    amp_uv = rng.uniform(80.0, 200.0)
    rise, fall = min(0.3 * dur, 15.0), min(0.2 * dur, 10.0)
    env = np.clip(t / rise, 0.0, 1.0) * np.clip((dur - t) / fall, 0.0, 1.0)
    env = env**0.7 * (0.4 + 0.6 * np.clip(t / (0.6 * dur), 0.0, 1.0))  # builds up over time
    spread = rng.uniform(8.0, 25.0)  # s per unit scalp distance
    reach = rng.uniform(0.45, 1.1)  # beyond this distance channels stay out
    join = dist * spread
    ch_env = np.clip((t[None, :] - join[:, None]) / 3.0, 0.0, 1.0)
    ch_gain = np.exp(-(dist**2) / (2 * (reach / 2) ** 2)) * (dist <= reach)
    sig = amp_uv * ch_gain[:, None] * ch_env * (env * wave)[None, :]
    meta = {
        "start_frequency": f0,
        "end_frequency": f1,
        "amplitude_uV": amp_uv,
        "spread_s_per_unit": spread,
    }
    return sig * _UV, {**meta, "channel_gain": ch_gain}


def _place(rng: np.random.Generator, durations: np.ndarray, total: float, gap: float) -> np.ndarray:
    """Non-overlapping onsets for ``durations`` with at least ``gap`` s around each event."""
    slack = total - durations.sum() - (len(durations) + 1) * gap
    cuts = np.sort(rng.uniform(0.0, slack, len(durations)))
    before = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    return gap + cuts + before + np.arange(len(durations)) * gap


# ---------------------------------------------------------------------- artefacts
def _blink(rng, data, i0, sfreq, channels):  # type: ignore[no-untyped-def]
    dur = rng.uniform(0.2, 0.4)
    n = int(dur * sfreq)
    shape = np.sin(np.pi * np.arange(n) / n) ** 2
    gain = spatial_gain(np.array([[0.0, 1.25]]), channels, 0.35)[:, 0]
    n = min(n, data.shape[1] - i0)
    data[:, i0 : i0 + n] += rng.uniform(100.0, 250.0) * _UV * gain[:, None] * shape[None, :n]
    return dur, [c for c, g in zip(channels, gain) if g > 0.1]


def _muscle(rng, data, i0, sfreq, channels):  # type: ignore[no-untyped-def]
    dur = rng.uniform(0.5, 5.0)
    n = min(int(dur * sfreq), data.shape[1] - i0)
    side = rng.choice([-1.0, 1.0])
    gain = spatial_gain(np.array([[side * 0.95, 0.1]]), channels, 0.35)[:, 0]
    hf = band_noise(rng, (len(channels), n), sfreq, min(40.0, 0.35 * sfreq), 0.12 * sfreq)
    env = np.sin(np.pi * np.arange(n) / n) ** 0.5
    data[:, i0 : i0 + n] += rng.uniform(20.0, 60.0) * _UV * gain[:, None] * hf * env[None, :]
    return dur, [c for c, g in zip(channels, gain) if g > 0.1]


def _pop(rng, data, i0, sfreq, channels):  # type: ignore[no-untyped-def]
    ch = int(rng.integers(len(channels)))
    tau = rng.uniform(0.2, 0.8)
    n = min(int(5 * tau * sfreq), data.shape[1] - i0)
    step = rng.choice([-1.0, 1.0]) * rng.uniform(200.0, 500.0) * _UV
    data[ch, i0 : i0 + n] += step * np.exp(-np.arange(n) / (tau * sfreq))
    return 5 * tau, [channels[ch]]


def _flat(rng, data, i0, sfreq, channels):  # type: ignore[no-untyped-def]
    dur = rng.uniform(2.0, 20.0)
    n = min(int(dur * sfreq), data.shape[1] - i0)
    rows = np.arange(len(channels)) if rng.random() < 0.5 else [int(rng.integers(len(channels)))]
    data[rows, i0 : i0 + n] = rng.normal(0.0, 0.05, (len(rows), n)) * _UV
    return dur, [channels[r] for r in rows]


_ARTIFACTS: dict[str, Callable[..., tuple[float, list[str]]]] = {
    "eye_blink": _blink,
    "muscle": _muscle,
    "electrode_pop": _pop,
    "flat": _flat,
}


def _one_recording(
    rng: np.random.Generator,
    subject: str,
    channels: list[str],
    n_times: int,
    sfreq: float,
    seizures_per_hour: float,
    artifact_rate: float,
) -> Recording:
    n_ch = len(channels)
    duration = n_times / sfreq
    hours = duration / 3600.0
    pos = np.array([SCALP_POSITIONS[c] for c in channels])
    mix = spatial_gain(pos, channels, 0.3)
    mix /= np.sqrt((mix**2).sum(axis=1, keepdims=True))
    data = mix @ pink_noise(rng, (n_ch, n_times), sfreq) * _BACKGROUND_UV
    # Posterior alpha that waxes and wanes (vigilance), slow amplitude modulation.
    alpha_gain = spatial_gain(np.array([[0.0, -0.9]]), channels, 0.4)[:, 0]
    slow = band_noise(rng, (n_times,), sfreq, 0.0, 0.02)
    alpha = band_noise(rng, (n_times,), sfreq, rng.uniform(8.5, 11.5), 0.7)
    data += np.outer(alpha_gain, alpha * np.exp(0.5 * slow)) * 10.0
    data += rng.standard_normal(data.shape) * 1.0
    data = (data * _UV * np.exp(rng.normal(0.0, 0.1, n_ch))[:, None]).astype(np.float32)

    # Seizures: at least one per recording, non-overlapping, away from the edges.
    n_sz = max(1, int(rng.poisson(seizures_per_hour * hours)))
    max_n = int((duration - _MIN_GAP) // (120.0 + _MIN_GAP))
    if max_n < 1:
        raise ConfigError(
            f"Invalid value for 'duration_hours': a recording must hold at least one 120 s "
            f"seizure with {_MIN_GAP:g} s around it; got {hours:g} h."
        )
    n_sz = min(n_sz, max_n)
    durations = np.round(rng.uniform(20.0, 120.0, n_sz), 1)
    onsets = np.round(_place(rng, durations, duration, _MIN_GAP), 2)
    candidates = [c for c in _FOCI if c in channels] or channels
    focus = candidates[int(rng.integers(len(candidates)))]
    seizures = []
    for onset, dur in zip(onsets, durations):
        i0, n = round(onset * sfreq), round(dur * sfreq)
        centre = np.array(SCALP_POSITIONS[focus]) + rng.normal(0.0, 0.1, 2)
        dist = np.sqrt(((pos - centre) ** 2).sum(1))
        sig, meta = _seizure(rng, n, sfreq, dist)
        data[:, i0 : i0 + n] += sig.astype(np.float32)
        # Post-ictal suppression: background damped for 20-60 s after the seizure.
        post = int(rng.uniform(20.0, 60.0) * sfreq)
        j1 = min(i0 + n + post, n_times)
        damp = 0.4 + 0.6 * np.linspace(0.0, 1.0, j1 - (i0 + n)) ** 2
        data[:, i0 + n : j1] *= damp[None, :].astype(np.float32)
        gain = meta.pop("channel_gain")
        seizures.append(
            {
                "onset": float(onset),
                "duration": float(dur),
                "focus": focus,
                "channels": [c for c, g in zip(channels, gain) if g > 0.25],
                **meta,
            }
        )

    artifacts = []
    for kind in _ARTIFACTS:
        count = int(rng.poisson(ARTIFACT_RATES[kind] * artifact_rate * hours))
        for start in np.sort(rng.uniform(0.0, max(duration - 25.0, 1.0), count)):
            dur, chans = _ARTIFACTS[kind](rng, data, int(start * sfreq), sfreq, channels)
            artifacts.append(
                {
                    "onset": round(float(start), 3),
                    "duration": round(float(dur), 3),
                    "kind": kind,
                    "channels": chans,
                }
            )
    artifacts.sort(key=lambda a: a["onset"])
    ann = Annotations(onsets, durations, ["seizure"] * len(onsets))
    return Recording(
        data,
        sfreq,
        channels,
        ["eeg"] * n_ch,
        ["V"] * n_ch,
        ann,
        subject=subject,
        session="1",
        run="1",
        info={
            "simulator": "continuous_seizures",
            "unit": "V",
            "seizures": seizures,
            "artifacts": artifacts,
            "focus": focus,
        },
    )


def simulate_continuous_seizures(
    n_subjects: int = 3,
    duration_hours: float = 1.0,
    sfreq: float = 128.0,
    n_channels: int = 8,
    seizures_per_hour: float = 2.0,
    artifact_rate: float = 1.0,
    seed: int | None = 0,
) -> list[Recording]:
    """Simulate long continuous EEG with annotated seizures and unannotated artefacts.

    Background: spatially mixed 1/f noise (about 15 uV) plus a posterior alpha rhythm whose
    amplitude waxes and wanes. Seizures (20-120 s) are rhythmic spike-and-wave discharges that
    start near the subject's focus at 4-6 Hz and slow to 2.5-3.5 Hz while their amplitude
    (80-200 uV) builds up and they spread to neighbouring channels; each is followed by
    post-ictal suppression. Artefacts that also raise power or line length are added at random
    times: eye blinks (frontal), muscle bursts (temporal, high frequency), electrode pops (one
    channel) and flat segments. Seizures are stored as annotations labelled ``"seizure"``; the
    artefacts are listed in ``info["artifacts"]`` only.

    Parameters
    ----------
    n_subjects : int, default=3
        One recording per subject.
    duration_hours : float, default=1.0
        Length of each recording in hours (at least 0.1; about 10 MB per channel-hour at 128 Hz
        in float32).
    sfreq : float, default=128.0
        Sampling rate in Hz (at least 64).
    n_channels : int, default=8
        Number of 10-20 channels (2 to 25), starting from Fp1, Fp2, C3, C4, T7, T8, O1, O2.
    seizures_per_hour : float, default=2.0
        Mean seizure rate; the count is Poisson but at least one per recording (and at most
        what fits with 120 s between seizures).
    artifact_rate : float, default=1.0
        Multiplier of :data:`ARTIFACT_RATES` (0 disables artefacts).
    seed : int or None, default=0
        Seed of ``np.random.default_rng``; the same seed gives the same data. In a run config
        it defaults to the run's ``seed``.

    Returns
    -------
    recordings : list of Recording
        ``data`` of shape (n_channels, n_times) in volts (float32), annotations, subject
        ``"01"``..., and ``info`` with ``seizures`` (onset, duration, focus, channels, frequencies,
        amplitude) and ``artifacts`` (onset, duration, kind, channels).

    Examples
    --------
    >>> recs = simulate_continuous_seizures(n_subjects=1, duration_hours=0.1)
    >>> recs[0].annotations.unique_labels()
    ['seizure']
    """
    n_subjects = check_int("n_subjects", n_subjects, 1)
    duration_hours = check_float("duration_hours", duration_hours, 0.1, 48.0)
    sfreq = check_float("sfreq", sfreq, 64.0, 4096.0)
    n_channels = check_int("n_channels", n_channels, 2, len(_PRIORITY))
    seizures_per_hour = check_float("seizures_per_hour", seizures_per_hour, 0.0, 20.0)
    artifact_rate = check_float("artifact_rate", artifact_rate, 0.0, 100.0)
    rng = make_rng(seed)
    channels = pick_channels(_PRIORITY, n_channels)
    n_times = round(duration_hours * 3600.0 * sfreq)
    check_size("continuous_seizures", n_subjects=n_subjects, n_channels=n_channels, n_times=n_times)
    recordings = []
    for s in range(n_subjects):
        rec = _one_recording(
            rng, f"{s + 1:02d}", channels, n_times, sfreq, seizures_per_hour, artifact_rate
        )
        rec.info["seed"] = seed
        recordings.append(rec)
    return recordings
