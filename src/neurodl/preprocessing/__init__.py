"""Leakage-safe preprocessing: functions over recordings and sklearn transformers over epochs.

Functions take and return :mod:`neurodl.data` containers (``filter_recording``,
``set_reference``, ``make_windows``...); transformers act on arrays of shape
``(n_samples, n_channels, n_times)`` and learn any statistics from training data only, so they
are safe inside cross-validation pipelines.
"""

from .artifacts import RejectionReport, reject_by_amplitude
from .epoching import epochs_from_annotations
from .features import PSD_METHODS, LogBandPower, Vectorizer
from .filters import BandpassFilter, NotchFilter, filter_recording, notch_filter_recording
from .per_sample import (
    PER_SAMPLE_STEPS,
    n_leading_per_sample,
    preprocess_before_split,
    rate_after,
    split_preprocessing,
)
from .reference import set_reference
from .registry import PREPROCESSING_STEPS, build_pipeline
from .resample import Resample, resample_recording
from .scaling import ChannelStandardScaler, exponential_moving_standardize
from .windowing import make_windows

__all__ = [
    "PER_SAMPLE_STEPS",
    "PREPROCESSING_STEPS",
    "PSD_METHODS",
    "BandpassFilter",
    "ChannelStandardScaler",
    "LogBandPower",
    "NotchFilter",
    "RejectionReport",
    "Resample",
    "Vectorizer",
    "build_pipeline",
    "epochs_from_annotations",
    "exponential_moving_standardize",
    "filter_recording",
    "make_windows",
    "n_leading_per_sample",
    "notch_filter_recording",
    "preprocess_before_split",
    "rate_after",
    "reject_by_amplitude",
    "resample_recording",
    "set_reference",
    "split_preprocessing",
]
