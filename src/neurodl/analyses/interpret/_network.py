"""Shared pieces of the interpretation methods: input checks and the fitted network.

A fitted :class:`~neurodl.estimators.NeuralClassifier` / :class:`~neurodl.estimators.NeuralRegressor`
(alone or as the last step of a pipeline) is split into its preprocessing and its torch module,
gradients of the chosen output are taken with respect to the network input, in batches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError, NotFittedError


def _check_X(X: Any, name: str = "X") -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise DataFormatError(
            f"{name!r} must be a numeric array; got {type(X).__name__}."
        ) from None
    if arr.ndim not in (2, 3) or arr.shape[0] == 0:
        raise DataFormatError(
            f"{name!r} must have shape (n_samples, n_chans, n_times) or (n_samples, n_features) "
            f"with n_samples >= 1; got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise DataFormatError(
            f"{name!r} must be finite; got {int((~np.isfinite(arr)).sum())} NaN/inf value(s)."
        )
    return arr


def _split_network(estimator: Any) -> tuple[Any, Any]:
    """``(preprocessing or None, fitted neural estimator)`` of ``estimator``."""
    from sklearn.pipeline import Pipeline

    pre = None
    est = estimator
    if isinstance(estimator, Pipeline):
        pre = estimator[:-1] if len(estimator.steps) > 1 else None
        est = estimator.steps[-1][1]
    if not (hasattr(est, "_task") and hasattr(est, "_validate_X")):
        raise ConfigError(
            "Invalid value for 'estimator'. Allowed: a fitted NeuralClassifier/NeuralRegressor "
            f"(or a Pipeline ending in one); got {type(est).__name__}. Use "
            "permutation_importance for other estimators."
        )
    if not hasattr(est, "model_"):
        raise NotFittedError(f"{type(est).__name__} is not fitted yet; call fit first.")
    if getattr(est, "crop_len_", None) is not None:
        raise ConfigError(
            "Gradient attributions need a trialwise network; got one trained with "
            f"cropped=True (crop_len={est.crop_len_}). Use permutation_importance."
        )
    return pre, est


def _network_input(estimator: Any, X: np.ndarray) -> tuple[Any, np.ndarray]:
    """The neural estimator and ``X`` as it enters the network, shape (n, n_chans, n_times)."""
    pre, est = _split_network(estimator)
    Xt = np.asarray(pre.transform(X), dtype=float) if pre is not None else X
    if pre is not None and Xt.shape != X.shape:
        raise ConfigError(
            "Gradient attributions map back to the input only when the pipeline's preprocessing "
            f"keeps the sample shape; it turns {X.shape[1:]} into {Xt.shape[1:]}. Use "
            "permutation_importance instead."
        )
    X3 = est._validate_X(Xt, reset=False)
    if X3.shape[2] != est.n_times_:
        raise DataFormatError(
            f"X has {X3.shape[2]} time samples; the network was fitted on n_times={est.n_times_}."
        )
    return est, np.asarray(X3, dtype=np.float32)


def _targets(est: Any, X3: np.ndarray, target: Any, y: Any) -> np.ndarray:
    """Output index per sample: ``"predicted"``, ``"true"`` (needs ``y``) or an int."""
    n = X3.shape[0]
    classifier = est._task == "classification"
    n_out = len(est.classes_) if classifier else len(np.atleast_1d(est.y_mean_))
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        if not 0 <= int(target) < n_out:
            raise ConfigError(
                f"Invalid value for 'target'. Allowed: an output index in [0, {n_out - 1}], "
                f"'predicted' or 'true'; got {target!r}."
            )
        return np.full(n, int(target))
    if target == "predicted":
        if not classifier:
            return np.zeros(n, int)
        from ...estimators.torch_engine import predict_outputs

        proba = predict_outputs(est.model_, X3, task="classification", device=est.device_)
        return np.argmax(proba, axis=1)
    if target == "true":
        if not classifier:
            raise ConfigError(
                "Invalid value for 'target'. 'true' needs a classifier; give an output index "
                "for a regressor."
            )
        if y is None:
            raise ConfigError("target='true' needs the labels 'y'; got y=None.")
        y = np.asarray(y)
        if y.shape != (n,):
            raise DataFormatError(f"'y' must have shape ({n},); got {y.shape}.")
        idx = np.searchsorted(est.classes_, y)
        bad = (idx >= len(est.classes_)) | (est.classes_[np.minimum(idx, n_out - 1)] != y)
        if bad.any():
            raise DataFormatError(
                f"'y' holds labels the classifier was not fitted on: {np.unique(y[bad]).tolist()}"
                f" (classes: {est.classes_.tolist()})."
            )
        return idx
    raise ConfigError(
        f"Invalid value for 'target'. Allowed: 'predicted', 'true' or an output index; "
        f"got {target!r}."
    )


@contextlib.contextmanager
def _grad_context(est: Any) -> Iterator[Any]:
    """Torch with gradients on, the fitted thread count, cuDNN off (RNN backward in eval)."""
    import torch

    from ...estimators.neural import _torch_threads

    with (
        _torch_threads(getattr(est, "num_threads", None)),
        torch.enable_grad(),
        torch.backends.cudnn.flags(enabled=False),
    ):
        yield torch


def _output_fn(output: str) -> Callable[[Any], Any]:
    if output not in _OUTPUTS:
        raise ConfigError(
            f"Invalid value for 'output'. Allowed: {', '.join(map(repr, _OUTPUTS))}; "
            f"got {output!r}."
        )
    return _OUTPUTS[output]


def _softmax(z: Any) -> Any:
    return z.softmax(dim=1)


#: What is attributed: the raw network output (logit) or the class probability.
_OUTPUTS: dict[str, Callable[[Any], Any]] = {"logit": lambda z: z, "probability": _softmax}


def _check_batch(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise ConfigError(
            f"Invalid value for 'batch_size'. Allowed: an int >= 1; got {batch_size!r}."
        )
    if batch_size < 1:
        raise ConfigError(
            f"Invalid value for 'batch_size'. Allowed: an int >= 1; got {batch_size!r}."
        )
    return int(batch_size)


def _gradients(
    est: Any, X3: np.ndarray, targets: np.ndarray, output: str, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the selected output w.r.t. the input, and the output itself."""
    fn = _output_fn(output)
    net = est.model_
    net.eval()
    grads = np.empty_like(X3)
    values = np.empty(len(X3))
    with _grad_context(est) as torch:
        for i in range(0, len(X3), batch_size):
            xb = torch.tensor(X3[i : i + batch_size], device=est.device_, requires_grad=True)
            out = fn(net(xb).float())
            tb = torch.as_tensor(targets[i : i + batch_size], device=out.device)
            sel = out.gather(1, tb[:, None])[:, 0]
            (g,) = torch.autograd.grad(sel.sum(), xb)
            grads[i : i + batch_size] = g.detach().cpu().numpy()
            values[i : i + batch_size] = sel.detach().cpu().numpy()
    return grads, values
