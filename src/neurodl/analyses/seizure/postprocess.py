"""Probability trace -> seizure events: smoothing, threshold, merging, minimum duration.

Post-processing parameters are tuned with :func:`tune_postprocessing` on probability traces of
training/validation recordings only (out-of-fold traces of the training subjects); the test
subject never enters the choice.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...exceptions import ConfigError, DataFormatError
from .scoring import EventScore, ScoringParams, average_over_subjects, score_events

__all__ = [
    "DEFAULT_GRID",
    "OBJECTIVES",
    "PostProcessing",
    "probabilities_to_events",
    "smooth_probabilities",
    "tune_postprocessing",
]


@dataclass(frozen=True)
class PostProcessing:
    """How a window probability trace becomes events.

    Parameters
    ----------
    smooth : int, default=1
        Centred moving average over this many windows (1: none).
    threshold : float, default=0.5
        Windows whose smoothed probability is >= threshold are positive.
    min_duration : float, default=0.0
        Events shorter than this (s, after merging) are dropped.
    merge_gap : float, default=0.0
        Events separated by less than this (s) are merged.

    Examples
    --------
    >>> pp = PostProcessing(smooth=3, threshold=0.5, min_duration=4.0)
    >>> probabilities_to_events([0, 2, 4, 6, 8], [0.1, 0.9, 0.8, 0.7, 0.1], window=2.0, params=pp)
    array([[2., 8.]])
    """

    smooth: int = 1
    threshold: float = 0.5
    min_duration: float = 0.0
    merge_gap: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.smooth, float) and self.smooth.is_integer():
            object.__setattr__(self, "smooth", int(self.smooth))  # 3.0 from a config is 3
        if not isinstance(self.smooth, int | np.integer) or self.smooth < 1:
            raise ConfigError(
                f"Invalid value for 'smooth'. Allowed: an integer >= 1 (windows); "
                f"got {self.smooth!r}."
            )
        if not (0.0 <= float(self.threshold) <= 1.0):
            raise ConfigError(
                f"Invalid value for 'threshold'. Allowed: a number in [0, 1]; "
                f"got {self.threshold!r}."
            )
        for name in ("min_duration", "merge_gap"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ConfigError(
                    f"Invalid value for {name!r}. Allowed: seconds >= 0; got {value!r}."
                )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Default search grid for :func:`tune_postprocessing`.
DEFAULT_GRID: dict[str, list[Any]] = {
    "smooth": [1, 3, 5, 9],
    "threshold": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    "min_duration": [0.0, 6.0, 10.0, 16.0],
    "merge_gap": [0.0, 10.0, 30.0],
}


def smooth_probabilities(proba: Any, k: int) -> np.ndarray:
    """Centred moving average over ``k`` windows (edges use the nearest value).

    Parameters
    ----------
    proba : array-like of shape (n_windows,)
    k : int

    Returns
    -------
    ndarray of shape (n_windows,)

    Examples
    --------
    >>> smooth_probabilities([0.0, 0.0, 0.9, 0.0, 0.0], 3).round(2).tolist()
    [0.0, 0.3, 0.3, 0.3, 0.0]
    """
    from scipy.ndimage import uniform_filter1d

    p = np.asarray(proba, dtype=float).ravel()
    if k <= 1 or len(p) == 0:
        return p.copy()
    return uniform_filter1d(p, size=int(k), mode="nearest")


def probabilities_to_events(
    onsets: Any,
    proba: Any,
    *,
    window: float,
    stride: float | None = None,
    params: PostProcessing | None = None,
) -> np.ndarray:
    """Turn one recording's window probabilities into (onset, offset) events in seconds.

    Each window stands for the ``stride``-long stretch centred on its centre, so runs of
    consecutive positive windows become contiguous events.

    Parameters
    ----------
    onsets : array-like of shape (n_windows,)
        Window starts in seconds, increasing.
    proba : array-like of shape (n_windows,)
        Seizure probability of each window.
    window : float
        Window length in seconds.
    stride : float or None
        Step between windows in seconds (default ``window``).
    params : PostProcessing, optional

    Returns
    -------
    events : ndarray of shape (n_events, 2)

    Examples
    --------
    >>> probabilities_to_events([0, 2, 4, 6], [0.1, 0.9, 0.8, 0.1], window=2.0).tolist()
    [[2.0, 6.0]]
    """
    params = params or PostProcessing()
    onsets = np.asarray(onsets, dtype=float).ravel()
    p = np.asarray(proba, dtype=float).ravel()
    if onsets.shape != p.shape:
        raise DataFormatError(
            f"onsets and proba must have the same length; got {len(onsets)} and {len(p)}."
        )
    if len(onsets) > 1 and (np.diff(onsets) <= 0).any():
        raise DataFormatError("Window onsets must be strictly increasing.")
    stride = float(window if stride is None else stride)
    pos = smooth_probabilities(p, params.smooth) >= params.threshold
    if not pos.any():
        return np.zeros((0, 2))
    centre = onsets + window / 2.0
    edges = np.diff(np.r_[0, pos.astype(np.int8), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    events: list[list[float]] = []
    for a, b in zip(starts, stops):
        on, off = centre[a] - stride / 2.0, centre[b] + stride / 2.0
        if events and on - events[-1][1] < params.merge_gap:
            events[-1][1] = off
        else:
            events.append([max(on, 0.0), off])
    ev = np.asarray(events, dtype=float).reshape(-1, 2)
    return ev[(ev[:, 1] - ev[:, 0]) >= params.min_duration]


def _objective_key(objective: str, fa_budget: float) -> Any:
    def key(m: Mapping[str, float]) -> tuple[float, ...]:
        sens, f1, fa = (np.nan_to_num(m[k], nan=0.0) for k in ("sensitivity", "f1", "fa_per_24h"))
        within = float(m["fa_per_24h"] <= fa_budget)
        if objective == "sensitivity":
            return (within, sens, -fa, f1)
        return (within, f1, sens, -fa)

    return key


def _plateau_medoid(results: pd.DataFrame, tied: np.ndarray) -> int:
    """Index of the tied setting closest to the centre of the tied plateau.

    Settings that tie on the objective form a plateau in the grid. Its extreme corner (e.g. the
    highest threshold with the longest minimum duration and the most smoothing) is fragile on
    unseen subjects in one direction (short seizures are lost), its opposite corner in the
    other (false alarms); the centre keeps a margin both ways. Each parameter is mapped to its
    rank in the grid scaled to [0, 1]; the tied setting with the smallest L1 distance to the
    per-parameter median of the plateau wins (first in grid order on ties).
    """
    names = list(DEFAULT_GRID)
    coords = []
    for name in names:
        values = np.sort(results[name].unique())
        scale = max(len(values) - 1, 1)
        coords.append(np.searchsorted(values, results[name].to_numpy()) / scale)
    R = np.column_stack(coords)[tied]
    dist = np.abs(R - np.median(R, axis=0)).sum(axis=1)
    return int(tied[int(np.argmin(dist))])


#: Tuning objectives: maximise this metric among settings within the false-alarm budget.
OBJECTIVES = {
    "sensitivity": "event sensitivity within the false-alarm budget (ties: fewer false alarms)",
    "f1": "event F1 within the false-alarm budget (ties: higher sensitivity)",
    # Settings still tied after these criteria: the centre of the tied plateau (_plateau_medoid).
}


def tune_postprocessing(
    traces: Sequence[Mapping[str, Any]],
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    objective: str = "sensitivity",
    fa_budget: float = 1.0,
    scoring: ScoringParams | None = None,
) -> tuple[PostProcessing, pd.DataFrame]:
    """Grid-search post-processing on validation traces (never the test subject's).

    Parameters
    ----------
    traces : sequence of dict
        One per validation recording: ``subject``, ``onsets``, ``proba``, ``reference``
        ((n, 2) events), ``duration`` (s), ``window``, ``stride``.
    grid : dict of str to list, optional
        Values of ``smooth``, ``threshold``, ``min_duration``, ``merge_gap`` to try (missing
        keys take :data:`DEFAULT_GRID`).
    objective : {"sensitivity", "f1"}, default="sensitivity"
        Metric (averaged over subjects) to maximise among settings whose mean false alarms
        per 24 h are <= ``fa_budget``; if none is within budget, the fewest false alarms win.
        Settings still tied are resolved towards the centre of the tied region of the grid
        (median rank of each parameter), not its most or least conservative corner.
    fa_budget : float, default=1.0
    scoring : ScoringParams, optional

    Returns
    -------
    best : PostProcessing
    table : DataFrame
        One row per setting with its mean sensitivity, precision, f1, fa_per_24h.

    Examples
    --------
    >>> trace = {"subject": "01", "onsets": np.arange(0.0, 100.0, 2.0), "duration": 100.0,
    ...          "window": 2.0, "stride": 2.0, "reference": np.array([[40.0, 60.0]]),
    ...          "proba": np.where((np.arange(50) >= 20) & (np.arange(50) < 30), 0.8, 0.3)}
    >>> best, table = tune_postprocessing([trace], grid={"threshold": [0.2, 0.5, 0.9]})
    >>> best.threshold, len(table)
    (0.5, 144)
    """
    if objective not in OBJECTIVES:
        raise ConfigError(
            f"Invalid value for 'objective'. Allowed: {', '.join(map(repr, OBJECTIVES))}; "
            f"got {objective!r}."
        )
    if not traces:
        raise DataFormatError("tune_postprocessing needs at least one validation trace; got 0.")
    grid = {**DEFAULT_GRID, **dict(grid or {})}
    unknown = set(grid) - set(DEFAULT_GRID)
    if unknown:
        raise ConfigError(
            f"Unknown post-processing grid key(s) {sorted(unknown)}. Allowed: {list(DEFAULT_GRID)}."
        )
    rows = []
    for smooth, thr, mind, gap in itertools.product(
        grid["smooth"], grid["threshold"], grid["min_duration"], grid["merge_gap"]
    ):
        pp = PostProcessing(int(smooth), float(thr), float(mind), float(gap))
        per_subject: dict[str, EventScore] = {}
        for tr in traces:
            hyp = probabilities_to_events(
                tr["onsets"], tr["proba"], window=tr["window"], stride=tr.get("stride"), params=pp
            )
            sc = score_events(tr["reference"], hyp, tr["duration"], scoring)
            s = str(tr["subject"])
            per_subject[s] = per_subject[s] + sc if s in per_subject else sc
        table = pd.DataFrame([sc.as_dict() for sc in per_subject.values()])
        rows.append({**pp.as_dict(), **average_over_subjects(table)})
    results = pd.DataFrame(rows)
    key = _objective_key(objective, fa_budget)
    keys = [key(row) for row in rows]
    top = max(keys)
    best_i = _plateau_medoid(results, np.flatnonzero([k == top for k in keys]))
    best = results.iloc[best_i]
    chosen = PostProcessing(
        int(best["smooth"]),
        float(best["threshold"]),
        float(best["min_duration"]),
        float(best["merge_gap"]),
    )
    return chosen, results
