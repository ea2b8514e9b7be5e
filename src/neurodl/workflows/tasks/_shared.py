"""Small helpers shared by the searchlight, encoding, time_resolved and seizure tasks."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ...exceptions import DataFormatError
from ..config import RunConfig
from ..data import load_data

__all__ = ["array_hash", "brain_slices", "fmt", "load_volumes", "report_title", "versions"]


def versions() -> dict[str, str]:
    """Versions of Python and the main libraries (those not installed are left out)."""
    from ...evaluation import library_versions

    return {k: v for k, v in library_versions().items() if v is not None}


def array_hash(*arrays: Any) -> str:
    """SHA-256 of the arrays' shapes, dtypes and bytes: the identity of the data in a result."""
    h = hashlib.sha256()
    for arr in arrays:
        a = np.ascontiguousarray(np.asarray(arr))
        if a.dtype == object:
            a = a.astype(str)
        h.update(str((a.shape, str(a.dtype))).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def fmt(value: float | None, spec: str = ".3f") -> str:
    """A number for a summary line (``undefined`` for None)."""
    return "undefined" if value is None else format(value, spec)


def load_volumes(cfg: RunConfig) -> tuple[Any, str]:
    """The configured data as a :class:`~neurodl.data.VolumeSeries` (fMRI tasks)."""
    from ...data import VolumeSeries

    vs, name = load_data(cfg.data, seed=cfg.seed)
    if not isinstance(vs, VolumeSeries):
        raise DataFormatError(
            f"Task {cfg.task!r} needs an fMRI VolumeSeries; {name} gave {type(vs).__name__} "
            "(remove data.to_samples)."
        )
    return vs, name


def brain_slices(vs: Any, values: np.ndarray, title: str, label: str) -> Any:
    """Slice images of one value per voxel of ``vs`` (NaN outside the mask)."""
    from ...report.figures.fmri import plot_brain_slices

    return plot_brain_slices(vs.unmask(values, fill=np.nan), title=title, colorbar_label=label)


def report_title(title: str | None, name: str) -> str:
    """The report's title: ``report.title`` or ``neurodl: <run name>``."""
    return title or f"neurodl: {name}"
