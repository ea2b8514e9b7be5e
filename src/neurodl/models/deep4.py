"""Deep4 / Deep ConvNet (Schirrmeister et al. 2017, Hum. Brain Mapp. 38:5391), "deep4"."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from ..exceptions import ConfigError
from ._layers import (
    MergedTemporalSpatialConv,
    check_n_times,
    check_positive_int,
    check_probability,
    conv_out_len,
    make_scaler,
    min_length,
    pool_out_len,
    receptive_field,
)
from .registry import register_model

__all__ = ["Deep4"]

_DEFAULTS = {
    "n_filters": (25, 50, 100, 200),
    "filter_time_length": 10,
    "filter_length": 10,
    "pool_time_length": 3,
    "pool_time_stride": 3,
}


def _check_filters(n_filters: object) -> tuple[int, ...]:
    if isinstance(n_filters, str) or not isinstance(n_filters, Sequence) or len(n_filters) < 1:
        raise ConfigError(
            f"Invalid value for 'n_filters': expected a non-empty sequence of integers (one per "
            f"block), got {n_filters!r}."
        )
    return tuple(check_positive_int("n_filters", f) for f in n_filters)


@register_model("deep4")
class Deep4(nn.Module):
    """Deep4: a merged temporal-spatial conv block and three conv-BN-ELU-max-pool blocks.

    Blocks (published layer table, 250 Hz): conv 25 x 10 (temporal) + 25 x 25 x C (spatial),
    then convs of 50, 100, 200 filters (10 samples), each followed by batch norm, ELU and
    max-pooling 3/3; a dense classifier over the last feature map. The first block runs as one
    ``Conv1d`` over (batch, n_chans, n_times) with the factorised parameters; works for n_chans=1.

    Dropout placement (differs from braindecode's ``Deep4Net``): braindecode applies dropout
    0.5 before each of the 2nd-4th convolutions, i.e. before a batch norm, which shifts the
    variance the batch norm sees between training and evaluation: on Bonn 5-class it collapses
    to 0.34 balanced accuracy in eval mode (0.878 with dropout off). Here the default places a
    single dropout (``drop_prob=0.5``) AFTER the last batch norm/ELU/pool, before the classifier,
    so eval mode is consistent; ``block_drop_prob`` (default 0) restores the braindecode
    placement for comparison.

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, number of outputs (classes).
    sfreq : float, optional
        Not used (sizes are in samples); accepted for the uniform signature.
    n_filters : sequence of int, default=(25, 50, 100, 200)
        Filters of each block (the first is both temporal and spatial filter count).
    filter_time_length, filter_length : int, default=10
        Kernel of the first (temporal) conv and of the later convs.
    pool_time_length, pool_time_stride : int, default=3
        Max-pooling after each block.
    drop_prob : float, default=0.5
        Dropout before the classifier.
    block_drop_prob : float, default=0.0
        Dropout before the 2nd-4th convs (braindecode's placement; see above).
    scale : sequence of float, optional
        Per-channel factors applied first.

    Attributes
    ----------
    n_filters_ : tuple of int
        Validated filter counts.
    n_final_ : int
        Time steps of the last feature map (classifier input = n_filters_[-1] * n_final_).

    Examples
    --------
    >>> import torch
    >>> from neurodl.models import build_model, count_parameters
    >>> net = build_model("deep4", n_chans=22, n_times=1125, n_outputs=4, sfreq=250)
    >>> count_parameters(net), tuple(net(torch.zeros(2, 22, 1125)).shape)
    (284479, (2, 4))
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: float | None = None,
        n_filters: Sequence[int] = (25, 50, 100, 200),
        filter_time_length: int = 10,
        filter_length: int = 10,
        pool_time_length: int = 3,
        pool_time_stride: int = 3,
        drop_prob: float = 0.5,
        block_drop_prob: float = 0.0,
        scale: Sequence[float] | None = None,
    ):
        super().__init__()
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.n_filters, self.filter_time_length, self.filter_length = (
            n_filters,
            filter_time_length,
            filter_length,
        )
        self.pool_time_length, self.pool_time_stride = pool_time_length, pool_time_stride
        self.drop_prob, self.block_drop_prob, self.scale = drop_prob, block_drop_prob, scale
        c = check_positive_int("n_chans", n_chans)
        check_positive_int("n_outputs", n_outputs)
        self.n_filters_ = filters = _check_filters(n_filters)
        k0 = check_positive_int("filter_time_length", filter_time_length)
        k = check_positive_int("filter_length", filter_length)
        pl = check_positive_int("pool_time_length", pool_time_length)
        ps = check_positive_int("pool_time_stride", pool_time_stride)
        p = check_probability("drop_prob", drop_prob)
        pb = check_probability("block_drop_prob", block_drop_prob)

        hp = {"n_filters": filters, "filter_time_length": k0, "filter_length": k}
        check_n_times(
            "deep4", n_times, self.min_n_times(pool_time_length=pl, pool_time_stride=ps, **hp)
        )
        self.scaler = make_scaler(c, scale)
        self.temporal_spatial_conv = MergedTemporalSpatialConv(c, filters[0], filters[0], k0)
        self.block_1 = nn.Sequential(nn.BatchNorm1d(filters[0]), nn.ELU(), nn.MaxPool1d(pl, ps))
        length = pool_out_len(conv_out_len(n_times, k0), pl, ps)
        blocks = []
        for n_in, n_out in itertools.pairwise(filters):
            blocks.append(
                nn.Sequential(
                    nn.Dropout(pb),
                    nn.Conv1d(n_in, n_out, k, bias=False),
                    nn.BatchNorm1d(n_out),
                    nn.ELU(),
                    nn.MaxPool1d(pl, ps),
                )
            )
            length = pool_out_len(conv_out_len(length, k), pl, ps)
        self.blocks = nn.Sequential(*blocks)
        self.n_final_ = length
        self.dropout = nn.Dropout(p)
        self.head = nn.Linear(filters[-1] * length, n_outputs)

    @classmethod
    def _layers(cls, **params) -> list[tuple[str, int, int, int]]:
        p = {**_DEFAULTS, **{k: v for k, v in params.items() if k in _DEFAULTS}}
        pool = ("valid", p["pool_time_length"], p["pool_time_stride"], 1)
        layers = [("valid", p["filter_time_length"], 1, 1), pool]
        for _ in range(len(_check_filters(p["n_filters"])) - 1):
            layers += [("valid", p["filter_length"], 1, 1), pool]
        return layers

    @classmethod
    def min_n_times(cls, sfreq: float | None = None, **params) -> int:
        """Smallest n_times for which every block keeps >= 1 sample (441 with the defaults)."""
        return min_length(cls._layers(**params))

    @classmethod
    def receptive_field(cls, sfreq: float | None = None, **params) -> int:
        """Input samples seen by one feature of the last block (441 with the defaults)."""
        return receptive_field([(k, s, d) for _, k, s, d in cls._layers(**params)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map x of shape (batch, n_chans, n_times) to logits of shape (batch, n_outputs)."""
        x = self.block_1(self.temporal_spatial_conv(self.scaler(x)))  # (batch, 25, L1)
        x = self.blocks(x)  # (batch, n_filters[-1], n_final_)
        return self.head(self.dropout(x).flatten(1))
