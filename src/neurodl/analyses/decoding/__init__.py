"""Decoding: cross-validated models with their own statistics, and what they got wrong.

:func:`decode` cross-validates a model (and optionally a baseline on the same splits) and returns
a :class:`DecodingResult` in which every score, interval and permutation p-value belongs to the
model it was computed for, with a paired comparison of the two. Beside it: per-pair scores
(:func:`pairwise_scores`), the misclassified samples (:func:`misclassified_samples`) and what a
refitted model uses (:func:`saliency`).
"""

from .core import DecodingResult, ModelScores, decode, score_ci
from .errors import ERROR_COLUMNS, misclassified_samples
from .estimator import LearningCurves, make_decoder, without_callbacks
from .pairwise import PAIRWISE_METHODS, class_name, pairwise_scores
from .saliency import (
    SALIENCY_MAX_SAMPLES,
    SALIENCY_MAX_STORED,
    feature_layout,
    saliency,
    trim_saliency,
)

__all__ = [
    "ERROR_COLUMNS",
    "PAIRWISE_METHODS",
    "SALIENCY_MAX_SAMPLES",
    "SALIENCY_MAX_STORED",
    "DecodingResult",
    "LearningCurves",
    "ModelScores",
    "class_name",
    "decode",
    "feature_layout",
    "make_decoder",
    "misclassified_samples",
    "pairwise_scores",
    "saliency",
    "score_ci",
    "trim_saliency",
    "without_callbacks",
]
