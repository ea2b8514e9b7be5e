"""Every built-in task; importing this package registers them (see :mod:`..registry`).

One module per task: its options model, typed result, runner and report builder.
"""

from . import (
    attribution_sanity,
    behavior_decoding,
    biomarker,
    decoding,
    dynamics_comparison,
    encoding,
    fingerprint,
    forecasting,
    latents,
    perturbation,
    perturbation_decoder,
    perturbation_rsa,
    rsa_fixed_models,
    rsa_network,
    searchlight,
    seizure,
    spike_trial_decoding,
    task_model,
    time_resolved,
)

__all__ = ["attribution_sanity", "behavior_decoding", "biomarker", "decoding", "dynamics_comparison", "encoding", "fingerprint", "forecasting", "latents", "perturbation", "perturbation_decoder", "perturbation_rsa", "rsa_fixed_models", "rsa_network", "searchlight", "seizure", "spike_trial_decoding", "task_model", "time_resolved"]
