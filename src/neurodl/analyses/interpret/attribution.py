"""Attributions of fitted decoders mapped back to channels, time and frequency.

:func:`attribute` computes gradient attributions of a fitted network
(:mod:`~neurodl.analyses.interpret.gradients`) and maps them to channels, time samples and
frequencies (an exact per-frequency split of each channel's attribution, by Parseval's theorem),
returned as an :class:`Attribution`. The model-agnostic occlusion methods live in
:mod:`~neurodl.analyses.interpret.occlusion`.

Attributions describe what a fitted model uses; they are not a test of what generalises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from .gradients import _gxi_parts, _ig_parts, gradient_x_input, integrated_gradients

__all__ = ["ATTRIBUTION_METHODS", "Attribution", "attribute"]

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
