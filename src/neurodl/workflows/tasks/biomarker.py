"""The ``biomarker`` task: the subject is the unit (one row per subject, or per segment for Bonn).

Data: ``data.source: dataset`` with ``abide-cc200`` (connectomes; ``data.params`` go to
:func:`~neurodl.analyses.biomarkers.load_abide_cohort`: ``sites``, ``qc``, exclusion policies,
``max_subjects_per_site``), ``eegmat`` (one task recording per subject, good vs bad counter) or
``bonn`` (sets C vs D, the segment as unit); or ``data.source: simulate`` with simulator
``cohort`` (:func:`~neurodl.analyses.biomarkers.simulate_cohort`). Protocol, permutations,
bootstrap and CI level come from ``evaluation``; the rest from ``options``. The library call is
:func:`~neurodl.analyses.biomarkers.analysis.biomarker_analysis`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from ...exceptions import ConfigError
from .._progress import progress_bar
from ..config import RunConfig, TaskOptions
from ..registry import RunContext, register_task
from ..results import ComparisonStats, ModelStats, ResultPart, TaskResult
from ._shared import array_hash, fmt, versions

__all__ = ["BiomarkerOptions", "BiomarkerResult", "load_cohort", "run_biomarker"]


class NetworkOptions(TaskOptions):
    """A network trained on the same folds as the linear model."""

    name: str = "brainnetcnn"
    """Registered neural model (e.g. 'brainnetcnn' for connectomes) trained on the same folds and
    compared with the linear model."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of that model and its training."""


class BiomarkerOptions(TaskOptions):
    """Options of the ``biomarker`` task.

    Examples
    --------
    Left out: features chosen by the data, no ComBat, an L2 logistic regression with C = 0.01;
    here ComBat harmonises the sites inside the training folds and 5 features are tracked:

    >>> opts = BiomarkerOptions.model_validate({"combat": "on", "top_k": 5})
    >>> opts.combat, opts.features, opts.C, opts.top_k, opts.network
    ('on', None, 0.01, 5, None)
    >>> BiomarkerOptions.model_validate({"network": {}}).network.name
    'brainnetcnn'

    A config with a bad value is refused, naming the key and the allowed values:

    >>> from neurodl.exceptions import ConfigError
    >>> from neurodl.workflows import parse_config
    >>> data = {"source": "simulate", "simulator": "cohort"}
    >>> try:
    ...     parse_config({"task": "biomarker", "data": data, "options": {"combat": "yes"}})
    ... except ConfigError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    Invalid config (mapping): invalid value at 'options.combat': Input should be 'off', 'on' or
    'select' (got 'yes').
    """

    features: str | None = None
    """Feature kind: 'correlation', 'partial correlation', 'tangent' (connectomes), 'bandpower',
    'riemann' (EEG signals) or 'vector' (used as is); None: correlation / bandpower / vector by the
    data."""
    candidates: list[str] | None = None
    """Feature kinds chosen among by nested CV on the training subjects (with and without ComBat
    under combat 'select'); None: 'features' alone."""
    combat: Literal["off", "on", "select"] = "off"
    """ComBat site harmonisation fitted in the training folds: 'off', 'on', or 'select' (chosen by
    nested CV among 'candidates'; without them like 'on'). Needs >= 2 sites."""
    confound_regression: bool = False
    """Regress the cohort's confounds (e.g. age, sex) out of the features inside the folds."""
    C: float = Field(0.01, gt=0)
    """Inverse L2 regularisation strength of the logistic regression."""
    bands: list[tuple[float, float]] | None = None
    """Frequency bands in Hz (low, high) of the 'bandpower' features; None: delta, theta, alpha,
    beta, low gamma (1-4, 4-8, 8-13, 13-30, 30-45)."""
    network: NetworkOptions | None = None
    within_site: bool = True
    """Permute the diagnosis within sites in the permutation test."""
    alpha: float = Field(0.05, gt=0, lt=1)
    """FDR level of the per-feature effect sizes."""
    top_k: int = Field(50, ge=1)
    """Size of the selected feature set whose overlap across folds and bootstraps measures weight
    stability."""
    n_stability_boot: int = Field(0, ge=0)
    """Bootstrap refits of the linear model for the weight stability (0: folds only)."""
    site_check: bool = True
    """Report how well the site is decodable before and after ComBat (with >= 2 sites)."""


class Metric(ResultPart):
    """A subject-level metric with its bootstrap interval."""

    estimate: float | None
    low: float | None
    high: float | None


class SmallSample(ResultPart):
    """What the sample size can show."""

    n0: int
    n1: int
    min_detectable_d: float
    alpha: float
    power: float
    n_relabelings: float
    min_p_value_exact: float
    min_p_value_permutation: float | None
    statement: str


class BiomarkerResult(TaskResult):
    """Result of the ``biomarker`` task (``results.json``).

    ``metrics`` / ``network_metrics``: balanced accuracy, AUC, sensitivity and specificity of
    the pooled out-of-fold predictions with subject-bootstrap CIs; ``fold_metrics`` per fold;
    ``site_decodability``: balanced accuracy of predicting the site before/after ComBat with its
    chance; ``effect_sizes``: count of features significant at FDR ``alpha`` and the largest
    effects; ``stability``: weights across folds and bootstraps; ``exclusions``: every subject
    left out and why.

    Examples
    --------
    The task's own fields, beside those of every :class:`~neurodl.workflows.results.TaskResult`:

    >>> from neurodl.workflows import TASKS
    >>> from neurodl.workflows.results import TaskResult
    >>> TASKS["biomarker"].result is BiomarkerResult
    True
    >>> [f for f in BiomarkerResult.model_fields if f not in TaskResult.model_fields]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['unit', 'n_subjects', 'per_class', 'per_site', 'exclusions', 'excluded', 'linear_model',
     'metrics', 'fold_metrics', 'selected_per_fold', 'network_model', 'network_metrics',
     'comparison', 'site_decodability', 'effect_sizes', 'stability', 'small_sample', 'notes']
    >>> Metric(estimate=0.8, low=0.7, high=0.9).high  # a metric with its bootstrap interval
    0.9
    """

    task: Literal["biomarker"] = "biomarker"
    unit: str
    n_subjects: int
    per_class: dict[str, int]
    per_site: dict[str, int]
    exclusions: list[dict[str, str]]
    excluded: dict[str, int]
    linear_model: str
    metrics: dict[str, Metric]
    fold_metrics: list[dict[str, Any]]
    selected_per_fold: list[str | None] = Field(default_factory=list)
    network_model: str | None = None
    network_metrics: dict[str, Metric] | None = None
    comparison: ComparisonStats | None = None
    site_decodability: dict[str, dict[str, float | None]] | None = None
    effect_sizes: dict[str, Any]
    stability: dict[str, Any]
    small_sample: SmallSample
    notes: list[str] = Field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """Cohort, the subject-level result, the network comparison and the notes."""
        m = self.metrics["balanced_accuracy"]
        lines = [
            f"{self.dataset} | {self.protocol} | {self.n_subjects} {self.unit}s "
            f"{self.per_class} | {self.linear_model}",
            f"balanced accuracy {fmt(m.estimate)} [{fmt(m.low)}, {fmt(m.high)}], AUC "
            f"{fmt(self.metrics['auc'].estimate)}, p = {fmt(self.p_value, '.3g')}",
        ]
        if self.comparison is not None:
            lines.append(self.comparison.verdict)
        if self.site_decodability:
            b, a = self.site_decodability["before"], self.site_decodability["after"]
            lines.append(
                f"site decodability {fmt(b['balanced_accuracy'])} -> {fmt(a['balanced_accuracy'])}"
                f" after ComBat (chance {fmt(b['chance'])})"
            )
        lines.append(self.small_sample.statement)
        return lines


def load_cohort(cfg: RunConfig) -> tuple[Any, str]:
    """The configured data as a :class:`~neurodl.analyses.biomarkers.SubjectCohort`.

    Examples
    --------
    A simulated cohort of 60 subjects (12 features) from 3 sites:

    >>> from neurodl.workflows import parse_config
    >>> cfg = parse_config({"task": "biomarker", "data": {
    ...     "source": "simulate", "simulator": "cohort",
    ...     "params": {"n_subjects": 60, "n_features": 12, "n_sites": 3}}})
    >>> cohort, name = load_cohort(cfg)
    >>> name, cohort.X.shape, cohort.unit
    ('simulated cohort', (60, 12), 'subject')
    >>> cohort.summary()["per_site"]
    {'site0': 20, 'site1': 20, 'site2': 20}

    Another simulator is refused:

    >>> cfg = parse_config({"task": "biomarker",
    ...                     "data": {"source": "simulate", "simulator": "motor_imagery"}})
    >>> load_cohort(cfg)
    Traceback (most recent call last):
    ...
    neurodl.exceptions.ConfigError: Invalid value for 'data.simulator'. Allowed: 'cohort'; got 'motor_imagery'.
    """
    from ...analyses import biomarkers as bm
    from ...datasets.registry import dataset_path

    data = cfg.data
    if data is None:
        raise ConfigError("The biomarker task needs a 'data' section.")
    params = dict(data.params)
    if data.source == "simulate":
        if data.simulator not in (None, "cohort"):
            raise ConfigError(
                f"Invalid value for 'data.simulator'. Allowed: 'cohort'; got {data.simulator!r}."
            )
        return bm.simulate_cohort(seed=cfg.seed, **params), "simulated cohort"
    loaders = {
        "abide-cc200": bm.load_abide_cohort,
        "eegmat": bm.load_eegmat_cohort,
        "bonn": bm.load_bonn_cohort,
    }
    if data.source != "dataset" or data.dataset not in loaders:
        raise ConfigError(
            "Invalid value for 'data'. Allowed: source 'dataset' with dataset "
            f"{', '.join(map(repr, loaders))}, or source 'simulate' with simulator 'cohort'; got "
            f"source {data.source!r}, dataset {data.dataset!r}."
        )
    root = dataset_path(data.dataset, data.data_root)
    try:
        return loaders[data.dataset](root, **params), data.dataset
    except TypeError as err:
        raise ConfigError(f"Invalid data.params for {data.dataset!r}: {err}.") from None


def _statement(ss: dict[str, Any], unit: str, n_perm: int) -> str:
    n = ss["n0"] + ss["n1"]
    text = (
        f"With {ss['n0']} + {ss['n1']} {unit}s, only group differences of about d >= "
        f"{ss['min_detectable_d']:.2f} are detected with {ss['power']:.0%} power at alpha "
        f"{ss['alpha']:g}"
    )
    if n_perm:
        text += f"; {n_perm} permutations cannot give p below {1 / (n_perm + 1):.3g}"
    if n <= 30:
        text += (
            f"; there are only {int(ss['n_relabelings'])} distinct label assignments, and one "
            f"{unit} moves the balanced accuracy of its class by about "
            f"{0.5 / min(ss['n0'], ss['n1']):.2f}: a null result cannot rule out a moderate "
            "effect, and a positive one needs replication in more subjects"
        )
    return text + "."


@register_task(
    "biomarker",
    options=BiomarkerOptions,
    result=BiomarkerResult,
    reads=("data", "evaluation", "options"),
    description="subject-level biomarker: connectome/EEG features, ComBat in folds, permutation "
    "over subjects, effect sizes with FDR, linear vs network",
)
def run_biomarker(ctx: RunContext) -> BiomarkerResult:
    """Run the biomarker task; write ``report.html`` into ``ctx.out_dir`` (if given).

    Examples
    --------
    A simulated cohort of 60 subjects from 3 sites with a group effect (d = 1.2 on 5 of 12
    features) and a site shift, leave-one-site-out with ComBat in the training folds: the
    diagnosis is decoded, and ComBat brings the site decodability down to about chance (1/3):

    >>> from neurodl.workflows import TASKS, parse_config, run_config
    >>> TASKS["biomarker"].run is run_biomarker
    True
    >>> cfg = parse_config({
    ...     "task": "biomarker",
    ...     "data": {"source": "simulate", "simulator": "cohort",
    ...              "params": {"n_subjects": 60, "n_features": 12, "n_sites": 3,
    ...                         "group_effect": 1.2, "site_shift": 1.5}},
    ...     "evaluation": {"protocol": "leave-one-site-out", "n_permutations": 19, "n_boot": 100},
    ...     "options": {"combat": "on", "top_k": 5},
    ... })
    >>> res = run_config(cfg).result
    >>> res.n_subjects, res.per_class, res.n_splits
    (60, {'control': 30, 'patient': 30}, 3)
    >>> res.score_mean > 0.7, res.p_value  # 19 permutations: p >= 1/20
    (True, 0.05)
    >>> b, a = res.site_decodability["before"], res.site_decodability["after"]
    >>> b["balanced_accuracy"] > 0.9, a["balanced_accuracy"] < 0.5
    (True, True)
    >>> res.effect_sizes["n_significant"] >= 3
    True
    """
    from ...analyses.biomarkers.analysis import biomarker_analysis

    cfg, opts, ev = ctx.cfg, ctx.options, ctx.cfg.evaluation
    cohort, ds_name = load_cohort(cfg)
    if cohort.unit != "subject" and ev.protocol in ("leave-one-site-out",):
        raise ConfigError(
            f"protocol 'leave-one-site-out' needs sites; this cohort's unit is the {cohort.unit} "
            "with one site. Use 'site-stratified-kfold'."
        )
    res = biomarker_analysis(
        cohort,
        features=opts.features,
        candidates=opts.candidates,
        combat=opts.combat,
        confound_regression=opts.confound_regression,
        C=opts.C,
        bands=opts.bands,
        protocol=ev.protocol,
        protocol_params=ev.protocol_params,
        network=None if opts.network is None else opts.network.model_dump(),
        n_permutations=ev.n_permutations,
        within_site=opts.within_site,
        n_boot=max(ev.n_boot, 2),
        ci=ev.ci,
        alpha=opts.alpha,
        top_k=opts.top_k,
        n_stability_boot=opts.n_stability_boot,
        site_check=opts.site_check,
        seed=cfg.seed,
        progress=progress_bar,
    )
    cv = res.linear.cv
    perm = res.permutation
    models = {
        "linear": ModelStats(
            name="linear",
            role="main",
            kind="classical",
            score_mean=cv.score,
            score_ci=[
                res.metrics["balanced_accuracy"]["low"],
                res.metrics["balanced_accuracy"]["high"],
            ],
            ci_method="subject bootstrap (stratified by class), percentile",
            fold_scores=cv.scores.tolist(),
            block_scores=cv.block_scores,
            p_value=None if perm is None else perm.p_value,
            n_permutations=0 if perm is None else perm.n_permutations,
            null_scores=None if perm is None else perm.null_distribution.tolist(),
            permuted_within=None if perm is None else perm.within,
        )
    }
    comparison = None
    if res.network is not None:
        ncv = res.network.cv
        models[str(res.network_name)] = ModelStats(
            name=str(res.network_name),
            role="baseline",
            kind="neural",
            score_mean=ncv.score,
            score_ci=[
                res.network_metrics["balanced_accuracy"]["low"],
                res.network_metrics["balanced_accuracy"]["high"],
            ],
            ci_method="subject bootstrap (stratified by class), percentile",
            fold_scores=ncv.scores.tolist(),
            block_scores=ncv.block_scores,
        )
        comparison = {**res.comparison.to_dict(), "verdict": res.comparison.verdict()}
    ss = dict(res.small_sample)
    ss["statement"] = _statement(ss, cohort.unit, ev.n_permutations)
    summary = cohort.summary()
    eff = {k: v for k, v in res.effects.items() if k not in ("hedges_g", "q")}
    result = BiomarkerResult.create(
        task="biomarker",
        name=cfg.name,
        dataset=ds_name,
        protocol=ev.protocol,
        metric="balanced_accuracy",
        score_mean=cv.score,
        score_ci=models["linear"].score_ci,
        chance_level=0.5,
        p_value=None if perm is None else perm.p_value,
        n_splits=cv.n_folds,
        seed=cfg.seed,
        versions=versions(),
        data_hash=array_hash(np.asarray(cohort.X[: min(len(cohort.X), 50)]), cohort.y),
        models=models,
        unit=cohort.unit,
        n_subjects=cohort.n_subjects,
        per_class=summary["per_class"],
        per_site={str(k): v for k, v in summary["per_site"].items()},
        exclusions=[e.to_dict() for e in cohort.exclusions],
        excluded=summary["excluded"],
        linear_model=res.linear_name,
        metrics=res.metrics,
        fold_metrics=res.linear.fold_metrics,
        selected_per_fold=res.linear.selected if any(res.linear.selected) else [],
        network_model=res.network_name,
        network_metrics=res.network_metrics,
        comparison=comparison,
        site_decodability=res.site,
        effect_sizes=eff,
        stability=res.stability,
        small_sample=ss,
        notes=res.notes,
    )
    if ctx.write_report:
        from .biomarker_report import write_biomarker_report

        write_biomarker_report(ctx, result, res)
    return result
