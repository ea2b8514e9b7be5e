"""Small helpers shared by the dataset modules."""

from __future__ import annotations

import numpy as np

__all__ = ["NO_LICENCE", "check_times"]

#: Licence note of the sets that carry no formal data licence.
NO_LICENCE = (
    "No formal data licence; use as a research test/benchmark fixture and cite the authors."
)


def check_times(tmin: float, tmax: float) -> tuple[float, float]:
    """Return ``(tmin, tmax)`` as floats; raise ValueError unless finite with ``tmax > tmin``."""
    tmin, tmax = float(tmin), float(tmax)
    if not (np.isfinite(tmin) and np.isfinite(tmax) and tmax > tmin):
        raise ValueError(
            f"Invalid values for 'tmin'/'tmax'. Allowed: finite numbers with tmax > tmin; "
            f"got tmin={tmin!r}, tmax={tmax!r}."
        )
    return tmin, tmax
