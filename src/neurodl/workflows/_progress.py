"""Progress bars for long steps (tqdm), silent unless the ``progress`` setting is on."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .._config import get_config


@contextlib.contextmanager
def progress_bar(desc: str) -> Iterator[Callable[[int, int], Any] | None]:
    """Yield a ``progress(n_done, n_total)`` callback drawing a tqdm bar, or None when silent."""
    if not get_config("progress"):
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(desc=desc, unit="step", leave=False, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
