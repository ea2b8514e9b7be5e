"""The seizure report: event metrics, the event timeline, one probability trace, per-subject table.

It reads only the typed :class:`~neurodl.workflows.tasks.seizure.SeizureResult` and the held-out
recordings' traces (window probabilities and events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ...report.wording import column_label
from ..results import TaskResult
from ._shared import report_title

__all__ = ["write_seizure_report"]


def write_seizure_report(
    path: Path,
    *,
    result: TaskResult,
    traces: list[dict[str, Any]],
    config_text: str | None = None,
    title: str | None = None,
) -> Path:
    """The seizure report: event metrics, timeline, one probability trace, per-subject table.

    ``traces`` are the held-out recordings' window probabilities and events
    (:attr:`~neurodl.analyses.seizure.SeizureEvaluation.traces`).

    Examples
    --------
    :func:`~neurodl.workflows.tasks.seizure.run_seizure` calls it when the run has an output
    folder; a small simulated run (3 subjects of 15 min) writes the report beside
    ``results.json``:

    >>> import tempfile
    >>> from pathlib import Path
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
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = run_config(cfg, Path(tmp) / "out")
    ...     html = run.files["report.html"].read_text()
    >>> sorted(run.files)
    ['report.html', 'results.json']
    >>> [title in html for title in ("Event timeline", "Probability trace",
    ...                              "Per-subject metrics")]
    [True, True, True]
    """
    from ...report import Report
    from ...report.figures.seizure import plot_event_timeline, plot_probability_trace

    res = result.to_dict()
    rep = Report(
        report_title(title, res["name"]),
        subtitle=f"{res['dataset']} - seizure detection - {res['protocol']}",
    )
    rep.add_summary(
        {
            "event sensitivity": res["sensitivity"],
            "precision": res["precision"],
            "F1": res["f1"],
            "false alarms / 24 h": res["fa_per_24h"],
            "latency (s)": res["latency_s"],
            "window AUROC": res["auroc"],
        }
    )
    sc = res["scoring"]
    rep.add_section(
        "Result",
        text=(
            f"{res['n_detected']} of {res['n_reference_events']} reference seizure "
            f"events detected and {res['n_false_alarms']} false alarms in "
            f"{res['hours']:.1f} h of recording from {res['n_subjects']} subjects "
            f"({res['protocol']}). Event metrics follow SzCORE: any-overlap with "
            f"{sc['pre_tolerance']:g} s pre-ictal and {sc['post_tolerance']:g} s post-ictal "
            f"tolerance, events closer than {sc['min_gap']:g} s merged, events longer than "
            f"{sc['max_duration']:g} s split; computed per subject, then "
            "averaged. Post-processing (smoothing, threshold, minimum duration, merging) was "
            "tuned on out-of-fold traces of the training subjects only."
        ),
    )
    rows = [
        {
            "label": f"{t['subject']} / {t['recording_id']}",
            "duration": t["duration"],
            "reference": t["reference"],
            "hypothesis": t["hypothesis"],
        }
        for t in traces[: res["options"]["max_timeline_rows"]]
    ]
    rep.add_figure(
        plot_event_timeline(rows),
        title="Event timeline",
        section="Events",
        caption="Black: annotated seizures; red: detections on the held-out subject "
        "(bars at least 20 s wide for visibility).",
    )
    example = ([t for t in traces if len(t["reference"])] or traces)[0]
    pp = example["postprocessing"]
    rep.add_figure(
        plot_probability_trace(example, pp["threshold"], pp["smooth"]),
        title="Probability trace",
        section="Events",
        caption="Window probabilities of one held-out recording, the smoothed trace, the "
        "threshold tuned on the training subjects, reference (grey) and detected (red) events.",
    )
    per_subject = pd.DataFrame(res["per_subject"]).rename(columns=column_label)
    rep.add_table(per_subject, title="Per-subject metrics", section="Metrics")
    rep.add_section("Provenance")
    rep.add_key_values(
        {k: res[k] for k in ("protocol", "model", "seed", "options")},
        title="Run settings",
        section="Provenance",
    )
    if config_text:
        rep.add_code(config_text, title="Config", section="Provenance", language="yaml")
    return rep.save(path, overwrite=True)
