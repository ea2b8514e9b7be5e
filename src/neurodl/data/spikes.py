"""Spike trains of sorted units, with trial and unit tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataFormatError

__all__ = ["SpikeTrains"]


@dataclass
class SpikeTrains:
    """Spike times of sorted units.

    Parameters
    ----------
    times : list of ndarray
        One sorted array of spike times (seconds) per unit.
    unit_ids : list of str, optional
    units : DataFrame, optional
        One row per unit (brain area, quality...).
    trials : DataFrame, optional
        One row per trial with at least ``start_time`` and ``stop_time`` (seconds).
    subject, session : str or None
    source : str or None

    Examples
    --------
    >>> import pandas as pd
    >>> trials = pd.DataFrame({"start_time": [0.0, 1.0], "stop_time": [0.5, 1.5]})
    >>> st = SpikeTrains([[0.12, 0.05, 1.3], [0.4], []], unit_ids=["a", "b", "c"], trials=trials)
    >>> st
    <SpikeTrains 3 units, 4 spikes, 2 trials>
    >>> st.times[0].tolist(), st.t_start, st.t_stop  # each unit's times sorted
    ([0.05, 0.12, 1.3], 0.05, 1.3)
    >>> st.bin(0.5, t_start=0.0, t_stop=1.5)  # counts per unit in 3 bins of 0.5 s
    array([[2, 0, 1],
           [1, 0, 0],
           [0, 0, 0]])
    """

    times: list[np.ndarray]
    unit_ids: list[str] | None = None
    units: pd.DataFrame | None = None
    trials: pd.DataFrame | None = None
    subject: str | None = None
    session: str | None = None
    source: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.times = [np.sort(np.asarray(t, dtype=float).reshape(-1)) for t in self.times]
        for i, t in enumerate(self.times):
            if t.size and not np.isfinite(t).all():
                raise DataFormatError(f"Unit {i} has non-finite spike times.")
        if self.unit_ids is None:
            self.unit_ids = [str(i) for i in range(len(self.times))]
        if len(self.unit_ids) != len(self.times):
            raise DataFormatError(f"{len(self.unit_ids)} unit ids for {len(self.times)} units.")
        if self.trials is not None:
            for col in ("start_time", "stop_time"):
                if col not in self.trials.columns:
                    raise DataFormatError(
                        f"Trial table lacks the column {col!r}; has {list(self.trials.columns)}."
                    )

    @property
    def n_units(self) -> int:
        return len(self.times)

    @property
    def n_spikes(self) -> int:
        return int(sum(t.size for t in self.times))

    @property
    def t_start(self) -> float:
        nonempty = [t[0] for t in self.times if t.size]
        return float(min(nonempty)) if nonempty else 0.0

    @property
    def t_stop(self) -> float:
        nonempty = [t[-1] for t in self.times if t.size]
        return float(max(nonempty)) if nonempty else 0.0

    def bin(
        self, bin_size: float, t_start: float | None = None, t_stop: float | None = None
    ) -> np.ndarray:
        """Return counts of shape (n_units, n_bins) in bins of ``bin_size`` seconds."""
        if bin_size <= 0:
            raise ValueError(f"bin_size must be positive; got {bin_size!r}.")
        t0 = self.t_start if t_start is None else t_start
        t1 = self.t_stop + bin_size if t_stop is None else t_stop
        edges = np.arange(t0, t1 + 1e-12, bin_size)
        return (
            np.stack([np.histogram(t, edges)[0] for t in self.times])
            if self.times
            else np.zeros((0, len(edges) - 1))
        )

    def __repr__(self) -> str:
        ntr = 0 if self.trials is None else len(self.trials)
        return f"<SpikeTrains {self.n_units} units, {self.n_spikes} spikes, {ntr} trials>"
