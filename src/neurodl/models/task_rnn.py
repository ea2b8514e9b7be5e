"""Recurrent networks trained on cognitive tasks: a leaky rate RNN, a GRU and an LSTM.

Every model maps inputs of shape ``(batch, n_steps, n_inputs)`` (batch-first, time second, the
layout of :class:`~neurodl.data.cognitive.TaskTrials`) to outputs of shape
``(batch, n_steps, n_outputs)``, one readout per step, and exposes

- ``forward(x, *, h0=None, return_hidden=False)``: outputs, or ``(outputs, states)`` with
  ``states`` of shape ``(batch, n_steps, n_state)``, the state after each step;
- ``step(h, x) -> h_next``: one batched step of the dynamics, ``h`` of shape
  ``(batch, n_state)`` and ``x`` of shape ``(batch, n_inputs)`` (what fixed-point finders
  minimise ``|F(h, x) - h|`` of); without noise, so it is a deterministic map;
- ``readout_state(h)``: outputs of states ``(..., n_state) -> (..., n_outputs)``;
- ``n_inputs``, ``n_outputs``, ``n_hidden`` and ``n_state`` (``n_hidden``, or ``2 * n_hidden``
  for the LSTM whose state concatenates ``h`` and ``c``).

These models are **not** in the signal-model registry (:mod:`neurodl.models.registry`): that
registry builds models from ``(n_chans, n_times, n_outputs)`` for inputs ``(batch, n_chans,
n_times)`` and one output per trial, while task models read ``(batch, n_steps, n_inputs)``, emit
one output per step, do not depend on the number of steps and expose their hidden dynamics.
They have their own small table, :data:`TASK_MODELS`, and :func:`build_task_model`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..exceptions import ConfigError
from ._layers import check_choice, check_positive_int

__all__ = [
    "ACTIVATIONS",
    "TASK_MODELS",
    "GRUTaskModel",
    "LSTMTaskModel",
    "LeakyRNN",
    "LeakyRNNCell",
    "build_task_model",
]

#: Rate nonlinearities of :class:`LeakyRNN`: name -> function.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
}


def _check_nonneg(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(f"Invalid value for {name!r}: expected a number >= 0, got {value!r}.")
    return float(value)


def _check_time_constants(tau: object, dt: object) -> float:
    """``alpha = dt / tau`` after checking ``0 < dt <= tau`` (both in ms)."""
    for name, value in (("tau", tau), ("dt", dt)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ConfigError(
                f"Invalid value for {name!r}: expected a positive number of ms, got {value!r}."
            )
    if dt > tau:  # type: ignore[operator]
        raise ConfigError(
            f"Invalid value for 'dt': {dt!r} ms is larger than tau={tau!r} ms; the Euler step "
            "alpha = dt / tau must be <= 1 (use dt <= tau)."
        )
    return float(dt) / float(tau)  # type: ignore[arg-type]


class LeakyRNNCell(nn.Module):
    """One Euler step of a continuous-time rate network (see :class:`LeakyRNN`).

    Submodules and parameters: ``input`` (``W_in`` and the bias ``b``), ``weight_rec`` (the raw
    recurrent weights; with Dale's law their magnitudes), buffers ``unit_signs`` (``+1``
    excitatory / ``-1`` inhibitory per presynaptic unit, or all ones without Dale's law) and
    ``connectivity`` (the fixed 0/1 mask).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> cell = LeakyRNNCell(n_inputs=3, n_hidden=10, alpha=0.2, dale=True, exc_fraction=0.8)
    >>> h = cell(torch.zeros(5, 10), torch.randn(5, 3))  # one Euler step for 5 trials
    >>> h.shape
    torch.Size([5, 10])
    >>> w = cell.effective_weight_rec()
    >>> bool((w[:, :8] >= 0).all()), bool((w[:, 8:] <= 0).all())  # 8 excitatory, 2 inhibitory
    (True, True)
    """

    def __init__(
        self,
        n_inputs: int,
        n_hidden: int,
        *,
        alpha: float,
        activation: str = "tanh",
        sigma_rec: float = 0.0,
        sigma_in: float = 0.0,
        dale: bool = False,
        exc_fraction: float = 0.8,
        connectivity: np.ndarray | torch.Tensor | None = None,
    ):
        super().__init__()
        self.n_inputs, self.n_hidden = n_inputs, n_hidden
        self.alpha, self.activation = float(alpha), activation
        self.sigma_rec, self.sigma_in = float(sigma_rec), float(sigma_in)
        self.dale, self.exc_fraction = bool(dale), float(exc_fraction)
        self.f = check_choice("activation", activation, ACTIVATIONS)
        self.input = nn.Linear(n_inputs, n_hidden)

        n_exc = n_hidden
        if dale:
            if not 0 < exc_fraction < 1:
                raise ConfigError(
                    "Invalid value for 'exc_fraction': expected a number in (0, 1), "
                    f"got {exc_fraction!r}."
                )
            n_exc = min(max(round(exc_fraction * n_hidden), 1), n_hidden - 1)
        signs = torch.ones(n_hidden)
        signs[n_exc:] = -1.0
        self.register_buffer("unit_signs", signs)
        self.n_exc = n_exc

        if connectivity is None:
            mask = torch.ones(n_hidden, n_hidden)
        else:
            mask = torch.as_tensor(np.asarray(connectivity), dtype=torch.float32)
            if tuple(mask.shape) != (n_hidden, n_hidden):
                raise ConfigError(
                    f"Invalid value for 'connectivity': expected a 0/1 array of shape "
                    f"({n_hidden}, {n_hidden}), got shape {tuple(mask.shape)}."
                )
            if not bool(((mask == 0) | (mask == 1)).all()):
                raise ConfigError(
                    "Invalid value for 'connectivity': expected only 0 and 1 entries, got "
                    f"values {sorted(set(mask.unique().tolist()))[:5]}."
                )
        self.register_buffer("connectivity", mask)

        w = torch.randn(n_hidden, n_hidden) / math.sqrt(n_hidden)
        if dale:
            # Magnitudes; inhibitory columns scaled up so that each row is balanced on average.
            w = w.abs()
            w[:, n_exc:] *= n_exc / (n_hidden - n_exc)
            w *= 0.5
        self.weight_rec = nn.Parameter(w * mask)

    def effective_weight_rec(self) -> torch.Tensor:
        """Recurrent weights the dynamics use, shape (n_hidden, n_hidden) (post x pre).

        ``|W| * sign(pre)`` with Dale's law (column ``j`` has the sign of unit ``j``), times the
        connectivity mask: the sign and zero constraints hold by construction through training.
        """
        w = self.weight_rec.abs() * self.unit_signs[None, :] if self.dale else self.weight_rec
        return w * self.connectivity

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """h : (batch, n_hidden), x : (batch, n_inputs) -> h_next : (batch, n_hidden).

        Noise (``sigma_in`` on the inputs, ``sigma_rec`` on the recurrent drive, scaled by
        ``sqrt(2 / alpha)``) is drawn from torch's global generator in training mode only.
        """
        scale = math.sqrt(2.0 / self.alpha)
        if self.training and self.sigma_in > 0:
            x = x + scale * self.sigma_in * torch.randn_like(x)
        drive = F.linear(h, self.effective_weight_rec()) + self.input(x)
        if self.training and self.sigma_rec > 0:
            drive = drive + scale * self.sigma_rec * torch.randn_like(drive)
        return (1.0 - self.alpha) * h + self.alpha * self.f(drive)


class _TaskModel(nn.Module):
    """Shared interface (``forward``, ``step``, ``readout_state``, ``initial_state``)."""

    n_inputs: int
    n_outputs: int
    n_hidden: int
    n_state: int
    readout: nn.Linear

    def initial_state(self, batch: int) -> torch.Tensor:
        """Zeros of shape (batch, n_state) on the model's device."""
        return self.readout.weight.new_zeros(batch, self.n_state)

    def readout_state(self, h: torch.Tensor) -> torch.Tensor:
        """States (..., n_state) -> outputs (..., n_outputs) (reads the first n_hidden units)."""
        return self.readout(h[..., : self.n_hidden])

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[2] != self.n_inputs:
            raise ConfigError(
                f"{type(self).__name__} expects inputs of shape (batch, n_steps, "
                f"{self.n_inputs}); got {tuple(x.shape)}."
            )

    def _unroll(
        self, x: torch.Tensor, h0: torch.Tensor | None, return_hidden: bool
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        self._check_x(x)
        h = self.initial_state(x.shape[0]) if h0 is None else h0
        states = []
        for t in range(x.shape[1]):
            h = self._step(h, x[:, t])
            states.append(h)
        hidden = torch.stack(states, dim=1)
        out = self.readout_state(hidden)
        return (out, hidden) if return_hidden else out

    def _step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One noise-free step: h (batch, n_state), x (batch, n_inputs) -> (batch, n_state)."""
        was = self.training
        self.eval()
        try:
            return self._step(h, x)
        finally:
            self.train(was)


class LeakyRNN(_TaskModel):
    """Continuous-time rate RNN, Euler-discretised, with a linear readout.

    ``h[t+1] = (1 - alpha) h[t] + alpha f(W_rec h[t] + W_in x[t] + b + noise)``, with
    ``alpha = dt / tau`` and outputs ``y[t] = W_out h[t+1] + b_out``.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Input and output channels.
    n_hidden : int, default=64
        Recurrent units.
    tau : float, default=100.0
        Time constant in ms.
    dt : float, default=20.0
        Step in ms (``0 < dt <= tau``); the task's ``TaskTrials.dt``.
    activation : {"tanh", "relu", "softplus"}, default="tanh"
    sigma_rec, sigma_in : float, default=0.0
        Recurrent and input noise (training mode only), in the continuous-time convention of
        Song, Yang & Wang (2016): the discrete noise sd is ``sqrt(2 / alpha) * sigma``. Drawn
        from torch's global generator (seeded by the trainer).
    dale : bool, default=False
        Dale's law: the first ``round(exc_fraction * n_hidden)`` units are excitatory (their
        outgoing weights, the columns of ``W_rec``, are >= 0), the others inhibitory (<= 0).
        The parameter holds magnitudes, so the signs hold through training by construction.
    exc_fraction : float, default=0.8
    connectivity : array of shape (n_hidden, n_hidden) of 0/1, optional
        Fixed mask multiplied into ``W_rec`` (zeros stay zero).

    Examples
    --------
    >>> import torch
    >>> net = LeakyRNN(3, 2, n_hidden=8, tau=100, dt=20)
    >>> net.cell.alpha
    0.2
    >>> out, h = net(torch.zeros(4, 10, 3), return_hidden=True)
    >>> tuple(out.shape), tuple(h.shape)
    ((4, 10, 2), (4, 10, 8))
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        *,
        n_hidden: int = 64,
        tau: float = 100.0,
        dt: float = 20.0,
        activation: str = "tanh",
        sigma_rec: float = 0.0,
        sigma_in: float = 0.0,
        dale: bool = False,
        exc_fraction: float = 0.8,
        connectivity: np.ndarray | None = None,
    ):
        super().__init__()
        self.n_inputs = check_positive_int("n_inputs", n_inputs)
        self.n_outputs = check_positive_int("n_outputs", n_outputs)
        self.n_hidden = check_positive_int("n_hidden", n_hidden, minimum=2 if dale else 1)
        self.n_state = self.n_hidden
        self.tau, self.dt = tau, dt
        alpha = _check_time_constants(tau, dt)
        self.cell = LeakyRNNCell(
            self.n_inputs,
            self.n_hidden,
            alpha=alpha,
            activation=activation,
            sigma_rec=_check_nonneg("sigma_rec", sigma_rec),
            sigma_in=_check_nonneg("sigma_in", sigma_in),
            dale=dale,
            exc_fraction=exc_fraction,
            connectivity=connectivity,
        )
        self.readout = nn.Linear(self.n_hidden, self.n_outputs)

    @property
    def alpha(self) -> float:
        """``dt / tau``."""
        return self.cell.alpha

    def effective_weight_rec(self) -> torch.Tensor:
        """The recurrent weights in use (signs and mask applied), (n_hidden, n_hidden)."""
        return self.cell.effective_weight_rec()

    def _step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.cell(h, x)

    def forward(
        self, x: torch.Tensor, *, h0: torch.Tensor | None = None, return_hidden: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x : (batch, n_steps, n_inputs) -> outputs (batch, n_steps, n_outputs).

        With ``return_hidden``, also the states (batch, n_steps, n_hidden) after each step.
        ``h0`` (batch, n_hidden) defaults to zeros.
        """
        return self._unroll(x, h0, return_hidden)


class GRUTaskModel(_TaskModel):
    """A GRU (:class:`torch.nn.GRU`, one layer) with a linear readout per step.

    Parameters
    ----------
    n_inputs, n_outputs : int
    n_hidden : int, default=64

    Examples
    --------
    >>> import torch
    >>> net = GRUTaskModel(1, 1, n_hidden=8)
    >>> tuple(net(torch.zeros(2, 5, 1)).shape)
    (2, 5, 1)
    """

    def __init__(self, n_inputs: int, n_outputs: int, *, n_hidden: int = 64):
        super().__init__()
        self.n_inputs = check_positive_int("n_inputs", n_inputs)
        self.n_outputs = check_positive_int("n_outputs", n_outputs)
        self.n_hidden = self.n_state = check_positive_int("n_hidden", n_hidden)
        self.rnn = nn.GRU(self.n_inputs, self.n_hidden, batch_first=True)
        self.readout = nn.Linear(self.n_hidden, self.n_outputs)

    def _step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x[:, None], h[None].contiguous())[1][0]

    def forward(
        self, x: torch.Tensor, *, h0: torch.Tensor | None = None, return_hidden: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x : (batch, n_steps, n_inputs) -> outputs (batch, n_steps, n_outputs) [, states
        (batch, n_steps, n_hidden)]; ``h0`` (batch, n_hidden) defaults to zeros."""
        self._check_x(x)
        hidden, _ = self.rnn(x, None if h0 is None else h0[None].contiguous())
        out = self.readout(hidden)
        return (out, hidden) if return_hidden else out


class LSTMTaskModel(_TaskModel):
    """An LSTM (:class:`torch.nn.LSTM`, one layer) with a linear readout of ``h`` per step.

    The state that ``step`` maps and ``forward(..., return_hidden=True)`` returns is
    ``concat(h, c)`` of size ``n_state = 2 * n_hidden``.

    Parameters
    ----------
    n_inputs, n_outputs : int
    n_hidden : int, default=64

    Examples
    --------
    >>> import torch
    >>> net = LSTMTaskModel(1, 1, n_hidden=8)
    >>> tuple(net(torch.zeros(2, 5, 1), return_hidden=True)[1].shape)
    (2, 5, 16)
    """

    def __init__(self, n_inputs: int, n_outputs: int, *, n_hidden: int = 64):
        super().__init__()
        self.n_inputs = check_positive_int("n_inputs", n_inputs)
        self.n_outputs = check_positive_int("n_outputs", n_outputs)
        self.n_hidden = check_positive_int("n_hidden", n_hidden)
        self.n_state = 2 * self.n_hidden
        self.rnn = nn.LSTM(self.n_inputs, self.n_hidden, batch_first=True)
        self.readout = nn.Linear(self.n_hidden, self.n_outputs)

    def _step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        hh, cc = h[:, : self.n_hidden], h[:, self.n_hidden :]
        _, (h1, c1) = self.rnn(x[:, None], (hh[None].contiguous(), cc[None].contiguous()))
        return torch.cat([h1[0], c1[0]], dim=1)

    def forward(
        self, x: torch.Tensor, *, h0: torch.Tensor | None = None, return_hidden: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x : (batch, n_steps, n_inputs) -> outputs (batch, n_steps, n_outputs) [, states
        (batch, n_steps, 2 * n_hidden) = concat(h, c)]; ``h0`` (batch, 2 * n_hidden)."""
        if return_hidden:  # c is not returned per step by nn.LSTM: unroll the cell
            return self._unroll(x, h0, True)
        self._check_x(x)
        state = None
        if h0 is not None:
            state = (
                h0[None, :, : self.n_hidden].contiguous(),
                h0[None, :, self.n_hidden :].contiguous(),
            )
        hidden, _ = self.rnn(x, state)
        return self.readout(hidden)


#: Task models by name (outside the signal-model registry; see the module docstring).
TASK_MODELS: dict[str, type[_TaskModel]] = {
    "leaky_rnn": LeakyRNN,
    "gru": GRUTaskModel,
    "lstm": LSTMTaskModel,
}


def build_task_model(
    name: str, *, n_inputs: int, n_outputs: int, seed: int | None = None, **params: Any
) -> _TaskModel:
    """Build task model ``name`` (a key of :data:`TASK_MODELS`).

    Parameters
    ----------
    name : str
        ``leaky_rnn``, ``gru`` or ``lstm``.
    n_inputs, n_outputs : int
        Input and output channels.
    seed : int or None
        Seed of the initial weights (drawn inside a forked torch RNG, so the caller's random
        state is untouched); None draws from torch's global generator.
    **params
        The model's hyperparameters.

    Raises
    ------
    ConfigError
        Unknown name (the known ones are listed) or hyperparameter.

    Examples
    --------
    >>> net = build_task_model("leaky_rnn", n_inputs=3, n_outputs=2, seed=0, n_hidden=16)
    >>> x = torch.zeros(4, 25, 3)  # 4 trials x 25 steps x 3 input channels
    >>> y, states = net(x, return_hidden=True)
    >>> y.shape, states.shape
    (torch.Size([4, 25, 2]), torch.Size([4, 25, 16]))
    >>> build_task_model("lstm", n_inputs=3, n_outputs=2, n_hidden=16).n_state  # h and c
    32
    >>> again = build_task_model("leaky_rnn", n_inputs=3, n_outputs=2, seed=0, n_hidden=16)
    >>> torch.equal(again(x), y)  # same seed, same initial weights
    True
    """
    cls = check_choice("model", name, TASK_MODELS)
    try:
        if seed is None:
            return cls(n_inputs, n_outputs, **params)  # type: ignore[operator]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return cls(n_inputs, n_outputs, **params)  # type: ignore[operator]
    except TypeError as err:
        raise ConfigError(f"Invalid hyperparameters for task model {name!r}: {err}.") from None
