"""Attributions of fitted decoders mapped back to channels, time, frequency and bands.

:func:`attribute` computes per-sample attributions of a fitted network with captum
(:mod:`~neurodl.analyses.interpret.gradients`) and maps them to channels, time samples and,
for the gradient family, frequencies (an exact per-frequency split of each channel's
attribution, by Parseval's theorem) and frequency bands, returned as an :class:`Attribution`.
The model-agnostic occlusion importance for any estimator lives in
:mod:`~neurodl.analyses.interpret.importance`.

Attributions describe what a fitted model uses; they are not a test of what generalises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...exceptions import ConfigError, DataFormatError
from ._captum import MULTIPLIER_METHODS, run_method
from ._network import _check_X, _network_input, _output_fn, _targets
from .gradients import (
    deeplift,
    feature_ablation,
    gradient_x_input,
    integrated_gradients,
    occlusion,
    saliency,
)

__all__ = ["ATTRIBUTION_METHODS", "Attribution", "attribute", "band_sums"]

#: Attribution methods of :func:`attribute` (all computed with captum).
ATTRIBUTION_METHODS: dict[str, Callable[..., Any]] = {
    "integrated_gradients": integrated_gradients,
    "deeplift": deeplift,
    "gradient_x_input": gradient_x_input,
    "saliency": saliency,
    "occlusion": occlusion,
    "feature_ablation": feature_ablation,
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
    freqs : ndarray of shape (n_freqs,) or None
        Frequencies (Hz; cycles per sample without ``sfreq``) of ``frequency``.
    frequency : ndarray of shape (n_freqs,) or None
        Gradient family only (integrated gradients, DeepLIFT, gradient x input; None for
        saliency and the perturbation methods). Mean absolute per-frequency share of the attribution (over samples and channels): each
        channel's total attribution ``sum_t (x - x0)_t g_t`` split exactly over frequencies by
        Parseval's theorem, ``sum_f w_f Re(X_f conj(G_f)) / n_times``, where ``g`` is the
        (path-averaged) gradient.
    times : ndarray of shape (n_times,)
        Seconds (with ``sfreq``; ``tmin`` added) or sample indices.
    ch_names : list of str

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
    >>> a = attribute(net, X, method="gradient_x_input", sfreq=16.0)
    >>> a.values.shape, a.channel.shape, a.time.shape, a.channel_time.shape, a.frequency.shape
    ((20, 2, 16), (2,), (16,), (2, 16), (9,))
    """

    values: np.ndarray
    method: str
    target: np.ndarray
    channel: np.ndarray
    time: np.ndarray
    channel_time: np.ndarray
    freqs: np.ndarray | None
    frequency: np.ndarray | None
    times: np.ndarray
    ch_names: list[str] = field(default_factory=list)

    def top_channels(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` channels with the largest share of the total channel attribution."""
        total = float(self.channel.sum()) or 1.0
        order = np.argsort(self.channel)[::-1][: max(int(k), 0)]
        return [(self.ch_names[i], float(self.channel[i] / total)) for i in order]

    def bands(self, bands: dict[str, tuple[float, float]]) -> dict[str, float]:
        """Sum of :attr:`frequency` within each band (``low <= f < high``), by band name."""
        if self.frequency is None or self.freqs is None:
            raise ConfigError(
                f"Band sums need a per-frequency split, which method {self.method!r} does not "
                f"give. Allowed: {', '.join(map(repr, MULTIPLIER_METHODS))}."
            )
        return band_sums(self.freqs, self.frequency, bands)


def band_sums(
    freqs: np.ndarray, values: np.ndarray, bands: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Sum ``values`` (shape (..., n_freqs)) over each band ``low <= f < high``.

    Parameters
    ----------
    freqs : ndarray of shape (n_freqs,)
    values : ndarray of shape (..., n_freqs)
    bands : dict of str to (low, high)

    Returns
    -------
    dict of str to float (or ndarray of shape values.shape[:-1])

    Examples
    --------
    >>> freqs = np.array([2.0, 6.0, 10.0, 20.0])
    >>> band_sums(freqs, np.array([1.0, 2.0, 3.0, 4.0]), {"theta": (4, 8), "alpha": (8, 13)})
    {'theta': 2.0, 'alpha': 3.0}
    """
    freqs = np.asarray(freqs, float)
    out: dict[str, Any] = {}
    for name, band in bands.items():
        lo, hi = (float(v) for v in band)
        if not lo < hi:
            raise ConfigError(f"Invalid band {name!r}. Allowed: low < high; got ({lo:g}, {hi:g}).")
        sel = (freqs >= lo) & (freqs < hi)
        total = np.asarray(values, float)[..., sel].sum(axis=-1)
        out[str(name)] = float(total) if np.ndim(total) == 0 else total
    return out


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
    window: int | None = None,
    groups: Any = "channels",
) -> Attribution:
    """Attribute a fitted network's outputs to channels, time samples and frequencies.

    Parameters
    ----------
    estimator : NeuralClassifier, NeuralRegressor or Pipeline ending in one
        Fitted (see :func:`gradient_x_input`).
    X : ndarray of shape (n_samples, n_chans, n_times) or (n_samples, n_features)
    method : str, default="integrated_gradients"
        A key of :data:`ATTRIBUTION_METHODS`: ``integrated_gradients``, ``deeplift``,
        ``gradient_x_input``, ``saliency`` (signed gradient), ``occlusion`` (one channel x
        ``window`` samples) or ``feature_ablation`` (whole channels, see ``groups``).
    target, y
        As in :func:`gradient_x_input`.
    sfreq : float, optional
        Sampling rate: times in seconds and frequencies in Hz.
    tmin : float, default=0.0
        Time of the first sample (seconds, with ``sfreq``).
    ch_names : list of str, optional
        Channel names (default ``"0"``, ``"1"``, ...).
    n_steps, baseline
        Integrated gradients (``n_steps``) and the methods with a reference input
        (``baseline``: integrated gradients, DeepLIFT, occlusion, feature ablation).
    output, batch_size
        As in :func:`gradient_x_input`.
    window : int, optional
        Occlusion patch length in samples.
    groups : "channels", "time" or ndarray of int, default="channels"
        Feature ablation groups.

    Returns
    -------
    Attribution

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
    >>> a = attribute(net, X, sfreq=16.0, ch_names=["C3", "C4"])
    >>> a.method, a.values.shape, a.ch_names, int(a.channel.argmax())
    ('integrated_gradients', (20, 2, 16), ['C3', 'C4'], 0)
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
    X = _check_X(X)
    _output_fn(output)
    est, X3 = _network_input(estimator, X)
    targets = _targets(est, X3, target, y)
    res = run_method(
        method,
        est,
        X3,
        targets,
        output=output,
        batch_size=batch_size,
        baseline=baseline,
        n_steps=n_steps,
        window=window,
        groups=groups,
    )
    values = res.values
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
        freqs=np.fft.rfftfreq(n_times, d=step) if res.diff is not None else None,
        frequency=None
        if res.diff is None
        else np.abs(_frequency_contributions(res.diff, res.multiplier)).mean(axis=(0, 1)),
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
