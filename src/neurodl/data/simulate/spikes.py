"""Spiking populations driven by low-dimensional latent dynamics, and calcium traces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import signal

from ...exceptions import ConfigError
from ..epochs import EpochsDataset
from ._common import check_choice, check_float, check_int, check_size, make_rng

__all__ = ["DYNAMICS", "LatentPopulation", "simulate_latent_population", "spikes_to_calcium"]


@dataclass
class LatentPopulation:
    """A simulated population: Poisson counts driven by known latent trajectories.

    Attributes
    ----------
    counts : ndarray of int, shape (n_trials, n_bins, n_neurons)
        Spike counts per bin.
    rates : ndarray of shape (n_trials, n_bins, n_neurons)
        True firing rates in Hz (``counts ~ Poisson(rates * bin_size)``).
    latents : ndarray of shape (n_trials, n_bins, n_latents)
        True latent states (z-scored over trials and bins).
    behavior : ndarray of shape (n_trials, n_bins, 2)
        A 2-D "velocity": a linear readout of the latents plus small noise.
    conditions : ndarray of int, shape (n_trials,)
        Condition of each trial (initial state of the dynamics).
    bin_size : float
        Bin width in seconds.
    loadings : ndarray of shape (n_neurons, n_latents)
        ``log(rates) = offsets + latents @ loadings.T``.
    offsets : ndarray of shape (n_neurons,)
        Log baseline rates (Hz).
    readout : ndarray of shape (2, n_latents)
        ``behavior = latents @ readout.T + noise``.
    dynamics : str
    info : dict

    Examples
    --------
    >>> from neurodl.data.simulate import simulate_latent_population
    >>> pop = simulate_latent_population(n_neurons=20, n_trials=6, n_bins=30, seed=0)
    >>> pop.counts.shape, pop.latents.shape, pop.behavior.shape
    ((6, 30, 20), (6, 30, 3), (6, 30, 2))
    >>> log_rates = pop.offsets + pop.latents @ pop.loadings.T  # the generative model
    >>> bool(np.allclose(np.log(pop.rates), log_rates))
    True
    >>> ds = pop.to_dataset()
    >>> ds.X.shape  # (trials, neurons, bins) for the estimators
    (6, 20, 30)
    """

    counts: np.ndarray
    rates: np.ndarray
    latents: np.ndarray
    behavior: np.ndarray
    conditions: np.ndarray
    bin_size: float
    loadings: np.ndarray
    offsets: np.ndarray
    readout: np.ndarray
    dynamics: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def behaviour(self) -> np.ndarray:
        """Alias of :attr:`behavior`."""
        return self.behavior

    @property
    def n_trials(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.counts.shape[1])

    @property
    def n_neurons(self) -> int:
        return int(self.counts.shape[2])

    @property
    def n_latents(self) -> int:
        return int(self.latents.shape[2])

    def to_dataset(self, kind: Literal["counts", "rates"] = "counts") -> EpochsDataset:
        """Return the trials as an :class:`EpochsDataset` labelled by condition.

        Parameters
        ----------
        kind : {"counts", "rates"}, default="counts"
            Which array becomes ``X``.

        Returns
        -------
        dataset : EpochsDataset
            ``X`` of shape (n_trials, n_neurons, n_bins) (neurons as channels), ``y`` = the
            conditions, ``sfreq = 1 / bin_size``, one recording (subject ``"01"``), each trial
            its own segment; trials are laid out back to back with 0.5 s between them.
        """
        check_choice("kind", kind, ("counts", "rates"))
        arr = self.counts if kind == "counts" else self.rates
        n = self.n_trials
        duration = self.n_bins * self.bin_size
        rec = "sub-01_ses-1_run-1"
        md = pd.DataFrame(
            {
                "subject": "01",
                "session": "1",
                "run": "1",
                "recording": rec,
                "segment": [f"{rec}/trial-{i}" for i in range(n)],
                "trial": np.arange(n),
                "onset": np.arange(n) * (duration + 0.5),
            }
        )
        n_cond = int(self.conditions.max()) + 1
        return EpochsDataset(
            np.transpose(arr, (0, 2, 1)).astype(float),
            self.conditions.copy(),
            md,
            1.0 / self.bin_size,
            [f"unit{i:03d}" for i in range(self.n_neurons)],
            [f"condition{c}" for c in range(n_cond)],
            {
                "simulator": "latent_population",
                "dynamics": self.dynamics,
                "kind": kind,
                "unit": "spikes per bin" if kind == "counts" else "Hz",
                **self.info,
            },
        )


# ---------------------------------------------------------------------- dynamics
def _rotational(
    rng: np.random.Generator,
    conditions: np.ndarray,
    n_conditions: int,
    n_bins: int,
    n_latents: int,
    bin_size: float,
) -> np.ndarray:
    """Damped rotations in planes (frequencies 1.5-4 Hz), initial state set by the condition.

    An odd last dimension decays exponentially. Returns (n_trials, n_bins, n_latents).
    """
    n_trials = len(conditions)
    blocks = []
    n_planes = n_latents // 2
    freqs = np.linspace(1.5, 4.0, max(n_planes, 1))[:n_planes]
    for f in freqs:
        w = 2 * np.pi * f * bin_size
        blocks.append(
            np.exp(-0.5 * bin_size) * np.array([[np.cos(w), -np.sin(w)], [np.sin(w), np.cos(w)]])
        )
    if n_latents % 2:
        blocks.append(np.array([[np.exp(-2.0 * bin_size)]]))
    A = np.zeros((n_latents, n_latents))
    i = 0
    for b in blocks:
        A[i : i + len(b), i : i + len(b)] = b
        i += len(b)
    angle = 2 * np.pi * np.arange(n_conditions) / n_conditions
    x0_cond = np.zeros((n_conditions, n_latents))
    for p in range(n_planes):
        phase = angle * (p + 1)
        x0_cond[:, 2 * p], x0_cond[:, 2 * p + 1] = np.cos(phase), np.sin(phase)
    if n_latents % 2:
        x0_cond[:, -1] = np.cos(angle / 2)
    x = np.empty((n_trials, n_bins, n_latents))
    x[:, 0] = x0_cond[conditions] + rng.normal(0.0, 0.1, (n_trials, n_latents))
    noise = rng.normal(0.0, 0.02, (n_trials, n_bins, n_latents))
    for t in range(1, n_bins):
        x[:, t] = x[:, t - 1] @ A.T + noise[:, t]
    return x


def _lorenz(
    rng: np.random.Generator,
    conditions: np.ndarray,
    n_conditions: int,
    n_bins: int,
    n_latents: int,
    bin_size: float,
) -> np.ndarray:
    """Lorenz system (sigma 10, rho 28, beta 8/3), initial state on the attractor per condition.

    Integrated with RK4 at 0.01 time units per bin (the LFADS benchmark convention).
    """
    if n_latents != 3:
        raise ConfigError(
            f"Invalid value for 'n_latents' with dynamics='lorenz'. Allowed: 3; got {n_latents}."
        )

    def deriv(x: np.ndarray) -> np.ndarray:
        return np.stack(
            [
                10.0 * (x[..., 1] - x[..., 0]),
                x[..., 0] * (28.0 - x[..., 2]) - x[..., 1],
                x[..., 0] * x[..., 1] - 8.0 / 3.0 * x[..., 2],
            ],
            axis=-1,
        )

    def step(x: np.ndarray, h: float) -> np.ndarray:
        k1 = deriv(x)
        k2 = deriv(x + h / 2 * k1)
        k3 = deriv(x + h / 2 * k2)
        k4 = deriv(x + h * k3)
        return x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    h = 0.01
    x0 = rng.normal(0.0, 10.0, (n_conditions, 3)) + np.array([0.0, 0.0, 25.0])
    for _ in range(500):  # burn in onto the attractor
        x0 = step(x0, h)
    x = np.empty((len(conditions), n_bins, 3))
    x[:, 0] = x0[conditions] + rng.normal(0.0, 0.5, (len(conditions), 3))
    for t in range(1, n_bins):
        x[:, t] = step(x[:, t - 1], h)
    return x


#: ``dynamics`` name -> generator ``f(rng, conditions, n_conditions, n_bins, n_latents,
#: bin_size) -> latents of shape (n_trials, n_bins, n_latents)``.
DYNAMICS: dict[str, Callable[..., np.ndarray]] = {"rotational": _rotational, "lorenz": _lorenz}


def simulate_latent_population(
    n_neurons: int = 50,
    n_trials: int = 100,
    n_bins: int = 50,
    bin_size: float = 0.01,
    n_latents: int = 3,
    dynamics: Literal["rotational", "lorenz"] = "rotational",
    n_conditions: int = 8,
    mean_rate: float = 15.0,
    seed: int | None = 0,
) -> LatentPopulation:
    """Simulate Poisson spiking of a population driven by low-dimensional latent dynamics.

    Latents follow damped rotations (``"rotational"``, initial state set by the condition, as in
    reaching) or the Lorenz attractor (``"lorenz"``, the LFADS benchmark), are z-scored, and drive
    log-linear rates ``rates = exp(offsets + latents @ loadings.T)`` with baselines around
    ``mean_rate``. Behaviour is a 2-D linear readout of the latents plus noise (10% of its
    standard deviation).

    Parameters
    ----------
    n_neurons : int, default=50
        Simulated neurons (Poisson spike counts per bin).
    n_trials : int, default=100
        Trials (each starts from its condition's initial state).
    n_bins : int, default=50
        Time bins per trial (at least 2).
    bin_size : float, default=0.01
        Bin width in seconds.
    n_latents : int, default=3
        Latent dimensionality (must be 3 for ``"lorenz"``).
    dynamics : {"rotational", "lorenz"}, default="rotational"
        Latent dynamics: damped rotations (initial state set by the condition, as in reaching)
        or the Lorenz attractor (the LFADS benchmark).
    n_conditions : int, default=8
        Number of distinct initial states; trials cycle through them.
    mean_rate : float, default=15.0
        Typical baseline rate in Hz.
    seed : int or None, default=0
        Seed of ``np.random.default_rng``; the same seed gives the same data. In a run config
        it defaults to the run's ``seed``.

    Returns
    -------
    population : LatentPopulation

    Examples
    --------
    >>> pop = simulate_latent_population(n_neurons=10, n_trials=4, n_bins=20)
    >>> pop.counts.shape, pop.latents.shape, pop.behavior.shape
    ((4, 20, 10), (4, 20, 3), (4, 20, 2))
    """
    n_neurons = check_int("n_neurons", n_neurons, 1)
    n_trials = check_int("n_trials", n_trials, 1)
    n_bins = check_int("n_bins", n_bins, 2)
    bin_size = check_float("bin_size", bin_size, 0.0, 1.0, low_open=True)
    n_latents = check_int("n_latents", n_latents, 1)
    check_choice("dynamics", dynamics, DYNAMICS)
    n_conditions = check_int("n_conditions", n_conditions, 1)
    mean_rate = check_float("mean_rate", mean_rate, 0.0, 1000.0, low_open=True)
    check_size("latent_population", n_trials=n_trials, n_bins=n_bins, n_neurons=n_neurons)
    rng = make_rng(seed)

    conditions = rng.permutation(np.resize(np.arange(n_conditions), n_trials))
    x = DYNAMICS[dynamics](rng, conditions, n_conditions, n_bins, n_latents, bin_size)
    x = (x - x.mean(axis=(0, 1))) / (x.std(axis=(0, 1)) + 1e-12)
    # Each neuron's log-rate modulation has a standard deviation between 0.3 and 0.7.
    loadings = rng.normal(0.0, 1.0, (n_neurons, n_latents))
    loadings *= rng.uniform(0.3, 0.7, (n_neurons, 1)) / np.linalg.norm(
        loadings, axis=1, keepdims=True
    )
    offsets = np.log(mean_rate) + rng.normal(0.0, 0.3, n_neurons)
    rates = np.exp(offsets + x @ loadings.T)
    counts = rng.poisson(rates * bin_size)
    readout = rng.normal(0.0, 1.0 / np.sqrt(n_latents), (2, n_latents))
    clean = x @ readout.T
    behavior = clean + rng.normal(0.0, 0.1 * (clean.std() + 1e-12), clean.shape)
    return LatentPopulation(
        counts,
        rates,
        x,
        behavior,
        conditions,
        bin_size,
        loadings,
        offsets,
        readout,
        dynamics,
        {"seed": seed, "n_conditions": n_conditions, "mean_rate": mean_rate},
    )


def spikes_to_calcium(
    counts: np.ndarray,
    sfreq: float,
    tau_decay: float = 0.4,
    amplitude: float = 0.2,
    noise: float = 0.05,
    *,
    axis: int = -1,
    seed: int | None = 0,
) -> np.ndarray:
    """Turn spike counts into dF/F-like calcium traces (AR(1) indicator model plus noise).

    Each spike adds ``amplitude`` to a calcium level that decays with time constant
    ``tau_decay``: ``c[t] = g * c[t - 1] + amplitude * s[t]`` with ``g = exp(-1 / (tau_decay *
    sfreq))``; Gaussian noise of standard deviation ``noise`` is added. The defaults resemble
    GCaMP6f (0.4 s decay, about 20% dF/F per spike).

    Parameters
    ----------
    counts : ndarray
        Spike counts; time along ``axis``.
    sfreq : float
        Sampling rate of ``counts`` in Hz (``1 / bin_size``).
    tau_decay : float, default=0.4
        Decay time constant in seconds.
    amplitude : float, default=0.2
        dF/F jump per spike.
    noise : float, default=0.05
        Standard deviation of the additive noise (0 for noiseless traces).
    axis : int, default=-1
        Time axis of ``counts`` (use ``axis=1`` for :attr:`LatentPopulation.counts`).
    seed : int or None, default=0

    Returns
    -------
    traces : ndarray of the same shape as ``counts``

    Examples
    --------
    >>> spikes_to_calcium(np.array([0, 1, 0, 0]), sfreq=10.0, noise=0.0).round(3).tolist()
    [0.0, 0.2, 0.156, 0.121]
    """
    arr = np.asarray(counts, dtype=float)
    if arr.ndim == 0 or arr.size == 0 or not np.isfinite(arr).all():
        raise ConfigError(
            f"Invalid value for 'counts'. Allowed: a non-empty finite array; got shape {arr.shape}."
        )
    if not -arr.ndim <= axis < arr.ndim:
        raise ConfigError(
            f"Invalid value for 'axis'. Allowed: -{arr.ndim} to {arr.ndim - 1}; got {axis!r}."
        )
    sfreq = check_float("sfreq", sfreq, 0.0, low_open=True)
    tau_decay = check_float("tau_decay", tau_decay, 0.0, low_open=True)
    amplitude = check_float("amplitude", amplitude, 0.0)
    noise = check_float("noise", noise, 0.0)
    rng = make_rng(seed)
    g = np.exp(-1.0 / (tau_decay * sfreq))
    calcium = signal.lfilter([amplitude], [1.0, -g], arr, axis=axis)
    if noise > 0:
        calcium = calcium + rng.normal(0.0, noise, calcium.shape)
    return calcium
