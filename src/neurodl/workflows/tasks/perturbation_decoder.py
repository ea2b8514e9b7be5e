"""The ``perturbation_decoder`` task: lesion the feature maps of a decoding network, fold by fold.

Which units (or convolution channels) of an EEG network carry the decoded information? For every
seed in ``options.seeds`` and every split of ``evaluation.protocol``, the network of
``model`` (any neural estimator of :func:`neurodl.analyses.decoding.make_decoder`, e.g.
``shallow``) is trained on the training fold exactly as the ``decoding`` task trains it. Then,
with :mod:`neurodl.analyses.perturb` forward hooks on the named ``options.layer`` (the model's
code is not touched):

1. the channels are ranked on the **training fold** only: by class selectivity (ANOVA F of each
   channel's response, :func:`~neurodl.analyses.perturb.unit_selectivity`) and/or by importance
   (the drop of the mean log-probability of the true class on ``n_reference`` training
   samples when the channel alone is ablated);
2. on the **held-out fold**, the top fraction of channels is ablated (``zero``, ``mean`` or
   ``resample``: mean and resampled values come from the training fold's activations) beside
   ``n_random`` random sets of the same size (the matched control);
3. optionally, channels clustered by their training responses are ablated cluster by cluster,
   and the top selective channels (or chosen ones) are scaled by each gain level.

Scores are the held-out ``evaluation.metric``; curves average the repeats (folds x seeds) with a
Student-t interval over repeats (approximate: folds share training data). Every trained network
is checked bit-identical before and after its study.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..._logging import logger
from ...exceptions import ConfigError
from .._progress import progress_steps
from ..config import TaskOptions
from ..registry import RunContext, register_task
from ..results import ResultPart, TaskResult
from ._perturbation_common import (
    CurvePoint,
    check_fractions,
    check_layers,
    check_untrained_network,
    curve_point,
    fit_params,
    interval,
    unchanged_model,
)

__all__ = ["DecoderLesionOptions", "DecoderLesionResult", "run_perturbation_decoder"]


def _check_levels(value: list[float]) -> list[float]:
    if not value:
        raise ValueError("gain.levels must not be empty")
    for g in value:
        if not np.isfinite(g) or g < 0:
            raise ValueError(f"Invalid value for 'gain.levels'. Allowed: finite >= 0; got {g!r}")
    return value


class ChannelGainOptions(TaskOptions):
    """Gain scaling of chosen channels: ``channels`` or the ``top`` most selective ones."""

    layer: str | None = None
    """Layer whose channels are scaled (default: ``options.layer``)."""
    channels: list[int] | None = None
    """Channel indices (>= 0) of the layer scaled; None: the 'top' most selective on the training
    fold."""
    top: int = Field(5, ge=1)
    """Number of most class-selective channels (training fold, per repeat) scaled when 'channels' is
    not given."""
    levels: list[float] = Field(default_factory=lambda: [0.0, 0.5, 1.0, 1.5, 2.0])
    """Gain factors (>= 0) the chosen channels are multiplied by; 1.0 is the intact network."""

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[float]) -> list[float]:
        return _check_levels(value)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or min(value) < 0):
            raise ValueError(f"Invalid value for 'gain.channels'. Allowed: ints >= 0; got {value}")
        return value


class DecoderLesionOptions(TaskOptions):
    """Options of ``perturbation_decoder`` (the network and its training are ``model``).

    Examples
    --------
    ``layer`` is required; a single targeting string is accepted and fractions are checked:

    >>> opts = DecoderLesionOptions.model_validate(
    ...     {"layer": "pool_nonlin", "targeting": "importance", "fractions": [0.25, 0.5]}
    ... )
    >>> opts.layer, opts.mode, opts.targeting, opts.fractions, opts.n_random, opts.gain
    ('pool_nonlin', 'mean', ['importance'], [0.25, 0.5], 10, None)
    >>> from pydantic import ValidationError
    >>> try:
    ...     DecoderLesionOptions.model_validate({"layer": "pool_nonlin", "fractions": [0.5, 1.5]})
    ... except ValidationError as err:
    ...     print(err.errors()[0]["msg"])
    Value error, Invalid value for 'fractions'. Allowed: numbers in (0, 1]; got 1.5
    """

    layer: str
    """Module name in the network (e.g. ``pool_nonlin`` or ``bnorm`` of ShallowConvNet)."""
    mode: Literal["zero", "mean", "resample"] = "mean"
    """How ablated channels are silenced: 'zero', 'mean' (their training-fold mean) or 'resample'
    (values copied from training-fold samples)."""
    fractions: list[float] = Field(default_factory=lambda: [0.1, 0.25, 0.5, 0.75])
    """Fractions of the layer's channels ablated, in (0, 1] (sorted)."""
    targeting: list[Literal["selectivity", "importance"]] = Field(
        default_factory=lambda: ["selectivity"]
    )
    """Ranking of the targeted lesions, each compared with random sets: 'selectivity' (ANOVA F on
    the training fold) and/or 'importance' (drop of the true-class log-probability when the channel
    alone is ablated). A single string is accepted."""
    reduce: Literal["mean", "rms"] = "mean"
    """How a channel's map is reduced to one response per sample for selectivity/clusters."""
    axis: int | None = None
    """Unit axis of the layer output (default: 1 for convolutions, last for dense layers)."""
    n_random: int = Field(10, ge=1, le=10_000)
    """Random channel sets of the same size per fraction (the matched control)."""
    n_clusters: int | None = Field(None, ge=2)
    """Cluster the channels by their training responses into this many clusters and ablate cluster
    by cluster; None: no cluster lesions."""
    n_reference: int = Field(256, ge=1)
    """Training samples kept as the ``resample`` reference and scored for ``importance``."""
    seeds: list[int] | None = None
    """Network seeds (default: the run's seed); every seed repeats all folds."""
    gain: ChannelGainOptions | None = None

    @field_validator("fractions")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        return check_fractions(value)

    @field_validator("targeting", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> DecoderLesionOptions:
        if not self.targeting:
            raise ValueError("targeting must name at least one of 'selectivity', 'importance'")
        if self.seeds is not None and (not self.seeds or len(set(self.seeds)) != len(self.seeds)):
            raise ValueError(f"seeds must be distinct and non-empty; got {self.seeds}")
        return self


class ClusterRow(ResultPart):
    """One cluster of channels ablated in one repeat, beside random sets of its size."""

    seed: int
    fold: int
    cluster: int
    size: int
    channels: list[int]
    targeted: float | None
    drop: float | None
    random_mean: float | None
    random_low: float | None
    random_high: float | None


class ChannelRow(ResultPart):
    """One channel of the layer: its training-fold selectivity and importance, over repeats."""

    channel: int
    selectivity: float | None = Field(description="Mean ANOVA F over repeats.")
    selectivity_rank: float | None = Field(description="Mean rank (1 = most selective).")
    importance_drop: float | None = Field(
        None, description="Mean drop of the training log-probability of the true class."
    )


class RepeatRow(ResultPart):
    """One trained network (seed x fold)."""

    seed: int
    fold: int
    n_train: int
    n_test: int
    intact: float | None
    train_score: float | None
    n_units: int
    state_dict_hash: str


class DecoderLesionResult(TaskResult):
    """Result of ``perturbation_decoder`` (``results.json``).

    ``score_mean``/``score_ci`` are the intact held-out score over repeats (folds x seeds).

    Examples
    --------
    The fields this task adds to every result's (:func:`run_perturbation_decoder` fills them):

    >>> from neurodl.workflows.results import TaskResult
    >>> [k for k in DecoderLesionResult.model_fields if k not in TaskResult.model_fields][:9]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['model', 'layer', 'n_units', 'mode', 'seeds', 'n_random', 'ci_level', 'ci_method',
     'repeats']
    >>> DecoderLesionResult.model_fields["task"].default
    'perturbation_decoder'
    """

    task: Literal["perturbation_decoder"] = "perturbation_decoder"
    model: str
    layer: str
    n_units: int
    mode: str
    seeds: list[int]
    n_random: int
    ci_level: float
    ci_method: str
    repeats: list[RepeatRow]
    curve: list[CurvePoint]
    gain: list[CurvePoint]
    gain_layer: str | None = None
    gain_channels: str | None = None
    clusters: list[ClusterRow]
    channels: list[ChannelRow]
    state_dict_unchanged: bool
    timing: dict[str, float]

    def summary_lines(self) -> list[str]:
        """Intact score, then per strategy the largest lesion vs random."""
        lines = super().summary_lines()
        lines.append(f"{self.model}: layer {self.layer!r} ({self.n_units} units), mode {self.mode}")
        top = max((r.fraction or 0 for r in self.curve), default=0)
        for r in self.curve:
            if r.fraction == top:
                text = f"{r.strategy} {r.fraction:.0%} lesioned: {r.score:.3f}"
                if r.vs_random is not None:
                    text += f" (vs random {r.vs_random:+.3f})"
                lines.append(text)
        lines.append(f"state_dict unchanged by the study: {self.state_dict_unchanged}")
        return lines


def _network(estimator: Any) -> Any:
    """The fitted torch module inside a (pipeline of a) neural estimator."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    net = getattr(final, "model_", None)
    if net is None or not hasattr(net, "named_modules"):
        raise ConfigError(
            f"Invalid value for 'model.name': {type(final).__name__} has no fitted torch network "
            "(model_); perturbation_decoder needs a neural estimator (e.g. 'shallow')."
        )
    return net


def _layer_outputs(estimator: Any, net: Any, layer: str, X: np.ndarray) -> tuple[Any, int]:
    """``(activations of layer on X, unit axis)``, computed through the estimator's predict."""
    import torch

    from ...analyses.perturb import unit_axis

    module = dict(net.named_modules())[layer]
    store: list[torch.Tensor] = []
    axes: list[int] = []

    def hook(mod: Any, args: Any, output: Any) -> None:
        out = output[0] if isinstance(output, (tuple, list)) else output
        store.append(out.detach().float().cpu())
        axes.append(unit_axis(mod, output))

    handle = module.register_forward_hook(hook)
    try:
        estimator.predict(X)
    finally:
        handle.remove()
    return torch.cat(store), axes[0]


def _reference(acts: Any, axis: int, mode: str, n_keep: int, seed: int) -> Any:
    """What the ablation replaces channels by, from training-fold activations."""
    if mode == "zero":
        return None
    if mode == "mean":  # per-channel means, kept in a compact (1, C, 1, ...) array
        other = [d for d in range(acts.ndim) if d != axis]
        return acts.double().mean(dim=other, keepdim=True)
    rows = np.random.default_rng(seed).permutation(len(acts))[:n_keep]
    return acts[np.sort(rows)]


def _fold_study(
    opts: DecoderLesionOptions,
    est: Any,
    net: Any,
    X: tuple[np.ndarray, np.ndarray],
    y: tuple[np.ndarray, np.ndarray],
    metric: Any,
    seed: int,
) -> dict[str, Any]:
    """Rankings on the training fold, lesions and gains scored on the held-out fold."""
    from ...analyses.perturb import (
        Ablate,
        Gain,
        cluster_lesions,
        cluster_units,
        dose_response,
        lesion_curve,
        lesion_sizes,
        unit_importance,
        unit_selectivity,
    )

    (X_tr, X_te), (y_tr, y_te) = X, y

    def test_score(m: Any) -> float:
        return float(metric(y_te, np.asarray(est.predict(X_te))))

    def train_score(m: Any) -> float:
        return float(metric(y_tr, np.asarray(est.predict(X_tr))))

    # importance: on a fixed random subset of the training fold (n_reference samples), the mean
    # log-probability of the true class (continuous: a saturated training accuracy ties every
    # unit at a drop of 0); the class-prediction metric for estimators without predict_proba
    keep = np.sort(np.random.default_rng(seed).permutation(len(X_tr))[: opts.n_reference])

    def subset_score(m: Any) -> float:
        if not hasattr(est, "predict_proba"):
            return float(metric(y_tr[keep], np.asarray(est.predict(X_tr[keep]))))
        proba = np.asarray(est.predict_proba(X_tr[keep]))
        col = np.searchsorted(np.asarray(est.classes_), y_tr[keep])
        return float(np.mean(np.log(np.clip(proba[np.arange(len(keep)), col], 1e-12, None))))

    acts, axis = _layer_outputs(est, net, opts.layer, X_tr)
    axis = axis if opts.axis is None else opts.axis % acts.ndim
    n_units = int(acts.shape[axis])
    ref = _reference(acts, axis, opts.mode, opts.n_reference, seed)
    sel = unit_selectivity(acts, y_tr, axis=axis, reduce=opts.reduce)
    sel_order = [int(u) for u in np.argsort(-sel, kind="stable")]
    out: dict[str, Any] = {"n_units": n_units, "selectivity": sel, "orders": {}}
    kw = {"reference": ref, "axis": opts.axis}
    if "selectivity" in opts.targeting:
        out["orders"]["selectivity"] = sel_order
    if "importance" in opts.targeting:
        table = unit_importance(net, subset_score, opts.layer, mode=opts.mode, **kw)
        out["orders"]["importance"] = [int(u) for u in table["unit"]]
        drops = np.zeros(n_units)
        drops[table["unit"].to_numpy()] = table["drop"].to_numpy()
        out["importance"] = drops
    out["train_score"] = train_score(net)
    sizes = lesion_sizes(n_units, opts.fractions)
    out["sizes"] = sizes
    out["curves"] = {}
    for i, (strategy, order) in enumerate(out["orders"].items()):
        if i == 0:  # the random sets are drawn once, beside the first strategy
            curve = lesion_curve(
                net,
                test_score,
                opts.layer,
                order,
                sizes,
                opts.mode,
                n_random=opts.n_random,
                seed=seed,
                **kw,
            )
            out["intact"] = float(curve.attrs["baseline"])
        else:
            curve = out["curves"][next(iter(out["curves"]))].copy()
            curve["targeted"] = [
                _ablated(net, test_score, Ablate(opts.layer, order[:k], opts.mode, **kw))
                if k
                else out["intact"]
                for k in sizes
            ]
        out["curves"][strategy] = curve
    if opts.n_clusters is not None:
        k = min(opts.n_clusters, n_units)
        labels = cluster_units(acts, k, axis=axis, reduce=opts.reduce, seed=seed)
        table = cluster_lesions(
            net, test_score, opts.layer, labels, opts.mode, n_random=opts.n_random, seed=seed, **kw
        )
        table["channels"] = [np.flatnonzero(labels == c).tolist() for c in table["cluster"]]
        out["clusters"] = table
    if opts.gain is not None:
        g = opts.gain
        glayer = g.layer or opts.layer
        if g.channels is not None:
            chosen = list(g.channels)
        else:
            g_acts, g_axis = (
                (acts, axis) if glayer == opts.layer else _layer_outputs(est, net, glayer, X_tr)
            )
            g_sel = unit_selectivity(g_acts, y_tr, axis=g_axis, reduce=opts.reduce)
            chosen = [int(u) for u in np.argsort(-g_sel, kind="stable")[: g.top]]
        dose = dose_response(net, test_score, lambda f: Gain(glayer, chosen, factor=f), g.levels)
        out["gain"] = dose["score"].to_numpy()
    return out


def _ablated(net: Any, score: Any, spec: Any) -> float:
    from ...analyses.perturb import perturbed

    with perturbed(net, spec):
        return float(score(net))


def _curve_rows(opts: DecoderLesionOptions, studies: list[dict[str, Any]], ci: float) -> list:
    """Average the per-repeat lesion curves: targeted strategies (paired vs random) and random."""
    rows = []
    intact = [s["intact"] for s in studies]
    strategies = list(studies[0]["curves"])
    for i, fraction in enumerate(opts.fractions):
        sizes = [s["sizes"][i] for s in studies]
        size = round(float(np.mean(sizes)))
        random = [float(s["curves"][strategies[0]]["random_mean"].iloc[i]) for s in studies]
        for strategy in strategies:
            values = [float(s["curves"][strategy]["targeted"].iloc[i]) for s in studies]
            rows.append(
                curve_point(
                    strategy,
                    opts.layer,
                    values,
                    ci,
                    baseline=intact,
                    random=random,
                    fraction=fraction,
                    size=size,
                )
            )
        rows.append(
            curve_point(
                "random", opts.layer, random, ci, baseline=intact, fraction=fraction, size=size
            )
        )
    return rows


def _channel_rows(studies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sel = np.array([s["selectivity"] for s in studies])
    ranks = np.array(
        [np.argsort(np.argsort(-row, kind="stable"), kind="stable") + 1 for row in sel]
    )
    imp = np.array([s["importance"] for s in studies]) if "importance" in studies[0] else None
    rows = []
    for c in range(sel.shape[1]):
        rows.append(
            {
                "channel": c,
                "selectivity": float(sel[:, c].mean()),
                "selectivity_rank": float(ranks[:, c].mean()),
                "importance_drop": None if imp is None else float(imp[:, c].mean()),
            }
        )
    return sorted(rows, key=lambda r: r["selectivity_rank"])


@register_task(
    "perturbation_decoder",
    options=DecoderLesionOptions,
    result=DecoderLesionResult,
    reads=("data", "preprocessing", "model", "evaluation", "options"),
    description="train a decoding network per fold; lesion/gain its feature maps on held-out data, "
    "targeted vs random",
)
def run_perturbation_decoder(ctx: RunContext) -> DecoderLesionResult:
    """Train per fold and seed, lesion, aggregate; write ``report.html`` (if asked).

    Examples
    --------
    Runs through :func:`neurodl.workflows.run_config` (the registry finds it by ``task``). A
    tiny ShallowConvNet trained for 2 epochs in each of 3 folds of simulated motor imagery;
    half of its 6 ``pool_nonlin`` channels lesioned (most selective first, and 2 random sets):

    >>> from neurodl.workflows import parse_config, run_config
    >>> shallow = {"max_epochs": 2, "batch_size": 16, "num_threads": 1,
    ...            "validation_fraction": None, "early_stopping": False, "n_filters_time": 6,
    ...            "n_filters_spat": 6, "filter_time_length": 10, "pool_time_length": 30,
    ...            "pool_time_stride": 10}
    >>> cfg = parse_config({
    ...     "task": "perturbation_decoder", "seed": 0,
    ...     "data": {"source": "simulate", "simulator": "motor_imagery",
    ...              "params": {"n_subjects": 1, "n_sessions": 1, "n_trials": 60,
    ...                         "n_channels": 4}},
    ...     "model": {"name": "shallow", "params": shallow},
    ...     "evaluation": {"protocol": "within-session", "protocol_params": {"n_splits": 3}},
    ...     "options": {"layer": "pool_nonlin", "fractions": [0.5], "n_random": 2,
    ...                 "n_reference": 40},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: computed, nothing written
    >>> res.layer, res.n_units, len(res.repeats), res.chance_level
    ('pool_nonlin', 6, 3, 0.5)
    >>> [(row.strategy, row.fraction, row.size, row.n) for row in res.curve]
    [('selectivity', 0.5, 3, 3), ('random', 0.5, 3, 3)]
    >>> res.state_dict_unchanged  # every trained network bit-identical after its study
    True
    """
    import time

    from ...analyses.decoding import make_decoder
    from ...estimators import is_neural
    from ...evaluation import check_no_leakage, get_metric, get_protocol, provenance
    from ...preprocessing import preprocess_before_split
    from ..data import load_samples

    cfg, opts = ctx.cfg, ctx.options
    ev = cfg.evaluation
    if not is_neural(cfg.model.name):
        raise ConfigError(
            f"Invalid value for 'model.name': perturbation_decoder needs a neural model "
            f"(e.g. 'shallow'); got {cfg.model.name!r}."
        )
    metric = get_metric(ev.metric)
    if metric.needs_proba or metric.task != "classification":
        raise ConfigError(
            f"Invalid value for 'evaluation.metric': perturbation_decoder scores class "
            f"predictions (e.g. 'balanced_accuracy'); got {ev.metric!r}."
        )
    ds, ds_name = load_samples(cfg.data, seed=cfg.seed)
    ds_eval, _, fold_steps = preprocess_before_split(ds, cfg.preprocessing)
    protocol = get_protocol(ev.protocol, **ev.protocol_params)
    splits = protocol.splits(ds_eval)
    for train, test, _ in splits:
        check_no_leakage(ds_eval, train, test, group_by=protocol.groups)
    fit_groups = ds_eval.groups(list(protocol.groups)) if protocol.groups else None
    classes = np.unique(ds_eval.y)

    def score_fn(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return metric(y_true, y_pred, labels=classes)

    seeds = opts.seeds or [cfg.seed]
    check_untrained_network(
        opts,
        make_decoder(cfg.model.name, cfg.model.params, sfreq=ds_eval.sfreq),
        ds_eval,
        fold_steps,
        len(classes),
    )
    studies, repeats = [], []
    t0 = time.perf_counter()
    fit_s = 0.0
    for seed in seeds:
        desc = f"perturbation_decoder seed {seed}"
        for k, (tr, te, _) in progress_steps(desc, enumerate(splits), unit="fold"):
            est = make_decoder(
                cfg.model.name,
                cfg.model.params,
                preprocessing=fold_steps,
                seed=seed,
                sfreq=ds_eval.sfreq,
                data_info=ds_eval.info,
            )
            t1 = time.perf_counter()
            X_tr, X_te = np.asarray(ds_eval.X[tr]), np.asarray(ds_eval.X[te])
            if fit_groups is not None and "groups" in fit_params(est):
                est.fit(X_tr, ds_eval.y[tr], groups=fit_groups[tr])
            else:
                est.fit(X_tr, ds_eval.y[tr])
            fit_s += time.perf_counter() - t1
            net = _network(est)
            layers = [opts.layer] + ([opts.gain.layer] if opts.gain and opts.gain.layer else [])
            check_layers(net, layers, "options.layer")
            with unchanged_model(net) as digest:
                study = _fold_study(
                    opts, est, net, (X_tr, X_te), (ds_eval.y[tr], ds_eval.y[te]), score_fn, seed
                )
            logger.info(
                "perturbation_decoder: seed %d fold %d intact %.3f", seed, k, study["intact"]
            )
            studies.append(study)
            repeats.append(
                {
                    "seed": seed,
                    "fold": k,
                    "n_train": len(tr),
                    "n_test": len(te),
                    "intact": study["intact"],
                    "train_score": study["train_score"],
                    "n_units": study["n_units"],
                    "state_dict_hash": digest,
                }
            )
    n_units = {s["n_units"] for s in studies}
    intact = [s["intact"] for s in studies]
    mean, low, high = interval(intact, ev.ci)
    gain_rows = []
    if opts.gain is not None:
        for i, level in enumerate(opts.gain.levels):
            gain_rows.append(
                curve_point(
                    "gain",
                    opts.gain.layer or opts.layer,
                    [float(s["gain"][i]) for s in studies],
                    ev.ci,
                    baseline=intact,
                    level=float(level),
                )
            )
    clusters = []
    if opts.n_clusters is not None:
        for rep, s in zip(repeats, studies):
            for r in s["clusters"].to_dict("records"):
                clusters.append({"seed": rep["seed"], "fold": rep["fold"], **r})
    prov = provenance(protocol=ev.protocol, seed=cfg.seed, data_hash=ds.data_hash(), config=None)
    gain_channels = None
    if opts.gain is not None:
        gain_channels = (
            f"channels {opts.gain.channels}"
            if opts.gain.channels is not None
            else f"top {opts.gain.top} by training-fold selectivity (per repeat)"
        )
    result = DecoderLesionResult.create(
        task="perturbation_decoder",
        name=cfg.name,
        dataset=ds_name,
        protocol=ev.protocol,
        metric=ev.metric,
        score_mean=mean,
        score_ci=[low, high],
        chance_level=float(1.0 / len(classes)),
        n_splits=len(splits),
        seed=cfg.seed,
        versions=prov.get("versions", {}),
        data_hash=ds.data_hash(),
        model=cfg.model.name,
        layer=opts.layer,
        n_units=max(n_units),
        mode=opts.mode,
        seeds=seeds,
        n_random=opts.n_random,
        ci_level=ev.ci,
        ci_method="Student-t over repeats (folds x seeds; approximate: folds share training data)",
        repeats=repeats,
        curve=_curve_rows(opts, studies, ev.ci),
        gain=gain_rows,
        gain_layer=(opts.gain.layer or opts.layer) if opts.gain is not None else None,
        gain_channels=gain_channels,
        clusters=clusters,
        channels=_channel_rows(studies),
        state_dict_unchanged=True,
        timing={"fit_s": fit_s, "total_s": time.perf_counter() - t0},
    )
    if ctx.write_report:
        from .perturbation_report import write_decoder_lesion_report

        write_decoder_lesion_report(ctx, result)
    return result
