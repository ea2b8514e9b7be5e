"""The ``encoding`` task: features -> held-out r per voxel, noise ceiling, normalised r.

It reads the fMRI :class:`~neurodl.data.VolumeSeries` (no ``data.to_samples``), builds the
feature matrix (FIR-delayed category design or a file), fits the per-voxel ridge
(:class:`~neurodl.analyses.encoding.ridge.RidgeCVPerTarget`) and, with ``encoder: mlp``, the
:class:`~neurodl.estimators.encoder.NeuralEncoder` on the same train runs, and scores the test
runs against the split-half (or repeat) noise ceiling. Writes NIfTI maps and ``report.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ...exceptions import DataFormatError
from .._progress import progress_steps
from ..config import RunConfig, TaskOptions
from ..registry import RunContext, register_task
from ..results import ModelStats, TaskResult
from ._shared import array_hash, fmt, load_volumes, versions

__all__ = ["EncodingOptions", "EncodingResult", "run_encoding"]


class EncodingOptions(TaskOptions):
    """Category (or any feature) encoding with per-voxel ridge or a neural encoder.

    ``features``: ``"fir"`` (the FIR-delayed category design, ``n_delays`` delays) or
    ``"file"`` (a feature matrix read with :func:`neurodl.io.arrays.read_array` from
    ``features_path``, one row per volume, e.g. network activations per stimulus already
    convolved with an HRF; ``features_key`` picks the array in an ``.npz``/``.mat``).
    A relative ``features_path`` is looked up in the config file's folder, the working folder,
    then in ``data.data_root`` or the data root (``NEURODL_DATA``).

    ``encoder``: ``"ridge"`` (per-voxel penalties chosen by CV on the train runs) or ``"mlp"``
    (:class:`~neurodl.estimators.encoder.NeuralEncoder`, all voxels jointly, early stopping on
    held-out train runs; the ridge result on the same runs is reported beside it).

    Examples
    --------
    A 4-delay FIR design scored on run 4, the other runs fitted; the ridge searches 13 penalties
    from 0.01 to 10^4 per voxel:

    >>> opts = EncodingOptions.model_validate({"n_delays": 4, "test_runs": [4]})
    >>> opts.features, opts.encoder, opts.train_runs, opts.test_runs, opts.ceiling_method
    ('fir', 'ridge', None, [4], 'split_half')
    >>> len(opts.alphas), float(opts.alphas[0]), float(opts.alphas[-1])
    (13, 0.01, 10000.0)

    Features from a file need its path:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> try:
    ...     parse_config({"task": "encoding", "data": {"source": "simulate", "simulator": "fmri"},
    ...                   "options": {"features": "file"}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): invalid value at 'options': Value error, options.features is
    'file', so options.features_path is required.
    """

    features: Literal["fir", "file"] = "fir"
    """'fir' (the FIR-delayed category design) or 'file' (a feature matrix from features_path, one
    row per volume)."""
    features_path: str | None = None
    """Feature file for features 'file' (read with neurodl.io.arrays.read_array); relative: config
    folder, working folder, then the data root."""
    features_key: str | None = None
    """Array key in an .npz/.mat features_path; None: its only array."""
    encoder: Literal["ridge", "mlp"] = "ridge"
    """'ridge' (per-voxel penalties chosen by CV) or 'mlp' (NeuralEncoder over all voxels, reported
    beside the ridge)."""
    n_delays: int = Field(6, ge=1, le=40)
    """FIR delays 0 .. n_delays-1 in volumes (cover the haemodynamic response, e.g. 6 x 2.5 s);
    features 'fir' only."""
    train_runs: list[int] | None = None
    """Run numbers fitted on; None: every run not in test_runs."""
    test_runs: list[int] = Field(default_factory=lambda: [10, 11])
    """Run numbers scored (held-out r per voxel)."""
    alphas: list[float] = Field(default_factory=lambda: list(np.logspace(-2, 4, 13)))
    """Ridge penalties searched per voxel."""
    cv_folds: int = Field(5, ge=2)
    """Folds of the ridge penalty search on the train runs (grouped by run)."""
    ceiling_method: Literal["split_half", "repeats"] = "split_half"
    """Noise ceiling: 'split_half' (Spearman-Brown corrected split-half r of the repeats) or
    'repeats' (signal/noise variance of the repeats, NSD's ncsnr)."""
    segment_length: int = Field(12, ge=2)
    """Volumes per stimulus block used as one repeat for the ceiling, from the block's first volume
    (include the HRF tail)."""
    min_ceiling: float = Field(0.1, ge=0.0, lt=1.0)
    """Voxels with a noise ceiling below this are left out of the normalised r."""
    n_hidden: int = Field(64, ge=1, le=100_000)
    """Hidden units of the mlp encoder."""
    max_epochs: int = Field(200, ge=1, le=100_000)
    """Maximum training epochs of the mlp encoder."""
    weight_decay: float = Field(1e-2, ge=0.0)
    """Weight decay (L2) of the mlp encoder."""
    lr: float = Field(1e-3, gt=0.0)
    """Learning rate of the mlp encoder."""
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    """Dropout of the mlp encoder's hidden layer (0: none)."""
    patience: int = Field(20, ge=1)
    """Early-stopping patience of the mlp encoder in epochs (validation on held-out train runs; the
    best epoch is restored)."""
    num_threads: int | None = Field(1, ge=1)
    """Torch intra-op threads of the mlp encoder; None: unchanged."""

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


class EncodingResult(TaskResult):
    """Result of the ``encoding`` task (``results.json``).

    The top-level scores belong to the chosen ``encoder``: ``score_mean`` is its median held-out
    Pearson r over voxels (``metric`` ``pearson_r``, chance 0) on the test runs (one train/test
    split). ``encoders`` holds each fitted encoder's score summary and fit details (the ridge
    is always fitted), ``models`` their statistics in the common form.

    Examples
    --------
    The task's own fields, beside those of every :class:`~neurodl.workflows.results.TaskResult`
    (the first few):

    >>> from neurodl.workflows import TASKS
    >>> from neurodl.workflows.results import TaskResult
    >>> TASKS["encoding"].result is EncodingResult
    True
    >>> own = [f for f in EncodingResult.model_fields if f not in TaskResult.model_fields]
    >>> own[:8]
    ['encoder', 'features', 'features_path', 'n_delays', 'n_voxels', 'n_features', 'conditions', 'train_runs']
    >>> EncodingResult.model_fields["min_ceiling"].description
    'Voxels below this ceiling are not normalised.'
    """

    task: Literal["encoding"] = "encoding"
    encoder: Literal["ridge", "mlp"]
    features: Literal["fir", "file"]
    features_path: str | None = None
    n_delays: int | None = Field(None, description="FIR delays (features: fir).")
    n_voxels: int
    n_features: int
    conditions: list[str]
    train_runs: list[int]
    test_runs: list[int]
    heldout_r_median: float | None
    heldout_r_max: float | None
    normalized_median: float | None
    normalized_n_voxels: int
    normalized_quantiles: dict[str, float | None]
    ceiling_median: float | None
    ceiling_method: str
    ceiling_convention: str
    min_ceiling: float = Field(description="Voxels below this ceiling are not normalised.")
    best_alpha_median: float | None
    encoders: dict[str, dict[str, Any]]
    comparison: dict[str, float | None] | None = Field(
        None, description="The neural encoder against the ridge (same runs), voxel by voxel."
    )
    maps: list[str] | None = Field(None, description="NIfTI maps written to the output folder.")

    def summary_lines(self) -> list[str]:
        """Dataset and features, then one line per encoder (held-out and normalised r)."""
        lines = [f"{self.dataset} | {self.protocol} | {self.features} -> {self.encoder} encoder"]
        order = [self.encoder, *(k for k in self.encoders if k != self.encoder)]
        for key in order:
            enc = self.encoders[key]
            lines.append(
                f"{key}: held-out r median {fmt(enc.get('heldout_r_median'))}, max "
                f"{fmt(enc.get('heldout_r_max'))}; normalised r median "
                f"{fmt(enc.get('normalized_median'))} ({enc.get('normalized_n_voxels')} voxels)"
                + ("" if key == self.encoder else " [baseline]")
            )
        lines.append(f"noise ceiling ({self.ceiling_method}) median {fmt(self.ceiling_median)}")
        if self.comparison:
            lines.append(
                f"{self.encoder} - ridge: median r difference "
                f"{fmt(self.comparison.get('median_r_difference'))}; "
                f"{fmt(self.comparison.get('fraction_voxels_better_than_ridge'))} of voxels better"
            )
        return lines


def features_file(cfg: RunConfig, raw: str) -> Path:
    """``options.features_path`` as given (absolute), else in the config file's folder, the
    working folder or the data root (in that order)."""
    from ..._config import get_data_root
    from ...exceptions import DatasetError

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


def _file_features(path: Path, key: str | None, n_volumes: int) -> np.ndarray:
    """A feature matrix from a file: one row per volume."""
    from ...io.arrays import read_array

    X = np.asarray(read_array(path, axis_order="epochs_features", key=key).X)
    if X.ndim != 2 or X.shape[0] != n_volumes:
        raise DataFormatError(
            f"options.features_path {str(path)!r}: the feature matrix has shape {X.shape} "
            f"({X.shape[0]} rows) but the data has {n_volumes} volumes; it needs one row per "
            "volume, shape (n_volumes, n_features)."
        )
    if not np.isfinite(X).all():
        raise DataFormatError(
            f"options.features_path {str(path)!r}: {int((~np.isfinite(X)).sum())} non-finite "
            "values (NaN or inf) in the feature matrix."
        )
    return X.astype(np.float64)


def _fit(
    encoder: str, opts: EncodingOptions, X: np.ndarray, Y: np.ndarray, train: np.ndarray,
    test: np.ndarray, runs: np.ndarray, seed: int,
) -> tuple[np.ndarray, dict[str, Any]]:  # fmt: skip
    """Fit ``encoder`` on the train volumes; return (held-out r per voxel, fit details)."""
    if encoder == "ridge":
        from ...analyses.encoding.ridge import RidgeCVPerTarget
        from ...estimators.encoder import pearson_per_target

        model = RidgeCVPerTarget(opts.alphas, cv=opts.cv_folds).fit(
            X[train], Y[train], groups=runs[train]
        )
        r = pearson_per_target(model.predict(X[test]), Y[test])
        return r, {"best_alpha_median": float(np.median(model.best_alphas_))}
    from ...estimators.encoder import NeuralEncoder

    enc = NeuralEncoder(
        "mlp", n_hidden=opts.n_hidden, dropout=opts.dropout, max_epochs=opts.max_epochs,
        lr=opts.lr, weight_decay=opts.weight_decay, patience=opts.patience,
        num_threads=opts.num_threads, random_state=seed,
    ).fit(X[train], Y[train], groups=runs[train])  # fmt: skip
    info = {
        "n_hidden": opts.n_hidden,
        "weight_decay": opts.weight_decay,
        "n_epochs": enc.n_epochs_,
        "best_epoch": enc.best_epoch_,
        "stopped_reason": enc.stopped_reason_,
    }
    return enc.score(X[test], Y[test]), info


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


@register_task(
    "encoding",
    options=EncodingOptions,
    result=EncodingResult,
    reads=("data", "options"),
    description="fMRI encoding: features -> held-out r per voxel against the noise ceiling",
)
def run_encoding(ctx: RunContext) -> EncodingResult:
    """Encoding: features -> held-out r per voxel, noise ceiling, normalised r.

    With ``options.encoder: mlp`` the per-voxel ridge is fitted on the same train runs and
    reported beside the network (``encoders``, ``*_ridge.nii.gz`` maps).

    Examples
    --------
    Simulated fMRI (4 runs, faces and houses in blocks, a 6 x 6 x 3 grid): a 4-delay FIR
    design of the two categories (8 features) fitted on runs 1-3 predicts run 4, well in the
    voxels the categories drive (chance: r = 0):

    >>> from neurodl.workflows import TASKS, parse_config, run_config
    >>> TASKS["encoding"].run is run_encoding
    True
    >>> cfg = parse_config({
    ...     "task": "encoding",
    ...     "data": {"source": "simulate", "simulator": "fmri",
    ...              "params": {"n_runs": 4, "n_categories": 2, "shape": [6, 6, 3],
    ...                         "n_blocks_per_category": 2}},
    ...     "options": {"n_delays": 4, "test_runs": [4], "segment_length": 8, "cv_folds": 3},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: no maps, no report
    >>> res.n_voxels, res.n_features, res.conditions, res.train_runs, res.test_runs
    (64, 8, ['face', 'house'], [1, 2, 3], [4])
    >>> res.metric, res.chance_level, res.heldout_r_max > 0.5
    ('pearson_r', 0.0, True)
    >>> 0 < res.normalized_n_voxels <= res.n_voxels  # voxels above the minimum noise ceiling
    True
    """
    from ...analyses.encoding.ceiling import block_repeats, ceiling_normalize, noise_ceiling
    from ...analyses.encoding.fir import fir_design
    from ...analyses.fmri.glm import _runs_of, _volume_labels, clean_runs

    cfg, opts = ctx.cfg, ctx.options
    vs, name = load_volumes(cfg)
    runs, labels = _runs_of(vs), _volume_labels(vs)
    Y = clean_runs(vs.masked(), runs).T
    feats_path = None
    if opts.features == "fir":
        X, _names = fir_design(labels, opts.n_delays, runs=runs)
    else:
        feats_path = features_file(cfg, str(opts.features_path))
        X = _file_features(feats_path, opts.features_key, len(labels))
    run_num = np.array([int(r) if str(r).isdigit() else -1 for r in runs])
    test = np.isin(run_num, opts.test_runs)
    train = np.isin(run_num, opts.train_runs) if opts.train_runs is not None else ~test
    if not test.any() or not train.any():
        raise DataFormatError(
            f"options.train_runs/test_runs select no volume; runs present: {sorted(set(run_num))}."
        )
    names = ["ridge"] if opts.encoder == "ridge" else ["ridge", opts.encoder]
    fitted = {
        n: _fit(n, opts, X, Y, train, test, runs, cfg.seed)
        for n in progress_steps("encoders", names, unit="encoder")
    }
    rep_data, conds = block_repeats(Y, labels, runs, opts.segment_length)
    ceiling = noise_ceiling(rep_data, method=opts.ceiling_method, n_average=1, seed=cfg.seed)
    norms = {
        n: ceiling_normalize(r, ceiling, min_ceiling=opts.min_ceiling)
        for n, (r, _i) in fitted.items()
    }
    summaries = {n: {**_score_summary(r, norms[n]), **info} for n, (r, info) in fitted.items()}
    r, norm = fitted[opts.encoder][0], norms[opts.encoder]
    comparison = None
    if len(fitted) > 1:
        r_ridge = fitted["ridge"][0]
        comparison = {
            "median_r_difference": float(np.median(r - r_ridge)),
            "fraction_voxels_better_than_ridge": float(np.mean(r > r_ridge)),
        }
    models = {
        n: ModelStats(
            name=n,
            role="main" if n == opts.encoder else "baseline",
            kind="classical" if n == "ridge" else "neural",
            score_mean=summaries[n]["heldout_r_median"],
        )
        for n in [opts.encoder, *(k for k in names if k != opts.encoder)]
    }
    maps = None
    if ctx.out_dir is not None:
        import nibabel as nib

        arrays = {
            "encoding_r.nii.gz": r,
            "noise_ceiling.nii.gz": ceiling,
            "normalized_r.nii.gz": norm,
        }
        if opts.encoder != "ridge":
            arrays["encoding_r_ridge.nii.gz"] = fitted["ridge"][0]
            arrays["normalized_r_ridge.nii.gz"] = norms["ridge"]
        for fname, vals in arrays.items():
            nib.save(vs.map_to_nifti(np.nan_to_num(vals, nan=0.0)), str(ctx.out_dir / fname))
        maps = list(arrays)
    result = EncodingResult.create(
        task="encoding",
        name=cfg.name,
        dataset=name,
        protocol="train/test runs",
        metric="pearson_r",
        score_mean=summaries[opts.encoder]["heldout_r_median"],
        chance_level=0.0,
        n_splits=1,
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(vs.masked(), runs, labels),
        models=models,
        encoder=opts.encoder,
        features=opts.features,
        features_path=None if feats_path is None else str(feats_path),
        n_delays=opts.n_delays if opts.features == "fir" else None,
        n_voxels=int(Y.shape[1]),
        n_features=int(X.shape[1]),
        conditions=conds,
        train_runs=sorted(set(run_num[train].tolist())),
        test_runs=sorted(set(run_num[test].tolist())),
        **{k: v for k, v in summaries[opts.encoder].items() if k.startswith(("heldout", "norm"))},
        ceiling_median=float(np.median(ceiling)),
        ceiling_method=opts.ceiling_method,
        ceiling_convention="max Pearson r for single-run data, sqrt(reliability); "
        "normalised = r / ceiling",
        min_ceiling=opts.min_ceiling,
        best_alpha_median=summaries["ridge"]["best_alpha_median"],
        encoders=summaries,
        comparison=comparison,
        maps=maps,
    )
    if ctx.write_report:
        from .encoding_report import write_encoding_report

        write_encoding_report(
            ctx.out_dir / "report.html",
            result=result,
            volumes=vs,
            scores={n: fr[0] for n, fr in fitted.items()},
            normalized=norms,
            ceiling=ceiling,
            config_text=ctx.config_text,
            title=cfg.report.title,
        )
    return result
