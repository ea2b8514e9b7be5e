"""Scoring forecasts of population activity by horizon.

The forecasters (persistence, linear AR, GRU) are estimators and live in
:mod:`neurodl.estimators.dynamics.forecasting`; they are re-exported here.
:func:`forecast_scores` scores their predictions by horizon with bits/spike (Poisson) and R^2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...estimators.dynamics.forecasting import (
    _EPS,
    LinearARForecaster,
    PersistenceForecaster,
    RNNForecaster,
    _check_counts,
    _check_horizons,
)
from ...estimators.registry import FORECASTERS, make_forecaster
from ...exceptions import DataFormatError
from .metrics import bits_per_spike, r2_per_dim

__all__ = [
    "FORECASTERS",
    "LinearARForecaster",
    "PersistenceForecaster",
    "RNNForecaster",
    "forecast_scores",
    "make_forecaster",
]


def forecast_scores(
    pred: Any,
    counts: Any,
    horizons: Any,
    *,
    true_rates: Any = None,
    t_min: int = 0,
) -> list[dict[str, float]]:
    """Score forecasts by horizon.

    Parameters
    ----------
    pred : ndarray of shape (n_trials, n_bins, n_horizons, n_neurons)
        From a forecaster's ``predict`` (expected counts per bin).
    counts : ndarray of shape (n_trials, n_bins, n_neurons)
        Observed counts.
    horizons : sequence of int
    true_rates : ndarray like ``counts``, optional
        True expected counts (simulations): adds ``r2_true_rates``.
    t_min : int, default=0
        Forecasts made before bin ``t_min`` are ignored (warm-up).

    Returns
    -------
    rows : list of dict
        ``horizon``, ``bits_per_spike``, ``r2_counts`` (mean over neurons) and optionally
        ``r2_true_rates``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.5, 3.0, size=(10, 8, 3))
    >>> counts = rng.poisson(rates)
    >>> pred = np.repeat(rates[:, :, None, :], 2, axis=2)  # horizons 1 and 2: the true rates
    >>> rows = forecast_scores(pred, counts, [1, 2], true_rates=rates)
    >>> [sorted(r) for r in rows][0], [r["horizon"] for r in rows]
    (['bits_per_spike', 'horizon', 'r2_counts', 'r2_true_rates'], [1, 2])
    """
    p = np.asarray(pred, dtype=float)
    c = _check_counts(counts)
    h = _check_horizons(horizons)
    if p.shape != (c.shape[0], c.shape[1], len(h), c.shape[2]):
        raise DataFormatError(
            f"'pred' must have shape {(c.shape[0], c.shape[1], len(h), c.shape[2])}; got {p.shape}."
        )
    rows = []
    for k, hk in enumerate(h):
        T = c.shape[1] - hk
        if T <= t_min:
            continue
        pk = p[:, t_min:T, k]
        ck = c[:, t_min + hk :, :]
        row = {
            "horizon": hk,
            "bits_per_spike": bits_per_spike(np.maximum(pk, _EPS), ck),
            "r2_counts": float(
                np.nanmean(r2_per_dim(ck.reshape(-1, c.shape[2]), pk.reshape(-1, c.shape[2])))
            ),
        }
        if true_rates is not None:
            tr = np.asarray(true_rates, dtype=float)[:, t_min + hk :, :]
            row["r2_true_rates"] = float(
                np.nanmean(r2_per_dim(tr.reshape(-1, c.shape[2]), pk.reshape(-1, c.shape[2])))
            )
        rows.append(row)
    return rows
