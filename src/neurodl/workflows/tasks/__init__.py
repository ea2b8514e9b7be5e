"""Every built-in task; importing this package registers them (see :mod:`..registry`).

One module per task: its options model, typed result, runner and report builder.
"""

from . import decoding
from . import rsa_fixed_models
from . import rsa_network

__all__ = ["decoding", "rsa_fixed_models", "rsa_network"]
