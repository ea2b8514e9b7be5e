"""Delayed designs: FIR (finite impulse response) and time-lagged features, run-aware."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import ConfigError, DataFormatError

__all__ = ["condition_design", "delay_features", "fir_design"]


def delay_features(
    X: Any, delays: Sequence[int], *, runs: Sequence[Any] | None = None
) -> np.ndarray:
    """Stack copies of ``X`` shifted by each delay (in samples), never across a run boundary.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    delays : sequence of int
        Sample delays; a positive delay ``d`` puts ``X[t - d]`` at row ``t`` (the response at
        ``t`` depends on the stimulus ``d`` samples earlier); negative delays look ahead.
    runs : array-like of shape (n_samples,), optional
        Run of each sample; shifted values from another run (or outside the data) are 0.

    Returns
    -------
    Xd : ndarray of shape (n_samples, n_delays * n_features)
        Columns ordered delay-major: ``[X(d0), X(d1), ...]``.

    Examples
    --------
    >>> X = np.arange(1.0, 5.0)[:, None]  # 4 samples, 1 feature
    >>> delay_features(X, [0, 1], runs=[0, 0, 1, 1]).tolist()
    [[1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 3.0]]
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataFormatError(f"'X' must be 2-D (n_samples, n_features); got shape {X.shape}.")
    delays = [int(d) for d in delays]
    if not delays:
        raise ConfigError("Invalid value for 'delays': at least one delay; got [].")
    n = X.shape[0]
    runs_arr = np.zeros(n, int) if runs is None else pd.factorize(np.asarray(runs))[0]
    if runs_arr.shape != (n,):
        raise DataFormatError(f"'runs' must have {n} entries; got {np.shape(runs)}.")
    out = np.zeros((n, len(delays) * X.shape[1]))
    idx = np.arange(n)
    for k, d in enumerate(delays):
        src = idx - d
        ok = (src >= 0) & (src < n)
        ok[ok] &= runs_arr[src[ok]] == runs_arr[ok]
        block = np.zeros_like(X)
        block[ok] = X[src[ok]]
        out[:, k * X.shape[1] : (k + 1) * X.shape[1]] = block
    return out


def condition_design(
    labels: Sequence[Any],
    *,
    conditions: Sequence[str] | None = None,
    exclude: Sequence[str] = ("rest",),
) -> tuple[np.ndarray, list[str]]:
    """One-hot indicator design of per-volume labels.

    Returns
    -------
    design : ndarray of shape (n_volumes, n_conditions)
    conditions : list of str

    Examples
    --------
    >>> design, conditions = condition_design(["rest", "face", "house", "face"])
    >>> design.tolist(), conditions
    ([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], ['face', 'house'])
    """
    labels = np.asarray(labels).astype(str)
    if conditions is None:
        conditions = [c for c in sorted(set(labels)) if c not in set(exclude)]
    conditions = [str(c) for c in conditions]
    if not conditions:
        raise ConfigError("No condition left for the design (all labels excluded).")
    design = (labels[:, None] == np.array(conditions)[None, :]).astype(float)
    return design, conditions


def fir_design(
    labels: Sequence[Any],
    n_delays: int,
    *,
    runs: Sequence[Any] | None = None,
    conditions: Sequence[str] | None = None,
    exclude: Sequence[str] = ("rest",),
) -> tuple[np.ndarray, list[str]]:
    """FIR design of per-volume condition labels: one column per (delay, condition).

    Parameters
    ----------
    labels : array-like of shape (n_volumes,)
    n_delays : int
        Delays 0 .. n_delays - 1 volumes (covering the haemodynamic response, e.g. 6 x 2.5 s).
    runs : array-like of shape (n_volumes,), optional
    conditions, exclude
        As in :func:`condition_design`.

    Returns
    -------
    design : ndarray of shape (n_volumes, n_delays * n_conditions)
    names : list of str
        ``"<condition>@<delay>"`` per column.

    Examples
    --------
    >>> design, names = fir_design(["face", "rest", "house", "rest"], n_delays=2)
    >>> design.shape, names
    ((4, 4), ['face@0', 'house@0', 'face@1', 'house@1'])
    """
    if isinstance(n_delays, bool) or not isinstance(n_delays, (int, np.integer)) or n_delays < 1:
        raise ConfigError(f"Invalid value for 'n_delays': a positive int; got {n_delays!r}.")
    design, conds = condition_design(labels, conditions=conditions, exclude=exclude)
    Xd = delay_features(design, range(n_delays), runs=runs)
    names = [f"{c}@{d}" for d in range(n_delays) for c in conds]
    return Xd, names
