"""neurodl: deep learning on neural data, from real recordings to honest answers.

Importing neurodl does no I/O, no discovery and no downloads.
"""

from __future__ import annotations

from ._config import config_context, get_config, get_data_root, set_config
from ._logging import logger, set_log_level, use_log_level
from .exceptions import (
    ConfigError,
    DataFormatError,
    DatasetError,
    LeakageError,
    NeurodlError,
    NotFittedError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataFormatError",
    "DatasetError",
    "LeakageError",
    "NeurodlError",
    "NotFittedError",
    "__version__",
    "config_context",
    "get_config",
    "get_data_root",
    "logger",
    "set_config",
    "set_log_level",
    "use_log_level",
]
