"""Progress of long steps: bars in a terminal, log lines without one, nothing when quiet.

The ``progress`` setting (:func:`neurodl.set_config`) chooses: ``True`` or ``"bar"`` draws tqdm
bars (folds, and inside them the epochs of a network with its training and validation loss);
``"log"`` writes INFO lines on the ``neurodl.progress`` logger, one per fold (at most
``MAX_STEP_LINES`` per loop) and one every few epochs (``EPOCH_LINES`` per training);
``False`` is silent. The CLI sets ``"bar"`` on a terminal, ``"log"`` otherwise, ``False``
with ``-q``. Epochs come from :mod:`neurodl._progress_events` (the training loops report them).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from .._config import get_config
from .._progress_events import on_epoch

__all__ = [
    "EPOCH_LINES",
    "MAX_STEP_LINES",
    "progress_bar",
    "progress_note",
    "progress_steps",
    "task_progress",
]

#: Log lines per training in ``"log"`` mode (every ``ceil(n_epochs / EPOCH_LINES)`` epochs).
EPOCH_LINES = 4
#: Most lines per loop in ``"log"`` mode (a loop of more steps logs every k-th).
MAX_STEP_LINES = 20

#: The logger of the ``"log"`` mode's lines.
progress_logger = logging.getLogger("neurodl.progress")

T = TypeVar("T")


def progress_mode() -> str | None:
    """``"bar"``, ``"log"`` or None (silent), from the ``progress`` setting."""
    mode = get_config("progress")
    if mode is True or mode == "bar":
        return "bar"
    return "log" if mode == "log" else None


def _losses(record: Mapping[str, Any]) -> dict[str, str]:
    return {
        k: f"{float(record[k]):.4g}"
        for k in ("train_loss", "valid_loss")
        if isinstance(record.get(k), int | float)
    }


class _Display:
    """One loop's display: its steps and the epochs of the networks trained inside it."""

    def __init__(self, desc: str, unit: str, mode: str, *, steps: bool = True) -> None:
        self.desc, self.unit, self.mode = desc, unit, mode
        self.bar: Any = None
        self.inner: Any = None
        self.step_no = 0
        if steps and mode == "bar":  # drawn first: the epochs' bar goes below it
            from tqdm.auto import tqdm

            self.bar = tqdm(desc=self.desc, unit=self.unit, leave=False, dynamic_ncols=True)

    def step(self, done: int, total: int) -> None:
        """Steps ``done`` of ``total`` finished."""
        self.step_no = done
        if self.mode == "log":
            every = max(1, math.ceil(total / MAX_STEP_LINES))
            if done % every == 0 or done == total:
                progress_logger.info("%s: %s %d/%d done", self.desc, self.unit, done, total)
            return
        if self.bar is None:
            return
        if self.bar.total != total:
            self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def epoch(self, epoch: int, n_epochs: int, record: Mapping[str, Any]) -> None:
        """Epoch ``epoch`` (from 0) of ``n_epochs`` of a network trained in this loop ended."""
        losses = _losses(record)
        if self.mode == "log":
            if self.unit == "permutation":  # one training per permutation: folds say enough
                return
            every = max(1, math.ceil(n_epochs / EPOCH_LINES))
            if (epoch + 1) % every == 0 or epoch + 1 == n_epochs:
                where = f" {self.unit} {self.step_no + 1}," if self.unit != "step" else ""
                progress_logger.info(
                    "%s:%s epoch %d/%d%s",
                    self.desc,
                    where,
                    epoch + 1,
                    n_epochs,
                    "".join(f" {k}={v}" for k, v in losses.items()),
                )
            return
        if self.inner is None or epoch == 0 or self.inner.total != n_epochs:
            from tqdm.auto import tqdm

            if self.inner is not None:
                self.inner.close()
            self.inner = tqdm(
                desc="  epoch", unit="epoch", total=n_epochs, leave=False, dynamic_ncols=True
            )
        self.inner.n = epoch + 1
        self.inner.set_postfix(losses, refresh=False)
        self.inner.refresh()

    def close(self) -> None:
        """Close the bars."""
        for bar in (self.inner, self.bar):
            if bar is not None:
                bar.close()


def _unit(desc: str) -> str:
    return "permutation" if "permutation" in desc else "fold"


@contextlib.contextmanager
def progress_bar(desc: str, unit: str | None = None) -> Iterator[Callable[[int, int], Any] | None]:
    """Yield a ``progress(n_done, n_total)`` callback for one loop, or None when silent.

    Parameters
    ----------
    desc : str
        What the loop does (``"cross-validation"``, ``"latents: models"``...).
    unit : str, optional
        What a step is (default ``"permutation"`` when ``desc`` names a permutation test,
        else ``"fold"``).

    Yields
    ------
    callback : callable or None
        Drawn as a bar (``"bar"`` mode) or logged (``"log"`` mode); the epochs of networks
        trained inside the block are shown under it.
    """
    mode = progress_mode()
    if mode is None:
        yield None
        return
    display = _Display(desc, unit or _unit(desc), mode)
    try:
        with on_epoch(display.epoch):
            yield display.step
    finally:
        display.close()


def progress_steps(desc: str, items: Iterable[T], unit: str = "step") -> Iterator[T]:
    """Iterate over ``items`` (a sized collection), showing each finished one as a step."""
    seq = list(items)
    with progress_bar(desc, unit) as cb:
        for i, item in enumerate(seq):
            yield item
            if cb is not None:
                cb(i + 1, len(seq))


def progress_note(desc: str, message: str) -> None:
    """A step told in words (``"fold 2/5: fitting"``): a progress line in ``"log"`` mode."""
    log = progress_logger if progress_mode() == "log" else logging.getLogger("neurodl")
    log.info("%s: %s", desc, message)


@contextlib.contextmanager
def task_progress(task: str) -> Iterator[None]:
    """Show the epochs of networks a task trains outside any :func:`progress_bar` loop."""
    mode = progress_mode()
    if mode is None:
        yield
        return
    display = _Display(task, "step", mode, steps=False)
    try:
        with on_epoch(display.epoch):
            yield
    finally:
        display.close()
