"""Building blocks shared by the architectures in :mod:`neurodl.models`.

Every block works on the ``(batch, channels, time)`` layout, so the convolutions are ``Conv1d``
calls (fast on CPU) rather than ``Conv2d`` calls over a dummy axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import ConfigError, DataFormatError

__all__ = [
    "POOLINGS",
    "SENSOR_SCALINGS",
    "DepthwiseConvSame",
    "FusedTemporalDepthwiseConv",
    "MergedTemporalSpatialConv",
    "SafeLog",
    "SensorScaler",
    "Square",
    "check_choice",
    "check_n_times",
    "check_positive_int",
    "check_probability",
    "conv_out_len",
    "depthwise_conv1d_same",
    "pool_out_len",
    "receptive_field",
    "same_padding",
    "scale_for_ch_types",
]

#: Default factor per sensor type that brings the signal to O(1) (MNE's plotting scalings):
#: volts -> microvolts for electrical channels, tesla -> femtotesla for magnetometers and
#: tesla/metre -> femtotesla/centimetre for gradiometers.
SENSOR_SCALINGS: dict[str, float] = {
    "eeg": 1e6,
    "seeg": 1e6,
    "ecog": 1e6,
    "dbs": 1e6,
    "eog": 1e6,
    "emg": 1e6,
    "ecg": 1e6,
    "mag": 1e15,
    "grad": 1e13,
    "misc": 1.0,
}


# ------------------------------------------------------------------------------ validation
def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``; otherwise raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigError(f"Invalid value for {name!r}: expected an integer, got {value!r}.")
    if value < minimum:
        raise ConfigError(
            f"Invalid value for {name!r}: expected an integer >= {minimum}, got {value!r}."
        )
    return int(value)


def check_probability(name: str, value: object) -> float:
    """Return ``value`` as float if it lies in [0, 1); otherwise raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ConfigError(
            f"Invalid value for {name!r}: expected a number in [0, 1), got {value!r}."
        )
    return float(value)


def check_n_times(model: str, n_times: object, minimum: int) -> int:
    """Return ``n_times`` if it is an integer >= ``minimum``; otherwise raise DataFormatError."""
    n = check_positive_int("n_times", n_times)
    if n < minimum:
        raise DataFormatError(
            f"Model {model!r} needs inputs of at least {minimum} time samples with these "
            f"settings; got n_times={n}."
        )
    return n


def check_choice(name: str, value: object, table: dict) -> object:
    """Return ``table[value]``; unknown options list the allowed ones."""
    if not isinstance(value, str) or value not in table:
        raise ConfigError(
            f"Invalid value for {name!r}. Allowed: {', '.join(repr(k) for k in table)}; "
            f"got {value!r}."
        )
    return table[value]


# ------------------------------------------------------------------------------- shape math
def conv_out_len(
    n_times: int, kernel: int, *, stride: int = 1, dilation: int = 1, padding: int = 0
) -> int:
    """Output length of a 1-D convolution or pooling (PyTorch's floor convention)."""
    return (n_times + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pool_out_len(n_times: int, kernel: int, stride: int | None = None) -> int:
    """Output length of ``AvgPool1d``/``MaxPool1d(kernel, stride)`` without padding."""
    return conv_out_len(n_times, kernel, stride=stride or kernel)


def receptive_field(layers: Sequence[tuple[int, int, int]]) -> int:
    """Receptive field (in input samples) of a chain of 1-D layers.

    Parameters
    ----------
    layers : sequence of (kernel, stride, dilation)
        The temporal layers from input to output (convolutions and pooling alike).

    Returns
    -------
    int
        Number of input samples that one output sample depends on.

    Examples
    --------
    >>> receptive_field([(25, 1, 1), (75, 15, 1)])
    99
    """
    rf, jump = 1, 1
    for kernel, stride, dilation in layers:
        rf += (kernel - 1) * dilation * jump
        jump *= stride
    return rf


def min_length(layers: Sequence[tuple[str, int, int, int]]) -> int:
    """Smallest input length for which every layer of a chain outputs >= 1 sample.

    ``layers`` holds ``(kind, kernel, stride, dilation)`` with kind ``"valid"`` (no padding: the
    layer needs ``dilation*(kernel-1)+1`` samples) or ``"same"`` (length-preserving padding).
    """
    need = 1
    for kind, kernel, stride, dilation in reversed(layers):
        if kind == "same":
            need = (need - 1) * stride + 1
        else:
            need = (need - 1) * stride + dilation * (kernel - 1) + 1
    return need


def same_padding(kernel: int) -> tuple[int, int]:
    """(left, right) zero padding that keeps the length for a stride-1 kernel (Keras 'same')."""
    left = (kernel - 1) // 2
    return left, kernel - 1 - left


def scaled_kernel(base: int, sfreq: float | None, *, base_sfreq: float = 128.0) -> int:
    """Kernel of ``base`` samples at ``base_sfreq``, rescaled to ``sfreq`` (same duration)."""
    if sfreq is None:
        return base
    if isinstance(sfreq, bool) or not isinstance(sfreq, int | float) or not sfreq > 0:
        raise ConfigError(f"Invalid value for 'sfreq': expected a positive number, got {sfreq!r}.")
    return max(1, round(base * float(sfreq) / base_sfreq))


# ------------------------------------------------------------------------- sensor scaling
def scale_for_ch_types(
    ch_types: Sequence[str], scalings: dict[str, float] | None = None
) -> list[float]:
    """Per-channel scale factors for a mix of sensor types (e.g. MEG magnetometers + gradiometers).

    Parameters
    ----------
    ch_types : sequence of str, length n_chans
        Sensor type of each channel ("eeg", "mag", "grad", ...).
    scalings : dict, optional
        Overrides of :data:`SENSOR_SCALINGS` (type -> factor).

    Returns
    -------
    list of float, length n_chans
        Pass it as the ``scale`` hyperparameter of any registered model.

    Examples
    --------
    >>> scale_for_ch_types(["mag", "grad", "grad"])
    [1000000000000000.0, 10000000000000.0, 10000000000000.0]
    """
    table = {**SENSOR_SCALINGS, **(scalings or {})}
    unknown = sorted({t for t in ch_types if t not in table})
    if unknown:
        raise ConfigError(
            f"Invalid value for 'ch_types': no scaling for {unknown}; known types: "
            f"{sorted(table)} (pass scalings={{type: factor}})."
        )
    return [float(table[t]) for t in ch_types]


class SensorScaler(nn.Module):
    """Multiply each channel by a fixed factor (a buffer, not a parameter).

    Lets one network take sensors with very different units, e.g. MEG magnetometers (tesla)
    beside gradiometers (tesla/metre): build the factors with :func:`scale_for_ch_types`.

    Parameters
    ----------
    scale : sequence of float, length n_chans
        Factor per channel.
    """

    def __init__(self, scale: Sequence[float]):
        super().__init__()
        self.register_buffer(
            "scale", torch.as_tensor(list(scale), dtype=torch.float32)[None, :, None]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : (batch, n_chans, n_times) -> same shape."""
        return x * self.scale.to(x.dtype)


def make_scaler(n_chans: int, scale: Sequence[float] | None) -> nn.Module:
    """``SensorScaler(scale)`` after checking its length, or ``Identity`` when scale is None."""
    if scale is None:
        return nn.Identity()
    try:
        values = [float(v) for v in scale]
    except (TypeError, ValueError):
        raise ConfigError(
            f"Invalid value for 'scale': expected a sequence of {n_chans} numbers, got {scale!r}."
        ) from None
    if len(values) != n_chans or not all(math.isfinite(v) and v != 0 for v in values):
        raise ConfigError(
            f"Invalid value for 'scale': expected {n_chans} finite non-zero factors (one per "
            f"channel), got {len(values)} values."
        )
    return SensorScaler(values)


# ---------------------------------------------------------------------------- activations
class Square(nn.Module):
    """Element-wise square (ShallowConvNet's power nonlinearity)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


class SafeLog(nn.Module):
    """``log(max(x, eps))`` (ShallowConvNet's log after mean power)."""

    def __init__(self, eps: float = 1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.clamp(x, min=self.eps))


def max_norm(weight: torch.Tensor, max_value: float | None) -> torch.Tensor:
    """Rescale each output filter (dim 0) to L2 norm <= max_value (differentiable)."""
    if max_value is None:
        return weight
    return torch.renorm(weight, p=2, dim=0, maxnorm=max_value)


#: Temporal pooling heads of the sequence models: (batch, features, time) -> (batch, features).
POOLINGS: dict[str, Callable[[torch.Tensor], torch.Tensor] | None] = {
    "last": lambda h: h[..., -1],
    "mean": lambda h: h.mean(dim=-1),
    "none": None,
}


# -------------------------------------------------------------------------------- convs
def depthwise_conv1d_same(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-channel ('depthwise') cross-correlation with 'same' zero padding.

    On CPU this runs through real FFTs: PyTorch's grouped ``Conv1d`` (and its backward) is
    several times slower there for EEGNet's long kernels. On other devices it is the grouped
    ``Conv1d`` (cuDNN's depthwise kernels are fast).

    Parameters
    ----------
    x : Tensor of shape (batch, channels, n_times)
    weight : Tensor of shape (channels, kernel)

    Returns
    -------
    Tensor of shape (batch, channels, n_times)
        ``out[b, c, t] = sum_k weight[c, k] * xpad[b, c, t + k]`` (Keras 'same' padding).
    """
    kernel = weight.shape[-1]
    left, right = same_padding(kernel)
    if x.device.type != "cpu" or kernel == 1:
        return F.conv1d(F.pad(x, (left, right)), weight[:, None, :], groups=weight.shape[0])
    n_times = x.shape[-1]
    n_fft = 1 << (n_times + kernel - 2).bit_length()  # >= n_times + kernel - 1: no wrap-around
    spec = torch.fft.rfft(x, n=n_fft) * torch.fft.rfft(weight.flip(-1), n=n_fft)
    # Full convolution y[j] = sum_k w[K-1-k] x[j-k]; 'same' output t is y[t + K - 1 - left].
    start = kernel - 1 - left
    return torch.fft.irfft(spec, n=n_fft)[..., start : start + n_times]


class DepthwiseConvSame(nn.Module):
    """Depthwise 'same' temporal convolution without bias (see :func:`depthwise_conv1d_same`).

    Same parameters as ``nn.Conv1d(channels, channels, kernel, groups=channels, bias=False)``.
    """

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, kernel))
        nn.init.uniform_(self.weight, -1 / math.sqrt(kernel), 1 / math.sqrt(kernel))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : (batch, channels, n_times) -> same shape."""
        return depthwise_conv1d_same(x, self.weight)


class MergedTemporalSpatialConv(nn.Module):
    """Temporal then spatial convolution, computed as ONE ``Conv1d`` over (batch, chans, time).

    Holds the parameters of the factorised layer of ShallowConvNet/Deep4 (Schirrmeister et al.
    2017): a temporal convolution (``n_filters`` kernels of ``kernel`` samples, with bias) followed
    by a spatial convolution (``n_filters x n_filters x n_chans``, no bias), so the parameter
    count equals braindecode's ``CombinedConv``. The forward pass multiplies the two into one
    kernel of shape (n_filters, n_chans, kernel), which is exactly the same linear map.

    Parameters
    ----------
    n_chans, n_filters_time, n_filters_spat, kernel : int
        Input channels, temporal filters, spatial filters (= output channels), kernel length.
    """

    def __init__(self, n_chans: int, n_filters_time: int, n_filters_spat: int, kernel: int):
        super().__init__()
        self.temporal_weight = nn.Parameter(torch.empty(n_filters_time, kernel))
        self.temporal_bias = nn.Parameter(torch.empty(n_filters_time))
        self.spatial_weight = nn.Parameter(torch.empty(n_filters_spat, n_filters_time, n_chans))
        # Initialisation of the equivalent Conv2d layers (kaiming-uniform, a=sqrt(5)).
        bound_t = 1.0 / math.sqrt(kernel)
        nn.init.uniform_(self.temporal_weight, -bound_t, bound_t)
        nn.init.uniform_(self.temporal_bias, -bound_t, bound_t)
        bound_s = 1.0 / math.sqrt(n_filters_time * n_chans)
        nn.init.uniform_(self.spatial_weight, -bound_s, bound_s)

    def merged_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (weight of shape (n_filters_spat, n_chans, kernel), bias (n_filters_spat,))."""
        weight = torch.einsum("ofc,fk->ock", self.spatial_weight, self.temporal_weight)
        bias = torch.einsum("ofc,f->o", self.spatial_weight, self.temporal_bias)
        return weight, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : (batch, n_chans, n_times) -> (batch, n_filters_spat, n_times - kernel + 1)."""
        weight, bias = self.merged_kernel()
        return F.conv1d(x, weight, bias)


class FusedTemporalDepthwiseConv(nn.Module):
    """EEGNet's temporal conv -> batch norm -> depthwise spatial conv, computed cheaply.

    The published block applies ``F1`` temporal kernels to every channel (an intermediate of
    shape (batch, F1, n_chans, n_times)), batch-normalises it per kernel, then mixes the channels
    with ``D`` spatial filters per kernel. All three steps are linear, so the same output is
    obtained by mixing the channels FIRST (batch, F1*D, n_times) and filtering each mixture with
    its temporal kernel (a grouped ``Conv1d``): ~8x fewer operations, and the large intermediate
    is never built. The batch-norm statistics of the (never built) intermediate are computed in
    closed form from the lagged second moments of the input, so training-mode batch norm,
    its gradients and its running statistics match the published block exactly (tested
    against a Conv2d + BatchNorm2d reference). When the input itself requires a gradient in
    training mode, the explicit (slow) path is used so that the gradient w.r.t. the input is
    exact too.

    Parameters
    ----------
    n_chans, F1, D, kernel : int
        Input channels, temporal kernels, spatial filters per kernel, temporal kernel length.
    max_norm_spatial : float or None
        Max L2 norm of each spatial filter (EEGNet: 1.0).
    momentum, eps : float
        Batch-norm settings (PyTorch's meaning).
    """

    def __init__(
        self,
        n_chans: int,
        F1: int,
        D: int,
        kernel: int,
        *,
        max_norm_spatial: float | None = 1.0,
        momentum: float = 0.1,
        eps: float = 1e-3,
    ):
        super().__init__()
        self.F1, self.D, self.kernel = F1, D, kernel
        self.max_norm_spatial, self.momentum, self.eps = max_norm_spatial, momentum, eps
        self.temporal_weight = nn.Parameter(torch.empty(F1, kernel))
        nn.init.uniform_(self.temporal_weight, -1 / math.sqrt(kernel), 1 / math.sqrt(kernel))
        self.bn_weight = nn.Parameter(torch.ones(F1))
        self.bn_bias = nn.Parameter(torch.zeros(F1))
        self.register_buffer("running_mean", torch.zeros(F1))
        self.register_buffer("running_var", torch.ones(F1))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.spatial_weight = nn.Parameter(torch.empty(F1 * D, n_chans))
        nn.init.uniform_(self.spatial_weight, -1 / math.sqrt(n_chans), 1 / math.sqrt(n_chans))

    # -------------------------------------------------------------- lagged input moments
    def _input_moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
        """First and second moments of the zero-padded input over every kernel window.

        Returns ``m`` (kernel,) and ``M`` (kernel, kernel) with ``m[k] = mean(xpad[t+k])`` and
        ``M[k, l] = mean(xpad[t+k] * xpad[t+l])`` over batch, channels and t in [0, n_times),
        in float64, plus the number of averaged values. ``M[k, k+d]`` is the lag-d
        autocorrelation summed over all series (one FFT per series) minus the few products that
        fall outside the window of offset k (they involve only the first/last kernel samples).
        Cost: one float32 FFT per series, versus a kernel-times larger temporal convolution.
        """
        K = self.kernel
        n_times = x.shape[-1]
        left, right = same_padding(K)
        xs32 = x.detach().reshape(-1, n_times).float()  # (N, T)
        n_series = xs32.shape[0]
        count = n_series * n_times
        # Lagged sums sum_n sum_s x[s] x[s+d] (d < K): FFT in float32 on each series minus its
        # mean c (so no large offset loses precision), then the mean terms added back in float64:
        # x = r + c gives r*r + c * (partial sums of r) + c**2 * (number of overlapping terms).
        c32 = (xs32.sum(1, dtype=torch.float64) / n_times).float()
        r = xs32 - c32[:, None]
        n_fft = 1 << (n_times + K - 1).bit_length()
        power = torch.view_as_real(torch.fft.rfft(r, n=n_fft)).square().sum((0, 2))
        lagged = torch.fft.irfft(power, n=n_fft)[:K].double()
        c = c32.double()
        total = r.sum(1, dtype=torch.float64)  # (N,)
        zero_col = total.new_zeros(n_series, 1)
        head = torch.cat([zero_col, F.pad(r, (0, K))[:, : K - 1].double().cumsum(1)], 1)
        padded = F.pad(r, (K, 0))
        last = padded[:, padded.shape[1] - (K - 1) :].flip(1).double().cumsum(1)
        tail = torch.cat([zero_col, last], 1)  # tail[:, d] = sum of the last d samples
        lag = torch.arange(K, device=x.device)
        lagged = (
            lagged
            + c @ (2 * total[:, None] - tail - head)
            + c.square().sum() * (n_times - lag).clamp_min(0).double()
        )
        # Products xpad[s] * xpad[s+d] with s in the first / last K-1 padded positions.
        edge_l = F.pad(xs32[:, : 2 * K].double(), (left, 2 * K))[:, : 2 * K - 1]
        tail = xs32[:, max(n_times - K, 0) :].double()  # x[T-K:], zero-filled left if T < K
        tail = F.pad(tail, (K - tail.shape[1], 2 * K))  # tail[i] = x[T-K+i]
        edge_r = tail[:, K - left : 3 * K - 1 - left]  # edge_r[j] = xpad[T + j]
        p_l = torch.einsum("ns,nsd->sd", edge_l[:, : K - 1], edge_l.unfold(1, K, 1)[:, : K - 1])
        p_r = torch.einsum("ns,nsd->sd", edge_r[:, : K - 1], edge_r.unfold(1, K, 1)[:, : K - 1])
        zero = lagged.new_zeros(1, K)
        before = torch.cat([zero, p_l.cumsum(0)])  # (K, K): sum over s < k
        after = torch.cat([p_r.flip(0).cumsum(0).flip(0), zero])  # (K, K): sum over s' >= k
        window = lagged[None, :] - before - after  # (k, d)
        kk = torch.minimum(lag[:, None], lag[None, :])
        second = window[kk, (lag[:, None] - lag[None, :]).abs()] / count
        colsum = F.pad(xs32.sum(0, dtype=torch.float64), (left, right))
        csum = torch.cat([colsum.new_zeros(1), colsum.cumsum(0)])
        first = (csum[lag + n_times] - csum[lag]) / count
        return first, second, count

    def _explicit(self, x: torch.Tensor, spatial: torch.Tensor) -> torch.Tensor:
        """Reference path: build the (batch, F1, n_chans, n_times) intermediate."""
        batch, n_chans, n_times = x.shape
        y = F.conv1d(
            F.pad(x.reshape(batch * n_chans, 1, n_times), same_padding(self.kernel)),
            self.temporal_weight[:, None, :],
        )
        y = y.reshape(batch, n_chans, self.F1, n_times).transpose(1, 2)
        y = F.batch_norm(
            y,
            self.running_mean,
            self.running_var,
            self.bn_weight,
            self.bn_bias,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )
        y = y.reshape(batch, self.F1, 1, n_chans, n_times)
        w = spatial.reshape(self.F1, self.D, n_chans)
        return torch.einsum("bfct,fdc->bfdt", y[:, :, 0], w).reshape(
            batch, self.F1 * self.D, n_times
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : (batch, n_chans, n_times) -> (batch, F1 * D, n_times); output o uses kernel o // D."""
        spatial = max_norm(self.spatial_weight, self.max_norm_spatial)
        if self.training:
            self.num_batches_tracked.add_(1)
        if self.training and x.requires_grad and torch.is_grad_enabled():
            return self._explicit(x, spatial)
        D = self.D
        mixed = F.conv1d(x, spatial[:, :, None])  # (batch, F1*D, n_times)
        u = depthwise_conv1d_same(mixed, self.temporal_weight.repeat_interleave(D, dim=0))
        if self.training:
            first, second, count = self._input_moments(x)
            w64 = self.temporal_weight.to(torch.float64)
            mean = w64 @ first
            var = torch.einsum("fk,kl,fl->f", w64, second, w64) - mean**2
            var = var.clamp_min(0)
            with torch.no_grad():
                unbiased = var * (count / max(count - 1, 1))
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean.to(x.dtype))
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased.to(x.dtype))
            mean, var = mean.to(x.dtype), var.to(x.dtype)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.bn_weight * torch.rsqrt(var + self.eps)  # (F1,)
        ssum = spatial.sum(dim=1)  # (F1*D,)
        scale_o = scale.repeat_interleave(D)
        shift_o = (self.bn_bias - scale * mean).repeat_interleave(D) * ssum
        return u * scale_o[None, :, None] + shift_o[None, :, None]
