"""Latent dynamics: a sequential autoencoder and an LFADS-family sequential VAE.

:class:`LFADS` wraps :class:`neurodl.models.dynamics.SequentialVAE` with its training objective:

- observation negative log-likelihoods from :data:`OBSERVATION_NLL` (Poisson for counts,
  Gaussian, Gamma and zero-inflated Gamma for calcium dF/F or deconvolved activity);
- KL divergence of the initial condition (and inferred inputs) with a linear warm-up;
- coordinated dropout: a random subset of input entries is zeroed (the rest scaled up) and the
  reconstruction of the held-in neurons is scored only on the dropped entries, so the network
  cannot learn an identity map;
- a NaN guard: log-parameters are clamped, and batches with a non-finite loss or gradient are
  skipped (the ``"skip"`` divergence guard of :func:`neurodl.estimators.torch_engine.train`,
  which trains the model with :meth:`LFADS._objective` as its custom objective).

``fit(X_in, Y_out)`` takes held-in counts ``X_in`` (n_trials, n_obs, n_in) and targets ``Y_out``
(n_trials, n_obs + n_forward, n_out) whose first ``n_in`` columns are the held-in neurons; the
remaining columns are held-out neurons (co-smoothing) and the extra bins are the forward-prediction
window (fp-bps). Defaults are chosen for a CPU: small GRUs, ~1 s per epoch for 100 trials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ...exceptions import ConfigError, DataFormatError
from .._renamed import accepts_old_names

__all__ = ["LFADS", "OBSERVATION_MEAN", "OBSERVATION_NLL", "SequentialAutoencoder"]


def _poisson_nll(p: Any, x: Any, loc: float) -> Any:
    log_rate = p[..., 0].clamp(-20.0, 10.0)
    return log_rate.exp() - x * log_rate


def _gaussian_nll(p: Any, x: Any, loc: float) -> Any:
    logvar = p[..., 1].clamp(-10.0, 10.0)
    return 0.5 * (logvar + (x - p[..., 0]) ** 2 / logvar.exp())


def _gamma_logpdf(x: Any, log_shape: Any, log_rate: Any) -> Any:
    import torch

    a, b = log_shape.clamp(-5.0, 5.0).exp(), log_rate.clamp(-10.0, 10.0)
    return a * b + (a - 1) * torch.log(x) - x * b.exp() - torch.lgamma(a)


def _gamma_nll(p: Any, x: Any, loc: float) -> Any:
    return -_gamma_logpdf(x.clamp_min(1e-4), p[..., 0], p[..., 1])


def _zig_nll(p: Any, x: Any, loc: float) -> Any:
    import torch
    import torch.nn.functional as F

    nonzero = x > loc
    log_q = F.logsigmoid(p[..., 0])
    log_1mq = F.logsigmoid(-p[..., 0])
    shifted = torch.where(nonzero, x - loc, torch.ones_like(x)).clamp_min(1e-4)
    ll_nz = log_q + _gamma_logpdf(shifted, p[..., 1], p[..., 2])
    return -torch.where(nonzero, ll_nz, log_1mq)


def _poisson_mean(p: Any, loc: float) -> Any:
    return p[..., 0].clamp(-20.0, 10.0).exp()


def _gaussian_mean(p: Any, loc: float) -> Any:
    return p[..., 0]


def _gamma_mean(p: Any, loc: float) -> Any:
    return (p[..., 0].clamp(-5.0, 5.0) - p[..., 1].clamp(-10.0, 10.0)).exp()


def _zig_mean(p: Any, loc: float) -> Any:
    return p[..., 0].sigmoid() * (
        loc + (p[..., 1].clamp(-5.0, 5.0) - p[..., 2].clamp(-10.0, 10.0)).exp()
    )


#: observation model -> elementwise negative log-likelihood ``f(params, x, loc)`` (constants
#: dropped). Gamma/ZIG expect non-negative data (dF/F is clipped at 0 for them).
OBSERVATION_NLL: dict[str, Callable[..., Any]] = {
    "poisson": _poisson_nll,
    "gaussian": _gaussian_nll,
    "gamma": _gamma_nll,
    "zig": _zig_nll,
}
#: observation model -> expected value ``f(params, loc)`` (rates for Poisson: counts per bin).
OBSERVATION_MEAN: dict[str, Callable[..., Any]] = {
    "poisson": _poisson_mean,
    "gaussian": _gaussian_mean,
    "gamma": _gamma_mean,
    "zig": _zig_mean,
}


def _kl_normal(mean: Any, logvar: Any, prior_var: float) -> Any:
    import math

    return 0.5 * ((logvar.exp() + mean**2) / prior_var - 1.0 - logvar + math.log(prior_var)).sum(
        dim=tuple(range(1, mean.dim()))
    )


@accepts_old_names
class LFADS(BaseEstimator):
    """LFADS-family sequential VAE trained on trials of binned activity.

    Parameters
    ----------
    n_factors : int, default=8
    g0_size : int, default=32
    enc_size, gen_size : int, default=64
    n_inferred_inputs : int, default=0
        Controller output dimension (0: autonomous dynamics).
    observation : {"poisson", "gaussian", "gamma", "zig"}, default="poisson"
    variational : bool, default=True
        False trains a deterministic sequential autoencoder (no KL).
    kl_weight : float, default=1.0
    kl_warmup : int, default=50
        Epochs over which the KL weight rises linearly from 0.
    u_prior_var : float, default=0.1
        Prior variance of the inferred inputs.
    coordinated_dropout : float, default=0.3
        Fraction of input entries dropped per batch (0 disables it).
    dropout : float, default=0.05
    max_epochs : int, default=300
    batch_size : int, default=16
    lr : float, default=1e-2
    weight_decay : float, default=1e-5
    patience : int, default=50
    validation_fraction : float, default=0.1
        Trials held out for early stopping. The validation loss is the negative log-likelihood of
        what the encoder does not see (held-out neurons and forward bins) when there is any, so
        the stopping criterion tracks co-bps/fp-bps; otherwise the full reconstruction.
    zig_loc : float, default=0.0
        Threshold below which a value counts as zero for the ZIG model.
    random_state : int, default=0
        Seed of the weights, batch order and validation split.

    Attributes
    ----------
    model_ : SequentialVAE
    history_ : dict
        Losses per epoch, ``time_per_epoch_s``, ``n_nan_skipped``.

    Examples
    --------
    12 trials of 20 bins of 6 neurons: the encoder sees 4 neurons over the first 16 bins; the
    rates cover all 6 neurons (co-smoothing) and all 20 bins (forward prediction):

    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(12, 20, 6)).astype(float)
    >>> X_in, Y_out = counts[:, :16, :4], counts
    >>> lfads = LFADS(
    ...     n_factors=3, g0_size=8, enc_size=8, gen_size=8, max_epochs=2, batch_size=4
    ... ).fit(X_in, Y_out)
    >>> out = lfads.predict(X_in)
    >>> out["rates"].shape, out["factors"].shape, bool((out["rates"] > 0).all())
    ((12, 20, 6), (12, 20, 3), True)
    >>> lfads.history_["n_epochs"], lfads.history_["n_nan_skipped"]
    (2, 0)
    >>> LFADS(observation="binomial").fit(X_in)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'observation'. Allowed: 'poisson', 'gaussian', 'gamma', 'zig'; got 'binomial'.
    """

    def __init__(
        self,
        n_factors: int = 8,
        g0_size: int = 32,
        enc_size: int = 64,
        gen_size: int = 64,
        n_inferred_inputs: int = 0,
        observation: str = "poisson",
        variational: bool = True,
        kl_weight: float = 1.0,
        kl_warmup: int = 50,
        u_prior_var: float = 0.1,
        coordinated_dropout: float = 0.3,
        dropout: float = 0.05,
        max_epochs: int = 300,
        batch_size: int = 16,
        lr: float = 1e-2,
        weight_decay: float = 1e-5,
        patience: int = 50,
        validation_fraction: float = 0.1,
        zig_loc: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.g0_size = g0_size
        self.enc_size = enc_size
        self.gen_size = gen_size
        self.n_inferred_inputs = n_inferred_inputs
        self.observation = observation
        self.variational = variational
        self.kl_weight = kl_weight
        self.kl_warmup = kl_warmup
        self.u_prior_var = u_prior_var
        self.coordinated_dropout = coordinated_dropout
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.zig_loc = zig_loc
        self.random_state = random_state

    def _check(self, X_in: Any, Y_out: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(X_in, dtype=float)
        if x.ndim != 3:
            raise DataFormatError(f"'X_in' must be (n_trials, n_bins, n_neurons); got {x.shape}.")
        y = x if Y_out is None else np.asarray(Y_out, dtype=float)
        if y.ndim != 3 or y.shape[0] != x.shape[0] or y.shape[1] < x.shape[1]:
            raise DataFormatError(
                "'Y_out' must be (n_trials, n_bins + n_forward, n_out) with the trials of 'X_in' "
                f"and at least its bins; got {y.shape} for X_in {x.shape}."
            )
        if y.shape[2] < x.shape[2]:
            raise DataFormatError(
                f"'Y_out' must start with the {x.shape[2]} held-in neurons; it has {y.shape[2]}."
            )
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise DataFormatError("'X_in'/'Y_out' contain NaN or infinite values.")
        if self.observation not in OBSERVATION_NLL:
            raise ConfigError(
                "Invalid value for 'observation'. Allowed: "
                f"{', '.join(map(repr, OBSERVATION_NLL))}; got {self.observation!r}."
            )
        if not 0 <= self.coordinated_dropout < 1:
            raise ConfigError(
                "Invalid value for 'coordinated_dropout'. Allowed: [0, 1); "
                f"got {self.coordinated_dropout!r}."
            )
        if self.observation in ("gamma", "zig"):
            y = np.clip(y, 0.0, None)
        return x, y

    def fit(self, X_in: Any, Y_out: Any = None) -> LFADS:
        """Train on held-in inputs ``X_in`` and targets ``Y_out`` (default: ``X_in``)."""
        from ...models.dynamics import SequentialVAE
        from ._engine import fit_network, random_split

        x, y = self._check(X_in, Y_out)
        self.n_in_, self.n_out_ = x.shape[2], y.shape[2]
        self.n_obs_, self.n_times_ = x.shape[1], y.shape[1]
        tr, va = random_split(len(x), self.validation_fraction, self.random_state)
        self.model_, self.history_ = fit_network(
            lambda: SequentialVAE(
                self.n_in_,
                self.n_out_,
                n_factors=self.n_factors,
                enc_size=self.enc_size,
                gen_size=self.gen_size,
                g0_size=self.g0_size,
                n_inferred_inputs=self.n_inferred_inputs,
                observation=self.observation,
                variational=self.variational,
                dropout=self.dropout,
            ),
            x[tr],
            y[tr],
            x[va],
            y[va],
            objective=self._objective(),
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            patience=self.patience,
            seed=self.random_state,
        )
        return self

    def _objective(self) -> Callable[..., Any]:
        """The training objective for :func:`neurodl.estimators.torch_engine.train`.

        Per trial: the reconstruction NLL summed over bins and neurons (training: coordinated
        dropout, scored on the dropped held-in entries and everything unseen; validation: only
        what the encoder never sees when there is any) plus, in training, the KL terms weighted
        by ``kl_weight * min(1, (epoch + 1) / kl_warmup)``.
        """
        import torch

        nll = OBSERVATION_NLL[self.observation]
        n_in, p_cd, loc = self.n_in_, self.coordinated_dropout, self.zig_loc
        warm = max(int(self.kl_warmup), 1)
        has_unseen = self.n_out_ > self.n_in_ or self.n_times_ > self.n_obs_
        kl_weight, u_prior_var = self.kl_weight, self.u_prior_var

        def objective(model: Any, xb: Any, yb: Any, ctx: Any) -> Any:
            weight = torch.ones_like(yb)
            if ctx.training and p_cd > 0:
                keep = (torch.rand_like(xb) > p_cd).float()
                xin = xb * keep / (1 - p_cd)
                weight[:, : xb.shape[1], :n_in] = 1.0 - keep
                weight[:, : xb.shape[1], :n_in] /= p_cd  # unbiased scale of the held-in term
            else:
                xin = xb
                if not ctx.training and has_unseen:
                    # Validation scores what the encoder never sees (held-out neurons, forward
                    # bins): the early-stopping criterion matches co-bps/fp-bps.
                    weight[:, : xb.shape[1], :n_in] = 0.0
            out = model(xin, yb.shape[1], sample=ctx.training)
            rec = (nll(out["params"], yb, loc) * weight).sum(dim=(1, 2))
            if not (model.variational and ctx.training):
                return rec
            beta = kl_weight * min(1.0, (ctx.epoch + 1) / warm)
            kl = _kl_normal(out["g0_mean"], out["g0_logvar"], 1.0)
            if "u_mean" in out:
                kl = kl + _kl_normal(out["u_mean"], out["u_logvar"], u_prior_var)
            return rec + beta * kl

        return objective

    def predict(
        self, X_in: Any, n_times: int | None = None, *, n_samples: int = 0
    ) -> dict[str, np.ndarray]:
        """Infer rates and factors.

        Parameters
        ----------
        X_in : ndarray of shape (n_trials, n_obs, n_in)
        n_times : int or None
            Bins to generate (default: as in training, including the forward window).
        n_samples : int, default=0
            0: rates from the posterior means (deterministic); k > 0: rates and factors averaged
            over k posterior samples (as LFADS does).

        Returns
        -------
        out : dict
            ``rates`` (n_trials, n_times, n_out): expected values of the observation model
            (counts per bin for Poisson); ``factors`` (n_trials, n_times, n_factors);
            ``latency_per_bin_s``: inference time per bin and trial.
        """
        import torch

        check_is_fitted(self, "model_")
        x = np.asarray(X_in, dtype=float)
        if x.ndim != 3 or x.shape[2] != self.n_in_:
            raise DataFormatError(
                f"'X_in' must be (n_trials, n_bins, {self.n_in_}); got shape {x.shape}."
            )
        n_times = self.n_times_ if n_times is None else n_times
        self.model_.eval()
        t0 = time.perf_counter()
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
            raise ConfigError(
                f"Invalid value for 'n_samples'. Allowed: an integer >= 0; got {n_samples!r}."
            )
        xt = torch.as_tensor(x, dtype=torch.float32)
        mean = OBSERVATION_MEAN[self.observation]
        with torch.no_grad():
            if n_samples == 0:
                out = self.model_(xt, n_times, sample=False)
                rates = mean(out["params"], self.zig_loc).numpy()
                factors = out["factors"].numpy()
            else:
                gen = torch.Generator().manual_seed(self.random_state)
                state = torch.get_rng_state()
                torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
                try:
                    outs = [self.model_(xt, n_times, sample=True) for _ in range(n_samples)]
                finally:
                    torch.set_rng_state(state)
                rates = np.mean([mean(o["params"], self.zig_loc).numpy() for o in outs], axis=0)
                factors = np.mean([o["factors"].numpy() for o in outs], axis=0)
        latency = (time.perf_counter() - t0) / (x.shape[0] * n_times)
        return {
            "rates": rates.astype(float),
            "factors": factors.astype(float),
            "latency_per_bin_s": latency,
        }


class SequentialAutoencoder(LFADS):
    """Deterministic sequential autoencoder: :class:`LFADS` with ``variational=False``.

    Examples
    --------
    Trained to reconstruct its input (``Y_out`` defaults to ``X_in``), without KL terms:

    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(2.0, size=(12, 16, 4)).astype(float)
    >>> sae = SequentialAutoencoder(
    ...     n_factors=3, g0_size=8, enc_size=8, gen_size=8, max_epochs=1, batch_size=4
    ... )
    >>> sae.variational
    False
    >>> sae.fit(counts).predict(counts)["rates"].shape
    (12, 16, 4)
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("variational", False)
        super().__init__(**kwargs)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in LFADS._get_param_names()}
