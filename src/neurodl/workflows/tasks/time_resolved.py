"""The ``time_resolved`` task: sliding-window decoding of epochs and a cue-locked TRF.

A thin runner over :func:`~neurodl.analyses.encoding.time_resolved.time_resolved_decoding`
(stratified K-fold, percentile-bootstrap CIs over trials, the chance line) and
:func:`~neurodl.analyses.encoding.trf.fit_trf` (cue impulse per class -> every channel). It
reads ``evaluation.n_boot`` and ``evaluation.ci``; the classifier is the library's own
(standardise + shrinkage LDA), so no ``model`` section is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ...exceptions import DataFormatError
from .._progress import progress_bar
from ..config import TaskOptions
from ..data import load_samples
from ..registry import RunContext, register_task
from ..results import TaskResult
from ._shared import fmt, report_title, versions

__all__ = ["TimeResolvedOptions", "TimeResolvedResult", "run_time_resolved"]


class TimeResolvedOptions(TaskOptions):
    """Sliding-window decoding and a TRF of the cue response.

    ``features``: ``"amplitude"`` (mean and slope per channel in each window, for evoked
    responses) or ``"bandpower"`` (log-variance per band in ``bands`` and channel, for rhythms
    such as motor-imagery ERD); see :func:`neurodl.analyses.encoding.time_resolved.window_features`.

    Examples
    --------
    Band power in 0.5-s windows every 0.25 s (motor imagery); bands are (low, high) in Hz:

    >>> opts = TimeResolvedOptions.model_validate(
    ...     {"window": 0.5, "step": 0.25, "features": "bandpower", "bands": [[8, 13]]}
    ... )
    >>> opts.window, opts.step, opts.features, opts.bands, opts.n_folds
    (0.5, 0.25, 'bandpower', [(8.0, 13.0)], 5)
    >>> from pydantic import ValidationError
    >>> try:
    ...     TimeResolvedOptions.model_validate({"window": 0})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Input should be greater than 0
    """

    window: float = Field(0.2, gt=0.0)
    """Length in s of each decoding window."""
    step: float = Field(0.1, gt=0.0)
    """Step in s between successive windows."""
    features: Literal["amplitude", "bandpower"] = "amplitude"
    """Window features: 'amplitude' (mean and slope per channel; evoked responses) or 'bandpower'
    (log-variance per band and channel; rhythms such as motor-imagery ERD)."""
    bands: list[tuple[float, float]] = Field(default_factory=lambda: [(8.0, 13.0), (13.0, 30.0)])
    """Frequency bands in Hz (low, high) of the 'bandpower' features."""
    n_folds: int = Field(5, ge=2)
    """Stratified, shuffled folds of the window decoding and of the TRF's cross-validation."""
    trf_tmin: float = -0.1
    """First lag in s of the TRF of the cue response (negative: before the cue)."""
    trf_tmax: float = 0.6
    """Last lag in s of the TRF."""
    n_jobs: int = 1
    """Joblib workers decoding the windows (1: in process)."""


class TimeResolvedResult(TaskResult):
    """Result of the ``time_resolved`` task (``results.json``).

    ``scores``/``ci_low``/``ci_high`` give the balanced accuracy of each window (centred at
    ``times``); the top-level ``score_mean``/``score_ci`` are those of the peak window
    (``peak_score``/``peak_ci``, at ``peak_time``), ``n_splits`` the number of folds.
    ``trf_gfp_uV`` is the TRF's global field power per class (rows) and lag (``trf_times``).

    Examples
    --------
    The fields this task adds to every result's (:func:`run_time_resolved` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in TimeResolvedResult.model_fields if k not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['classes', 'n_epochs', 'features', 'bands', 'times', 'scores', 'ci_low', 'ci_high',
     'peak_time', 'peak_score', 'peak_ci', 'trf_times', 'trf_gfp_uV', 'trf_cv_r2_median']
    """

    task: Literal["time_resolved"] = "time_resolved"
    classes: list[Any] | None = None
    n_epochs: int
    features: Literal["amplitude", "bandpower"]
    bands: list[list[float]] | None = None
    times: list[float]
    scores: list[float | None]
    ci_low: list[float | None]
    ci_high: list[float | None]
    peak_time: float
    peak_score: float | None
    peak_ci: list[float | None]
    trf_times: list[float]
    trf_gfp_uV: list[list[float | None]]
    trf_cv_r2_median: float | None

    def summary_lines(self) -> list[str]:
        """Dataset and features, then the peak window against chance, and the TRF fit."""
        lo, hi = self.peak_ci
        ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
        return [
            f"{self.dataset} | {self.protocol} | time-resolved ({self.features} features)",
            f"peak {self.metric} = {fmt(self.peak_score)}{ci} at {self.peak_time:.2f} s "
            f"(chance {fmt(self.chance_level)}, {self.n_epochs} epochs, {self.n_splits} folds)",
            f"TRF cross-validated R^2 (median over channels) {fmt(self.trf_cv_r2_median)}",
        ]


@register_task(
    "time_resolved",
    options=TimeResolvedOptions,
    result=TimeResolvedResult,
    reads=("data", "evaluation", "options"),
    description="sliding-window decoding with bootstrap CIs, and a cue-locked TRF",
)
def run_time_resolved(ctx: RunContext) -> TimeResolvedResult:
    """Sliding-window decoding with bootstrap CIs and a chance line, plus a cue-locked TRF.

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``). 80
    simulated evoked epochs (target / non-target) decoded in 0.1-s windows: at chance before
    the stimulus, well above it after:

    >>> import numpy as np
    >>> from neurodl.workflows import parse_config, run_config
    >>> cfg = parse_config({
    ...     "task": "time_resolved",
    ...     "data": {"source": "simulate", "simulator": "evoked",
    ...              "params": {"n_subjects": 1, "n_trials": 80, "effect_size": 3.0}},
    ...     "evaluation": {"n_boot": 50},
    ...     "options": {"window": 0.1, "step": 0.1, "n_folds": 4, "trf_tmin": 0.0,
    ...                 "trf_tmax": 0.5},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.classes, res.n_epochs, res.n_splits, res.chance_level
    (['non_target', 'target'], 80, 4, 0.5)
    >>> times, scores = np.array(res.times), np.array(res.scores)
    >>> len(times), bool(scores[times < 0].max() < 0.6), res.peak_score > 0.9, res.peak_time > 0.1
    (9, True, True, True)
    >>> np.shape(res.trf_gfp_uV)  # TRF global field power: one row per class, one per lag
    (2, 65)
    """
    from ...analyses.encoding.time_resolved import time_resolved_decoding
    from ...analyses.encoding.trf import fit_trf

    cfg, opts = ctx.cfg, ctx.options
    ds, name = load_samples(cfg.data, seed=cfg.seed)
    X = np.asarray(ds.X, dtype=float)
    if X.ndim != 3 or ds.sfreq is None:
        raise DataFormatError(
            f"time_resolved needs epochs (n, channels, times) with sfreq; got {X.shape}."
        )
    tmin = float(ds.info.get("tmin", 0.0))
    with progress_bar("time-resolved decoding", unit="window") as cb:
        res = time_resolved_decoding(
            X, ds.y, ds.sfreq, window=opts.window, step=opts.step, tmin=tmin, folds=opts.n_folds,
            n_boot=cfg.evaluation.n_boot, ci=cfg.evaluation.ci, seed=cfg.seed, n_jobs=opts.n_jobs,
            features=opts.features, bands=opts.bands, progress=cb,
        )  # fmt: skip
    # TRF: cue impulse (one feature per class) -> every channel, epochs as separate runs.
    n, n_ch, n_t = X.shape
    onset = round(-tmin * ds.sfreq) if tmin < 0 else 0
    stim = np.zeros((n, n_t, len(ds.classes)))
    stim[np.arange(n), onset, ds.y] = 1.0
    resp = X.transpose(0, 2, 1).reshape(n * n_t, n_ch) * 1e6
    trf = fit_trf(
        stim.reshape(n * n_t, -1), resp, ds.sfreq, opts.trf_tmin, opts.trf_tmax,
        runs=np.repeat(np.arange(n), n_t), cv=opts.n_folds,
    )  # fmt: skip
    peak = int(np.argmax(res.scores))
    peak_ci = [float(res.ci[0, peak]), float(res.ci[1, peak])]
    result = TimeResolvedResult.create(
        task="time_resolved",
        name=cfg.name,
        dataset=name,
        protocol=f"stratified {opts.n_folds}-fold",
        metric="balanced_accuracy",
        score_mean=float(res.scores[peak]),
        score_ci=peak_ci,
        chance_level=res.chance,
        n_splits=opts.n_folds,
        seed=cfg.seed,
        versions=versions(),
        data_hash=ds.data_hash(),
        classes=ds.classes,
        n_epochs=int(n),
        features=opts.features,
        bands=opts.bands if opts.features == "bandpower" else None,
        times=res.times,
        scores=res.scores,
        ci_low=res.ci[0],
        ci_high=res.ci[1],
        peak_time=float(res.times[peak]),
        peak_score=float(res.scores[peak]),
        peak_ci=peak_ci,
        trf_times=trf.times,
        trf_gfp_uV=np.sqrt((trf.kernel**2).mean(axis=2)).T,
        trf_cv_r2_median=float(np.median(trf.model.cv_scores_.max(0))),
    )
    if ctx.write_report:
        write_time_resolved_report(
            ctx.out_dir / "report.html",
            result=result,
            config_text=ctx.config_text,
            title=cfg.report.title,
        )
    return result


def _array(values: list[Any]) -> np.ndarray:
    """A result list back as a float array (None -> NaN)."""
    return np.array(
        [[np.nan if v is None else v for v in row] if isinstance(row, list) else
         (np.nan if row is None else row) for row in values],
        dtype=float,
    )  # fmt: skip


def write_time_resolved_report(
    path: Path,
    *,
    result: TimeResolvedResult,
    config_text: str | None = None,
    title: str | None = None,
) -> Path:
    """The time-resolved report: the decoding time course and the TRF, from the result only."""
    from ...report import Report
    from ...report.figures.statistics import plot_timecourse

    res = result.to_dict()
    rep = Report(report_title(title, res["name"]), subtitle=f"{res['dataset']} - time-resolved")
    rep.add_summary(
        {
            "peak balanced accuracy": {
                "value": res["peak_score"],
                "ci": tuple(res["peak_ci"]),
                "detail": f"at {res['peak_time']:.2f} s",
            },
            "chance": res["chance_level"],
        }
    )
    bandpower = res["features"] == "bandpower"
    rep.add_figure(
        plot_timecourse(
            _array(res["times"]),
            _array(res["scores"]),
            ci=_array([res["ci_low"], res["ci_high"]]),
            chance=res["chance_level"],
            ylabel="balanced accuracy",
        ),
        title="Time-resolved decoding",
        caption=f"Features: {res['features']}"
        + (f" in bands {[tuple(b) for b in res['bands']]} Hz" if bandpower else "")
        + ". Band: percentile bootstrap over trials; dashed: chance.",
    )
    rep.add_figure(
        plot_timecourse(
            _array(res["trf_times"]),
            _array(res["trf_gfp_uV"]),
            labels=res["classes"],
            xlabel="lag (s)",
            ylabel="TRF global field power (uV)",
        ),
        title="Temporal response function",
    )
    if config_text:
        rep.add_code(config_text, title="Config")
    return rep.save(path)
