"""The decoding task: labelled samples -> preprocessing -> estimator -> protocol -> statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._progress import progress_bar
from .config import RunConfig
from .run import load_samples

__all__ = ["PER_SAMPLE_STEPS", "run_decoding"]

#: Steps that transform each sample on its own, using no statistics across samples: applying
#: them before the split cannot leak, and doing so once saves work in every fold and permutation.
PER_SAMPLE_STEPS = frozenset({"bandpass", "notch", "resample", "log_bandpower", "vectorize"})

#: Blocks within which labels are permuted for each protocol: the null keeps each block's
#: class balance, so differences between sessions or subjects cannot fake an effect.
PERMUTE_WITHIN: dict[str, Any] = {
    "within-session": ["subject", "session"],
    "cross-session": ["subject", "session"],
    "leave-one-run-out": ["subject", "session"],
}


def n_leading_per_sample(steps: list[dict[str, dict[str, Any]]]) -> int:
    """Number of leading preprocessing steps that work on each sample alone."""
    n = 0
    for step in steps:
        (name,) = step
        if name not in PER_SAMPLE_STEPS:
            break
        n += 1
    return n


def split_preprocessing(
    steps: list[dict[str, dict[str, Any]]], sfreq: float | None
) -> tuple[Any, Any]:
    """Split preprocessing into leading per-sample steps (applied once) and the rest (per fold)."""
    from ..preprocessing import build_pipeline

    n_lead = n_leading_per_sample(steps)
    lead = build_pipeline(steps[:n_lead], sfreq=sfreq) if n_lead else None
    rest = build_pipeline(steps[n_lead:], sfreq=sfreq) if steps[n_lead:] else None
    return lead, rest


def build_estimator(cfg: RunConfig, fold_steps: Any) -> Any:
    """The configured model, preceded by the per-fold preprocessing steps (if any)."""
    from sklearn.pipeline import Pipeline

    from ..estimators.classical import make_classical

    model = make_classical(cfg.model.name, seed=cfg.seed, **cfg.model.params)
    if fold_steps is None:
        return model
    return Pipeline([("preprocessing", fold_steps), ("model", model)])


def score_ci(cv: Any, ev: Any) -> tuple[tuple[float, float], str]:
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


def run_decoding(cfg: RunConfig, out_dir: Path | None, config_text: str | None) -> dict[str, Any]:
    """Run the decoding task; write ``report.html`` into ``out_dir`` (if given)."""
    from ..data import EpochsDataset
    from ..evaluation import (
        chance_level,
        cross_validate,
        get_protocol,
        permutation_test,
        provenance,
    )

    ds, ds_name = load_samples(cfg.data, seed=cfg.seed)
    data_hash = ds.data_hash()
    lead, fold_steps = split_preprocessing(cfg.preprocessing, ds.sfreq)
    ds_eval = ds
    if lead is not None:
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
    estimator = build_estimator(cfg, fold_steps)
    ev = cfg.evaluation
    protocol = get_protocol(ev.protocol, **ev.protocol_params)
    with progress_bar("cross-validation") as cb:
        cv = cross_validate(
            estimator, ds_eval, protocol, ev.metric, n_jobs=ev.n_jobs, seed=cfg.seed, progress=cb
        )
    interval, ci_method = score_ci(cv, ev)
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
                within=PERMUTE_WITHIN.get(ev.protocol, "subject"),
                n_jobs=ev.n_jobs,
                progress=cb,
            )
    prov = provenance(
        protocol=ev.protocol, seed=cfg.seed, data_hash=data_hash, config=cfg.model_dump()
    )
    results: dict[str, Any] = {
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
        "chance_level": float(chance_level(ds.y, ev.metric)),
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
        "rejection": ds.info.get("rejection"),
        "preprocessing_before_split": cfg.preprocessing[: n_leading_per_sample(cfg.preprocessing)],
        "seed": cfg.seed,
        "versions": prov.get("versions", {}),
        "data_hash": data_hash,
        "provenance": prov,
    }
    if out_dir is not None and cfg.report.enabled:
        from .report import write_decoding_report
        from .run import jsonable

        write_decoding_report(
            out_dir / "report.html",
            results=jsonable(results),
            dataset=ds,
            cv=cv,
            perm=perm,
            config_text=config_text,
            title=cfg.report.title,
        )
    return results
