"""Epoched EEG-like simulators with known ground truth: motor imagery (ERD) and evoked (P300).

Both share one background model: spatially mixed 1/f noise, an occipital alpha rhythm and
sensorimotor mu/beta rhythms, with subject-specific rhythm frequencies, source positions, gains
and effect strengths, and per-session shifts (electrode displacement, channel gains, rhythm
power), as in real multi-session recordings. Signals are in volts (about 10-20 uV).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import ConfigError
from ..epochs import EpochsDataset
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

__all__ = ["MI_CLASSES", "simulate_evoked", "simulate_motor_imagery"]

#: Class names of :func:`simulate_motor_imagery` (the first ``n_classes`` are used).
MI_CLASSES = ("left_hand", "right_hand", "feet")

#: Sensorimotor source of each imagined movement (contralateral hand area, vertex for feet).
_MI_SITES = {"left_hand": "C4", "right_hand": "C3", "feet": "Cz"}

#: Channels kept first when ``n_channels`` is small (C3, Cz, C4 always present).
_PRIORITY = [
    "C3",
    "Cz",
    "C4",
    "Fz",
    "Pz",
    "FC3",
    "FC4",
    "CP3",
    "CP4",
    "C1",
    "C2",
    "FCz",
    "CPz",
    "P3",
    "P4",
    "Oz",
    "C5",
    "C6",
    "F3",
    "F4",
    "O1",
    "O2",
    "T7",
    "T8",
    "FC1",
    "FC2",
    "CP1",
    "CP2",
    "Fp1",
    "Fp2",
    "F7",
    "F8",
    "P7",
    "P8",
    "POz",
    "AF3",
    "AF4",
    "FC5",
    "FC6",
    "CP5",
    "CP6",
    "PO3",
    "PO4",
    "Fpz",
]

_UV = 1e-6
#: Amplitudes (uV, standard deviation) of the background components.
_AMP = {"pink": 8.0, "mu": 6.0, "beta": 3.0, "occipital_alpha": 7.0, "sensor": 1.0}
_MU_BAND = (8.0, 12.0)
_BETA_BAND = (18.0, 26.0)
#: Beta ERD as a fraction of the mu ERD.
_BETA_ERD_RATIO = 0.8
#: P300 amplitude (uV) at effect_size=1.
_P300_UV = 8.0


@dataclass
class _Subject:
    """Subject-level parameters of the background model."""

    mu_peak: float
    beta_peak: float
    alpha_peak: float
    motor_sources: np.ndarray  # (3, 2): C3, C4, Cz areas
    width: float
    gain: float
    effect: float  # multiplier of effect_size (some subjects respond weakly)
    rhythm: float  # amplitude multiplier of the sensorimotor rhythms


def _draw_subject(rng: np.random.Generator) -> _Subject:
    mu = rng.uniform(9.0, 11.5)
    sites = np.array([SCALP_POSITIONS[c] for c in ("C3", "C4", "Cz")])
    return _Subject(
        mu_peak=mu,
        beta_peak=rng.uniform(19.0, 25.0),
        alpha_peak=float(np.clip(mu + rng.normal(0.0, 0.5), 8.5, 12.0)),
        motor_sources=sites + rng.normal(0.0, 0.05, sites.shape),
        width=rng.uniform(0.25, 0.33),
        gain=float(np.exp(rng.normal(0.0, 0.25))),
        effect=rng.uniform(0.4, 1.4),
        rhythm=rng.uniform(0.8, 1.25),
    )


def _background(
    rng: np.random.Generator,
    subj: _Subject,
    channels: list[str],
    n_trials: int,
    n_times: int,
    sfreq: float,
    erd: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """One session of background EEG, shape (n_trials, n_channels, n_times), in volts.

    ``erd`` of shape (n_trials, 3) is the relative drop of the mu amplitude of the C3, C4 and
    Cz sources in each trial (beta drops by ``_BETA_ERD_RATIO`` times as much); ``None``: none.
    """
    n_ch = len(channels)
    # Session shifts: electrode displacement, channel gains, rhythm power, noise level.
    shift = rng.normal(0.0, 0.04, 2)
    ch_gain = np.exp(rng.normal(0.0, 0.1, n_ch))
    rhythm_session = float(np.exp(rng.normal(0.0, 0.2)))
    noise_session = float(np.exp(rng.normal(0.0, 0.15)))

    pos = np.array([SCALP_POSITIONS[c] for c in channels])
    mix = spatial_gain(pos, channels, 0.3)
    mix /= np.sqrt((mix**2).sum(axis=1, keepdims=True))
    pink = pink_noise(rng, (n_trials, n_ch, n_times), sfreq)
    x = _AMP["pink"] * noise_session * np.einsum("cs,nst->nct", mix, pink)

    motor = spatial_gain(subj.motor_sources + shift, channels, subj.width)  # (n_ch, 3)
    # Trial-to-trial amplitude fluctuation: a shared and a per-source part, plus a slow drift of
    # rhythm power across the session (fatigue, vigilance): neighbouring trials are alike.
    drift = rng.normal(0.0, 0.25)
    fluct = np.exp(
        rng.normal(0.0, 0.15, (n_trials, 1))
        + rng.normal(0.0, 0.2, (n_trials, 3))
        + drift * np.linspace(-0.5, 0.5, n_trials)[:, None]
    )
    erd = np.zeros((n_trials, 3)) if erd is None else erd
    amp = subj.rhythm * rhythm_session
    for band, peak, width, erd_ratio in (
        ("mu", subj.mu_peak, 1.0, 1.0),
        ("beta", subj.beta_peak, 2.0, _BETA_ERD_RATIO),
    ):
        src = band_noise(rng, (n_trials, 3, n_times), sfreq, peak, width)
        mod = fluct * (1.0 - erd_ratio * erd)
        x += _AMP[band] * amp * np.einsum("cs,nst->nct", motor, src * mod[:, :, None])

    occ = spatial_gain(np.array([[0.0, -0.9]]) + shift, channels, 0.35)
    alpha = band_noise(rng, (n_trials, 1, n_times), sfreq, subj.alpha_peak, 0.8)
    alpha_amp = np.exp(rng.normal(0.0, 0.3, (n_trials, 1, 1)))
    x += _AMP["occipital_alpha"] * np.einsum("cs,nst->nct", occ, alpha * alpha_amp)
    x += _AMP["sensor"] * rng.standard_normal(x.shape)
    x *= (subj.gain * ch_gain)[None, :, None] * _UV
    return x, {
        "rhythm_scale": rhythm_session,
        "noise_scale": noise_session,
        "electrode_shift": [float(v) for v in shift],
        "rhythm_drift": float(drift),
    }


def _onsets(rng: np.random.Generator, n_trials: int, trial_len: float) -> np.ndarray:
    """Trial onsets (s) in a run: 2 s lead-in, then trials separated by 1.5-2.5 s."""
    gaps = trial_len + rng.uniform(1.5, 2.5, n_trials)
    return 2.0 + np.concatenate([[0.0], np.cumsum(gaps[:-1])])


def _metadata(subject: str, session: str, onsets: np.ndarray) -> pd.DataFrame:
    run = "1"
    rec = f"sub-{subject}_ses-{session}_run-{run}"
    n = len(onsets)
    return pd.DataFrame(
        {
            "subject": subject,
            "session": session,
            "run": run,
            "recording": rec,
            "segment": [f"{rec}/trial-{i}" for i in range(n)],
            "trial": np.arange(n),
            "onset": onsets,
        }
    )


def _balanced_labels(rng: np.random.Generator, n_trials: int, n_classes: int) -> np.ndarray:
    return rng.permutation(np.resize(np.arange(n_classes), n_trials))


def simulate_motor_imagery(
    n_subjects: int = 4,
    n_sessions: int = 2,
    n_trials: int = 60,
    n_channels: int = 16,
    sfreq: float = 128.0,
    trial_duration: float = 2.0,
    effect_size: float = 0.35,
    n_classes: int = 2,
    seed: int | None = 0,
) -> EpochsDataset:
    """Simulate a multi-subject, multi-session motor-imagery EEG study.

    Each trial is the imagery period after the cue. Imagining a hand movement lowers the mu
    (8-12 Hz) and beta (18-26 Hz) amplitude of the contralateral sensorimotor source
    (event-related desynchronisation, ERD): ``left_hand`` -> around C4, ``right_hand`` -> around
    C3, ``feet`` -> around Cz. The background is spatially mixed 1/f noise, an occipital alpha
    rhythm and the sensorimotor rhythms themselves. Subjects differ in rhythm frequencies,
    source positions, spatial spread, gain and effect strength; sessions differ by an electrode
    shift, channel gains, rhythm power and noise level.

    Parameters
    ----------
    n_subjects : int, default=4
        Simulated subjects, each with its own rhythms, sources and effect strength.
    n_sessions : int, default=2
        Sessions per subject (one run each).
    n_trials : int, default=60
        Trials per session (classes balanced within each session).
    n_channels : int, default=16
        Number of 10-20/10-10 channels (3 to 44); C3, Cz and C4 are always included.
    sfreq : float, default=128.0
        Sampling rate in Hz (at least 64).
    trial_duration : float, default=2.0
        Length of each trial in seconds.
    effect_size : float, default=0.35
        Relative drop of the mu amplitude over the contralateral source (0 <= effect_size < 1;
        beta drops by 0.8 times as much). Each subject scales it by a factor in [0.4, 1.4]
        (clipped at 0.95). ``0`` gives a true null: the data do not depend on the labels.
    n_classes : int, default=2
        2 (``left_hand``, ``right_hand``) or 3 (adds ``feet``).
    seed : int or None, default=0
        Seed of ``np.random.default_rng``; the same seed gives the same data.

    Returns
    -------
    dataset : EpochsDataset
        ``X`` of shape (n_subjects * n_sessions * n_trials, n_channels, n_times) in volts,
        ``y`` int labels, ``classes``, metadata (subject ``"01"``..., session ``"1"``...,
        run, recording, segment, trial, onset) and ``info["ground_truth"]``: the source
        channel of each class, the bands, and per-subject peaks and effect sizes.

    Examples
    --------
    >>> ds = simulate_motor_imagery(n_subjects=1, n_sessions=1, n_trials=10, n_channels=8)
    >>> ds.X.shape, ds.classes
    ((10, 8, 256), ['left_hand', 'right_hand'])
    """
    n_subjects = check_int("n_subjects", n_subjects, 1)
    n_sessions = check_int("n_sessions", n_sessions, 1)
    n_trials = check_int("n_trials", n_trials, 2)
    n_channels = check_int("n_channels", n_channels, 3, len(_PRIORITY))
    n_classes = check_int("n_classes", n_classes, 2, 3)
    sfreq = check_float("sfreq", sfreq, 64.0)
    trial_duration = check_float("trial_duration", trial_duration, 0.0, 60.0, low_open=True)
    effect_size = check_float("effect_size", effect_size, 0.0, 1.0, high_open=True)
    rng = make_rng(seed)
    n_times = round(trial_duration * sfreq)
    if n_times < 16:
        raise ConfigError(
            "Invalid values for 'trial_duration' and 'sfreq': a trial needs at least 16 samples; "
            f"got {trial_duration} s at {sfreq} Hz ({n_times} samples)."
        )
    check_size(
        "motor_imagery",
        n_subjects=n_subjects,
        n_sessions=n_sessions,
        n_trials=n_trials,
        n_channels=n_channels,
        n_times=n_times,
    )
    channels = pick_channels(_PRIORITY, n_channels)
    classes = list(MI_CLASSES[:n_classes])
    site_index = {"C3": 0, "C4": 1, "Cz": 2}

    xs, ys, mds, truth = [], [], [], {}
    for s in range(n_subjects):
        subject = f"{s + 1:02d}"
        subj = _draw_subject(rng)
        erd = min(effect_size * subj.effect, 0.95)
        sessions = {}
        for r in range(n_sessions):
            session = str(r + 1)
            y = _balanced_labels(rng, n_trials, n_classes)
            drop = np.zeros((n_trials, 3))
            for k, name in enumerate(classes):
                drop[y == k, site_index[_MI_SITES[name]]] = erd
            x, sess_info = _background(rng, subj, channels, n_trials, n_times, sfreq, drop)
            xs.append(x)
            ys.append(y)
            mds.append(_metadata(subject, session, _onsets(rng, n_trials, trial_duration)))
            sessions[session] = sess_info
        truth[subject] = {
            "mu_peak": subj.mu_peak,
            "beta_peak": subj.beta_peak,
            "alpha_peak": subj.alpha_peak,
            "gain": subj.gain,
            "mu_erd": erd,
            "beta_erd": _BETA_ERD_RATIO * erd,
            "sessions": sessions,
        }
    info: dict[str, Any] = {
        "simulator": "motor_imagery",
        "seed": seed,
        "unit": "V",
        "ground_truth": {
            "effect_size": effect_size,
            "erd_channels": {name: [_MI_SITES[name]] for name in classes},
            "bands": {"mu": list(_MU_BAND), "beta": list(_BETA_BAND)},
            "erd_definition": "relative drop of rhythm amplitude (power drops by 1-(1-erd)**2)",
            "subjects": truth,
        },
    }
    return EpochsDataset(
        np.concatenate(xs),
        np.concatenate(ys),
        pd.concat(mds, ignore_index=True),
        sfreq,
        channels,
        classes,
        info,
    )


def simulate_evoked(
    n_subjects: int = 4,
    n_sessions: int = 1,
    n_trials: int = 120,
    n_channels: int = 16,
    sfreq: float = 128.0,
    tmin: float = -0.2,
    tmax: float = 0.8,
    target_ratio: float = 0.25,
    latency: float = 0.35,
    effect_size: float = 1.0,
    seed: int | None = 0,
) -> EpochsDataset:
    """Simulate an oddball study: a P300-like response to rare targets.

    Every stimulus evokes a fronto-central N1 (about -3 uV at 100 ms) and P2 (+2 uV at 200 ms);
    targets add a centro-parietal positivity (source between CPz and Pz, Gaussian in time with
    standard deviation 80 ms) of ``effect_size * 8 uV`` (times a subject factor in [0.7, 1.3]) at
    a subject-specific latency (``latency`` +- 30 ms) with 30 ms trial-to-trial jitter. The
    background is the same as in :func:`simulate_motor_imagery` (without ERD).

    Parameters
    ----------
    n_subjects : int, default=4
        Simulated subjects, each with its own P300 amplitude and latency.
    n_sessions : int, default=1
        Sessions per subject (one run each).
    n_trials : int, default=120
        Trials per session.
    n_channels : int, default=16
        Number of channels (3 to 44); Cz and Pz are among the first five.
    sfreq : float, default=128.0
        Sampling rate in Hz (at least 64).
    tmin, tmax : float, default=-0.2, 0.8
        Epoch window around stimulus onset, in seconds.
    target_ratio : float, default=0.25
        Fraction of target trials (exact count per session, ``round(ratio * n_trials)``).
    latency : float, default=0.35
        Mean P300 peak latency in seconds.
    effect_size : float, default=1.0
        Target amplitude in units of 8 uV; ``0`` gives a true null.
    seed : int or None, default=0
        Seed of ``np.random.default_rng``; the same seed gives the same data. In a run config
        it defaults to the run's ``seed``.

    Returns
    -------
    dataset : EpochsDataset
        ``X`` of shape (n_subjects * n_sessions * n_trials, n_channels, n_times) in volts, ``y``
        (0 = ``non_target``, 1 = ``target``), metadata and ``info["ground_truth"]`` (latencies,
        amplitudes, channels where the P300 gain exceeds half its maximum) and ``info["tmin"]``.

    Examples
    --------
    >>> ds = simulate_evoked(n_subjects=1, n_trials=8, n_channels=8)
    >>> ds.X.shape, ds.classes
    ((8, 8, 128), ['non_target', 'target'])
    """
    n_subjects = check_int("n_subjects", n_subjects, 1)
    n_sessions = check_int("n_sessions", n_sessions, 1)
    n_trials = check_int("n_trials", n_trials, 2)
    n_channels = check_int("n_channels", n_channels, 3, len(_PRIORITY))
    sfreq = check_float("sfreq", sfreq, 64.0)
    tmin = check_float("tmin", tmin, -5.0, 5.0)
    tmax = check_float("tmax", tmax, tmin, tmin + 60.0, low_open=True)
    target_ratio = check_float(
        "target_ratio", target_ratio, 0.0, 1.0, low_open=True, high_open=True
    )
    latency = check_float("latency", latency, 0.0, 5.0, low_open=True)
    effect_size = check_float("effect_size", effect_size, 0.0, 20.0)
    rng = make_rng(seed)
    n_times = round((tmax - tmin) * sfreq)
    check_size(
        "evoked",
        n_subjects=n_subjects,
        n_sessions=n_sessions,
        n_trials=n_trials,
        n_channels=n_channels,
        n_times=n_times,
    )
    times = tmin + np.arange(n_times) / sfreq
    channels = pick_channels(_PRIORITY, n_channels)
    n_targets = min(max(round(target_ratio * n_trials), 1), n_trials - 1)

    p3_gain = spatial_gain(np.array([[0.0, -0.35]]), channels, 0.4)[:, 0]
    fc_gain = spatial_gain(np.array([[0.0, 0.2]]), channels, 0.45)[:, 0]
    common = -3.0 * np.exp(-((times - 0.1) ** 2) / (2 * 0.025**2)) + 2.0 * np.exp(
        -((times - 0.2) ** 2) / (2 * 0.035**2)
    )
    xs, ys, mds, truth = [], [], [], {}
    for s in range(n_subjects):
        subject = f"{s + 1:02d}"
        subj = _draw_subject(rng)
        lat = float(latency + rng.normal(0.0, 0.03))
        amp = _P300_UV * effect_size * rng.uniform(0.7, 1.3)
        for r in range(n_sessions):
            session = str(r + 1)
            y = rng.permutation(np.r_[np.ones(n_targets, int), np.zeros(n_trials - n_targets, int)])
            x, _ = _background(rng, subj, channels, n_trials, n_times, sfreq)
            jitter = rng.normal(0.0, 0.03, n_trials)
            wave = np.exp(-((times[None, :] - lat - jitter[:, None]) ** 2) / (2 * 0.08**2))
            erp = (amp * y[:, None] * wave)[:, None, :] * p3_gain[None, :, None]
            erp += fc_gain[None, :, None] * common[None, None, :]
            x += erp * subj.gain * _UV
            onsets = _onsets(rng, n_trials, tmax - tmin) - tmin
            xs.append(x)
            ys.append(y)
            mds.append(_metadata(subject, session, onsets))
        truth[subject] = {"latency": lat, "amplitude_uV": amp, "gain": subj.gain}
    info: dict[str, Any] = {
        "simulator": "evoked",
        "seed": seed,
        "unit": "V",
        "tmin": tmin,
        "ground_truth": {
            "component": "P300",
            "effect_size": effect_size,
            "latency": latency,
            "channels": [c for c, g in zip(channels, p3_gain) if g >= 0.5 * p3_gain.max()],
            "subjects": truth,
        },
    }
    return EpochsDataset(
        np.concatenate(xs),
        np.concatenate(ys),
        pd.concat(mds, ignore_index=True),
        sfreq,
        channels,
        ["non_target", "target"],
        info,
    )
