"""Gradient attributions of a fitted network: gradient x input and integrated gradients.

Both return per-sample attributions of shape (n_samples, n_chans, n_times) on the network input;
:func:`~neurodl.analyses.interpret.attribute` summarises them per channel, time and frequency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from ._network import _check_batch, _check_X, _gradients, _network_input, _output_fn, _targets

__all__ = ["gradient_x_input", "integrated_gradients"]


def gradient_x_input(
    estimator: Any,
    X: Any,
    *,
    target: int | str = "predicted",
    y: Any = None,
    output: str = "logit",
    batch_size: int = 64,
) -> np.ndarray:
    """Gradient x input attributions of a fitted network.

    Parameters
    ----------
    estimator : NeuralClassifier, NeuralRegressor or Pipeline ending in one
        Fitted. Pipeline steps before the network must keep the sample shape; the attributions
        are then of the preprocessed input (same channels and samples).
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
        Samples to explain.
    target : "predicted", "true" or int, default="predicted"
        Output explained for each sample: the predicted class, the true class (needs ``y``) or a
        fixed output index (regressors: the output column; ``"predicted"`` means column 0).
    y : ndarray of shape (n_samples,), optional
        Labels, for ``target="true"``.
    output : {"logit", "probability"}, default="logit"
        Attribute the raw network output or the softmax probability (classifiers).
    batch_size : int, default=64

    Returns
    -------
    attributions : ndarray of shape (n_samples, n_chans, n_times)
        ``x * d f_target(x) / d x`` (2-D input: ``n_chans == 1``).
    """
    _, _, diff, grad = _gxi_parts(estimator, X, target, y, output, batch_size)
    return (diff * grad).astype(float)


def _gxi_parts(
    estimator: Any, X: Any, target: Any, y: Any, output: str, batch_size: int
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """``(network, targets, input, gradient)`` of gradient x input."""
    X = _check_X(X)
    batch_size = _check_batch(batch_size)
    _output_fn(output)
    est, X3 = _network_input(estimator, X)
    targets = _targets(est, X3, target, y)
    grads, _ = _gradients(est, X3, targets, output, batch_size)
    return est, targets, X3.astype(float), grads.astype(float)


def integrated_gradients(
    estimator: Any,
    X: Any,
    *,
    target: int | str = "predicted",
    y: Any = None,
    baseline: Any = "zeros",
    n_steps: int = 32,
    output: str = "logit",
    batch_size: int = 64,
    return_delta: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Integrated gradients of a fitted network (Sundararajan et al. 2017).

    ``(x - x0) * mean_k grad f((x0 + a_k (x - x0)))`` with ``a_k = (k + 1/2) / n_steps``
    (midpoint rule), so ``attributions.sum()`` per sample approximates ``f(x) - f(x0)``
    (completeness) up to an error that shrinks as ``1 / n_steps**2``.

    Parameters
    ----------
    estimator, X, target, y, output, batch_size
        As in :func:`gradient_x_input`.
    baseline : "zeros", "mean" or ndarray, default="zeros"
        Reference input ``x0``: all zeros, the mean sample of ``X``, or an array of the sample
        shape (n_chans, n_times) (or (n_features,) for 2-D ``X``) in the network's input space.
    n_steps : int, default=32
        Points of the path integral (>= 1).
    return_delta : bool, default=False
        Also return the completeness error ``sum(attr) - (f(x) - f(x0))`` per sample.

    Returns
    -------
    attributions : ndarray of shape (n_samples, n_chans, n_times)
    delta : ndarray of shape (n_samples,)
        Only with ``return_delta=True``.
    """
    est, targets, diff, grad = _ig_parts(
        estimator, X, target, y, output, batch_size, baseline, n_steps
    )
    attr = diff * grad
    if not return_delta:
        return attr
    batch_size = int(batch_size)
    X3 = _network_input(estimator, _check_X(X))[1]
    x0 = (X3 - diff).astype(np.float32)
    _, f_x = _gradients(est, X3, targets, output, batch_size)
    _, f_0 = _gradients(est, x0, targets, output, batch_size)
    return attr, attr.sum(axis=(1, 2)) - (f_x - f_0)


def _ig_parts(
    estimator: Any,
    X: Any,
    target: Any,
    y: Any,
    output: str,
    batch_size: int,
    baseline: Any,
    n_steps: Any,
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """``(network, targets, x - x0, path-averaged gradient)`` of integrated gradients."""
    X = _check_X(X)
    batch_size = _check_batch(batch_size)
    _output_fn(output)
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ConfigError(f"Invalid value for 'n_steps'. Allowed: an int >= 1; got {n_steps!r}.")
    est, X3 = _network_input(estimator, X)
    x0 = _baseline(baseline, X3)
    targets = _targets(est, X3, target, y)
    total = np.zeros(X3.shape, dtype=float)
    diff = X3 - x0
    for k in range(int(n_steps)):
        a = (k + 0.5) / n_steps
        g, _ = _gradients(est, (x0 + a * diff).astype(np.float32), targets, output, batch_size)
        total += g
    return est, targets, diff.astype(float), total / n_steps


def _baseline(baseline: Any, X3: np.ndarray) -> np.ndarray:
    if isinstance(baseline, str):
        if baseline not in _BASELINES:
            raise ConfigError(
                f"Invalid value for 'baseline'. Allowed: {', '.join(map(repr, _BASELINES))} or "
                f"an array of shape {X3.shape[1:]}; got {baseline!r}."
            )
        return _BASELINES[baseline](X3).astype(np.float32)
    arr = np.asarray(baseline, dtype=np.float32)
    if arr.shape == X3.shape[2:] and X3.shape[1] == 1:
        arr = arr[None, :]
    if arr.shape != X3.shape[1:] or not np.isfinite(arr).all():
        raise DataFormatError(
            f"'baseline' must be a finite array of shape {X3.shape[1:]}; got shape {arr.shape}."
        )
    return arr


_BASELINES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "zeros": lambda X3: np.zeros(X3.shape[1:]),
    "mean": lambda X3: X3.mean(axis=0),
}
