"""Behaviour of networks (or subjects) on decision tasks: psychometric and chronometric curves.

- :func:`psychometric_curve`: per stimulus level, the fraction of choice 1 with Wilson
  binomial confidence intervals, and a maximum-likelihood logistic fit
  ``P(choice = 1 | s) = 1 / (1 + exp(-(slope * s + bias)))`` (binomial likelihood of the
  trials, :func:`scipy.optimize.minimize`).
- :func:`reaction_times`: per trial, the first step at which an output crosses a threshold.
- :func:`chronometric_curve`: mean reaction time (and its standard error) per stimulus level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataFormatError

__all__ = [
    "ChronometricCurve",
    "PsychometricCurve",
    "chronometric_curve",
    "fit_logistic",
    "psychometric_curve",
    "reaction_times",
    "wilson_interval",
]


def wilson_interval(
    successes: np.ndarray, n: np.ndarray, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes, n : array-like of shape (n_levels,)
        Number of successes and of trials (``n > 0``).
    confidence : float, default=0.95

    Returns
    -------
    low, high : ndarray of shape (n_levels,)

    Examples
    --------
    >>> low, high = wilson_interval([8], [10])
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (0.4902, 0.9433)
    """
    from scipy.stats import norm

    if not 0 < confidence < 1:
        raise ConfigError(
            f"Invalid value for 'confidence': expected a number in (0, 1), got {confidence!r}."
        )
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = norm.ppf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def fit_logistic(stimulus: np.ndarray, choices: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood ``(slope, bias)`` of ``P(choice=1|s) = sigmoid(slope * s + bias)``.

    Parameters
    ----------
    stimulus : ndarray of shape (n_trials,)
    choices : ndarray of shape (n_trials,) of 0/1

    Returns
    -------
    slope, bias : float
        Unpenalised estimates (they diverge for perfectly separable data; then the optimiser
        stops at a large slope).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = rng.uniform(-2, 2, size=2000)
    >>> choices = (rng.random(2000) < 1 / (1 + np.exp(-(3.0 * s + 0.5)))).astype(int)
    >>> slope, bias = fit_logistic(s, choices)
    >>> round(slope, 1), round(bias, 1)
    (2.9, 0.4)
    """
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    s = np.asarray(stimulus, dtype=float)
    c = np.asarray(choices, dtype=float)
    scale = float(np.std(s)) or 1.0  # fit on standardised stimuli for conditioning
    z = s / scale

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] * z + theta[1]
        value = -np.sum(c * log_expit(eta) + (1 - c) * log_expit(-eta))
        r = expit(eta) - c
        return float(value), np.array([np.sum(r * z), np.sum(r)])

    res = minimize(nll, np.zeros(2), jac=True, method="BFGS")
    return float(res.x[0] / scale), float(res.x[1])


@dataclass
class PsychometricCurve:
    """Fraction of choice 1 per stimulus level, with Wilson CIs and a logistic fit.

    Attributes
    ----------
    levels : ndarray of shape (n_levels,)
        Sorted unique stimulus values.
    n_trials : ndarray of shape (n_levels,)
    p_choice1 : ndarray of shape (n_levels,)
    ci_low, ci_high : ndarray of shape (n_levels,)
        Wilson interval at ``confidence``.
    confidence : float
    slope, bias : float or None
        Logistic fit ``sigmoid(slope * s + bias)`` (None when ``fit=False``).

    Examples
    --------
    >>> s = np.repeat([-1.0, 0.0, 1.0], 10)
    >>> choices = np.r_[np.zeros(9), 1, np.tile([0, 1], 5), np.ones(8), 0, 0]
    >>> pc = psychometric_curve(s, choices)
    >>> pc.levels.tolist(), pc.p_choice1.tolist(), pc.n_trials.tolist()
    ([-1.0, 0.0, 1.0], [0.1, 0.5, 0.8], [10, 10, 10])
    """

    levels: np.ndarray
    n_trials: np.ndarray
    p_choice1: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    confidence: float
    slope: float | None = None
    bias: float | None = None

    @property
    def pse(self) -> float | None:
        """Point of subjective equality, the stimulus with ``P(choice 1) = 0.5``: ``-bias/slope``."""
        if self.slope is None or self.bias is None or self.slope == 0:
            return None
        return -self.bias / self.slope

    def predict(self, stimulus: np.ndarray) -> np.ndarray:
        """Fitted ``P(choice = 1)`` at ``stimulus`` (any shape)."""
        from scipy.special import expit

        if self.slope is None or self.bias is None:
            raise ConfigError("This curve has no logistic fit (built with fit=False).")
        return expit(self.slope * np.asarray(stimulus, dtype=float) + self.bias)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python copy (JSON-serialisable)."""
        return {
            "levels": self.levels.tolist(),
            "n_trials": self.n_trials.tolist(),
            "p_choice1": self.p_choice1.tolist(),
            "ci_low": self.ci_low.tolist(),
            "ci_high": self.ci_high.tolist(),
            "confidence": self.confidence,
            "slope": self.slope,
            "bias": self.bias,
        }


def _check_pair(stimulus: Any, values: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(stimulus, dtype=float)
    v = np.asarray(values, dtype=float)
    if s.ndim != 1 or v.shape != s.shape:
        raise DataFormatError(
            f"stimulus and {name} must be 1-D arrays of the same length; got shapes {s.shape} "
            f"and {v.shape}."
        )
    if not np.all(np.isfinite(s)):
        raise DataFormatError("stimulus must be finite.")
    return s, v


def psychometric_curve(
    stimulus: np.ndarray,
    choices: np.ndarray,
    *,
    fit: bool = True,
    confidence: float = 0.95,
) -> PsychometricCurve:
    """Per-level fraction of choice 1, Wilson CIs and a logistic fit.

    Parameters
    ----------
    stimulus : ndarray of shape (n_trials,)
        Signed stimulus strength (e.g. coherence; positive favours choice 1).
    choices : ndarray of shape (n_trials,) of 0/1
        The choice made; NaN (no response) trials are dropped.
    fit : bool, default=True
        Fit ``sigmoid(slope * s + bias)`` by maximum likelihood on the trials.
    confidence : float, default=0.95

    Returns
    -------
    curve : PsychometricCurve

    Examples
    --------
    >>> curve = psychometric_curve([-1, -1, 1, 1], [0, 1, 1, 1], fit=False)
    >>> curve.p_choice1.tolist()
    [0.5, 1.0]
    """
    s, c = _check_pair(stimulus, choices, "choices")
    keep = ~np.isnan(c)
    s, c = s[keep], c[keep]
    if not np.all((c == 0) | (c == 1)):
        bad = np.unique(c[(c != 0) & (c != 1)])[:5].tolist()
        raise DataFormatError(f"choices must be 0 or 1 (or NaN); got values {bad}.")
    if s.size == 0:
        raise DataFormatError("No trial with a choice (all choices are NaN or none given).")
    levels, inverse = np.unique(s, return_inverse=True)
    n = np.bincount(inverse, minlength=levels.size)
    k = np.bincount(inverse, weights=c, minlength=levels.size)
    low, high = wilson_interval(k, n, confidence=confidence)
    slope = bias = None
    if fit:
        slope, bias = fit_logistic(s, c)
    return PsychometricCurve(levels, n, k / n, low, high, float(confidence), slope, bias)


def reaction_times(
    outputs: np.ndarray,
    threshold: float,
    *,
    start: int | np.ndarray = 0,
    channels: list[int] | None = None,
) -> np.ndarray:
    """First step at which an output crosses ``threshold`` (the reaction time in steps).

    Parameters
    ----------
    outputs : ndarray of shape (n_trials, n_steps) or (n_trials, n_steps, n_outputs)
        With several outputs, the largest of ``channels`` (default: all) is compared.
    threshold : float
        Crossing means ``output >= threshold``.
    start : int or ndarray of shape (n_trials,), default=0
        First step searched (e.g. the stimulus onset); the result counts from step 0.
    channels : list of int, optional

    Returns
    -------
    rt : ndarray of shape (n_trials,), float
        Step index of the first crossing at or after ``start``; NaN when none. Multiply by
        ``dt`` for milliseconds.

    Examples
    --------
    >>> outputs = np.array([[0.0, 0.2, 0.6, 0.9], [0.0, 0.1, 0.2, 0.3]])  # 2 trials x 4 steps
    >>> reaction_times(outputs, 0.5).tolist()  # NaN: never crossed
    [2.0, nan]
    """
    out = np.asarray(outputs, dtype=float)
    if out.ndim == 3:
        out = (out if channels is None else out[:, :, list(channels)]).max(axis=2)
    if out.ndim != 2:
        raise DataFormatError(
            "outputs must have shape (n_trials, n_steps) or (n_trials, n_steps, n_outputs); "
            f"got {np.asarray(outputs).shape}."
        )
    n_trials, n_steps = out.shape
    starts = np.broadcast_to(np.asarray(start, dtype=int), (n_trials,))
    crossed = (out >= threshold) & (np.arange(n_steps)[None, :] >= starts[:, None])
    first = crossed.argmax(axis=1).astype(float)
    first[~crossed.any(axis=1)] = np.nan
    return first


@dataclass
class ChronometricCurve:
    """Mean reaction time per stimulus level.

    Attributes
    ----------
    levels : ndarray of shape (n_levels,)
    mean_rt, sem_rt : ndarray of shape (n_levels,)
        Mean and standard error of the reaction times (NaN trials ignored; NaN where a level
        has no reaction, SEM NaN where it has one).
    n_trials : ndarray of shape (n_levels,)
        Trials with a reaction per level.

    Examples
    --------
    >>> rt = np.array([30.0, 34.0, 10.0, np.nan])  # steps; NaN: no reaction
    >>> cc = chronometric_curve(np.array([0.1, 0.1, 0.5, 0.5]), rt)
    >>> cc.levels.tolist(), cc.mean_rt.tolist(), cc.n_trials.tolist()
    ([0.1, 0.5], [32.0, 10.0], [2, 1])
    """

    levels: np.ndarray
    mean_rt: np.ndarray
    sem_rt: np.ndarray
    n_trials: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python copy (NaN as None)."""

        def clean(a: np.ndarray) -> list:
            return [None if np.isnan(v) else float(v) for v in a]

        return {
            "levels": self.levels.tolist(),
            "mean_rt": clean(self.mean_rt),
            "sem_rt": clean(self.sem_rt),
            "n_trials": self.n_trials.tolist(),
        }


def chronometric_curve(stimulus: np.ndarray, reaction_steps: np.ndarray) -> ChronometricCurve:
    """Mean reaction time per stimulus level (e.g. per absolute coherence).

    Parameters
    ----------
    stimulus : ndarray of shape (n_trials,)
    reaction_steps : ndarray of shape (n_trials,)
        Reaction times (steps or ms), NaN for no reaction (see :func:`reaction_times`).

    Returns
    -------
    curve : ChronometricCurve

    Examples
    --------
    >>> chronometric_curve([0.1, 0.1, 0.5], [10, 14, 4]).mean_rt.tolist()
    [12.0, 4.0]
    """
    s, rt = _check_pair(stimulus, reaction_steps, "reaction_steps")
    levels = np.unique(s)
    mean = np.full(levels.size, np.nan)
    sem = np.full(levels.size, np.nan)
    count = np.zeros(levels.size, dtype=int)
    for i, level in enumerate(levels):
        v = rt[(s == level) & ~np.isnan(rt)]
        count[i] = v.size
        if v.size:
            mean[i] = v.mean()
        if v.size > 1:
            sem[i] = v.std(ddof=1) / np.sqrt(v.size)
    return ChronometricCurve(levels, mean, sem, count)
