"""Tasks "searchlight", "encoding" (fMRI) and "time_resolved" (EEG/MEG epochs).

Each runner loads ``cfg.data`` (without ``to_samples`` for the fMRI tasks: they need the
:class:`~neurodl.data.VolumeSeries`), computes, writes NIfTI maps / ``report.html`` into
``out_dir`` and returns the results dict.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..exceptions import DataFormatError
from .config import RunConfig, TaskOptions
from .run import load_data

__all__ = [
    "EncodingOptions",
    "SearchlightOptions",
    "TimeResolvedOptions",
    "run_encoding",
    "run_searchlight",
    "run_time_resolved",
]


class SearchlightOptions(TaskOptions):
    """Searchlight: radius (mm), samples and classes."""

    radius: float = Field(6.0, ge=0.0, le=50.0)
    kind: Literal["volumes", "blocks", "lsa", "lss"] = "volumes"
    labels: list[str] | None = None
    detrend: Literal["none", "constant", "linear", "quadratic"] = "linear"
    n_jobs: int = 1


class EncodingOptions(TaskOptions):
    """Category (or any feature) encoding with per-voxel ridge or a neural encoder.

    ``features``: ``"fir"`` (the FIR-delayed category design, ``n_delays`` delays) or
    ``"file"`` (a feature matrix read with :func:`neurodl.io.arrays.read_array` from
    ``features_path``, one row per volume, e.g. network activations per stimulus already
    convolved with an HRF; ``features_key`` picks the array in an ``.npz``/``.mat``).
    A relative ``features_path`` is looked up in the config file's folder, the working folder,
    then in ``data.data_root`` or the data root (``NEURODL_DATA``).

    ``encoder``: ``"ridge"`` (per-voxel penalties chosen by CV on the train runs) or ``"mlp"``
    (:class:`~neurodl.analyses.encoding.neural.NeuralEncoder`, all voxels jointly, early
    stopping on held-out train runs; the ridge result on the same runs is reported beside it).
    """

    features: Literal["fir", "file"] = "fir"
    features_path: str | None = None
    features_key: str | None = None
    encoder: Literal["ridge", "mlp"] = "ridge"
    n_delays: int = Field(6, ge=1, le=40)
    train_runs: list[int] | None = None
    test_runs: list[int] = Field(default_factory=lambda: [10, 11])
    alphas: list[float] = Field(default_factory=lambda: list(np.logspace(-2, 4, 13)))
    cv_folds: int = Field(5, ge=2)
    ceiling_method: Literal["split_half", "repeats"] = "split_half"
    segment_length: int = Field(12, ge=2)
    min_ceiling: float = Field(0.1, ge=0.0, lt=1.0)
    n_hidden: int = Field(64, ge=1, le=100_000)
    max_epochs: int = Field(200, ge=1, le=100_000)
    weight_decay: float = Field(1e-2, ge=0.0)
    lr: float = Field(1e-3, gt=0.0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    patience: int = Field(20, ge=1)
    num_threads: int | None = Field(1, ge=1)

    @model_validator(mode="after")
    def _features_path(self) -> EncodingOptions:
        if self.features == "file" and not self.features_path:
            raise ValueError("options.features is 'file', so options.features_path is required")
        if self.features != "file" and (self.features_path or self.features_key):
            raise ValueError(
                "options.features_path/features_key are only used with features: file; "
                f"got features={self.features!r}"
            )
        return self


class TimeResolvedOptions(TaskOptions):
    """Sliding-window decoding and a TRF of the cue response.

    ``features``: ``"amplitude"`` (mean and slope per channel in each window, for evoked
    responses) or ``"bandpower"`` (log-variance per band in ``bands`` and channel, for rhythms
    such as motor-imagery ERD); see :func:`neurodl.analyses.encoding.time_resolved.window_features`.
    """

    window: float = Field(0.2, gt=0.0)
    step: float = Field(0.1, gt=0.0)
    features: Literal["amplitude", "bandpower"] = "amplitude"
    bands: list[tuple[float, float]] = Field(default_factory=lambda: [(8.0, 13.0), (13.0, 30.0)])
    n_folds: int = Field(5, ge=2)
    trf_tmin: float = -0.1
    trf_tmax: float = 0.6
    n_jobs: int = 1


def _volumes(cfg: RunConfig) -> tuple[Any, str]:
    from ..data import VolumeSeries

    vs, name = load_data(cfg.data, seed=cfg.seed)
    if not isinstance(vs, VolumeSeries):
        raise DataFormatError(
            f"Task {cfg.task!r} needs an fMRI VolumeSeries; {name} gave {type(vs).__name__} "
            "(remove data.to_samples)."
        )
    return vs, name


def _runs_labels(vs: Any) -> tuple[np.ndarray, np.ndarray]:
    from ..analyses.fmri.glm import _runs_of, _volume_labels

    return _runs_of(vs), _volume_labels(vs)


def _slices(vs: Any, values: np.ndarray, title: str, label: str) -> Any:
    from ..report import plot_brain_slices

    vol = vs.unmask(values, fill=np.nan)
    return plot_brain_slices(vol, title=title, colorbar_label=label)


def run_searchlight(
    cfg: RunConfig, out_dir: Path | None, config_text: str | None
) -> dict[str, Any]:
    """Searchlight decoding with leave-one-run-out folds; writes ``searchlight.nii.gz``."""
    from ..analyses.fmri.glm import fmri_samples
    from ..analyses.fmri.searchlight import searchlight, searchlight_map, sphere_neighbors
    from ..evaluation import chance_level

    opts = cfg.task_options()
    vs, name = _volumes(cfg)
    ds = fmri_samples(vs, kind=opts.kind, labels=opts.labels, detrend=opts.detrend)
    mask = vs.mask if vs.mask is not None else np.ones(vs.shape3d, bool)
    neighbors = sphere_neighbors(mask, opts.radius, affine=vs.affine)
    groups = ds.metadata["run"].to_numpy()
    scores = searchlight(ds.X, ds.y, neighbors, groups=groups, n_jobs=opts.n_jobs)
    chance = float(chance_level(ds.y, "balanced_accuracy"))
    results: dict[str, Any] = {
        "dataset": name,
        "protocol": "leave-one-run-out",
        "metric": "balanced_accuracy",
        "classes": ds.classes,
        "n_samples": int(ds.n_samples),
        "n_voxels": len(scores),
        "radius_mm": opts.radius,
        "mean_neighbourhood_size": float(np.mean([len(n) for n in neighbors])),
        "chance_level": chance,
        "score_max": float(scores.max()),
        "score_median": float(np.median(scores)),
        "fraction_above_chance_plus_0.1": float(np.mean(scores > chance + 0.1)),
    }
    if out_dir is not None:
        import nibabel as nib

        nib.save(searchlight_map(vs, scores), str(out_dir / "searchlight.nii.gz"))
        results["maps"] = ["searchlight.nii.gz"]
        if cfg.report.enabled:
            from ..report import Report

            rep = Report(
                cfg.report.title or f"neurodl: {cfg.name}", subtitle=f"{name} - searchlight"
            )
            rep.add_summary({"max balanced accuracy": scores.max(), "chance": chance})
            rep.add_figure(
                _slices(vs, scores, "Searchlight balanced accuracy", "balanced accuracy"),
                title="Searchlight map",
                caption=f"Radius {opts.radius} mm, leave-one-run-out, classes {ds.classes}.",
            )
            rep.add_key_values(results, title="Results")
            if config_text:
                rep.add_code(config_text, title="Config")
            rep.save(out_dir / "report.html")
    return results


def _pearson_cols(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from ..analyses.encoding.neural import pearson_per_target

    return pearson_per_target(a, b)


def _fir_features(cfg: RunConfig, opts: Any, labels: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """FIR-delayed category design (delays restart at each run)."""
    from ..analyses.encoding.fir import fir_design

    X, _names = fir_design(labels, opts.n_delays, runs=runs)
    return X


def _features_file(cfg: RunConfig, raw: str) -> Path:
    """``options.features_path`` as given (absolute), else in the config file's folder, the
    working folder or the data root (in that order)."""
    from .._config import get_data_root
    from ..exceptions import DatasetError

    path = Path(raw).expanduser()
    candidates = [path]
    if not path.is_absolute():
        candidates = [Path.cwd() / path]
        if cfg.config_dir is not None:
            candidates.insert(0, cfg.config_dir / path)
        root = cfg.data.data_root or get_data_root(required=False)
        if root is not None:
            candidates.append(Path(root) / path)
    for cand in candidates:
        if cand.is_file():
            return cand
    raise DatasetError(
        f"options.features_path {raw!r}: no such file; looked for {[str(c) for c in candidates]}."
    )


def _file_features(cfg: RunConfig, opts: Any, labels: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """A feature matrix from ``options.features_path``: one row per volume."""
    from ..io.arrays import read_array

    path = _features_file(cfg, str(opts.features_path))
    X = np.asarray(read_array(path, axis_order="epochs_features", key=opts.features_key).X)
    if X.ndim != 2 or X.shape[0] != len(labels):
        raise DataFormatError(
            f"options.features_path {str(path)!r}: the feature matrix has shape {X.shape} "
            f"({X.shape[0]} rows) but the data has {len(labels)} volumes; it needs one row per "
            "volume, shape (n_volumes, n_features)."
        )
    if not np.isfinite(X).all():
        raise DataFormatError(
            f"options.features_path {str(path)!r}: {int((~np.isfinite(X)).sum())} non-finite "
            "values (NaN or inf) in the feature matrix."
        )
    return X.astype(np.float64)


#: ``options.features`` -> builder ``(cfg, opts, labels, runs) -> X (n_volumes, n_features)``.
FEATURES: dict[str, Callable[..., np.ndarray]] = {"fir": _fir_features, "file": _file_features}


def _fit_ridge(
    opts: Any, X: np.ndarray, Y: np.ndarray, train: np.ndarray, test: np.ndarray,
    runs: np.ndarray, seed: int,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    from ..analyses.encoding.ridge import RidgeCVPerTarget

    model = RidgeCVPerTarget(opts.alphas, cv=opts.cv_folds).fit(
        X[train], Y[train], groups=runs[train]
    )
    r = _pearson_cols(model.predict(X[test]), Y[test])
    return r, {"best_alpha_median": float(np.median(model.best_alphas_))}


def _fit_mlp(
    opts: Any, X: np.ndarray, Y: np.ndarray, train: np.ndarray, test: np.ndarray,
    runs: np.ndarray, seed: int,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    from ..analyses.encoding.neural import NeuralEncoder

    enc = NeuralEncoder(
        "mlp", n_hidden=opts.n_hidden, dropout=opts.dropout, max_epochs=opts.max_epochs,
        lr=opts.lr, weight_decay=opts.weight_decay, patience=opts.patience,
        num_threads=opts.num_threads, random_state=seed,
    ).fit(X[train], Y[train], groups=runs[train])  # fmt: skip
    r = enc.score(X[test], Y[test])
    info = {
        "n_hidden": opts.n_hidden,
        "weight_decay": opts.weight_decay,
        "n_epochs": enc.n_epochs_,
        "best_epoch": enc.best_epoch_,
        "stopped_reason": enc.stopped_reason_,
    }
    return r, info


#: ``options.encoder`` -> fit on the train volumes, return (held-out r per voxel, details).
ENCODERS: dict[str, Callable[..., tuple[np.ndarray, dict[str, Any]]]] = {
    "ridge": _fit_ridge,
    "mlp": _fit_mlp,
}


def _score_summary(r: np.ndarray, norm: np.ndarray) -> dict[str, Any]:
    finite = norm[np.isfinite(norm)]
    return {
        "heldout_r_median": float(np.median(r)),
        "heldout_r_max": float(r.max()),
        "normalized_median": float(np.median(finite)) if finite.size else None,
        "normalized_n_voxels": int(finite.size),
        "normalized_quantiles": {
            str(q): float(np.quantile(finite, q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)
        }
        if finite.size
        else {},
    }


def run_encoding(cfg: RunConfig, out_dir: Path | None, config_text: str | None) -> dict[str, Any]:
    """Encoding: features -> held-out r per voxel, noise ceiling, normalised r.

    With ``options.encoder: mlp`` the per-voxel ridge is fitted on the same train runs and
    reported beside the network (``results["encoders"]``, ``*_ridge.nii.gz`` maps).
    """
    from ..analyses.encoding.ceiling import block_repeats, ceiling_normalize, noise_ceiling
    from ..analyses.fmri.glm import clean_runs

    opts = cfg.task_options()
    vs, name = _volumes(cfg)
    runs, labels = _runs_labels(vs)
    Y = clean_runs(vs.masked(), runs).T
    X = FEATURES[opts.features](cfg, opts, labels, runs)
    run_num = np.array([int(r) if str(r).isdigit() else -1 for r in runs])
    test = np.isin(run_num, opts.test_runs)
    train = np.isin(run_num, opts.train_runs) if opts.train_runs is not None else ~test
    if not test.any() or not train.any():
        raise DataFormatError(
            f"options.train_runs/test_runs select no volume; runs present: {sorted(set(run_num))}."
        )
    names = ["ridge"] if opts.encoder == "ridge" else ["ridge", opts.encoder]
    fitted = {n: ENCODERS[n](opts, X, Y, train, test, runs, cfg.seed) for n in names}
    rep_data, conds = block_repeats(Y, labels, runs, opts.segment_length)
    ceiling = noise_ceiling(rep_data, method=opts.ceiling_method, n_average=1, seed=cfg.seed)
    norms = {
        n: ceiling_normalize(r, ceiling, min_ceiling=opts.min_ceiling)
        for n, (r, _i) in fitted.items()
    }
    summaries = {n: {**_score_summary(r, norms[n]), **info} for n, (r, info) in fitted.items()}
    r, norm = fitted[opts.encoder][0], norms[opts.encoder]
    results: dict[str, Any] = {
        "dataset": name,
        "encoder": opts.encoder,
        "features": opts.features,
        "n_voxels": int(Y.shape[1]),
        "n_features": int(X.shape[1]),
        "conditions": conds,
        "train_runs": sorted(set(run_num[train].tolist())),
        "test_runs": sorted(set(run_num[test].tolist())),
        **{k: v for k, v in summaries[opts.encoder].items() if k.startswith(("heldout", "norm"))},
        "ceiling_median": float(np.median(ceiling)),
        "ceiling_method": opts.ceiling_method,
        "ceiling_convention": "max Pearson r for single-run data, sqrt(reliability); normalised = r / ceiling",
        "best_alpha_median": summaries["ridge"]["best_alpha_median"],
        "encoders": summaries,
    }
    if opts.features == "file":
        results["features_path"] = str(_features_file(cfg, str(opts.features_path)))
    if len(fitted) > 1:
        r_ridge = fitted["ridge"][0]
        results["comparison"] = {
            "median_r_difference": float(np.median(r - r_ridge)),
            "fraction_voxels_better_than_ridge": float(np.mean(r > r_ridge)),
        }
    if out_dir is not None:
        import nibabel as nib

        maps = {
            "encoding_r.nii.gz": r,
            "noise_ceiling.nii.gz": ceiling,
            "normalized_r.nii.gz": norm,
        }
        if opts.encoder != "ridge":
            maps["encoding_r_ridge.nii.gz"] = fitted["ridge"][0]
            maps["normalized_r_ridge.nii.gz"] = norms["ridge"]
        for fname, vals in maps.items():
            nib.save(vs.map_to_nifti(np.nan_to_num(vals, nan=0.0)), str(out_dir / fname))
        results["maps"] = list(maps)
        if cfg.report.enabled:
            _encoding_report(cfg, opts, vs, name, fitted, norms, ceiling, results, out_dir,
                             config_text)  # fmt: skip
    return results


def _encoding_report(
    cfg: RunConfig, opts: Any, vs: Any, name: str, fitted: dict[str, Any],
    norms: dict[str, np.ndarray], ceiling: np.ndarray, results: dict[str, Any], out_dir: Path,
    config_text: str | None,
) -> None:  # fmt: skip
    from ..report import Report
    from ..report.figures.fmri import plot_ceiling_normalized_scores, plot_encoder_comparison

    feats = f"FIR ({opts.n_delays} delays)" if opts.features == "fir" else "features from file"
    rep = Report(
        cfg.report.title or f"neurodl: {cfg.name}",
        subtitle=f"{name} - {feats} - {opts.encoder} encoder",
    )
    summary: dict[str, Any] = {}
    for n, (r, _info) in fitted.items():
        summary[f"{n}: held-out r (median)"] = float(np.median(r))
        summary[f"{n}: held-out r (max)"] = float(r.max())
        med = results["encoders"][n]["normalized_median"]
        summary[f"{n}: normalised r (median)"] = float("nan") if med is None else med
    rep.add_summary(summary)
    for n, (r, _info) in fitted.items():
        rep.add_figure(_slices(vs, r, f"Held-out r ({n})", "Pearson r"), title=f"Encoding map: {n}")
    rep.add_figure(_slices(vs, ceiling, "Noise ceiling", "max r"), title="Noise ceiling map")
    rep.add_figure(
        plot_ceiling_normalized_scores(norms),
        title="Ceiling-normalised scores",
        caption=f"Voxels with ceiling >= {opts.min_ceiling}; dashed: the ceiling.",
    )
    if len(fitted) > 1:
        r_ridge, r_net = fitted["ridge"][0], fitted[opts.encoder][0]
        rep.add_figure(
            plot_encoder_comparison(r_ridge, r_net, encoder=opts.encoder),
            title=f"Per-voxel r: {opts.encoder} vs ridge",
            caption="Same train and test runs; dashed: equal r.",
        )
    rep.add_key_values(results, title="Results")
    if config_text:
        rep.add_code(config_text, title="Config")
    rep.save(out_dir / "report.html")


def run_time_resolved(
    cfg: RunConfig, out_dir: Path | None, config_text: str | None
) -> dict[str, Any]:
    """Sliding-window decoding with bootstrap CIs and a chance line, plus a cue-locked TRF."""
    from ..analyses.encoding.time_resolved import time_resolved_decoding
    from ..analyses.encoding.trf import fit_trf
    from .run import load_samples

    opts = cfg.task_options()
    ds, name = load_samples(cfg.data, seed=cfg.seed)
    X = np.asarray(ds.X, dtype=float)
    if X.ndim != 3 or ds.sfreq is None:
        raise DataFormatError(
            f"time_resolved needs epochs (n, channels, times) with sfreq; got {X.shape}."
        )
    tmin = float(ds.info.get("tmin", 0.0))
    res = time_resolved_decoding(
        X, ds.y, ds.sfreq, window=opts.window, step=opts.step, tmin=tmin, folds=opts.n_folds,
        n_boot=cfg.evaluation.n_boot, ci=cfg.evaluation.ci, seed=cfg.seed, n_jobs=opts.n_jobs,
        features=opts.features, bands=opts.bands,
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
    results: dict[str, Any] = {
        "dataset": name,
        "classes": ds.classes,
        "n_epochs": int(n),
        "metric": "balanced_accuracy",
        "features": opts.features,
        "bands": opts.bands if opts.features == "bandpower" else None,
        "chance_level": res.chance,
        "times": res.times,
        "scores": res.scores,
        "ci_low": res.ci[0],
        "ci_high": res.ci[1],
        "peak_time": float(res.times[peak]),
        "peak_score": float(res.scores[peak]),
        "peak_ci": [float(res.ci[0, peak]), float(res.ci[1, peak])],
        "trf_times": trf.times,
        "trf_gfp_uV": np.sqrt((trf.kernel**2).mean(axis=2)).T,
        "trf_cv_r2_median": float(np.median(trf.model.cv_scores_.max(0))),
    }
    if out_dir is not None and cfg.report.enabled:
        from ..report import Report, plot_timecourse

        rep = Report(cfg.report.title or f"neurodl: {cfg.name}", subtitle=f"{name} - time-resolved")
        rep.add_summary(
            {"peak balanced accuracy": {"value": res.scores[peak], "ci": tuple(results["peak_ci"]),
                                        "detail": f"at {res.times[peak]:.2f} s"},
             "chance": res.chance}
        )  # fmt: skip
        rep.add_figure(
            plot_timecourse(
                res.times, res.scores, ci=res.ci, chance=res.chance, ylabel="balanced accuracy"
            ),
            title="Time-resolved decoding",
            caption=f"Features: {opts.features}"
            + (f" in bands {opts.bands} Hz" if opts.features == "bandpower" else "")
            + ". Band: percentile bootstrap over trials; dashed: chance.",
        )
        rep.add_figure(
            plot_timecourse(trf.times, results["trf_gfp_uV"], labels=ds.classes, xlabel="lag (s)",
                            ylabel="TRF global field power (uV)"),
            title="Temporal response function",
        )  # fmt: skip
        if config_text:
            rep.add_code(config_text, title="Config")
        rep.save(out_dir / "report.html")
    return results
