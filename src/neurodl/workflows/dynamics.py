"""Population-dynamics tasks: behaviour decoding, spike-trial decoding, latent dynamics.

- ``behavior_decoding``: binned activity (counts or dF/F) -> continuous behaviour with several
  decoders side by side (ridge, Wiener, Kalman, GRU, LSTM), on a given train/test split or under
  contiguous-block CV; R^2, correlation, training time per epoch and inference latency per bin.
- ``spike_trial_decoding``: spike counts of units in a window aligned to selected trials ->
  a trial label (e.g. the recognition response), cross-validated with a permutation p-value.
- ``forecasting``: population activity k bins ahead (persistence, linear AR, GRU) on held-out
  trials or the last contiguous segments of a recording: bits/spike and R^2 by horizon, timing.
- ``latents``: LFADS-style sequential VAE on trials with held-out neurons and a forward window:
  co-bps, fp-bps, velocity R^2, PSTH R^2, latent recovery, baselines, forecasting by horizon.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError
from ..report.figures.dynamics import (
    plot_behavior,
    plot_forecast_scores,
    plot_latent_trajectories,
    plot_raster_rates,
)
from .config import RunConfig, TaskOptions, _Strict
from .run import load_data

__all__ = [
    "BehaviorDecodingOptions",
    "ForecastingOptions",
    "InnerSearch",
    "LatentsOptions",
    "SpikeTrialDecodingOptions",
    "run_behavior_decoding",
    "run_forecasting",
    "run_latents",
    "run_spike_trial_decoding",
]


# ============================================================================ options
class BehaviorSpec(_Strict):
    """Where the behaviour is: a variable of a file beside the data (or the data file)."""

    file: str | None = None
    key: str
    transform: Literal["none", "circular"] = "none"
    period: float | None = None


class TestSplitSpec(_Strict):
    """A separate test split stored in the same file(s) under other variable names."""

    neural_key: str
    behavior_key: str


class BehaviorDecodingOptions(TaskOptions):
    """Options of the ``behavior_decoding`` task."""

    behavior: BehaviorSpec | None = None
    test: TestSplitSpec | None = None
    decoders: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {
            "ridge": {},
            "wiener": {"n_lags": 10},
            "kalman": {},
        }
    )
    n_splits: int = Field(5, ge=2, le=50)
    gap: int | None = Field(None, ge=0)
    torch_threads: int | None = Field(None, ge=1)


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


class ForecastSpec(_Strict):
    horizons: list[int] = Field(default_factory=lambda: [1, 2, 5, 10])
    models: list[Literal["persistence", "linear_ar", "rnn"]] = Field(
        default_factory=lambda: ["persistence", "linear_ar", "rnn"]
    )
    rnn: dict[str, Any] = Field(default_factory=dict)


class LatentsOptions(TaskOptions):
    """Options of the ``latents`` task."""

    model: Literal["lfads", "autoencoder"] = "lfads"
    model_params: dict[str, Any] = Field(default_factory=dict)
    heldout_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    forward_bins: int = Field(10, ge=0)
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    smoothing_sigma: float = Field(2.0, ge=0.0)
    baselines: list[Literal["smoothing", "pca", "fa", "gpfa"]] = Field(
        default_factory=lambda: ["smoothing", "gpfa"]
    )
    n_baseline_components: int = Field(3, ge=1)
    forecast: ForecastSpec | None = Field(default_factory=ForecastSpec)
    torch_threads: int | None = Field(None, ge=1)


def _set_threads(n: int | None) -> None:
    if n is not None:
        import torch

        torch.set_num_threads(n)


def _report(title: str | None, default: str, subtitle: str) -> Any:
    from ..report import Report

    return Report(title or default, subtitle=subtitle)


def _add_config(rep: Any, config_text: str | None, results: dict[str, Any]) -> None:
    if config_text:
        rep.add_code(config_text, title="Configuration", section="Provenance")
    rep.add_key_values(
        {k: results[k] for k in ("seed", "versions") if k in results},
        title="Run",
        section="Provenance",
    )


# ============================================================================ behaviour decoding
def _data_folder(cfg: RunConfig) -> tuple[Path, Path | None]:
    """(folder holding the data, the data file or None)."""
    data = cfg.data
    if data.source == "dataset":
        from ..datasets.registry import dataset_path, get_dataset

        folder = dataset_path(str(data.dataset), data.data_root)
        target = get_dataset(str(data.dataset)).loader_target
        return folder, (folder / target) if target else None
    if data.source == "file":
        p = Path(str(data.path))
        return p.parent, p
    return Path("."), None


def _read_var(path: Path, key: str) -> np.ndarray:
    from ..io.arrays import read_array

    ds = read_array(path, key=key, axis_order="epochs_features")
    return np.asarray(ds.X, dtype=float)


def _load_behavior_data(
    cfg: RunConfig, opts: BehaviorDecodingOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, str]:
    """(X_train, y_train, X_test, y_test, name); X is (n_bins, n_features)."""
    from ..analyses.dynamics import transform_behavior
    from ..data import EpochsDataset
    from ..data.simulate import LatentPopulation

    obj, name = load_data(cfg.data, seed=cfg.seed)
    if isinstance(obj, LatentPopulation):
        X = obj.counts.reshape(-1, obj.n_neurons).astype(float)
        y = obj.behavior.reshape(-1, obj.behavior.shape[-1])
        return X, y, None, None, name
    if not isinstance(obj, EpochsDataset) or np.asarray(obj.X).ndim != 2:
        raise DataFormatError(
            f"behavior_decoding needs binned activity as (n_bins, n_features) samples; {name} gave "
            f"{type(obj).__name__}. Read arrays with axis_order 'epochs_features' (bins as samples)."
        )
    if opts.behavior is None:
        raise ConfigError("behavior_decoding on real data needs 'options.behavior' (file and key).")
    folder, data_file = _data_folder(cfg)
    bfile = folder / opts.behavior.file if opts.behavior.file else data_file
    if bfile is None:
        raise ConfigError("'options.behavior.file' is required for this data source.")
    X = np.asarray(obj.X, dtype=float)
    y = transform_behavior(
        _read_var(bfile, opts.behavior.key), opts.behavior.transform, period=opts.behavior.period
    )
    if len(y) != len(X):
        raise DataFormatError(f"{len(X)} neural bins but {len(y)} behaviour samples in {bfile}.")
    X_te = y_te = None
    if opts.test is not None:
        if data_file is None:
            raise ConfigError("'options.test' needs a data file (dataset or file source).")
        X_te = _read_var(data_file, opts.test.neural_key)
        y_te = transform_behavior(
            _read_var(bfile, opts.test.behavior_key),
            opts.behavior.transform,
            period=opts.behavior.period,
        )
    return X, y, X_te, y_te, name


def _decoder_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    from ..analyses.dynamics import r2_per_dim

    r2 = r2_per_dim(y_true, y_pred)
    corr = [float(np.corrcoef(y_true[:, j], y_pred[:, j])[0, 1]) for j in range(y_true.shape[1])]
    return {"r2_mean": float(np.nanmean(r2)), "r2": r2.tolist(), "corr": corr}


def _timing(est: Any, n_bins: int, predict_time: float, fit_time: float) -> dict[str, Any]:
    hist = getattr(est, "history_", None)
    per_epoch = (
        float(np.mean([h["time_per_epoch_s"] for h in hist])) if isinstance(hist, list) else None
    )
    return {
        "fit_time_s": fit_time,
        "time_per_epoch_s": per_epoch,
        "latency_per_bin_s": predict_time / max(n_bins, 1),
    }


def run_behavior_decoding(
    cfg: RunConfig, out_dir: Path | None, config_text: str | None
) -> dict[str, Any]:
    """Run the ``behavior_decoding`` task."""
    from ..analyses.dynamics import ContiguousBlockCV, make_decoder

    opts: BehaviorDecodingOptions = cfg.task_options()
    _set_threads(opts.torch_threads)
    X, y, X_te, y_te, name = _load_behavior_data(cfg, opts)
    per: dict[str, Any] = {}
    preds: dict[str, np.ndarray] = {}
    y_ref = y if X_te is None else y_te
    for dec_name, params in opts.decoders.items():
        params = {"seed": cfg.seed, **params} if dec_name in ("gru", "lstm", "rnn") else params
        make_decoder(dec_name, **params)  # validate early
        t0 = time.perf_counter()
        if X_te is not None:
            est = make_decoder(dec_name, **params).fit(X, y)
            fit_time = time.perf_counter() - t0
            t1 = time.perf_counter()
            pred = np.asarray(est.predict(X_te)).reshape(len(X_te), -1)
            pt = time.perf_counter() - t1
            entry = {**_decoder_scores(y_te, pred), **_timing(est, len(X_te), pt, fit_time)}
        else:
            gap = opts.gap if opts.gap is not None else int(params.get("n_lags", 10))
            cv = ContiguousBlockCV(opts.n_splits, gap=gap)
            pred = np.full(y.shape, np.nan)
            fold_r2, fits, pts, est = [], [], [], None
            for tr, te in cv.split(X):
                t0 = time.perf_counter()
                est = make_decoder(dec_name, **params).fit(X[tr], y[tr])
                fits.append(time.perf_counter() - t0)
                t1 = time.perf_counter()
                pred[te] = np.asarray(est.predict(X[te])).reshape(len(te), -1)
                pts.append(time.perf_counter() - t1)
                fold_r2.append(_decoder_scores(y[te], pred[te])["r2_mean"])
            entry = {
                **_decoder_scores(y, pred),
                **_timing(est, len(X), float(np.sum(pts)), float(np.mean(fits))),
                "fold_r2": fold_r2,
                "fold_r2_mean": float(np.mean(fold_r2)),
            }
        entry["params"] = params
        per[dec_name] = entry
        preds[dec_name] = pred
        logger.info("behavior_decoding %s: R^2 %.3f", dec_name, entry["r2_mean"])
    best = max(per, key=lambda k: per[k]["r2_mean"])
    results: dict[str, Any] = {
        "task": cfg.task,
        "name": cfg.name,
        "dataset": name,
        "evaluation": "train/test split"
        if X_te is not None
        else f"contiguous-block CV ({opts.n_splits} blocks)",
        "n_train_bins": len(X),
        "n_test_bins": None if X_te is None else len(X_te),
        "n_features": int(X.shape[1]),
        "n_behavior_dims": int(y.shape[1]),
        "decoders": per,
        "best_decoder": best,
        "best_r2": per[best]["r2_mean"],
        "summary": "mean R^2: "
        + ", ".join(
            f"{k} {v['r2_mean']:.3f} ({v['latency_per_bin_s']:.1e} s/bin)" for k, v in per.items()
        ),
        "seed": cfg.seed,
    }
    if out_dir is not None and cfg.report.enabled:
        import pandas as pd

        rep = _report(cfg.report.title, f"neurodl: {cfg.name}", f"{name} - behaviour decoding")
        rep.add_summary(
            {
                f"R^2 ({best})": per[best]["r2_mean"],
                "evaluation": results["evaluation"],
                "bins": len(X) if X_te is None else f"{len(X)} train / {len(X_te)} test",
            }
        )
        table = pd.DataFrame(
            [
                {
                    "decoder": k,
                    "R^2 mean": v["r2_mean"],
                    "corr mean": float(np.mean(v["corr"])),
                    "fit time (s)": v["fit_time_s"],
                    "time/epoch (s)": v["time_per_epoch_s"],
                    "latency/bin (s)": v["latency_per_bin_s"],
                }
                for k, v in per.items()
            ]
        )
        rep.add_table(table, title="Decoders", section="Results")
        rep.add_figure(
            plot_behavior(y_ref, preds[best], f"{best}: predicted vs true behaviour"),
            title="Predicted vs true behaviour",
            section="Results",
        )
        _add_config(rep, config_text, results)
        rep.save(out_dir / "report.html")
    return results


# ============================================================================ spike trials
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


def _trial_estimator(cfg: RunConfig, opts: SpikeTrialDecodingOptions) -> Any:
    """The configured model, wrapped in an inner-CV grid search when ``inner_search`` is set."""
    from sklearn.metrics import get_scorer_names
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from ..estimators.classical import make_classical

    est = make_classical(cfg.model.name, seed=cfg.seed, **cfg.model.params)
    search = opts.inner_search
    if search is None:
        return est
    steps = getattr(est, "steps", None)
    key = f"{steps[-1][0]}__{search.param}" if steps else search.param
    if key not in est.get_params():
        allowed = sorted(
            k.split("__", 1)[-1] for k in est.get_params() if steps and k.startswith(steps[-1][0])
        )
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

    from ..data import EpochsDataset
    from ..evaluation import chance_level, cross_validate, get_protocol, permutation_test
    from .decoding import score_ci

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
    estimator = _trial_estimator(cfg, opts)
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
    ci, ci_method = score_ci(cv, ev)
    selected = None
    if opts.inner_search is not None:  # the value the inner CV picks on all trials (information)
        fitted = _trial_estimator(cfg, opts).fit(X, y)
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
        "time_per_epoch_s": None,  # closed-form / convex solver: no epochs
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


_TRIAL_KEYS = (
    "n_trials",
    "n_units",
    "aligned_to",
    "window_s",
    "classes",
    "class_counts",
    "inner_selected",
    "ci_method",
)


def run_spike_trial_decoding(
    cfg: RunConfig, out_dir: Path | None, config_text: str | None
) -> dict[str, Any]:
    """Run the ``spike_trial_decoding`` task (units aligned to trials -> trial label).

    The window is ``[a + start, a + t_after]`` around each trial's alignment time
    ``a = align (+ align_shift)``, with ``start = t_start`` or ``-t_before``; one spike count per
    unit (or per unit and bin), square-rooted when ``sqrt``. The main label and every entry of
    ``extra_labels`` are cross-validated with the same model (with a nested penalty search when
    ``inner_search`` is set), a CI and a label-permutation p-value.
    """
    import dataclasses

    from ..analyses.dynamics import bin_trials
    from ..data import SpikeTrains

    opts: SpikeTrialDecodingOptions = cfg.task_options()
    obj, name = load_data(cfg.data, seed=cfg.seed)
    if not isinstance(obj, SpikeTrains) or obj.trials is None:
        raise DataFormatError(
            f"spike_trial_decoding needs spike trains with a trial table; {name} gave "
            f"{type(obj).__name__}."
        )
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
    X_all = np.sqrt(X_all) if opts.sqrt else X_all
    ev = cfg.evaluation
    main, perm = _decode_target(cfg, opts, shifted, X_all, rows["label"], opts.label, "label")
    extra: dict[str, Any] = {}
    for key, lab in opts.extra_labels.items():
        w = f"extra_labels.{key}"
        extra[key] = _decode_target(cfg, opts, shifted, X_all, rows[w], lab, w)[0]
    results: dict[str, Any] = {
        "task": cfg.task,
        "name": cfg.name,
        "dataset": name,
        "model": cfg.model.name,
        "n_units": obj.n_units,
        "window_s": [float(start), float(t_after)],
        "aligned_to": opts.align + (f" + {opts.align_shift}" if opts.align_shift else ""),
        "metric": ev.metric,
        "protocol": ev.protocol,
        "n_splits": len(main["fold_scores"]),
        **main,
        "extra_targets": extra,
        "seed": cfg.seed,
    }
    if out_dir is not None and cfg.report.enabled:
        import pandas as pd

        from ..report import plot_null_distribution

        rep = _report(cfg.report.title, f"neurodl: {cfg.name}", f"{name} - trial decoding")
        rep.add_summary(
            {
                ev.metric: results["score_mean"],
                "95% CI": results["score_ci"],
                "chance": results["chance_level"],
                "p-value": results["p_value"] if results["p_value"] is not None else "n/a",
            }
        )
        rep.add_key_values(
            {k: results[k] for k in _TRIAL_KEYS},
            title="Data",
            section="Results",
        )
        table_rows = [
            {
                "target": t,
                "label column": r["label"],
                "trials": r["n_trials"],
                ev.metric: r["score_mean"],
                "CI low": r["score_ci"][0],
                "CI high": r["score_ci"][1],
                "chance": r["chance_level"],
                "p-value": r["p_value"],
                "fit time (s)": r["fit_time_s"],
                "latency/trial (s)": r["latency_per_trial_s"],
            }
            for t, r in {"label (main)": main, **extra}.items()
        ]
        rep.add_table(pd.DataFrame(table_rows), title="Targets", section="Results")
        if perm is not None:
            try:
                fig = plot_null_distribution(
                    perm.null_distribution, perm.score, p_value=perm.p_value, metric=ev.metric
                )
                rep.add_figure(fig, title="Permutation null", section="Results")
            except Exception as err:  # the figure is optional; never fail a run on it
                logger.warning("Null-distribution figure skipped: %s", err)
        _add_config(rep, config_text, results)
        rep.save(out_dir / "report.html")
    return results


# ============================================================================ forecasting
class ForecastingOptions(TaskOptions):
    """Options of the ``forecasting`` task."""

    horizons: list[int] = Field(default_factory=lambda: [1, 2, 5, 10], min_length=1)
    forecasters: dict[Literal["persistence", "linear_ar", "rnn"], dict[str, Any]] = Field(
        default_factory=lambda: {"persistence": {}, "linear_ar": {}, "rnn": {"epochs": 50}},
        min_length=1,
    )
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    """Trials (simulations: drawn at random) or contiguous segments (binned recordings: the last
    ones) held out for testing."""
    segment_bins: int = Field(50, ge=4)
    """Binned recordings are cut into contiguous segments of this many bins (the 'trials')."""
    t_min: int = Field(5, ge=0)
    """Forecasts made before this bin of a trial are not scored (warm-up)."""
    torch_threads: int | None = Field(None, ge=1)


def _forecast_data(
    cfg: RunConfig, opts: ForecastingOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str, str]:
    """(train counts, test counts, test true rates or None) as trials; dataset and split names."""
    from ..data import EpochsDataset
    from ..data.simulate import LatentPopulation

    obj, name = load_data(cfg.data, seed=cfg.seed)
    if isinstance(obj, LatentPopulation):
        c = obj.counts.astype(float)
        n_test = max(1, round(opts.test_fraction * len(c)))
        order = np.random.default_rng(cfg.seed).permutation(len(c))
        te, tr = np.sort(order[:n_test]), np.sort(order[n_test:])
        true = obj.rates * obj.bin_size
        return c[tr], c[te], true[te], name, f"{len(tr)} train / {len(te)} test trials (random)"
    if not isinstance(obj, EpochsDataset) or np.asarray(obj.X).ndim != 2:
        raise DataFormatError(
            f"forecasting needs trials (simulator 'latent_population') or binned counts as "
            f"(n_bins, n_units) samples; {name} gave {type(obj).__name__}."
        )
    X = np.asarray(obj.X, dtype=float)
    n_seg = len(X) // opts.segment_bins
    n_test = max(1, round(opts.test_fraction * n_seg))
    if n_seg - n_test < 1:
        raise ConfigError(
            f"Invalid value for 'options.segment_bins'. Allowed: at most {len(X) // 2} for "
            f"{len(X)} bins (>= 1 training and 1 test segment); got {opts.segment_bins}."
        )
    c = X[: n_seg * opts.segment_bins].reshape(n_seg, opts.segment_bins, -1)
    split = (
        f"{n_seg - n_test} train / {n_test} test contiguous segments of {opts.segment_bins} bins "
        "(test = the last ones)"
    )
    return c[: n_seg - n_test], c[n_seg - n_test :], None, name, split


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"


def _epoch_time(history: Any) -> float | None:
    v = history.get("time_per_epoch_s") if isinstance(history, dict) else None
    return None if v is None else float(np.mean(v))


_TIMING_KEYS = ("fit_time_s", "time_per_epoch_s", "latency_per_bin_s")


def _fit_forecasters(
    forecasters: dict[str, dict[str, Any]],
    horizons: list[int],
    c_tr: np.ndarray,
    c_te: np.ndarray,
    true_te: np.ndarray | None,
    t_min: int,
    seed: int,
) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Fit and score each forecaster by horizon, with fit time, time/epoch and latency per bin."""
    from ..analyses.dynamics import FORECASTERS, forecast_scores

    out: dict[str, dict[str, Any]] = {}
    preds: dict[str, np.ndarray] = {}
    for name, params in forecasters.items():
        kw = {"seed": seed, **params} if name == "rnn" else dict(params)
        t0 = time.perf_counter()
        f = FORECASTERS[name](horizons=horizons, **kw).fit(c_tr)
        fit_time = time.perf_counter() - t0
        t1 = time.perf_counter()
        pred = f.predict(c_te)
        latency = (time.perf_counter() - t1) / max(c_te.shape[0] * c_te.shape[1], 1)
        rows = forecast_scores(pred, c_te, horizons, true_rates=true_te, t_min=t_min)
        out[name] = {
            "by_horizon": rows,
            "params": kw,
            "fit_time_s": fit_time,
            "time_per_epoch_s": _epoch_time(getattr(f, "history_", None)),
            "latency_per_bin_s": latency,
        }
        preds[name] = pred
        logger.info(
            "forecasting %s: bits/spike %s", name, [round(r["bits_per_spike"], 3) for r in rows]
        )
    return out, preds


def run_forecasting(
    cfg: RunConfig, out_dir: Path | None, config_text: str | None
) -> dict[str, Any]:
    """Run the ``forecasting`` task: population activity k bins ahead, scored by horizon.

    Persistence and a linear autoregression are the baselines beside the GRU forecaster
    (:mod:`neurodl.analyses.dynamics.forecasting`); each is scored on held-out trials (or the
    last contiguous segments of a binned recording) with bits/spike and R^2 per horizon (against
    the counts, and the true rates for simulations), with its fit time, time per epoch and
    inference latency per bin.
    """
    opts: ForecastingOptions = cfg.task_options()
    _set_threads(opts.torch_threads)
    c_tr, c_te, true_te, name, split = _forecast_data(cfg, opts)
    H = sorted(set(opts.horizons))
    if min(H) < 1 or max(H) >= c_tr.shape[1] - opts.t_min:
        raise ConfigError(
            f"Invalid value for 'options.horizons'. Allowed: integers in 1..{c_tr.shape[1] - opts.t_min - 1} "
            f"({c_tr.shape[1]} bins per trial, t_min {opts.t_min}); got {opts.horizons}."
        )
    per, preds = _fit_forecasters(opts.forecasters, H, c_tr, c_te, true_te, opts.t_min, cfg.seed)
    rows = {k: v["by_horizon"] for k, v in per.items()}
    best = max(per, key=lambda k: rows[k][0]["bits_per_spike"])
    results: dict[str, Any] = {
        "task": cfg.task,
        "name": cfg.name,
        "dataset": name,
        "evaluation": split,
        "n_train_trials": int(c_tr.shape[0]),
        "n_test_trials": int(c_te.shape[0]),
        "n_bins": int(c_tr.shape[1]),
        "n_units": int(c_tr.shape[2]),
        "horizons": H,
        "forecasters": per,
        "best_at_first_horizon": best,
        "summary": f"bits/spike at horizon {H[0]}: "
        + ", ".join(f"{k} {v[0]['bits_per_spike']:.3f}" for k, v in rows.items()),
        "seed": cfg.seed,
    }
    if out_dir is not None and cfg.report.enabled:
        import pandas as pd

        rep = _report(cfg.report.title, f"neurodl: {cfg.name}", f"{name} - forecasting")
        rep.add_summary(
            {
                f"bits/spike h={H[0]} ({best})": rows[best][0]["bits_per_spike"],
                "evaluation": split,
            }
        )
        table = pd.DataFrame(
            [
                {
                    "forecaster": k,
                    **r,
                    "fit time (s)": per[k]["fit_time_s"],
                    "time/epoch (s)": per[k]["time_per_epoch_s"],
                    "latency/bin (s)": per[k]["latency_per_bin_s"],
                }
                for k, rr in rows.items()
                for r in rr
            ]
        )
        rep.add_table(table, title="Scores by horizon (test)", section="Results")
        rep.add_figure(
            plot_forecast_scores(rows), title="Scores by forecast horizon", section="Results"
        )
        # Predicted vs true: the best forecaster's first-horizon prediction for the 3 most
        # active units of the first test trial (true rates when simulated, else counts).
        h0 = H[0]
        units = np.argsort(c_te.mean(axis=(0, 1)))[::-1][:3]
        ref = (true_te if true_te is not None else c_te)[0, opts.t_min + h0 :, units].T
        pred = preds[best][0, opts.t_min : c_te.shape[1] - h0, 0, units].T
        rep.add_figure(
            plot_behavior(
                ref,
                pred,
                f"{best}, horizon {h0}: predicted vs "
                + ("true rates" if true_te is not None else "observed counts")
                + " (3 most active units, test trial 0)",
            ),
            title="Predicted vs true activity",
            section="Results",
        )
        _add_config(rep, config_text, results)
        rep.save(out_dir / "report.html")
    return results


# ============================================================================ latents
def run_latents(cfg: RunConfig, out_dir: Path | None, config_text: str | None) -> dict[str, Any]:
    """Run the ``latents`` task on simulated (or trial-structured) spiking populations."""
    from ..analyses import dynamics as dyn
    from ..data.simulate import LatentPopulation

    opts: LatentsOptions = cfg.task_options()
    _set_threads(opts.torch_threads)
    pop, name = load_data(cfg.data, seed=cfg.seed)
    if not isinstance(pop, LatentPopulation):
        raise DataFormatError(
            f"The latents task needs trials with known structure (simulator 'latent_population'); "
            f"{name} gave {type(pop).__name__}."
        )
    c = pop.counts.astype(float)
    true = pop.rates * pop.bin_size
    n_trials, n_bins, n_neurons = c.shape
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(n_trials)
    n_test = max(1, round(opts.test_fraction * n_trials))
    te, tr = np.sort(order[:n_test]), np.sort(order[n_test:])
    neurons = rng.permutation(n_neurons)
    n_held = n_neurons - round(opts.heldout_fraction * n_neurons)
    held_in, held_out = np.sort(neurons[:n_held]), np.sort(neurons[n_held:])
    c = c[:, :, np.concatenate([held_in, held_out])]
    true = true[:, :, np.concatenate([held_in, held_out])]
    T = n_bins - opts.forward_bins
    if T < 2:
        raise ConfigError(f"'forward_bins' ({opts.forward_bins}) leaves < 2 observed bins.")
    has_ho = n_neurons - n_held > 0
    has_fp = opts.forward_bins > 0

    def scores(rates: np.ndarray, factors: np.ndarray | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "co_bps": dyn.co_bps(rates[te][:, :T, n_held:], c[te][:, :T, n_held:])
            if has_ho
            else None,
            "fp_bps": dyn.fp_bps(rates[te][:, T:], c[te][:, T:]) if has_fp else None,
            "vel_r2": dyn.velocity_r2(rates[:, :T], pop.behavior[:, :T], seed=cfg.seed),
            "psth_r2": dyn.psth_r2(rates[:, :T], true[:, :T], pop.conditions),
        }
        if factors is not None:
            out["latent_r2"] = dyn.latent_r2(factors[:, :T], pop.latents[:, :T], train=tr)
        return out

    truth = scores(true, pop.latents)
    # Model
    params = {"seed": cfg.seed, **opts.model_params}
    if opts.model == "autoencoder":
        params["variational"] = False
    t0 = time.perf_counter()
    model = dyn.LFADS(**params).fit(c[tr][:, :T, :n_held], c[tr])
    fit_time = time.perf_counter() - t0
    out = model.predict(c[:, :T, :n_held])
    model_scores = {
        **scores(out["rates"], out["factors"]),
        "fit_time_s": fit_time,
        "time_per_epoch_s": model.history_["time_per_epoch_s"],
        "n_epochs": model.history_["n_epochs"],
        "latency_per_bin_s": out["latency_per_bin_s"],
        "n_nan_skipped": model.history_["n_nan_skipped"],
    }
    # Baselines (on observed bins; held-out neurons via Poisson GLM on the training trials)
    base: dict[str, Any] = {}
    for b in opts.baselines:
        t0 = time.perf_counter()
        if b == "smoothing":
            feats = np.log(dyn.smooth_rates(c[:, :T, :n_held], opts.smoothing_sigma) + 1e-3)
            lat = None
        else:
            est = dyn.LATENT_BASELINES[b](min(opts.n_baseline_components, n_held))
            est.fit(c[tr][:, :T, :n_held])
            feats = lat = est.transform(c[:, :T, :n_held])
        # No training epochs; smoothing/transform time over all trials, per bin and trial.
        entry: dict[str, Any] = {
            "fit_time_s": time.perf_counter() - t0,
            "time_per_epoch_s": None,
            "latency_per_bin_s": (time.perf_counter() - t0) / (n_trials * T),
        }
        if has_ho:
            ho = dyn.heldout_readout(feats[tr], c[tr][:, :T, n_held:], feats[te])
            entry["co_bps"] = dyn.co_bps(ho, c[te][:, :T, n_held:])
        if lat is not None:
            entry["latent_r2"] = dyn.latent_r2(lat, pop.latents[:, :T], train=tr)
        entry["vel_r2"] = dyn.velocity_r2(
            np.exp(feats) if lat is None else np.exp(np.clip(lat, -10, 10)),
            pop.behavior[:, :T],
            seed=cfg.seed,
        )
        base[b] = entry
    # Forecasting
    fc_rows: dict[str, list[dict[str, float]]] = {}
    fc_timing: dict[str, dict[str, Any]] = {}
    if opts.forecast is not None:
        H = [h for h in opts.forecast.horizons if h < n_bins - 5]
        spec = {m: (opts.forecast.rnn if m == "rnn" else {}) for m in opts.forecast.models}
        per_fc, _ = _fit_forecasters(spec, H, c[tr], c[te], true[te], 5, cfg.seed)
        fc_rows = {k: v["by_horizon"] for k, v in per_fc.items()}
        fc_timing = {k: {t: v[t] for t in _TIMING_KEYS} for k, v in per_fc.items()}
    ratio = (
        model_scores["co_bps"] / truth["co_bps"]
        if has_ho and truth["co_bps"] and truth["co_bps"] > 0
        else None
    )
    results: dict[str, Any] = {
        "task": cfg.task,
        "name": cfg.name,
        "dataset": name,
        "model": opts.model,
        "n_trials": n_trials,
        "n_train_trials": len(tr),
        "n_test_trials": len(te),
        "n_heldin": n_held,
        "n_heldout": n_neurons - n_held,
        "n_bins": n_bins,
        "forward_bins": opts.forward_bins,
        "bin_size": pop.bin_size,
        **{k: model_scores[k] for k in ("co_bps", "fp_bps", "vel_r2", "psth_r2", "latent_r2")},
        "co_bps_true_rates": truth["co_bps"],
        "co_bps_fraction_of_true": ratio,
        "fp_bps_true_rates": truth["fp_bps"],
        "model_scores": model_scores,
        "true_rate_scores": truth,
        "baselines": base,
        "forecast": fc_rows,
        "forecast_timing": fc_timing,
        "summary": (
            f"{opts.model}: co-bps {_fmt(model_scores['co_bps'])} (true rates "
            f"{_fmt(truth['co_bps'])}), fp-bps {_fmt(model_scores['fp_bps'])}, velocity R^2 "
            f"{_fmt(model_scores['vel_r2'])}, latent R^2 {_fmt(model_scores['latent_r2'])}; "
            f"{_fmt(_epoch_time(model_scores))} s/epoch"
        ),
        "history": model.history_,
        "seed": cfg.seed,
    }
    if out_dir is not None and cfg.report.enabled:
        import pandas as pd

        rep = _report(cfg.report.title, f"neurodl: {cfg.name}", f"{name} - latent dynamics")
        rep.add_summary(
            {
                "co-bps": model_scores["co_bps"] if has_ho else "n/a",
                "co-bps of true rates": truth["co_bps"] if has_ho else "n/a",
                "latent R^2": model_scores["latent_r2"],
                "velocity R^2": model_scores["vel_r2"],
            }
        )
        timing = {k: model_scores.get(k) for k in _TIMING_KEYS}
        timing["time_per_epoch_s"] = _epoch_time(model_scores)
        rows = [{"model": opts.model, **{k: model_scores.get(k) for k in truth}, **timing}]
        rows.append({"model": "true rates", **truth})
        rows += [{"model": k, **v} for k, v in base.items()]
        rep.add_table(pd.DataFrame(rows), title="NLB metrics (test trials)", section="Results")
        rep.add_figure(
            plot_latent_trajectories(out["factors"][te], pop.conditions[te], "inferred factors"),
            title="Latent trajectories (3-D PCA projection)",
            section="Results",
        )
        i = int(te[0])
        rep.add_figure(
            plot_raster_rates(c[i], out["rates"][i], pop.bin_size, f"trial {i} (test)"),
            title="Raster with inferred rates",
            section="Results",
        )
        b_pred = _ridge_behavior(out["rates"][:, :T], pop.behavior[:, :T], tr, te)
        rep.add_figure(
            plot_behavior(
                pop.behavior[te][:, :T].reshape(-1, 2),
                b_pred.reshape(-1, 2),
                "ridge from inferred rates (test trials)",
            ),
            title="Predicted vs true behaviour",
            section="Results",
        )
        if fc_rows:
            rep.add_table(
                pd.DataFrame(
                    [
                        {"forecaster": k, **r, **fc_timing[k]}
                        for k, rr in fc_rows.items()
                        for r in rr
                    ]
                ),
                title="Forecasting by horizon (test trials)",
                section="Results",
            )
            rep.add_figure(
                plot_forecast_scores(fc_rows), title="Scores by forecast horizon", section="Results"
            )
        rep.add_key_values(
            {"history": {k: v for k, v in model.history_.items() if "loss" not in k}},
            title="Training",
            section="Provenance",
        )
        _add_config(rep, config_text, results)
        rep.save(out_dir / "report.html")
    return results


def _ridge_behavior(
    rates: np.ndarray, behavior: np.ndarray, tr: np.ndarray, te: np.ndarray
) -> np.ndarray:
    from sklearn.linear_model import RidgeCV

    f = np.log(rates + 1e-3)
    m = RidgeCV(alphas=np.logspace(-3, 3, 7)).fit(
        f[tr].reshape(-1, f.shape[-1]), behavior[tr].reshape(-1, behavior.shape[-1])
    )
    return m.predict(f[te].reshape(-1, f.shape[-1])).reshape(behavior[te].shape)
