"""Every built-in task; importing this package registers them (see :mod:`..registry`).

One module per task: its options model, typed result, runner and report builder.
"""

from . import decoding

__all__ = ["decoding"]
