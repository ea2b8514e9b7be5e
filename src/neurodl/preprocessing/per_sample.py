"""Which preprocessing steps may run once before the split, and which must be fitted per fold.

Steps that transform each sample on its own (filters, resampling, band power) use no statistics
across samples: applying them before the split cannot leak, and doing it once saves work in every
fold and permutation. Every other step (scaling fitted on data, spatial filters, ...) is fitted
inside each training fold.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PER_SAMPLE_STEPS", "n_leading_per_sample", "rate_after", "split_preprocessing"]

#: Steps that transform each sample on its own, using no statistics across samples.
PER_SAMPLE_STEPS = frozenset({"bandpass", "notch", "resample", "log_bandpower", "vectorize"})


def n_leading_per_sample(steps: list[dict[str, dict[str, Any]]]) -> int:
    """Number of leading steps (``[{name: params}, ...]``) that work on each sample alone."""
    n = 0
    for step in steps:
        (name,) = step
        if name not in PER_SAMPLE_STEPS:
            break
        n += 1
    return n


def rate_after(pipeline: Any, sfreq: float | None) -> float | None:
    """Sampling rate of the data after ``pipeline`` (changed by its ``resample`` steps)."""
    if pipeline is None:
        return sfreq
    for _, step in pipeline.steps:
        new = getattr(step, "new_sfreq", None)
        if new is not None:
            sfreq = float(new)
    return sfreq


def split_preprocessing(
    steps: list[dict[str, dict[str, Any]]], sfreq: float | None
) -> tuple[Any, Any]:
    """Split steps into a leading per-sample pipeline (applied once) and the rest (per fold).

    Parameters
    ----------
    steps : list of dict
        ``[{step_name: params}, ...]`` as in a config's ``preprocessing`` section.
    sfreq : float or None
        Sampling rate of the samples.

    Returns
    -------
    lead, rest : sklearn Pipeline or None
        ``lead`` holds the leading per-sample steps, ``rest`` the others (built at the rate
        ``lead`` leaves); either is None when empty.
    """
    from .registry import build_pipeline

    n_lead = n_leading_per_sample(steps)
    lead = build_pipeline(steps[:n_lead], sfreq=sfreq) if n_lead else None
    rest_sfreq = rate_after(lead, sfreq)
    rest = build_pipeline(steps[n_lead:], sfreq=rest_sfreq) if steps[n_lead:] else None
    return lead, rest
