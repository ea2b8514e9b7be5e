"""Attributions of fitted decoders mapped back to channels, time and frequency.

Two families:

- **Gradient attributions** of a fitted :class:`~neurodl.estimators.NeuralClassifier` /
  :class:`~neurodl.estimators.NeuralRegressor` (alone or as the last step of a scikit-learn
  pipeline whose earlier steps keep the ``(n_chans, n_times)`` shape):
  :func:`gradient_x_input` and :func:`integrated_gradients` (Sundararajan et al. 2017, ICML),
  summarised per channel, per time sample and per frequency by :func:`attribute`.
- **Model-agnostic occlusion**: :func:`permutation_importance` permutes one channel (or one
  time window) across samples and records the drop of a metric; :func:`band_importance` removes
  one frequency band with a zero-phase band-stop filter. Both work for any estimator with
  ``predict`` (classical pipelines included).

Attributions describe what a fitted model uses; they are not a test of what generalises.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError, NotFittedError

__all__ = [
    "ATTRIBUTION_METHODS",
    "OCCLUSION_MODES",
    "Attribution",
    "Importance",
    "attribute",
    "band_importance",
    "gradient_x_input",
    "integrated_gradients",
    "permutation_importance",
]

#: Default frequency bands (Hz) of :func:`band_importance`.
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}


# ---------------------------------------------------------------------------- helpers
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


# ---------------------------------------------------------------------------- gradient methods
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

#: Gradient attribution methods of :func:`attribute`.
ATTRIBUTION_METHODS: dict[str, Callable[..., Any]] = {
    "integrated_gradients": integrated_gradients,
    "gradient_x_input": gradient_x_input,
}


@dataclass
class Attribution:
    """Attributions of a fitted network and their summaries.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_chans, n_times)
        Per-sample attributions.
    method : str
    target : ndarray of int of shape (n_samples,)
        The output explained for each sample.
    channel : ndarray of shape (n_chans,)
        Mean absolute attribution per channel (over samples and time).
    time : ndarray of shape (n_times,)
        Mean absolute attribution per time sample (over samples and channels).
    channel_time : ndarray of shape (n_chans, n_times)
        Mean absolute attribution over samples.
    freqs : ndarray of shape (n_freqs,)
        Frequencies (Hz; cycles per sample without ``sfreq``) of ``frequency``.
    frequency : ndarray of shape (n_freqs,)
        Mean absolute per-frequency share of the attribution (over samples and channels): each
        channel's total attribution ``sum_t (x - x0)_t g_t`` split exactly over frequencies by
        Parseval's theorem, ``sum_f w_f Re(X_f conj(G_f)) / n_times``, where ``g`` is the
        (path-averaged) gradient.
    times : ndarray of shape (n_times,)
        Seconds (with ``sfreq``; ``tmin`` added) or sample indices.
    ch_names : list of str
    """

    values: np.ndarray
    method: str
    target: np.ndarray
    channel: np.ndarray
    time: np.ndarray
    channel_time: np.ndarray
    freqs: np.ndarray
    frequency: np.ndarray
    times: np.ndarray
    ch_names: list[str] = field(default_factory=list)

    def top_channels(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` channels with the largest share of the total channel attribution."""
        total = float(self.channel.sum()) or 1.0
        order = np.argsort(self.channel)[::-1][: max(int(k), 0)]
        return [(self.ch_names[i], float(self.channel[i] / total)) for i in order]


def attribute(
    estimator: Any,
    X: Any,
    *,
    method: str = "integrated_gradients",
    target: int | str = "predicted",
    y: Any = None,
    sfreq: float | None = None,
    tmin: float = 0.0,
    ch_names: list[str] | None = None,
    n_steps: int = 32,
    baseline: Any = "zeros",
    output: str = "logit",
    batch_size: int = 64,
) -> Attribution:
    """Attribute a fitted network's outputs to channels, time samples and frequencies.

    Parameters
    ----------
    estimator : NeuralClassifier, NeuralRegressor or Pipeline ending in one
        Fitted (see :func:`gradient_x_input`).
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
    method : {"integrated_gradients", "gradient_x_input"}, default="integrated_gradients"
    target, y
        As in :func:`gradient_x_input`.
    sfreq : float, optional
        Sampling rate: times in seconds and frequencies in Hz.
    tmin : float, default=0.0
        Time of the first sample (seconds, with ``sfreq``).
    ch_names : list of str, optional
        Channel names (default ``"0"``, ``"1"``, ...).
    n_steps, baseline
        Integrated gradients only (see :func:`integrated_gradients`).
    output, batch_size
        As in :func:`gradient_x_input`.

    Returns
    -------
    Attribution
    """
    if method not in ATTRIBUTION_METHODS:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {', '.join(map(repr, ATTRIBUTION_METHODS))}; "
            f"got {method!r}."
        )
    if sfreq is not None and not (np.isfinite(sfreq) and sfreq > 0):
        raise ConfigError(
            f"Invalid value for 'sfreq'. Allowed: None or a float > 0; got {sfreq!r}."
        )
    kwargs: dict[str, Any] = {"output": output, "batch_size": batch_size}
    if method == "integrated_gradients":
        kwargs.update(n_steps=n_steps, baseline=baseline)
    _est, targets, diff, grad = _PARTS[method](estimator, X, target, y, **kwargs)
    values = diff * grad
    n_chans, n_times = values.shape[1:]
    if ch_names is None:
        ch_names = [str(i) for i in range(n_chans)]
    if len(ch_names) != n_chans:
        raise DataFormatError(
            f"'ch_names' has {len(ch_names)} entries but the network input has {n_chans} channels."
        )
    mag = np.abs(values)
    step = 1.0 / sfreq if sfreq else 1.0
    return Attribution(
        values=values,
        method=method,
        target=targets,
        channel=mag.mean(axis=(0, 2)),
        time=mag.mean(axis=(0, 1)),
        channel_time=mag.mean(axis=0),
        freqs=np.fft.rfftfreq(n_times, d=step),
        frequency=np.abs(_frequency_contributions(diff, grad)).mean(axis=(0, 1)),
        times=tmin + np.arange(n_times) * step if sfreq else np.arange(n_times, dtype=float),
        ch_names=[str(c) for c in ch_names],
    )


def _frequency_contributions(diff: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Per-frequency terms of ``sum_t diff * grad`` (Parseval), shape (..., n_freqs).

    ``sum_t d_t g_t = sum_f w_f Re(D_f conj(G_f)) / n`` with ``w_f = 2`` except at DC (and
    Nyquist for even ``n``), so the terms add up exactly to each channel's total attribution.
    """
    n = diff.shape[-1]
    D, G = np.fft.rfft(diff, axis=-1), np.fft.rfft(grad, axis=-1)
    w = np.full(D.shape[-1], 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return (D * np.conj(G)).real * w / n


_PARTS: dict[str, Callable[..., tuple[Any, np.ndarray, np.ndarray, np.ndarray]]] = {
    "integrated_gradients": lambda e, X, t, y, **kw: _ig_parts(
        e, X, t, y, kw["output"], kw["batch_size"], kw["baseline"], kw["n_steps"]
    ),
    "gradient_x_input": lambda e, X, t, y, **kw: _gxi_parts(
        e, X, t, y, kw["output"], kw["batch_size"]
    ),
}


# ---------------------------------------------------------------------------- occlusion
@dataclass
class Importance:
    """Drop of a score when one unit (channel, time window or band) is occluded.

    Attributes
    ----------
    labels : list of str
        The units (channel names, ``"t0-t1"`` windows or band names).
    importances : ndarray of shape (n_units, n_repeats)
        ``baseline_score - occluded score`` per repeat (positive: the unit helps).
    mean, std : ndarray of shape (n_units,)
    baseline_score : float
        Score on the intact data.
    metric : str
    kind : str
        ``"channels"``, ``"time"`` or ``"bands"``.
    """

    labels: list[str]
    importances: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    baseline_score: float
    metric: str
    kind: str

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most important units with their mean score drop."""
        order = np.argsort(self.mean)[::-1][: max(int(k), 0)]
        return [(self.labels[i], float(self.mean[i])) for i in order]


def _occlude_permute(Xo: np.ndarray, sl: Any, rng: np.random.Generator) -> None:
    Xo[sl] = Xo[sl][rng.permutation(len(Xo))]


def _occlude_zero(Xo: np.ndarray, sl: Any, rng: np.random.Generator) -> None:
    Xo[sl] = 0.0


def _occlude_mean(Xo: np.ndarray, sl: Any, rng: np.random.Generator) -> None:
    Xo[sl] = Xo[sl].mean(axis=0, keepdims=True)


#: How a unit is occluded: permuted across samples, set to 0, or set to its mean over samples.
OCCLUSION_MODES: dict[str, Callable[[np.ndarray, Any, np.random.Generator], None]] = {
    "permute": _occlude_permute,
    "zero": _occlude_zero,
    "mean": _occlude_mean,
}


def _scorer(metric: str) -> Callable[[Any, Any], float]:
    from ...evaluation import METRICS, score

    if metric not in METRICS:
        raise ConfigError(
            f"Invalid value for 'metric'. Allowed: {', '.join(sorted(METRICS))}; got {metric!r}."
        )
    if metric == "roc_auc":
        raise ConfigError(
            "Invalid value for 'metric'. Occlusion scores predicted labels/targets; got "
            "'roc_auc' (use 'balanced_accuracy')."
        )
    return lambda y, pred: float(score(metric, y, pred))


def _check_y(y: Any, n: int) -> np.ndarray:
    if y is None:
        raise ConfigError("Occlusion importance needs the labels/targets 'y'; got y=None.")
    y = np.asarray(y)
    if y.shape[0] != n:
        raise DataFormatError(f"'y' has {y.shape[0]} entries but X has {n} samples.")
    return y


def permutation_importance(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    over: str = "channels",
    n_windows: int = 10,
    mode: str = "permute",
    metric: str = "balanced_accuracy",
    n_repeats: int = 5,
    ch_names: list[str] | None = None,
    sfreq: float | None = None,
    groups: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Importance:
    """Score drop of a fitted estimator when one channel (or time window) is occluded.

    Works for any fitted estimator with ``predict`` (classical or neural). Scored on the data
    given: pass held-out samples to measure what generalises, training samples to describe what
    the fit uses.

    Parameters
    ----------
    estimator : fitted estimator
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
        2-D ``X``: each feature is a unit (``over="channels"`` only).
    y : ndarray of shape (n_samples,)
    over : {"channels", "time"}, default="channels"
        Occlude one channel at a time, or one of ``n_windows`` equal time windows (all channels).
    n_windows : int, default=10
    mode : {"permute", "zero", "mean"}, default="permute"
        Permute the unit across samples (keeps its distribution), set it to 0, or to its mean.
    metric : str, default="balanced_accuracy"
        A key of :data:`neurodl.evaluation.METRICS` scoring predictions (not ``roc_auc``).
    n_repeats : int, default=5
        Repeats of the random permutation (``mode="permute"``; other modes run once).
    ch_names : list of str, optional
    sfreq : float, optional
        Window labels in seconds instead of samples.
    groups : dict of str to sequence of int, optional
        ``over="channels"`` only: occlude these channel (2-D: feature) indices together, one
        unit per key (e.g. all band-power features of one electrode).
    seed : int, default=0

    Returns
    -------
    Importance
    """
    X = _check_X(X)
    y = _check_y(y, len(X))
    if over not in ("channels", "time"):
        raise ConfigError(f"Invalid value for 'over'. Allowed: 'channels', 'time'; got {over!r}.")
    if mode not in OCCLUSION_MODES:
        raise ConfigError(
            f"Invalid value for 'mode'. Allowed: {', '.join(map(repr, OCCLUSION_MODES))}; "
            f"got {mode!r}."
        )
    for name, value in (("n_repeats", n_repeats), ("n_windows", n_windows)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"Invalid value for {name!r}. Allowed: an int >= 1; got {value!r}.")
    scorer = _scorer(metric)
    units: list[tuple[str, Any]]
    if groups is not None:
        if over != "channels":
            raise ConfigError("'groups' needs over='channels'; got over='time'.")
        n = X.shape[1]
        units = []
        for name, members in groups.items():
            idx = np.asarray(members, dtype=int)
            if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= n:
                raise ConfigError(
                    f"Invalid value for 'groups'. Allowed: non-empty index lists within "
                    f"[0, {n - 1}]; got {name!r}: {np.asarray(members).tolist()!r:.80}."
                )
            units.append((str(name), (slice(None), idx)))
    elif over == "channels":
        n = X.shape[1]
        names = [str(c) for c in ch_names] if ch_names is not None else [str(i) for i in range(n)]
        if len(names) != n:
            raise DataFormatError(f"'ch_names' has {len(names)} entries but X has {n} channels.")
        units = [(names[i], (slice(None), i)) for i in range(n)]
    else:
        if X.ndim != 3:
            raise DataFormatError(f"over='time' needs 3-D X; got shape {X.shape}.")
        n_times = X.shape[2]
        if n_windows > n_times:
            raise ConfigError(
                f"Invalid value for 'n_windows'. Allowed: <= n_times ({n_times}); got {n_windows}."
            )
        edges = np.linspace(0, n_times, int(n_windows) + 1).round().astype(int)
        scale = 1.0 / sfreq if sfreq else 1.0
        units = [
            (f"{a * scale:g}-{b * scale:g}", (slice(None), slice(None), slice(a, b)))
            for a, b in itertools.pairwise(edges)
        ]
    base = scorer(y, estimator.predict(X))
    reps = int(n_repeats) if mode == "permute" else 1
    rng = np.random.default_rng(seed)
    occlude = OCCLUSION_MODES[mode]
    imp = np.empty((len(units), reps))
    for u, (_, sl) in enumerate(units):
        for r in range(reps):
            Xo = X.copy()
            occlude(Xo, sl, rng)
            imp[u, r] = base - scorer(y, estimator.predict(Xo))
    return Importance(
        labels=[u[0] for u in units],
        importances=imp,
        mean=imp.mean(axis=1),
        std=imp.std(axis=1),
        baseline_score=base,
        metric=metric,
        kind=over,
    )


def band_importance(
    estimator: Any,
    X: Any,
    y: Any,
    sfreq: float,
    *,
    bands: Mapping[str, tuple[float, float]] | None = None,
    metric: str = "balanced_accuracy",
    order: int = 4,
) -> Importance:
    """Score drop when one frequency band is removed (zero-phase Butterworth band-stop).

    Parameters
    ----------
    estimator : fitted estimator with ``predict``
    X : ndarray of shape (n_samples, n_chans, n_times)
    y : ndarray of shape (n_samples,)
    sfreq : float
        Sampling rate (Hz).
    bands : dict of str to (low, high), optional
        Bands in Hz (default :data:`DEFAULT_BANDS`, those below Nyquist).
    metric : str, default="balanced_accuracy"
    order : int, default=4
        Filter order (:func:`scipy.signal.butter`, applied with :func:`scipy.signal.sosfiltfilt`).

    Returns
    -------
    Importance
        ``kind == "bands"``, one repeat per band.
    """
    from scipy.signal import butter, sosfiltfilt

    X = _check_X(X)
    if X.ndim != 3:
        raise DataFormatError(
            f"band_importance needs 3-D X (n_samples, n_chans, n_times); got {X.shape}."
        )
    y = _check_y(y, len(X))
    if isinstance(sfreq, bool) or not isinstance(sfreq, int | float | np.number) or not sfreq > 0:
        raise ConfigError(f"Invalid value for 'sfreq'. Allowed: a float > 0; got {sfreq!r}.")
    nyq = sfreq / 2.0
    if bands is None:
        bands = {
            k: (lo, min(hi, 0.95 * nyq)) for k, (lo, hi) in DEFAULT_BANDS.items() if lo < 0.9 * nyq
        }
    for name, band in bands.items():
        lo, hi = (float(v) for v in band)
        if not 0 < lo < hi < nyq:
            raise ConfigError(
                f"Invalid band {name!r}. Allowed: 0 < low < high < Nyquist ({nyq:g} Hz); "
                f"got ({lo:g}, {hi:g})."
            )
    scorer = _scorer(metric)
    base = scorer(y, estimator.predict(X))
    labels, imp = [], []
    for name, (lo, hi) in bands.items():
        sos = butter(order, [lo, hi], btype="bandstop", fs=sfreq, output="sos")
        Xf = sosfiltfilt(sos, X, axis=-1)
        labels.append(str(name))
        imp.append([base - scorer(y, estimator.predict(Xf))])
    arr = np.asarray(imp, float)
    return Importance(
        labels=labels,
        importances=arr,
        mean=arr.mean(axis=1),
        std=arr.std(axis=1),
        baseline_score=base,
        metric=metric,
        kind="bands",
    )
