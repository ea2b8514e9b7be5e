"""Every built-in task; importing this package registers them (see :mod:`..registry`).

One module per task: its options model, typed result, runner and report builder.
"""

from . import (
    behavior_decoding,
    decoding,
    encoding,
    forecasting,
    latents,
    perturbation,
    rsa_fixed_models,
    rsa_network,
    searchlight,
    seizure,
    spike_trial_decoding,
    task_model,
    time_resolved,
)

__all__ = ["behavior_decoding", "decoding", "encoding", "forecasting", "latents", "perturbation", "rsa_fixed_models", "rsa_network", "searchlight", "seizure", "spike_trial_decoding", "task_model", "time_resolved"]
