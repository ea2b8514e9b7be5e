"""Neural population dynamics: ingestion, behaviour decoding, forecasting, latent dynamics.

Submodules: :mod:`.binning` (spike binning, smoothing, behaviour alignment, calcium),
:mod:`.cv` (contiguous-block CV), :mod:`.decoders` (Wiener, Kalman, GRU/LSTM),
:mod:`.metrics` (NLB metrics: co-bps, fp-bps, velocity R^2, PSTH R^2), :mod:`.baselines`
(smoothing, PCA, FA, GPFA-like smoother), :mod:`.forecasting` (persistence, AR, GRU by horizon),
:mod:`.latents` (sequential autoencoder, LFADS-style VAE), :mod:`.trials` (trial labels, spike
counts in trial-aligned windows, trial-label decoding with statistics). The decoders,
forecasters and latent models are estimators: they live in :mod:`neurodl.estimators.dynamics` (built by name with
:func:`neurodl.estimators.make_estimator`) and are re-exported here. Torch is imported only
when a neural model is fitted.
"""

from .baselines import (
    LATENT_BASELINES,
    FactorAnalysisLatents,
    GPFASmoother,
    PCALatents,
    heldout_readout,
    smooth_rates,
)
from .binning import (
    align_behavior,
    bin_spikes,
    bin_trials,
    history_windows,
    lagged_features,
    read_calcium,
    smooth_counts,
    transform_behavior,
)
from .cv import ContiguousBlockCV, cross_val_predict_blocks
from .decoders import DECODERS, KalmanFilterDecoder, RNNDecoder, WienerFilter, make_decoder
from .forecasting import (
    FORECASTERS,
    LinearARForecaster,
    PersistenceForecaster,
    RNNForecaster,
    forecast_scores,
    make_forecaster,
)
from .latents import LFADS, OBSERVATION_NLL, SequentialAutoencoder
from .metrics import (
    bits_per_spike,
    co_bps,
    fp_bps,
    latent_r2,
    poisson_log_likelihood,
    psth_r2,
    r2_per_dim,
    velocity_r2,
)
from .trials import (
    TrialCounts,
    decode_trial_label,
    trial_dataset,
    trial_estimator,
    trial_labels,
    trial_rows,
    trial_window_counts,
)

__all__ = [
    "DECODERS",
    "FORECASTERS",
    "LATENT_BASELINES",
    "LFADS",
    "OBSERVATION_NLL",
    "ContiguousBlockCV",
    "FactorAnalysisLatents",
    "GPFASmoother",
    "KalmanFilterDecoder",
    "LinearARForecaster",
    "PCALatents",
    "PersistenceForecaster",
    "RNNDecoder",
    "RNNForecaster",
    "SequentialAutoencoder",
    "TrialCounts",
    "WienerFilter",
    "align_behavior",
    "bin_spikes",
    "bin_trials",
    "bits_per_spike",
    "co_bps",
    "cross_val_predict_blocks",
    "decode_trial_label",
    "forecast_scores",
    "fp_bps",
    "heldout_readout",
    "history_windows",
    "lagged_features",
    "latent_r2",
    "make_decoder",
    "make_forecaster",
    "poisson_log_likelihood",
    "psth_r2",
    "r2_per_dim",
    "read_calcium",
    "smooth_counts",
    "smooth_rates",
    "transform_behavior",
    "trial_dataset",
    "trial_estimator",
    "trial_labels",
    "trial_rows",
    "trial_window_counts",
    "velocity_r2",
]
