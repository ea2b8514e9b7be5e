"""BrainNetCNN (Kawahara et al. 2017, NeuroImage 146:1038): convolutions shaped for connectomes.

The input is one connectivity matrix per subject, passed in the uniform layout as
``(batch, n_chans, n_times)`` with ``n_chans = n_times = n_regions``. Edge-to-edge filters
(:class:`EdgeToEdge`) combine each edge (i, j) with every edge sharing node i or node j (a
``(1, n)`` row and an ``(n, 1)`` column convolution, summed); edge-to-node filters sum a node's
weighted edges; node-to-graph filters sum the nodes. A linear head reads the graph features.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from .registry import register_model

__all__ = ["BrainNetCNN", "EdgeToEdge", "EdgeToNode"]


class EdgeToEdge(nn.Module):
    """Cross-shaped filter: out[o, i, j] = sum_c,k row[o, c, k] x[c, i, k] + col[o, c, k] x[c, k, j].

    The same as a ``(1, n)`` plus an ``(n, 1)`` convolution, written as two matrix products
    (several times faster than the wide convolutions on CPU).
    ``x`` of shape (batch, in_channels, n, n) -> (batch, out_channels, n, n).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> e2e = EdgeToEdge(in_channels=1, out_channels=4, n_nodes=5)
    >>> x = torch.randn(2, 1, 5, 5)  # two 5-region connectivity matrices
    >>> e2e(x).shape
    torch.Size([2, 4, 5, 5])

    It equals a ``(1, n)`` row plus an ``(n, 1)`` column convolution:

    >>> row = nn.functional.conv2d(x, e2e.row_weight[:, :, None, :])  # (2, 4, 5, 1)
    >>> col = nn.functional.conv2d(x, e2e.col_weight[:, :, :, None])  # (2, 4, 1, 5)
    >>> torch.allclose(e2e(x), row + col + e2e.bias[:, None, None], atol=1e-6)
    True
    """

    def __init__(self, in_channels: int, out_channels: int, n_nodes: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_channels * n_nodes)
        self.row_weight = nn.Parameter(torch.empty(out_channels, in_channels, n_nodes))
        self.col_weight = nn.Parameter(torch.empty(out_channels, in_channels, n_nodes))
        self.bias = nn.Parameter(torch.empty(out_channels))
        for w in (self.row_weight, self.col_weight, self.bias):
            nn.init.uniform_(w, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, n, n) -> (batch, out_channels, n, n)."""
        row = torch.einsum("bcik,ock->boi", x, self.row_weight)  # (b, o, n): per row i
        col = torch.einsum("bckj,ock->boj", x, self.col_weight)  # (b, o, n): per column j
        return row[..., :, None] + col[..., None, :] + self.bias[:, None, None]


class EdgeToNode(nn.Module):
    """Weighted sum of each node's edges: out[o, i] = sum_c,k w[o, c, k] x[c, i, k] + b[o].

    ``x`` of shape (batch, in_channels, n, n) -> (batch, out_channels, n).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> e2n = EdgeToNode(in_channels=4, out_channels=8, n_nodes=5)
    >>> e2n(torch.randn(2, 4, 5, 5)).shape  # one value per node and filter
    torch.Size([2, 8, 5])
    >>> e2n(torch.zeros(1, 4, 5, 5))[0, :, 0].equal(e2n.bias)  # no edges: only the bias
    True
    """

    def __init__(self, in_channels: int, out_channels: int, n_nodes: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_channels * n_nodes)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, n_nodes))
        self.bias = nn.Parameter(torch.empty(out_channels))
        for w in (self.weight, self.bias):
            nn.init.uniform_(w, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, n, n) -> (batch, out_channels, n)."""
        return torch.einsum("bcik,ock->boi", x, self.weight) + self.bias[:, None]


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
        Filters of the three connectome layers. ``n_e2e=0`` skips the edge-to-edge layer (the
        edge-to-node layer then reads the matrix itself: one matrix product, much cheaper on CPU).
    dropout : float, default=0.5
        Dropout before the node-to-graph layer and the head.
    negative_slope : float, default=0.33
        Leaky ReLU slope (as in the paper).

    Examples
    --------
    >>> m = BrainNetCNN(10, 10, 2)
    >>> m(torch.zeros(3, 10, 10)).shape
    torch.Size([3, 2])
    >>> BrainNetCNN(10, 10, 2, n_e2e=0)(torch.zeros(3, 10, 10)).shape
    torch.Size([3, 2])
    """

    #: Inputs are square matrices (n_chans == n_times), not signals: ``neurodl models`` and the
    #: registry's contract tests build it with a square shape.
    square_input = True

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
        for name, value, low in (("n_e2e", n_e2e, 0), ("n_e2n", n_e2n, 1), ("n_n2g", n_n2g, 1)):
            if int(value) < low:
                raise ConfigError(f"Invalid value for {name!r}. Allowed: >= {low}; got {value!r}.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"Invalid value for 'dropout'. Allowed: [0, 1); got {dropout!r}.")
        n = int(n_chans)
        self.edge_to_edge = EdgeToEdge(1, int(n_e2e), n) if int(n_e2e) else None
        self.edge_to_node = EdgeToNode(max(int(n_e2e), 1), int(n_e2n), n)
        self.node_to_graph = nn.Linear(int(n_e2n) * n, int(n_n2g))  # weighted sum over nodes
        self.activation = nn.LeakyReLU(float(negative_slope))
        self.dropout = nn.Dropout(float(dropout))
        self.head = nn.Linear(int(n_n2g), n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape (batch, n_regions, n_regions) -> (batch, n_outputs)."""
        h = x.unsqueeze(1)  # (b, 1, n, n)
        if self.edge_to_edge is not None:
            h = self.activation(self.edge_to_edge(h))  # (b, e2e, n, n)
        h = self.activation(self.edge_to_node(h))  # (b, e2n, n)
        h = self.activation(self.node_to_graph(self.dropout(h).flatten(1)))  # (b, n2g)
        return self.head(self.dropout(h))
