"""Run a validated config end to end: data -> preprocessing -> model -> evaluation -> report.

The output folder is written atomically: everything goes to a temporary sibling folder that
replaces the target only when the run succeeded, so a failed run never destroys a previous result
and an existing folder is never overwritten without ``overwrite=True``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError, DataFormatError, OutputExistsError
from ._progress import progress_bar
from .config import RunConfig

__all__ = ["SIMULATORS", "RunResult", "load_data", "run_config"]

#: ``data.simulator`` name -> function in :mod:`neurodl.data.simulate`.
SIMULATORS = {
    "motor_imagery": "simulate_motor_imagery",
    "evoked": "simulate_evoked",
}

#: Blocks within which labels are permuted for each protocol: the null keeps each block's
#: class balance, so differences between sessions or subjects cannot fake an effect.
_PERMUTE_WITHIN: dict[str, Any] = {
    "within-session": ["subject", "session"],
    "cross-session": ["subject", "session"],
    "leave-one-run-out": ["subject", "session"],
}

REQUIRED_KEYS = (
    "task",
    "dataset",
    "protocol",
    "metric",
    "score_mean",
    "score_ci",
    "chance_level",
    "p_value",
    "n_splits",
    "seed",
    "versions",
    "data_hash",
)


@dataclass
class RunResult:
    """What a run produced: the results dict and the paths written."""

    results: dict[str, Any]
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)


def load_data(cfg: RunConfig) -> tuple[Any, str]:
    """Return ``(EpochsDataset, dataset_name)`` for ``cfg.data``."""
    from ..data import EpochsDataset

    d = cfg.data
    if d.source == "simulate":
        from ..data import simulate

        if d.simulator not in SIMULATORS:
            raise ConfigError(
                f"Unknown simulator {d.simulator!r} at 'data.simulator'. Known: {', '.join(SIMULATORS)}."
            )
        func = getattr(simulate, SIMULATORS[d.simulator])
        params = {"seed": cfg.seed, **d.params}
        try:
            ds = func(**params)
        except TypeError as err:
            raise ConfigError(
                f"Invalid 'data.params' for simulator {d.simulator!r}: {err}."
            ) from None
        name = f"simulated:{d.simulator}"
    elif d.source == "dataset":
        from ..datasets import load_dataset

        ds = load_dataset(d.dataset, data_root=d.data_root, **d.params)
        name = str(d.dataset)
    else:
        from ..io import read

        ds = read(d.path, **d.params)
        name = Path(str(d.path)).name
    if not isinstance(ds, EpochsDataset):
        raise DataFormatError(
            f"The data for a decoding run must be labelled samples (an EpochsDataset); "
            f"{name} gave a {type(ds).__name__}. Choose a reader option that epochs or windows it."
        )
    if ds.y is None:
        raise DataFormatError(f"The data from {name} have no labels (y); decoding needs them.")
    return ds, name


def _split_stateless(
    steps: list[dict[str, dict[str, Any]]], sfreq: float | None
) -> tuple[Any, Any]:
    """Split preprocessing into leading per-sample steps (applied once) and the rest (per fold)."""
    from ..preprocessing import build_pipeline

    n_lead = _n_lead(steps)
    lead = build_pipeline(steps[:n_lead], sfreq=sfreq) if n_lead else None
    rest = build_pipeline(steps[n_lead:], sfreq=sfreq) if steps[n_lead:] else None
    return lead, rest


def _n_lead(steps: list[dict[str, dict[str, Any]]]) -> int:
    n = 0
    for step in steps:
        (name,) = step
        if name not in _PER_SAMPLE_STEPS:
            break
        n += 1
    return n


def _score_ci(cv: Any, ev: Any) -> tuple[tuple[float, float], str]:
    """CI of the reported score: over blocks when there are enough, else over test samples."""
    from ..evaluation import bootstrap_ci

    if not ev.n_boot:
        return (float("nan"), float("nan")), "none"
    blocks = np.array([v for v in cv.block_scores.values() if np.isfinite(v)])
    if len(blocks) >= 4:
        iv = bootstrap_ci(blocks, None, n_boot=ev.n_boot, ci=ev.ci, seed=0)
        return (iv.low, iv.high), (
            f"percentile bootstrap over the {len(blocks)} blocks' scores "
            f"(blocks: {cv.protocol.get('name', '')} units)"
        )
    pred = cv.y_score if ev.metric == "roc_auc" else cv.y_pred
    iv = bootstrap_ci((cv.y_true, pred), ev.metric, n_boot=ev.n_boot, ci=ev.ci, seed=0)
    return (iv.low, iv.high), "percentile bootstrap over pooled test predictions"


#: Steps that transform each sample on its own, using no statistics across samples: applying
#: them before the split cannot leak, and doing so once saves work in every fold and permutation.
_PER_SAMPLE_STEPS = frozenset({"bandpass", "notch", "resample", "log_bandpower", "vectorize"})


def _build_estimator(cfg: RunConfig, fold_steps: Any) -> Any:
    from sklearn.pipeline import Pipeline

    from ..estimators.classical import make_classical

    model = make_classical(cfg.model.name, seed=cfg.seed, **cfg.model.params)
    if fold_steps is None:
        return model
    return Pipeline([("preprocessing", fold_steps), ("model", model)])


def _prepare_out(out_dir: Path, overwrite: bool) -> Path:
    if out_dir.exists() and not overwrite:
        raise OutputExistsError(
            f"Output folder {str(out_dir)!r} already exists; pass --overwrite (overwrite=True) "
            "to replace it, or choose another --out."
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))


def _commit_out(tmp: Path, out_dir: Path) -> None:
    if out_dir.exists():
        backup = out_dir.with_name(f".{out_dir.name}.old-{int(time.time())}")
        out_dir.rename(backup)
        tmp.rename(out_dir)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        tmp.rename(out_dir)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def run_config(
    cfg: RunConfig,
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    config_text: str | None = None,
) -> RunResult:
    """Run a decoding analysis described by ``cfg``; write ``results.json`` + ``report.html``.

    Parameters
    ----------
    cfg : RunConfig
        A validated config (see :func:`neurodl.workflows.config.load_config`).
    out_dir : path or None
        Output folder; ``None`` computes the results without writing anything.
    overwrite : bool
        Replace an existing ``out_dir`` (only after the new run succeeded).
    config_text : str or None
        The config file as the user wrote it, shown in the report.
    """
    from .. import __version__
    from ..evaluation import (
        chance_level,
        cross_validate,
        get_protocol,
        permutation_test,
        provenance,
    )

    t0 = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else None
    tmp = _prepare_out(out, overwrite) if out is not None else None
    try:
        ds, ds_name = load_data(cfg)
        logger.info("Data %s: %s", ds_name, ds)
        data_hash = ds.data_hash()
        lead, fold_steps = _split_stateless(cfg.preprocessing, ds.sfreq)
        ds_eval = ds
        if lead is not None:
            from ..data import EpochsDataset

            Xt = lead.fit_transform(np.asarray(ds.X), ds.y)
            ds_eval = EpochsDataset(
                Xt,
                ds.y,
                ds.metadata,
                None if Xt.ndim == 2 else ds.sfreq,
                None,
                ds.classes,
                dict(ds.info),
            )
        estimator = _build_estimator(cfg, fold_steps)
        ev = cfg.evaluation
        protocol = get_protocol(ev.protocol, **ev.protocol_params)
        with progress_bar("cross-validation") as cb:
            cv = cross_validate(
                estimator,
                ds_eval,
                protocol,
                ev.metric,
                n_jobs=ev.n_jobs,
                seed=cfg.seed,
                progress=cb,
            )
        interval, ci_method = _score_ci(cv, ev)
        perm = None
        if ev.n_permutations:
            with progress_bar("permutation test") as cb:
                perm = permutation_test(
                    estimator,
                    ds_eval,
                    protocol,
                    ev.metric,
                    n_permutations=ev.n_permutations,
                    seed=cfg.seed,
                    within=_PERMUTE_WITHIN.get(ev.protocol, "subject"),
                    n_jobs=ev.n_jobs,
                    progress=cb,
                )
        chance = chance_level(ds.y, ev.metric)
        prov = provenance(
            protocol=ev.protocol, seed=cfg.seed, data_hash=data_hash, config=cfg.model_dump()
        )
        results = {
            "task": cfg.task,
            "name": cfg.name,
            "dataset": ds_name,
            "protocol": ev.protocol,
            "metric": ev.metric,
            "model": cfg.model.name,
            "score_mean": float(cv.score),
            "score_ci": [float(interval[0]), float(interval[1])],
            "ci_level": ev.ci,
            "ci_method": ci_method,
            "chance_level": float(chance),
            "p_value": None if perm is None else float(perm.p_value),
            "n_permutations": ev.n_permutations,
            "n_splits": len(cv.scores),
            "fold_scores": [float(s) for s in cv.scores],
            "fold_blocks": list(cv.blocks),
            "block_scores": dict(cv.block_scores),
            "pooled_score": cv.pooled_score,
            "n_samples": int(ds.n_samples),
            "n_subjects": int(ds.metadata["subject"].nunique()),
            "classes": ds.classes,
            "confusion_matrix": cv.confusion_matrix,
            "preprocessing_before_split": cfg.preprocessing[: _n_lead(cfg.preprocessing)],
            "seed": cfg.seed,
            "versions": prov.get("versions", prov.get("library_versions", {})),
            "data_hash": data_hash,
            "provenance": prov,
            "config": cfg.model_dump(),
            "neurodl_version": __version__,
            "duration_s": round(time.perf_counter() - t0, 2),
        }
        results = _jsonable(results)
        run = RunResult(results)
        if tmp is not None and out is not None:
            (tmp / "results.json").write_text(json.dumps(results, indent=2))
            if cfg.report.enabled:
                from .report import write_decoding_report

                write_decoding_report(
                    tmp / "report.html",
                    results=results,
                    dataset=ds,
                    cv=cv,
                    perm=perm,
                    config_text=config_text,
                    title=cfg.report.title,
                )
            _commit_out(tmp, out)
            run.out_dir = out
            run.files = {p.name: out / p.name for p in out.iterdir()}
        return run
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
