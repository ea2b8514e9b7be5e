"""Which preprocessing steps may run once before the split, and which must be fitted per fold.

Steps that transform each sample on its own (filters, resampling, band power) use no statistics
across samples: applying them before the split cannot leak, and doing it once saves work in every
fold and permutation. Every other step (scaling fitted on data, spatial filters, ...) is fitted
inside each training fold.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PER_SAMPLE_STEPS",
    "n_leading_per_sample",
    "preprocess_before_split",
    "rate_after",
    "split_preprocessing",
]

#: Steps that transform each sample on its own, using no statistics across samples.
PER_SAMPLE_STEPS = frozenset({"bandpass", "notch", "resample", "log_bandpower", "vectorize"})


def n_leading_per_sample(steps: list[dict[str, dict[str, Any]]]) -> int:
    """Number of leading steps (``[{name: params}, ...]``) that work on each sample alone.

    Examples
    --------
    >>> steps = [{"bandpass": {"l_freq": 8, "h_freq": 30}}, {"resample": {"new_sfreq": 64}},
    ...          {"standardize": {}}]
    >>> n_leading_per_sample(steps)  # bandpass and resample work on each sample alone
    2
    """
    n = 0
    for step in steps:
        (name,) = step
        if name not in PER_SAMPLE_STEPS:
            break
        n += 1
    return n


def rate_after(pipeline: Any, sfreq: float | None) -> float | None:
    """Sampling rate of the data after ``pipeline`` (changed by its ``resample`` steps).

    Examples
    --------
    >>> steps = [{"bandpass": {"l_freq": 8, "h_freq": 30}}, {"resample": {"new_sfreq": 64}},
    ...          {"standardize": {}}]
    >>> lead, rest = split_preprocessing(steps, sfreq=128.0)
    >>> rate_after(lead, 128.0), rate_after(None, 128.0)
    (64.0, 128.0)
    """
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

    Examples
    --------
    >>> steps = [{"bandpass": {"l_freq": 8, "h_freq": 30}}, {"resample": {"new_sfreq": 64}},
    ...          {"standardize": {}}]
    >>> lead, rest = split_preprocessing(steps, sfreq=128.0)
    >>> [name for name, _ in lead.steps], [name for name, _ in rest.steps]
    (['bandpass', 'resample'], ['standardize'])
    """
    from .registry import build_pipeline

    n_lead = n_leading_per_sample(steps)
    lead = build_pipeline(steps[:n_lead], sfreq=sfreq) if n_lead else None
    rest_sfreq = rate_after(lead, sfreq)
    rest = build_pipeline(steps[n_lead:], sfreq=rest_sfreq) if steps[n_lead:] else None
    return lead, rest


def preprocess_before_split(
    dataset: Any, steps: list[dict[str, dict[str, Any]]]
) -> tuple[Any, Any, Any]:
    """Apply the leading per-sample steps to every sample once; return what folds still fit.

    Parameters
    ----------
    dataset : EpochsDataset
        Samples ``X`` of shape (n_samples, n_channels, n_times) (or already features).
    steps : list of dict
        ``[{step_name: params}, ...]`` as in a config's ``preprocessing`` section.

    Returns
    -------
    samples : EpochsDataset
        ``dataset`` after the leading per-sample steps (the same object when there are none):
        3-D output keeps the channel names (when the channel count is unchanged) and the new
        sampling rate; 2-D output (features) has neither.
    lead : sklearn Pipeline or None
        The fitted per-sample steps.
    rest : sklearn Pipeline or None
        The unfitted steps to fit inside each training fold.

    Examples
    --------
    >>> steps = [{"bandpass": {"l_freq": 8, "h_freq": 30}}, {"resample": {"new_sfreq": 64}},
    ...          {"standardize": {}}]
    >>> import numpy as np
    >>> from neurodl.data import EpochsDataset
    >>> ds = EpochsDataset(np.random.default_rng(0).standard_normal((4, 2, 256)), sfreq=128.0)
    >>> samples, lead, rest = preprocess_before_split(ds, steps)
    >>> samples.X.shape, samples.sfreq, [name for name, _ in rest.steps]
    ((4, 2, 128), 64.0, ['standardize'])
    """
    import numpy as np

    from ..data import EpochsDataset

    lead, rest = split_preprocessing(list(steps), dataset.sfreq)
    if lead is None:
        return dataset, None, rest
    Xt = lead.fit_transform(np.asarray(dataset.X), dataset.y)
    three_d = Xt.ndim == 3
    samples = EpochsDataset(
        Xt,
        dataset.y,
        dataset.metadata,
        rate_after(lead, dataset.sfreq) if three_d else None,
        dataset.ch_names if three_d and Xt.shape[1] == dataset.X.shape[1] else None,
        dataset.classes,
        dict(dataset.info),
    )
    return samples, lead, rest
