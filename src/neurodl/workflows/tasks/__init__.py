"""Every built-in task; importing this package registers them (see :mod:`..registry`).

One module per task: its options model, typed result, runner and report builder.
"""

from . import behavior_decoding
from . import decoding
from . import forecasting
from . import latents
from . import spike_trial_decoding
from . import rsa_fixed_models
from . import rsa_network
from . import encoding
from . import searchlight
from . import seizure
from . import time_resolved

__all__ = ["behavior_decoding", "decoding", "forecasting", "latents", "spike_trial_decoding", "encoding", "rsa_fixed_models", "rsa_network", "searchlight", "seizure", "time_resolved"]
