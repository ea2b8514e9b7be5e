"""BrainNetCNN (Kawahara et al. 2017, NeuroImage 146:1038): convolutions shaped for connectomes.

The input is one connectivity matrix per subject, passed in the uniform layout as
``(batch, n_chans, n_times)`` with ``n_chans = n_times = n_regions``. Edge-to-edge filters
(:class:`EdgeToEdge`) combine each edge (i, j) with every edge sharing node i or node j (a
``(1, n)`` row and an ``(n, 1)`` column convolution, summed); edge-to-node filters sum a node's
weighted edges; node-to-graph filters sum the nodes. A linear head reads the graph features.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from .registry import register_model

__all__ = ["BrainNetCNN", "EdgeToEdge"]


class EdgeToEdge(nn.Module):
    """Cross-shaped filter: out[i, j] = sum_k w_row[k] x[i, k] + sum_k w_col[k] x[k, j].

    ``x`` of shape (batch, in_channels, n, n) -> (batch, out_channels, n, n).
    """

    def __init__(self, in_channels: int, out_channels: int, n_nodes: int) -> None:
        super().__init__()
        self.row = nn.Conv2d(in_channels, out_channels, (1, n_nodes))
        self.col = nn.Conv2d(in_channels, out_channels, (n_nodes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, n, n) -> (batch, out_channels, n, n)."""
        return self.row(x) + self.col(x)  # (b, c, n, 1) + (b, c, 1, n) broadcast


@register_model("brainnetcnn")
class BrainNetCNN(nn.Module):
    """Edge-to-edge -> edge-to-node -> node-to-graph -> linear head.

    Parameters
    ----------
    n_chans, n_times : int
        Both the number of regions (the input is a square matrix per subject).
    n_outputs : int
        Classes (or targets).
    sfreq : float or None
        Unused (uniform signature).
    n_e2e, n_e2n, n_n2g : int, default=8, 32, 64
        Filters of the three connectome layers.
    dropout : float, default=0.5
        Dropout before the node-to-graph layer and the head.
    negative_slope : float, default=0.33
        Leaky ReLU slope (as in the paper).

    Examples
    --------
    >>> m = BrainNetCNN(10, 10, 2)
    >>> m(torch.zeros(3, 10, 10)).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: Any = None,
        n_e2e: int = 8,
        n_e2n: int = 32,
        n_n2g: int = 64,
        dropout: float = 0.5,
        negative_slope: float = 0.33,
    ) -> None:
        super().__init__()
        if n_chans != n_times:
            raise ConfigError(
                f"BrainNetCNN needs square connectivity matrices (n_chans == n_times); got "
                f"n_chans={n_chans}, n_times={n_times}."
            )
        for name, value in (("n_e2e", n_e2e), ("n_e2n", n_e2n), ("n_n2g", n_n2g)):
            if int(value) < 1:
                raise ConfigError(f"Invalid value for {name!r}. Allowed: >= 1; got {value!r}.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"Invalid value for 'dropout'. Allowed: [0, 1); got {dropout!r}.")
        n = int(n_chans)
        self.edge_to_edge = EdgeToEdge(1, int(n_e2e), n)
        self.edge_to_node = nn.Conv2d(int(n_e2e), int(n_e2n), (1, n))
        self.node_to_graph = nn.Conv2d(int(n_e2n), int(n_n2g), (n, 1))
        self.activation = nn.LeakyReLU(float(negative_slope))
        self.dropout = nn.Dropout(float(dropout))
        self.head = nn.Linear(int(n_n2g), n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_regions, n_regions) -> (batch, n_outputs)."""
        h = self.activation(self.edge_to_edge(x.unsqueeze(1)))  # (b, e2e, n, n)
        h = self.activation(self.edge_to_node(h))  # (b, e2n, n, 1)
        h = self.activation(self.node_to_graph(self.dropout(h)))  # (b, n2g, 1, 1)
        return self.head(self.dropout(h.flatten(1)))
