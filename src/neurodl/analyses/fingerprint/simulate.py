"""Simulated multi-session recordings with planted subject fingerprints (known answer).

Each subject has its own mixing of sources into channels (``spatial``) and its own alpha peak
frequency (``spectral``); every session perturbs the mixing and the source powers
(``session_noise``), so with both fingerprints at 0 the recordings carry nothing that identifies
the subject and identification falls to chance.
"""

from __future__ import annotations

import numpy as np

from ...data import Recording

__all__ = ["simulate_fingerprint_sessions"]


def _ar1(rng: np.random.Generator, n_src: int, n_times: int, coef: float = 0.9) -> np.ndarray:
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -coef], rng.standard_normal((n_src, n_times)), axis=1)


def _oscillation(rng: np.random.Generator, freq: float, sfreq: float, n_times: int) -> np.ndarray:
    from scipy.signal import lfilter

    r, w = 0.985, 2 * np.pi * freq / sfreq
    x = lfilter([1.0], [1.0, -2 * r * np.cos(w), r * r], rng.standard_normal(n_times))
    return x / x.std()


def simulate_fingerprint_sessions(
    n_subjects: int = 10,
    n_sessions: int = 2,
    n_channels: int = 8,
    sfreq: float = 100.0,
    duration: float = 60.0,
    spatial: float = 1.0,
    spectral: float = 0.0,
    session_noise: float = 0.3,
    seed: int = 0,
) -> list[Recording]:
    """Recordings of ``n_subjects`` in ``n_sessions`` sessions with planted fingerprints.

    Channels are a mixture of ``n_channels`` AR(1) sources and one alpha oscillator, plus 10%
    sensor noise. The mixing matrix of subject ``s`` in session ``k`` is
    ``A0 + spatial * B_s + session_noise * E_sk`` (``A0`` shared by all subjects, ``B_s`` the
    subject's, ``E_sk`` the session's; all standard normal / sqrt(n_channels)); each source's
    amplitude is multiplied by a log-normal factor (sd ``session_noise``) per session; the alpha
    frequency is ``10 + spectral * z_s`` Hz (clipped to 6-14 Hz; ``z_s`` standard normal).

    Parameters
    ----------
    n_subjects : int, default=10
        Subjects, each with its own mixing (and alpha frequency when ``spectral`` > 0).
    n_sessions : int, default=2
        Recordings per subject (``session`` ``"1"``, ``"2"``, ...).
    n_channels : int, default=8
        Channels, and AR(1) sources mixed into them.
    sfreq : float, default=100.0
        Sampling rate in Hz.
    duration : float, default=60.0
        Seconds per recording.
    spatial : float, default=1.0
        Size of the subject-specific mixing (0: none).
    spectral : float, default=0.0
        Spread (Hz) of the subject-specific alpha frequency (0: all at 10 Hz).
    session_noise : float, default=0.3
        Size of the session-to-session changes.
    seed : int, default=0
        Seed of ``np.random.default_rng``; the same seed gives the same data. In a run config
        it defaults to the run's ``seed``.

    Returns
    -------
    list of Recording
        ``n_subjects * n_sessions`` recordings, data of shape (n_channels, duration * sfreq)
        in volts (tens of microvolts), subject ``"S01"``..., session ``"1"``..., channel type
        ``eeg``; ``info["alpha_hz"]`` holds the subject's alpha frequency.

    Examples
    --------
    >>> recs = simulate_fingerprint_sessions(n_subjects=3, duration=10.0)
    >>> len(recs), recs[0].data.shape, recs[0].subject, recs[1].session
    (6, (8, 1000), 'S01', '2')
    """
    for name, value, low in (
        ("n_subjects", n_subjects, 2),
        ("n_sessions", n_sessions, 1),
        ("n_channels", n_channels, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"'{name}' must be an integer >= {low}; got {value!r}.")
    for name, value in (
        ("spatial", spatial),
        ("spectral", spectral),
        ("session_noise", session_noise),
    ):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"'{name}' must be a number >= 0; got {value!r}.")
    n_times = round(duration * sfreq)
    if n_times < 2 * sfreq:
        raise ValueError(f"'duration' must give at least 2 s; got {duration!r}.")
    rng = np.random.default_rng(seed)
    n_src = n_channels + 1  # AR(1) sources and the alpha oscillator
    scale = 1 / np.sqrt(n_channels)
    common = rng.standard_normal((n_channels, n_src)) * scale
    names = [f"E{i + 1}" for i in range(n_channels)]
    recordings = []
    for s in range(n_subjects):
        own = rng.standard_normal((n_channels, n_src)) * scale
        alpha = float(np.clip(10.0 + spectral * rng.standard_normal(), 6.0, 14.0))
        for k in range(n_sessions):
            mixing = common + spatial * own + session_noise * rng.standard_normal(own.shape) * scale
            gains = np.exp(session_noise * rng.standard_normal(n_src))
            sources = np.vstack(
                [_ar1(rng, n_channels, n_times) / 2.3, _oscillation(rng, alpha, sfreq, n_times)]
            )
            x = mixing @ (gains[:, None] * sources)
            x += 0.1 * x.std() * rng.standard_normal(x.shape)
            recordings.append(
                Recording(
                    x * 1e-5,
                    sfreq,
                    ch_names=list(names),
                    ch_types=["eeg"] * n_channels,
                    units=["V"] * n_channels,
                    subject=f"S{s + 1:02d}",
                    session=str(k + 1),
                    info={"dataset": "simulated:fingerprint_sessions", "alpha_hz": alpha},
                )
            )
    return recordings
