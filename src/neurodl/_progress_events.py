"""Epoch events of training loops, for progress displays (no display code here).

A training loop calls :func:`epoch_end` after each epoch; the workflows layer listens with
:func:`on_epoch` (a bar in a terminal, a log line every few epochs otherwise). Listeners are
per thread and nested: only the innermost one hears an event.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["EpochListener", "epoch_end", "on_epoch"]

#: ``listener(epoch, n_epochs, record)``: ``epoch`` counts from 0; ``record`` holds
#: ``train_loss`` and, with a validation set, ``valid_loss`` (floats).
EpochListener = Callable[[int, int, Mapping[str, Any]], Any]

_local = threading.local()


def epoch_end(epoch: int, n_epochs: int, record: Mapping[str, Any]) -> None:
    """Tell the innermost listener of this thread that epoch ``epoch`` of ``n_epochs`` ended.

    Parameters
    ----------
    epoch : int
        The epoch just finished, counted from 0.
    n_epochs : int
        The most epochs this training runs (early stopping may end it sooner).
    record : mapping
        The epoch's values (``train_loss``, ``valid_loss``, ...).
    """
    stack = getattr(_local, "stack", None)
    if stack:
        stack[-1](int(epoch), int(n_epochs), record)


@contextlib.contextmanager
def on_epoch(listener: EpochListener) -> Iterator[None]:
    """Send the epoch events of this thread to ``listener`` inside the ``with`` block."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(listener)
    try:
        yield
    finally:
        stack.pop()
