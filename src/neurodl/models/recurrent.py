"""LSTM and GRU sequence models ("lstm", "gru") for classification or regression."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._layers import POOLINGS, check_choice, check_positive_int, check_probability, make_scaler
from .registry import register_model

__all__ = ["RNN_LAYERS", "GRUNet", "LSTMNet"]

#: Recurrent layer of each registered sequence model.
RNN_LAYERS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU}


class _RecurrentNet(nn.Module):
    """Recurrent encoder + linear readout; see :class:`LSTMNet` for the parameters."""

    cell = "lstm"

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: float | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        drop_prob: float = 0.0,
        pooling: str = "last",
        scale: Sequence[float] | None = None,
    ):
        super().__init__()
        self.n_chans, self.n_times, self.n_outputs, self.sfreq = n_chans, n_times, n_outputs, sfreq
        self.hidden_size, self.num_layers, self.bidirectional = (
            hidden_size,
            num_layers,
            bidirectional,
        )
        self.drop_prob, self.pooling, self.scale = drop_prob, pooling, scale
        c = check_positive_int("n_chans", n_chans)
        check_positive_int("n_outputs", n_outputs)
        h = check_positive_int("hidden_size", hidden_size)
        n_layers = check_positive_int("num_layers", num_layers)
        p = check_probability("drop_prob", drop_prob)
        self.pool_ = check_choice("pooling", pooling, POOLINGS)
        self.n_directions_ = 2 if bidirectional else 1

        self.scaler = make_scaler(c, scale)
        self.rnn = RNN_LAYERS[self.cell](
            c,
            h,
            num_layers=n_layers,
            dropout=p if n_layers > 1 else 0.0,
            bidirectional=bool(bidirectional),
        )
        self.dropout = nn.Dropout(p)
        self.head = nn.Linear(h * self.n_directions_, n_outputs)

    @classmethod
    def min_n_times(cls, sfreq: float | None = None, **params) -> int:
        """1: recurrent layers accept any length."""
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : (batch, n_chans, n_times) -> (batch, n_outputs), or (batch, n_outputs, n_times)
        with ``pooling="none"`` (per-time-step outputs, e.g. continuous decoding)."""
        seq = self.scaler(x).permute(2, 0, 1)  # time-major: (n_times, batch, n_chans)
        out, state = self.rnn(seq)  # out: (n_times, batch, H * dirs)
        if self.pool_ is None:
            return self.head(self.dropout(out)).permute(1, 2, 0)
        if self.pooling == "last":
            h_n = state[0] if isinstance(state, tuple) else state  # (layers * dirs, batch, H)
            # Final state of each direction of the top layer (the backward one has read it all).
            feats = h_n[-self.n_directions_ :].permute(1, 0, 2).flatten(1)
        else:
            feats = self.pool_(out.permute(1, 2, 0))
        return self.head(self.dropout(feats))


_DOC = """{name} sequence model: (batch, n_chans, n_times) -> time-major {name} -> linear readout.

    The outputs are unbounded linear readouts: logits for classification or predictions for
    regression (the loss is the estimator's choice).

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, number of outputs (classes or regression targets).
    sfreq : float, optional
        Not used; accepted for the uniform signature.
    hidden_size : int, default=64
        Hidden units per direction.
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Read the sequence in both directions.
    drop_prob : float, default=0.0
        Dropout between stacked layers and before the readout.
    pooling : {{"last", "mean", "none"}}, default="last"
        Readout from the final hidden state(s), the mean over time, or every time step (output
        shape (batch, n_outputs, n_times)).
    scale : sequence of float, optional
        Per-channel factors applied first.

    Examples
    --------
    >>> import torch
    >>> from neurodl.models import build_model
    >>> net = build_model("{key}", n_chans=3, n_times=20, n_outputs=2, pooling="none")
    >>> tuple(net(torch.zeros(4, 3, 20)).shape)
    (4, 2, 20)
    """


@register_model("lstm")
class LSTMNet(_RecurrentNet):
    __doc__ = _DOC.format(name="LSTM", key="lstm")
    cell = "lstm"


@register_model("gru")
class GRUNet(_RecurrentNet):
    __doc__ = _DOC.format(name="GRU", key="gru")
    cell = "gru"
