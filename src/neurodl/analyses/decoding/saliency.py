"""What a fitted decoder uses: channel, time, frequency or voxel attributions."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._logging import logger
from ...exceptions import ConfigError

__all__ = [
    "SALIENCY_CHECK_SAMPLES",
    "SALIENCY_MAX_SAMPLES",
    "SALIENCY_MAX_STORED",
    "feature_layout",
    "saliency",
    "saliency_checks",
    "trim_saliency",
]

#: Samples (at most) explained by the saliency of a refitted network, drawn with the run's seed.
SALIENCY_MAX_SAMPLES = 256

#: Samples (at most) of the explained ones that the sanity checks re-explain.
SALIENCY_CHECK_SAMPLES = 64


def _as_float(value: Any, default: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if np.isfinite(out) else default


#: Above this many channels/features, results.json keeps only the top ones of the saliency.
SALIENCY_MAX_STORED = 256


def trim_saliency(sal: dict[str, Any] | None) -> dict[str, Any] | None:
    """The saliency entry of results.json: per-channel arrays only for up to 256 channels.

    Examples
    --------
    >>> sal = {"method": "permutation", "channel": list(range(300))}
    >>> trim_saliency(None), sorted(trim_saliency(sal))
    (None, ['method', 'n_channels'])
    """
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

    Examples
    --------
    >>> from neurodl.data import EpochsDataset
    >>> from neurodl.preprocessing import build_pipeline
    >>> rng = np.random.default_rng(0)
    >>> ds = EpochsDataset(rng.normal(size=(20, 3, 200)), np.tile([0, 1], 10), sfreq=100.0,
    ...                    ch_names=["C3", "Cz", "C4"])
    >>> lead = build_pipeline([{"log_bandpower": {}}], sfreq=100.0)  # per-sample preprocessing
    >>> ds_eval = EpochsDataset(lead.fit_transform(ds.X), ds.y)
    >>> ds_eval.X.shape  # 3 channels x 3 bands
    (20, 9)
    >>> feature_layout(lead, ds, ds_eval)
    (['C3', 'Cz', 'C4'], ['4-8 Hz', '8-13 Hz', '13-30 Hz'])
    >>> feature_layout(None, ds, ds_eval) is None  # no band-power step: features stay as they are
    True
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
    estimator: Any,
    ds: Any,
    *,
    metric: str = "balanced_accuracy",
    seed: int = 0,
    neural: bool,
    layout: tuple[list[str], list[str]] | None = None,
    n_top: int = 5,
    checks: bool = True,
    fit_groups: Any = None,
) -> dict[str, Any]:
    """Channel (and time or band) attributions of the model refitted on all samples.

    Parameters
    ----------
    estimator : scikit-learn estimator
        The decoder (with its per-fold preprocessing); an unfitted clone without epoch
        callbacks is fitted here.
    ds : EpochsDataset
        Samples ``X`` of shape (n_samples, n_channels, n_times) or (n_samples, n_features).
    metric : str
        Score whose drop measures permutation importance (``roc_auc`` falls back to balanced
        accuracy).
    seed : int
        Seed of the sample subset and the permutations.
    neural : bool
        Whether the model is a network (integrated gradients) or not (permutation importance).
    layout : tuple, optional
        ``(channel names, band labels)`` from :func:`feature_layout`.
    n_top : int
        Number of channels listed in ``top_channels``.
    checks : bool, default=True
        Run the sanity checks of the map (see :func:`saliency_checks`).
    fit_groups : array-like of shape (n_samples,), optional
        The samples' groups (e.g. subjects), passed to every refit of an estimator whose
        ``fit`` (or whose Pipeline's last step) takes ``groups``.

    Returns
    -------
    dict
        ``method``, ``description``, ``unit``, ``channels``, ``channel`` (one value per channel
        or feature), ``top_channels`` and, for networks on 3-D samples, ``times``/``time`` and
        ``freqs``/``frequency`` profiles; ``bands``/``band`` with a band-power layout;
        ``checks`` (rows of the sanity-check table) and ``sanity_verdict`` with ``checks``.

    Notes
    -----
    The estimator is refitted once on every sample
    (the model one would deploy; the CV folds' models are not kept). A network is explained by
    integrated gradients (16 steps, zero baseline) of the true class's logit on up to
    :data:`SALIENCY_MAX_SAMPLES` samples, in the network's input space (after preprocessing
    that keeps the shape); other models, and networks behind shape-changing preprocessing, by
    permutation channel importance (3 repeats). Both are in-sample: they describe what the
    fitted model uses, not what generalises. With ``layout`` (see :func:`feature_layout`),
    band-power features are summed per channel and per band.

    Examples
    --------
    Twelve channels, two carrying the class (``ch2`` strongly, ``ch5`` weakly):

    >>> from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA
    >>> from neurodl.data import EpochsDataset
    >>> rng = np.random.default_rng(2)
    >>> y = np.tile([0, 1], 30)
    >>> X = rng.normal(size=(60, 12))
    >>> X[:, 2] += 2 * y
    >>> X[:, 5] += y
    >>> ds = EpochsDataset(X, y, ch_names=[f"ch{i}" for i in range(12)])
    >>> sal = saliency(LDA(), ds, neural=False, n_top=2)
    >>> sal["method"], sal["unit"]
    ('permutation', 'balanced_accuracy drop')
    >>> [(t["channel"], round(t["drop"], 2)) for t in sal["top_channels"]]
    [('ch2', 0.37), ('ch5', 0.08)]
    >>> [(c["check"], c["verdict"]) for c in sal["checks"]], sal["sanity_verdict"]
    ([('model randomisation', 'pass'), ('label randomisation', 'pass')], 'pass')
    """
    from ...evaluation import METRICS
    from ...evaluation.crossval import group_fit_params
    from ..interpret import attribute, permutation_importance
    from .estimator import without_callbacks

    classification = METRICS[metric].task == "classification" if metric in METRICS else True
    if metric == "roc_auc" or metric not in METRICS:
        metric = "balanced_accuracy" if classification else "r2"
    X = np.asarray(ds.X)
    y = np.asarray(ds.y)
    est = without_callbacks(estimator)
    fit_params = group_fit_params(est, fit_groups)
    est.fit(X, y, **fit_params)
    rng = np.random.default_rng(seed)
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
    groups = None
    if feature_values is None:
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
            seed=seed,
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
    if checks:
        from ..interpret import sanity_verdict

        rows, stability = saliency_checks(
            est,
            estimator,
            X,
            y,
            idx,
            method=out["method"],
            classification=classification,
            metric=metric,
            seed=seed,
            names=names,
            groups=groups,
            fit_params=fit_params,
        )
        out["checks"] = [r.to_dict() for r in rows]
        out["sanity_verdict"] = sanity_verdict(rows)
        out["stability_seeds"] = stability
    return out


def saliency_checks(
    fitted: Any,
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    idx: np.ndarray,
    *,
    method: str,
    classification: bool,
    metric: str,
    seed: int,
    names: list[str] | None = None,
    groups: Any = None,
    fit_params: dict[str, Any] | None = None,
) -> tuple[list[Any], float | None]:
    """Model- and label-randomisation checks of a saliency map (Adebayo et al. 2018).

    The map is recomputed on up to :data:`SALIENCY_CHECK_SAMPLES` of the explained samples
    ``X[idx]`` for the intact model, for the model with its layers re-initialised from the top
    (cascading; linear models: random weights), and for a clone refitted on all samples with
    permuted labels; each is compared with the intact map by Spearman rank correlation of the
    absolute values. Models that are neither networks nor linear get the label check only.
    Models with a ``random_state`` (networks) are also refitted with the next seed: the rank
    correlation of the two maps is the map's stability across seeds.

    Parameters
    ----------
    fitted : fitted estimator
        The refitted decoder whose map is shown.
    estimator : scikit-learn estimator
        The unfitted decoder (cloned for the label refit, without epoch callbacks).
    X : ndarray of shape (n_samples, ...)
    y : ndarray of shape (n_samples,)
    idx : ndarray of int
        Indices of the explained samples.
    method : {"integrated_gradients", "permutation"}
    classification : bool
    metric : str
        Score of the permutation importance.
    seed : int
    names : list of str, optional
    groups : dict, optional
        Grouped features of the permutation importance.
    fit_params : dict, optional
        Passed to every refit (e.g. :func:`~neurodl.evaluation.crossval.group_fit_params`:
        the samples' groups for a network trained with ``batch_by_group``).

    Returns
    -------
    checks : list of SanityCheck
    stability_seeds : float or None
        Rank correlation of the maps of two seeds (None without a ``random_state``).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(2)
    >>> y = np.tile([0, 1], 30)
    >>> X = rng.normal(size=(60, 12))
    >>> X[:, 2] += 2 * y  # two informative channels
    >>> X[:, 5] += y
    >>> fitted = LogisticRegression().fit(X, y)
    >>> rows, stability = saliency_checks(
    ...     fitted, LogisticRegression(), X, y, np.arange(60), method="permutation",
    ...     classification=True, metric="balanced_accuracy", seed=0)
    >>> [(r.check, r.verdict) for r in rows]  # a map that survives randomisation would fail
    [('model randomisation', 'pass'), ('label randomisation', 'pass')]
    >>> stability is None  # no random_state: no second seed to compare with
    True
    """
    from sklearn.base import clone

    from ..interpret import (
        fit_on_permuted_labels,
        integrated_gradients,
        label_randomisation,
        model_randomisation,
        permutation_importance,
        rank_correlation,
    )
    from .estimator import without_callbacks

    sub = idx[:SALIENCY_CHECK_SAMPLES]
    Xs, ys = X[sub], y[sub]

    def explain(est: Any) -> np.ndarray:
        if method == "integrated_gradients":
            attr = integrated_gradients(
                est,
                Xs,
                target="true" if classification else 0,
                y=ys if classification else None,
                n_steps=16,
            )
            return np.abs(attr).mean(axis=0)
        imp = permutation_importance(
            est, Xs, ys, n_repeats=3, ch_names=names, groups=groups, metric=metric, seed=seed
        )
        return imp.mean

    reference = explain(fitted)
    rows: list[Any] = []
    try:
        rows = model_randomisation(fitted, explain, reference=reference, seed=seed)
    except ConfigError as err:
        logger.info("saliency checks: no model randomisation (%s)", err)
    base = without_callbacks(estimator)
    permuted = fit_on_permuted_labels(base, X, y, seed=seed, fit_params=fit_params)
    rows.append(
        label_randomisation(
            base, X, y, explain, reference=reference, seed=seed, permuted_model=permuted
        )
    )
    seeds = {k: seed + 1 for k in base.get_params() if k.endswith("random_state")}
    stability = None
    if seeds and any(v is not None for k, v in base.get_params().items() if k in seeds):
        reseeded = clone(base).set_params(**seeds).fit(X, y, **(fit_params or {}))
        stability = rank_correlation(reference, explain(reseeded))
    return rows, stability
