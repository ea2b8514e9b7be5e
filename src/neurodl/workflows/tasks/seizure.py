"""The ``seizure`` task: continuous recordings -> window detector -> events -> SzCORE scores.

Recordings come from ``data`` (the ``continuous_seizures`` simulator, a file or a dataset that
gives Recording objects); optional ``options.annotations`` attaches an annotation file (a
CHB-MIT ``.seizures`` file or a CSV/TSV with ``onset`` and ``duration`` columns) and
``options.label_map`` renames annotation labels to the seizure label. Evaluation is
leave-one-subject-out (leave-one-recording-out when all recordings share one subject), with
post-processing tuned inside each training set only. The window classifier is ``model``; the
protocol and scoring are the task's own, so no ``evaluation`` or ``preprocessing`` is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..._logging import logger
from ...exceptions import ConfigError, DataFormatError
from .._progress import progress_bar
from ..config import RunConfig, TaskOptions
from ..data import load_data
from ..registry import RunContext, register_task
from ..results import TaskResult
from ._shared import array_hash, fmt, versions

__all__ = ["SeizureOptions", "SeizureResult", "load_recordings", "run_seizure"]


class SeizureOptions(TaskOptions):
    """Options of the ``seizure`` task (the window classifier is ``model.name``/``params``).

    Examples
    --------
    2-s windows every second, scored with the SzCORE defaults; the post-processing is tuned
    unless it is fixed:

    >>> opts = SeizureOptions.model_validate(
    ...     {"window": 2.0, "stride": 1.0, "label_map": {"sz": "seizure"}}
    ... )
    >>> opts.window, opts.stride, opts.objective, opts.fa_budget, opts.postprocessing
    (2.0, 1.0, 'sensitivity', 1.0, None)
    >>> opts.pre_tolerance, opts.post_tolerance, opts.min_gap, opts.max_duration
    (30.0, 60.0, 90.0, 300.0)
    >>> from pydantic import ValidationError
    >>> try:
    ...     SeizureOptions.model_validate({"objective": "auroc"})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Input should be 'sensitivity' or 'f1'
    """

    window: float = Field(4.0, gt=0)
    """Window length in s of the window classifier."""
    stride: float = Field(2.0, gt=0)
    """Step between window starts in s."""
    features: list[str] = Field(
        default_factory=lambda: ["line_length", "bandpower", "relative_bandpower"]
    )
    """Window feature families: 'line_length', 'variance', 'bandpower', 'relative_bandpower'
    (ignored by models that take signals)."""
    bands: list[tuple[float, float]] | None = None
    """Frequency bands in Hz (low, high) of the band-power features; None: 0.5-2.5, 2.5-7, 7-13,
    13-30, 30-45 (bands above Nyquist dropped)."""
    postprocessing_grid: dict[str, list[float]] | None = None
    """Values tried when tuning the post-processing, by key 'smooth' (windows), 'threshold',
    'min_duration' (s), 'merge_gap' (s); missing keys take the default grid."""
    postprocessing: dict[str, float] | None = None
    """Fixed post-processing (keys smooth, threshold, min_duration, merge_gap) instead of tuning it;
    None: tuned on out-of-fold traces of the training subjects."""
    objective: Literal["sensitivity", "f1"] = "sensitivity"
    """Metric maximised when tuning the post-processing within the false-alarm budget: 'sensitivity'
    or 'f1'."""
    fa_budget: float = Field(1.0, ge=0)
    """False alarms per 24 h allowed while tuning the post-processing."""
    inner_splits: int = Field(3, ge=2)
    """Folds (by subject, else by recording) of the out-of-fold traces the post-processing is tuned
    on."""
    pre_tolerance: float = Field(30.0, ge=0)
    """SzCORE scoring: tolerance in s before a reference onset."""
    post_tolerance: float = Field(60.0, ge=0)
    """SzCORE scoring: tolerance in s after a reference end."""
    min_gap: float = Field(90.0, ge=0)
    """SzCORE scoring: events closer than this (s) are merged (reference and detections separately).
    """
    max_duration: float = Field(300.0, gt=0)
    """SzCORE scoring: events longer than this (s) are split into chunks of this length."""
    label: str = "seizure"
    """Annotation label of the seizure events (the positive class)."""
    label_map: dict[str, str] = Field(default_factory=dict)
    """Renames annotation labels (old -> new) before 'label' is matched, e.g. {'sz': 'seizure'}."""
    annotations: str | None = None
    """Extra annotation file added to every recording: a CHB-MIT .seizures file or a CSV/TSV with
    onset and duration (s) and optionally label; None: the recordings' own."""
    max_timeline_rows: int = Field(16, ge=1)
    """Recordings drawn as timelines in the report (at most)."""


class SeizureResult(TaskResult):
    """Result of the ``seizure`` task (``results.json``).

    Event metrics (SzCORE any-overlap) are computed per held-out subject and averaged; the
    headline ``score_mean`` is the event F1 (``metric`` ``event_f1``; a detector that never
    fires scores 0, the ``chance_level``), ``n_splits`` the number of held-out subjects.
    ``per_subject`` holds one row of metrics per subject, ``events`` the reference and detected
    events of every recording with the post-processing tuned for it.

    Examples
    --------
    The fields this task adds to every result's (:func:`run_seizure` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in SeizureResult.model_fields if k not in TaskResult.model_fields][:8]
    ['model', 'sensitivity', 'precision', 'f1', 'fa_per_24h', 'latency_s', 'auroc', 'auroc_pooled']
    >>> SeizureResult.model_fields["task"].default
    'seizure'
    """

    task: Literal["seizure"] = "seizure"
    model: str
    sensitivity: float | None
    precision: float | None
    f1: float | None
    fa_per_24h: float | None
    latency_s: float | None
    auroc: float | None
    auroc_pooled: float | None
    n_subjects: int
    n_recordings: int
    n_reference_events: int
    n_detected: int
    n_false_alarms: int
    hours: float
    per_subject: list[dict[str, Any]]
    events: list[dict[str, Any]]
    scoring: dict[str, float]
    options: dict[str, Any]

    def summary_lines(self) -> list[str]:
        """Dataset/protocol/model, the event metrics and the event counts."""
        return [
            f"{self.dataset} | {self.protocol} | seizure detection with {self.model}",
            f"event sensitivity {fmt(self.sensitivity)}, precision {fmt(self.precision)}, "
            f"F1 {fmt(self.f1)}; false alarms / 24 h {fmt(self.fa_per_24h)}; "
            f"latency {fmt(self.latency_s, '.1f')} s; window AUROC {fmt(self.auroc)}",
            f"{self.n_detected} of {self.n_reference_events} reference events detected, "
            f"{self.n_false_alarms} false alarms in {self.hours:.1f} h from "
            f"{self.n_subjects} subjects ({self.n_recordings} recordings)",
        ]


def _read_annotations(path: str) -> Any:
    from ...data import Annotations

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"options.annotations: file {path!r} does not exist.")
    if p.name.endswith(".seizures"):
        from ...io.eeg import read_chbmit_seizures

        return read_chbmit_seizures(p, sfreq=None)
    sep = "\t" if p.suffix.lower() == ".tsv" else ","
    df = pd.read_csv(p, sep=sep)
    if not {"onset", "duration"} <= set(df.columns):
        raise DataFormatError(
            f"{p}: an annotation table needs columns 'onset' and 'duration' (and optionally "
            f"'label'); got {list(df.columns)}."
        )
    labels = df["label"].astype(str) if "label" in df else ["seizure"] * len(df)
    return Annotations(df["onset"], df["duration"], labels)


def load_recordings(cfg: RunConfig, opts: SeizureOptions) -> tuple[list[Any], str]:
    """Load the configured data as a list of Recording with seizure annotations.

    Examples
    --------
    Three simulated subjects of 15 min each, one continuous recording per subject with its
    seizure annotations:

    >>> from neurodl.workflows import parse_config
    >>> cfg = parse_config({
    ...     "task": "seizure", "seed": 0,
    ...     "data": {"source": "simulate", "simulator": "continuous_seizures",
    ...              "params": {"n_subjects": 3, "duration_hours": 0.25, "n_channels": 4,
    ...                         "sfreq": 128.0, "seizures_per_hour": 2.0}},
    ...     "model": {"name": "logistic_regression"},
    ...     "options": {"inner_splits": 2, "postprocessing_grid": {
    ...         "smooth": [1, 3], "threshold": [0.5, 0.8], "min_duration": [0, 10],
    ...         "merge_gap": [10]}},
    ... })
    >>> recs, name = load_recordings(cfg, cfg.task_options())
    >>> name, len(recs)
    ('simulated:continuous_seizures', 3)
    >>> rec = recs[0]
    >>> rec.subject, rec.data.shape, rec.sfreq, rec.duration
    ('01', (4, 115200), 128.0, 900.0)
    >>> sorted(set(rec.annotations.label))
    ['seizure']
    """
    from ...data import Annotations, Recording

    obj, name = load_data(cfg.data, seed=cfg.seed)
    recs = [obj] if isinstance(obj, Recording) else list(obj) if isinstance(obj, list) else None
    if not recs or not all(isinstance(r, Recording) for r in recs):
        raise DataFormatError(
            f"The seizure task needs continuous recordings (Recording objects); {name} gave "
            f"{type(obj).__name__}. Do not set data.to_samples for this task."
        )
    out = []
    for rec in recs:
        rec = rec.copy() if (opts.annotations or opts.label_map) else rec
        if opts.annotations:
            extra = _read_annotations(opts.annotations)
            keep = extra.onset < rec.duration
            if (~keep).any():
                logger.info(
                    "%d annotation(s) start after the end of %s (%.1f s) and are dropped.",
                    int((~keep).sum()),
                    rec.recording_id,
                    rec.duration,
                )
            a = rec.annotations
            rec.annotations = Annotations(
                np.r_[a.onset, extra.onset[keep]],
                np.r_[a.duration, np.minimum(extra.duration, rec.duration - extra.onset)[keep]],
                np.r_[a.label, extra.label[keep]],
            )
        if opts.label_map:
            a = rec.annotations
            labels = np.array([opts.label_map.get(str(x), str(x)) for x in a.label], dtype=object)
            rec.annotations = Annotations(a.onset, a.duration, labels)
        out.append(rec)
    return out, name


def _detector(cfg: RunConfig, opts: SeizureOptions) -> Any:
    from ...analyses.seizure import DEFAULT_BANDS, PostProcessing, ScoringParams, SeizureDetector

    try:
        fixed = PostProcessing(**opts.postprocessing) if opts.postprocessing else None
    except TypeError as err:
        raise ConfigError(f"Invalid options.postprocessing: {err}.") from None
    return SeizureDetector(
        window=opts.window,
        stride=opts.stride,
        estimator=cfg.model.name,
        estimator_params=cfg.model.params,
        features=tuple(opts.features),
        bands=opts.bands or DEFAULT_BANDS,
        postprocessing=fixed,
        grid=opts.postprocessing_grid,
        objective=opts.objective,
        fa_budget=opts.fa_budget,
        inner_splits=opts.inner_splits,
        scoring=ScoringParams(
            opts.pre_tolerance, opts.post_tolerance, opts.min_gap, opts.max_duration
        ),
        label=opts.label,
        seed=cfg.seed,
    )


def _recordings_hash(recs: list[Any]) -> str:
    """Identity of the recordings: their signals, rates, subjects and annotations."""
    parts: list[Any] = []
    for r in recs:
        a = r.annotations
        parts += [r.data, [r.sfreq], [str(r.subject), r.recording_id], a.onset, a.duration, a.label]
    return array_hash(*parts)


@register_task(
    "seizure",
    options=SeizureOptions,
    result=SeizureResult,
    reads=("data", "model", "options"),
    description="seizure event detection on continuous recordings, scored with SzCORE (LOSO)",
)
def run_seizure(ctx: RunContext) -> SeizureResult:
    """Run the seizure task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``).
    Three simulated subjects of 15 min, left out one at a time; the post-processing is tuned
    on the training subjects only:

    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({
    ...     "task": "seizure", "seed": 0,
    ...     "data": {"source": "simulate", "simulator": "continuous_seizures",
    ...              "params": {"n_subjects": 3, "duration_hours": 0.25, "n_channels": 4,
    ...                         "sfreq": 128.0, "seizures_per_hour": 2.0}},
    ...     "model": {"name": "logistic_regression"},
    ...     "options": {"inner_splits": 2, "postprocessing_grid": {
    ...         "smooth": [1, 3], "threshold": [0.5, 0.8], "min_duration": [0, 10],
    ...         "merge_gap": [10]}},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.protocol, res.n_subjects, res.n_splits, res.metric, res.chance_level
    ('leave-one-subject-out', 3, 3, 'event_f1', 0.0)
    >>> len(res.per_subject), res.score_mean == res.f1
    (3, True)
    >>> res.n_detected == res.n_reference_events == 3  # every planted seizure found
    True
    """
    from ...analyses.seizure import evaluate_loso

    cfg, opts = ctx.cfg, ctx.options
    recs, ds_name = load_recordings(cfg, opts)
    data_hash = _recordings_hash(recs)
    det = _detector(cfg, opts)
    subjects = {r.subject for r in recs}
    protocol = "leave-one-subject-out"
    if len(subjects) < 2:
        protocol = "leave-one-recording-out"
        recs = [r.copy() for r in recs]
        for r in recs:
            r.subject = r.recording_id
    with progress_bar("seizure LOSO") as cb:
        ev = evaluate_loso(recs, det, progress=cb)
    ev.protocol = protocol
    s = ev.summary
    result = SeizureResult.create(
        task="seizure",
        name=cfg.name,
        dataset=ds_name,
        protocol=protocol,
        # the headline score is event F1; a detector that never fires scores 0
        metric="event_f1",
        score_mean=s["f1"],
        chance_level=0.0,
        n_splits=int(ev.per_subject.shape[0]),
        seed=cfg.seed,
        versions=versions(),
        data_hash=data_hash,
        model=cfg.model.name,
        **{k: s[k] for k in ("sensitivity", "precision", "f1", "fa_per_24h", "latency_s")},
        auroc=s["auroc"],
        auroc_pooled=s["auroc_pooled"],
        n_subjects=s["n_subjects"],
        n_recordings=len(recs),
        n_reference_events=s["n_reference_events"],
        n_detected=s["n_detected"],
        n_false_alarms=s["n_false_alarms"],
        hours=s["hours"],
        per_subject=ev.per_subject.to_dict(orient="records"),
        events=[
            {
                "subject": t["subject"],
                "recording": t["recording_id"],
                "duration_s": t["duration"],
                "reference": np.asarray(t["reference"]).tolist(),
                "detected": np.asarray(t["hypothesis"]).tolist(),
                "postprocessing": t["postprocessing"],
            }
            for t in ev.traces
        ],
        scoring={
            "pre_tolerance": opts.pre_tolerance,
            "post_tolerance": opts.post_tolerance,
            "min_gap": opts.min_gap,
            "max_duration": opts.max_duration,
        },
        options=opts.model_dump(),
    )
    if ctx.write_report:
        from .seizure_report import write_seizure_report

        write_seizure_report(
            ctx.out_dir / "report.html",
            result=result,
            traces=ev.traces,
            config_text=ctx.config_text,
            title=cfg.report.title,
        )
    return result
