"""The ``spike_trial_decoding`` task: spike counts of units aligned to trials -> a trial label.

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
    column: str
    values: list[Any]


class TrialLabel(_Strict):
    column: str
    threshold: float | None = None
    """Labels ``value >= threshold`` as 1 (``above``) and the rest 0 (``below``)."""
    keep: list[Any] | None = None
    """Only trials whose label value is one of these (e.g. drop 'no response' codes)."""
    names: list[str] | None = None


class InnerSearch(_Strict):
    """Nested selection of one model parameter by an inner stratified CV on each training fold."""

    param: str = "C"
    values: list[float] = Field(min_length=2)
    n_splits: int = Field(5, ge=2, le=20)


class SpikeTrialDecodingOptions(TaskOptions):
    """Options of the ``spike_trial_decoding`` task."""

    trials: TrialFilter | None = None
    label: TrialLabel
    extra_labels: dict[str, TrialLabel] = Field(default_factory=dict)
    """Further targets decoded from the same window with the same model (own CV and p-value)."""
    align: str = "start_time"
    align_shift: str | None = None
    """A column (seconds) added to ``align`` (e.g. ``RT`` counted from stimulus offset)."""
    t_before: float = Field(0.0, ge=0.0)
    t_after: float | None = Field(None, gt=0.0)
    t_start: float | None = None
    """Window start relative to the alignment time (s); overrides ``t_before`` (e.g. 0.2)."""
    bin_size: float | None = Field(None, gt=0.0)
    """None: one count per unit over the whole window; else counts per bin (flattened)."""
    sqrt: bool = True
    inner_search: InnerSearch | None = None


class SpikeTrialDecodingResult(TaskResult):
    """Result of the ``spike_trial_decoding`` task (``results.json``).

    The top-level score, CI, chance level, p-value and fold scores are the main label's;
    ``extra_targets`` holds each extra label's own (same keys as the main label's entry).
    """

    task: Literal["spike_trial_decoding"] = "spike_trial_decoding"
    model: str
    n_units: int
    window_s: list[float]
    aligned_to: str
    label: str
    n_trials: int
    classes: list[str]
    class_counts: list[int]
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


def _trial_labels(table: Any, label: TrialLabel, where: str) -> tuple[np.ndarray, list[str]]:
    values = table[label.column]
    if label.threshold is not None:
        y = (values.to_numpy(dtype=float) >= label.threshold).astype(int)
        names = label.names or [f"{label.column} < {label.threshold:g}", f">= {label.threshold:g}"]
        return y, names
    classes, y = np.unique(values.astype(str).to_numpy(), return_inverse=True)
    if label.names is not None and len(label.names) != len(classes):
        raise ConfigError(
            f"Invalid value for '{where}.names'. Allowed: {len(classes)} names, one per value "
            f"of {label.column!r} ({', '.join(classes)}, in this order); got {label.names!r}."
        )
    return y.astype(int), label.names or [str(c) for c in classes]


def _label_rows(table: Any, base: np.ndarray, label: TrialLabel, where: str) -> np.ndarray:
    """Rows of ``table`` (within ``base``) that carry a usable value of ``label``."""
    if label.column not in table.columns:
        raise ConfigError(
            f"Invalid value for '{where}.column'. Allowed: {list(table.columns)}; "
            f"got {label.column!r}."
        )
    rows = base & table[label.column].notna().to_numpy()
    if label.keep is not None:
        rows &= table[label.column].isin(label.keep).to_numpy()
    if rows.sum() < 10:
        raise DataFormatError(
            f"Only {int(rows.sum())} trials match the filter and '{where}'; need >= 10."
        )
    return rows


def _estimator(cfg: RunConfig, opts: SpikeTrialDecodingOptions) -> Any:
    """The configured model, wrapped in an inner-CV grid search when ``inner_search`` is set."""
    from sklearn.metrics import get_scorer_names
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from ...estimators import make_estimator

    est = make_estimator(cfg.model.name, seed=cfg.seed, **cfg.model.params)
    search = opts.inner_search
    if search is None:
        return est
    steps = getattr(est, "steps", None)
    key = f"{steps[-1][0]}__{search.param}" if steps else search.param
    if key not in est.get_params():
        prefix = f"{steps[-1][0]}__" if steps else ""
        names = [k[len(prefix) :] for k in est.get_params() if k.startswith(prefix)]
        allowed = sorted(k for k in names if "__" not in k)
        raise ConfigError(
            f"Invalid value for 'options.inner_search.param'. Allowed: a parameter of the final "
            f"step of model {cfg.model.name!r} ({', '.join(a for a in allowed if a)}); "
            f"got {search.param!r}."
        )
    metric = cfg.evaluation.metric
    return GridSearchCV(
        est,
        {key: list(search.values)},
        cv=StratifiedKFold(search.n_splits, shuffle=True, random_state=cfg.seed),
        scoring=metric if metric in get_scorer_names() else None,
    )


def _decode_target(
    cfg: RunConfig,
    opts: SpikeTrialDecodingOptions,
    obj: Any,
    X_all: np.ndarray,
    rows: np.ndarray,
    label: TrialLabel,
    where: str,
) -> tuple[dict[str, Any], Any]:
    """CV score, CI, permutation p and timing of one trial label; (results, permutation)."""
    import pandas as pd

    from ...analyses.decoding import score_ci
    from ...data import EpochsDataset
    from ...evaluation import chance_level, cross_validate, get_protocol, permutation_test

    sel = obj.trials[rows]
    y, names = _trial_labels(sel, label, where)
    X = X_all[rows]
    md = pd.DataFrame(
        {
            "subject": str(obj.subject or "0"),
            "session": str(obj.session or "0"),
            "run": "0",
            "recording": "0",
            "segment": [str(i) for i in range(len(sel))],
            "trial": np.arange(len(sel)),
            "onset": sel[opts.align].to_numpy(float),
        }
    )
    ds = EpochsDataset(X, y, md, None, None, names, {"source": where})
    estimator = _estimator(cfg, opts)
    ev = cfg.evaluation
    protocol = get_protocol(ev.protocol, **ev.protocol_params)
    cv = cross_validate(estimator, ds, protocol, ev.metric, seed=cfg.seed)
    perm = None
    if ev.n_permutations:
        perm = permutation_test(
            estimator,
            ds,
            protocol,
            ev.metric,
            n_permutations=ev.n_permutations,
            seed=cfg.seed,
            within=None,
        )
    ci, ci_method = score_ci(cv, ev.metric, n_boot=ev.n_boot, ci=ev.ci)
    selected = None
    if opts.inner_search is not None:  # the value the inner CV picks on all trials (information)
        fitted = _estimator(cfg, opts).fit(X, y)
        selected = float(next(iter(fitted.best_params_.values())))
    n_tested = int(np.sum(cv.n_test))
    out = {
        "label": label.column,
        "n_trials": len(sel),
        "classes": names,
        "class_counts": np.bincount(y, minlength=len(names)).tolist(),
        "score_mean": float(cv.score),
        "score_ci": [float(ci[0]), float(ci[1])],
        "ci_method": ci_method,
        "fold_scores": [float(s) for s in cv.scores],
        "chance_level": float(chance_level(y, ev.metric)),
        "p_value": None if perm is None else float(perm.p_value),
        "n_permutations": ev.n_permutations,
        "inner_selected": selected,
        "fit_time_s": float(np.mean(cv.fit_times)),
        "time_per_epoch_s": None,  # not recorded for trial decoders
        "latency_per_trial_s": float(np.sum(cv.score_times)) / max(n_tested, 1),
    }
    logger.info(
        "spike_trial_decoding %s: %s %.3f (p=%s)",
        where,
        ev.metric,
        out["score_mean"],
        out["p_value"],
    )
    return out, perm


def _window_counts(
    obj: Any, opts: SpikeTrialDecodingOptions
) -> tuple[Any, np.ndarray, dict[str, np.ndarray], float, float]:
    """(trials with the window start, counts per trial, label rows, window start, end)."""
    from ...analyses.dynamics import bin_trials

    table = obj.trials.reset_index(drop=True)
    keep = np.ones(len(table), bool)
    if opts.trials is not None:
        if opts.trials.column not in table.columns:
            raise ConfigError(
                f"Invalid value for 'options.trials.column'. Allowed: {list(table.columns)}; "
                f"got {opts.trials.column!r}."
            )
        keep &= table[opts.trials.column].isin(opts.trials.values).to_numpy()
    targets = {
        "label": opts.label,
        **{f"extra_labels.{k}": v for k, v in opts.extra_labels.items()},
    }
    rows = {w: _label_rows(table, keep, lab, f"options.{w}") for w, lab in targets.items()}
    used = np.logical_or.reduce(list(rows.values()))
    for col in [opts.align, opts.align_shift]:
        if col is not None and col not in table.columns:
            raise ConfigError(
                f"Invalid value for 'options.align'/'options.align_shift'. Allowed: a trial-table "
                f"column ({list(table.columns)}); got {col!r}."
            )
    anchor = table[opts.align].to_numpy(float).copy()
    if opts.align_shift is not None:
        anchor += table[opts.align_shift].to_numpy(float)
    if not np.isfinite(anchor[used]).all():
        raise DataFormatError("Missing alignment times in the selected trials.")
    start = opts.t_start if opts.t_start is not None else -opts.t_before
    t_after = opts.t_after
    if t_after is None:
        t_after = float(np.min(table["stop_time"].to_numpy(float)[used] - anchor[used]))
    if not t_after > start:
        raise ConfigError(
            f"The window must end after it starts; got start {start!r} and t_after {t_after!r}."
        )
    width = t_after - start
    bin_size = opts.bin_size or width
    shifted = dataclasses.replace(obj, trials=table.assign(_window_start=anchor + start))
    counts = np.zeros((len(table), int(np.floor(width / bin_size + 1e-9)), obj.n_units))
    counts[used] = bin_trials(
        shifted, bin_size, align="_window_start", t_after=width, trials=np.flatnonzero(used)
    )
    X_all = counts.reshape(len(table), -1).astype(float)
    return shifted, np.sqrt(X_all) if opts.sqrt else X_all, rows, float(start), float(t_after)


@register_task(
    "spike_trial_decoding",
    options=SpikeTrialDecodingOptions,
    result=SpikeTrialDecodingResult,
    reads=("data", "model", "evaluation", "options"),
    description="spike counts of units in a trial-aligned window -> trial labels (CV, p-value)",
)
def run_spike_trial_decoding(ctx: RunContext) -> SpikeTrialDecodingResult:
    """Run the ``spike_trial_decoding`` task; write ``report.html`` into ``ctx.out_dir``."""
    from ...data import SpikeTrains
    from ...estimators import is_neural

    cfg, opts = ctx.cfg, ctx.options
    obj, name = load_data(cfg.data, seed=cfg.seed)
    if not isinstance(obj, SpikeTrains) or obj.trials is None:
        raise DataFormatError(
            f"spike_trial_decoding needs spike trains with a trial table; {name} gave "
            f"{type(obj).__name__}."
        )
    shifted, X_all, rows, start, t_after = _window_counts(obj, opts)
    ev = cfg.evaluation
    main, perm = _decode_target(cfg, opts, shifted, X_all, rows["label"], opts.label, "label")
    extra: dict[str, Any] = {}
    for key, lab in opts.extra_labels.items():
        w = f"extra_labels.{key}"
        extra[key] = _decode_target(cfg, opts, shifted, X_all, rows[w], lab, w)[0]
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
        data_hash=array_hash(X_all, rows["label"]),
        models={cfg.model.name: stats},
        model=cfg.model.name,
        n_units=obj.n_units,
        window_s=[start, t_after],
        aligned_to=opts.align + (f" + {opts.align_shift}" if opts.align_shift else ""),
        **main,
        extra_targets=extra,
    )
    if ctx.write_report:
        from .spike_trial_decoding_report import write_spike_trial_report

        write_spike_trial_report(ctx, result, perm)
    return result
