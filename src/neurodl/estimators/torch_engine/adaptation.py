"""Test-time adaptation and probability calibration of a trained network.

- :func:`adapt_batchnorm`: adaptive batch normalisation (Li et al. 2016, "AdaBN"): a copy of
  the network whose batch-norm running means and variances are recomputed on unlabelled
  target inputs (all batch-norm layers; weights, biases and every other layer unchanged;
  dropout stays off). It uses the target's unlabelled data: callers record that.
- :func:`fit_calibration` / :func:`apply_calibration`: temperature scaling (Guo et al. 2017:
  one scalar ``T`` dividing the log-probabilities) or Platt scaling (binary: a logistic
  regression on the log-odds), fitted on held-out training data (the inner validation split),
  never on test data.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError

__all__ = ["CALIBRATIONS", "adapt_batchnorm", "apply_calibration", "fit_calibration"]

#: Calibration methods: name -> description.
CALIBRATIONS: dict[str, str] = {
    "temperature": "one temperature T: p ~ softmax(log p / T), fitted by likelihood",
    "platt": "binary only: p1 = sigmoid(a * logit(p1) + b), fitted by likelihood",
}
_EPS = 1e-7


def adapt_batchnorm(
    model: Any, X: np.ndarray, *, device: str = "cpu", batch_size: int = 256
) -> Any:
    """A copy of ``model`` with its batch-norm statistics recomputed on ``X``.

    Parameters
    ----------
    model : torch.nn.Module
        A trained network (left unchanged).
    X : ndarray of shape (n_samples, n_chans, n_times)
        Unlabelled inputs of the target (subject, recording or dataset).
    device : str, default="cpu"
    batch_size : int, default=256

    Returns
    -------
    adapted : torch.nn.Module
        In eval mode; each batch-norm layer's running mean and variance are the cumulative
        averages over ``X`` of the per-batch statistics (``momentum=None``).

    Examples
    --------
    A network whose batch norm never saw data (running means 0) adapted to a target whose
    channels have mean 5; the original is left as it was:

    >>> import numpy as np, torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.BatchNorm1d(2), torch.nn.Flatten(), torch.nn.Linear(2 * 4, 2)
    ... ).eval()
    >>> X_target = np.random.default_rng(0).normal(loc=5.0, size=(20, 2, 4))
    >>> adapted = adapt_batchnorm(net, X_target)
    >>> adapted[0].running_mean.round().tolist(), net[0].running_mean.tolist(), adapted.training
    ([5.0, 5.0], [0.0, 0.0], False)
    >>> bool((adapted[2].weight == net[2].weight).all())  # other layers unchanged
    True
    """
    import torch

    if len(X) < 2:
        raise DataFormatError(
            f"Adaptive batch normalisation needs at least 2 target samples; got {len(X)}."
        )
    net = copy.deepcopy(model).eval()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return net
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over the target batches
        bn.train()
    Xt = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    with torch.no_grad():
        for start in range(0, len(Xt), batch_size):
            xb = Xt[start : start + batch_size]
            if len(xb) < 2:  # batch norm cannot use a batch of one sample
                continue
            net(xb.to(device))
    return net.eval()


def _log_probs(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0))


def fit_calibration(probs: np.ndarray, y: np.ndarray, method: str) -> dict[str, Any]:
    """Fit a calibration map on held-out probabilities.

    Parameters
    ----------
    probs : ndarray of shape (n_samples, n_classes)
        Predicted probabilities on held-out *training* data (the inner validation split).
    y : ndarray of shape (n_samples,)
        Class indices.
    method : {"temperature", "platt"}

    Returns
    -------
    params : dict
        ``{"method": "temperature", "temperature": T}`` or ``{"method": "platt", "a": a,
        "b": b}``.

    Examples
    --------
    An overconfident model: 0.99 for class 0 on 10 held-out trials, right on 7. Temperature
    scaling softens the probabilities (``T > 1``):

    >>> import numpy as np
    >>> probs = np.tile([[0.99, 0.01]], (10, 1))
    >>> y = np.array([0] * 7 + [1] * 3)
    >>> params = fit_calibration(probs, y, "temperature")
    >>> params["method"], round(params["temperature"], 2)
    ('temperature', 5.42)
    >>> fit_calibration(np.full((4, 3), 1 / 3), np.array([0, 1, 2, 0]), "platt")
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'calibration': 'platt' is for 2 classes; got 3. Use 'temperature'.
    """
    from scipy.optimize import minimize_scalar

    if method not in CALIBRATIONS:
        raise ConfigError(
            f"Invalid value for 'calibration'. Allowed: None, "
            f"{', '.join(map(repr, CALIBRATIONS))}; got {method!r}."
        )
    logp = _log_probs(probs)
    y = np.asarray(y, dtype=np.int64)
    if len(y) < 2:
        raise DataFormatError(
            f"Calibration needs held-out training samples (an inner validation split); got {len(y)}."
        )
    if method == "temperature":

        def nll(log_t: float) -> float:
            z = logp / np.exp(log_t)
            z = z - z.max(axis=1, keepdims=True)
            return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean())

        res = minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded")
        return {"method": "temperature", "temperature": float(np.exp(res.x))}
    if logp.shape[1] != 2:
        raise ConfigError(
            f"Invalid value for 'calibration': 'platt' is for 2 classes; got {logp.shape[1]}. "
            "Use 'temperature'."
        )
    from sklearn.linear_model import LogisticRegression

    s = (logp[:, 1] - logp[:, 0])[:, None]
    if len(np.unique(y)) < 2:
        raise DataFormatError("Platt scaling needs held-out samples of both classes.")
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(s, y)
    return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def apply_calibration(probs: np.ndarray, params: dict[str, Any] | None) -> np.ndarray:
    """Calibrated probabilities of shape (n_samples, n_classes) (``params=None``: unchanged).

    Examples
    --------
    The overconfident model of :func:`fit_calibration` (0.99, right 7 times in 10) after
    temperature scaling: its confidence matches its accuracy:

    >>> import numpy as np
    >>> probs = np.tile([[0.99, 0.01]], (10, 1))
    >>> params = fit_calibration(probs, np.array([0] * 7 + [1] * 3), "temperature")
    >>> apply_calibration(probs, params)[0].round(3).tolist()
    [0.7, 0.3]
    >>> apply_calibration(probs, None) is probs
    True
    """
    if params is None:
        return probs
    logp = _log_probs(probs)
    if params["method"] == "temperature":
        z = logp / params["temperature"]
    else:
        s = params["a"] * (logp[:, 1] - logp[:, 0]) + params["b"]
        z = np.stack([np.zeros_like(s), s], axis=1)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(probs.dtype, copy=False)
