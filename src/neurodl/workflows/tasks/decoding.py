"""The ``decoding`` task: labelled samples -> preprocessing -> model (+ baseline) -> statistics.

A thin runner over :func:`neurodl.analyses.decoding.decode`: it loads the samples, applies the
per-sample preprocessing once, builds the model and the baseline, and turns the library's
:class:`~neurodl.analyses.decoding.DecodingResult` into a typed :class:`DecodingTaskResult`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool

from ..._logging import logger
from ...exceptions import ConfigError
from .._progress import progress_bar
from ..config import ModelConfig, TaskOptions
from ..crossdata import prepare_samples
from ..fit_checks import finish_warnings
from ..registry import RunContext, register_task
from ..results import ComparisonStats, ModelStats, ResultPart, TaskResult, jsonable
from ._pretrain import PretrainOptions, check_pretrain_model, pretrain_encoder
from ._report_labels import describe_folds, preprocessing_steps
from .decoding_label_efficiency import LabelEfficiencyOptions
from .decoding_search import SearchOptions

__all__ = ["DecodingOptions", "DecodingTaskResult", "run_decoding"]


class DecodingOptions(TaskOptions):
    """Decoding options.

    ``baseline``: a second model cross-validated beside the main one on the same splits, with
    its own statistics and a paired comparison. ``permutation_model``: which models get their
    own permutation test (refitting that model on every permutation): ``both``, ``model``,
    ``baseline``, or ``auto`` (both when the main model is classical; only the baseline when
    it is a network and a baseline is given, since refitting a network hundreds of times is
    rarely affordable: the network then gets the held-out test, see
    ``held_out_permutations``). ``network_permutations`` sets the number of permutations for
    a neural main model (default: ``evaluation.n_permutations``).

    Examples
    --------
    An LDA cross-validated beside the main model; the rest takes its default:

    >>> opts = DecodingOptions.model_validate({"baseline": {"name": "lda"}})
    >>> opts.baseline.name, opts.permutation_model, opts.held_out_permutations, opts.pairwise
    ('lda', 'auto', 1000, 'auto')

    A config with a bad value is refused, naming the key and the allowed values:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> try:
    ...     parse_config({"task": "decoding", "model": {"name": "lda"},
    ...                   "data": {"source": "simulate", "simulator": "motor_imagery"},
    ...                   "options": {"permutation_model": "all"}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): invalid value at 'options.permutation_model': Input should be
    'auto', 'model', 'baseline' or 'both' (got 'all').
    """

    baseline: ModelConfig | None = None
    pretrain: PretrainOptions | None = None
    """Self-supervised pretraining of the main network (``model.name: ssl_finetune``) on an
    unlabelled pool of other recordings before cross-validation (see
    :mod:`neurodl.workflows.tasks._pretrain`)."""
    search: SearchOptions | None = None
    """Nested hyper-parameter search of the main model inside each outer training fold
    (``space`` of ``model.params.<name>``, ``n_trials``, ``inner_protocol``, ``scheduler``;
    see :mod:`neurodl.workflows.tasks.decoding_search`). A searched model is not refitted
    per permutation under ``permutation_model: auto`` (like a network)."""
    label_efficiency: LabelEfficiencyOptions | None = None
    """Score every model again with a fraction of each training fold's labels on the same splits
    (``fractions``, default 10, 25, 50, 100%): label-efficiency curves in the results and the
    report (see :mod:`neurodl.workflows.tasks.decoding_label_efficiency`)."""
    permutation_model: Literal["auto", "model", "baseline", "both"] = "auto"
    """Which models get their own refitting permutation test: 'model', 'baseline', 'both', or 'auto'
    (both for a classical main model; only the baseline when the main model is a network or searched
    and a baseline is given; a searched model alone gets the held-out test, not a search refitted
    per permutation)."""
    network_permutations: int | None = Field(None, ge=0, le=100_000)
    """Permutations of a neural main model's refitting test; None: evaluation.n_permutations."""
    held_out_permutations: int = Field(1000, ge=0, le=1_000_000)
    """Models without a refitting permutation test (a network beside a baseline under
    ``auto``) get a held-out permutation test with this many permutations: each fold's trained
    model is kept and its test labels are permuted (no refit; see
    :func:`neurodl.evaluation.held_out_permutation_test`). 0 skips it; it runs only when
    ``evaluation.n_permutations`` > 0."""
    saliency: StrictBool | Literal["auto"] = "auto"
    """Channel/time attributions of the model refitted on all samples (``auto``: networks
    only; classical models get permutation channel importance when ``true``)."""
    saliency_checks: StrictBool = True
    """Sanity checks of the saliency map (model and label randomisation, Adebayo et al. 2018);
    the label check refits the model once on permuted labels."""
    pairwise: Literal["auto", "cv", "predictions", "off"] = "auto"
    """Per-pair scores for more than 2 classes: a binary CV per pair (``cv``), or derived
    from the multi-class CV predictions (``predictions``); ``auto``: ``cv`` for classical
    models with at most 45 pairs, else ``predictions``."""


class PairScore(ResultPart):
    """One pair of classes: the two names, the balanced accuracy and the samples scored."""

    a: str
    b: str
    score: float | None
    n_samples: int


class PairwiseScores(ResultPart):
    """Per-pair decoding (see :func:`neurodl.analyses.decoding.pairwise_scores`)."""

    method: Literal["cv", "predictions"]
    description: str
    metric: str
    chance_level: float
    classes: list[str]
    matrix: list[list[float | None]] = Field(description="n_classes x n_classes, null diagonal")
    pairs: list[PairScore]


class ErrorConcentration(ResultPart):
    """Where the errors of one metadata column concentrate."""

    n_values: int
    top_value: str
    top_count: int
    top_error_rate: float


class ErrorTable(ResultPart):
    """Misclassified test samples (see :func:`neurodl.analyses.decoding.misclassified_samples`)."""

    n_errors: int
    n_tested: int
    error_rate: float
    score_kind: str | None
    rows: list[dict[str, Any]] = Field(
        description="sample, fold, true, predicted, p_true, p_pred and the metadata columns that "
        "vary across the dataset (so the columns depend on the data)"
    )
    concentration: dict[str, ErrorConcentration]


class TopChannel(ResultPart):
    """One of the most important channels: its share of |attribution| or its score drop."""

    channel: str
    share: float | None = None
    drop: float | None = None


class SaliencyCheck(ResultPart):
    """One sanity check of the saliency map (see :mod:`neurodl.analyses.interpret.sanity`)."""

    check: str
    step: str
    rank_correlation: float | None
    verdict: str
    final: bool


class SaliencyMap(ResultPart):
    """What the refitted model uses (see :func:`neurodl.analyses.decoding.saliency`)."""

    fit: str
    n_samples: int
    method: Literal["integrated_gradients", "permutation"]
    description: str
    unit: str
    channels: list[str] | None = Field(None, description="absent beyond 256 channels")
    channel: list[float | None] | None = None
    n_channels: int | None = Field(None, description="set when the per-channel arrays are cut")
    top_channels: list[TopChannel]
    times: list[float | None] | None = None
    time: list[float | None] | None = None
    time_unit: str | None = None
    freqs: list[float | None] | None = None
    frequency: list[float | None] | None = None
    freq_unit: str | None = None
    bands: list[str] | None = None
    band: list[float | None] | None = None
    checks: list[SaliencyCheck] | None = None
    sanity_verdict: str | None = Field(
        None, description="'fail' when the map survives model or label randomisation"
    )
    stability_seeds: float | None = Field(
        None, description="rank correlation of the maps of two seeds (networks)"
    )


class Rejection(ResultPart):
    """Samples dropped by amplitude-based rejection (``data.reject``)."""

    n_total: int
    n_dropped: int
    dropped: list[int]
    reasons: dict[str, Any]
    thresholds: dict[str, Any]


class DecodingTaskResult(TaskResult):
    """Result of the ``decoding`` task (``results.json``).

    The top-level ``score_mean``, ``score_ci``, ``p_value``, ``fold_scores`` and
    ``block_scores`` belong to the main model (``model``); ``models`` holds each model's own
    statistics and ``comparison`` the paired test of the main model against the baseline.

    Examples
    --------
    The task's own fields, beside those of every :class:`~neurodl.workflows.results.TaskResult`
    (the first few):

    >>> from neurodl.workflows import TASKS
    >>> from neurodl.workflows.results import TaskResult
    >>> TASKS["decoding"].result is DecodingTaskResult
    True
    >>> own = [f for f in DecodingTaskResult.model_fields if f not in TaskResult.model_fields]
    >>> own[:6]
    ['model', 'model_kind', 'baseline', 'comparison', 'ci_level', 'ci_method']
    >>> DecodingTaskResult.model_fields["model_kind"].annotation
    typing.Literal['neural', 'classical', 'ensemble']
    """

    task: Literal["decoding"] = "decoding"
    model: str = Field(description="Key of the main model in 'models'.")
    model_kind: Literal["neural", "classical", "ensemble"]
    baseline: str | None = Field(None, description="Key of the baseline in 'models'.")
    comparison: ComparisonStats | None = None
    ci_level: float
    ci_method: str
    n_permutations: int = Field(description="Permutations run for the main model (0: none).")
    fold_scores: list[float | None]
    fold_blocks: list[str]
    block_scores: dict[str, float | None]
    pooled_score: float | None = None
    fit_time_s_per_fold: float | None = None
    predict_time_s_per_sample: float | None = None
    n_samples: int
    n_subjects: int
    classes: list[Any] | None = None
    confusion_matrix: list[list[float | None]] | None = None
    rejection: Rejection | None = None
    preprocessing_before_split: list[dict[str, Any]] = Field(default_factory=list)
    preprocessing_steps: list[dict[str, Any]] = Field(
        default_factory=list, description="every preprocessing step, with where it was applied"
    )
    fold_labels: list[str] = Field(
        default_factory=list, description="what each fold tests (subject, session, run)"
    )
    provenance: dict[str, Any] = Field(default_factory=dict)
    learning_curves: list[dict[str, list[float | None]]] | None = None
    saliency: SaliencyMap | None = None
    pairwise: PairwiseScores | None = None
    errors: ErrorTable | None = None
    adaptation: dict[str, Any] | None = Field(
        None,
        description="unlabelled_test_data (the protocol flag), the adaptation steps applied, "
        "networks with adaptive batch norm, and which unlabelled test data were used",
    )
    cross_dataset: dict[str, Any] | None = Field(
        None, description="train/test datasets, sizes, common rate, test shift and steps"
    )
    label_efficiency: dict[str, Any] | None = Field(
        None, description="scores per fold, fraction of training labels and model"
    )
    pretraining: dict[str, Any] | None = Field(
        None,
        description="options.pretrain: objective, pool windows and recordings (none shared "
        "with the labelled data), pretext examples and loss per epoch",
    )
    search: dict[str, Any] | None = Field(
        None,
        description="options.search: space, scheduler, backend and per outer fold the trials, "
        "best parameters, inner and outer scores",
    )

    def summary_lines(self) -> list[str]:
        """Dataset/protocol/model, then one line per model with its own statistics."""
        lines = [f"{self.dataset} | {self.protocol} | {self.model}"]
        for key, m in self.models.items():
            ci = m.score_ci or [None, None]
            text = (
                f"{key}: {self.metric} = {m.score_mean:.3f}"
                if m.score_mean is not None
                else (f"{key}: {self.metric} undefined")
            )
            if ci[0] is not None and ci[1] is not None:
                text += f" [{ci[0]:.3f}, {ci[1]:.3f}]"
            extra = []
            if m.role == "main":
                extra.append(f"chance {self.chance_level:.3f}")
            if m.p_value is None:
                extra.append("no permutation test")
            elif m.permutation_method == "held_out":
                extra.append(f"held-out permutation p = {m.p_value:.4f}, not refitted")
            else:
                extra.append(f"permutation p = {m.p_value:.4f}")
            if m.role == "main":
                extra.append(f"{self.n_splits} splits")
            lines.append(
                f"{text} ({', '.join(extra)})" + ("" if m.role == "main" else " [baseline]")
            )
        if self.comparison is not None:
            lines.append(self.comparison.verdict)
        return lines


def _kind(name: str) -> str:
    from ...estimators import ENSEMBLES, PRETRAINED, is_neural

    if name in ENSEMBLES:
        return "ensemble"
    return "neural" if is_neural(name) or name in PRETRAINED else "classical"


def _permuted_models(opts: DecodingOptions, neural: bool) -> tuple[bool, bool]:
    """(permute the main model, permute the baseline).

    Under ``auto`` a costly main model (a network, or any searched model) beside a baseline, and
    a searched model alone (refitting the whole search per permutation), get the held-out
    permutation test instead of refits; a network alone is refitted
    (``network_permutations``).
    """
    choice = opts.permutation_model
    has_base = opts.baseline is not None
    if choice in ("baseline", "both") and not has_base:
        raise ConfigError(
            f"options.permutation_model is {choice!r} but no options.baseline model is given."
        )
    if choice == "auto":
        searched = opts.search is not None
        return (not ((neural or searched) and (has_base or searched)), has_base)
    return (choice in ("model", "both"), choice in ("baseline", "both"))


def _model_stats(scores: Any, model: str, role: str, kind: str) -> ModelStats:
    """One model's statistics as stored in ``results.json``."""
    cv, perm = scores.cv, scores.permutation
    return ModelStats.model_validate(
        jsonable(
            {
                "name": model,
                "role": role,
                "kind": kind,
                "score_mean": scores.score,
                "score_ci": [scores.ci[0], scores.ci[1]],
                "ci_method": scores.ci_method,
                "fold_scores": cv.scores,
                "block_scores": dict(cv.block_scores),
                "p_value": None if perm is None else perm.p_value,
                "n_permutations": perm.n_permutations if perm is not None else 0,
                "permutation_method": None if perm is None else perm.method,
                "null_scores": None if perm is None else perm.null_distribution,
                "permuted_within": None if perm is None else perm.within,
                **scores.timing,
            }
        )
    )


@register_task(
    "decoding",
    options=DecodingOptions,
    result=DecodingTaskResult,
    reads=("data", "preprocessing", "model", "evaluation", "options"),
    description="classify (or regress) labelled samples under a leakage-safe protocol",
)
def run_decoding(ctx: RunContext) -> DecodingTaskResult:
    """Run the decoding task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    Simulated motor imagery of 3 subjects (a mu/beta power drop over the hand's motor cortex),
    decoded across subjects by log band power and a logistic regression, above chance (0.5):

    >>> from neurodl.workflows import TASKS, parse_config, run_config
    >>> TASKS["decoding"].run is run_decoding
    True
    >>> cfg = parse_config({
    ...     "task": "decoding",
    ...     "data": {"source": "simulate", "simulator": "motor_imagery",
    ...              "params": {"n_subjects": 3, "n_sessions": 1, "n_trials": 40,
    ...                         "n_channels": 8, "sfreq": 64.0, "effect_size": 0.9}},
    ...     "model": {"name": "logbandpower_lr"},
    ...     "evaluation": {"protocol": "leave-one-subject-out", "n_permutations": 0},
    ... })
    >>> res = run_config(cfg).result  # out_dir None: compute only, write nothing
    >>> res.n_samples, res.n_subjects, res.classes
    (120, 3, ['left_hand', 'right_hand'])
    >>> res.fold_labels
    ['subject 01', 'subject 02', 'subject 03']
    >>> res.model_kind, res.chance_level, res.score_mean > 0.6
    ('classical', 0.5, True)
    >>> cm = res.confusion_matrix  # true class (rows) x predicted class, held-out subjects
    >>> [sum(row) for row in cm], cm[0][0] + cm[1][1] > 60  # most of the 120 on the diagonal
    ([60.0, 60.0], True)
    """
    from ...analyses.decoding import (
        LearningCurves,
        decode,
        feature_layout,
        make_decoder,
        misclassified_samples,
        pairwise_scores,
        saliency,
        trim_saliency,
    )
    from ...evaluation import provenance
    from ...evaluation.crossval import protocol_groups
    from ...preprocessing import n_leading_per_sample
    from .decoding_search import ModelFactory, outer_execution, search_results, searched_estimator

    cfg, opts = ctx.cfg, ctx.options
    ev = cfg.evaluation
    prepared = prepare_samples(cfg)  # cross-dataset harmonisation and adaptation included
    ds, ds_name, ds_eval = prepared.raw, prepared.name, prepared.samples
    lead, fold_steps = prepared.lead, prepared.fold_steps
    data_hash = ds.data_hash()
    kind = _kind(cfg.model.name)
    neural = kind == "neural"
    perm_main, perm_base = _permuted_models(opts, neural)

    pretrained, pretraining = None, None
    if opts.pretrain is not None:  # once, on recordings the labelled samples do not contain
        check_pretrain_model(cfg.model.name)
        pretrained, pretraining = pretrain_encoder(opts.pretrain, ds, cfg.preprocessing, cfg.seed)

    def build(spec: ModelConfig, callbacks: list[Any] | None = None) -> Any:
        main_model = spec is cfg.model and pretrained is not None
        return make_decoder(
            spec.name,
            {**spec.params, "pretrained": pretrained} if main_model else spec.params,
            preprocessing=fold_steps,
            seed=cfg.seed,
            sfreq=ds_eval.sfreq,
            data_info=ds_eval.info,
            callbacks=callbacks,
        )

    name = cfg.model.name
    base_name = None
    if opts.baseline is not None:
        base_name = opts.baseline.name if opts.baseline.name != name else f"{name} (baseline)"
    n_main = ev.n_permutations
    if neural and opts.network_permutations is not None:
        n_main = opts.network_permutations
    n_perm = {name: n_main if perm_main else 0}
    if base_name is not None:
        n_perm[base_name] = ev.n_permutations if perm_base else 0
    n_held = {k: (opts.held_out_permutations if ev.n_permutations > 0 else 0) for k in n_perm}
    curves = LearningCurves() if neural else None
    estimator = build(cfg.model, [curves] if curves is not None else None)
    protocol = prepared.protocol
    with outer_execution(opts.search) as search_exec:  # Ray Tune: outer folds in this process
        if opts.search is not None:
            estimator = searched_estimator(
                opts.search,
                ModelFactory(
                    name, cfg.model.params, fold_steps, cfg.seed, ds_eval.sfreq, ds_eval.info
                ),
                ds_eval,
                protocol,
                metric=ev.metric,
                seed=cfg.seed,
                n_jobs=ev.n_jobs,
                execution=search_exec,
            )
        res = decode(
            estimator,
            ds_eval,
            protocol,
            ev.metric,
            baseline=build(opts.baseline) if opts.baseline is not None else None,
            name=name,
            baseline_name=base_name or "baseline",
            seed=cfg.seed,
            n_permutations=n_perm,
            held_out_permutations=n_held,
            n_boot=ev.n_boot,
            ci=ev.ci,
            n_jobs=ev.n_jobs,
            progress=progress_bar,
        )
    main = res.main_scores
    cv = main.cv
    sal = None
    if opts.saliency is True or (opts.saliency == "auto" and neural and pretrained is None):
        logger.info("saliency: refitting %s on all samples", name)
        refit = ds_eval.subset(prepared.refit_index)
        sal = saliency(
            build(cfg.model),
            refit,
            metric=ev.metric,
            seed=cfg.seed,
            neural=neural,
            layout=feature_layout(lead, ds, ds_eval),
            checks=opts.saliency_checks,
            fit_groups=protocol_groups(refit, protocol, cfg.seed),
        )
    pairwise = None
    n_classes = len(cv.classes) if cv.classes is not None else 0
    if opts.pairwise != "off" and n_classes > 2 and cv.y_true is not None:
        method = opts.pairwise
        if method == "auto":
            method = (
                "cv" if not neural and n_classes * (n_classes - 1) // 2 <= 45 else "predictions"
            )
        logger.info("pairwise scores: %s", method)
        pairwise = pairwise_scores(
            cv,
            ds_eval,
            method,
            estimator=build(cfg.model),
            protocol=protocol,
            seed=cfg.seed,
            n_jobs=ev.n_jobs,
        )
    label_eff = None
    if opts.label_efficiency is not None:
        from .decoding_label_efficiency import run_label_efficiency

        builders = {name: lambda: build(cfg.model)}
        if base_name is not None:
            builders[base_name] = lambda: build(opts.baseline)
        logger.info("label efficiency: fractions %s", opts.label_efficiency.fractions)
        label_eff = run_label_efficiency(
            opts.label_efficiency, builders, ds_eval, protocol, metric=ev.metric, seed=cfg.seed
        )
    brain_maps = None  # fMRI samples and a linear model: the weights back on the brain
    if ctx.out_dir is not None and not neural:
        from ._brain_maps import decoder_weight_map

        refit = ds_eval.subset(prepared.refit_index)
        brain_maps = decoder_weight_map(build(cfg.model), refit, ctx.out_dir)
    prov = provenance(
        protocol=ev.protocol, seed=cfg.seed, data_hash=data_hash, config=cfg.model_dump()
    )
    if ds.info.get("cleaning_steps"):
        prov["cleaning_steps"] = ds.info["cleaning_steps"]
    if brain_maps:
        prov["brain_maps"] = sorted({m["file"] for m in brain_maps if m["file"]})
    models = {name: _model_stats(main, cfg.model.name, "main", kind)}
    if base_name is not None:
        models[base_name] = _model_stats(
            res.models[base_name],
            opts.baseline.name,
            "baseline",
            _kind(opts.baseline.name),
        )
    comparison = None
    if res.comparison is not None:
        comparison = {**res.comparison.to_dict(), "verdict": res.comparison.verdict()}
    result = DecodingTaskResult.create(
        task="decoding",
        name=cfg.name,
        dataset=ds_name,
        protocol=ev.protocol,
        metric=ev.metric,
        score_mean=main.score,
        score_ci=[main.ci[0], main.ci[1]],
        chance_level=res.chance_level,
        p_value=main.p_value,
        n_splits=len(cv.scores),
        seed=cfg.seed,
        versions=prov.get("versions", {}),
        data_hash=data_hash,
        models=models,
        model=name,
        model_kind=kind,
        baseline=base_name,
        comparison=comparison,
        ci_level=ev.ci,
        ci_method=main.ci_method,
        n_permutations=models[name].n_permutations,
        fold_scores=cv.scores,
        fold_blocks=list(cv.blocks),
        block_scores=dict(cv.block_scores),
        pooled_score=cv.pooled_score,
        **main.timing,
        n_samples=int(ds.n_samples),
        n_subjects=int(ds.metadata["subject"].nunique()),
        classes=ds.classes,
        confusion_matrix=cv.confusion_matrix,
        rejection=ds.info.get("rejection"),
        preprocessing_before_split=cfg.preprocessing[: n_leading_per_sample(cfg.preprocessing)],
        preprocessing_steps=preprocessing_steps(
            cfg.preprocessing, n_leading_per_sample(cfg.preprocessing), cfg.data.to_samples
        ),
        fold_labels=describe_folds(ds_eval.metadata, cv.test_indices),
        provenance=prov,
        learning_curves=curves.to_results() if curves is not None else None,
        saliency=trim_saliency(sal),
        pairwise=pairwise,
        errors=misclassified_samples(
            cv,
            ds_eval,
            score_kind="predict_proba"
            if hasattr(estimator, "predict_proba")
            else "decision_function",
        ),
        adaptation=prepared.adaptation,
        cross_dataset=ds_eval.info.get("cross_dataset"),
        pretraining=pretraining,
        search=None if opts.search is None else search_results(cv, opts.search),
        label_efficiency=label_eff,
    )
    result = finish_warnings(result)  # a collapsed model's saliency is flagged in the report
    if ctx.write_report:
        from .decoding_report import write_decoding_report

        write_decoding_report(
            ctx.out_dir / "report.html",
            result=result,
            dataset=ds,
            saliency=sal,
            brain_maps=brain_maps,
            config_text=ctx.config_text,
            title=cfg.report.title,
        )
    return result
