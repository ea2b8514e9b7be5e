"""Recurrent models of population dynamics: decoders, forecasters, sequential autoencoders.

Layouts. Decoders follow the registry contract: ``forward`` takes ``(batch, n_chans, n_times)``
(a history window of ``n_times`` bins of ``n_chans`` neurons) and returns ``(batch, n_outputs)``
read out at the last bin. Forecasters and the sequential autoencoders take time-major-per-trial
tensors ``(batch, n_times, n_neurons)`` (the natural layout of binned trials).

The LFADS-family model (:class:`SequentialVAE`) has a bidirectional GRU encoder of the initial
condition ``g0``, an optional controller that infers per-bin inputs ``u_t``, a GRU generator, a
low-dimensional linear factor readout and an observation readout whose parameters depend on the
observation model (Poisson log-rates, Gaussian means and log-variances, Gamma or zero-inflated
Gamma parameters for calcium traces).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..exceptions import ConfigError
from .registry import register_model

__all__ = [
    "OBSERVATION_PARAMS",
    "GRUDecoder",
    "LSTMDecoder",
    "RecurrentDecoder",
    "RecurrentForecaster",
    "SequentialVAE",
]

#: observation model -> number of parameters per neuron and bin.
OBSERVATION_PARAMS: dict[str, int] = {"poisson": 1, "gaussian": 2, "gamma": 2, "zig": 3}

_CELLS: dict[str, type[nn.Module]] = {"gru": nn.GRU, "lstm": nn.LSTM}


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"Invalid value for {name!r}. Allowed: an integer >= 1; got {value!r}.")
    return int(value)


class RecurrentDecoder(nn.Module):
    """GRU or LSTM over a history window of binned activity, linear readout at the last bin.

    Parameters
    ----------
    n_chans : int
        Number of neurons (input features per bin).
    n_times : int
        Length of the history window in bins (the model accepts any length).
    n_outputs : int
        Behaviour dimensions (regression) or classes (logits).
    sfreq : float or None
        Unused; accepted for the registry contract.
    cell : {"gru", "lstm"}, default="gru"
    hidden_size : int, default=64
    num_layers : int, default=1
    dropout : float, default=0.2
        Dropout on the inputs and on the last hidden state.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> dec = RecurrentDecoder(n_chans=30, n_times=10, n_outputs=2, cell="lstm", hidden_size=16)
    >>> x = torch.randn(4, 30, 10)  # 4 windows: 30 neurons x 10 history bins
    >>> dec(x).shape  # e.g. 2-D hand velocity read out at the last bin
    torch.Size([4, 2])
    >>> RecurrentDecoder(30, 10, 2, cell="rnn")
    Traceback (most recent call last):
        ...
    neurodl.exceptions.ConfigError: Invalid value for 'cell'. Allowed: 'gru', 'lstm'; got 'rnn'.
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int,
        n_outputs: int,
        *,
        sfreq: float | None = None,
        cell: str = "gru",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if cell not in _CELLS:
            raise ConfigError(
                f"Invalid value for 'cell'. Allowed: {', '.join(map(repr, _CELLS))}; got {cell!r}."
            )
        self.n_chans = _check_positive_int("n_chans", n_chans)
        self.n_times = _check_positive_int("n_times", n_times)
        self.n_outputs = _check_positive_int("n_outputs", n_outputs)
        self.cell = cell
        self.input_dropout = nn.Dropout(dropout)
        self.rnn = _CELLS[cell](
            n_chans, _check_positive_int("hidden_size", hidden_size), num_layers, batch_first=True
        )
        self.head_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_outputs)

    @classmethod
    def min_n_times(cls, **params: Any) -> int:
        return 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape (batch, n_chans, n_times) to (batch, n_outputs)."""
        h, _ = self.rnn(self.input_dropout(x.transpose(1, 2)))
        return self.head(self.head_dropout(h[:, -1]))


@register_model("gru_decoder")
class GRUDecoder(RecurrentDecoder):
    """:class:`RecurrentDecoder` with a GRU cell.

    Examples
    --------
    >>> from neurodl.models import build_model
    >>> _ = torch.manual_seed(0)
    >>> dec = build_model("gru_decoder", n_chans=30, n_times=10, n_outputs=2, hidden_size=16)
    >>> type(dec).__name__, dec.cell
    ('GRUDecoder', 'gru')
    >>> dec(torch.randn(4, 30, 10)).shape
    torch.Size([4, 2])
    """

    def __init__(self, n_chans: int, n_times: int, n_outputs: int, **kwargs: Any) -> None:
        super().__init__(n_chans, n_times, n_outputs, cell="gru", **kwargs)


@register_model("lstm_decoder")
class LSTMDecoder(RecurrentDecoder):
    """:class:`RecurrentDecoder` with an LSTM cell.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> dec = LSTMDecoder(n_chans=30, n_times=10, n_outputs=3, hidden_size=16)
    >>> type(dec.rnn).__name__
    'LSTM'
    >>> dec(torch.randn(4, 30, 25)).shape  # any history length works
    torch.Size([4, 3])
    """

    def __init__(self, n_chans: int, n_times: int, n_outputs: int, **kwargs: Any) -> None:
        super().__init__(n_chans, n_times, n_outputs, cell="lstm", **kwargs)


class RecurrentForecaster(nn.Module):
    """GRU reading past bins and predicting the next ``n_horizons`` bins of every neuron.

    Parameters
    ----------
    n_neurons : int
    n_horizons : int
        Predicts bins ``t + 1 ... t + n_horizons`` from bins ``<= t``.
    hidden_size : int, default=64
    observation : {"poisson", "gaussian"}, default="poisson"
        Poisson: outputs log-rates (counts per bin); Gaussian: outputs means.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> fc = RecurrentForecaster(n_neurons=20, n_horizons=3, hidden_size=16)
    >>> x = torch.poisson(torch.ones(2, 50, 20))  # 2 trials x 50 bins x 20 neurons of counts
    >>> out = fc(x)
    >>> out.shape  # [:, t, k] are log-rates of bin t + k + 1
    torch.Size([2, 50, 3, 20])
    >>> fc(x[:, :10]).allclose(out[:, :10], atol=1e-6)  # causal: later bins don't change earlier
    True
    """

    def __init__(
        self,
        n_neurons: int,
        n_horizons: int,
        *,
        hidden_size: int = 64,
        observation: str = "poisson",
    ) -> None:
        super().__init__()
        if observation not in ("poisson", "gaussian"):
            raise ConfigError(
                "Invalid value for 'observation'. Allowed: 'poisson', 'gaussian'; "
                f"got {observation!r}."
            )
        self.n_neurons = _check_positive_int("n_neurons", n_neurons)
        self.n_horizons = _check_positive_int("n_horizons", n_horizons)
        self.observation = observation
        self.rnn = nn.GRU(
            n_neurons, _check_positive_int("hidden_size", hidden_size), batch_first=True
        )
        self.head = nn.Linear(hidden_size, n_neurons * n_horizons)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` (batch, n_times, n_neurons) to (batch, n_times, n_horizons, n_neurons).

        Output ``[:, t, k]`` predicts bin ``t + k + 1`` (log-rate or mean).
        """
        h, _ = self.rnn(x)
        out = self.head(h)
        return out.reshape(x.shape[0], x.shape[1], self.n_horizons, self.n_neurons)


class SequentialVAE(nn.Module):
    """LFADS-style sequential (variational) autoencoder.

    Parameters
    ----------
    n_input : int
        Neurons given to the encoder (the held-in neurons).
    n_output : int
        Neurons reconstructed (held-in + held-out).
    n_factors : int, default=8
        Dimension of the low-dimensional factors (the latent trajectories).
    enc_size, gen_size : int, default=64
        Encoder and generator GRU sizes.
    g0_size : int, default=32
        Initial-condition dimension.
    n_inferred_inputs : int, default=0
        Dimension of the controller's inferred inputs (0 turns the controller off).
    ctrl_size : int, default=32
        Controller GRU size (when inputs are inferred).
    observation : {"poisson", "gaussian", "gamma", "zig"}, default="poisson"
    variational : bool, default=True
        False gives a deterministic sequential autoencoder (no sampling, no KL).
    dropout : float, default=0.1

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> vae = SequentialVAE(n_input=20, n_output=25, n_factors=4, enc_size=16, gen_size=16,
    ...                     g0_size=8, n_inferred_inputs=2, ctrl_size=8).eval()
    >>> x = torch.poisson(torch.ones(3, 40, 20))  # 3 trials x 40 bins x 20 held-in neurons
    >>> out = vae(x, n_times=50, sample=False)  # reconstruct 25 neurons, forecast 10 more bins
    >>> {k: tuple(v.shape) for k, v in sorted(out.items())}  # doctest: +NORMALIZE_WHITESPACE
    {'factors': (3, 50, 4), 'g0_logvar': (3, 8), 'g0_mean': (3, 8),
     'params': (3, 50, 25, 1), 'u_logvar': (3, 50, 2), 'u_mean': (3, 50, 2)}
    >>> SequentialVAE(20, 20, observation="zig")(x)["params"].shape[-1]  # 3 parameters per bin
    3
    """

    def __init__(
        self,
        n_input: int,
        n_output: int,
        *,
        n_factors: int = 8,
        enc_size: int = 64,
        gen_size: int = 64,
        g0_size: int = 32,
        n_inferred_inputs: int = 0,
        ctrl_size: int = 32,
        observation: str = "poisson",
        variational: bool = True,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if observation not in OBSERVATION_PARAMS:
            raise ConfigError(
                "Invalid value for 'observation'. Allowed: "
                f"{', '.join(map(repr, OBSERVATION_PARAMS))}; got {observation!r}."
            )
        if isinstance(n_inferred_inputs, bool) or n_inferred_inputs < 0:
            raise ConfigError(
                f"Invalid value for 'n_inferred_inputs'. Allowed: an integer >= 0; "
                f"got {n_inferred_inputs!r}."
            )
        self.n_input = _check_positive_int("n_input", n_input)
        self.n_output = _check_positive_int("n_output", n_output)
        self.n_factors = _check_positive_int("n_factors", n_factors)
        self.observation = observation
        self.variational = variational
        self.n_inferred_inputs = int(n_inferred_inputs)
        self.dropout = nn.Dropout(dropout)
        self.encoder = nn.GRU(n_input, enc_size, batch_first=True, bidirectional=True)
        self.g0_posterior = nn.Linear(2 * enc_size, 2 * g0_size)
        self.g0_to_gen = nn.Linear(g0_size, gen_size)
        if self.n_inferred_inputs:
            self.ctrl_encoder = nn.GRU(n_input, enc_size, batch_first=True, bidirectional=True)
            self.controller = nn.GRUCell(2 * enc_size + n_factors, ctrl_size)
            self.u_posterior = nn.Linear(ctrl_size, 2 * self.n_inferred_inputs)
        self.generator = nn.GRUCell(max(self.n_inferred_inputs, 1), gen_size)
        self.factors = nn.Linear(gen_size, n_factors, bias=False)
        self.readout = nn.Linear(n_factors, n_output * OBSERVATION_PARAMS[observation])
        self.g0_size, self.gen_size = g0_size, gen_size

    def _sample(self, stats: torch.Tensor, sample: bool) -> tuple[torch.Tensor, ...]:
        mean, logvar = stats.chunk(2, dim=-1)
        logvar = logvar.clamp(-10.0, 10.0)
        if sample and self.variational:
            z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        else:
            z = mean
        return z, mean, logvar

    def forward(
        self, x: torch.Tensor, n_times: int | None = None, *, sample: bool = True
    ) -> dict[str, torch.Tensor]:
        """Encode ``x`` (batch, n_obs, n_input) and generate ``n_times`` bins (>= n_obs).

        Returns
        -------
        out : dict
            ``params`` (batch, n_times, n_output, n_params): observation parameters;
            ``factors`` (batch, n_times, n_factors); ``g0_mean``, ``g0_logvar``
            (batch, g0_size); ``u_mean``, ``u_logvar`` (batch, n_times, n_inferred_inputs)
            when inputs are inferred.
        """
        batch, n_obs, _ = x.shape
        n_times = n_obs if n_times is None else n_times
        xd = self.dropout(x)
        _, h_enc = self.encoder(xd)
        g0, g0_mean, g0_logvar = self._sample(
            self.g0_posterior(self.dropout(torch.cat([h_enc[0], h_enc[1]], dim=-1))), sample
        )
        gen = torch.tanh(self.g0_to_gen(g0))
        out: dict[str, torch.Tensor] = {"g0_mean": g0_mean, "g0_logvar": g0_logvar}
        factors = []
        f = self.factors(gen)
        if self.n_inferred_inputs:
            ctrl_in, _ = self.ctrl_encoder(xd)
            if n_times > n_obs:  # no data beyond the observed bins: zero encodings there
                pad = ctrl_in.new_zeros(batch, n_times - n_obs, ctrl_in.shape[-1])
                ctrl_in = torch.cat([ctrl_in, pad], dim=1)
            c = gen.new_zeros(batch, self.controller.hidden_size)
            u_means, u_logvars = [], []
        zeros = gen.new_zeros(batch, 1)
        for t in range(n_times):
            if self.n_inferred_inputs:
                c = self.controller(torch.cat([ctrl_in[:, t], f], dim=-1), c)
                u, u_mean, u_logvar = self._sample(self.u_posterior(c), sample)
                u_means.append(u_mean)
                u_logvars.append(u_logvar)
                gen = self.generator(u, gen)
            else:
                gen = self.generator(zeros, gen)
            f = self.factors(self.dropout(gen))
            factors.append(f)
        fac = torch.stack(factors, dim=1)
        params = self.readout(fac).reshape(batch, n_times, self.n_output, -1)
        out["factors"] = fac
        out["params"] = params
        if self.n_inferred_inputs:
            out["u_mean"] = torch.stack(u_means, dim=1)
            out["u_logvar"] = torch.stack(u_logvars, dim=1)
        return out
