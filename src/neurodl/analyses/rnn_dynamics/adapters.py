"""Adapters that turn torch recurrent modules into an update ``F(h, x) -> h_next``.

Every analysis in :mod:`neurodl.analyses.rnn_dynamics` works on a plain function
``F(h, x)`` with ``h`` of shape ``(n_states, n_hidden)`` and ``x`` of shape
``(n_states, n_inputs)`` (or ``None`` for zero input). The adapters here build that function
from ``torch.nn.RNNCell`` / ``GRUCell`` / ``LSTMCell`` modules (an LSTM state is the
concatenation ``[h, c]``), from single-layer ``torch.nn.RNN`` / ``GRU`` / ``LSTM`` layers and
from the weights of a continuous-time leaky RNN. The returned functions cast their arguments to
the module's dtype and return the next state in the dtype of ``h``, so the fixed-point search
can run in float64 on a float32 model.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["cell_update", "layer_update", "leaky_rnn_update"]

Update = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def _zeros_if_none(x, h, n_inputs, dtype):
    if x is None:
        return torch.zeros(h.shape[0], n_inputs, dtype=dtype, device=h.device)
    x = torch.as_tensor(x)
    if x.ndim == 1:
        x = x.expand(h.shape[0], -1)
    return x.to(dtype)


def cell_update(cell: nn.Module) -> Update:
    """Return the update ``F(h, x)`` of a recurrent cell.

    Parameters
    ----------
    cell : torch.nn.RNNCell, torch.nn.GRUCell or torch.nn.LSTMCell
        Or any module called as ``cell(x, h) -> h_next`` with attributes ``input_size`` and
        ``hidden_size``. An ``LSTMCell`` (or a module whose call returns a tuple ``(h, c)``) is
        treated as an LSTM: its state is ``torch.cat([h, c], dim=1)`` of size
        ``2 * hidden_size``.

    Returns
    -------
    update : callable
        ``update(h, x)`` with ``h`` of shape (n_states, n_hidden) and ``x`` of shape
        (n_states, input_size), (input_size,) or ``None`` (zero input); returns the next state
        of shape (n_states, n_hidden).

    Examples
    --------
    >>> import torch
    >>> cell = torch.nn.GRUCell(3, 4)
    >>> update = cell_update(cell)
    >>> update(torch.zeros(2, 4), torch.ones(2, 3)).shape
    torch.Size([2, 4])
    """
    if not isinstance(cell, nn.Module):
        raise TypeError(f"'cell' must be a torch.nn.Module cell; got {type(cell).__name__}.")
    for attr in ("input_size", "hidden_size"):
        if not hasattr(cell, attr):
            raise TypeError(
                f"'cell' must have an attribute {attr!r} (like torch.nn.GRUCell); "
                f"{type(cell).__name__} has none."
            )
    n_in, n_hid = int(cell.input_size), int(cell.hidden_size)
    param = next(cell.parameters(), None)
    dtype = param.dtype if param is not None else torch.get_default_dtype()
    is_lstm = isinstance(cell, nn.LSTMCell)

    def update(h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        xx = _zeros_if_none(x, h, n_in, dtype)
        hh = h.to(dtype)
        if is_lstm:
            h_next, c_next = cell(xx, (hh[:, :n_hid], hh[:, n_hid:]))
            out = torch.cat([h_next, c_next], dim=1)
        else:
            out = cell(xx, hh)
            if isinstance(out, tuple):  # LSTM-like module
                raise TypeError(
                    f"{type(cell).__name__} returned a tuple; wrap LSTM-like cells as "
                    "torch.nn.LSTMCell so that the state is the concatenation [h, c]."
                )
        return out.to(h.dtype)

    update.n_hidden = 2 * n_hid if is_lstm else n_hid  # type: ignore[attr-defined]
    update.n_inputs = n_in  # type: ignore[attr-defined]
    return update


_LAYER_CELLS = {nn.RNN: nn.RNNCell, nn.GRU: nn.GRUCell, nn.LSTM: nn.LSTMCell}


def layer_update(layer: nn.Module) -> Update:
    """Return the update ``F(h, x)`` of a single-layer ``torch.nn.RNN``, ``GRU`` or ``LSTM``.

    The matching cell is built from the layer's weights (``weight_ih_l0``, ``weight_hh_l0``,
    ``bias_ih_l0``, ``bias_hh_l0``), so one step of the cell equals one time step of the layer.

    Parameters
    ----------
    layer : torch.nn.RNN, torch.nn.GRU or torch.nn.LSTM
        One layer, unidirectional, without projection.

    Returns
    -------
    update : callable
        As :func:`cell_update`; for an LSTM the state is ``[h, c]`` of size
        ``2 * hidden_size``.

    Examples
    --------
    >>> import torch
    >>> lstm = torch.nn.LSTM(3, 4, batch_first=True)
    >>> update = layer_update(lstm)  # the state is [h, c]
    >>> update(torch.zeros(2, 8), torch.ones(2, 3)).shape
    torch.Size([2, 8])
    """
    cell_cls = next((c for k, c in _LAYER_CELLS.items() if isinstance(layer, k)), None)
    if cell_cls is None:
        raise TypeError(
            "Invalid value for 'layer'. Allowed: torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM; "
            f"got {type(layer).__name__}."
        )
    if layer.num_layers != 1 or layer.bidirectional or getattr(layer, "proj_size", 0):
        raise ValueError(
            "Invalid value for 'layer': only a single-layer, unidirectional layer without "
            f"projection is supported; got num_layers={layer.num_layers}, "
            f"bidirectional={layer.bidirectional}, proj_size={getattr(layer, 'proj_size', 0)}."
        )
    kwargs = {"bias": layer.bias}
    if cell_cls is nn.RNNCell:
        kwargs["nonlinearity"] = layer.nonlinearity
    w = layer.weight_hh_l0
    cell = cell_cls(layer.input_size, layer.hidden_size, device=w.device, dtype=w.dtype, **kwargs)
    with torch.no_grad():
        cell.weight_ih.copy_(layer.weight_ih_l0)
        cell.weight_hh.copy_(layer.weight_hh_l0)
        if layer.bias:
            cell.bias_ih.copy_(layer.bias_ih_l0)
            cell.bias_hh.copy_(layer.bias_hh_l0)
    cell.requires_grad_(False)
    return cell_update(cell)


def leaky_rnn_update(
    recurrent_weight,
    input_weight=None,
    bias=None,
    *,
    alpha: float = 1.0,
    activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
) -> Update:
    """Return the discretised update of a continuous-time leaky RNN.

    ``h_next = h + alpha * (-h + activation(h @ W.T + x @ U.T + b))`` with ``alpha = dt / tau``.
    The fixed points of this map are those of the continuous system, and a fixed point is
    stable for the map when all Jacobian eigenvalues satisfy ``|lambda| < 1``.

    Parameters
    ----------
    recurrent_weight : array-like of shape (n_hidden, n_hidden)
    input_weight : array-like of shape (n_hidden, n_inputs), optional
    bias : array-like of shape (n_hidden,), optional
    alpha : float, default=1.0
        ``dt / tau``, in (0, 1].
    activation : callable, default=torch.tanh

    Returns
    -------
    update : callable
        ``update(h, x)`` as :func:`cell_update`.

    Examples
    --------
    >>> import numpy as np, torch
    >>> update = leaky_rnn_update(0.5 * np.eye(2), alpha=0.1)
    >>> h = torch.tensor([[1.0, -1.0]])
    >>> [round(v, 3) for v in update(h, None)[0].tolist()]  # h + 0.1 * (-h + tanh(0.5 h))
    [0.946, -0.946]
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"Invalid value for 'alpha': must be in (0, 1]; got {alpha}.")
    w = torch.as_tensor(recurrent_weight)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(
            "Invalid value for 'recurrent_weight': expected shape (n_hidden, n_hidden); "
            f"got {tuple(w.shape)}."
        )
    u = None if input_weight is None else torch.as_tensor(input_weight)
    b = None if bias is None else torch.as_tensor(bias)

    def update(h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        drive = h @ w.to(h.dtype).T
        if u is not None and x is not None:
            drive = drive + _zeros_if_none(x, h, u.shape[1], h.dtype) @ u.to(h.dtype).T
        if b is not None:
            drive = drive + b.to(h.dtype)
        return h + alpha * (-h + activation(drive))

    update.n_hidden = int(w.shape[0])  # type: ignore[attr-defined]
    return update
