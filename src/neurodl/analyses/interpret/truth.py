"""Scores of an attribution map against a planted ground truth (see
:func:`neurodl.data.attribution_sim.simulate_attribution_eeg`).

All scores use the absolute map of shape (n_chans, n_times): *mass* scores are shares of the
total |attribution|, *rank* scores the fraction of the top-k units that are true.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = ["score_map"]


def _check_map(values: Any, truth: Mapping[str, Any]) -> np.ndarray:
    arr = np.abs(np.asarray(values, float))
    if arr.ndim != 2 or not np.isfinite(arr).all():
        raise DataFormatError(
            f"The map must be a finite array of shape (n_chans, n_times); got shape {arr.shape}."
        )
    for key in ("source_channels", "suppressor_channels", "window_samples"):
        if key not in truth:
            raise ConfigError(f"The ground truth has no {key!r}; keys: {sorted(truth)}.")
    idx = [*truth["source_channels"], *truth["suppressor_channels"]]
    if idx and max(idx) >= arr.shape[0]:
        raise DataFormatError(
            f"The map has {arr.shape[0]} channels but the ground truth names channel {max(idx)}."
        )
    return arr


def score_map(values: Any, truth: Mapping[str, Any]) -> dict[str, float | None]:
    """Mass and rank accuracy of a channel x time map against the planted truth.

    Parameters
    ----------
    values : ndarray of shape (n_chans, n_times)
        A map (its absolute value is scored), e.g. mean |attribution| over samples or |pattern|.
    truth : dict
        ``source_channels``, ``suppressor_channels`` (indices) and ``window_samples`` (start,
        stop) as in ``info["ground_truth"]`` of the simulator.

    Returns
    -------
    dict
        ``mass_sources`` (share of |map| on the source channels), ``mass_suppressors``,
        ``mass_window`` (share of the source channels' |map| inside the true window, against
        ``window_share``, what a flat map would give), ``rank_channels`` (fraction of the top
        ``n_sources`` channels that are sources), ``rank_elements`` (fraction of the top-k
        channel x time elements inside the true sources x window, k = their number).
        None where the map is all zeros.

    Examples
    --------
    >>> truth = {"source_channels": [0], "suppressor_channels": [1], "window_samples": (2, 4)}
    >>> m = np.zeros((3, 6))
    >>> m[0, 2:4] = 1.0  # all of the map on the source channel, inside the window
    >>> s = score_map(m, truth)
    >>> s["mass_sources"], s["mass_suppressors"], s["mass_window"]
    (1.0, 0.0, 1.0)
    """
    arr = _check_map(values, truth)
    src = list(truth["source_channels"])
    sup = list(truth["suppressor_channels"])
    a, b = truth["window_samples"]
    total = arr.sum()
    n_times = arr.shape[1]
    out: dict[str, float | None] = {"window_share": (b - a) / n_times}
    if total == 0:
        return out | dict.fromkeys(
            ("mass_sources", "mass_suppressors", "mass_window", "rank_channels", "rank_elements")
        )
    channel = arr.sum(axis=1)
    src_mass = arr[src].sum()
    out["mass_sources"] = float(src_mass / total)
    out["mass_suppressors"] = float(arr[sup].sum() / total) if sup else 0.0
    out["mass_window"] = float(arr[src, a:b].sum() / src_mass) if src_mass > 0 else None
    top = np.argsort(channel)[::-1][: len(src)]
    out["rank_channels"] = float(np.isin(top, src).mean())
    truth_mask = np.zeros(arr.shape, bool)
    truth_mask[np.ix_(src, np.arange(a, b))] = True
    k = int(truth_mask.sum())
    if k:
        top_el = np.argsort(arr.ravel())[::-1][:k]
        out["rank_elements"] = float(truth_mask.ravel()[top_el].mean())
    else:
        out["rank_elements"] = None
    return out
