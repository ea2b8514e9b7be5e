"""Captum behind the attribution methods: one table, one batched call, numpy in and out.

Every method explains one output per sample (see :func:`._network._targets`) of the network
input, shape (n_samples, n_chans, n_times). The gradient family returns its *multipliers*
(captum with ``multiply_by_inputs=False``) so that the attribution ``(x - x0) * m`` can also be
split exactly over frequencies (see :mod:`.attribution`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from ._network import _check_batch, _grad_context, _output_fn

__all__: list[str] = []

#: Methods returning a multiplier ``m`` with attribution ``(x - x0) * m``.
MULTIPLIER_METHODS = ("integrated_gradients", "deeplift", "gradient_x_input")
#: Methods that perturb the input and record the output change.
PERTURBATION_METHODS = ("occlusion", "feature_ablation")
#: Every captum-backed method.
CAPTUM_METHODS = (*MULTIPLIER_METHODS, "saliency", *PERTURBATION_METHODS)


@dataclass
class MethodOutput:
    """What one captum method gives: the map and, for multiplier methods, its two factors.

    Attributes
    ----------
    values : ndarray of shape (n_samples, n_chans, n_times)
    diff : ndarray of shape (n_samples, n_chans, n_times) or None
        ``x - x0`` (multiplier methods only).
    multiplier : ndarray of shape (n_samples, n_chans, n_times) or None
    """

    values: np.ndarray
    diff: np.ndarray | None = None
    multiplier: np.ndarray | None = None


def _explained_module(net: Any, output: str) -> Any:
    """``net`` followed by the output transform (logit or softmax), as one ``nn.Module``."""
    import torch

    fn = _output_fn(output)

    class Explained(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: Any) -> Any:
            return fn(self.net(x).float())

    return Explained().eval()


def _baseline(baseline: Any, X3: np.ndarray) -> np.ndarray:
    """Reference input ``x0`` of shape (n_chans, n_times): ``zeros``, ``mean`` or an array."""
    if isinstance(baseline, str):
        if baseline not in BASELINES:
            raise ConfigError(
                f"Invalid value for 'baseline'. Allowed: {', '.join(map(repr, BASELINES))} or "
                f"an array of shape {X3.shape[1:]}; got {baseline!r}."
            )
        return BASELINES[baseline](X3).astype(np.float32)
    arr = np.asarray(baseline, dtype=np.float32)
    if arr.shape == X3.shape[2:] and X3.shape[1] == 1:
        arr = arr[None, :]
    if arr.shape != X3.shape[1:] or not np.isfinite(arr).all():
        raise DataFormatError(
            f"'baseline' must be a finite array of shape {X3.shape[1:]}; got shape {arr.shape}."
        )
    return arr


#: Named baselines: all zeros, or the mean sample of the explained data.
BASELINES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "zeros": lambda X3: np.zeros(X3.shape[1:]),
    "mean": lambda X3: X3.mean(axis=0),
}


def _check_steps(n_steps: Any) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 1:
        raise ConfigError(f"Invalid value for 'n_steps'. Allowed: an int >= 1; got {n_steps!r}.")
    return int(n_steps)


def _check_window(window: Any, n_times: int) -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer):
        raise ConfigError(
            f"Invalid value for 'window'. Allowed: an int in [1, {n_times}]; got {window!r}."
        )
    if not 1 <= window <= n_times:
        raise ConfigError(
            f"Invalid value for 'window'. Allowed: an int in [1, {n_times}]; got {window!r}."
        )
    return int(window)


def _ablation_mask(groups: Any, n_chans: int, n_times: int) -> np.ndarray:
    """Feature mask of shape (n_chans, n_times): ``channels``, ``time`` or an int array."""
    if isinstance(groups, str):
        if groups == "channels":
            return np.repeat(np.arange(n_chans)[:, None], n_times, axis=1)
        if groups == "time":
            return np.repeat(np.arange(n_times)[None, :], n_chans, axis=0)
        raise ConfigError(
            "Invalid value for 'groups'. Allowed: 'channels', 'time' or an int array of shape "
            f"({n_chans}, {n_times}); got {groups!r}."
        )
    mask = np.asarray(groups)
    if mask.shape != (n_chans, n_times) or not np.issubdtype(mask.dtype, np.integer):
        raise DataFormatError(
            f"'groups' must be an int array of shape ({n_chans}, {n_times}); got "
            f"shape {mask.shape} of dtype {mask.dtype}."
        )
    return mask


def run_method(
    method: str,
    est: Any,
    X3: np.ndarray,
    targets: np.ndarray,
    *,
    output: str = "logit",
    batch_size: int = 64,
    baseline: Any = "zeros",
    n_steps: int = 32,
    window: int | None = None,
    groups: Any = "channels",
) -> MethodOutput:
    """Run captum method ``method`` on the network input ``X3`` in batches.

    Parameters
    ----------
    method : str
        One of :data:`CAPTUM_METHODS`.
    est : fitted neural estimator
        Its ``model_`` is explained.
    X3 : ndarray of shape (n_samples, n_chans, n_times)
        Network input (float32).
    targets : ndarray of int of shape (n_samples,)
    output, batch_size, baseline, n_steps
        See :func:`~neurodl.analyses.interpret.integrated_gradients`.
    window : int, optional
        Occlusion patch length in samples (one channel x ``window`` samples, stride
        ``window``); default ``max(1, n_times // 8)``.
    groups : "channels", "time" or ndarray of int of shape (n_chans, n_times)
        Feature ablation groups (each group is set to the baseline together).

    Returns
    -------
    MethodOutput
    """
    from captum.attr import (
        DeepLift,
        FeatureAblation,
        IntegratedGradients,
        Occlusion,
        Saliency,
    )

    if method not in CAPTUM_METHODS:
        raise ConfigError(
            f"Invalid value for 'method'. Allowed: {', '.join(map(repr, CAPTUM_METHODS))}; "
            f"got {method!r}."
        )
    batch_size = _check_batch(batch_size)
    n_steps = _check_steps(n_steps)
    n_chans, n_times = X3.shape[1:]
    uses_baseline = method not in ("saliency", "gradient_x_input")
    x0 = _baseline(baseline, X3) if uses_baseline else np.zeros(X3.shape[1:], np.float32)
    if method == "occlusion":
        window = _check_window(max(1, n_times // 8) if window is None else window, n_times)
    mask = _ablation_mask(groups, n_chans, n_times) if method == "feature_ablation" else None
    module = _explained_module(est.model_, output)
    est.model_.eval()
    out = np.empty(X3.shape, dtype=float)
    with _grad_context(est) as torch, warnings.catch_warnings():
        # DeepLift announces (as a UserWarning) the hooks it sets on the non-linearities
        warnings.filterwarnings("ignore", message=r"\s*Setting forward, backward hooks")
        device = est.device_
        base_t = torch.as_tensor(x0[None], device=device)
        for i in range(0, len(X3), batch_size):
            xb = torch.as_tensor(X3[i : i + batch_size], device=device).requires_grad_(True)
            tb = torch.as_tensor(targets[i : i + batch_size], device=device)
            bb = base_t.expand_as(xb).contiguous()
            if method == "integrated_gradients":
                a = IntegratedGradients(module, multiply_by_inputs=False).attribute(
                    xb, baselines=bb, target=tb, n_steps=n_steps, internal_batch_size=batch_size
                )
            elif method == "deeplift":
                a = DeepLift(module, multiply_by_inputs=False).attribute(
                    xb, baselines=bb, target=tb
                )
            elif method in ("gradient_x_input", "saliency"):  # the gradient (x applied below)
                a = Saliency(module).attribute(xb, target=tb, abs=False)
            elif method == "occlusion":
                a = Occlusion(module).attribute(
                    xb,
                    sliding_window_shapes=(1, window),
                    strides=(1, window),
                    baselines=bb,
                    target=tb,
                    perturbations_per_eval=8,
                )
            else:
                a = FeatureAblation(module).attribute(
                    xb,
                    baselines=bb,
                    target=tb,
                    feature_mask=torch.as_tensor(mask[None], device=device),
                    perturbations_per_eval=8,
                )
            out[i : i + batch_size] = a.detach().cpu().numpy()
    if method in MULTIPLIER_METHODS:
        diff = X3.astype(float) - x0
        return MethodOutput(values=diff * out, diff=diff, multiplier=out)
    return MethodOutput(values=out)


def forward_values(
    est: Any, X3: np.ndarray, targets: np.ndarray, output: str, batch_size: int
) -> np.ndarray:
    """The explained output ``f_target(x)`` per sample, shape (n_samples,)."""
    fn = _output_fn(output)
    vals = np.empty(len(X3))
    est.model_.eval()
    with _grad_context(est) as torch, torch.no_grad():
        for i in range(0, len(X3), batch_size):
            xb = torch.as_tensor(X3[i : i + batch_size], device=est.device_)
            tb = torch.as_tensor(targets[i : i + batch_size], device=est.device_)
            vals[i : i + batch_size] = (
                fn(est.model_(xb).float()).gather(1, tb[:, None])[:, 0].cpu().numpy()
            )
    return vals
