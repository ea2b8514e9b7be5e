"""Seizure detection on continuous EEG, scored at the event level as SzCORE defines it.

Window classifier -> probability trace -> post-processing (tuned on training data only) ->
events, scored with SzCORE event metrics (:mod:`.scoring`) per subject and averaged; plus a
cross-dataset protocol (:mod:`.crossdataset`).
"""

from .detector import (
    WINDOW_ESTIMATORS,
    RecordingWindows,
    SeizureDetector,
    make_window_estimator,
    prepare_recording,
)
from .evaluate import SeizureEvaluation, evaluate_detector, evaluate_loso, summarize_traces
from .features import (
    DEFAULT_BANDS,
    SEIZURE_FEATURES,
    center_per_recording,
    channel_features,
    summarize_channels,
    window_features,
)
from .postprocess import (
    DEFAULT_GRID,
    OBJECTIVES,
    PostProcessing,
    probabilities_to_events,
    smooth_probabilities,
    tune_postprocessing,
)
from .scoring import (
    EventScore,
    ScoringParams,
    average_over_subjects,
    events_from_annotations,
    merge_events,
    sample_auroc,
    score_events,
    score_subjects,
    split_long_events,
)

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_GRID",
    "OBJECTIVES",
    "SEIZURE_FEATURES",
    "WINDOW_ESTIMATORS",
    "EventScore",
    "PostProcessing",
    "RecordingWindows",
    "ScoringParams",
    "SeizureDetector",
    "SeizureEvaluation",
    "average_over_subjects",
    "center_per_recording",
    "channel_features",
    "evaluate_detector",
    "evaluate_loso",
    "events_from_annotations",
    "make_window_estimator",
    "merge_events",
    "prepare_recording",
    "probabilities_to_events",
    "sample_auroc",
    "score_events",
    "score_subjects",
    "smooth_probabilities",
    "split_long_events",
    "summarize_channels",
    "summarize_traces",
    "tune_postprocessing",
    "window_features",
]
