"""Event-level seizure scoring as SzCORE defines it, plus sample-level AUROC.

SzCORE (Dan et al., Epilepsia 2024; reference implementation: the ``timescoring`` library)
scores a detector on seizure *events*, not on windows:

1. Reference and hypothesis events closer than ``min_gap`` (90 s) are merged (separately).
2. Events longer than ``max_duration`` (5 min) are split into consecutive chunks of at most
   ``max_duration`` s, so that one very long seizure cannot weigh like a single short one.
3. Each reference event is widened by ``pre_tolerance`` (30 s) before its onset and
   ``post_tolerance`` (60 s) after its end; it is a true positive when any hypothesis event
   overlaps the widened interval (any-overlap).
4. A hypothesis event is a false positive when any part of it lies outside the widened
   intervals of the detected reference events.

sensitivity = TP / n_reference, precision = TP / (TP + FP), F1 their harmonic mean, false alarms
per 24 h = FP / recording duration in days. Detection latency is the onset of the first
hypothesis overlapping a detected (merged, not yet split) reference event minus the reference
onset (negative when the detection starts early, down to ``-pre_tolerance``). Counts are pooled
over a subject's recordings, metrics computed per subject, then averaged over subjects.

The implementation works on intervals (no sampling of a mask) and is our own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...data import Annotations
from ...exceptions import ConfigError, DataFormatError

__all__ = [
    "EventScore",
    "ScoringParams",
    "average_over_subjects",
    "events_from_annotations",
    "merge_events",
    "sample_auroc",
    "score_events",
    "score_subjects",
    "split_long_events",
]


@dataclass(frozen=True)
class ScoringParams:
    """SzCORE event-scoring parameters (all in seconds).

    Parameters
    ----------
    pre_tolerance : float, default=30.0
        Tolerance before a reference onset.
    post_tolerance : float, default=60.0
        Tolerance after a reference end.
    min_gap : float, default=90.0
        Events (reference and hypothesis, separately) closer than this are merged.
    max_duration : float, default=300.0
        Events longer than this are split into chunks of this length.

    Examples
    --------
    >>> params = [ScoringParams(), ScoringParams(pre_tolerance=10.0)]
    >>> [score_events([[100, 160]], [[80, 85]], duration=3600.0, params=p).tp for p in params]
    [1, 0]
    """

    pre_tolerance: float = 30.0
    post_tolerance: float = 60.0
    min_gap: float = 90.0
    max_duration: float = 300.0

    def __post_init__(self) -> None:
        for name in ("pre_tolerance", "post_tolerance", "min_gap"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
                raise ConfigError(
                    f"Invalid value for {name!r}. Allowed: a finite number >= 0; got {value!r}."
                )
        md = self.max_duration
        if not (isinstance(md, int | float) and md > 0):
            raise ConfigError(
                f"Invalid value for 'max_duration'. Allowed: a number > 0 (inf disables "
                f"splitting); got {md!r}."
            )


@dataclass
class EventScore:
    """Event-level counts and metrics of one recording or one subject.

    Attributes
    ----------
    n_reference : int
        Reference events after merging and splitting.
    n_hypothesis : int
        Hypothesis events after merging and splitting.
    tp, fp : int
        Detected reference events; false-positive hypothesis events.
    duration_s : float
        Total recording duration in seconds.
    latencies : list of float
        One latency (s) per detected merged reference event.

    Examples
    --------
    >>> s = score_events([[100, 160]], [[110, 150]], duration=3600.0)
    >>> s.n_reference, s.tp, s.fp, s.sensitivity, float(s.latencies[0])
    (1, 1, 0, 1.0, 10.0)
    """

    n_reference: int
    n_hypothesis: int
    tp: int
    fp: int
    duration_s: float
    latencies: list[float] = field(default_factory=list)

    @property
    def sensitivity(self) -> float:
        return self.tp / self.n_reference if self.n_reference else float("nan")

    @property
    def precision(self) -> float:
        n = self.tp + self.fp
        return self.tp / n if n else float("nan")

    @property
    def f1(self) -> float:
        s, p = self.sensitivity, self.precision
        if not (np.isfinite(s) and np.isfinite(p)):
            return float("nan")
        return 0.0 if s + p == 0 else 2 * s * p / (s + p)

    @property
    def fa_per_24h(self) -> float:
        return self.fp / (self.duration_s / 86400.0) if self.duration_s > 0 else float("nan")

    @property
    def latency_s(self) -> float:
        return float(np.mean(self.latencies)) if self.latencies else float("nan")

    def __add__(self, other: EventScore) -> EventScore:
        return EventScore(
            self.n_reference + other.n_reference,
            self.n_hypothesis + other.n_hypothesis,
            self.tp + other.tp,
            self.fp + other.fp,
            self.duration_s + other.duration_s,
            [*self.latencies, *other.latencies],
        )

    def as_dict(self) -> dict[str, Any]:
        """Counts plus the metrics (sensitivity, precision, f1, fa_per_24h, latency_s)."""
        out = asdict(self)
        out.pop("latencies")
        for name in ("sensitivity", "precision", "f1", "fa_per_24h", "latency_s"):
            out[name] = getattr(self, name)
        return out


def _as_events(events: Any, name: str) -> np.ndarray:
    """Return events as a float array of shape (n, 2) of (onset, offset), sorted by onset."""
    if isinstance(events, Annotations):
        return events_from_annotations(events)
    if isinstance(events, pd.DataFrame):
        if {"onset", "offset"} <= set(events.columns):
            arr = events[["onset", "offset"]].to_numpy(float)
        elif {"onset", "duration"} <= set(events.columns):
            arr = np.c_[events["onset"], events["onset"] + events["duration"]].astype(float)
        else:
            raise DataFormatError(
                f"{name!r} as a DataFrame needs columns onset+offset or onset+duration; got "
                f"{list(events.columns)}."
            )
    else:
        arr = np.asarray(events if events is not None else [], dtype=float)
        if arr.size == 0:
            arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise DataFormatError(
            f"{name!r} must be (onset, offset) pairs of shape (n_events, 2); got shape {arr.shape}."
        )
    if not np.isfinite(arr).all() or (arr[:, 1] < arr[:, 0]).any():
        raise DataFormatError(f"{name!r} must hold finite pairs with offset >= onset; got {arr}.")
    return arr[np.argsort(arr[:, 0], kind="stable")]


def events_from_annotations(
    annotations: Annotations, labels: str | Iterable[str] = "seizure"
) -> np.ndarray:
    """(onset, offset) pairs of the annotations labelled ``labels``.

    Returns
    -------
    events : ndarray of shape (n_events, 2)

    Examples
    --------
    >>> from neurodl.data import Annotations
    >>> ann = Annotations([10.0, 50.0], [20.0, 5.0], ["seizure", "artifact"])
    >>> events_from_annotations(ann).tolist()
    [[10.0, 30.0]]
    """
    sel = annotations.select(labels if isinstance(labels, str) else list(labels))
    return np.c_[sel.onset, sel.onset + sel.duration].reshape(-1, 2)


def merge_events(events: Any, min_gap: float) -> np.ndarray:
    """Merge events whose gap (next onset - previous offset) is below ``min_gap`` s.

    Parameters
    ----------
    events : array-like of shape (n_events, 2)
    min_gap : float

    Returns
    -------
    merged : ndarray of shape (n_merged, 2)

    Examples
    --------
    >>> merge_events([[0, 10], [15, 20], [200, 210]], min_gap=90.0).tolist()
    [[0.0, 20.0], [200.0, 210.0]]
    """
    ev = _as_events(events, "events")
    out: list[list[float]] = []
    for on, off in ev:
        if out and on - out[-1][1] < min_gap:
            out[-1][1] = max(out[-1][1], off)
        else:
            out.append([on, off])
    return np.asarray(out, dtype=float).reshape(-1, 2)


def split_long_events(events: Any, max_duration: float) -> np.ndarray:
    """Split events longer than ``max_duration`` s into consecutive chunks of that length.

    Returns
    -------
    split : ndarray of shape (n_split, 2)

    Examples
    --------
    >>> split_long_events([[0, 700]], max_duration=300.0).tolist()
    [[0.0, 300.0], [300.0, 600.0], [600.0, 700.0]]
    """
    ev = _as_events(events, "events")
    out = []
    for on, off in ev:
        start = on
        while off - start > max_duration:
            out.append((start, start + max_duration))
            start += max_duration
        out.append((start, off))
    return np.asarray(out, dtype=float).reshape(-1, 2)


def _overlaps(a_on: float, a_off: float, b_on: float, b_off: float) -> bool:
    """Any overlap of interval a with interval b (a point event inside b counts)."""
    if a_on == a_off:
        return b_on <= a_on <= b_off
    return a_on < b_off and b_on < a_off


def _covered(on: float, off: float, windows: list[tuple[float, float]]) -> bool:
    """Whether [on, off] lies entirely inside the union of ``windows`` (sorted, may overlap)."""
    pos = on
    for w_on, w_off in sorted(windows):
        if w_on > pos:
            break
        pos = max(pos, w_off)
        if pos >= off:
            return True
    return pos >= off


def score_events(
    reference: Any,
    hypothesis: Any,
    duration: float,
    params: ScoringParams | None = None,
) -> EventScore:
    """Score hypothesis events against reference events on one recording (SzCORE).

    Parameters
    ----------
    reference, hypothesis : array-like of shape (n_events, 2), Annotations or DataFrame
        (onset, offset) pairs in seconds; Annotations use their ``"seizure"`` entries; a
        DataFrame needs ``onset`` and ``offset`` (or ``duration``) columns.
    duration : float
        Recording duration in seconds (false alarms per 24 h use it).
    params : ScoringParams, optional
        Tolerances, merge gap and split length; default the SzCORE values.

    Returns
    -------
    EventScore

    Examples
    --------
    >>> s = score_events([[100, 160]], [[80, 90], [1000, 1010]], duration=86400.0)
    >>> s.tp, s.fp, s.sensitivity, s.precision, s.fa_per_24h
    (1, 1, 1.0, 0.5, 1.0)
    """
    params = params or ScoringParams()
    if not (np.isfinite(duration) and duration > 0):
        raise DataFormatError(
            f"Invalid value for 'duration'. Allowed: a positive number of seconds; got {duration!r}."
        )
    ref_merged = merge_events(_as_events(reference, "reference"), params.min_gap)
    hyp_merged = merge_events(_as_events(hypothesis, "hypothesis"), params.min_gap)
    ref = split_long_events(ref_merged, params.max_duration)
    hyp = split_long_events(hyp_merged, params.max_duration)

    def widen(on: float, off: float) -> tuple[float, float]:
        return on - params.pre_tolerance, off + params.post_tolerance

    detected: list[tuple[float, float]] = []
    tp = 0
    for on, off in ref:
        w_on, w_off = widen(on, off)
        if any(_overlaps(h_on, h_off, w_on, w_off) for h_on, h_off in hyp):
            tp += 1
            detected.append((w_on, w_off))
    fp = sum(not _covered(h_on, h_off, detected) for h_on, h_off in hyp)
    latencies = []
    for on, off in ref_merged:
        w_on, w_off = widen(on, off)
        hits = [h_on for h_on, h_off in hyp if _overlaps(h_on, h_off, w_on, w_off)]
        if hits:
            latencies.append(max(min(hits), w_on) - on)
    return EventScore(len(ref), len(hyp), tp, int(fp), float(duration), latencies)


def score_subjects(
    items: Iterable[Mapping[str, Any]], params: ScoringParams | None = None
) -> pd.DataFrame:
    """Score many recordings, pool counts per subject, and return one row per subject.

    Parameters
    ----------
    items : iterable of dict
        One per recording with keys ``subject``, ``reference``, ``hypothesis``, ``duration``.
    params : ScoringParams, optional

    Returns
    -------
    DataFrame
        Columns ``subject``, ``n_recordings``, ``n_reference``, ``n_hypothesis``, ``tp``, ``fp``,
        ``duration_s``, ``sensitivity``, ``precision``, ``f1``, ``fa_per_24h``, ``latency_s``.

    Examples
    --------
    >>> items = [{"subject": "01", "reference": [[100, 160]], "hypothesis": [[110, 150]],
    ...           "duration": 3600.0},
    ...          {"subject": "01", "reference": [], "hypothesis": [[900, 910]], "duration": 3600.0}]
    >>> table = score_subjects(items)
    >>> table[["subject", "n_recordings", "tp", "fp", "fa_per_24h"]].to_dict("records")
    [{'subject': '01', 'n_recordings': 2, 'tp': 1, 'fp': 1, 'fa_per_24h': 12.0}]
    """
    pooled: dict[str, EventScore] = {}
    counts: dict[str, int] = {}
    for item in items:
        missing = {"subject", "reference", "hypothesis", "duration"} - set(item)
        if missing:
            raise DataFormatError(f"Each scored recording needs keys {sorted(missing)}.")
        sc = score_events(item["reference"], item["hypothesis"], item["duration"], params)
        subj = str(item["subject"])
        pooled[subj] = pooled[subj] + sc if subj in pooled else sc
        counts[subj] = counts.get(subj, 0) + 1
    rows = [{"subject": s, "n_recordings": counts[s], **sc.as_dict()} for s, sc in pooled.items()]
    return pd.DataFrame(rows)


def average_over_subjects(table: pd.DataFrame) -> dict[str, float]:
    """Mean of each metric over subjects (NaN entries, e.g. no reference event, are skipped).

    Returns
    -------
    dict
        ``sensitivity``, ``precision``, ``f1``, ``fa_per_24h``, ``latency_s`` and
        ``n_subjects``.

    Examples
    --------
    >>> items = [{"subject": "01", "reference": [[100, 160]], "hypothesis": [[110, 150]],
    ...           "duration": 3600.0},
    ...          {"subject": "02", "reference": [[100, 160]], "hypothesis": [], "duration": 3600.0}]
    >>> summary = average_over_subjects(score_subjects(items))
    >>> summary["n_subjects"], summary["sensitivity"]
    (2, 0.5)
    """
    out: dict[str, float] = {"n_subjects": len(table)}
    for name in ("sensitivity", "precision", "f1", "fa_per_24h", "latency_s"):
        vals = table[name].to_numpy(float) if len(table) else np.zeros(0)
        vals = vals[np.isfinite(vals)]
        out[name] = float(vals.mean()) if len(vals) else float("nan")
    return out


def sample_auroc(y_true: Any, y_score: Any) -> float:
    """Window-level AUROC (:func:`sklearn.metrics.roc_auc_score`); NaN when one class only.

    Parameters
    ----------
    y_true : array-like of shape (n_windows,)
        0/1 window labels.
    y_score : array-like of shape (n_windows,)
        Seizure probabilities.

    Examples
    --------
    >>> sample_auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), sample_auroc([0, 0], [0.1, 0.2])
    (0.75, nan)
    """
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true).astype(int).ravel()
    y_score = np.asarray(y_score, dtype=float).ravel()
    if y_true.shape != y_score.shape:
        raise DataFormatError(
            f"y_true and y_score must have the same length; got {len(y_true)} and {len(y_score)}."
        )
    if len(np.unique(y_true)) < 2:
        return float("nan")
    return float(roc_auc_score(y_true, y_score))
