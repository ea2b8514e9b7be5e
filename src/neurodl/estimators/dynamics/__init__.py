"""Estimators of neural population dynamics: behaviour decoders, forecasters, latent models.

- :mod:`.decoders`: :class:`WienerFilter`, :class:`KalmanFilterDecoder`, :class:`RNNDecoder`
  (continuous binned data, ``fit(X, y)``);
- :mod:`.forecasting`: :class:`PersistenceForecaster`, :class:`LinearARForecaster`,
  :class:`RNNForecaster` (trials, ``fit(counts)``);
- :mod:`.latents`: :class:`LFADS`, :class:`SequentialAutoencoder` (trials with held-out neurons).

The torch models among them are trained by :func:`neurodl.estimators.torch_engine.train`
(:mod:`._engine`). Build any of them by name with :func:`neurodl.estimators.make_estimator`;
metrics, binning and cross-validation of dynamics analyses are in
:mod:`neurodl.analyses.dynamics`, which re-exports these classes. Torch is imported only when
a neural model is fitted.
"""

from ._cv import ContiguousBlockCV
from ._features import history_windows, lagged_features
from .decoders import KalmanFilterDecoder, RNNDecoder, WienerFilter
from .forecasting import LinearARForecaster, PersistenceForecaster, RNNForecaster
from .latents import LFADS, OBSERVATION_MEAN, OBSERVATION_NLL, SequentialAutoencoder

__all__ = [
    "LFADS",
    "OBSERVATION_MEAN",
    "OBSERVATION_NLL",
    "ContiguousBlockCV",
    "KalmanFilterDecoder",
    "LinearARForecaster",
    "PersistenceForecaster",
    "RNNDecoder",
    "RNNForecaster",
    "SequentialAutoencoder",
    "WienerFilter",
    "history_windows",
    "lagged_features",
]
