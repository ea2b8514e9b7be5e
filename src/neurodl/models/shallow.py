"""ShallowConvNet (Schirrmeister et al. 2017, Hum. Brain Mapp. 38:5391), "shallow" in the registry."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._layers import (
    MergedTemporalSpatialConv,
    SafeLog,
    Square,
    check_n_times,
    check_positive_int,
    check_probability,
    make_scaler,
    min_length,
    pool_out_len,
    receptive_field,
)
from .registry import register_model

__all__ = ["ShallowConvNet"]

_DEFAULTS = {"filter_time_length": 25, "pool_time_length": 75, "pool_time_stride": 15}


@register_model("shallow")
class ShallowConvNet(nn.Module):
    """ShallowConvNet: temporal + spatial conv, square, mean pooling, log, linear readout.

    Mimics the filter-bank CSP pipeline: 40 temporal filters (25 samples), 40 spatial filters
    over all channels, batch norm, squaring, average pooling (75 samples, stride 15), log,
    dropout 0.5 and a dense classifier over all pooled time steps. The temporal and spatial
    convolutions keep their separate parameters (as in the paper and braindecode's
    ``ShallowFBCSPNet``) but run as one ``Conv1d`` over (batch, n_chans, n_times)
    (:class:`~neurodl.models._layers.MergedTemporalSpatialConv`). Works for n_chans=1.

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, number of outputs (classes).
    sfreq : float, optional
        Not used (kernel sizes are in samples, as published for 250 Hz); accepted for the
        uniform signature.
    n_filters_time, n_filters_spat : int, default=40
        Temporal and spatial filters.
    filter_time_length, pool_time_length, pool_time_stride : int, default=25, 75, 15
        Kernel and pooling sizes in samples.
    drop_prob : float, default=0.5
        Dropout before the classifier (after the last batch norm, so it causes no
        train/eval variance shift).
    scale : sequence of float, optional
        Per-channel factors applied first.

    Attributes
    ----------
    n_pooled_ : int
        Pooled time steps entering the classifier.

    Examples
    --------
    >>> import torch
    >>> from neurodl.models import build_model, count_parameters
    >>> net = build_model("shallow", n_chans=22, n_times=1125, n_outputs=4, sfreq=250)
    >>> count_parameters(net), tuple(net(torch.zeros(2, 22, 1125)).shape)
    (47364, (2, 4))
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: float | None = None,
        n_filters_time: int = 40,
        n_filters_spat: int = 40,
        filter_time_length: int = 25,
        pool_time_length: int = 75,
        pool_time_stride: int = 15,
        drop_prob: float = 0.5,
        scale: Sequence[float] | None = None,
    ):
        super().__init__()
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.n_filters_time, self.n_filters_spat = n_filters_time, n_filters_spat
        self.filter_time_length, self.pool_time_length = filter_time_length, pool_time_length
        self.pool_time_stride, self.drop_prob, self.scale = pool_time_stride, drop_prob, scale
        c = check_positive_int("n_chans", n_chans)
        check_positive_int("n_outputs", n_outputs)
        ft = check_positive_int("n_filters_time", n_filters_time)
        fs = check_positive_int("n_filters_spat", n_filters_spat)
        k = check_positive_int("filter_time_length", filter_time_length)
        pl = check_positive_int("pool_time_length", pool_time_length)
        ps = check_positive_int("pool_time_stride", pool_time_stride)
        p = check_probability("drop_prob", drop_prob)
        hp = {"filter_time_length": k, "pool_time_length": pl, "pool_time_stride": ps}
        check_n_times("shallow", n_times, self.min_n_times(**hp))
        self.n_pooled_ = pool_out_len(n_times - k + 1, pl, ps)

        self.scaler = make_scaler(c, scale)
        self.temporal_spatial_conv = MergedTemporalSpatialConv(c, ft, fs, k)
        self.bnorm = nn.BatchNorm1d(fs, momentum=0.1)
        self.nonlin = Square()
        self.pool = nn.AvgPool1d(pl, ps)
        self.pool_nonlin = SafeLog()
        self.dropout = nn.Dropout(p)
        self.head = nn.Linear(fs * self.n_pooled_, n_outputs)

    @classmethod
    def _layers(cls, **params) -> list[tuple[str, int, int, int]]:
        p = {**_DEFAULTS, **{k: v for k, v in params.items() if k in _DEFAULTS}}
        return [
            ("valid", p["filter_time_length"], 1, 1),
            ("valid", p["pool_time_length"], p["pool_time_stride"], 1),
        ]

    @classmethod
    def min_n_times(cls, sfreq: float | None = None, **params) -> int:
        """Smallest n_times giving one pooled sample: filter_time_length + pool_time_length - 1."""
        return min_length(cls._layers(**params))

    @classmethod
    def receptive_field(cls, sfreq: float | None = None, **params) -> int:
        """Input samples seen by one pooled feature (99 with the defaults)."""
        return receptive_field([(k, s, d) for _, k, s, d in cls._layers(**params)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x of shape (batch, n_chans, n_times) to logits of shape (batch, n_outputs)."""
        x = self.bnorm(self.temporal_spatial_conv(self.scaler(x)))  # (batch, F, n_times - k + 1)
        x = self.pool_nonlin(self.pool(self.nonlin(x)))  # (batch, F, n_pooled_)
        return self.head(self.dropout(x).flatten(1))
