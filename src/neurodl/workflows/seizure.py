"""The seizure task: continuous recordings -> window detector -> events -> SzCORE scores.

Recordings come from ``data`` (the ``continuous_seizures`` simulator, a file or a dataset that
gives Recording objects); optional ``options.annotations`` attaches an annotation file (a
CHB-MIT ``.seizures`` file or a CSV/TSV with ``onset`` and ``duration`` columns) and
``options.label_map`` renames annotation labels to the seizure label. Evaluation is
leave-one-subject-out (leave-one-recording-out when all recordings share one subject), with
post-processing tuned inside each training set only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError
from ..report.figures.seizure import plot_event_timeline, plot_probability_trace
from ._progress import progress_bar
from .config import RunConfig, TaskOptions

__all__ = [
    "SeizureOptions",
    "load_recordings",
    "plot_event_timeline",
    "plot_probability_trace",
    "run_seizure",
]


class SeizureOptions(TaskOptions):
    """Options of the ``seizure`` task (the window classifier is ``model.name``/``params``)."""

    window: float = Field(4.0, gt=0)
    stride: float = Field(2.0, gt=0)
    features: list[str] = Field(
        default_factory=lambda: ["line_length", "bandpower", "relative_bandpower"]
    )
    bands: list[tuple[float, float]] | None = None
    postprocessing_grid: dict[str, list[float]] | None = None
    postprocessing: dict[str, float] | None = None
    objective: Literal["sensitivity", "f1"] = "sensitivity"
    fa_budget: float = Field(1.0, ge=0)
    inner_splits: int = Field(3, ge=2)
    pre_tolerance: float = Field(30.0, ge=0)
    post_tolerance: float = Field(60.0, ge=0)
    min_gap: float = Field(90.0, ge=0)
    max_duration: float = Field(300.0, gt=0)
    label: str = "seizure"
    label_map: dict[str, str] = Field(default_factory=dict)
    annotations: str | None = None
    max_timeline_rows: int = Field(16, ge=1)


def _read_annotations(path: str, sfreq: float) -> Any:
    from ..data import Annotations

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"options.annotations: file {path!r} does not exist.")
    if p.name.endswith(".seizures"):
        from ..io.eeg import read_chbmit_seizures

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
    """Load the configured data as a list of Recording with seizure annotations."""
    from ..data import Annotations, Recording
    from .run import load_data

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
            extra = _read_annotations(opts.annotations, rec.sfreq)
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


def _write_report(
    path: Path, results: dict[str, Any], ev: Any, cfg: RunConfig, config_text: str | None
) -> None:
    from ..report import Report

    rep = Report(
        cfg.report.title or f"neurodl: {results['name']}",
        subtitle=f"{results['dataset']} - seizure detection - {results['protocol']}",
    )
    rep.add_summary(
        {
            "event sensitivity": results["sensitivity"],
            "precision": results["precision"],
            "F1": results["f1"],
            "false alarms / 24 h": results["fa_per_24h"],
            "latency (s)": results["latency_s"],
            "window AUROC": results["auroc"],
        }
    )
    rep.add_section(
        "Result",
        text=(
            f"{results['n_detected']} of {results['n_reference_events']} reference seizure "
            f"events detected and {results['n_false_alarms']} false alarms in "
            f"{results['hours']:.1f} h of recording from {results['n_subjects']} subjects "
            f"({results['protocol']}). Event metrics follow SzCORE: any-overlap with "
            f"{results['scoring']['pre_tolerance']:g} s pre-ictal and "
            f"{results['scoring']['post_tolerance']:g} s post-ictal tolerance, events closer "
            f"than {results['scoring']['min_gap']:g} s merged, events longer than "
            f"{results['scoring']['max_duration']:g} s split; computed per subject, then "
            "averaged. Post-processing (smoothing, threshold, minimum duration, merging) was "
            "tuned on out-of-fold traces of the training subjects only."
        ),
    )
    traces = ev.traces
    rows = [
        {
            "label": f"{t['subject']} / {t['recording_id']}",
            "duration": t["duration"],
            "reference": t["reference"],
            "hypothesis": t["hypothesis"],
        }
        for t in traces[: cfg.task_options().max_timeline_rows]
    ]
    rep.add_figure(
        plot_event_timeline(rows),
        title="Event timeline",
        section="Events",
        caption="Black: annotated seizures; red: detections on the held-out subject "
        "(bars at least 20 s wide for visibility).",
    )
    with_ref = [t for t in traces if len(t["reference"])] or traces
    example = with_ref[0]
    pp = example["postprocessing"]
    rep.add_figure(
        plot_probability_trace(example, pp["threshold"], pp["smooth"]),
        title="Probability trace",
        section="Events",
        caption="Window probabilities of one held-out recording, the smoothed trace, the "
        "threshold tuned on the training subjects, reference (grey) and detected (red) events.",
    )
    rep.add_table(
        pd.DataFrame(results["per_subject"]),
        title="Per-subject metrics",
        section="Metrics",
    )
    rep.add_section("Provenance")
    rep.add_key_values(
        {k: results[k] for k in ("protocol", "model", "seed", "options") if k in results},
        title="Run settings",
        section="Provenance",
    )
    if config_text:
        rep.add_code(config_text, title="Config", section="Provenance", language="yaml")
    rep.save(path, overwrite=True)


def _detector(cfg: RunConfig, opts: SeizureOptions) -> Any:
    from ..analyses.seizure import DEFAULT_BANDS, PostProcessing, ScoringParams, SeizureDetector

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


def run_seizure(cfg: RunConfig, out_dir: Path | None, config_text: str | None) -> dict[str, Any]:
    """Run the seizure task; write ``report.html`` into ``out_dir`` (if given)."""
    from ..analyses.seizure import evaluate_loso

    opts: SeizureOptions = cfg.task_options()
    recs, ds_name = load_recordings(cfg, opts)
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
    per_subject = ev.per_subject.to_dict(orient="records")
    results: dict[str, Any] = {
        "task": cfg.task,
        "name": cfg.name,
        "dataset": ds_name,
        "protocol": protocol,
        "model": cfg.model.name,
        **{k: ev.summary[k] for k in ("sensitivity", "precision", "f1", "fa_per_24h", "latency_s")},
        "auroc": ev.summary["auroc"],
        # Keys shared with the decoding task (CLI summary): the headline score is event F1;
        # a detector that never fires scores 0.
        "metric": "event_f1",
        "score_mean": ev.summary["f1"],
        "chance_level": 0.0,
        "n_splits": int(ev.per_subject.shape[0]),
        "auroc_pooled": ev.summary["auroc_pooled"],
        "n_subjects": ev.summary["n_subjects"],
        "n_recordings": len(recs),
        "n_reference_events": ev.summary["n_reference_events"],
        "n_detected": ev.summary["n_detected"],
        "n_false_alarms": ev.summary["n_false_alarms"],
        "hours": ev.summary["hours"],
        "per_subject": per_subject,
        "events": [
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
        "scoring": {
            "pre_tolerance": opts.pre_tolerance,
            "post_tolerance": opts.post_tolerance,
            "min_gap": opts.min_gap,
            "max_duration": opts.max_duration,
        },
        "options": opts.model_dump(),
        "seed": cfg.seed,
    }
    if out_dir is not None and cfg.report.enabled:
        from .run import jsonable

        _write_report(out_dir / "report.html", jsonable(results), ev, cfg, config_text)
    return results
