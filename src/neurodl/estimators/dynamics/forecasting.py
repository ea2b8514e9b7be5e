"""Forecasting population activity k bins ahead: persistence, linear AR and a GRU.

Every forecaster has ``fit(counts)`` and ``predict(counts)`` on trials ``(n_trials, n_bins,
n_neurons)``; ``predict`` returns ``(n_trials, n_bins, n_horizons, n_neurons)`` where
``[:, t, k]`` predicts bin ``t + horizons[k]`` from bins ``<= t`` (entries whose target falls
beyond the trial are NaN). :func:`neurodl.analyses.dynamics.forecast_scores` scores them by horizon with
bits/spike (Poisson) and R^2 (against the observed counts, and the true rates when known).
Continuous recordings are one trial: ``counts[None]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ...exceptions import ConfigError, DataFormatError
from .._renamed import accepts_old_names
from ._features import lagged_features

__all__ = [
    "LinearARForecaster",
    "PersistenceForecaster",
    "RNNForecaster",
]

_EPS = 1e-6


def _check_horizons(horizons: Any) -> tuple[int, ...]:
    h = tuple(int(v) for v in np.atleast_1d(horizons))
    if not h or min(h) < 1:
        raise ConfigError(
            f"Invalid value for 'horizons'. Allowed: integers >= 1; got {horizons!r}."
        )
    return h


def _check_counts(counts: Any) -> np.ndarray:
    c = np.asarray(counts, dtype=float)
    if c.ndim != 3 or not np.isfinite(c).all():
        raise DataFormatError(
            f"'counts' must be a finite (n_trials, n_bins, n_neurons) array; got shape {c.shape}."
        )
    return c


def _mask_beyond(pred: np.ndarray, horizons: tuple[int, ...]) -> np.ndarray:
    T = pred.shape[1]
    for k, h in enumerate(horizons):
        pred[:, max(T - h, 0) :, k] = np.nan
    return pred


class PersistenceForecaster(BaseEstimator):
    """Predict that bin ``t + h`` equals the (causally smoothed) mean of the last ``window`` bins.

    Parameters
    ----------
    horizons : sequence of int
    window : int, default=5

    Examples
    --------
    10 trials of 30 bins of 4 neurons, forecast 1 and 5 bins ahead: one prediction per bin,
    horizon and neuron, NaN where the target lies beyond the trial:

    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(3.0, size=(10, 30, 4)).astype(float)
    >>> fc = PersistenceForecaster(horizons=(1, 5), window=3).fit(counts)
    >>> pred = fc.predict(counts)
    >>> pred.shape
    (10, 30, 2, 4)
    >>> bool(np.isnan(pred[:, -5:, 1]).all()), bool(np.isnan(pred[:, :-5]).any())
    (True, False)

    The forecast at bin 10: the mean of bins 8 to 10, shrunk a fifth towards the mean rate:

    >>> expected = 0.8 * counts[0, 8:11].mean(axis=0) + 0.2 * fc.mean_
    >>> bool(np.allclose(pred[0, 10, 0], expected))
    True
    """

    def __init__(self, horizons: Any = (1, 2, 5), window: int = 5) -> None:
        self.horizons = horizons
        self.window = window

    def fit(self, counts: Any) -> PersistenceForecaster:
        self.horizons_ = _check_horizons(self.horizons)
        self.mean_ = _check_counts(counts).mean(axis=(0, 1))
        return self

    def predict(self, counts: Any) -> np.ndarray:
        check_is_fitted(self, "mean_")
        c = _check_counts(counts)
        csum = np.cumsum(c, axis=1)
        lag = np.zeros_like(csum)
        lag[:, self.window :] = csum[:, : -self.window]
        n = np.minimum(np.arange(1, c.shape[1] + 1), self.window)[None, :, None]
        level = (csum - lag) / n
        level = 0.8 * level + 0.2 * self.mean_  # shrink towards the mean: no zero rates
        pred = np.repeat(level[:, :, None], len(self.horizons_), axis=2)
        return _mask_beyond(pred, self.horizons_)


class LinearARForecaster(BaseEstimator):
    """Direct multi-horizon linear autoregression: ridge from ``n_lags`` past bins to bin t + h.

    Parameters
    ----------
    horizons : sequence of int
    n_lags : int, default=5
    alpha : float, default=10.0

    Examples
    --------
    Neurons firing with a 10-bin rhythm: one ridge model per horizon, and 1-bin-ahead
    forecasts beat persistence (which lags the rhythm):

    >>> rng = np.random.default_rng(0)
    >>> rate = 3 + 2 * np.sin(2 * np.pi * np.arange(40) / 10)  # a 10-bin rhythm
    >>> counts = rng.poisson(rate[None, :, None] * np.ones((20, 1, 3))).astype(float)
    >>> ar = LinearARForecaster(horizons=(1, 2), n_lags=10).fit(counts)
    >>> pred = ar.predict(counts)
    >>> pred.shape, len(ar.models_)
    ((20, 40, 2, 3), 2)
    >>> persist = PersistenceForecaster(horizons=(1, 2)).fit(counts).predict(counts)
    >>> def mse(p):
    ...     return np.nanmean((p[:, :-1, 0] - counts[:, 1:]) ** 2)
    >>> bool(mse(pred) < mse(persist))
    True
    >>> LinearARForecaster(horizons=(40,)).fit(counts)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Horizon 40 is not shorter than the 40 bins per trial.
    """

    def __init__(self, horizons: Any = (1, 2, 5), n_lags: int = 5, alpha: float = 10.0) -> None:
        self.horizons = horizons
        self.n_lags = n_lags
        self.alpha = alpha

    def _features(self, c: np.ndarray) -> np.ndarray:
        return np.stack([lagged_features(trial, self.n_lags) for trial in c])

    def fit(self, counts: Any) -> LinearARForecaster:
        from sklearn.linear_model import Ridge

        self.horizons_ = _check_horizons(self.horizons)
        c = _check_counts(counts)
        f = self._features(c)
        self.models_ = []
        for h in self.horizons_:
            if h >= c.shape[1]:
                raise ConfigError(
                    f"Horizon {h} is not shorter than the {c.shape[1]} bins per trial."
                )
            X = f[:, : c.shape[1] - h].reshape(-1, f.shape[-1])
            y = c[:, h:].reshape(-1, c.shape[-1])
            self.models_.append(Ridge(alpha=self.alpha).fit(X, y))
        return self

    def predict(self, counts: Any) -> np.ndarray:
        check_is_fitted(self, "models_")
        c = _check_counts(counts)
        f = self._features(c).reshape(-1, c.shape[-1] * self.n_lags)
        preds = [
            np.maximum(m.predict(f), _EPS).reshape(c.shape[0], c.shape[1], -1) for m in self.models_
        ]
        return _mask_beyond(np.stack(preds, axis=2), self.horizons_)


@accepts_old_names
class RNNForecaster(BaseEstimator):
    """GRU forecaster of the next bins with a Poisson or Gaussian likelihood.

    Trained by the shared engine (:func:`neurodl.estimators.torch_engine.train`) with the
    likelihood as a custom objective; early stopping on 10% of the trials (drawn with ``random_state``).

    Parameters
    ----------
    horizons : sequence of int
    hidden_size : int, default=64
    observation : {"poisson", "gaussian"}, default="poisson"
    max_epochs : int, default=200
    batch_size : int, default=16
    lr : float, default=5e-3
    weight_decay : float, default=1e-5
    patience : int, default=30
    random_state : int, default=0
        Seed of the weights, batch order and validation split.

    Examples
    --------
    A small GRU trained for 2 epochs on 20 trials (2 of them for validation): positive
    Poisson rates for each bin and horizon:

    >>> rng = np.random.default_rng(0)
    >>> rate = 3 + 2 * np.sin(2 * np.pi * np.arange(40) / 10)  # a 10-bin rhythm
    >>> counts = rng.poisson(rate[None, :, None] * np.ones((20, 1, 3))).astype(float)
    >>> rnn = RNNForecaster(horizons=(1, 3), hidden_size=8, max_epochs=2, batch_size=8)
    >>> pred = rnn.fit(counts).predict(counts)
    >>> pred.shape, bool((pred[:, :-3] > 0).all()), rnn.history_["n_epochs"]
    ((20, 40, 2, 3), True, 2)
    """

    def __init__(
        self,
        horizons: Any = (1, 2, 5),
        hidden_size: int = 64,
        observation: str = "poisson",
        max_epochs: int = 200,
        batch_size: int = 16,
        lr: float = 5e-3,
        weight_decay: float = 1e-5,
        patience: int = 30,
        random_state: int = 0,
    ) -> None:
        self.horizons = horizons
        self.hidden_size = hidden_size
        self.observation = observation
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.random_state = random_state

    def fit(self, counts: Any) -> RNNForecaster:
        import torch

        from ...models.dynamics import RecurrentForecaster
        from ._engine import fit_network, random_split

        self.horizons_ = _check_horizons(self.horizons)
        c = _check_counts(counts)
        H = max(self.horizons_)
        if H >= c.shape[1]:
            raise ConfigError(f"Horizon {H} is not shorter than the {c.shape[1]} bins per trial.")
        self.scale_ = c.mean(axis=(0, 1)) + _EPS
        T = c.shape[1]
        # targets[:, t, k] = counts[:, t + k + 1]; mask where beyond the trial.
        targets = np.zeros((c.shape[0], T, H, c.shape[2]), dtype=np.float32)
        mask = np.zeros((1, T, H, 1))
        for k in range(H):
            targets[:, : T - k - 1, k] = c[:, k + 1 :]
            mask[0, : T - k - 1, k] = 1.0
        mask_t = torch.as_tensor(mask, dtype=torch.float32)
        scale = torch.as_tensor(self.scale_, dtype=torch.float32)
        log_scale = torch.log(scale)
        norm = float(mask_t.sum()) * c.shape[2]
        obs = self.observation

        def objective(model: Any, xb: Any, yb: Any, ctx: Any) -> Any:
            """Per-trial Poisson NLL (or squared error) averaged over valid bins and neurons."""
            out = model(xb / scale)
            if obs == "poisson":
                lr = (out + log_scale).clamp(-20.0, 10.0)
                nll = lr.exp() - yb * lr
            else:
                nll = (out * scale - yb) ** 2
            return (nll * mask_t).sum(dim=(1, 2, 3)) / norm

        tr, va = random_split(len(c), 0.1, self.random_state)
        self.model_, self.history_ = fit_network(
            lambda: RecurrentForecaster(
                c.shape[2], H, hidden_size=self.hidden_size, observation=self.observation
            ),
            c[tr],
            targets[tr],
            c[va],
            targets[va],
            objective=objective,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            patience=self.patience,
            seed=self.random_state,
        )
        return self

    def predict(self, counts: Any) -> np.ndarray:
        import torch

        check_is_fitted(self, "model_")
        c = _check_counts(counts)
        scale = torch.as_tensor(self.scale_, dtype=torch.float32)
        with torch.no_grad():
            out = self.model_(torch.as_tensor(c, dtype=torch.float32) / scale)
            if self.observation == "poisson":
                pred = (out + torch.log(scale)).clamp(-20.0, 10.0).exp().numpy()
            else:
                pred = np.maximum((out * scale).numpy(), _EPS)
        pred = pred[:, :, [h - 1 for h in self.horizons_]].astype(float)
        return _mask_beyond(pred, self.horizons_)
