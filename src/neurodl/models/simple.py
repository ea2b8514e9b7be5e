"""Small reference models: a linear read-out and a one-hidden-layer perceptron.

Both flatten ``(batch, n_chans, n_times)`` to ``(batch, n_chans * n_times)``: they suit feature
vectors (the estimators' 2-D mode feeds ``(n, n_features)`` as ``(n, 1, n_features)``), tests,
and quick baselines; they have no notion of time.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from .registry import register_model

__all__ = ["MLP", "LinearModel"]


@register_model("linear")
class LinearModel(nn.Module):
    """Flatten -> linear layer.

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, outputs (classes or targets).
    sfreq : float or None
        Unused (uniform signature).

    Examples
    --------
    >>> import torch
    >>> m = LinearModel(2, 5, 3)
    >>> m(torch.zeros(4, 2, 5)).shape
    torch.Size([4, 3])
    """

    def __init__(self, n_chans: int, n_times: int, n_outputs: int, *, sfreq: Any = None) -> None:
        super().__init__()
        self.head = nn.Linear(n_chans * n_times, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_chans, n_times) -> (batch, n_outputs)."""
        return self.head(x.flatten(1))


@register_model("mlp")
class MLP(nn.Module):
    """Flatten -> linear -> ReLU -> dropout -> linear.

    Parameters
    ----------
    n_chans, n_times, n_outputs : int
        Input channels, input samples, outputs (classes or targets).
    sfreq : float or None
        Unused (uniform signature).
    n_hidden : int, default=32
        Hidden units.
    dropout : float, default=0.0
        Dropout probability after the hidden layer.

    Examples
    --------
    >>> import torch
    >>> m = MLP(2, 5, 3, n_hidden=8)
    >>> m(torch.zeros(4, 2, 5)).shape
    torch.Size([4, 3])
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: Any = None,
        n_hidden: int = 32,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if int(n_hidden) < 1:
            raise ConfigError(f"Invalid value for 'n_hidden'. Allowed: >= 1; got {n_hidden!r}.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"Invalid value for 'dropout'. Allowed: [0, 1); got {dropout!r}.")
        self.hidden = nn.Linear(n_chans * n_times, int(n_hidden))
        self.activation = nn.ReLU()
        self.dropout = nn.Dropout(float(dropout))
        self.head = nn.Linear(int(n_hidden), n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_chans, n_times) -> (batch, n_outputs)."""
        return self.head(self.dropout(self.activation(self.hidden(x.flatten(1)))))
