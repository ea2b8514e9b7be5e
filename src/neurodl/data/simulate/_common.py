"""Shared pieces of the simulators: argument checks, coloured noise, a 10-20 scalp layout."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ...exceptions import ConfigError

__all__ = [
    "SCALP_POSITIONS",
    "band_noise",
    "check_choice",
    "check_float",
    "check_int",
    "make_rng",
    "pick_channels",
    "pink_noise",
    "spatial_gain",
]

#: Approximate 2-D scalp positions (azimuthal projection, Cz at the origin, nasion at y=1,
#: T7 at x=-1) of a 10-20/10-10 subset, in the canonical display order.
SCALP_POSITIONS: dict[str, tuple[float, float]] = {
    "Fp1": (-0.31, 0.95),
    "Fpz": (0.0, 1.0),
    "Fp2": (0.31, 0.95),
    "AF3": (-0.3, 0.75),
    "AF4": (0.3, 0.75),
    "F7": (-0.81, 0.59),
    "F3": (-0.4, 0.52),
    "Fz": (0.0, 0.5),
    "F4": (0.4, 0.52),
    "F8": (0.81, 0.59),
    "FC5": (-0.72, 0.29),
    "FC3": (-0.48, 0.26),
    "FC1": (-0.24, 0.25),
    "FCz": (0.0, 0.25),
    "FC2": (0.24, 0.25),
    "FC4": (0.48, 0.26),
    "FC6": (0.72, 0.29),
    "T7": (-1.0, 0.0),
    "C5": (-0.75, 0.0),
    "C3": (-0.5, 0.0),
    "C1": (-0.25, 0.0),
    "Cz": (0.0, 0.0),
    "C2": (0.25, 0.0),
    "C4": (0.5, 0.0),
    "C6": (0.75, 0.0),
    "T8": (1.0, 0.0),
    "CP5": (-0.72, -0.29),
    "CP3": (-0.48, -0.26),
    "CP1": (-0.24, -0.25),
    "CPz": (0.0, -0.25),
    "CP2": (0.24, -0.25),
    "CP4": (0.48, -0.26),
    "CP6": (0.72, -0.29),
    "P7": (-0.81, -0.59),
    "P3": (-0.4, -0.52),
    "Pz": (0.0, -0.5),
    "P4": (0.4, -0.52),
    "P8": (0.81, -0.59),
    "PO3": (-0.3, -0.75),
    "POz": (0.0, -0.75),
    "PO4": (0.3, -0.75),
    "O1": (-0.31, -0.95),
    "Oz": (0.0, -1.0),
    "O2": (0.31, -0.95),
}


def make_rng(seed: Any) -> np.random.Generator:
    """Return ``np.random.default_rng(seed)``, rejecting values it cannot use."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, (int, np.integer))):
        raise ConfigError(f"Invalid value for 'seed'. Allowed: an int >= 0 or None; got {seed!r}.")
    if seed is not None and seed < 0:
        raise ConfigError(f"Invalid value for 'seed'. Allowed: an int >= 0 or None; got {seed!r}.")
    return np.random.default_rng(seed)


#: Largest count any simulator parameter accepts (trials, subjects, neurons, voxels per axis...).
MAX_COUNT = 1_000_000
#: Largest simulated array (values); 2**29 float64 values are 4 GiB.
MAX_SIMULATED_VALUES = 2**29


def check_size(what: str, **counts: int) -> None:
    """Refuse a simulation whose array of ``prod(counts)`` values exceeds the budget.

    Raises
    ------
    ConfigError
        Naming every count, their product and :data:`MAX_SIMULATED_VALUES`.
    """
    total = 1
    for value in counts.values():
        total *= int(value)
    if total > MAX_SIMULATED_VALUES:
        shown = " x ".join(f"{k}={v}" for k, v in counts.items())
        raise ConfigError(
            f"Invalid simulation size for {what}: {shown} = {total:.3g} values; allowed at most "
            f"{MAX_SIMULATED_VALUES:.3g} (4 GiB of float64). Reduce one of them."
        )


def check_int(name: str, value: Any, minimum: int, maximum: int | None = MAX_COUNT) -> int:
    """Return ``value`` as int if it is an integer in ``[minimum, maximum]`` (default max
    :data:`MAX_COUNT`: larger counts are typos that would exhaust memory)."""
    upper = "" if maximum is None else f" and <= {maximum}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(
            f"Invalid value for {name!r}. Allowed: an int >= {minimum}{upper}; got {value!r}."
        )
    if value < minimum or (maximum is not None and value > maximum):
        raise ConfigError(
            f"Invalid value for {name!r}. Allowed: an int >= {minimum}{upper}; got {value!r}."
        )
    return int(value)


def check_float(
    name: str,
    value: Any,
    minimum: float = -np.inf,
    maximum: float = np.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as float if it is finite and within the given bounds."""
    lo = f"{'>' if low_open else '>='} {minimum:g}" if np.isfinite(minimum) else ""
    hi = f"{'<' if high_open else '<='} {maximum:g}" if np.isfinite(maximum) else ""
    allowed = "a finite number" + (f" {lo}" if lo else "") + (" and" if lo and hi else "")
    allowed += f" {hi}" if hi else ""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Invalid value for {name!r}. Allowed: {allowed}; got {value!r}."
        ) from None
    bad = (
        isinstance(value, bool)
        or not np.isfinite(out)
        or out < minimum
        or out > maximum
        or (low_open and out == minimum)
        or (high_open and out == maximum)
    )
    if bad:
        raise ConfigError(f"Invalid value for {name!r}. Allowed: {allowed}; got {value!r}.")
    return out


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed`` else raise a ConfigError naming both."""
    allowed = list(allowed)
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"Invalid value for {name!r}. Allowed: {shown}; got {value!r}.")
    return value


def pick_channels(priority: list[str], n_channels: int) -> list[str]:
    """Return the first ``n_channels`` names of ``priority``, in the canonical scalp order."""
    chosen = set(priority[:n_channels])
    return [name for name in SCALP_POSITIONS if name in chosen]


def spatial_gain(sources: np.ndarray, channels: list[str], width: float | np.ndarray) -> np.ndarray:
    """Volume-conduction gain of point sources on the channels (Gaussian in scalp distance).

    Parameters
    ----------
    sources : ndarray of shape (n_sources, 2)
        Source positions in the :data:`SCALP_POSITIONS` coordinates.
    channels : list of str
        Channel names (keys of :data:`SCALP_POSITIONS`).
    width : float or ndarray of shape (n_sources,)
        Spatial spread (standard deviation) of each source.

    Returns
    -------
    gain : ndarray of shape (n_channels, n_sources)
    """
    pos = np.array([SCALP_POSITIONS[c] for c in channels])
    d2 = ((pos[:, None, :] - np.asarray(sources)[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2.0 * np.asarray(width, dtype=float) ** 2))


def _spectral_noise(
    rng: np.random.Generator, shape: tuple[int, ...], sfreq: float, amplitude: np.ndarray
) -> np.ndarray:
    """White Gaussian noise shaped in the frequency domain by ``amplitude`` (last axis)."""
    n_times = shape[-1]
    spec = np.fft.rfft(rng.standard_normal(shape), axis=-1)
    out = np.fft.irfft(spec * amplitude, n=n_times, axis=-1)
    std = out.std(axis=-1, keepdims=True)
    return out / np.where(std > 0, std, 1.0)


def pink_noise(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    sfreq: float,
    *,
    exponent: float = 1.0,
    fmin: float = 0.5,
) -> np.ndarray:
    """Unit-variance noise with a ``1/f**exponent`` power spectrum along the last axis.

    Parameters
    ----------
    rng : Generator
    shape : tuple of int
        Output shape; the last axis is time.
    sfreq : float
        Sampling rate in Hz.
    exponent : float, default=1.0
        Spectral exponent (1 = pink, 2 = brown).
    fmin : float, default=0.5
        Below this frequency the spectrum is flat (avoids a huge DC drift).

    Returns
    -------
    noise : ndarray of shape ``shape``
    """
    freqs = np.fft.rfftfreq(shape[-1], 1.0 / sfreq)
    amp = 1.0 / np.maximum(freqs, fmin) ** (exponent / 2.0)
    amp[0] = 0.0
    return _spectral_noise(rng, shape, sfreq, amp)


def band_noise(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    sfreq: float,
    center: np.ndarray | float,
    bandwidth: float,
) -> np.ndarray:
    """Unit-variance narrow-band noise (a Gaussian spectral bump) along the last axis.

    Parameters
    ----------
    rng : Generator
    shape : tuple of int
        Output shape; the last axis is time.
    sfreq : float
        Sampling rate in Hz.
    center : float or ndarray broadcastable to ``shape[:-1] + (1,)``
        Peak frequency in Hz.
    bandwidth : float
        Standard deviation of the spectral bump in Hz.

    Returns
    -------
    noise : ndarray of shape ``shape``
    """
    freqs = np.fft.rfftfreq(shape[-1], 1.0 / sfreq)
    amp = np.exp(-((freqs - np.asarray(center, dtype=float)) ** 2) / (4.0 * bandwidth**2))
    return _spectral_noise(rng, shape, sfreq, amp)
