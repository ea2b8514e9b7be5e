"""Temporal convolutional network (Bai, Kolter & Koltun 2018, arXiv:1803.01271), "tcn"."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._layers import (
    POOLINGS,
    check_choice,
    check_positive_int,
    check_probability,
    make_scaler,
    receptive_field,
)
from .registry import register_model

__all__ = ["TCN", "TemporalBlock"]


class TemporalBlock(nn.Module):
    """Residual block: two dilated causal convs (ReLU, dropout) plus a 1x1 skip when needed.

    x : (batch, n_in, n_times) -> (batch, n_out, n_times); output t depends on inputs <= t.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> block = TemporalBlock(n_in=4, n_out=8, kernel=3, dilation=2, drop_prob=0.0)
    >>> x = torch.randn(2, 4, 100)
    >>> y = block(x)
    >>> y.shape
    torch.Size([2, 8, 100])
    >>> x2 = x.clone()
    >>> x2[..., 60:] = 0  # change the future of t = 59
    >>> torch.allclose(block(x2)[..., :60], y[..., :60])  # causal: the past is unchanged
    True
    """

    def __init__(self, n_in: int, n_out: int, kernel: int, dilation: int, drop_prob: float):
        super().__init__()
        self.left_pad = (kernel - 1) * dilation
        self.conv_1 = nn.Conv1d(n_in, n_out, kernel, dilation=dilation)
        self.conv_2 = nn.Conv1d(n_out, n_out, kernel, dilation=dilation)
        self.dropout = nn.Dropout(drop_prob)
        self.skip = nn.Conv1d(n_in, n_out, 1) if n_in != n_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(F.relu(self.conv_1(F.pad(x, (self.left_pad, 0)))))
        h = self.dropout(F.relu(self.conv_2(F.pad(h, (self.left_pad, 0)))))
        return F.relu(h + self.skip(x))


@register_model("tcn")
class TCN(nn.Module):
    """Stack of residual causal conv blocks with dilations 1, 2, 4, ... and a linear head.

    Causal (left) padding keeps every feature map at n_times samples, so any n_times >= 1 is
    accepted; a feature at time t sees the last :meth:`receptive_field` samples up to t.

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, number of outputs (classes or regression targets).
    sfreq : float, optional
        Not used; accepted for the uniform signature.
    n_blocks : int, default=3
        Residual blocks; block i uses dilation 2**i.
    n_filters : int, default=30
        Filters of every conv.
    kernel_size : int, default=5
        Kernel of every conv.
    drop_prob : float, default=0.2
        Dropout after each conv.
    pooling : {"last", "mean", "none"}, default="last"
        Readout over time: the last step (causal: sees the receptive field before the end), the
        mean over time, or none (per-time-step outputs of shape (batch, n_outputs, n_times)).
    scale : sequence of float, optional
        Per-channel factors applied first.

    Examples
    --------
    >>> import torch
    >>> from neurodl.models import build_model
    >>> net = build_model("tcn", n_chans=3, n_times=50, n_outputs=2)
    >>> tuple(net(torch.zeros(4, 3, 50)).shape), TCN.receptive_field()
    ((4, 2), 57)
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: float | None = None,
        n_blocks: int = 3,
        n_filters: int = 30,
        kernel_size: int = 5,
        drop_prob: float = 0.2,
        pooling: str = "last",
        scale: Sequence[float] | None = None,
    ):
        super().__init__()
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.n_blocks, self.n_filters, self.kernel_size = n_blocks, n_filters, kernel_size
        self.drop_prob, self.pooling, self.scale = drop_prob, pooling, scale
        c = check_positive_int("n_chans", n_chans)
        check_positive_int("n_outputs", n_outputs)
        nb = check_positive_int("n_blocks", n_blocks)
        nf = check_positive_int("n_filters", n_filters)
        k = check_positive_int("kernel_size", kernel_size)
        p = check_probability("drop_prob", drop_prob)
        self.pool_ = check_choice("pooling", pooling, POOLINGS)

        self.scaler = make_scaler(c, scale)
        self.blocks = nn.Sequential(
            *(TemporalBlock(c if i == 0 else nf, nf, k, 2**i, p) for i in range(nb))
        )
        self.head = nn.Conv1d(nf, n_outputs, 1)

    @classmethod
    def min_n_times(cls, sfreq: float | None = None, **params) -> int:
        """1: causal padding accepts any length (see :meth:`receptive_field`)."""
        return 1

    @classmethod
    def receptive_field(cls, sfreq: float | None = None, **params) -> int:
        """Input samples one output sees: 1 + 2 (kernel_size - 1)(2**n_blocks - 1)."""
        k, nb = params.get("kernel_size", 5), params.get("n_blocks", 3)
        return receptive_field([(k, 1, 2**i) for i in range(nb) for _ in range(2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : (batch, n_chans, n_times) -> (batch, n_outputs), or (batch, n_outputs, n_times)
        with ``pooling="none"``."""
        h = self.blocks(self.scaler(x))  # (batch, n_filters, n_times)
        if self.pool_ is None:
            return self.head(h)
        return self.head(self.pool_(h)[..., None])[..., 0]
