"""Seizure-detection figures: event timelines per recording and probability traces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._base import _new_figure

__all__ = ["plot_event_timeline", "plot_probability_trace"]


def plot_event_timeline(
    rows: Sequence[dict[str, Any]], *, title: str = "Seizure events: reference vs detected"
) -> Any:
    """One row per recording: reference events (top) and detected events (bottom).

    Parameters
    ----------
    rows : list of dict
        Each with ``label`` (str), ``duration`` (s), ``reference`` and ``hypothesis``
        (arrays of shape (n, 2), seconds).

    title : str, default="Seizure events: reference vs detected"

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes with one row per recording.

    Examples
    --------
    Two one-hour recordings: one seizure detected (plus a false alarm), one seizure-free:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_event_timeline
    >>> rows = [{"label": "chb01_03", "duration": 3600.0, "reference": [[2996, 3036]],
    ...          "hypothesis": [[2990, 3040], [600, 620]]},
    ...         {"label": "chb01_04", "duration": 3600.0, "reference": np.zeros((0, 2)),
    ...          "hypothesis": np.zeros((0, 2))}]
    >>> fig = plot_event_timeline(rows)
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()]  # first recording on top
    ['chb01_04', 'chb01_03']
    >>> len(ax.collections), ax.get_xlabel()  # one bar per event
    (3, 'time (h)')
    """
    from matplotlib.patches import Patch

    fig = _new_figure(10, 0.55 * len(rows) + 1.4, pad=False)
    ax = fig.add_subplot()
    for i, row in enumerate(rows):
        y = len(rows) - 1 - i
        hours = row["duration"] / 3600.0
        ax.plot([0, hours], [y, y], color="0.85", lw=1, zorder=0)
        for on, off in np.asarray(row["reference"]).reshape(-1, 2):
            ax.broken_barh([(on / 3600, max(off - on, 20) / 3600)], (y + 0.05, 0.3), color="k")
        for on, off in np.asarray(row["hypothesis"]).reshape(-1, 2):
            ax.broken_barh(
                [(on / 3600, max(off - on, 20) / 3600)], (y - 0.35, 0.3), color="tab:red"
            )
    ax.set_yticks(range(len(rows)), [r["label"] for r in rows][::-1])
    ax.set_xlabel("time (h)")
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_title(title)
    ax.legend(
        handles=[Patch(color="k", label="reference"), Patch(color="tab:red", label="detected")],
        loc="upper right",
        fontsize=8,
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def plot_probability_trace(trace: dict[str, Any], threshold: float, smooth: int) -> Any:
    """The seizure probability of one recording with its reference and detected events.

    Parameters
    ----------
    trace : dict
        ``onsets`` (ndarray of shape (n_windows,), s), ``window`` (window length, s),
        ``proba`` (ndarray of shape (n_windows,)), ``reference`` and ``hypothesis`` (arrays of
        shape (n, 2): event onsets and offsets, s), ``recording_id`` and ``subject``.
    threshold : float
        Detection threshold on the smoothed probability (dashed line).
    smooth : int
        Smoothing length in windows (:func:`neurodl.analyses.seizure.smooth_probabilities`).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes: raw and smoothed probability, threshold, reference spans, detected bars.

    Examples
    --------
    Ten minutes of 4 s windows every 2 s, the probability high during a 40 s seizure:

    >>> import numpy as np
    >>> from neurodl.report.figures import plot_probability_trace
    >>> onsets = np.arange(0.0, 600.0, 2.0)
    >>> trace = {"onsets": onsets, "window": 4.0,
    ...          "proba": np.where((onsets > 300) & (onsets < 340), 0.9, 0.1),
    ...          "reference": [[300, 340]], "hypothesis": [[302, 342]],
    ...          "recording_id": "chb01_03", "subject": "chb01"}
    >>> fig = plot_probability_trace(trace, threshold=0.5, smooth=5)
    >>> ax = fig.axes[0]
    >>> ax.get_title()
    'Probability trace: chb01_03 (held-out subject chb01)'
    >>> ax.get_legend_handles_labels()[1]
    ['window probability', 'smoothed', 'threshold 0.5', 'reference', 'detected']
    """
    from ...analyses.seizure import smooth_probabilities

    fig = _new_figure(10, 3.0, pad=False)
    ax = fig.add_subplot()
    t = (trace["onsets"] + trace["window"] / 2) / 60.0
    ax.plot(t, trace["proba"], color="0.6", lw=0.6, label="window probability")
    ax.plot(
        t, smooth_probabilities(trace["proba"], smooth), color="tab:blue", lw=1.0, label="smoothed"
    )
    ax.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"threshold {threshold:g}")
    for k, (on, off) in enumerate(np.asarray(trace["reference"]).reshape(-1, 2)):
        ax.axvspan(on / 60, off / 60, color="k", alpha=0.15, label="reference" if k == 0 else None)
    for k, (on, off) in enumerate(np.asarray(trace["hypothesis"]).reshape(-1, 2)):
        ax.plot(
            [on / 60, off / 60],
            [1.04, 1.04],
            color="tab:red",
            lw=4,
            label="detected" if k == 0 else None,
        )
    ax.set_ylim(-0.02, 1.1)
    ax.set_xlabel("time (min)")
    ax.set_ylabel("P(seizure)")
    ax.set_title(
        f"Probability trace: {trace['recording_id']} (held-out subject {trace['subject']})"
    )
    ax.legend(loc="upper left", fontsize=7, ncol=5)
    return fig
