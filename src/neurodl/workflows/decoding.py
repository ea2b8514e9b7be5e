"""The decoding task: labelled samples -> preprocessing -> estimator -> protocol -> statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._logging import logger
from ..exceptions import ConfigError
from ._progress import progress_bar
from .config import RunConfig
from .run import load_samples

__all__ = [
    "PER_SAMPLE_STEPS",
    "LearningCurves",
    "build_estimator",
    "feature_layout",
    "pairwise_scores",
    "run_decoding",
    "saliency",
]

#: Samples (at most) explained by the saliency of a refitted network, drawn with the run's seed.
SALIENCY_MAX_SAMPLES = 256

#: ``options.pairwise`` methods: how each pair of classes is scored (see :func:`pairwise_scores`).
PAIRWISE_METHODS = {
    "cv": "a separate binary cross-validation per pair (same model, protocol and seed) on the "
    "samples of the two classes",
    "predictions": "derived from the multi-class cross-validated predictions: each test sample "
    "of the two classes is assigned to whichever of the two has the higher predicted "
    "probability (or, without probabilities, only samples predicted as one of the two count)",
}

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
    rest_sfreq = rate_after(lead, sfreq)
    rest = build_pipeline(steps[n_lead:], sfreq=rest_sfreq) if steps[n_lead:] else None
    return lead, rest


def rate_after(pipeline: Any, sfreq: float | None) -> float | None:
    """Sampling rate of the data after ``pipeline`` (changed by its ``resample`` steps)."""
    if pipeline is None:
        return sfreq
    for _, step in pipeline.steps:
        new = getattr(step, "new_sfreq", None)
        if new is not None:
            sfreq = float(new)
    return sfreq


class LearningCurves:
    """Epoch callback that collects the training history of every fit of a neural estimator.

    :func:`sklearn.base.clone` deep-copies an estimator's parameters; this object returns itself
    from ``__deepcopy__``, so every clone made by cross-validation reports to the same
    collector (in fold order when folds run in this process; with ``n_jobs != 1`` the folds run
    in other processes and no curves are collected). A record with ``epoch == 0`` starts a new
    curve.
    """

    def __init__(self) -> None:
        self.curves: list[list[dict[str, float]]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        if record.get("epoch") == 0 or not self.curves:
            self.curves.append([])
        self.curves[-1].append(dict(record))

    def __deepcopy__(self, memo: dict[int, Any]) -> LearningCurves:
        return self

    def to_results(self) -> list[dict[str, list[float]]]:
        """One dict of per-epoch columns (``epoch``, ``train_loss``, ``valid_loss``, ...) per fit."""
        out = []
        for curve in self.curves:
            keys = [k for k in curve[0] if k != "time_s"]
            out.append({k: [float(r.get(k, float("nan"))) for r in curve] for k in keys})
        return out


def build_estimator(
    cfg: RunConfig,
    fold_steps: Any,
    sfreq: float | None = None,
    *,
    model: Any = None,
    callbacks: list[Any] | None = None,
    data_info: dict[str, Any] | None = None,
) -> Any:
    """The configured model, preceded by the per-fold preprocessing steps (if any).

    ``sfreq`` (the data's sampling rate) goes to models that take one (e.g. ``fbcsp``, the
    networks). ``model`` (a :class:`~neurodl.workflows.config.ModelConfig`) overrides
    ``cfg.model``; ``callbacks`` are given to neural estimators (epoch callbacks).
    ``data_info`` (the samples' ``info``) fills the hyperparameters a network class lists in
    its ``data_params`` attribute (e.g. ``voxel_cnn``'s ``mask``) unless the config sets them.
    """
    from sklearn.pipeline import Pipeline

    from ..estimators import is_neural, make_estimator

    spec = model or cfg.model
    params = dict(spec.params)
    if callbacks and is_neural(spec.name):
        params["callbacks"] = list(callbacks)
    if data_info and is_neural(spec.name):
        from ..models import get_model_class

        for key in getattr(get_model_class(spec.name), "data_params", ()):
            if key not in params and key in data_info:
                params[key] = data_info[key]
    est = make_estimator(spec.name, seed=cfg.seed, sfreq=sfreq, **params)
    if fold_steps is None:
        return est
    return Pipeline([("preprocessing", fold_steps), ("model", est)])


def score_ci(cv: Any, ev: Any) -> tuple[tuple[float, float], str]:
    """CI of the reported score: over blocks when there are enough, else over test samples."""
    from ..evaluation import bootstrap_ci

    if not ev.n_boot:
        from ..evaluation import fold_ci

        finite = np.asarray(cv.scores, float)[np.isfinite(cv.scores)]
        if len(finite) < 2:
            return (float("nan"), float("nan")), "none (fewer than 2 finite fold scores)"
        iv = fold_ci(finite, ci=ev.ci)
        return (iv.low, iv.high), "t-interval over fold scores (approximate: folds share data)"
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


def _as_float(value: Any, default: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if np.isfinite(out) else default


#: Above this many channels/features, results.json keeps only the top ones of the saliency.
SALIENCY_MAX_STORED = 256


def _results_saliency(sal: dict[str, Any] | None) -> dict[str, Any] | None:
    """The saliency entry of results.json: per-channel arrays only for up to 256 channels."""
    if sal is None or len(sal["channel"]) <= SALIENCY_MAX_STORED:
        return sal
    out = {k: v for k, v in sal.items() if k not in ("channel", "channels")}
    out["n_channels"] = len(sal["channel"])
    return out


def _voxel_labels(info: dict[str, Any], n_features: int) -> list[str] | None:
    """``"(i, j, k)"`` voxel labels when ``info["mask"]`` selects exactly the features."""
    mask = info.get("mask")
    if mask is None or np.ndim(mask) != 3 or int(np.count_nonzero(mask)) != n_features:
        return None
    return [f"({i}, {j}, {k})" for i, j, k in np.argwhere(np.asarray(mask, bool))]


def feature_layout(lead: Any, ds: Any, ds_eval: Any) -> tuple[list[str], list[str]] | None:
    """``(channel names, band labels)`` when the samples are channel-major band powers.

    That is when the per-sample preprocessing ends with ``log_bandpower`` on 3-D samples with
    channel names; the features are then ``n_channels x n_bands`` (channel-major) and
    attributions fold back onto the electrodes.
    """
    if lead is None or ds.ch_names is None or np.ndim(ds.X) != 3 or np.ndim(ds_eval.X) != 2:
        return None
    last = lead.steps[-1][1]
    masks = getattr(last, "band_masks_", None)
    if masks is None:
        return None
    bands = np.asarray(last.bands, dtype=float).reshape(-1, 2)
    n_ch = len(ds.ch_names)
    if ds_eval.X.shape[1] != n_ch * len(bands):
        return None
    return list(ds.ch_names), [f"{lo:g}-{hi:g} Hz" for lo, hi in bands]


def saliency(
    cfg: RunConfig,
    fold_steps: Any,
    ds: Any,
    *,
    neural: bool,
    layout: tuple[list[str], list[str]] | None = None,
    n_top: int = 5,
) -> dict[str, Any]:
    """Channel (and time or band) attributions of the model refitted on all samples.

    The configured estimator (with its per-fold preprocessing) is refitted once on every sample
    (the model one would deploy; the CV folds' models are not kept). A network is explained by
    integrated gradients (16 steps, zero baseline) of the true class's logit on up to
    :data:`SALIENCY_MAX_SAMPLES` samples, in the network's input space (after preprocessing
    that keeps the shape); other models, and networks behind shape-changing preprocessing, by
    permutation channel importance (3 repeats). Both are in-sample: they describe what the
    fitted model uses, not what generalises. With ``layout`` (see :func:`feature_layout`),
    band-power features are summed per channel and per band.
    """
    from ..analyses.interpret import attribute, permutation_importance
    from ..evaluation import METRICS

    metric = cfg.evaluation.metric
    classification = METRICS[metric].task == "classification" if metric in METRICS else True
    if metric == "roc_auc" or metric not in METRICS:
        metric = "balanced_accuracy" if classification else "r2"
    X = np.asarray(ds.X)
    y = np.asarray(ds.y)
    est = build_estimator(cfg, fold_steps, ds.sfreq, data_info=ds.info)
    est.fit(X, y)
    rng = np.random.default_rng(cfg.seed)
    idx = np.arange(len(X))
    if len(idx) > SALIENCY_MAX_SAMPLES:
        idx = np.sort(rng.choice(idx, SALIENCY_MAX_SAMPLES, replace=False))
    three_d = X.ndim == 3
    names = list(ds.ch_names) if ds.ch_names is not None else None
    n_units = X.shape[1]
    out: dict[str, Any] = {"fit": "refitted on all samples", "n_samples": len(idx)}
    feature_values = None
    if neural:
        try:
            a = attribute(
                est,
                X[idx],
                method="integrated_gradients",
                target="true" if classification else 0,
                y=y[idx] if classification else None,
                n_steps=16,
                sfreq=ds.sfreq if three_d else None,
                tmin=_as_float(ds.info.get("tmin"), 0.0),
                ch_names=names if three_d else None,
            )
        except ConfigError as err:
            logger.info("saliency: %s; using permutation channel importance", err)
        else:
            out.update(
                method="integrated_gradients",
                description="mean |integrated gradients| of "
                + ("the true class's logit" if classification else "the first output")
                + " (zero baseline, 16 steps), in-sample",
                unit="mean |attribution|",
                key="share",
            )
            if three_d:
                feature_values = a.channel
                out.update(
                    times=a.times,
                    time=a.time,
                    time_unit="s" if ds.sfreq else "sample",
                    freqs=a.freqs,
                    frequency=a.frequency,
                    freq_unit="Hz" if ds.sfreq else "cycles/sample",
                )
            else:  # 2-D features enter the network as one channel: features lie on the time axis
                feature_values = a.time
    if feature_values is None:
        groups = None
        if layout is not None:
            n_bands = len(layout[1])
            groups = {c: range(i * n_bands, (i + 1) * n_bands) for i, c in enumerate(layout[0])}
        imp = permutation_importance(
            est,
            X[idx],
            y[idx],
            n_repeats=3,
            ch_names=names,
            groups=groups,
            metric=metric,
            seed=cfg.seed,
        )
        out.update(
            method="permutation",
            description=f"drop of in-sample {metric} when one channel"
            + ("'s band-power features are" if layout is not None else " is")
            + " permuted across samples (3 repeats)",
            unit=f"{metric} drop",
            key="drop",
            channels=imp.labels,
            channel=imp.mean,
        )
    else:
        labels = names or _voxel_labels(ds.info, n_units) or [str(i) for i in range(n_units)]
        channel = np.asarray(feature_values, float)
        if layout is not None:
            per = channel.reshape(len(layout[0]), len(layout[1]))
            labels, channel = layout[0], per.sum(axis=1)
            out.update(bands=layout[1], band=per.sum(axis=0))
            out["description"] += "; summed over each channel's band-power features"
        out.update(channels=labels, channel=channel)
    channel = np.asarray(out["channel"], float)
    total = float(np.abs(channel).sum()) or 1.0
    order = np.argsort(channel)[::-1][:n_top]
    key = out.pop("key")
    out["top_channels"] = [
        {
            "channel": out["channels"][i],
            key: float(channel[i] / total) if key == "share" else float(channel[i]),
        }
        for i in order
    ]
    return out


def class_name(ds: Any, label: Any) -> str:
    """The dataset's name of class ``label`` (integer labels index ``ds.classes``)."""
    if (
        ds.classes is not None
        and isinstance(label, int | np.integer)
        and 0 <= label < len(ds.classes)
    ):
        return str(ds.classes[label])
    return str(label)


def pairwise_scores(
    cv: Any,
    ds: Any,
    method: str,
    *,
    estimator: Any = None,
    protocol: Any = None,
    seed: int = 0,
    n_jobs: int | None = 1,
) -> dict[str, Any]:
    """Balanced accuracy for every pair of classes (see :data:`PAIRWISE_METHODS`).

    Returns a dict with ``method``, ``description``, ``metric``, ``chance_level`` (0.5),
    ``classes``, ``matrix`` (n_classes x n_classes, NaN on the diagonal) and ``pairs`` (one
    record per pair: the two classes, the score and the samples scored).
    """
    from itertools import combinations

    from sklearn.metrics import balanced_accuracy_score

    if method not in PAIRWISE_METHODS:
        raise ConfigError(
            f"Invalid value for 'options.pairwise'. Allowed: {', '.join(PAIRWISE_METHODS)}; "
            f"got {method!r}."
        )
    labels = list(cv.classes)
    names = [class_name(ds, c) for c in labels]
    k = len(labels)
    matrix = np.full((k, k), np.nan)
    pairs = []
    for i, j in combinations(range(k), 2):
        a, b = labels[i], labels[j]
        if method == "cv":
            from ..evaluation import cross_validate

            sub = ds.subset(np.isin(np.asarray(ds.y), [a, b]))
            try:
                res = cross_validate(
                    estimator, sub, protocol, "balanced_accuracy", n_jobs=n_jobs, seed=seed
                )
                value, n = float(res.score), int(sub.n_samples)
            except ValueError as err:  # e.g. a split without both classes
                logger.warning("pairwise CV %s vs %s failed: %s", names[i], names[j], err)
                value, n = float("nan"), int(sub.n_samples)
        else:
            yt = np.asarray(cv.y_true)
            keep = np.isin(yt, [a, b])
            if cv.y_score is not None and np.ndim(cv.y_score) == 2:
                sc = np.asarray(cv.y_score)[keep]
                pred = np.where(sc[:, i] >= sc[:, j], a, b)
                truth = yt[keep]
            else:
                yp = np.asarray(cv.y_pred)[keep]
                both = np.isin(yp, [a, b])
                pred, truth = yp[both], yt[keep][both]
            n = len(truth)
            value = (
                float(balanced_accuracy_score(truth, pred))
                if n and len(np.unique(truth)) == 2
                else float("nan")
            )
        matrix[i, j] = matrix[j, i] = value
        pairs.append({"a": names[i], "b": names[j], "score": value, "n_samples": n})
    return {
        "method": method,
        "description": PAIRWISE_METHODS[method],
        "metric": "balanced_accuracy",
        "chance_level": 0.5,
        "classes": names,
        "matrix": matrix,
        "pairs": pairs,
    }


#: Metadata columns shown beside each misclassified sample (when present and not constant).
ERROR_COLUMNS = ("subject", "session", "run", "recording", "segment", "trial", "onset", "set")


def misclassified_samples(
    cv: Any, ds: Any, max_rows: int = 50, score_kind: str | None = None
) -> dict[str, Any] | None:
    """The test samples a classifier got wrong, most confidently wrong first.

    Answers "are the errors spread out, or concentrated in a few segments, runs or
    subjects?" without a custom script. Classification only; ``None`` when the run kept no
    pooled predictions.

    Parameters
    ----------
    cv : CVResult
        Cross-validation result with pooled ``y_true``, ``y_pred``, ``sample_index``, ``fold``
        and (when the estimator gives them) class scores ``y_score``.
    ds : EpochsDataset
        The dataset that was cross-validated (its metadata describes each sample).
    max_rows : int, default=50
        At most this many samples are listed (``n_errors`` counts them all).
    score_kind : str, optional
        What ``cv.y_score`` holds (``"predict_proba"`` or ``"decision_function"``); recorded.

    Returns
    -------
    dict or None
        ``n_errors``, ``n_tested``, ``score_kind`` (what ``p_true``/``p_pred`` hold: class
        probabilities for ``"predict_proba"``, decision scores otherwise; None and NaN
        columns when the run kept no class scores),
        ``rows`` (sample index, fold, true and predicted class, ``p_true``/``p_pred`` and the
        metadata columns of :data:`ERROR_COLUMNS` that vary across the dataset), ``error_rate``
        and ``concentration``: for each of those grouping columns where some value holds more
        than one error, the number of distinct values among the errors, the value holding the
        most errors, how many, and the error rate among that value's tested samples (e.g. 4 of 9
        errors in one segment, whose error rate is 1.0 against 0.02 overall).
    """
    if cv.y_true is None or cv.y_pred is None or cv.sample_index is None or cv.classes is None:
        return None
    y_true, y_pred = np.asarray(cv.y_true), np.asarray(cv.y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    labels = list(cv.classes)

    score = None if cv.y_score is None else np.asarray(cv.y_score, dtype=float)
    p_true = p_pred = np.full(len(y_true), np.nan)
    if score is not None and score.ndim == 2 and score.shape[1] == len(labels):
        col = {c: k for k, c in enumerate(labels)}
        rows_ = np.arange(len(y_true))
        p_true = score[rows_, [col[c] for c in y_true]]
        p_pred = score[rows_, [col[c] for c in y_pred]]
    order = wrong[np.argsort(p_true[wrong], kind="stable")] if len(wrong) else wrong
    md = ds.metadata
    cols = [c for c in ERROR_COLUMNS if c in md.columns and md[c].nunique() > 1]
    idx = np.asarray(cv.sample_index)
    folds = np.asarray(cv.fold) if cv.fold is not None else np.full(len(idx), -1)
    rows = []
    for i in order[:max_rows]:
        meta = md.iloc[int(idx[i])]
        rows.append(
            {
                "sample": int(idx[i]),
                "fold": int(folds[i]),
                "true": class_name(ds, y_true[i]),
                "predicted": class_name(ds, y_pred[i]),
                "p_true": float(p_true[i]),
                "p_pred": float(p_pred[i]),
                **{c: meta[c].item() if hasattr(meta[c], "item") else meta[c] for c in cols},
            }
        )
    concentration = {}
    tested = md.iloc[idx] if len(idx) else md.iloc[:0]
    for c in cols:
        if c in ("trial", "onset") or not len(wrong):
            continue
        values, n = np.unique(md[c].to_numpy()[idx[wrong]].astype(str), return_counts=True)
        if len(values) == len(wrong):  # one error per value: nothing concentrates
            continue
        top = int(np.argmax(n))
        n_in_top = int(np.sum(tested[c].to_numpy().astype(str) == values[top]))
        concentration[c] = {
            "n_values": len(values),
            "top_value": str(values[top]),
            "top_count": int(n[top]),
            "top_error_rate": float(n[top] / max(n_in_top, 1)),
        }
    return {
        "n_errors": len(wrong),
        "n_tested": len(y_true),
        "error_rate": float(len(wrong) / max(len(y_true), 1)),
        "score_kind": None if score is None else score_kind,
        "rows": rows,
        "concentration": concentration,
    }


def _timing(cv: Any) -> dict[str, float]:
    """Wall-clock cost beside the score: mean fit time per fold, predict time per sample."""
    n_test = max(int(np.sum(cv.n_test)), 1)
    return {
        "fit_time_s_per_fold": float(np.mean(cv.fit_times)),
        "predict_time_s_per_sample": float(np.sum(cv.score_times) / n_test),
    }


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
        three_d = Xt.ndim == 3
        ds_eval = EpochsDataset(
            Xt,
            ds.y,
            ds.metadata,
            rate_after(lead, ds.sfreq) if three_d else None,
            ds.ch_names if three_d and Xt.shape[1] == ds.X.shape[1] else None,
            ds.classes,
            dict(ds.info),
        )
    from ..estimators import is_neural

    opts = cfg.task_options()
    neural = is_neural(cfg.model.name)
    perm_on = opts.permutation_model
    if perm_on == "auto":
        perm_on = "baseline" if (neural and opts.baseline is not None) else "model"
    if perm_on == "baseline" and opts.baseline is None:
        raise ConfigError(
            "options.permutation_model is 'baseline' but no options.baseline model is given."
        )
    curves = LearningCurves() if neural else None
    estimator = build_estimator(
        cfg,
        fold_steps,
        ds_eval.sfreq,
        callbacks=[curves] if curves is not None else None,
        data_info=ds_eval.info,
    )
    ev = cfg.evaluation
    protocol = get_protocol(ev.protocol, **ev.protocol_params)
    with progress_bar("cross-validation") as cb:
        cv = cross_validate(
            estimator, ds_eval, protocol, ev.metric, n_jobs=ev.n_jobs, seed=cfg.seed, progress=cb
        )
    interval, ci_method = score_ci(cv, ev)
    baseline = base_est = None
    if opts.baseline is not None:
        base_est = build_estimator(
            cfg, fold_steps, ds_eval.sfreq, model=opts.baseline, data_info=ds_eval.info
        )
        with progress_bar("baseline cross-validation") as cb:
            cv_base = cross_validate(
                base_est, ds_eval, protocol, ev.metric, n_jobs=ev.n_jobs, seed=cfg.seed, progress=cb
            )
        base_interval, _ = score_ci(cv_base, ev)
        baseline = {
            "model": opts.baseline.name,
            "score_mean": float(cv_base.score),
            "score_ci": [float(base_interval[0]), float(base_interval[1])],
            "fold_scores": [float(v) for v in cv_base.scores],
            "block_scores": dict(cv_base.block_scores),
            **_timing(cv_base),
        }
    perm = None
    if ev.n_permutations:
        perm_est = (
            base_est
            if perm_on == "baseline"
            else build_estimator(cfg, fold_steps, ds_eval.sfreq, data_info=ds_eval.info)
        )
        with progress_bar("permutation test") as cb:
            perm = permutation_test(
                perm_est,
                ds_eval,
                protocol,
                ev.metric,
                n_permutations=ev.n_permutations,
                seed=cfg.seed,
                within=PERMUTE_WITHIN.get(ev.protocol, "subject"),
                n_jobs=ev.n_jobs,
                progress=cb,
            )
    sal = None
    if opts.saliency is True or (opts.saliency == "auto" and neural):
        logger.info("saliency: refitting %s on all samples", cfg.model.name)
        sal = saliency(
            cfg, fold_steps, ds_eval, neural=neural, layout=feature_layout(lead, ds, ds_eval)
        )
    pairwise = None
    n_classes = len(cv.classes) if cv.classes is not None else 0
    if opts.pairwise != "off" and n_classes > 2 and cv.y_true is not None:
        pw_method = opts.pairwise
        if pw_method == "auto":
            pw_method = (
                "cv" if not neural and n_classes * (n_classes - 1) // 2 <= 45 else "predictions"
            )
        logger.info("pairwise scores: %s", pw_method)
        pairwise = pairwise_scores(
            cv,
            ds_eval,
            pw_method,
            estimator=build_estimator(cfg, fold_steps, ds_eval.sfreq, data_info=ds_eval.info),
            protocol=protocol,
            seed=cfg.seed,
            n_jobs=ev.n_jobs,
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
        "p_value_model": None
        if perm is None
        else (opts.baseline.name if perm_on == "baseline" else cfg.model.name),
        "n_permutations": ev.n_permutations,
        "null_scores": None if perm is None else [float(v) for v in perm.null_distribution],
        "n_splits": len(cv.scores),
        "fold_scores": [float(s) for s in cv.scores],
        **_timing(cv),
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
        "model_kind": "neural" if neural else "classical",
        "learning_curves": curves.to_results() if curves is not None else None,
        "baseline": baseline,
        "saliency": _results_saliency(sal),
        "pairwise": pairwise,
        "errors": misclassified_samples(
            cv,
            ds_eval,
            score_kind="predict_proba"
            if hasattr(estimator, "predict_proba")
            else "decision_function",
        ),
    }
    if out_dir is not None and cfg.report.enabled:
        from .report import write_decoding_report
        from .run import jsonable

        write_decoding_report(
            out_dir / "report.html",
            results=jsonable({**results, "saliency": sal}),
            dataset=ds,
            cv=cv,
            perm=perm,
            config_text=config_text,
            title=cfg.report.title,
        )
    return results
