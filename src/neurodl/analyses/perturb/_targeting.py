"""Which units to lesion: selectivity, clusters of units, fractions, and cluster lesions.

Activations are those of one layer, batch axis first, as returned by
:func:`~neurodl.analyses.perturb.record_activations`: ``(n_samples, n_units)`` for a dense
layer, ``(n_samples, n_channels, ...)`` for a convolution (a unit is a channel, i.e. a feature
map: ``axis=1``), ``(n_samples, n_time, n_units)`` for a recurrent layer (``axis=-1``). Each
unit's response to a sample is reduced to one number over the other axes (its mean, or its
root mean square for oscillating feature maps) before anything is computed.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from torch import nn

from ...exceptions import ConfigError
from ._importance import (
    _baseline_and_n_units,
    _check_random_draws,
    _lesion_scorer,
    _random_lesions,
)

__all__ = [
    "cluster_lesions",
    "cluster_units",
    "lesion_sizes",
    "unit_responses",
    "unit_selectivity",
]

_REDUCE = ("mean", "rms")


def unit_responses(
    activations: Any, *, axis: int = 1, reduce: Literal["mean", "rms"] = "mean"
) -> np.ndarray:
    """One response per sample and unit: the unit's activation reduced over the other axes.

    Parameters
    ----------
    activations : ndarray or Tensor of shape (n_samples, ...)
        A layer's activations, batch axis first.
    axis : int, default=1
        Unit axis (1: channels of a convolution or units of a dense layer; -1: units of a
        recurrent layer's ``(n_samples, n_time, n_units)`` output).
    reduce : {"mean", "rms"}, default="mean"
        ``"mean"`` averages each unit's map; ``"rms"`` takes its root mean square (the power of
        an oscillating feature map, whose mean is near 0).

    Returns
    -------
    responses : ndarray of shape (n_samples, n_units)

    Examples
    --------
    >>> import numpy as np
    >>> unit_responses(np.ones((4, 3, 10)), reduce="rms").shape
    (4, 3)
    """
    if reduce not in _REDUCE:
        raise ConfigError(
            f"Invalid value for 'reduce'. Allowed: {', '.join(map(repr, _REDUCE))}; got {reduce!r}."
        )
    if hasattr(activations, "detach"):
        activations = activations.detach().cpu().numpy()
    acts = np.asarray(activations, dtype=float)
    if acts.ndim < 2 or acts.shape[0] == 0:
        raise ConfigError(
            f"'activations' must have shape (n_samples, ...) with a unit axis; got {acts.shape}."
        )
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ConfigError(f"'axis' must be an int; got {axis!r}.")
    if not -acts.ndim <= axis < acts.ndim or axis % acts.ndim == 0:
        raise ConfigError(
            f"'axis'={axis} is not a unit axis of activations of shape {acts.shape} "
            "(axis 0 is the sample axis)."
        )
    acts = np.moveaxis(acts, axis, 1).reshape(acts.shape[0], acts.shape[axis], -1)
    if not np.isfinite(acts).all():
        raise ConfigError("'activations' must be finite; got NaN/inf values.")
    if reduce == "mean":
        return acts.mean(axis=2)
    return np.sqrt((acts**2).mean(axis=2))


def unit_selectivity(
    activations: Any,
    labels: Any,
    *,
    axis: int = 1,
    reduce: Literal["mean", "rms"] = "mean",
) -> np.ndarray:
    """Class selectivity of each unit: the ANOVA F statistic of its response across classes.

    Uses :func:`sklearn.feature_selection.f_classif` on :func:`unit_responses`; a unit whose
    response never varies (a dead unit) gets 0. Compute it on training data and lesion on
    held-out data, so that the choice of units does not see the test samples.

    Parameters
    ----------
    activations : ndarray or Tensor of shape (n_samples, ...)
        A layer's activations, batch axis first.
    labels : array-like of shape (n_samples,)
        Class of each sample (at least 2 classes).
    axis : int, default=1
        Unit axis, see :func:`unit_responses`.
    reduce : {"mean", "rms"}, default="mean"
        See :func:`unit_responses`.

    Returns
    -------
    selectivity : ndarray of shape (n_units,)
        F statistics (>= 0), larger = more class-selective.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 50)
    >>> acts = rng.normal(size=(100, 3))
    >>> acts[:, 2] += 2 * y  # unit 2 prefers class 1
    >>> int(np.argmax(unit_selectivity(acts, y)))
    2
    """
    from sklearn.feature_selection import f_classif

    responses = unit_responses(activations, axis=axis, reduce=reduce)
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(responses):
        raise ConfigError(
            f"'labels' must have shape ({len(responses)},), one class per sample; got {y.shape}."
        )
    if len(np.unique(y)) < 2:
        raise ConfigError(f"'labels' must hold at least 2 classes; got {np.unique(y).tolist()}.")
    constant = np.ptp(responses, axis=0) == 0
    f = np.zeros(responses.shape[1])
    if (~constant).any():
        with np.errstate(divide="ignore", invalid="ignore"):
            stat, _ = f_classif(responses[:, ~constant], y)
        f[~constant] = np.nan_to_num(stat, nan=0.0, posinf=np.finfo(float).max)
    return f


def cluster_units(
    activations: Any,
    n_clusters: int,
    *,
    axis: int = 1,
    reduce: Literal["mean", "rms"] = "mean",
    seed: int = 0,
) -> np.ndarray:
    """Group units whose responses co-vary across samples (k-means on z-scored profiles).

    Each unit's profile is its response to every sample (:func:`unit_responses`), z-scored
    over samples (a constant unit's profile is all zeros); :class:`sklearn.cluster.KMeans`
    (10 initialisations, seeded) groups the profiles.

    Parameters
    ----------
    activations : ndarray or Tensor of shape (n_samples, ...)
        A layer's activations, batch axis first.
    n_clusters : int
        Number of clusters, 1 <= n_clusters <= n_units.
    axis, reduce
        See :func:`unit_responses`.
    seed : int, default=0
        Seed of k-means.

    Returns
    -------
    labels : ndarray of int of shape (n_units,)
        Cluster of each unit, numbered 0..n_clusters-1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(2, 200, 1))
    >>> acts = np.concatenate([a + 0.1 * rng.normal(size=(200, 3)),
    ...                        b + 0.1 * rng.normal(size=(200, 3))], axis=1)
    >>> labels = cluster_units(acts, 2)
    >>> len(set(labels[:3])), len(set(labels[3:])), bool(labels[0] != labels[3])
    (1, 1, True)
    """
    from sklearn.cluster import KMeans

    responses = unit_responses(activations, axis=axis, reduce=reduce)
    n_units = responses.shape[1]
    if (
        isinstance(n_clusters, bool)
        or not isinstance(n_clusters, numbers.Integral)
        or not 1 <= n_clusters <= n_units
    ):
        raise ConfigError(f"'n_clusters' must be an int in 1..{n_units}; got {n_clusters!r}.")
    sd = responses.std(axis=0)
    profiles = np.zeros_like(responses)
    live = sd > 0
    profiles[:, live] = (responses[:, live] - responses[:, live].mean(axis=0)) / sd[live]
    km = KMeans(n_clusters=int(n_clusters), n_init=10, random_state=int(seed))
    return km.fit_predict(profiles.T).astype(int)


def lesion_sizes(n_units: int, fractions: Sequence[float]) -> list[int]:
    """Numbers of units lesioned for each fraction of a layer's ``n_units`` (rounded).

    Examples
    --------
    >>> lesion_sizes(40, [0.0, 0.1, 0.25, 1.0])
    [0, 4, 10, 40]
    """
    if isinstance(n_units, bool) or not isinstance(n_units, numbers.Integral) or n_units < 1:
        raise ConfigError(f"'n_units' must be a positive int; got {n_units!r}.")
    out = []
    for f in list(fractions):
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0.0 <= float(f) <= 1.0:
            raise ConfigError(f"'fractions' must hold numbers in [0, 1]; got {f!r}.")
        out.append(int(np.floor(float(f) * n_units + 0.5)))
    if not out:
        raise ConfigError("'fractions' must not be empty.")
    return out


def cluster_lesions(
    model: nn.Module,
    score_fn: Callable[[nn.Module], float],
    layer: str,
    clusters: Sequence[int],
    mode: str = "zero",
    *,
    n_random: int = 20,
    seed: int = 0,
    ci: float = 0.95,
    reference: Any = None,
    axis: int | None = None,
) -> pd.DataFrame:
    """Score after ablating each cluster of units vs random sets of the same size.

    Parameters
    ----------
    model : torch.nn.Module
        Any torch model.
    score_fn : callable
        ``score_fn(model) -> float``, higher is better.
    layer : str
        Module name as in ``model.named_modules()``.
    clusters : sequence of int of shape (n_units,)
        Cluster label of every unit of ``layer`` (e.g. from :func:`cluster_units`, or planted).
    mode : {"zero", "mean", "resample"}, default="zero"
        Ablation mode, see :class:`~neurodl.analyses.perturb.Ablate`.
    n_random : int, default=20
        Random unit sets of the cluster's size (drawn from all units) per cluster.
    seed : int, default=0
        Seed of the random sets.
    ci : float, default=0.95
        Coverage of the percentile interval over random draws.
    reference : ndarray or Tensor of shape (n_ref, ...), optional
        Reference activations for ``"mean"``/``"resample"``.
    axis : int or None, default=None
        Unit axis of the layer output.

    Returns
    -------
    table : DataFrame of shape (n_clusters, 7)
        Columns ``cluster``, ``size``, ``targeted`` (score with the cluster ablated),
        ``drop`` (baseline - targeted), ``random_mean``, ``random_low``, ``random_high``;
        ``table.attrs["baseline"]`` holds the intact score.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1))
    >>> with torch.no_grad():
    ...     net[2].weight[:, 3:] = 0.0  # the readout ignores hidden units 3-5
    >>> x = torch.randn(200, 4)
    >>> with torch.no_grad():
    ...     target = net(x)
    >>> def score(model):  # R^2 of the output against the intact model's: 1 when intact
    ...     with torch.no_grad():
    ...         return 1 - float(((model(x) - target) ** 2).mean() / target.var())
    >>> table = cluster_lesions(net, score, "1", [0, 0, 0, 1, 1, 1], n_random=10)
    >>> table[["cluster", "size", "drop", "random_mean"]].round(2)  # cluster 1 is never read out
       cluster  size  drop  random_mean
    0        0     3  1.18         0.38
    1        1     3  0.00         0.32
    """
    baseline, n_units = _baseline_and_n_units(model, score_fn, layer, axis)
    labels = np.asarray(clusters)
    if labels.shape != (n_units,) or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(
            f"'clusters' must hold one int label per unit of layer {layer!r} ({n_units} units); "
            f"got an array of shape {labels.shape} and dtype {labels.dtype}."
        )
    _check_random_draws(n_random, ci)
    rng = np.random.default_rng(seed)
    ablated = _lesion_scorer(model, score_fn, layer, mode, reference, axis, baseline)
    rows = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        random = _random_lesions(ablated, n_units, len(members), n_random, rng, ci)
        targeted = ablated(members)
        rows.append(
            {
                "cluster": int(label),
                "size": len(members),
                "targeted": targeted,
                "drop": baseline - targeted,
                **random,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["baseline"] = baseline
    return table
