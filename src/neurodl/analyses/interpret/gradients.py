"""Per-sample attribution maps of a fitted network, computed with captum.

Gradient family: :func:`integrated_gradients` (Sundararajan et al. 2017), :func:`deeplift`
(Shrikumar et al. 2017, rescale rule), :func:`gradient_x_input` and :func:`saliency` (the
plain gradient, Simonyan et al. 2014). Perturbation family: :func:`occlusion` (one channel x
one time window at a time, Zeiler & Fergus 2014) and :func:`feature_ablation` (whole channels,
time samples or any grouping). Every function returns attributions of shape (n_samples,
n_chans, n_times) on the network input; :func:`~neurodl.analyses.interpret.attribute`
summarises them per channel, time, frequency and band.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._captum import forward_values, run_method
from ._network import _check_batch, _check_X, _network_input, _output_fn, _targets

__all__ = [
    "deeplift",
    "feature_ablation",
    "gradient_x_input",
    "integrated_gradients",
    "occlusion",
    "saliency",
]


def _prepare(estimator: Any, X: Any, target: Any, y: Any, output: str, batch_size: Any) -> Any:
    X = _check_X(X)
    batch_size = _check_batch(batch_size)
    _output_fn(output)
    est, X3 = _network_input(estimator, X)
    return est, X3, _targets(est, X3, target, y), batch_size


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

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10)
    >>> X = rng.standard_normal((20, 2, 16))  # 20 samples, 2 channels, 16 time samples
    >>> X[y == 1, 0] += 2.0  # channel 0 carries the class
    >>> net = NeuralClassifier("linear", max_epochs=5, lr=0.05, batch_size=20,
    ...                        validation_fraction=0.0, random_state=0).fit(X, y)
    >>> A = gradient_x_input(net, X)
    >>> A.shape, bool(np.abs(A[:, 0]).mean() > np.abs(A[:, 1]).mean())
    ((20, 2, 16), True)
    """
    est, X3, targets, batch_size = _prepare(estimator, X, target, y, output, batch_size)
    return run_method(
        "gradient_x_input", est, X3, targets, output=output, batch_size=batch_size
    ).values


def saliency(
    estimator: Any,
    X: Any,
    *,
    target: int | str = "predicted",
    y: Any = None,
    output: str = "logit",
    batch_size: int = 64,
) -> np.ndarray:
    """Gradient of the explained output with respect to the input (signed).

    Parameters are those of :func:`gradient_x_input`.

    Returns
    -------
    gradient : ndarray of shape (n_samples, n_chans, n_times)
        ``d f_target(x) / d x``; take ``np.abs`` for the classic saliency map.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10)
    >>> X = rng.standard_normal((20, 2, 16))  # 20 samples, 2 channels, 16 time samples
    >>> X[y == 1, 0] += 2.0  # channel 0 carries the class
    >>> net = NeuralClassifier("linear", max_epochs=5, lr=0.05, batch_size=20,
    ...                        validation_fraction=0.0, random_state=0).fit(X, y)
    >>> G = saliency(net, X)  # a linear network: the same gradient for every sample of a class
    >>> G.shape
    (20, 2, 16)
    """
    est, X3, targets, batch_size = _prepare(estimator, X, target, y, output, batch_size)
    return run_method("saliency", est, X3, targets, output=output, batch_size=batch_size).values


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
    """Integrated gradients of a fitted network (captum, Gauss-Legendre path integral).

    ``(x - x0) * integral_0^1 grad f(x0 + a (x - x0)) da``, so ``attributions.sum()`` per
    sample equals ``f(x) - f(x0)`` (completeness) up to the quadrature error. For a linear
    output ``f(x) = w.x + b`` it is exactly ``w * (x - x0)``.

    Parameters
    ----------
    estimator, X, target, y, output, batch_size
        As in :func:`gradient_x_input`.
    baseline : "zeros", "mean" or ndarray, default="zeros"
        Reference input ``x0``: all zeros, the mean sample of ``X``, or an array of the sample
        shape (n_chans, n_times) (or (n_features,) for 2-D ``X``) in the network's input space.
    n_steps : int, default=32
        Quadrature points of the path integral (>= 1).
    return_delta : bool, default=False
        Also return the completeness error ``sum(attr) - (f(x) - f(x0))`` per sample.

    Returns
    -------
    attributions : ndarray of shape (n_samples, n_chans, n_times)
    delta : ndarray of shape (n_samples,)
        Only with ``return_delta=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10)
    >>> X = rng.standard_normal((20, 2, 16))  # 20 samples, 2 channels, 16 time samples
    >>> X[y == 1, 0] += 2.0  # channel 0 carries the class
    >>> net = NeuralClassifier("linear", max_epochs=5, lr=0.05, batch_size=20,
    ...                        validation_fraction=0.0, random_state=0).fit(X, y)
    >>> A = integrated_gradients(net, X, baseline="zeros")
    >>> A.shape, bool(np.abs(A[:, 0]).mean() > np.abs(A[:, 1]).mean())
    ((20, 2, 16), True)
    """
    est, X3, targets, batch_size = _prepare(estimator, X, target, y, output, batch_size)
    res = run_method(
        "integrated_gradients",
        est,
        X3,
        targets,
        output=output,
        batch_size=batch_size,
        baseline=baseline,
        n_steps=n_steps,
    )
    if not return_delta:
        return res.values
    x0 = (X3 - res.diff).astype(np.float32)
    f_x = forward_values(est, X3, targets, output, batch_size)
    f_0 = forward_values(est, x0, targets, output, batch_size)
    return res.values, res.values.sum(axis=(1, 2)) - (f_x - f_0)


def deeplift(
    estimator: Any,
    X: Any,
    *,
    target: int | str = "predicted",
    y: Any = None,
    baseline: Any = "zeros",
    output: str = "logit",
    batch_size: int = 64,
) -> np.ndarray:
    """DeepLIFT (rescale rule) attributions of a fitted network (captum).

    Non-linearities captum knows (ReLU, ELU, sigmoid, tanh, softmax, max-pooling) use the
    rescale rule; others (e.g. the square and log of ShallowConvNet) pass their gradient,
    so the summation-to-delta property holds only approximately there.

    Parameters
    ----------
    estimator, X, target, y, baseline, output, batch_size
        As in :func:`integrated_gradients`.

    Returns
    -------
    attributions : ndarray of shape (n_samples, n_chans, n_times)

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10)
    >>> X = rng.standard_normal((20, 2, 16))  # 20 samples, 2 channels, 16 time samples
    >>> X[y == 1, 0] += 2.0  # channel 0 carries the class
    >>> net = NeuralClassifier("linear", max_epochs=5, lr=0.05, batch_size=20,
    ...                        validation_fraction=0.0, random_state=0).fit(X, y)
    >>> A = deeplift(net, X)
    >>> A.shape, bool(np.abs(A[:, 0]).mean() > np.abs(A[:, 1]).mean())
    ((20, 2, 16), True)
    """
    est, X3, targets, batch_size = _prepare(estimator, X, target, y, output, batch_size)
    return run_method(
        "deeplift", est, X3, targets, output=output, batch_size=batch_size, baseline=baseline
    ).values


def occlusion(
    estimator: Any,
    X: Any,
    *,
    target: int | str = "predicted",
    y: Any = None,
    window: int | None = None,
    baseline: Any = "zeros",
    output: str = "logit",
    batch_size: int = 64,
) -> np.ndarray:
    """Output drop when one channel x ``window`` samples patch is set to the baseline (captum).

    Parameters
    ----------
    estimator, X, target, y, baseline, output, batch_size
        As in :func:`integrated_gradients`.
    window : int, optional
        Patch length in samples (stride = window); default ``max(1, n_times // 8)``.

    Returns
    -------
    attributions : ndarray of shape (n_samples, n_chans, n_times)
        ``f(x) - f(x with the patch occluded)`` on every element of the patch.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10)
    >>> X = rng.standard_normal((20, 2, 16))  # 20 samples, 2 channels, 16 time samples
    >>> X[y == 1, 0] += 2.0  # channel 0 carries the class
    >>> net = NeuralClassifier("linear", max_epochs=5, lr=0.05, batch_size=20,
    ...                        validation_fraction=0.0, random_state=0).fit(X, y)
    >>> A = occlusion(net, X, window=4)  # patches of 1 channel x 4 samples
    >>> A.shape, bool(np.allclose(A[:, :, 0], A[:, :, 3]))
    ((20, 2, 16), True)
    """
    est, X3, targets, batch_size = _prepare(estimator, X, target, y, output, batch_size)
    return run_method(
        "occlusion",
        est,
        X3,
        targets,
        output=output,
        batch_size=batch_size,
        baseline=baseline,
        window=window,
    ).values


def feature_ablation(
    estimator: Any,
    X: Any,
    *,
    target: int | str = "predicted",
    y: Any = None,
    groups: Any = "channels",
    baseline: Any = "zeros",
    output: str = "logit",
    batch_size: int = 64,
) -> np.ndarray:
    """Output drop when a group of input elements is set to the baseline (captum).

    Parameters
    ----------
    estimator, X, target, y, baseline, output, batch_size
        As in :func:`integrated_gradients`.
    groups : "channels", "time" or ndarray of int of shape (n_chans, n_times), default="channels"
        Elements ablated together: each channel, each time sample, or any labelled grouping.

    Returns
    -------
    attributions : ndarray of shape (n_samples, n_chans, n_times)
        ``f(x) - f(x with the group ablated)`` on every element of the group.

    Examples
    --------
    >>> import numpy as np
    >>> from neurodl.estimators import NeuralClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 10)
    >>> X = rng.standard_normal((20, 2, 16))  # 20 samples, 2 channels, 16 time samples
    >>> X[y == 1, 0] += 2.0  # channel 0 carries the class
    >>> net = NeuralClassifier("linear", max_epochs=5, lr=0.05, batch_size=20,
    ...                        validation_fraction=0.0, random_state=0).fit(X, y)
    >>> A = feature_ablation(net, X, groups="channels")  # one value per channel, spread over time
    >>> A.shape, bool(np.allclose(A[:, 0], A[:, 0, :1]))
    ((20, 2, 16), True)
    """
    est, X3, targets, batch_size = _prepare(estimator, X, target, y, output, batch_size)
    return run_method(
        "feature_ablation",
        est,
        X3,
        targets,
        output=output,
        batch_size=batch_size,
        baseline=baseline,
        groups=groups,
    ).values
