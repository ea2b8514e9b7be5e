"""Neural-dynamics figures: behaviour decoding traces, latent trajectories, spike rasters with
inferred rates, and forecasting scores by horizon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._base import _new_figure

__all__ = [
    "plot_behavior",
    "plot_forecast_scores",
    "plot_latent_trajectories",
    "plot_raster_rates",
]


def _grid(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (7.0, 3.2)) -> Any:
    """A figure and its ``(nrows, ncols)`` array of axes."""
    fig = _new_figure(*size, pad=False)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def plot_behavior(y_true: np.ndarray, y_pred: np.ndarray, title: str, max_bins: int = 400) -> Any:
    """Predicted vs true behaviour over time, one panel per dimension.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_bins, n_dims)
        Measured and decoded behaviour.
    title : str
    max_bins : int, default=400
        Only the first ``max_bins`` bins are drawn.

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``n_dims`` axes, each with the true and the predicted line.

    Examples
    --------
    Decoded 2-D hand velocity over 100 bins, the first 50 drawn:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_behavior
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=(100, 2))
    >>> fig = plot_behavior(y, y + 0.1 * rng.normal(size=(100, 2)), "velocity", max_bins=50)
    >>> [ax.get_ylabel() for ax in fig.axes], fig.axes[0].get_title()
    (['dim 0', 'dim 1'], 'velocity')
    >>> [len(line.get_xdata()) for line in fig.axes[0].lines]  # true, predicted
    [50, 50]
    """
    d = y_true.shape[1]
    fig, axes = _grid(d, 1, (7.5, 1.8 * d + 0.6))
    n = min(len(y_true), max_bins)
    for j in range(d):
        ax = axes[j, 0]
        ax.plot(y_true[:n, j], color="0.2", lw=1.2, label="true")
        ax.plot(y_pred[:n, j], color="tab:red", lw=1.0, label="predicted")
        ax.set_ylabel(f"dim {j}")
    axes[0, 0].set_title(title, fontsize=9)
    axes[0, 0].legend(loc="upper right", fontsize=7, frameon=False)
    axes[-1, 0].set_xlabel("bin")
    return fig


def plot_latent_trajectories(factors: np.ndarray, conditions: np.ndarray, title: str) -> Any:
    """3-D PCA projection of the inferred factors, one line per trial, coloured by condition.

    Parameters
    ----------
    factors : ndarray of shape (n_trials, n_times, n_factors)
        Inferred latent factors.
    conditions : ndarray of shape (n_trials,)
        Condition of each trial (sortable labels; colours follow their sorted order).
    title : str

    Returns
    -------
    fig : matplotlib.figure.Figure
        One 3-D axes with one line per trial (at most 64) and a dot at each trial's start.

    Examples
    --------
    Six trials of 4 factors over 20 time points, two conditions rotating from different phases:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_latent_trajectories
    >>> t = np.linspace(0, np.pi, 20)
    >>> factors = np.stack([np.stack([np.cos(t + c), np.sin(t + c), 0.1 * t, 0 * t], axis=-1)
    ...                     for c in np.repeat([0.0, 1.5], 3)])
    >>> factors.shape
    (6, 20, 4)
    >>> fig = plot_latent_trajectories(factors, np.repeat(["left", "right"], 3), "factors")
    >>> ax = fig.axes[0]
    >>> ax.name, len(ax.lines), ax.get_zlabel()
    ('3d', 6, 'PC3')
    """
    from matplotlib import colormaps

    flat = factors.reshape(-1, factors.shape[-1])
    flat = flat - flat.mean(0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    k = min(3, vt.shape[0])
    proj = (factors - factors.reshape(-1, factors.shape[-1]).mean(0)) @ vt[:k].T
    if k < 3:
        proj = np.concatenate([proj, np.zeros((*proj.shape[:2], 3 - k))], axis=-1)
    fig = _new_figure(5.5, 4.5, pad=False)
    ax = fig.add_subplot(projection="3d")
    cmap = colormaps["hsv"]
    levels = np.unique(conditions)
    for i in range(min(len(proj), 64)):
        c = cmap(np.searchsorted(levels, conditions[i]) / max(len(levels), 1))
        ax.plot(proj[i, :, 0], proj[i, :, 1], proj[i, :, 2], color=c, lw=0.8, alpha=0.8)
        ax.scatter(*proj[i, 0], color=c, s=6)
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    ax.set_zlabel("PC3")
    ax.set_title(title, fontsize=9)
    return fig


def plot_raster_rates(counts: np.ndarray, rates: np.ndarray, bin_size: float, title: str) -> Any:
    """One trial: spike raster (counts > 0) above the inferred rates of the same neurons.

    Parameters
    ----------
    counts : ndarray of shape (n_times, n_neurons)
        Spike counts per bin.
    rates : ndarray of shape (n_times, n_neurons)
        Inferred rates in spikes per bin (shown in Hz).
    bin_size : float
        Bin width in seconds.
    title : str

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes (raster, rate image) and the rate colour bar.

    Examples
    --------
    8 neurons over 50 bins of 10 ms; a rate of 0.2 spikes per bin is shown as 20 Hz:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_raster_rates
    >>> counts = np.random.default_rng(0).poisson(0.2, size=(50, 8))
    >>> fig = plot_raster_rates(counts, np.full((50, 8), 0.2), bin_size=0.01, title="trial 0")
    >>> len(fig.axes), fig.axes[-1].get_ylabel()
    (3, 'inferred rate (Hz)')
    >>> float(fig.axes[1].images[0].get_array().max())
    20.0
    """
    fig, axes = _grid(2, 1, (7.0, 5.0))
    T, N = counts.shape
    t, n = np.nonzero(counts)
    axes[0, 0].scatter(t * bin_size, n, s=3, marker="|", color="k")
    axes[0, 0].set_ylabel("neuron")
    axes[0, 0].set_title(title, fontsize=9)
    im = axes[1, 0].imshow(
        rates.T / bin_size,
        aspect="auto",
        origin="lower",
        extent=(0, T * bin_size, -0.5, N - 0.5),
        cmap="viridis",
    )
    axes[1, 0].set_ylabel("neuron")
    axes[1, 0].set_xlabel("time (s)")
    fig.colorbar(im, ax=axes[1, 0], label="inferred rate (Hz)")
    return fig


def plot_forecast_scores(rows: Mapping[str, Sequence[Mapping[str, float]]]) -> Any:
    """Bits/spike and R^2 by forecast horizon, one line per forecaster.

    Parameters
    ----------
    rows : mapping of str to sequence of dict
        Per forecaster, one dict per horizon with ``"horizon"`` (bins), ``"bits_per_spike"``,
        and ``"r2_true_rates"`` (simulated data) or ``"r2_counts"``.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes (bits/spike, R^2), one line per forecaster in each.

    Examples
    --------
    >>> from neurodl.report.figures import plot_forecast_scores
    >>> rows = {
    ...     "lfads": [{"horizon": 1, "bits_per_spike": 0.30, "r2_true_rates": 0.8},
    ...               {"horizon": 5, "bits_per_spike": 0.20, "r2_true_rates": 0.6}],
    ...     "gru": [{"horizon": 1, "bits_per_spike": 0.25, "r2_true_rates": 0.7},
    ...             {"horizon": 5, "bits_per_spike": 0.10, "r2_true_rates": 0.4}]}
    >>> fig = plot_forecast_scores(rows)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['bits/spike', 'R^2 (true rates)']
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['lfads', 'gru']
    """
    fig, axes = _grid(1, 2, (8.0, 3.0))
    for name, rr in rows.items():
        h = [r["horizon"] for r in rr]
        axes[0, 0].plot(h, [r["bits_per_spike"] for r in rr], marker="o", label=name)
        key = "r2_true_rates" if rr and "r2_true_rates" in rr[0] else "r2_counts"
        axes[0, 1].plot(h, [r[key] for r in rr], marker="o", label=name)
    axes[0, 0].set_ylabel("bits/spike")
    axes[0, 1].set_ylabel("R^2 (true rates)" if key == "r2_true_rates" else "R^2 (counts)")
    for ax in axes[0]:
        ax.set_xlabel("horizon (bins)")
        ax.axhline(0, color="0.7", lw=0.8)
    axes[0, 0].legend(fontsize=7, frameon=False)
    return fig
