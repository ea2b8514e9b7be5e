"""The ``spike_trial_decoding`` task: spike counts of units aligned to trials -> a trial label.

A thin runner over :mod:`neurodl.analyses.dynamics.trials` (rows, labels, window counts,
estimator, :func:`~neurodl.analyses.dynamics.decode_trial_label`).

The window is ``[a + start, a + t_after]`` around each trial's alignment time
``a = align (+ align_shift)``, with ``start = t_start`` or ``-t_before``; one spike count per
unit (or per unit and bin), square-rooted when ``sqrt``. The main label and every entry of
``extra_labels`` are cross-validated with the same model (any name of
:func:`neurodl.estimators.make_estimator`, wrapped in a nested search of one parameter when
``inner_search`` is set), with a CI (:func:`neurodl.analyses.decoding.score_ci`) and a
label-permutation p-value.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..._logging import logger
from ...exceptions import ConfigError, DataFormatError
from .._progress import progress_bar
from ..config import RunConfig, TaskOptions, _Strict
from ..data import load_data
from ..registry import RunContext, register_task
from ..results import TaskResult
from ._dynamics_common import array_hash, model_stats, versions

__all__ = [
    "InnerSearch",
    "SpikeTrialDecodingOptions",
    "SpikeTrialDecodingResult",
    "TrialFilter",
    "TrialLabel",
    "run_spike_trial_decoding",
]


class TrialFilter(_Strict):
    """Keep only the trials whose ``column`` of the trial table holds one of ``values``.

    Examples
    --------
    The ``options.trials`` section, e.g. the rows of one NWB interval table:

    >>> TrialFilter.model_validate({"column": "table", "values": ["recognition_table"]})
    TrialFilter(column='table', values=['recognition_table'])
    """

    column: str
    """Column of the trial table filtered on."""
    values: list[Any]
    """Values of that column whose trials are kept."""


class TrialLabel(_Strict):
    """A label from the trial table: ``column``, optionally thresholded or restricted.

    ``names`` are the class names in label order (default: the values, or ``"<column> < t"``
    and ``">= t"`` with a threshold); see :func:`neurodl.analyses.dynamics.trials.trial_labels`.

    Examples
    --------
    Confidence ratings 1-3 (other codes dropped) split at 3 into two named classes:

    >>> TrialLabel.model_validate(
    ...     {"column": "confidence", "keep": [1, 2, 3], "threshold": 3, "names": ["lower", "high"]}
    ... )
    TrialLabel(column='confidence', threshold=3.0, keep=[1, 2, 3], names=['lower', 'high'])
    """

    column: str
    """Column of the trial table holding the label."""
    threshold: float | None = None
    """Labels ``value >= threshold`` as 1 (``above``) and the rest 0 (``below``)."""
    keep: list[Any] | None = None
    """Only trials whose label value is one of these (e.g. drop 'no response' codes)."""
    names: list[str] | None = None
    """Class names in label order; None: the values themselves, or '<column> < t' / '>= t' with a
    threshold."""


class InnerSearch(_Strict):
    """Nested selection of one model parameter by an inner stratified CV on each training fold.

    Examples
    --------
    >>> InnerSearch.model_validate({"values": [0.1, 1.0, 10.0]})
    InnerSearch(param='C', values=[0.1, 1.0, 10.0], n_splits=5)
    >>> from pydantic import ValidationError
    >>> try:
    ...     InnerSearch.model_validate({"values": [1.0]})  # nothing to choose from
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    List should have at least 2 items after validation, not 1
    """

    param: str = "C"
    """Name of the model parameter selected (e.g. 'C')."""
    values: list[float] = Field(min_length=2)
    """Candidate values of that parameter (at least 2)."""
    n_splits: int = Field(5, ge=2, le=20)
    """Folds of the inner stratified CV on each training fold."""


class SpikeTrialDecodingOptions(TaskOptions):
    """Options of the ``spike_trial_decoding`` task.

    Examples
    --------
    The answer old/new (code 0, no response, dropped) from the counts 0.2-1.7 s after onset:

    >>> opts = SpikeTrialDecodingOptions.model_validate({
    ...     "label": {"column": "old_new", "keep": [1, 2], "names": ["new", "old"]},
    ...     "t_start": 0.2, "t_after": 1.7,
    ... })
    >>> opts.label.names, opts.align, opts.t_start, opts.t_after, opts.sqrt, opts.bin_size
    (['new', 'old'], 'start_time', 0.2, 1.7, True, None)
    >>> from pydantic import ValidationError
    >>> try:
    ...     SpikeTrialDecodingOptions.model_validate({"t_after": 1.0})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["loc"], err.errors()[0]["msg"])
    ('label',) Field required
    """

    intervals: str | None = None
    """The NWB interval table whose rows are the trials (e.g. ``recognition_table``). Needed
    when the file has several interval tables and no ``trials`` table (or name it with
    ``trials: {column: table, values: [<name>]}``)."""
    trials: TrialFilter | None = None
    label: TrialLabel
    extra_labels: dict[str, TrialLabel] = Field(default_factory=dict)
    """Further targets decoded from the same window with the same model (own CV and p-value)."""
    align: str = "start_time"
    """Column of the trial table with each trial's alignment time in s (e.g. 'start_time',
    'stop_time')."""
    align_shift: str | None = None
    """A column (seconds) added to ``align`` (e.g. ``RT`` counted from stimulus offset)."""
    t_before: float = Field(0.0, ge=0.0)
    """Seconds before the alignment time the window starts (start -t_before) when t_start is not
    given."""
    t_after: float | None = Field(None, gt=0.0)
    """Window end in s relative to the alignment time; None: the shortest stop_time - alignment time
    among the trials."""
    t_start: float | None = None
    """Window start relative to the alignment time (s); overrides ``t_before`` (e.g. 0.2)."""
    bin_size: float | None = Field(None, gt=0.0)
    """None: one count per unit over the whole window; else counts per bin (flattened)."""
    sqrt: bool = True
    """Square-root the spike counts (variance stabilisation)."""
    inner_search: InnerSearch | None = None


class SpikeTrialDecodingResult(TaskResult):
    """Result of the ``spike_trial_decoding`` task (``results.json``).

    The top-level score, CI, chance level, p-value and fold scores are the main label's;
    ``extra_targets`` holds each extra label's own (same keys as the main label's entry).

    Examples
    --------
    The fields this task adds to every result's (:func:`run_spike_trial_decoding` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in SpikeTrialDecodingResult.model_fields if k not in TaskResult.model_fields][:9]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['model', 'n_units', 'window_s', 'aligned_to', 'label', 'n_trials', 'classes',
     'class_values', 'class_counts']
    >>> SpikeTrialDecodingResult.model_fields["task"].default
    'spike_trial_decoding'
    """

    task: Literal["spike_trial_decoding"] = "spike_trial_decoding"
    model: str
    n_units: int
    window_s: list[float]
    aligned_to: str
    label: str
    n_trials: int
    classes: list[str]
    class_values: list[Any] | None = None
    """The label values of the classes as in the trial table (int, float or str); None with a
    threshold."""
    class_counts: list[int]
    confusion_matrix: list[list[int]] | None = None
    """Pooled test predictions of the main label (rows: true class, columns: predicted), in
    ``classes`` order; a model predicting one class is flagged in ``warnings``."""
    ci_method: str
    fold_scores: list[float | None]
    n_permutations: int
    inner_selected: float | None = None
    fit_time_s: float | None = None
    time_per_epoch_s: float | None = None
    latency_per_trial_s: float | None = None
    extra_targets: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """The common summary of the main label, then one line per extra target."""
        lines = super().summary_lines()
        lines.insert(1, f"label {self.label!r} ({self.n_trials} trials, {self.model})")
        for key, r in self.extra_targets.items():
            p = r.get("p_value")
            lines.append(
                f"{key}: {self.metric} = {r['score_mean']:.3f} (chance {r['chance_level']:.3f}"
                + (f", permutation p = {p:.4f})" if p is not None else ")")
            )
        return lines


def _targets(opts: SpikeTrialDecodingOptions) -> dict[str, TrialLabel]:
    """The main label and the extra labels, keyed by their place in the options."""
    return {"label": opts.label, **{f"extra_labels.{k}": v for k, v in opts.extra_labels.items()}}


def _interval_table(obj: Any, opts: SpikeTrialDecodingOptions) -> Any:
    """The spike trains with the named NWB interval table as their trials.

    :func:`neurodl.io.read_nwb` keeps every interval table in ``info["intervals"]``; without
    a ``trials`` table its trials are the other tables stacked with a ``table`` column, which
    is ambiguous with several: then a table must be named (``options.intervals``, or a
    ``trials`` filter on the ``table`` column).
    """
    tables = dict((obj.info or {}).get("intervals") or {})
    listed = ", ".join(f"{k} ({len(v)})" for k, v in sorted(tables.items()))
    if opts.intervals is not None:
        if opts.intervals not in tables:
            raise ConfigError(
                "Invalid value for 'options.intervals'. Allowed: "
                + (f"an interval table of the file: {listed}" if tables else "null (no tables)")
                + f"; got {opts.intervals!r}."
            )
        picked = tables[opts.intervals].reset_index(drop=True)
        return dataclasses.replace(obj, trials=picked)
    stacked = sorted(k for k in tables if k not in ("epochs", "trials"))
    named = opts.trials is not None and opts.trials.column == "table"
    if "trials" not in tables and len(stacked) > 1 and not named:
        raise ConfigError(
            f"The data have {len(stacked)} interval tables and no 'trials' table: {listed}. "
            "Name the one whose rows are the trials with 'options.intervals' (e.g. intervals: "
            f"{stacked[0]})."
        )
    return obj


def _decode_target(
    cfg: RunConfig,
    opts: SpikeTrialDecodingOptions,
    obj: Any,
    counts: Any,
    rows: np.ndarray,
    label: TrialLabel,
    where: str,
) -> tuple[dict[str, Any], Any]:
    """Statistics of one trial label and its permutation test (None when not computed)."""
    from ...analyses.dynamics import (
        decode_trial_label,
        trial_dataset,
        trial_estimator,
        trial_labels,
    )
    from ...analyses.dynamics.trials import label_values
    from ...estimators import is_neural
    from ...evaluation import get_protocol

    sel = counts.trials[rows]
    y, names = trial_labels(
        sel, label.column, threshold=label.threshold, names=label.names, where=f"options.{where}"
    )
    X = counts.X[rows]
    if is_neural(cfg.model.name):  # networks: (trials, units, bins), a sequence per unit
        X = X.reshape(len(X), counts.n_bins, -1).transpose(0, 2, 1).copy()
    ds = trial_dataset(
        X,
        y,
        sel,
        classes=names,
        subject=obj.subject,
        session=obj.session,
        onset=opts.align,
        source=where,
    )
    search = None if opts.inner_search is None else opts.inner_search.model_dump()
    ev = cfg.evaluation
    out, res = decode_trial_label(
        trial_estimator(
            cfg.model.name,
            seed=cfg.seed,
            params=cfg.model.params,
            inner_search=search,
            metric=ev.metric,
        ),
        ds,
        get_protocol(ev.protocol, **ev.protocol_params),
        ev.metric,
        label=label.column,
        seed=cfg.seed,
        n_permutations=ev.n_permutations,
        n_boot=ev.n_boot,
        ci=ev.ci,
        progress=lambda desc: progress_bar(f"{where}: {desc}"),
    )
    out["class_values"] = (
        None if label.threshold is not None else label_values(sel[label.column])[0]
    )
    cm = res.main_scores.cv.confusion_matrix  # read by the failed-fit checks (one class)
    out["confusion_matrix"] = None if cm is None else np.asarray(cm).astype(int).tolist()
    logger.info(
        "spike_trial_decoding %s: %s %.3f (p=%s)",
        where,
        ev.metric,
        out["score_mean"],
        out["p_value"],
    )
    return out, res.main_scores.permutation


@register_task(
    "spike_trial_decoding",
    options=SpikeTrialDecodingOptions,
    result=SpikeTrialDecodingResult,
    reads=("data", "model", "evaluation", "options"),
    description="spike counts of units in a trial-aligned window -> trial labels (CV, p-value)",
)
def run_spike_trial_decoding(ctx: RunContext) -> SpikeTrialDecodingResult:
    """Run the ``spike_trial_decoding`` task; write ``report.html`` into ``ctx.out_dir``.

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``). A
    small NWB file: 40 trials (face / house) and 4 units, two of which fire more on house
    trials; the spike counts 0-1 s after each onset decode the image:

    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from pynwb import NWBHDF5IO, NWBFile
    >>> from neurodl.workflows import parse_config, run_config
    >>> rng = np.random.default_rng(0)
    >>> nwb = NWBFile("demo", "s1", datetime(2024, 1, 1, tzinfo=timezone.utc))
    >>> nwb.add_trial_column("stim", "image shown")
    >>> for i in range(40):  # 1-s trials every 2 s, face and house alternating
    ...     nwb.add_trial(start_time=2.0 * i + 1, stop_time=2.0 * i + 2, stim=["face", "house"][i % 2])
    >>> for unit in range(4):  # background firing; units 0-1 add 5 spikes on house trials
    ...     t = rng.uniform(0, 81, 400)
    ...     if unit < 2:
    ...         t = np.r_[t, [2.0 * i + 1.3 + 0.1 * k for i in range(1, 40, 2) for k in range(5)]]
    ...     nwb.add_unit(spike_times=np.sort(t))
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "session.nwb"
    >>> with NWBHDF5IO(path, "w") as io:
    ...     io.write(nwb)
    >>> cfg = parse_config({
    ...     "task": "spike_trial_decoding",
    ...     "data": {"source": "file", "path": str(path)},
    ...     "model": {"name": "lda"},
    ...     "evaluation": {"protocol_params": {"n_splits": 5}, "n_permutations": 19},
    ...     "options": {"label": {"column": "stim"}, "t_start": 0.0, "t_after": 1.0},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.n_trials, res.n_units, res.classes, res.class_counts, res.window_s
    (40, 4, ['face', 'house'], [20, 20], [0.0, 1.0])
    >>> res.score_mean > 0.9, res.chance_level, res.p_value  # p: 1 / (19 permutations + 1)
    (True, 0.5, 0.05)
    >>> tmp.cleanup()
    """
    from ...analyses.dynamics import trial_rows, trial_window_counts
    from ...data import SpikeTrains
    from ...estimators import is_neural

    cfg, opts = ctx.cfg, ctx.options
    obj, name = load_data(cfg.data, seed=cfg.seed)
    if not isinstance(obj, SpikeTrains) or obj.trials is None:
        raise DataFormatError(
            f"spike_trial_decoding needs spike trains with a trial table; {name} gave "
            f"{type(obj).__name__}."
        )
    obj = _interval_table(obj, opts)
    table = obj.trials.reset_index(drop=True)
    keep = None
    if opts.trials is not None:
        keep = trial_rows(
            table,
            opts.trials.column,
            opts.trials.values,
            base=keep,
            dropna=False,
            where="options.trials.column",
        )
    rows = {
        w: trial_rows(
            table, lab.column, lab.keep, base=keep, min_trials=10, where=f"options.{w}.column"
        )
        for w, lab in _targets(opts).items()
    }
    counts = trial_window_counts(
        obj,
        rows=np.logical_or.reduce(list(rows.values())),
        align=opts.align,
        align_shift=opts.align_shift,
        t_start=opts.t_start,
        t_before=opts.t_before,
        t_after=opts.t_after,
        bin_size=opts.bin_size,
        sqrt=opts.sqrt,
    )
    ev = cfg.evaluation
    main, perm = _decode_target(cfg, opts, obj, counts, rows["label"], opts.label, "label")
    extra: dict[str, Any] = {}
    for key, lab in opts.extra_labels.items():
        w = f"extra_labels.{key}"
        extra[key] = _decode_target(cfg, opts, obj, counts, rows[w], lab, w)[0]
    stats = model_stats(
        cfg.model.name,
        role="main",
        kind="neural" if is_neural(cfg.model.name) else "classical",
        score=main["score_mean"],
        fold_scores=main["fold_scores"],
        fit_time=main["fit_time_s"],
        latency=main["latency_per_trial_s"],
        score_ci=main["score_ci"],
        ci_method=main["ci_method"],
        p_value=main["p_value"],
        n_permutations=ev.n_permutations if perm is not None else 0,
        null_scores=None if perm is None else perm.null_distribution,
    )
    result = SpikeTrialDecodingResult.create(
        task="spike_trial_decoding",
        name=cfg.name,
        dataset=name,
        protocol=ev.protocol,
        metric=ev.metric,
        n_splits=len(main["fold_scores"]),
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(counts.X, rows["label"]),
        models={cfg.model.name: stats},
        model=cfg.model.name,
        n_units=obj.n_units,
        window_s=list(counts.window),
        aligned_to=opts.align + (f" + {opts.align_shift}" if opts.align_shift else ""),
        **main,
        extra_targets=extra,
    )
    if ctx.write_report:
        from .spike_trial_decoding_report import write_spike_trial_report

        write_spike_trial_report(ctx, result, perm)
    return result
