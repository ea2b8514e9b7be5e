"""Subject-wise (leave-one-subject-out) evaluation of a seizure detector on continuous data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..._logging import logger
from ...data import Recording
from ...exceptions import DataFormatError
from .detector import RecordingWindows, SeizureDetector
from .postprocess import probabilities_to_events
from .scoring import average_over_subjects, sample_auroc, score_subjects

__all__ = ["SeizureEvaluation", "evaluate_detector", "evaluate_loso", "summarize_traces"]


@dataclass
class SeizureEvaluation:
    """What a seizure-detection evaluation found.

    Attributes
    ----------
    protocol : str
        ``"leave-one-subject-out"`` or ``"cross-dataset"``.
    summary : dict
        Event metrics averaged over test subjects (``sensitivity``, ``precision``, ``f1``,
        ``fa_per_24h``, ``latency_s``), sample-level ``auroc`` (mean over subjects) and
        ``auroc_pooled``, counts.
    per_subject : DataFrame
        One row per test subject: counts, event metrics, ``auroc``, chosen post-processing.
    traces : list of dict
        One per test recording: ``subject``, ``recording_id``, ``duration``, ``onsets``,
        ``proba``, ``labels``, ``reference``, ``hypothesis``, ``window``, ``stride``.

    Examples
    --------
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> recs = simulate_continuous_seizures(n_subjects=3, duration_hours=0.1, n_channels=4)
    >>> from neurodl.analyses.seizure import PostProcessing, SeizureDetector
    >>> ev = evaluate_loso(recs, SeizureDetector(postprocessing=PostProcessing(smooth=3)))
    >>> ev.protocol, ev.per_subject.shape[0], len(ev.traces)
    ('leave-one-subject-out', 3, 3)
    """

    protocol: str
    summary: dict[str, Any]
    per_subject: pd.DataFrame
    traces: list[dict[str, Any]] = field(default_factory=list)


def _test_trace(det: SeizureDetector, rw: RecordingWindows, fold: str) -> dict[str, Any]:
    onsets, proba = det.predict_proba(rw)
    hyp = probabilities_to_events(
        onsets, proba, window=rw.window, stride=rw.stride, params=det.postprocessing_
    )
    return {
        "fold": fold,
        "subject": rw.subject,
        "recording_id": rw.recording_id,
        "duration": rw.duration,
        "onsets": onsets,
        "proba": proba,
        "labels": rw.labels,
        "reference": rw.reference,
        "hypothesis": hyp,
        "window": rw.window,
        "stride": rw.stride,
        "postprocessing": det.postprocessing_.as_dict(),
    }


def summarize_traces(
    traces: Sequence[dict[str, Any]], det_scoring: Any, protocol: str
) -> SeizureEvaluation:
    """Score test traces (events per subject, then averaged; AUROC per subject and pooled).

    Examples
    --------
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> recs = simulate_continuous_seizures(n_subjects=3, duration_hours=0.1, n_channels=4)
    >>> from neurodl.analyses.seizure import PostProcessing, ScoringParams, SeizureDetector
    >>> ev = evaluate_loso(recs, SeizureDetector(postprocessing=PostProcessing(smooth=3)))
    >>> again = summarize_traces(ev.traces, ScoringParams(), "leave-one-subject-out")
    >>> again.summary["n_detected"] == ev.summary["n_detected"], again.per_subject.shape[0]
    (True, 3)
    """
    table = score_subjects(traces, det_scoring)
    aurocs = {}
    for subj in table["subject"]:
        mine = [t for t in traces if str(t["subject"]) == subj]
        aurocs[subj] = sample_auroc(
            np.concatenate([t["labels"] for t in mine]), np.concatenate([t["proba"] for t in mine])
        )
    table["auroc"] = table["subject"].map(aurocs)
    pp = {}
    for t in traces:
        pp.setdefault(str(t["subject"]), t["postprocessing"])
    for key in ("smooth", "threshold", "min_duration", "merge_gap"):
        table[f"pp_{key}"] = table["subject"].map(lambda s, k=key: pp[s][k])
    summary: dict[str, Any] = average_over_subjects(table)
    finite = table["auroc"].to_numpy(float)
    finite = finite[np.isfinite(finite)]
    summary["auroc"] = float(finite.mean()) if len(finite) else float("nan")
    summary["auroc_pooled"] = sample_auroc(
        np.concatenate([t["labels"] for t in traces]), np.concatenate([t["proba"] for t in traces])
    )
    summary["n_reference_events"] = int(table["n_reference"].sum())
    summary["n_detected"] = int(table["tp"].sum())
    summary["n_false_alarms"] = int(table["fp"].sum())
    summary["hours"] = float(table["duration_s"].sum() / 3600.0)
    return SeizureEvaluation(protocol, summary, table, list(traces))


def evaluate_loso(
    recordings: Sequence[Recording | RecordingWindows],
    detector: SeizureDetector,
    *,
    progress: Callable[[int, int], Any] | None = None,
) -> SeizureEvaluation:
    """Leave-one-subject-out: fit on all other subjects (post-processing tuned on them), test
    on the held-out subject's recordings.

    Parameters
    ----------
    recordings : list of Recording or RecordingWindows
        At least two subjects.
    detector : SeizureDetector
        An unfitted template (cloned per fold with the same parameters).
    progress : callable(done, total), optional

    Returns
    -------
    SeizureEvaluation

    Examples
    --------
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> recs = simulate_continuous_seizures(n_subjects=3, duration_hours=0.1, n_channels=4)
    >>> from neurodl.analyses.seizure import PostProcessing, SeizureDetector
    >>> ev = evaluate_loso(recs, SeizureDetector(postprocessing=PostProcessing(smooth=3)))
    >>> ev.summary["n_subjects"], ev.summary["sensitivity"], bool(ev.summary["auroc"] > 0.8)
    (3, 1.0, True)
    """
    prepared = [detector.prepare(r) for r in recordings]
    subjects = sorted({p.subject for p in prepared})
    if len(subjects) < 2:
        raise DataFormatError(
            f"Leave-one-subject-out needs recordings of at least 2 subjects; got {subjects}."
        )
    traces = []
    for k, subj in enumerate(subjects):
        train = [p for p in prepared if p.subject != subj]
        test = [p for p in prepared if p.subject == subj]
        det = SeizureDetector(**_params(detector)).fit(train)
        traces.extend(_test_trace(det, rw, subj) for rw in test)
        logger.info("LOSO fold %s: post-processing %s", subj, det.postprocessing_)
        if progress is not None:
            progress(k + 1, len(subjects))
    return summarize_traces(traces, detector.scoring, "leave-one-subject-out")


def evaluate_detector(
    detector: SeizureDetector,
    test: Sequence[Recording | RecordingWindows],
    *,
    protocol: str = "cross-dataset",
) -> SeizureEvaluation:
    """Score an already fitted detector on test recordings (e.g. another dataset).

    Examples
    --------
    >>> from neurodl.data.simulate.seizures import simulate_continuous_seizures
    >>> recs = simulate_continuous_seizures(n_subjects=3, duration_hours=0.1, n_channels=4)
    >>> from neurodl.analyses.seizure import PostProcessing, SeizureDetector
    >>> det = SeizureDetector(postprocessing=PostProcessing(smooth=3)).fit(recs[:2])
    >>> ev = evaluate_detector(det, recs[2:])
    >>> ev.protocol, ev.summary["n_subjects"], ev.summary["n_reference_events"]
    ('cross-dataset', 1, 1)
    """
    detector._check_fitted()
    prepared = [detector.prepare(r) for r in test]
    traces = [_test_trace(detector, rw, "test") for rw in prepared]
    return summarize_traces(traces, detector.scoring, protocol)


def _params(det: SeizureDetector) -> dict[str, Any]:
    import inspect

    return {p: getattr(det, p) for p in inspect.signature(SeizureDetector).parameters}
